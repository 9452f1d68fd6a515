//! Line framing (SPEC.md §2): bytes in, in any chunks; complete lines or framing errors out.
//!
//! The framer is the only place that holds bytes between reads, and it never holds more than one
//! incomplete line of at most *L* + 1 bytes (R-TRANS-6): an overlong line is reported once and then
//! discarded up to the next LF (R-TRANS-5), so a peer that never sends LF costs nothing more.
//! Complete lines that lie entirely inside the caller's chunk are handed out as slices of it, so
//! the common case copies nothing. When no line is pending, the framer holds no allocation at all,
//! so an idle connection costs no buffer.

use memchr::memchr;

use crate::Limits;

/// A framing error. Both leave the framer ready for the next line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The line passed *L* bytes before its LF (R-TRANS-5). Reported once per line, as soon as the
    /// limit is passed; the rest of the line is discarded.
    #[error("line longer than {max} bytes")]
    LineTooLong { max: usize },
    /// The line is not valid UTF-8 (R-TRANS-7); `offset` is where the first invalid byte is.
    #[error("line is not valid UTF-8 (first invalid byte at offset {offset})")]
    InvalidUtf8 { offset: usize },
}

impl FrameError {
    /// The `ERROR` code a server answers with (SPEC.md §3.1 step 1).
    pub fn error_code(self) -> crate::ErrorCode {
        match self {
            FrameError::LineTooLong { .. } => crate::ErrorCode::LineTooLong,
            FrameError::InvalidUtf8 { .. } => crate::ErrorCode::InvalidUtf8,
        }
    }
}

/// An incremental, bounded LF/CR LF line framer.
///
/// Feed it with [`LineFramer::next_line`] in a loop until it returns `None`; the input slice is
/// advanced past everything consumed, and a trailing incomplete line is kept for the next chunk.
#[derive(Debug)]
pub struct LineFramer {
    max_line: usize,
    /// The start of an incomplete line, at most `max_line + 1` bytes (content plus a possible CR).
    partial: Vec<u8>,
    /// `partial` holds a line already handed out; clear it on the next call.
    partial_handed_out: bool,
    /// Inside an overlong line: drop bytes until the next LF.
    discarding: bool,
}

impl LineFramer {
    /// A framer for lines of at most `limits.max_line()` bytes of content.
    pub fn new(limits: Limits) -> LineFramer {
        LineFramer { max_line: limits.max_line(), partial: Vec::new(), partial_handed_out: false, discarding: false }
    }

    /// Takes the next line out of `input`, advancing it past what was consumed.
    ///
    /// Returns `Some(Ok(content))` for each complete line (terminator removed, possibly empty),
    /// `Some(Err(..))` for a framing error, and `None` once `input` is used up; bytes of an
    /// incomplete last line are kept inside the framer.
    pub fn next_line<'s, 'i: 's>(&'s mut self, input: &mut &'i [u8]) -> Option<Result<&'s str, FrameError>> {
        if self.partial_handed_out {
            self.partial_handed_out = false;
            // Free the buffer rather than keep its capacity: idle connections hold no buffers.
            self.partial = Vec::new();
        }
        loop {
            if input.is_empty() {
                return None;
            }
            let Some(lf) = memchr(b'\n', input) else {
                return self.keep_partial(input);
            };
            let chunk: &'i [u8] = input;
            let head = &chunk[..lf];
            *input = &chunk[lf + 1..];
            if self.discarding {
                // The LF that ends an overlong line: it was reported already.
                self.discarding = false;
                continue;
            }
            let line: &'s [u8] = if self.partial.is_empty() {
                head
            } else {
                let total = self.partial.len() + head.len();
                if total - usize::from(head.last().or(self.partial.last()) == Some(&b'\r')) > self.max_line {
                    self.partial = Vec::new();
                    return Some(Err(FrameError::LineTooLong { max: self.max_line }));
                }
                self.append(head);
                self.partial_handed_out = true;
                &self.partial
            };
            let content = line.strip_suffix(b"\r").unwrap_or(line);
            if content.len() > self.max_line {
                return Some(Err(FrameError::LineTooLong { max: self.max_line }));
            }
            return Some(std::str::from_utf8(content).map_err(|e| FrameError::InvalidUtf8 { offset: e.valid_up_to() }));
        }
    }

    /// Keeps an incomplete line, or starts discarding it once it cannot fit.
    fn keep_partial<'s>(&mut self, input: &mut &[u8]) -> Option<Result<&'s str, FrameError>> {
        let rest = std::mem::take(input);
        if self.discarding {
            return None;
        }
        let total = self.partial.len() + rest.len();
        // Content plus a CR that may still turn out to be the terminator: at most L + 1 bytes,
        // and exactly L + 1 only if the last byte is that CR.
        let too_long = total > self.max_line + 1 || (total == self.max_line + 1 && rest.last() != Some(&b'\r'));
        if too_long {
            self.partial = Vec::new();
            self.discarding = true;
            return Some(Err(FrameError::LineTooLong { max: self.max_line }));
        }
        self.append(rest);
        None
    }

    /// Appends to the incomplete line, growing the buffer by doubling but never past L + 1 bytes,
    /// so the allocation, not only the length, stays within R-TRANS-6's bound. Callers have
    /// checked that the result fits.
    fn append(&mut self, bytes: &[u8]) {
        let needed = self.partial.len() + bytes.len();
        if needed > self.partial.capacity() {
            let target = (self.partial.capacity() * 2).clamp(needed, (self.max_line + 1).max(needed));
            self.partial.reserve_exact(target - self.partial.len());
        }
        self.partial.extend_from_slice(bytes);
    }

    /// Whether a line has been started and not finished (bytes held, or an overlong line being
    /// discarded). The server's line timeout runs while this is true (R-TIME-2).
    pub fn has_partial_line(&self) -> bool {
        self.discarding || (!self.partial.is_empty() && !self.partial_handed_out)
    }

    /// How many bytes the framer holds: never more than *L* + 1.
    pub fn buffered_len(&self) -> usize {
        if self.partial_handed_out { 0 } else { self.partial.len() }
    }

    /// The heap capacity the framer holds, for memory accounting: 0 when no line is pending.
    pub fn capacity(&self) -> usize {
        self.partial.capacity()
    }
}

