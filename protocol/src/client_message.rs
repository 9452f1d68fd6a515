//! What a client sends (SPEC.md §3 `client-line`), and how it is written on the wire.

use std::fmt;

use bytes::BufMut;

use crate::{Nick, Text, Token};

/// One client line, already validated: every value of this type is a line a server accepts
/// syntactically (state may still refuse it, SPEC.md §3.1 step 4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ClientMessage {
    /// `USER <nick>`: register (R-REG-2).
    User(Nick),
    /// `MSG <text>`: say something to everyone (R-MSG-1).
    Msg(Text),
    /// `USERS`: ask who is here (R-LIST-3).
    Users,
    /// `PING <token>`: ask for a `PONG` (R-ORDER-6).
    Ping(Token),
    /// `PONG <token>`: answer the server's `PING` (R-TIME-4).
    Pong(Token),
    /// `QUIT [<reason>]`: leave (R-QUIT-1).
    Quit(Option<Text>),
}

impl ClientMessage {
    /// Appends the line, LF included, to `dst`.
    pub fn encode(&self, dst: &mut impl BufMut) {
        let (word, arg): (&str, Option<&str>) = match self {
            ClientMessage::User(nick) => ("USER", Some(nick.as_str())),
            ClientMessage::Msg(text) => ("MSG", Some(text.as_str())),
            ClientMessage::Users => ("USERS", None),
            ClientMessage::Ping(token) => ("PING", Some(token.as_str())),
            ClientMessage::Pong(token) => ("PONG", Some(token.as_str())),
            ClientMessage::Quit(reason) => ("QUIT", reason.as_ref().map(Text::as_str)),
        };
        dst.put_slice(word.as_bytes());
        if let Some(arg) = arg {
            dst.put_u8(b' ');
            dst.put_slice(arg.as_bytes());
        }
        dst.put_u8(b'\n');
    }

    /// The line with its LF, as bytes.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

/// The line's content (no terminator).
impl fmt::Display for ClientMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.to_line();
        // `encode` writes only validated UTF-8 and one trailing LF.
        f.write_str(std::str::from_utf8(&line[..line.len() - 1]).map_err(|_| fmt::Error)?)
    }
}
