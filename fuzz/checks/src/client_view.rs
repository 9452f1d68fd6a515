//! What one client makes of the bytes the server queues for it, in either form: lines (SPEC.md §2)
//! or PodSixNet frames (§16). `server_core` feeds it every byte the core queues and compares its
//! view of the room with the truth after every step.
//!
//! Each unit is parsed with the protocol crate and must obey the rules of SPEC.md that a client can
//! see: `HELLO` first (after `connected` for PodSixNet), or a refusal; `WELCOME` then the user list
//! at once; the room tracked from the list, `JOIN` and `LEAVE` (a PodSixNet `players` frame right
//! after each, equal to the room then); a `USERS` reply equal to the room; nothing but `HELLO`,
//! `ERROR`, `PONG` and `BYE` before registration; `BYE` after a fatal `ERROR`; nothing after `BYE`.

use std::collections::BTreeSet;

use minichat_protocol::podsixnet::{self, ServerFrame, TERMINATOR};
use minichat_protocol::{ErrorCode, LeaveCause, Limits, PROTOCOL_VERSION, ServerMessage, parse_server_line};

/// One unit a client received, whatever its form.
enum Received {
    /// PodSixNet's `{"action": "connected"}`.
    Connected,
    /// A whole user list in one PodSixNet `players` frame.
    Players(Vec<String>),
    Message(ServerMessage),
}

/// A client's reading of its connection.
pub struct View {
    limits: Limits,
    podsixnet: bool,
    /// An incomplete unit (the core queues whole units, so this is empty between steps).
    partial: Vec<u8>,
    /// Units read, `connected` not counted.
    units: usize,
    connected: bool,
    /// The nick from `WELCOME`.
    pub nick: Option<String>,
    /// The room, once the first user list is complete.
    pub members: Option<BTreeSet<String>>,
    /// Lines: a user list being received, and whether it is the one that follows `WELCOME`.
    list: Option<(Vec<String>, bool)>,
    /// PodSixNet: a `players` frame must come next; true when it is the one after `welcome`.
    players_due: Option<bool>,
    expect_bye: bool,
    /// `BYE` was read.
    pub bye: bool,
    /// The queue was discarded for a slow consumer: only `ERROR SLOW_CONSUMER` and `BYE` follow.
    discarded: bool,
}

impl View {
    pub fn new(limits: Limits, podsixnet: bool) -> View {
        View {
            limits,
            podsixnet,
            partial: Vec::new(),
            units: 0,
            connected: false,
            nick: None,
            members: None,
            list: None,
            players_due: None,
            expect_bye: false,
            bye: false,
            discarded: false,
        }
    }

    /// Whether a user list is half received (never true between two steps, R-LIST-1, R-PSN-7).
    pub fn in_list(&self) -> bool {
        self.list.is_some() || self.players_due.is_some()
    }

    /// The server discarded the queue (a slow consumer): what was queued never arrives.
    pub fn discarded(&mut self) {
        self.discarded = true;
        self.list = None;
        self.players_due = None;
    }

