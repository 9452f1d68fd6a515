//! `PING`/`PONG` tokens (SPEC.md §3 `token`): 1 to 32 visible ASCII bytes, no space.
//! The protocol version in `HELLO` has the same shape and uses the same type.

use std::fmt;

use crate::limits::MAX_TOKEN_LEN;

/// A validated token.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(Box<str>);

/// Why a string is not a token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("a token cannot be empty")]
    Empty,
    #[error("a token is at most {MAX_TOKEN_LEN} bytes, this one is {0}")]
    TooLong(usize),
    #[error("a token holds only visible ASCII characters, not {ch:?} (byte {offset})")]
    BadChar { ch: char, offset: usize },
}

pub(crate) fn is_token_byte(b: u8) -> bool {
    (0x21..=0x7e).contains(&b)
}

impl Token {
    /// Validates `s` as a token.
    pub fn new(s: &str) -> Result<Token, TokenError> {
        if s.is_empty() {
            return Err(TokenError::Empty);
        }
        if let Some((offset, ch)) = s.char_indices().find(|&(_, c)| !c.is_ascii() || !is_token_byte(c as u8)) {
            return Err(TokenError::BadChar { ch, offset });
        }
        if s.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLong(s.len()));
        }
        Ok(Token(s.into()))
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({:?})", &*self.0)
    }
}

impl TryFrom<&str> for Token {
    type Error = TokenError;
    fn try_from(s: &str) -> Result<Token, TokenError> {
        Token::new(s)
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for Token {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<Token> {
        let len = u.int_in_range(1..=MAX_TOKEN_LEN)?;
        let mut s = String::with_capacity(len);
        for _ in 0..len {
            s.push(u.int_in_range(0x21u8..=0x7e)? as char);
        }
        Ok(Token(s.into_boxed_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_visible_ascii_up_to_32_bytes() {
        assert!(Token::new("!").is_ok());
        assert!(Token::new("~minichat/1:42").is_ok());
        assert!(Token::new(&"t".repeat(32)).is_ok());
    }

    #[test]
    fn rejects_empty_spaces_non_ascii_and_long() {
        assert_eq!(Token::new(""), Err(TokenError::Empty));
        assert_eq!(Token::new("a b"), Err(TokenError::BadChar { ch: ' ', offset: 1 }));
        assert_eq!(Token::new("é"), Err(TokenError::BadChar { ch: 'é', offset: 0 }));
        assert_eq!(Token::new(&"t".repeat(33)), Err(TokenError::TooLong(33)));
    }
}
