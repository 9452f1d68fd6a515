//! The client's session as a sans-IO state machine: events in, actions out.
//!
//! [`Session::handle`] takes what happened — bytes from the server, a line the user typed, the
//! end of input, the connection closing — and returns what to do: messages to send, things to
//! show, and finally the exit status. It owns no socket, no terminal and no clock, so every
//! behaviour of the client is tested here without I/O, and the Tokio glue
//! ([`crate::connection`]) only moves bytes and lines.
//!
//! Driving contract: call [`Session::handle`] for every event, perform its actions in order, and
//! offer user input only while [`Session::wants_input`] is `Some` (with the prompt it names).
//! While [`Session::is_awaiting_bye`] is true, feed [`Event::ByeTimeout`] once the server has
//! been silent for the chosen time. After an [`Action::Exit`] the session ignores every event.
//!
//! The phases: wait for `HELLO` (which gives *L*, R-CLIENT-1) → choose a nick (ask the user, or
//! use `--nick`) → register (`USER`, wait for `WELCOME` or a refusal) → chat → quit (`QUIT`, wait
//! for `BYE`) → ended.
//!
//! # Over PodSixNet
//!
//! With [`Wire::PodSixNet`] the same session reads frames instead of lines:
//! [`crate::podsixnet::FrameReader`] turns each into the [`ServerMessage`] it stands for (SPEC.md
//! §16), and the phases are the same. A minichat server sends `connected` and then `hello`, and
//! nothing changes. Other PodSixNet servers (the course's, the library's example) send
//! `connected` and never announce themselves: no `HELLO`, no `WELCOME`, no `BYE`. When the bytes
//! that brought `connected` hold no `hello` (a minichat server writes both at once), the session
//! takes the server to be one of those: it assumes the default *L*, counts the nick as accepted
//! as soon as it is sent, and on quitting sends `quit` and ends at once, since leaving a PodSixNet
//! server means closing the connection; `/users` shows the last `players` list such a server sent,
//! as it knows no `users` action. A `hello` that still comes later is honoured (its *L* replaces
//! the assumed one, and `QUIT` waits for `BYE` again).

use minichat_protocol::{
    ClientMessage, ErrorCode, FrameError, Limits, LineFramer, Nick, PROTOCOL_VERSION, ServerMessage, Text, TextError,
    Token, parse_server_line,
};

use crate::command::Command;
use crate::display::{Display, LostReason, NotSent};
use crate::exit::ExitStatus;
use crate::neutralise::neutralise;
use crate::podsixnet::{FrameReader, Received};
use crate::wire::Wire;

/// The most nicks one user list keeps for display; the rest are only counted. A room may hold
/// more people than a screen can usefully list, and a hostile server could otherwise send an
/// endless list to exhaust memory.
pub const MAX_LISTED_NICKS: usize = 10_000;

/// How the user talks to the client, which decides what happens when a nick is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A person at a terminal: a refused nick is asked for again.
    Interactive,
    /// Lines from a pipe or a file: nobody can answer a question, so a refused nick ends the
    /// session with [`ExitStatus::NickRefused`].
    Pipe,
}

/// Something that happened, fed to [`Session::handle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Bytes arrived from the server, in any chunking.
    FromServer(&'a [u8]),
    /// The server closed the connection (end of stream).
    ServerClosed,
    /// Reading from or writing to the server failed; the operating system's description.
    ConnectionFailed(String),
    /// The user entered a line (terminator removed).
    Typed(&'a str),
    /// An input line could not be read (pipe mode: too long or not UTF-8).
    Unreadable(FrameError),
    /// The user ended the input: Ctrl-D or Ctrl-C at the terminal, end of file in pipe mode.
    EndOfInput,
    /// `QUIT` was sent and the server has been silent for the glue's chosen time since.
    ByeTimeout,
}

/// Something to do, returned by [`Session::handle`]. Perform them in order.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send this line to the server.
    Send(ClientMessage),
    /// Show this to the user.
    Show(Display),
    /// Close the connection and end the process with this status.
    Exit(ExitStatus),
}

/// What the user is asked for while the session wants input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// A nickname.
    Nick,
    /// A message or a command; `nick` is the user's own.
    Message { nick: Nick },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Connected; the server's `HELLO` has not arrived yet.
    AwaitingHello,
    /// Waiting for the user to type a nickname.
    ChoosingNick,
    /// `USER` sent for this nick; waiting for `WELCOME` or a refusal.
    Registering(Nick),
    /// In the room.
    Chatting,
    /// `QUIT` sent; waiting for `BYE`. Ends with this status.
    Quitting(ExitStatus),
    /// An exit status was returned; nothing more happens.
    Ended,
}

