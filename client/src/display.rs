//! What the session asks the user interface to show: a typed value per kind of thing, so that
//! the session decides *what* happened and [`crate::render`] alone decides the wording, the
//! styling and the timestamps.
//!
//! Every text in a [`Display`] that came from the server went through
//! [`crate::neutralise::neutralise`] before it was parsed, and every text the user typed is
//! neutralised again when rendered: nothing here can drive the terminal (R-CLIENT-3).

use minichat_protocol::podsixnet::UnframeablePayload;
use minichat_protocol::{ErrorCode, FrameError, LeaveCause, Nick, NickError, Text, Token};

/// One thing to show the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Display {
    // ---------- what the server said ----------
    /// `HELLO` announced a protocol version other than `minichat/1` (R-CLIENT-4).
    UnknownVersion { version: Token },
    /// `WELCOME`: the user is in the room under this nick.
    Welcome { nick: Nick },
    /// A complete user list (`USERS` … `ENDUSERS`), sorted by folded nick. `names` are the
    /// entries of a PodSixNet server's list that are not nicks (any string is a name there),
    /// terminal-safe and shown after the nicks. `more` counts the entries beyond
    /// [`crate::session::MAX_LISTED_NICKS`] that were received but not kept, and list entries
    /// that are no name at all.
    Present { nicks: Vec<Nick>, names: Vec<Text>, more: usize },
    /// A message; `own` when the user sent it.
    Message { from: Nick, text: Text, own: bool },
    /// A message from a name that is not a nick: a PodSixNet server that takes any string as
    /// a name relayed it (never `own`: the user's own name is always a nick).
    NamedMessage { name: Text, text: Text },
    /// Someone joined.
    Join { nick: Nick },
    /// Someone left, and why.
    Leave { nick: Nick, cause: LeaveCause, reason: Option<Text> },
    /// The server refused the nick the user asked for.
    NickRefused { nick: Nick, code: ErrorCode, text: Text },
    /// Any other `ERROR` from the server.
    ServerError { code: ErrorCode, text: Text },
    /// A PodSixNet server sent the library's own `error` action: a description, no code.
    LibraryError { text: Text },
    /// `BYE`: the server is closing the connection.
    Goodbye { text: Option<Text> },
    /// The connection ended without `BYE`.
    ConnectionLost { reason: LostReason },
    /// `QUIT` was sent but no `BYE` came while the server stayed silent.
    NoGoodbye,

    // ---------- the client's own answers to what the user typed ----------
    /// The typed nickname is not a valid nick; nothing was sent.
    NickInvalid { typed: String, error: NickError },
    /// A typed line was not sent, and why.
    NotSent(NotSent),
    /// `/word` is not a command; nothing was sent.
    UnknownCommand { command: String },
    /// A command that takes no arguments was given some; nothing was sent.
    TakesNoArguments { command: &'static str },
    /// The list of commands (`/help`).
    Help,
}

/// Why a typed line was not sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotSent {
    /// The text is longer than the server's limit *L* − 64 (R-CLIENT-1, R-MSG-3).
    TooLong { len: usize, max: usize },
    /// The text holds a control character, which no server accepts (R-TRANS-8).
    ControlCharacter { ch: char },
    /// The input line itself could not be read (too long, or not UTF-8).
    Unreadable(FrameError),
    /// PodSixNet would cut the frame in the wrong place (R-PSN-3). Validated messages never do;
    /// this is the guard's report if one ever did.
    Unframeable(UnframeablePayload),
}

/// How a connection ended without `BYE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LostReason {
    /// The server closed the connection.
    Closed,
    /// Reading or writing failed; the operating system's description.
    Failed(String),
}

impl Display {
    /// Whether this reports something the server sent or did (and so gets a timestamp), as
    /// opposed to the client's own answer to what the user typed.
    pub fn is_from_server(&self) -> bool {
        !matches!(
            self,
            Display::NickInvalid { .. }
                | Display::NotSent(_)
                | Display::UnknownCommand { .. }
                | Display::TakesNoArguments { .. }
                | Display::Help
        )
    }
}
