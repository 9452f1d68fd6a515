//! Nicknames (SPEC.md §4): the validated [`Nick`] and its case-folded [`NickKey`].
//!
//! A nick is at most 32 ASCII bytes, so both are stored inline, without a heap allocation: a
//! server holds one per member for as long as it is connected, and copying one into every `JOIN`
//! or `MSG` it builds costs nothing.
//!
//! A `Nick` can only be built from a string that matches the grammar, so the rest of the system
//! never re-checks one. Uniqueness is decided on the `NickKey`, never on the `Nick`: `Nick`'s own
//! equality stays exact because the server must repeat a nick exactly as registered (R-NICK-3).

use std::fmt;

use arrayvec::ArrayString;

use crate::limits::MAX_NICK_LEN;

/// A nick that matches SPEC.md's `nick` rule: 1 to 32 bytes, an ASCII letter or `_` first, then
/// ASCII letters, digits, `_` or `-` (R-NICK-1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nick(ArrayString<MAX_NICK_LEN>);

/// A nick after case folding (`A`–`Z` to `a`–`z`, R-NICK-2): two nicks collide exactly when their
/// keys are equal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NickKey(ArrayString<MAX_NICK_LEN>);

/// Why a string is not a nick.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NickError {
    #[error("a nick cannot be empty")]
    Empty,
    #[error("a nick is at most {MAX_NICK_LEN} bytes, this one is {0}")]
    TooLong(usize),
    #[error("a nick starts with an ASCII letter or _, not {0:?}")]
    BadFirst(char),
    #[error("a nick holds only ASCII letters, digits, _ and -, not {ch:?} (byte {offset})")]
    BadChar { ch: char, offset: usize },
}

/// The rule for a nick's first byte.
pub(crate) fn is_nick_first(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// The rule for a nick's other bytes.
pub(crate) fn is_nick_rest(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

impl Nick {
    /// Validates `s` as a nick.
    pub fn new(s: &str) -> Result<Nick, NickError> {
        let mut chars = s.char_indices();
        let Some((_, first)) = chars.next() else {
            return Err(NickError::Empty);
        };
        if !first.is_ascii() || !is_nick_first(first as u8) {
            return Err(NickError::BadFirst(first));
        }
        if let Some((offset, ch)) = chars.find(|&(_, c)| !c.is_ascii() || !is_nick_rest(c as u8)) {
            return Err(NickError::BadChar { ch, offset });
        }
        ArrayString::from(s).map(Nick).map_err(|_| NickError::TooLong(s.len()))
    }

    /// The nick exactly as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded key that uniqueness is decided on (R-NICK-2).
    pub fn key(&self) -> NickKey {
        let mut key = self.0;
        key.make_ascii_lowercase();
        NickKey(key)
    }

    /// Whether two nicks collide, without allocating a key.
    pub fn collides_with(&self, other: &Nick) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl NickKey {
    /// The folded nick.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nick({:?})", self.0.as_str())
    }
}

impl AsRef<str> for Nick {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for Nick {
    type Error = NickError;
    fn try_from(s: &str) -> Result<Nick, NickError> {
        Nick::new(s)
    }
}

impl std::str::FromStr for Nick {
    type Err = NickError;
    fn from_str(s: &str) -> Result<Nick, NickError> {
        Nick::new(s)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Nick {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Nick> {
        const FIRST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
        const REST: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        let len = u.int_in_range(1..=MAX_NICK_LEN)?;
        let mut s = ArrayString::new();
        s.push(*u.choose(FIRST)? as char);
        for _ in 1..len {
            s.push(*u.choose(REST)? as char);
        }
        Ok(Nick(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_letters_digits_underscore_hyphen() {
        for ok in ["a", "_", "Z9", "a-b_c", "_x-1", &"n".repeat(32)] {
            assert_eq!(Nick::new(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_what_the_grammar_excludes() {
        assert_eq!(Nick::new(""), Err(NickError::Empty));
        assert_eq!(Nick::new("9lives"), Err(NickError::BadFirst('9')));
        assert_eq!(Nick::new("-x"), Err(NickError::BadFirst('-')));
        assert_eq!(Nick::new(" bob"), Err(NickError::BadFirst(' ')));
        assert_eq!(Nick::new("bo b"), Err(NickError::BadChar { ch: ' ', offset: 2 }));
        assert_eq!(Nick::new("zoë"), Err(NickError::BadChar { ch: 'ë', offset: 2 }));
        assert_eq!(Nick::new("a[b]"), Err(NickError::BadChar { ch: '[', offset: 1 }));
        assert_eq!(Nick::new(&"n".repeat(33)), Err(NickError::TooLong(33)));
    }

    #[test]
    fn folding_maps_only_ascii_letters() {
        let a = Nick::new("Al_Ice-9").unwrap();
        assert_eq!(a.key().as_str(), "al_ice-9");
        assert!(a.collides_with(&Nick::new("aL_iCE-9").unwrap()));
        assert!(!a.collides_with(&Nick::new("Al_Ice_9").unwrap()));
        assert_eq!(a.key(), Nick::new("AL_ICE-9").unwrap().key());
    }
}