/// How the server's bytes are cut into messages.
#[derive(Debug)]
enum Reader {
    /// Lines. Until `HELLO` the framer accepts the largest line any server may send; after,
    /// exactly the announced *L* (R-CLIENT-1).
    Lines(LineFramer),
    /// PodSixNet frames (SPEC.md §16).
    Frames(FrameReader),
}

/// A user list being received (`USERS` lines until `ENDUSERS`, SPEC.md §8).
#[derive(Debug, Default)]
struct Listing {
    nicks: Vec<Nick>,
    more: usize,
}

/// One client session. See the module documentation for the driving contract.
#[derive(Debug)]
pub struct Session {
    mode: Mode,
    phase: Phase,
    wire: Wire,
    reader: Reader,
    /// *L*, from `HELLO` (or assumed, for a server that announces none).
    limits: Option<Limits>,
    /// PodSixNet: the server's `connected` has arrived.
    accepted: bool,
    /// PodSixNet: the server accepted us without announcing itself, so no `WELCOME` or `BYE`
    /// will come (see the module documentation).
    unannounced: bool,
    /// PodSixNet: the last `players` list, which `/users` shows when the server announced
    /// nothing (such servers know no `users` action).
    last_players: Option<Display>,
    /// The nick to register with once `HELLO` arrives (`--nick`).
    preset_nick: Option<Nick>,
    /// The nick the server registered us with (`WELCOME`).
    nick: Option<Nick>,
    listing: Option<Listing>,
}

impl Session {
    /// A line-protocol session that registers as `preset_nick` if given, or asks the user for a
    /// nick.
    pub fn new(mode: Mode, preset_nick: Option<Nick>) -> Session {
        Session::with_wire(mode, preset_nick, Wire::Lines)
    }

    /// A session over `wire`; see [`Session::new`].
    pub fn with_wire(mode: Mode, preset_nick: Option<Nick>, wire: Wire) -> Session {
        let reader = match wire {
            Wire::Lines => {
                let largest = Limits::new(minichat_protocol::MAX_MAX_LINE).expect("the largest line limit is valid");
                Reader::Lines(LineFramer::new(largest))
            }
            Wire::PodSixNet(_) => Reader::Frames(FrameReader::new()),
        };
        Session {
            mode,
            phase: Phase::AwaitingHello,
            wire,
            reader,
            limits: None,
            accepted: false,
            unannounced: false,
            last_players: None,
            preset_nick,
            nick: None,
            listing: None,
        }
    }

    /// The protocol this session speaks: how the glue encodes [`Action::Send`].
    pub fn wire(&self) -> Wire {
        self.wire
    }

    /// What the user is asked for now, if anything.
    pub fn wants_input(&self) -> Option<Prompt> {
        match (&self.phase, &self.nick) {
            (Phase::ChoosingNick, _) => Some(Prompt::Nick),
            (Phase::Chatting, Some(nick)) => Some(Prompt::Message { nick: *nick }),
            _ => None,
        }
    }

    /// Whether `QUIT` has been sent and `BYE` not yet received.
    pub fn is_awaiting_bye(&self) -> bool {
        matches!(self.phase, Phase::Quitting(_))
    }

    /// The line limit *L* the server announced, once it has (or the default assumed for a
    /// PodSixNet server that announces none).
    pub fn limits(&self) -> Option<Limits> {
        self.limits
    }

    /// The nick the server registered us with, once it has.
    pub fn nick(&self) -> Option<&Nick> {
        self.nick.as_ref()
    }

    /// Handles one event and returns what to do about it.
    pub fn handle(&mut self, event: Event<'_>) -> Vec<Action> {
        let mut out = Vec::new();
        if self.phase == Phase::Ended {
            return out;
        }
        match event {
            Event::FromServer(bytes) => self.on_bytes(bytes, &mut out),
            Event::ServerClosed => self.on_closed(None, &mut out),
            Event::ConnectionFailed(reason) => self.on_closed(Some(reason), &mut out),
            Event::Typed(line) => self.on_typed(line, &mut out),
            Event::Unreadable(error) => self.on_unreadable(error, &mut out),
            Event::EndOfInput => match self.phase {
                // Asked twice (Ctrl-C while waiting for BYE): leave at once.
                Phase::Quitting(status) => self.end(status, &mut out),
                _ => self.quit(None, ExitStatus::Left, &mut out),
            },
            Event::ByeTimeout => {
                if let Phase::Quitting(status) = self.phase {
                    out.push(Action::Show(Display::NoGoodbye));
                    let status = if status == ExitStatus::Left { ExitStatus::ConnectionLost } else { status };
                    self.end(status, &mut out);
                }
            }
        }
        out
    }