/// A framer for the default line limit, *L* = 1024. (A derived `Default` would have *L* = 0 and
/// refuse every non-empty line.)
impl Default for LineFramer {
    fn default() -> LineFramer {
        LineFramer::new(Limits::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framer(max: usize) -> LineFramer {
        LineFramer::new(Limits::new(max).unwrap())
    }

    fn all(f: &mut LineFramer, mut input: &[u8]) -> Vec<Result<String, FrameError>> {
        let mut out = Vec::new();
        while let Some(r) = f.next_line(&mut input) {
            out.push(r.map(str::to_owned));
        }
        out
    }

    #[test]
    fn splits_on_lf_and_strips_one_cr() {
        let mut f = framer(128);
        assert_eq!(
            all(&mut f, b"a\nb\r\n\r\nc\r\r\n"),
            vec![Ok("a".into()), Ok("b".into()), Ok("".into()), Ok("c\r".into())]
        );
        assert!(!f.has_partial_line());
    }

    #[test]
    fn keeps_an_incomplete_line_for_the_next_chunk() {
        let mut f = framer(128);
        assert_eq!(all(&mut f, b"hel"), vec![]);
        assert!(f.has_partial_line());
        assert_eq!(all(&mut f, b"lo\r"), vec![]);
        assert_eq!(all(&mut f, b"\nx"), vec![Ok("hello".into())]);
        assert_eq!(f.buffered_len(), 1);
    }

    #[test]
    fn a_line_of_exactly_l_bytes_is_accepted_in_every_form() {
        let l = 128;
        let line = "x".repeat(l);
        for term in ["\n", "\r\n"] {
            let whole = format!("{line}{term}");
            let mut f = framer(l);
            assert_eq!(all(&mut f, whole.as_bytes()), vec![Ok(line.clone())]);
            let mut f = framer(l);
            let mut got = Vec::new();
            for b in whole.as_bytes() {
                got.extend(all(&mut f, std::slice::from_ref(b)));
            }
            assert_eq!(got, vec![Ok(line.clone())], "byte by byte with {term:?}");
        }
    }

    #[test]
    fn a_line_of_l_plus_one_bytes_is_reported_once_and_discarded() {
        let l = 128;
        let long = format!("{}\nnext\n", "y".repeat(l + 1));
        let mut f = framer(l);
        assert_eq!(all(&mut f, long.as_bytes()), vec![Err(FrameError::LineTooLong { max: l }), Ok("next".into())]);
        let mut f = framer(l);
        let mut got = Vec::new();
        for b in long.as_bytes() {
            got.extend(all(&mut f, std::slice::from_ref(b)));
            assert!(f.buffered_len() <= l + 1);
        }
        assert_eq!(got, vec![Err(FrameError::LineTooLong { max: l }), Ok("next".into())]);
    }

    #[test]
    fn a_cr_that_is_not_before_lf_counts_toward_the_limit() {
        let l = 128;
        let mut f = framer(l);
        let mut input = format!("{}\rz\nok\n", "x".repeat(l));
        assert_eq!(all(&mut f, input.as_bytes()), vec![Err(FrameError::LineTooLong { max: l }), Ok("ok".into())]);
        input = format!("{}\r", "x".repeat(l));
        assert_eq!(all(&mut f, input.as_bytes()), vec![]);
        assert_eq!(all(&mut f, b"z"), vec![Err(FrameError::LineTooLong { max: l })]);
        assert_eq!(all(&mut f, b"zzz\nok\n"), vec![Ok("ok".into())]);
    }

    #[test]
    fn an_endless_line_never_grows_the_buffer() {
        let mut f = framer(1024);
        let chunk = [b'a'; 4096];
        let mut errors = 0;
        for _ in 0..1000 {
            errors += all(&mut f, &chunk).len();
            assert_eq!(f.buffered_len(), 0);
            assert_eq!(f.capacity(), 0);
            assert!(f.has_partial_line());
        }
        assert_eq!(errors, 1);
        assert_eq!(all(&mut f, b"\nafter\n"), vec![Ok("after".into())]);
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_offset_and_skipped() {
        let mut f = framer(128);
        assert_eq!(
            all(&mut f, b"ok\nab\xffcd\n\xc3\xa9\n"),
            vec![Ok("ok".into()), Err(FrameError::InvalidUtf8 { offset: 2 }), Ok("é".into())]
        );
        // A multi-byte character split across chunks is not an error.
        assert_eq!(all(&mut f, b"\xc3"), vec![]);
        assert_eq!(all(&mut f, b"\xa9\n"), vec![Ok("é".into())]);
    }

    #[test]
    fn releases_its_buffer_once_a_joined_line_is_handed_out() {
        let mut f = framer(128);
        assert_eq!(all(&mut f, b"abc"), vec![]);
        assert!(f.capacity() > 0);
        assert_eq!(all(&mut f, b"\n"), vec![Ok("abc".into())]);
        assert_eq!(f.capacity(), 0);
        assert!(!f.has_partial_line());
    }
}
