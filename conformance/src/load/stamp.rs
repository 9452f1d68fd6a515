//! The text of a load message: who sent it, its number, and when it was sent, so that every
//! delivery can be attributed to one message and timed.
//!
//! A text reads `<sender>:<seq>:<sent_ns>`, padded with `:` and `x` to the requested payload
//! (`3:17:48213377:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`). Only ASCII digits, `:` and `x`: a
//! valid `text` (SPEC.md §3) that no server has a reason to alter. `sent_ns` is read from the
//! generator's own monotonic clock, so latency never mixes two clocks.

use minichat_protocol::Text;

/// The longest stamp: two 32-bit numbers, a 64-bit one and two separators.
pub const MAX_STAMP_LEN: usize = 10 + 10 + 20 + 2;

/// A run of filler, to compare with in slices (a `memcmp` rather than a loop over bytes).
const FILLER: [u8; 64] = [b'x'; 64];

/// The identity and send time of one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// The sending client's index, 0..K.
    pub sender: u32,
    /// The message's number at its sender, 0..M.
    pub seq: u32,
    /// When it was handed to the socket, in nanoseconds since the run began.
    pub sent_ns: u64,
}

impl Stamp {
    /// The message's text: exactly `payload` bytes, or the bare stamp if that is longer.
    pub fn text(&self, payload: usize) -> Text {
        let mut s = format!("{}:{}:{}", self.sender, self.seq, self.sent_ns);
        if s.len() < payload {
            s.push(':');
            s.extend(std::iter::repeat_n('x', payload - s.len()));
        }
        Text::new(s).expect("digits, ':' and 'x' make a valid text")
    }

    /// Reads the stamp at the start of a text; `None` for any text this module did not write.
    pub fn parse(text: &str) -> Option<Stamp> {
        // By hand rather than with `split`: this runs once per delivery, millions of times a run.
        let bytes = text.as_bytes();
        let (sender, at) = number(bytes, 0)?;
        let (seq, at) = number(bytes, at + 1).filter(|_| bytes.get(at) == Some(&b':'))?;
        let (sent_ns, at) = number(bytes, at + 1).filter(|_| bytes.get(at) == Some(&b':'))?;
        match bytes.get(at..)? {
            [] => {}
            [b':', filler @ ..] if filler.chunks(FILLER.len()).all(|c| c == &FILLER[..c.len()]) => {}
            _ => return None,
        }
        Some(Stamp { sender: u32::try_from(sender).ok()?, seq: u32::try_from(seq).ok()?, sent_ns })
    }
}

/// The decimal number of ASCII digits starting at `from` (`str::parse` would also take a leading
/// `+`), and where it ends.
fn number(bytes: &[u8], from: usize) -> Option<(u64, usize)> {
    let digits = bytes.get(from..)?.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return None;
    }
    let mut value: u64 = 0;
    for &b in &bytes[from..from + digits] {
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some((value, from + digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_is_padded_to_the_payload_and_reads_back() {
        let stamp = Stamp { sender: 3, seq: 17, sent_ns: 48_213_377 };
        let text = stamp.text(64);
        assert_eq!(text.len(), 64);
        assert!(text.as_str().starts_with("3:17:48213377:xxx"));
        assert_eq!(Stamp::parse(text.as_str()), Some(stamp));
        // Filler longer than one comparison chunk, and a wrong byte at its very end.
        let long = stamp.text(1000);
        assert_eq!(Stamp::parse(long.as_str()), Some(stamp));
        let spoiled = format!("{}y", &long.as_str()[..999]);
        assert_eq!(Stamp::parse(&spoiled), None);
    }

    #[test]
    fn a_payload_shorter_than_the_stamp_gives_the_bare_stamp() {
        let stamp = Stamp { sender: u32::MAX, seq: u32::MAX, sent_ns: u64::MAX };
        let text = stamp.text(1);
        assert_eq!(text.len(), MAX_STAMP_LEN);
        assert_eq!(Stamp::parse(text.as_str()), Some(stamp));
        // One byte more than the stamp cannot hold the separator and filler: it is padded anyway.
        let short = Stamp { sender: 1, seq: 2, sent_ns: 3 };
        assert_eq!(short.text(6).as_str(), "1:2:3:");
        assert_eq!(Stamp::parse("1:2:3:"), Some(short));
    }

    #[test]
    fn texts_that_are_not_stamps_are_refused() {
        for text in ["hello", "1:2", "1:2:x", "+1:2:3", "1:2:3:yes", "1: 2:3", "4294967296:0:0", "1:2:3 ", ""] {
            assert_eq!(Stamp::parse(text), None, "{text:?}");
        }
    }
}
