//! The PodSixNet profile of SPEC.md §16: which dict stands for which line, in both directions.
//!
//! A server turns a client's frame into the [`ClientMessage`] it stands for
//! ([`decode_client_payload`]) and from then on treats it like a line; it sends [`ServerFrame`]s,
//! which mirror the line protocol's server messages. Keeping the mapping here, as pure functions,
//! means the server, the client and the conformance suite agree on it by construction.

use bytes::Bytes;

use super::{Dict, UnframeablePayload, Value, decode, encode_into, frame};
use crate::{
    ClientMessage, ErrorCode, LeaveCause, Limits, Nick, ParseErrorKind, ServerMessage, Text, Token, parse_client_line,
};

/// A frame a server sends (R-PSN-6). Keys are written in the order SPEC.md gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerFrame {
    /// `{"action": "connected"}`: first, on accept (PodSixNet's own `Server` sends it).
    Connected,
    /// `{"action": "hello", "version", "max_line", "text"}`: `HELLO`.
    Hello { version: Token, limits: Limits, text: Text },
    /// `{"action": "welcome", "nick"}`: `WELCOME`.
    Welcome(Nick),
    /// `{"action": "players", "players": [...]}`: a whole user list.
    Players(Vec<Nick>),
    /// `{"action": "join", "nick"}`: `JOIN` (a `players` frame follows it).
    Join(Nick),
    /// `{"action": "message", "message", "who", "expediteur"}`: a relayed `MSG`.
    Message { from: Nick, text: Text },
    /// `{"action": "leave", "nick", "cause"[, "reason"]}`: `LEAVE` (a `players` frame follows it).
    Leave { nick: Nick, cause: LeaveCause, reason: Option<Text> },
    /// `{"action": "pong", "token"}`: `PONG`.
    Pong(Token),
    /// `{"action": "minichat_error", "code", "text"}`: `ERROR`.
    Error { code: ErrorCode, text: Text },
    /// `{"action": "bye"[, "text"]}`: `BYE`.
    Bye(Option<Text>),
}

/// A frame that does not fit the profile, with the `ERROR` code a server answers (R-PSN-5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Rejection {
    /// The code SPEC.md §16.2 gives.
    pub code: ErrorCode,
    /// What is wrong, for people.
    pub reason: &'static str,
}

fn reject(code: ErrorCode, reason: &'static str) -> Rejection {
    Rejection { code, reason }
}

impl ServerFrame {
    /// The frame for a line-protocol message that maps one to one: everything but user-list lines
    /// (a user list is one [`ServerFrame::Players`]) and `PING` (never sent, R-PSN-8).
    pub fn from_message(message: &ServerMessage) -> Option<ServerFrame> {
        Some(match message.clone() {
            ServerMessage::Hello { version, limits, text } => ServerFrame::Hello { version, limits, text },
            ServerMessage::Welcome(nick) => ServerFrame::Welcome(nick),
            ServerMessage::Join(nick) => ServerFrame::Join(nick),
            ServerMessage::Msg { from, text } => ServerFrame::Message { from, text },
            ServerMessage::Leave { nick, cause, reason } => ServerFrame::Leave { nick, cause, reason },
            ServerMessage::Pong(token) => ServerFrame::Pong(token),
            ServerMessage::Error { code, text } => ServerFrame::Error { code, text },
            ServerMessage::Bye(text) => ServerFrame::Bye(text),
            ServerMessage::Users(_) | ServerMessage::EndUsers(_) | ServerMessage::Ping(_) => return None,
        })
    }

    /// The dict this frame is.
    pub fn to_value(&self) -> Value {
        let mut d = Dict::new();
        let mut put = |key: &str, value: Value| {
            d.insert_str(key, value);
        };
        let str = |s: &str| Value::Str(s.to_owned());
        match self {
            ServerFrame::Connected => put("action", str("connected")),
            ServerFrame::Hello { version, limits, text } => {
                put("action", str("hello"));
                put("version", str(version.as_str()));
                put("max_line", Value::Int(limits.max_line() as i64));
                put("text", str(text.as_str()));
            }
            ServerFrame::Welcome(nick) => {
                put("action", str("welcome"));
                put("nick", str(nick.as_str()));
            }
            ServerFrame::Players(nicks) => {
                put("action", str("players"));
                put("players", Value::List(nicks.iter().map(|n| str(n.as_str())).collect()));
            }
            ServerFrame::Join(nick) => {
                put("action", str("join"));
                put("nick", str(nick.as_str()));
            }
            ServerFrame::Message { from, text } => {
                put("action", str("message"));
                put("message", str(text.as_str()));
                put("who", str(from.as_str()));
                put("expediteur", str(from.as_str()));
            }
            ServerFrame::Leave { nick, cause, reason } => {
                put("action", str("leave"));
                put("nick", str(nick.as_str()));
                put("cause", str(cause.as_str()));
                if let Some(reason) = reason {
                    put("reason", str(reason.as_str()));
                }
            }
            ServerFrame::Pong(token) => {
                put("action", str("pong"));
                put("token", str(token.as_str()));
            }
            ServerFrame::Error { code, text } => {
                put("action", str("minichat_error"));
                put("code", str(code.as_str()));
                put("text", str(text.as_str()));
            }
            ServerFrame::Bye(text) => {
                put("action", str("bye"));
                if let Some(text) = text {
                    put("text", str(text.as_str()));
                }
            }
        }
        Value::Dict(d)
    }

