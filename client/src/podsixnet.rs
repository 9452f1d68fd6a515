//! The PodSixNet edge (SPEC.md §16): what a PodSixNet chat server's frames mean to this client,
//! and how this client's messages are framed for one.
//!
//! `minichat --podsixnet` joins servers written with the PodSixNet library: minichat-server's
//! PodSixNet listener, the course's chat servers (`username` and `message` actions, the sender in
//! `"expediteur"`) and the library's own example (`nickname`, the sender in `"who"`). Everything
//! else — registering, chatting, quitting, what to show — is the one [`crate::session::Session`];
//! this module only turns frames into what the session already understands.
//!
//! **Lenient in what it accepts.** minichat-server sends exactly the frames of R-PSN-6, but other
//! PodSixNet servers send what their authors chose, so each frame is read for what it plainly
//! means, not checked against R-PSN-6's key lists ([`minichat_protocol::podsixnet::ServerFrame`]
//! does that, for conformance): keys may come in any order and extra keys are ignored; a message's
//! sender is `"who"` or `"expediteur"`, whichever is there; `players` may be a list or a tuple;
//! PodSixNet's own `"error"` action is shown; a frame that does not decode, is not a dict, or has
//! an action this client does not know is skipped (PodSixNet's own `Channel` would close the
//! connection on the first, and ignores the others). Every string goes through
//! [`neutralise`] before it becomes a [`Text`], so nothing received can drive the terminal
//! (R-CLIENT-3). A name that is not a valid nick (PodSixNet servers take any string, such as
//! `élodie` or `Jean Dupont`) cannot be a [`Nick`]: a message from it is still shown, under the
//! name made terminal-safe ([`Received::NamedMessage`]), and listed after the nicks in a user
//! list.
//!
//! **Strict in what it sends.** Only R-PSN-4's frames, built by the protocol crate
//! ([`client_value`]), and never a payload that [`frame`] refuses (R-PSN-3). Validated messages
//! never hold U+0000, so that refusal is a guard, not a path users meet.

use bytes::{BufMut, BytesMut};
use minichat_protocol::podsixnet::{
    DEFAULT_MAX_PAYLOAD, Framer, NickAction, UnframeablePayload, Value, client_value, decode, encode, frame,
};
use minichat_protocol::{
    ClientMessage, ErrorCode, LeaveCause, Limits, MAX_TEXT_CEILING, Nick, ServerMessage, Text, Token,
};

use crate::neutralise::neutralise;

/// Something a PodSixNet server said that the session acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// `{"action": "connected"}`: the first frame from every PodSixNet `Server` (R-PSN-6). A
    /// minichat server follows it with `hello`; other servers announce nothing.
    Accepted,
    /// A frame that stands for a line of the line protocol.
    Message(ServerMessage),
    /// `{"action": "players", "players": [...]}`: everyone present, in one frame. `names` are the
    /// entries that are not nicks (PodSixNet servers accept any string), as [`shown_name`] shows
    /// them; `unnamed` counts entries that are not strings, or hold nothing visible.
    Players { nicks: Vec<Nick>, names: Vec<Text>, unnamed: usize },
    /// `{"action": "error", "error": ...}`: PodSixNet's own error action, with no minichat code.
    LibraryError(Text),
    /// A message whose sender's name is not a nick (a non-minichat server took it as it came),
    /// neutralised and cut to [`MAX_SHOWN_NAME_CHARS`]. A minichat server never sends one.
    NamedMessage { name: Text, text: Text },
}

/// The longest sender name shown for a message whose sender is not a nick, in characters; a
/// longer name is cut and ends in `…`, so a name cannot push the message off the screen.
pub const MAX_SHOWN_NAME_CHARS: usize = 40;

/// Cuts a server's byte stream into frames and reads each for what it means.
///
/// Payloads up to [`DEFAULT_MAX_PAYLOAD`] (1 MiB) are read, as R-PSN-2 asks of clients (a user list
/// is one frame); a longer one is skipped up to its terminator, so memory stays bounded.
#[derive(Debug, Default)]
pub struct FrameReader {
    framer: Framer,
}

impl FrameReader {
    /// A reader for a new connection.
    pub fn new() -> FrameReader {
        FrameReader { framer: Framer::new(DEFAULT_MAX_PAYLOAD) }
    }

    /// Consumes `input` until it yields something the session acts on, and returns it; `None`
    /// once `input` is used up. Call it in a loop, like [`Framer::next_frame`].
    pub fn next(&mut self, input: &mut &[u8]) -> Option<Received> {
        loop {
            match self.framer.next_frame(input)? {
                Ok(payload) => match decode(&payload) {
                    Ok(value) => {
                        if let Some(received) = read_server_value(&value) {
                            return Some(received);
                        }
                    }
                    Err(error) => tracing::debug!(%error, "ignoring a frame that is not valid rencode"),
                },
                Err(error) => tracing::debug!(%error, "ignoring an overlong frame"),
            }
        }
    }
}

