//! User lists (SPEC.md §8): `USERS` lines of at least one nick each, closed by `ENDUSERS <count>`.
//!
//! [`encode_user_list`] splits any number of nicks into lines that respect the line limit, so a
//! room of thousands still produces valid lines (R-LIST-1, R-LIST-2).

use bytes::BufMut;

use crate::{Limits, Nick, ServerMessage};

/// The nicks of one `USERS` line: never empty.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NickList(Vec<Nick>);

/// A `USERS` line needs at least one nick.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a USERS line needs at least one nick")]
pub struct EmptyNickList;

impl NickList {
    /// Wraps a non-empty list of nicks.
    pub fn new(nicks: Vec<Nick>) -> Result<NickList, EmptyNickList> {
        if nicks.is_empty() { Err(EmptyNickList) } else { Ok(NickList(nicks)) }
    }

    /// The nicks, in line order.
    pub fn iter(&self) -> std::slice::Iter<'_, Nick> {
        self.0.iter()
    }

    /// How many nicks the line holds (at least one).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always false: a `NickList` is never empty.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The nicks.
    pub fn into_vec(self) -> Vec<Nick> {
        self.0
    }
}

impl<'a> IntoIterator for &'a NickList {
    type Item = &'a Nick;
    type IntoIter = std::slice::Iter<'a, Nick>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(feature = "arbitrary")]
impl<'a> arbitrary::Arbitrary<'a> for NickList {
    fn arbitrary(u: &mut arbitrary::Unstructured<'a>) -> arbitrary::Result<NickList> {
        // At most 3 nicks: 3 × 33 + "USERS" fits the smallest line limit.
        let n = u.int_in_range(1..=3)?;
        let nicks = (0..n).map(|_| u.arbitrary()).collect::<arbitrary::Result<Vec<Nick>>>()?;
        Ok(NickList(nicks))
    }
}

/// Appends a complete user list for `nicks` to `dst`: as many `USERS` lines as needed, each as
/// full as *L* allows, then `ENDUSERS <count>`. Returns the count.
///
/// An empty iterator produces only `ENDUSERS 0`. (A server never sends that: a user list always
/// contains at least the client it is sent to.)
pub fn encode_user_list<'a>(nicks: impl IntoIterator<Item = &'a Nick>, limits: Limits, dst: &mut impl BufMut) -> usize {
    const WORD: &[u8] = b"USERS";
    let mut count = 0;
    let mut line_len = 0; // 0 = no line open
    for nick in nicks {
        let nick = nick.as_str().as_bytes();
        // A nick is at most 32 bytes and L at least 128, so one nick always fits a fresh line.
        if line_len != 0 && line_len + 1 + nick.len() > limits.max_line() {
            dst.put_u8(b'\n');
            line_len = 0;
        }
        if line_len == 0 {
            dst.put_slice(WORD);
            line_len = WORD.len();
        }
        dst.put_u8(b' ');
        dst.put_slice(nick);
        line_len += 1 + nick.len();
        count += 1;
    }
    if line_len != 0 {
        dst.put_u8(b'\n');
    }
    ServerMessage::EndUsers(count).encode(dst);
    count
}