    // ---------- the server's side ----------

    fn on_bytes(&mut self, input: &[u8], out: &mut Vec<Action>) {
        match self.reader {
            Reader::Lines(_) => self.on_line_bytes(input, out),
            Reader::Frames(_) => self.on_frame_bytes(input, out),
        }
    }

    fn on_line_bytes(&mut self, mut input: &[u8], out: &mut Vec<Action>) {
        while self.phase != Phase::Ended {
            let Reader::Lines(framer) = &mut self.reader else { return };
            let message = match framer.next_line(&mut input) {
                None => break,
                Some(Ok("")) => continue,
                // Neutralise first (R-CLIENT-3): a line from a server that does not enforce
                // R-TRANS-8 is still shown, with its control characters made visible.
                Some(Ok(line)) => match parse_server_line(&neutralise(line)) {
                    Ok(message) => message,
                    Err(error) => {
                        // R-CLIENT-4: a newer server may send lines this client does not know.
                        tracing::debug!(%error, line = %neutralise(line), "ignoring a line this client does not understand");
                        continue;
                    }
                },
                Some(Err(error)) => {
                    tracing::debug!(%error, "ignoring a server line that breaks framing");
                    continue;
                }
            };
            self.on_message(message, out);
        }
    }

    fn on_frame_bytes(&mut self, mut input: &[u8], out: &mut Vec<Action>) {
        while self.phase != Phase::Ended {
            let Reader::Frames(reader) = &mut self.reader else { return };
            let Some(received) = reader.next(&mut input) else { break };
            match received {
                Received::Accepted => self.accepted = true,
                Received::Message(message) => self.on_message(message, out),
                Received::Players { nicks, names, unnamed } => self.on_players(nicks, names, unnamed, out),
                Received::LibraryError(text) => out.push(Action::Show(Display::LibraryError { text })),
                Received::NamedMessage { name, text } => out.push(Action::Show(Display::NamedMessage { name, text })),
            }
        }
        // A minichat server writes `hello` together with `connected` (R-PSN-6); a server whose
        // `connected` came alone is one that never announces itself.
        if self.accepted && self.phase == Phase::AwaitingHello {
            self.on_unannounced(out);
        }
    }

    /// A PodSixNet `players` frame: the whole user list at once.
    fn on_players(&mut self, mut nicks: Vec<Nick>, mut names: Vec<Text>, unnamed: usize, out: &mut Vec<Action>) {
        let more = unnamed + (nicks.len() + names.len()).saturating_sub(MAX_LISTED_NICKS);
        nicks.truncate(MAX_LISTED_NICKS);
        names.truncate(MAX_LISTED_NICKS - nicks.len());
        nicks.sort_by_cached_key(Nick::key);
        names.sort_by_cached_key(|name| name.as_str().to_lowercase());
        let present = Display::Present { nicks, names, more };
        self.last_players = Some(present.clone());
        out.push(Action::Show(present));
    }

    fn on_unannounced(&mut self, out: &mut Vec<Action>) {
        tracing::debug!("the PodSixNet server did not announce itself; assuming the default line limit");
        // PodSixNet has no limit of its own; the reference default keeps texts a sensible size.
        self.limits = Some(Limits::DEFAULT);
        self.unannounced = true;
        match self.preset_nick.take() {
            Some(nick) => self.register(nick, out),
            None => self.phase = Phase::ChoosingNick,
        }
    }

