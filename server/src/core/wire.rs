//! The two forms a client can speak in — lines (SPEC.md §2) and PodSixNet frames (§16) — and the
//! only place the core tells them apart.
//!
//! Reading: a [`Decoder`] turns a connection's bytes into [`Request`]s, each a client message or
//! the error the spec gives for it; from there on the core treats every connection alike.
//! Writing: the core says what to send as a [`ServerMessage`], and this module writes it in the
//! connection's form. A room event is written at most once per form ([`RoomEvent`]) and the bytes
//! are shared by every recipient of that form.

use bytes::{Bytes, BytesMut};
use memchr::{memchr, memmem};
use minichat_protocol::podsixnet::{self, ServerFrame};
use minichat_protocol::{
    ClientMessage, FrameError, Limits, LineFramer, Nick, ParseError, ParseErrorKind, ServerMessage, encode_user_list,
    parse_client_line,
};

use super::replies;
use super::room::Member;

/// How a connection's bytes are framed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Text lines (SPEC.md §2).
    #[default]
    Line,
    /// rencode dicts terminated by `\0---\0` (SPEC.md §16).
    PodSixNet,
}

impl Profile {
    /// The bytes that end every unit this profile sends: a line's LF, a frame's terminator.
    pub fn unit_end(self) -> &'static [u8] {
        match self {
            Profile::Line => b"\n",
            Profile::PodSixNet => &podsixnet::TERMINATOR,
        }
    }
}

/// One unit of a client's input, classified.
#[derive(Debug)]
pub enum Request {
    /// A valid message, to act on per the session's state.
    Message(ClientMessage),
    /// An empty line: nothing to do (R-TRANS-9).
    Empty,
    /// Input the spec refuses, with the error to answer. `complete` is false for an overlong unit
    /// reported before its end arrived: not yet a complete line, so not activity (R-TIME-4).
    Refused { error: ServerMessage, complete: bool },
}

/// A connection's incoming framing state.
#[derive(Debug)]
pub enum Decoder {
    Line(LineFramer),
    PodSixNet(podsixnet::Framer),
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::Line(LineFramer::default())
    }
}

impl Decoder {
    /// A decoder for `profile`; a PodSixNet payload is bounded by *L* like a line (R-PSN-2).
    pub fn new(profile: Profile, limits: Limits) -> Decoder {
        match profile {
            Profile::Line => Decoder::Line(LineFramer::new(limits)),
            Profile::PodSixNet => Decoder::PodSixNet(podsixnet::Framer::new(limits.max_line())),
        }
    }

    /// The next request in `input`, advancing it; `None` when `input` holds no complete unit.
    pub fn next_request(&mut self, input: &mut &[u8], limits: Limits) -> Option<Request> {
        match self {
            Decoder::Line(framer) => framer.next_line(input).map(|line| line_request(line, limits)),
            Decoder::PodSixNet(framer) => framer.next_frame(input).map(|frame| match frame {
                Ok(payload) => match podsixnet::decode_client_payload(&payload, limits) {
                    Ok(message) => Request::Message(message),
                    Err(rejection) => {
                        Request::Refused { error: replies::error(rejection.code, rejection.reason), complete: true }
                    }
                },
                Err(_) => Request::Refused { error: replies::line_too_long(limits), complete: false },
            }),
        }
    }

    /// Whether `input` may complete a unit: flood control spends budget only then (R-LIMIT-5).
    pub fn may_complete(&self, input: &[u8]) -> bool {
        match self {
            Decoder::Line(_) => memchr(b'\n', input).is_some(),
            // Every terminator ends with a NUL.
            Decoder::PodSixNet(_) => memchr(0, input).is_some(),
        }
    }

    /// Whether a unit ended within `consumed`: an incomplete unit left after it started then.
    pub fn ended_within(&self, consumed: &[u8]) -> bool {
        match self {
            Decoder::Line(_) => memchr(b'\n', consumed).is_some(),
            Decoder::PodSixNet(_) => memmem::find(consumed, &podsixnet::TERMINATOR).is_some(),
        }
    }

    /// Whether a unit has been started and not finished (R-TIME-2).
    pub fn has_partial(&self) -> bool {
        match self {
            Decoder::Line(framer) => framer.has_partial_line(),
            Decoder::PodSixNet(framer) => framer.buffered() > 0 || framer.is_skipping(),
        }
    }

    /// Bytes held for an incomplete unit: at most *L* + 1 (lines) or *L* + 4 (frames).
    pub fn buffered_len(&self) -> usize {
        match self {
            Decoder::Line(framer) => framer.buffered_len(),
            Decoder::PodSixNet(framer) => framer.buffered(),
        }
    }
}

