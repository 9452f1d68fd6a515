//! The line limit *L* and the sizes that follow from it (SPEC.md §2 R-TRANS-4, §7 R-MSG-3).
//!
//! *L* is a server parameter announced in `HELLO`, so it is a value (`Limits`), not a constant:
//! the framer, the parsers and the server all take it from here. The nick and token sizes are
//! fixed by the grammar and stay constants.

/// The line limit the reference server uses unless configured otherwise.
pub const DEFAULT_MAX_LINE: usize = 1024;
/// The smallest line limit a server may announce.
pub const MIN_MAX_LINE: usize = 128;
/// The largest line limit a server may announce.
pub const MAX_MAX_LINE: usize = 65536;
/// What a server may add to a client's text when it builds a line from it: a command word, a
/// nick of up to [`MAX_NICK_LEN`] bytes and separators (R-MSG-3).
pub const TEXT_OVERHEAD: usize = 64;
/// The longest nick, in bytes (R-NICK-1).
pub const MAX_NICK_LEN: usize = 32;
/// The longest `PING`/`PONG` token, in bytes.
pub const MAX_TOKEN_LEN: usize = 32;
/// The longest text under the largest allowed line limit; a [`crate::Text`] is never longer.
pub const MAX_TEXT_CEILING: usize = MAX_MAX_LINE - TEXT_OVERHEAD;

/// A validated line limit *L*, with *L* in `MIN_MAX_LINE..=MAX_MAX_LINE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    max_line: usize,
}

/// A line limit outside the range SPEC.md allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line limit {0} is outside the allowed range {MIN_MAX_LINE}..={MAX_MAX_LINE} bytes")]
pub struct LimitsError(pub usize);

impl Limits {
    /// The reference server's default: *L* = 1024.
    pub const DEFAULT: Limits = Limits { max_line: DEFAULT_MAX_LINE };
    /// The smallest limit a server may announce: *L* = 128.
    pub const MIN: Limits = Limits { max_line: MIN_MAX_LINE };

    /// Validates a line limit.
    pub fn new(max_line: usize) -> Result<Limits, LimitsError> {
        if (MIN_MAX_LINE..=MAX_MAX_LINE).contains(&max_line) {
            Ok(Limits { max_line })
        } else {
            Err(LimitsError(max_line))
        }
    }

    /// *L*: the longest line content, in bytes, terminator not counted.
    pub const fn max_line(&self) -> usize {
        self.max_line
    }

    /// *L* − 64: the longest `MSG` text or `QUIT` reason, in bytes.
    pub const fn max_text(&self) -> usize {
        self.max_line - TEXT_OVERHEAD
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Limits {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Limits> {
        Ok(Limits { max_line: u.int_in_range(MIN_MAX_LINE..=MAX_MAX_LINE)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_exactly_the_documented_range() {
        assert_eq!(Limits::new(MIN_MAX_LINE - 1), Err(LimitsError(127)));
        assert_eq!(Limits::new(MIN_MAX_LINE).map(|l| l.max_line()), Ok(128));
        assert_eq!(Limits::new(MAX_MAX_LINE).map(|l| l.max_line()), Ok(65536));
        assert_eq!(Limits::new(MAX_MAX_LINE + 1), Err(LimitsError(65537)));
    }

    #[test]
    fn default_text_limit_is_960_bytes() {
        assert_eq!(Limits::default().max_text(), 960);
    }
}