    fn on_message(&mut self, message: ServerMessage, out: &mut Vec<Action>) {
        match message {
            ServerMessage::Hello { version, limits, .. } => self.on_hello(version, limits, out),
            ServerMessage::Welcome(nick) => {
                if matches!(self.phase, Phase::Registering(_)) {
                    self.nick = Some(nick);
                    self.phase = Phase::Chatting;
                    out.push(Action::Show(Display::Welcome { nick }));
                } else {
                    tracing::debug!(%nick, "ignoring WELCOME outside registration");
                }
            }
            ServerMessage::Users(nicks) => {
                let listing = self.listing.get_or_insert_with(Listing::default);
                for nick in nicks.into_vec() {
                    if listing.nicks.len() < MAX_LISTED_NICKS {
                        listing.nicks.push(nick);
                    } else {
                        listing.more += 1;
                    }
                }
            }
            ServerMessage::EndUsers(count) => {
                let Listing { mut nicks, more } = self.listing.take().unwrap_or_default();
                if nicks.len() + more != count {
                    tracing::warn!(received = nicks.len() + more, announced = count, "the user list is incomplete");
                }
                nicks.sort_by_cached_key(Nick::key);
                out.push(Action::Show(Display::Present { nicks, names: Vec::new(), more }));
            }
            ServerMessage::Join(nick) => out.push(Action::Show(Display::Join { nick })),
            ServerMessage::Msg { from, text } => {
                let own = self.nick.as_ref().is_some_and(|nick| nick.collides_with(&from));
                out.push(Action::Show(Display::Message { from, text, own }));
            }
            ServerMessage::Leave { nick, cause, reason } => {
                out.push(Action::Show(Display::Leave { nick, cause, reason }));
            }
            // R-CLIENT-2: answer every PING.
            ServerMessage::Ping(token) => out.push(Action::Send(ClientMessage::Pong(token))),
            ServerMessage::Pong(_) => {}
            ServerMessage::Error { code, text } => self.on_error(code, text, out),
            ServerMessage::Bye(text) => {
                out.push(Action::Show(Display::Goodbye { text }));
                let status = match self.phase {
                    Phase::Quitting(status) => status,
                    _ => ExitStatus::ClosedByServer,
                };
                self.end(status, out);
            }
        }
    }

    fn on_hello(&mut self, version: Token, limits: Limits, out: &mut Vec<Action>) {
        let known_version = version.as_str() == PROTOCOL_VERSION;
        if self.limits.is_some() && !self.unannounced {
            tracing::debug!(%version, "ignoring a repeated HELLO");
        } else {
            self.limits = Some(limits);
            // The server does announce itself after all: it answers QUIT with BYE.
            self.unannounced = false;
            if let Reader::Lines(framer) = &mut self.reader {
                // R-CLIENT-1: from now on accept lines of exactly the announced size. The old
                // framer holds nothing: HELLO was a complete line and the bytes after it are
                // still in the caller's input.
                *framer = LineFramer::new(limits);
            }
        }
        if !known_version {
            // R-CLIENT-4.
            out.push(Action::Show(Display::UnknownVersion { version }));
        }
        if self.phase == Phase::AwaitingHello {
            match self.preset_nick.take() {
                Some(nick) => self.register(nick, out),
                None => self.phase = Phase::ChoosingNick,
            }
        }
    }

    fn on_error(&mut self, code: ErrorCode, text: Text, out: &mut Vec<Action>) {
        let refuses_nick = matches!(code, ErrorCode::NickInUse | ErrorCode::InvalidNick | ErrorCode::BadArguments);
        match &self.phase {
            Phase::Registering(nick) if refuses_nick => {
                // R-REG-4: the refusal changed nothing; the user may try again.
                out.push(Action::Show(Display::NickRefused { nick: *nick, code, text }));
                self.after_nick_refused(out);
            }
            _ => out.push(Action::Show(Display::ServerError { code, text })),
        }
    }

    fn on_closed(&mut self, failure: Option<String>, out: &mut Vec<Action>) {
        match (self.phase.clone(), failure) {
            // We asked to leave and the server closed: done, even without BYE.
            (Phase::Quitting(status), None) => self.end(status, out),
            (Phase::Quitting(status), Some(reason)) if status != ExitStatus::Left => {
                tracing::debug!(%reason, "the connection failed while quitting");
                self.end(status, out);
            }
            (_, failure) => {
                let reason = failure.map_or(LostReason::Closed, LostReason::Failed);
                out.push(Action::Show(Display::ConnectionLost { reason }));
                self.end(ExitStatus::ConnectionLost, out);
            }
        }
    }

    // ---------- the user's side ----------

    fn on_typed(&mut self, line: &str, out: &mut Vec<Action>) {
        match self.phase {
            Phase::ChoosingNick => self.on_typed_nick(line, out),
            Phase::Chatting => self.on_typed_chat(line, out),
            Phase::AwaitingHello | Phase::Registering(_) => match Command::is_quit(line) {
                Some(reason) => self.quit_with_reason(reason, out),
                None => tracing::debug!("ignoring a line typed before the server is ready"),
            },
            Phase::Quitting(_) | Phase::Ended => {}
        }
    }