fn line_request(line: Result<&str, FrameError>, limits: Limits) -> Request {
    let line = match line {
        Ok(line) => line,
        Err(FrameError::LineTooLong { .. }) => {
            return Request::Refused { error: replies::line_too_long(limits), complete: false };
        }
        Err(FrameError::InvalidUtf8 { .. }) => {
            return Request::Refused { error: replies::invalid_utf8(), complete: true };
        }
    };
    if line.is_empty() {
        return Request::Empty;
    }
    match parse_client_line(line, limits) {
        Ok(message) => Request::Message(message),
        Err(error) => Request::Refused { error: parse_error_reply(line, error), complete: true },
    }
}

/// The `ERROR` for a line the parser refused (SPEC.md §3.1).
fn parse_error_reply(line: &str, error: ParseError) -> ServerMessage {
    let word = line.split(' ').next().unwrap_or(line);
    match error.kind {
        ParseErrorKind::ControlCharacter => replies::control_character(error.offset),
        ParseErrorKind::UnknownCommand => replies::unknown_command(word),
        ParseErrorKind::BadArguments => replies::bad_arguments(word),
        ParseErrorKind::InvalidNick => replies::invalid_nick(),
        ParseErrorKind::EmptyText => replies::empty_message(),
        ParseErrorKind::TextTooLong { max } => replies::text_too_long(max),
    }
}

// ---------- writing ----------

/// `message` in `profile`'s form. Every message the core sends to one client maps to a frame
/// except the user-list lines and `PING`, which the core never sends to PodSixNet clients.
pub fn encode(profile: Profile, message: &ServerMessage) -> Bytes {
    match profile {
        Profile::Line => message.to_bytes(),
        Profile::PodSixNet => ServerFrame::from_message(message).map(frame_bytes).unwrap_or_default(),
    }
}

/// A frame's bytes. Frames built from valid nicks and texts never hold the terminator
/// (R-PSN-3), so the refusal cannot happen; if it did, sending nothing is the safe choice.
fn frame_bytes(frame: ServerFrame) -> Bytes {
    let bytes = frame.to_bytes();
    debug_assert!(bytes.is_ok(), "a profile frame held the terminator: {frame:?}");
    bytes.unwrap_or_default()
}

/// What a client receives on accept (R-REG-1; R-PSN-6 adds `connected` first).
pub fn greeting(profile: Profile, limits: Limits) -> Bytes {
    match profile {
        Profile::Line => replies::hello(limits).to_bytes(),
        Profile::PodSixNet => {
            let mut out = BytesMut::from(&frame_bytes(ServerFrame::Connected)[..]);
            out.extend_from_slice(&encode(profile, &replies::podsixnet_hello(limits)));
            out.freeze()
        }
    }
}

/// A user list of `members` (R-LIST-1, R-LIST-2), optionally after `first` (WELCOME), as one
/// chunk so nothing can come between them.
pub fn user_list(profile: Profile, first: Option<&ServerMessage>, members: &[Member], limits: Limits) -> Bytes {
    let mut out = BytesMut::with_capacity(64 + members.len() * 12);
    if let Some(first) = first {
        out.extend_from_slice(&encode(profile, first));
    }
    match profile {
        Profile::Line => {
            encode_user_list(members.iter().map(|m| &m.nick), limits, &mut out);
        }
        Profile::PodSixNet => out.extend_from_slice(&players(members)),
    }
    out.freeze()
}

fn players(members: &[Member]) -> Bytes {
    frame_bytes(ServerFrame::Players(members.iter().map(|m| m.nick).collect::<Vec<Nick>>()))
}

/// A room event (JOIN, MSG, LEAVE), written once per form and shared by all recipients.
pub struct RoomEvent {
    line: Bytes,
    podsixnet: Bytes,
}

impl RoomEvent {
    /// Encodes `message` for line clients, and for PodSixNet clients when there are any. For
    /// PodSixNet, a JOIN or LEAVE is followed by the membership after it (R-PSN-7): `members`.
    pub fn new(message: &ServerMessage, members: &[Member], podsixnet_recipients: bool) -> RoomEvent {
        let podsixnet = if !podsixnet_recipients {
            Bytes::new()
        } else if matches!(message, ServerMessage::Join(_) | ServerMessage::Leave { .. }) {
            let mut out = BytesMut::from(&encode(Profile::PodSixNet, message)[..]);
            out.extend_from_slice(&players(members));
            out.freeze()
        } else {
            encode(Profile::PodSixNet, message)
        };
        RoomEvent { line: message.to_bytes(), podsixnet }
    }

    /// The bytes for a recipient speaking `profile`.
    pub fn bytes(&self, profile: Profile) -> &Bytes {
        match profile {
            Profile::Line => &self.line,
            Profile::PodSixNet => &self.podsixnet,
        }
    }
}