    /// Appends the frame (payload and terminator) to `dst`. Fails only if the payload would hold
    /// the terminator (R-PSN-3), which valid nicks and texts cannot produce.
    pub fn encode(&self, dst: &mut Vec<u8>) -> Result<(), UnframeablePayload> {
        let mut payload = Vec::new();
        encode_into(&self.to_value(), &mut payload).expect("profile frames are shallow and hold only text");
        dst.extend_from_slice(&frame(&payload)?);
        Ok(())
    }

    /// The frame as shareable bytes.
    pub fn to_bytes(&self) -> Result<Bytes, UnframeablePayload> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(Bytes::from(out))
    }

    /// Reads a frame strictly per R-PSN-6: the action's keys, in order, and nothing else.
    pub fn from_value(value: &Value) -> Result<ServerFrame, Rejection> {
        let dict = value.as_dict().ok_or(reject(ErrorCode::BadArguments, "the frame is not a dict"))?;
        let action = value.action().ok_or(reject(ErrorCode::BadArguments, "the frame has no string \"action\""))?;
        let keys: Vec<&str> = dict.entries().iter().map(|(k, _)| k.as_str().unwrap_or("")).collect();
        let expect_keys = |want: &[&str]| {
            if keys == want { Ok(()) } else { Err(reject(ErrorCode::BadArguments, "unexpected keys or key order")) }
        };
        let s = |key: &str| {
            dict.get_str(key)
                .and_then(Value::as_str)
                .ok_or(reject(ErrorCode::BadArguments, "a key is missing or not a string"))
        };
        let nick = |key: &str| Nick::new(s(key)?).map_err(|_| reject(ErrorCode::InvalidNick, "invalid nick"));
        let text = |key: &str| Text::new(s(key)?).map_err(|_| reject(ErrorCode::BadArguments, "invalid text"));
        let token = |key: &str| Token::new(s(key)?).map_err(|_| reject(ErrorCode::BadArguments, "invalid token"));
        Ok(match action {
            "connected" => {
                expect_keys(&["action"])?;
                ServerFrame::Connected
            }
            "hello" => {
                expect_keys(&["action", "version", "max_line", "text"])?;
                let max_line = dict.get_str("max_line").and_then(Value::as_i64).and_then(|l| usize::try_from(l).ok());
                let limits = max_line
                    .and_then(|l| Limits::new(l).ok())
                    .ok_or(reject(ErrorCode::BadArguments, "max_line is not a valid line limit"))?;
                ServerFrame::Hello { version: token("version")?, limits, text: text("text")? }
            }
            "welcome" => {
                expect_keys(&["action", "nick"])?;
                ServerFrame::Welcome(nick("nick")?)
            }
            "players" => {
                expect_keys(&["action", "players"])?;
                let list = dict
                    .get_str("players")
                    .and_then(Value::as_sequence)
                    .ok_or(reject(ErrorCode::BadArguments, "players is not a list"))?;
                let nicks = list
                    .iter()
                    .map(|v| v.as_str().and_then(|s| Nick::new(s).ok()))
                    .collect::<Option<Vec<Nick>>>()
                    .ok_or(reject(ErrorCode::InvalidNick, "players holds something that is not a nick"))?;
                ServerFrame::Players(nicks)
            }
            "join" => {
                expect_keys(&["action", "nick"])?;
                ServerFrame::Join(nick("nick")?)
            }
            "message" => {
                expect_keys(&["action", "message", "who", "expediteur"])?;
                let from = nick("who")?;
                if nick("expediteur")? != from {
                    return Err(reject(ErrorCode::BadArguments, "who and expediteur differ"));
                }
                ServerFrame::Message { from, text: text("message")? }
            }
            "leave" => {
                let reason = if keys.len() == 4 {
                    expect_keys(&["action", "nick", "cause", "reason"])?;
                    Some(text("reason")?)
                } else {
                    expect_keys(&["action", "nick", "cause"])?;
                    None
                };
                let cause =
                    LeaveCause::from_wire(s("cause")?).ok_or(reject(ErrorCode::BadArguments, "unknown cause"))?;
                ServerFrame::Leave { nick: nick("nick")?, cause, reason }
            }
            "pong" => {
                expect_keys(&["action", "token"])?;
                ServerFrame::Pong(token("token")?)
            }
            "minichat_error" => {
                expect_keys(&["action", "code", "text"])?;
                let code = ErrorCode::from_wire(s("code")?).ok_or(reject(ErrorCode::BadArguments, "unknown code"))?;
                ServerFrame::Error { code, text: text("text")? }
            }
            "bye" => {
                if keys.len() == 2 {
                    expect_keys(&["action", "text"])?;
                    ServerFrame::Bye(Some(text("text")?))
                } else {
                    expect_keys(&["action"])?;
                    ServerFrame::Bye(None)
                }
            }
            _ => return Err(reject(ErrorCode::UnknownCommand, "unknown action")),
        })
    }
}

