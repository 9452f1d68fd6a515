//! What a server sends (SPEC.md §3 `server-line`), and how it is written on the wire.
//!
//! A server encodes each broadcast once and shares the bytes between recipients, so `encode`
//! writes into any caller-supplied [`BufMut`] and [`ServerMessage::to_bytes`] gives a cheaply
//! clonable [`Bytes`].

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::{ErrorCode, LeaveCause, Limits, Nick, NickList, Text, Token};

/// The protocol version this crate speaks, as sent in `HELLO` (R-REG-1).
pub const PROTOCOL_VERSION: &str = "minichat/1";

/// One server line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ServerMessage {
    /// `HELLO <version> <L> <text>`: the first line on every accepted connection (R-REG-1).
    /// `version` is [`PROTOCOL_VERSION`] for this protocol; a parser accepts others so that a
    /// client can warn about them (R-CLIENT-4).
    Hello { version: Token, limits: Limits, text: Text },
    /// `WELCOME <nick>`: registration succeeded (R-REG-2).
    Welcome(Nick),
    /// `USERS <nick>…`: one line of a user list (R-LIST-1).
    Users(NickList),
    /// `ENDUSERS <count>`: the end of a user list and how many nicks it held (R-LIST-2).
    EndUsers(#[cfg_attr(feature = "arbitrary", arbitrary(with = arbitrary_count))] usize),
    /// `JOIN <nick>`: someone joined (R-REG-3).
    Join(Nick),
    /// `MSG <nick> <text>`: someone said something (R-MSG-1).
    Msg { from: Nick, text: Text },
    /// `LEAVE <nick> <cause> [<reason>]`: someone left (R-LEAVE-2).
    Leave { nick: Nick, cause: LeaveCause, reason: Option<Text> },
    /// `PING <token>`: the server checks that the client is alive (R-TIME-3).
    Ping(Token),
    /// `PONG <token>`: the answer to a client's `PING` (R-ORDER-6).
    Pong(Token),
    /// `ERROR <CODE> <text>` (§15).
    Error { code: ErrorCode, text: Text },
    /// `BYE [<text>]`: the last line before the server closes the connection.
    Bye(Option<Text>),
}

impl ServerMessage {
    /// Appends the line, LF included, to `dst`.
    pub fn encode(&self, dst: &mut impl BufMut) {
        fn put(dst: &mut impl BufMut, parts: &[&str]) {
            let mut first = true;
            for part in parts {
                if !first {
                    dst.put_u8(b' ');
                }
                first = false;
                dst.put_slice(part.as_bytes());
            }
        }
        match self {
            ServerMessage::Hello { version, limits, text } => {
                let l = limits.max_line().to_string();
                put(dst, &["HELLO", version.as_str(), &l, text.as_str()]);
            }
            ServerMessage::Welcome(nick) => put(dst, &["WELCOME", nick.as_str()]),
            ServerMessage::Users(nicks) => {
                dst.put_slice(b"USERS");
                for nick in nicks.iter() {
                    dst.put_u8(b' ');
                    dst.put_slice(nick.as_str().as_bytes());
                }
            }
            ServerMessage::EndUsers(count) => put(dst, &["ENDUSERS", &count.to_string()]),
            ServerMessage::Join(nick) => put(dst, &["JOIN", nick.as_str()]),
            ServerMessage::Msg { from, text } => put(dst, &["MSG", from.as_str(), text.as_str()]),
            ServerMessage::Leave { nick, cause, reason } => match reason {
                Some(reason) => put(dst, &["LEAVE", nick.as_str(), cause.as_str(), reason.as_str()]),
                None => put(dst, &["LEAVE", nick.as_str(), cause.as_str()]),
            },
            ServerMessage::Ping(token) => put(dst, &["PING", token.as_str()]),
            ServerMessage::Pong(token) => put(dst, &["PONG", token.as_str()]),
            ServerMessage::Error { code, text } => put(dst, &["ERROR", code.as_str(), text.as_str()]),
            ServerMessage::Bye(Some(text)) => put(dst, &["BYE", text.as_str()]),
            ServerMessage::Bye(None) => dst.put_slice(b"BYE"),
        }
        dst.put_u8(b'\n');
    }

    /// The line with its LF, as shareable bytes: encode a broadcast once, clone the `Bytes` per
    /// recipient.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out.freeze()
    }

    /// The length of the line `encode` writes, LF included, so a buffer can be sized once.
    pub fn encoded_len(&self) -> usize {
        fn digits(n: usize) -> usize {
            n.checked_ilog10().map_or(1, |d| d as usize + 1)
        }
        let words: usize = match self {
            ServerMessage::Hello { version, limits, text } => {
                "HELLO".len() + 3 + version.as_str().len() + digits(limits.max_line()) + text.len()
            }
            ServerMessage::Welcome(nick) => "WELCOME ".len() + nick.as_str().len(),
            ServerMessage::Users(nicks) => "USERS".len() + nicks.iter().map(|n| 1 + n.as_str().len()).sum::<usize>(),
            ServerMessage::EndUsers(count) => "ENDUSERS ".len() + digits(*count),
            ServerMessage::Join(nick) => "JOIN ".len() + nick.as_str().len(),
            ServerMessage::Msg { from, text } => "MSG ".len() + from.as_str().len() + 1 + text.len(),
            ServerMessage::Leave { nick, cause, reason } => {
                "LEAVE ".len()
                    + nick.as_str().len()
                    + 1
                    + cause.as_str().len()
                    + reason.as_ref().map_or(0, |r| 1 + r.len())
            }
            ServerMessage::Ping(token) => "PING ".len() + token.as_str().len(),
            ServerMessage::Pong(token) => "PONG ".len() + token.as_str().len(),
            ServerMessage::Error { code, text } => "ERROR ".len() + code.as_str().len() + 1 + text.len(),
            ServerMessage::Bye(text) => "BYE".len() + text.as_ref().map_or(0, |t| 1 + t.len()),
        };
        words + 1
    }

    /// A `HELLO` for this protocol version.
    pub fn hello(limits: Limits, text: Text) -> ServerMessage {
        ServerMessage::Hello {
            version: Token::new(PROTOCOL_VERSION).expect("the version is a valid token"),
            limits,
            text,
        }
    }
}

/// A `count` the grammar allows: at most ten digits (SPEC.md §3), where a plain `usize` may have 20.
#[cfg(feature = "arbitrary")]
fn arbitrary_count(u: &mut arbitrary::Unstructured<'_>) -> arbitrary::Result<usize> {
    let count: u64 = u.int_in_range(0..=9_999_999_999)?;
    Ok(usize::try_from(count).unwrap_or(usize::MAX))
}

/// The line's content (no terminator).
impl fmt::Display for ServerMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.to_bytes();
        // `encode` writes only validated UTF-8 and one trailing LF.
        f.write_str(std::str::from_utf8(&line[..line.len() - 1]).map_err(|_| fmt::Error)?)
    }
}