    /// Reads bytes that the server queued after those already read.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.partial.extend_from_slice(bytes);
        let end: &[u8] = if self.podsixnet { &TERMINATOR } else { b"\n" };
        let mut start = 0;
        while let Some(at) = self.partial[start..].windows(end.len()).position(|w| w == end) {
            let unit = self.partial[start..start + at].to_vec();
            start += at + end.len();
            self.unit(&unit)?;
        }
        self.partial.drain(..start);
        if !self.partial.is_empty() {
            return Err(format!("queued output ends inside a unit: {:?}", String::from_utf8_lossy(&self.partial)));
        }
        Ok(())
    }

    fn unit(&mut self, content: &[u8]) -> Result<(), String> {
        let shown = String::from_utf8_lossy(content);
        if self.bye {
            return Err(format!("{shown:?} after BYE"));
        }
        let received = if self.podsixnet {
            let value =
                podsixnet::decode(content).map_err(|e| format!("a frame that does not decode: {e} (R-PSN-1)"))?;
            let frame =
                ServerFrame::from_value(&value).map_err(|e| format!("{value:?} is no server frame: {e} (R-PSN-6)"))?;
            from_frame(frame)
        } else {
            if content.len() > self.limits.max_line() {
                return Err(format!("a line of {} bytes, over L (R-TRANS-4): {shown:?}", content.len()));
            }
            let line = std::str::from_utf8(content).map_err(|_| format!("a line that is not UTF-8: {shown:?}"))?;
            let message =
                parse_server_line(line).map_err(|e| format!("an invalid server line {line:?}: {e} (R-SYN-2)"))?;
            Received::Message(message)
        };
        self.received(received, &shown)
    }

    fn received(&mut self, received: Received, shown: &str) -> Result<(), String> {
        if let Received::Connected = received {
            if self.connected || self.units > 0 || !self.podsixnet {
                return Err(format!("{shown:?} other than first (R-PSN-6)"));
            }
            self.connected = true;
            return Ok(());
        }
        let first = self.units == 0;
        self.units += 1;
        if self.expect_bye && !matches!(received, Received::Message(ServerMessage::Bye(_))) {
            return Err(format!("{shown:?} after a fatal ERROR instead of BYE (R-ERR-2)"));
        }
        if let Some(at_registration) = self.players_due.take() {
            let Received::Players(nicks) = received else {
                return Err(format!("{shown:?} where the players frame must come (R-REG-2, R-PSN-7)"));
            };
            return self.end_of_list(nicks.clone(), nicks.len(), at_registration);
        }
        if let Some((nicks, at_registration)) = &mut self.list {
            return match received {
                Received::Message(ServerMessage::Users(more)) => {
                    nicks.extend(more.iter().map(|n| n.as_str().to_owned()));
                    Ok(())
                }
                Received::Message(ServerMessage::EndUsers(count)) => {
                    let (nicks, at_registration) = (std::mem::take(nicks), *at_registration);
                    self.list = None;
                    self.end_of_list(nicks, count, at_registration)
                }
                _ => Err(format!("{shown:?} inside a user list (R-LIST-1)")),
            };
        }
        let slow_notice = matches!(
            received,
            Received::Message(ServerMessage::Bye(_) | ServerMessage::Error { code: ErrorCode::SlowConsumer, .. })
        );
        if self.discarded && !slow_notice {
            return Err(format!("{shown:?} after the queue was discarded for a slow consumer"));
        }
        let registered = self.nick.is_some();
        let message = match received {
            Received::Connected => unreachable!("handled above"),
            Received::Players(nicks) if registered => return self.end_of_list(nicks.clone(), nicks.len(), false),
            Received::Players(_) => return Err(format!("{shown:?} to a client that is not registered (R-STATE-2)")),
            Received::Message(message) => message,
        };
        match message {
            ServerMessage::Hello { version, limits, .. } => {
                if !first
                    || version.as_str() != PROTOCOL_VERSION
                    || limits != self.limits
                    || self.podsixnet != self.connected
                {
                    return Err(format!("{shown:?}: HELLO must come first, for this version and L (R-REG-1)"));
                }
            }
            ServerMessage::Error { code, .. } => {
                // Refusals come instead of HELLO, first; SHUTTING_DOWN may also come later.
                let refusal = matches!(code, ErrorCode::ServerFull | ErrorCode::TooManyConnections);
                if first && !(refusal || code == ErrorCode::ShuttingDown) || !first && refusal {
                    return Err(format!("{shown:?} as unit {} (R-REG-1, R-LIMIT-1, R-LIMIT-2)", self.units));
                }
                if code == ErrorCode::NotRegistered && registered || code == ErrorCode::AlreadyRegistered && !registered
                {
                    let state = if registered { "registered" } else { "not registered" };
                    return Err(format!("{shown:?} to a client that is {state} (R-ERR-1)"));
                }
                self.expect_bye = code.is_fatal();
            }
            _ if first => return Err(format!("{shown:?} as the first unit (R-REG-1)")),
            ServerMessage::Welcome(nick) => {
                if registered {
                    return Err(format!("{shown:?} to a client registered as {:?}", self.nick));
                }
                self.nick = Some(nick.as_str().to_owned());
                // R-REG-2: the user list follows at once.
                if self.podsixnet {
                    self.players_due = Some(true);
                } else {
                    self.list = Some((Vec::new(), true));
                }
            }
            ServerMessage::Pong(_) => {}
            ServerMessage::Bye(_) => {
                self.bye = true;
                self.expect_bye = false;
            }
            _ if !registered => return Err(format!("{shown:?} to a client that is not registered (R-STATE-2)")),
            ServerMessage::Users(nicks) => {
                self.list = Some((nicks.iter().map(|n| n.as_str().to_owned()).collect(), false));
            }
            ServerMessage::EndUsers(_) => return Err(format!("{shown:?} without USERS before it")),
            ServerMessage::Join(nick) => {
                let members = self.members.as_mut().ok_or("JOIN before the user list")?;
                if Some(nick.as_str()) == self.nick.as_deref()
                    || members.iter().any(|m| m.eq_ignore_ascii_case(nick.as_str()))
                {
                    return Err(format!("{shown:?} for someone already in the room (R-ORDER-4, R-REG-3)"));
                }
                members.insert(nick.as_str().to_owned());
                self.players_due = self.podsixnet.then_some(false);
            }
            ServerMessage::Leave { nick, cause, reason } => {
                if Some(nick.as_str()) == self.nick.as_deref() {
                    return Err(format!("{shown:?}: a LEAVE for the client itself (R-LEAVE-3)"));
                }
                if cause != LeaveCause::Quit && reason.is_some() {
                    return Err(format!("{shown:?}: a server-made LEAVE with a reason (R-LEAVE-2)"));
                }
                let members = self.members.as_mut().ok_or("LEAVE before the user list")?;
                if !members.remove(nick.as_str()) {
                    return Err(format!("{shown:?} for someone not in the room (R-ORDER-4)"));
                }
                self.players_due = self.podsixnet.then_some(false);
            }
            ServerMessage::Msg { from, .. } => {
                let members = self.members.as_ref().ok_or("MSG before the user list")?;
                if !members.contains(from.as_str()) {
                    return Err(format!("{shown:?} from someone not in the room (R-ORDER-1)"));
                }
            }
            ServerMessage::Ping(_) if self.podsixnet => return Err(format!("{shown:?} to PodSixNet (R-PSN-8)")),
            ServerMessage::Ping(_) => {}
        }
        Ok(())
    }

    /// A complete user list: R-LIST-2, and R-ORDER-4 (R-PSN-7) unless it is the one at registration.
    fn end_of_list(&mut self, nicks: Vec<String>, count: usize, at_registration: bool) -> Result<(), String> {
        if count != nicks.len() {
            return Err(format!("ENDUSERS {count} after {} nicks (R-LIST-2)", nicks.len()));
        }
        let own = self.nick.as_deref().unwrap_or_default();
        if !nicks.iter().any(|n| n == own) {
            return Err(format!("a user list without the client itself, {own} (R-REG-2)"));
        }
        let set: BTreeSet<String> = nicks.iter().cloned().collect();
        let folded: BTreeSet<String> = nicks.iter().map(|n| n.to_ascii_lowercase()).collect();
        if folded.len() != nicks.len() {
            return Err(format!("a user list with a nick twice: {nicks:?} (R-LIST-2, R-NICK-2)"));
        }
        if !at_registration && self.members.as_ref() != Some(&set) {
            return Err(format!("a user list of {set:?}, but JOIN/LEAVE made the room {:?} (R-ORDER-4)", self.members));
        }
        self.members = Some(set);
        Ok(())
    }
}

/// A PodSixNet frame as the line-protocol message it stands for (R-PSN-6's table, read backwards).
fn from_frame(frame: ServerFrame) -> Received {
    Received::Message(match frame {
        ServerFrame::Connected => return Received::Connected,
        ServerFrame::Players(nicks) => return Received::Players(nicks.iter().map(|n| n.as_str().to_owned()).collect()),
        ServerFrame::Hello { version, limits, text } => ServerMessage::Hello { version, limits, text },
        ServerFrame::Welcome(nick) => ServerMessage::Welcome(nick),
        ServerFrame::Join(nick) => ServerMessage::Join(nick),
        ServerFrame::Message { from, text } => ServerMessage::Msg { from, text },
        ServerFrame::Leave { nick, cause, reason } => ServerMessage::Leave { nick, cause, reason },
        ServerFrame::Pong(token) => ServerMessage::Pong(token),
        ServerFrame::Error { code, text } => ServerMessage::Error { code, text },
        ServerFrame::Bye(text) => ServerMessage::Bye(text),
    })
}