    fn on_typed_nick(&mut self, line: &str, out: &mut Vec<Action>) {
        if let Some(reason) = Command::is_quit(line) {
            self.quit_with_reason(reason, out);
            return;
        }
        let typed = line.trim();
        match Nick::new(typed) {
            Ok(nick) => self.register(nick, out),
            Err(error) => {
                // Checked here so the user learns the rule at once; the server still decides.
                out.push(Action::Show(Display::NickInvalid { typed: typed.to_owned(), error }));
                self.after_nick_refused(out);
            }
        }
    }

    fn on_typed_chat(&mut self, line: &str, out: &mut Vec<Action>) {
        match Command::parse(line) {
            Command::Say(text) => match self.checked_text(text) {
                Ok(Some(text)) => out.push(Action::Send(ClientMessage::Msg(text))),
                Ok(None) => {}
                Err(reason) => out.push(Action::Show(Display::NotSent(reason))),
            },
            Command::Users => match &self.last_players {
                Some(present) if self.unannounced => out.push(Action::Show(present.clone())),
                _ => out.push(Action::Send(ClientMessage::Users)),
            },
            Command::Help => out.push(Action::Show(Display::Help)),
            Command::Quit(reason) => self.quit_with_reason(reason, out),
            Command::Nothing => {}
            Command::Unknown(command) => {
                out.push(Action::Show(Display::UnknownCommand { command: command.to_owned() }));
            }
            Command::TakesNoArguments(command) => out.push(Action::Show(Display::TakesNoArguments { command })),
        }
    }

    fn on_unreadable(&mut self, error: FrameError, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Chatting => out.push(Action::Show(Display::NotSent(NotSent::Unreadable(error)))),
            Phase::ChoosingNick => {
                out.push(Action::Show(Display::NotSent(NotSent::Unreadable(error))));
                self.after_nick_refused(out);
            }
            _ => tracing::debug!(%error, "ignoring an unreadable input line"),
        }
    }

    /// A text the server will accept, `None` if there is nothing to send, or why not.
    fn checked_text(&self, text: &str) -> Result<Option<Text>, NotSent> {
        // R-CLIENT-1 / R-MSG-3: before HELLO, assume the smallest limit a server may announce.
        let max = self.limits.unwrap_or(Limits::MIN).max_text();
        if text.len() > max {
            return Err(NotSent::TooLong { len: text.len(), max });
        }
        match Text::new(text) {
            Ok(text) => Ok(Some(text)),
            Err(TextError::Empty) => Ok(None),
            Err(TextError::ControlCharacter { ch, .. }) => Err(NotSent::ControlCharacter { ch }),
            Err(TextError::TooLong { len, max }) => Err(NotSent::TooLong { len, max }),
        }
    }

    // ---------- transitions ----------

    fn register(&mut self, nick: Nick, out: &mut Vec<Action>) {
        out.push(Action::Send(ClientMessage::User(nick)));
        if self.unannounced {
            // A PodSixNet server that is not minichat sends no WELCOME and refuses no name.
            self.nick = Some(nick);
            self.phase = Phase::Chatting;
            out.push(Action::Show(Display::Welcome { nick }));
        } else {
            self.phase = Phase::Registering(nick);
        }
    }

    fn after_nick_refused(&mut self, out: &mut Vec<Action>) {
        match self.mode {
            Mode::Interactive => self.phase = Phase::ChoosingNick,
            Mode::Pipe => self.quit(None, ExitStatus::NickRefused, out),
        }
    }

    fn quit_with_reason(&mut self, reason: Option<&str>, out: &mut Vec<Action>) {
        let reason = match reason.map(|r| self.checked_text(r)).transpose() {
            Ok(reason) => reason.flatten(),
            Err(not_sent) => {
                out.push(Action::Show(Display::NotSent(not_sent)));
                return;
            }
        };
        self.quit(reason, ExitStatus::Left, out);
    }

    fn quit(&mut self, reason: Option<Text>, status: ExitStatus, out: &mut Vec<Action>) {
        out.push(Action::Send(ClientMessage::Quit(reason)));
        if self.unannounced {
            // No BYE will come: PodSixNet programs leave by closing the connection, which the
            // glue does when the session exits.
            self.end(status, out);
        } else {
            self.phase = Phase::Quitting(status);
        }
    }

    fn end(&mut self, status: ExitStatus, out: &mut Vec<Action>) {
        self.phase = Phase::Ended;
        out.push(Action::Exit(status));
    }
}