/// Appends `message` to `dst` as a PodSixNet frame, registering with `nick_action`'s form.
///
/// Refuses, and appends nothing, when the payload would hold the terminator (R-PSN-3): the
/// server would cut the frame inside the text and drop the connection.
pub fn encode_frame(
    message: &ClientMessage,
    nick_action: NickAction,
    dst: &mut BytesMut,
) -> Result<(), UnframeablePayload> {
    // Client values are two levels deep and hold only strings, so the encoder cannot refuse them.
    let payload = encode(&client_value(message, nick_action)).expect("a client frame is shallow and holds only text");
    dst.put_slice(&frame(&payload)?);
    Ok(())
}

/// What a decoded frame means to the client, or `None` for what it ignores.
fn read_server_value(value: &Value) -> Option<Received> {
    let Some(action) = value.action() else {
        // PodSixNet prints these as "OOB data" and ignores them.
        tracing::debug!(value = value.type_name(), "ignoring a frame without an action");
        return None;
    };
    let str_of = |key: &str| value.dict_get(key).and_then(Value::as_str);
    let nick_of = |key: &str| str_of(key).and_then(|s| Nick::new(s).ok());
    let text_of = |key: &str| str_of(key).and_then(shown_text);
    let received = match action {
        "connected" => Some(Received::Accepted),
        "hello" => {
            let version = str_of("version").and_then(|v| Token::new(&neutralise(v)).ok());
            let limits = value
                .dict_get("max_line")
                .and_then(Value::as_i64)
                .and_then(|l| usize::try_from(l).ok())
                .and_then(|l| Limits::new(l).ok());
            // The greeting is not shown; a missing one does not make the hello less of a hello.
            let text = text_of("text").unwrap_or_else(|| Text::new("(no greeting)").expect("a valid text"));
            version
                .zip(limits)
                .map(|(version, limits)| ServerMessage::Hello { version, limits, text })
                .map(Received::Message)
        }
        "welcome" => nick_of("nick").map(ServerMessage::Welcome).map(Received::Message),
        "players" => value.dict_get("players").and_then(Value::as_sequence).map(|entries| {
            let (mut nicks, mut names) = (Vec::new(), Vec::new());
            for name in entries.iter().filter_map(Value::as_str) {
                match Nick::new(name) {
                    Ok(nick) => nicks.push(nick),
                    Err(_) => names.extend(shown_name(name)),
                }
            }
            Received::Players { unnamed: entries.len() - nicks.len() - names.len(), nicks, names }
        }),
        "join" => nick_of("nick").map(ServerMessage::Join).map(Received::Message),
        "message" => {
            // minichat sends both, PodSixNet's example `who`, the course `expediteur`.
            let from = str_of("who").or_else(|| str_of("expediteur"));
            from.zip(text_of("message")).and_then(|(from, text)| match Nick::new(from) {
                Ok(from) => Some(Received::Message(ServerMessage::Msg { from, text })),
                Err(_) => shown_name(from).map(|name| Received::NamedMessage { name, text }),
            })
        }
        "leave" => {
            let cause = str_of("cause").and_then(LeaveCause::from_wire);
            nick_of("nick")
                .zip(cause)
                .map(|(nick, cause)| Received::Message(ServerMessage::Leave { nick, cause, reason: text_of("reason") }))
        }
        "pong" => str_of("token").and_then(|t| Token::new(t).ok()).map(|t| Received::Message(ServerMessage::Pong(t))),
        "minichat_error" => {
            let code = str_of("code").and_then(ErrorCode::from_wire);
            let text = text_of("text").or_else(|| code.map(|c| shown_text(c.as_str()).expect("a code is a text")));
            code.zip(text).map(|(code, text)| Received::Message(ServerMessage::Error { code, text }))
        }
        "error" => library_error_text(value.dict_get("error")).map(Received::LibraryError),
        "bye" => Some(Received::Message(ServerMessage::Bye(text_of("text")))),
        _ => {
            tracing::debug!(action = %neutralise(action), "ignoring a frame with an action this client does not know");
            return None;
        }
    };
    if received.is_none() {
        tracing::debug!(action = %neutralise(action), "ignoring a frame whose keys this client cannot read");
    }
    received
}

/// A received string as a text to show: terminal-safe, and cut to the longest text any server
/// may send. `None` when it is empty or only spaces (R-MSG-2: that is no message).
fn shown_text(s: &str) -> Option<Text> {
    let safe = neutralise(s);
    let mut end = safe.len().min(MAX_TEXT_CEILING);
    while !safe.is_char_boundary(end) {
        end -= 1;
    }
    Text::new(&safe[..end]).ok()
}

/// A name that is not a nick, as shown: terminal-safe, at most
/// [`MAX_SHOWN_NAME_CHARS`] characters. `None` when nothing visible is left.
fn shown_name(name: &str) -> Option<Text> {
    let safe = neutralise(name);
    let mut shown: String = safe.chars().take(MAX_SHOWN_NAME_CHARS).collect();
    if shown.len() < safe.len() {
        shown.push('…');
    }
    Text::new(&shown).ok()
}

/// The words of PodSixNet's `error` action: the library puts a socket error's `args` there, a
/// tuple such as `(111, "Connection refused")`, so the last string in it is the description.
fn library_error_text(error: Option<&Value>) -> Option<Text> {
    let error = error?;
    let words = match error.as_sequence() {
        Some(items) => items.iter().rev().find_map(Value::as_str),
        None => error.as_str(),
    };
    shown_text(words.unwrap_or("(no description)"))
}