/// Which key a client uses to register: the course's `"username"` or PodSixNet's example
/// chat's `"nickname"` (R-PSN-4 accepts both).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NickAction {
    /// `{"action": "username", "username": …}`
    #[default]
    Username,
    /// `{"action": "nickname", "nickname": …}`
    Nickname,
}

/// The dict a client sends for `message` (R-PSN-4).
pub fn client_value(message: &ClientMessage, nick_action: NickAction) -> Value {
    let mut d = Dict::new();
    let str = |s: &str| Value::Str(s.to_owned());
    match message {
        ClientMessage::User(nick) => {
            let key = match nick_action {
                NickAction::Username => "username",
                NickAction::Nickname => "nickname",
            };
            d.insert_str("action", str(key));
            d.insert_str(key, str(nick.as_str()));
        }
        ClientMessage::Msg(text) => {
            d.insert_str("action", str("message"));
            d.insert_str("message", str(text.as_str()));
        }
        ClientMessage::Users => {
            d.insert_str("action", str("users"));
        }
        ClientMessage::Ping(token) | ClientMessage::Pong(token) => {
            let action = if matches!(message, ClientMessage::Ping(_)) { "ping" } else { "pong" };
            d.insert_str("action", str(action));
            d.insert_str("token", str(token.as_str()));
        }
        ClientMessage::Quit(reason) => {
            d.insert_str("action", str("quit"));
            if let Some(reason) = reason {
                d.insert_str("reason", str(reason.as_str()));
            }
        }
    }
    Value::Dict(d)
}

/// A client frame (payload without terminator) as the message it stands for (R-PSN-4, R-PSN-5).
pub fn decode_client_payload(payload: &[u8], limits: Limits) -> Result<ClientMessage, Rejection> {
    match decode(payload) {
        Ok(value) => client_message(&value, limits),
        Err(e) if e.kind() == super::DecodeErrorKind::InvalidUtf8 => {
            Err(reject(ErrorCode::InvalidUtf8, "a string in the frame is not valid UTF-8"))
        }
        Err(_) => Err(reject(ErrorCode::BadArguments, "the frame is not valid rencode")),
    }
}

/// A client's dict as the message it stands for (R-PSN-4, R-PSN-5).
///
/// Each argument goes through the same checks as the equivalent line (SPEC.md §3.1), by building
/// that line and parsing it: the profile cannot drift from the line protocol's rules.
pub fn client_message(value: &Value, limits: Limits) -> Result<ClientMessage, Rejection> {
    let action = value.action().ok_or(reject(ErrorCode::BadArguments, "a frame is a dict with a string \"action\""))?;
    let arg = |key: &str| -> Result<&str, Rejection> {
        value
            .dict_get(key)
            .and_then(Value::as_str)
            .ok_or(reject(ErrorCode::BadArguments, "a required key is missing or not a string"))
    };
    let line = match action {
        "username" | "nickname" => format!("USER {}", arg(action)?),
        "message" => format!("MSG {}", arg("message")?),
        "users" => "USERS".to_owned(),
        "ping" => format!("PING {}", arg("token")?),
        "pong" => format!("PONG {}", arg("token")?),
        "quit" => match value.dict_get("reason") {
            None | Some(Value::None) => "QUIT".to_owned(),
            Some(reason) => {
                let reason = reason.as_str().ok_or(reject(ErrorCode::BadArguments, "reason is not a string"))?;
                format!("QUIT {reason}")
            }
        },
        _ => return Err(reject(ErrorCode::UnknownCommand, "unknown action")),
    };
    // A long argument can make the built line longer than L, which the line protocol would refuse
    // as LINE_TOO_LONG; in a frame it is the text that is too long.
    let lenient = Limits::new(crate::MAX_MAX_LINE).expect("the largest limit is valid");
    let message = parse_client_line(&line, lenient).map_err(|e| {
        let reason = match e.kind {
            ParseErrorKind::ControlCharacter => "a string holds a control character",
            ParseErrorKind::InvalidNick => "invalid nick: 1-32 letters, digits, _ or -, starting with a letter or _",
            ParseErrorKind::EmptyText => "the text is empty or only spaces",
            ParseErrorKind::TextTooLong { .. } => "the text is too long",
            ParseErrorKind::BadArguments | ParseErrorKind::UnknownCommand => "the value does not fit the action",
        };
        reject(e.kind.error_code(), reason)
    })?;
    check_text_limit(&message, limits)?;
    Ok(message)
}

fn check_text_limit(message: &ClientMessage, limits: Limits) -> Result<(), Rejection> {
    let text = match message {
        ClientMessage::Msg(text) | ClientMessage::Quit(Some(text)) => text,
        _ => return Ok(()),
    };
    if text.len() > limits.max_text() {
        return Err(reject(ErrorCode::TextTooLong, "the text is too long"));
    }
    Ok(())
}
