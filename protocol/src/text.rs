//! Free text: what users say (`MSG`), why they leave (`QUIT`), and what a server explains
//! (`HELLO`, `ERROR`, `BYE`). SPEC.md §3 `text`.
//!
//! A [`Text`] never holds a control character (R-TRANS-8) and is never empty or all spaces, so
//! anything built from one is a valid line. The configured length limit (*L* − 64, R-MSG-3)
//! depends on the server, so parsers check it against [`crate::Limits`]; the type itself only
//! guarantees the largest limit any server may use.

use std::fmt;

use crate::limits::MAX_TEXT_CEILING;

/// Non-empty, not-all-space text without control characters, at most
/// [`MAX_TEXT_CEILING`] bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Text(Box<str>);

/// Why a string is not a valid text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("text cannot be empty or only spaces")]
    Empty,
    #[error("text contains the control character {ch:?} at byte {offset}")]
    ControlCharacter { ch: char, offset: usize },
    #[error("text is {len} bytes, more than the {max} allowed")]
    TooLong { len: usize, max: usize },
}

/// Whether SPEC.md counts `c` as a control character: U+0000–U+001F, U+007F, U+0080–U+009F.
pub fn is_control(c: char) -> bool {
    c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// The byte offset and value of the first control character in `s`, if any.
pub fn find_control(s: &str) -> Option<(usize, char)> {
    // A byte scan, no decoding: C0 controls and DEL are single bytes, and the C1 controls
    // U+0080..U+009F are exactly the two-byte sequences C2 80..C2 9F (in valid UTF-8, C2 is
    // always a lead byte).
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(found) = bytes[from..].iter().position(|&b| b < 0x20 || b == 0x7f || b == 0xc2) {
        let at = from + found;
        match bytes[at] {
            0xc2 => match bytes.get(at + 1) {
                Some(&next @ 0x80..=0x9f) => return char::from_u32(u32::from(next)).map(|c| (at, c)),
                _ => from = at + 1,
            },
            b => return Some((at, char::from(b))),
        }
    }
    None
}

impl Text {
    /// Validates `s` as text.
    pub fn new(s: impl Into<String>) -> Result<Text, TextError> {
        let s = s.into();
        if let Some((offset, ch)) = find_control(&s) {
            return Err(TextError::ControlCharacter { ch, offset });
        }
        Text::new_without_controls(s)
    }

    /// [`Text::new`] for a string already known to hold no control character (the parser has
    /// checked the whole line), so hot paths scan each byte once.
    pub(crate) fn new_without_controls(s: String) -> Result<Text, TextError> {
        debug_assert!(find_control(&s).is_none());
        if s.bytes().all(|b| b == b' ') {
            return Err(TextError::Empty);
        }
        if s.len() > MAX_TEXT_CEILING {
            return Err(TextError::TooLong { len: s.len(), max: MAX_TEXT_CEILING });
        }
        Ok(Text(s.into_boxed_str()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a `Text` is never empty. Present because `len` is.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Text({:?})", &*self.0)
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Text {
    type Error = TextError;
    fn try_from(s: &str) -> Result<Text, TextError> {
        Text::new(s)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Text {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Text> {
        // Any string, with control characters replaced, kept within the default text limit so
        // that it fits every line limit a fuzz target may pick.
        let raw: String = u.arbitrary()?;
        let mut s: String = raw.chars().map(|c| if is_control(c) { '?' } else { c }).collect();
        let max = crate::Limits::MIN.max_text();
        while s.len() > max {
            s.pop();
        }
        if s.bytes().all(|b| b == b' ') {
            // All spaces is no text: make room for one visible character within the limit.
            s.truncate(max - 1);
            s.push('x');
        }
        Ok(Text(s.into_boxed_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_spaces_and_unicode_verbatim() {
        for ok in ["x", " leading", "trailing ", "ça va ? — 你好 🎉", "\u{a0}"] {
            assert_eq!(Text::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_empty_and_all_spaces() {
        assert_eq!(Text::new(""), Err(TextError::Empty));
        assert_eq!(Text::new("   "), Err(TextError::Empty));
    }

    #[test]
    fn rejects_every_control_character() {
        for c in (0u32..0x20).chain([0x7f]).chain(0x80..0xa0) {
            let c = char::from_u32(c).unwrap();
            let s = format!("ab{c}");
            assert_eq!(Text::new(s), Err(TextError::ControlCharacter { ch: c, offset: 2 }));
        }
        assert_eq!(find_control("é\u{85}"), Some((2, '\u{85}')));
        assert_eq!(find_control("é\u{a0}~"), None);
    }

    proptest::proptest! {
        #[test]
        fn the_byte_scan_finds_exactly_the_first_control_character(s in "\\PC*[\\x00-\\x1f\\x7f-\\u{a0}]?\\PC*") {
            let by_chars = s.char_indices().find(|&(_, c)| is_control(c));
            proptest::prop_assert_eq!(find_control(&s), by_chars);
        }
    }

    #[test]
    fn length_is_capped_at_the_largest_limit() {
        assert!(Text::new("x".repeat(MAX_TEXT_CEILING)).is_ok());
        assert_eq!(
            Text::new("x".repeat(MAX_TEXT_CEILING + 1)),
            Err(TextError::TooLong { len: MAX_TEXT_CEILING + 1, max: MAX_TEXT_CEILING })
        );
    }
}
