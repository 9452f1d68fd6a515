//! One load client as a sans-IO state machine: bytes from the server in, bytes to send out, and
//! the milestones the run waits for (registered, a barrier passed).
//!
//! It registers (SPEC.md §6: `HELLO`, `USER`, `WELCOME` and the user list), then counts every
//! `MSG` of the run it receives ([`Receipts`]) and, if it is a sender, sends its messages when its
//! [`SendPace`] allows — a slot of the window frees when its own copy comes back (R-MSG-1). It
//! answers the server's `PING`s (R-TIME-4), counts `ERROR FLOOD` without stopping (flood control
//! delays lines, R-LIMIT-5), and remembers the last lines addressed to it, so that a disconnect can
//! be explained (`ERROR SLOW_CONSUMER …`, `BYE`).
//!
//! Barriers (R-ORDER-6) end the run without guessing: a sender sends `PING load-sent` after its
//! last message, and its `PONG` proves every one of its messages is queued to every client; once
//! all senders are there, every client sends `PING load-final`, and its `PONG` proves it has
//! received everything the server queued for it. The clock is a parameter (`now_ns`); the Tokio
//! glue is [`super::connection`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use minichat_protocol::{
    ClientMessage, ErrorCode, FrameError, LineFramer, MAX_MAX_LINE, Nick, ServerMessage, Text, Token, parse_server_line,
};

use super::pace::SendPace;
use super::receipts::{Receipt, Receipts};
use super::stamp::Stamp;

/// How many bytes a client lets wait for the socket before it stops adding messages (a server
/// that stops reading, e.g. for flood control, must not make the generator's memory grow).
const MAX_PENDING_OUTPUT: usize = 256 * 1024;

/// How many of the last lines addressed to a client are kept, and how much of each.
const RECENT_LINES: usize = 2;
const RECENT_LINE_BYTES: usize = 200;

/// A `PING` the run waits for the `PONG` of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Barrier {
    /// A sender has sent its last message; the `PONG` proves they are all in the global order.
    Sent,
    /// After every sender's: the `PONG` proves this client has received all it will.
    Final,
}

impl Barrier {
    fn token(self) -> &'static str {
        match self {
            Barrier::Sent => "load-sent",
            Barrier::Final => "load-final",
        }
    }
}

/// Something the run waits for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Milestone {
    /// `WELCOME` and the whole user list arrived.
    Registered,
    /// The client cannot take part.
    SetupFailed(SetupFailure),
    /// The `PONG` of a barrier arrived.
    BarrierPassed(Barrier),
}

/// Why a client could not connect or register, with what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetupFailure {
    #[error("cannot connect to {server}: {error}{hint}")]
    Connect { server: String, error: String, hint: &'static str },
    #[error("the server's first line is not HELLO minichat/1 … (SPEC.md R-REG-1): {0:?}")]
    NoHello(String),
    #[error("the server refused the connection: {line}{hint}")]
    Refused { line: String, hint: &'static str },
    #[error("the server refused to register {nick}: {line}")]
    RegistrationRefused { nick: String, line: String },
    #[error(
        "--payload {payload} is longer than this server accepts: its line limit L = {max_line} allows texts of \
         {max_text} bytes (L − 64, SPEC.md R-MSG-3); lower --payload"
    )]
    PayloadTooLong { payload: usize, max_line: usize, max_text: usize },
    #[error("the connection ended during registration ({reason}); last lines: {last}")]
    Closed { reason: String, last: String },
}

/// What a client noticed besides deliveries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientNotes {
    /// `ERROR FLOOD` lines received (R-LIMIT-6).
    pub flood_errors: u64,
    /// Every other `ERROR` received after registering, by code.
    pub errors: BTreeMap<&'static str, u64>,
    /// The code of a fatal `ERROR` (§15), which the server closes the connection after.
    pub fatal_error: Option<&'static str>,
    /// `PING`s from the server answered with `PONG`.
    pub pings_answered: u64,
    /// `MSG` lines that are not from this run (other people in the room, or a changed text).
    pub foreign_messages: u64,
    /// Lines that are not SPEC.md §3 server lines.
    pub unparseable_lines: u64,
    /// The first of them.
    pub unparseable_sample: Option<String>,
    /// The last lines addressed to this client (not room events), oldest first.
    pub recent: VecDeque<String>,
}

/// Where the client is in its session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    AwaitHello,
    AwaitWelcome,
    AwaitList,
    Registered,
    Failed,
}

/// What a client needs to know about the run.
#[derive(Clone, Debug)]
pub struct ClientSetup {
    /// This client's index, 0..N; senders are 0..K.
    pub id: u32,
    /// Every client's nick is this prefix and its index.
    pub nick_prefix: Arc<str>,
    /// K and M.
    pub senders: u32,
    pub messages: u32,
    pub payload: usize,
    pub window: u32,
    pub rate: f64,
    pub order_sample_stride: u64,
}

/// One client of the run.
#[derive(Debug)]
pub struct LoadClient {
    id: u32,
    nick: Nick,
    nick_prefix: Arc<str>,
    payload: usize,
    framer: LineFramer,
    stage: Stage,
    max_line: Option<usize>,
    receipts: Receipts,
    pace: Option<SendPace>,
    sending: bool,
    awaiting: Vec<Barrier>,
    out: Vec<u8>,
    notes: ClientNotes,
    first_send_ns: Option<u64>,
    last_send_ns: Option<u64>,
}

/// What a client did, once the run is over.
#[derive(Clone, Debug)]
pub struct ClientOutcome {
    pub id: u32,
    pub registered: bool,
    /// *L* from the server's `HELLO`.
    pub max_line: Option<usize>,
    pub receipts: Receipts,
    pub notes: ClientNotes,
    pub sent: u32,
    pub late_sends: u32,
    pub first_send_ns: Option<u64>,
    pub last_send_ns: Option<u64>,
    /// How the connection ended before the run was over, if it did.
    pub disconnect: Option<String>,
}

impl LoadClient {
    pub fn new(setup: &ClientSetup) -> LoadClient {
        let nick =
            Nick::new(&format!("{}{}", setup.nick_prefix, setup.id)).expect("the run's prefix makes valid nicks");
        let pace = (setup.id < setup.senders)
            .then(|| SendPace::new(setup.messages, setup.window, setup.rate, setup.id, setup.senders));
        LoadClient {
            id: setup.id,
            nick,
            nick_prefix: setup.nick_prefix.clone(),
            payload: setup.payload,
            // A client accepts any line up to the largest L a server may announce (R-CLIENT-1).
            framer: LineFramer::new(minichat_protocol::Limits::new(MAX_MAX_LINE).expect("the largest L is valid")),
            stage: Stage::AwaitHello,
            max_line: None,
            receipts: Receipts::new(setup.senders, setup.messages, setup.order_sample_stride),
            pace,
            sending: false,
            awaiting: Vec::new(),
            out: Vec::new(),
            notes: ClientNotes::default(),
            first_send_ns: None,
            last_send_ns: None,
        }
    }

    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn nick(&self) -> &Nick {
        &self.nick
    }

    /// Whether registration is complete.
    pub fn is_registered(&self) -> bool {
        self.stage == Stage::Registered
    }

    /// Bytes to send to the server; the caller removes what it has written.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Whether bytes are waiting to be sent.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// Latencies of the deliveries since the last call, in nanoseconds.
    pub fn take_latencies(&mut self) -> std::vec::Drain<'_, u64> {
        self.receipts.take_latencies()
    }

    /// The last lines addressed to this client, for explaining a disconnect.
    pub fn recent_lines(&self) -> String {
        if self.notes.recent.is_empty() {
            return "none".to_owned();
        }
        let quoted: Vec<String> = self.notes.recent.iter().map(|l| format!("{l:?}")).collect();
        quoted.join(", ")
    }

    /// Takes in bytes received at `now_ns`; reached milestones are appended to `milestones`.
    pub fn on_input(&mut self, mut bytes: &[u8], now_ns: u64, milestones: &mut Vec<Milestone>) {
        // The framer lends out lines that borrow it, while handling a line needs `self`.
        let mut framer = std::mem::take(&mut self.framer);
        while let Some(line) = framer.next_line(&mut bytes) {
            match line {
                Ok(line) => self.on_line(line, now_ns, milestones),
                Err(e @ (FrameError::LineTooLong { .. } | FrameError::InvalidUtf8 { .. })) => {
                    self.note_unparseable(&format!("<{e}>"));
                }
            }
            if self.stage == Stage::Failed {
                break;
            }
        }
        self.framer = framer;
        self.send_due(now_ns);
    }

    fn on_line(&mut self, line: &str, now_ns: u64, milestones: &mut Vec<Milestone>) {
        let msg = match parse_server_line(line) {
            Ok(msg) => msg,
            Err(_) => {
                self.note_unparseable(line);
                if self.stage == Stage::AwaitHello {
                    self.fail(SetupFailure::NoHello(bounded(line)), milestones);
                }
                return;
            }
        };
        if matches!(
            msg,
            ServerMessage::Hello { .. }
                | ServerMessage::Welcome(_)
                | ServerMessage::Error { .. }
                | ServerMessage::Bye(_)
        ) {
            self.remember(line);
        }
        match (self.stage, msg) {
            (_, ServerMessage::Ping(token)) => {
                ClientMessage::Pong(token).encode(&mut self.out);
                self.notes.pings_answered += 1;
            }
            (Stage::AwaitHello, ServerMessage::Hello { limits, .. }) => {
                self.max_line = Some(limits.max_line());
                let text_len = self.payload.max(super::stamp::MAX_STAMP_LEN);
                if text_len > limits.max_text() {
                    let failure = SetupFailure::PayloadTooLong {
                        payload: self.payload,
                        max_line: limits.max_line(),
                        max_text: limits.max_text(),
                    };
                    self.fail(failure, milestones);
                    return;
                }
                ClientMessage::User(self.nick).encode(&mut self.out);
                self.stage = Stage::AwaitWelcome;
            }
            (Stage::AwaitHello, ServerMessage::Error { code, .. }) => {
                let hint = match code {
                    ErrorCode::ServerFull => {
                        " — the server's connection limit M is below --clients (reference server: --max-clients)"
                    }
                    ErrorCode::TooManyConnections => {
                        " — every client comes from one address, and the server limits connections per address \
                         (reference server: --max-per-address 0)"
                    }
                    _ => "",
                };
                self.fail(SetupFailure::Refused { line: bounded(line), hint }, milestones);
            }
            (Stage::AwaitHello, _) => self.fail(SetupFailure::NoHello(bounded(line)), milestones),
            (_, ServerMessage::Error { code: ErrorCode::Flood, .. }) => self.notes.flood_errors += 1,
            (Stage::AwaitWelcome, ServerMessage::Welcome(_)) => self.stage = Stage::AwaitList,
            (Stage::AwaitWelcome, ServerMessage::Error { .. }) => {
                let failure =
                    SetupFailure::RegistrationRefused { nick: self.nick.as_str().to_owned(), line: bounded(line) };
                self.fail(failure, milestones);
            }
            (Stage::AwaitList, ServerMessage::EndUsers(_)) => {
                self.stage = Stage::Registered;
                milestones.push(Milestone::Registered);
            }
            (_, ServerMessage::Error { code, .. }) => {
                *self.notes.errors.entry(code.as_str()).or_default() += 1;
                if code.is_fatal() {
                    self.notes.fatal_error = Some(code.as_str());
                }
            }
            (Stage::Registered, ServerMessage::Msg { from, text }) => self.on_message(&from, &text, now_ns),
            (_, ServerMessage::Pong(token)) => {
                if let Some(at) = self.awaiting.iter().position(|b| b.token() == token.as_str()) {
                    milestones.push(Milestone::BarrierPassed(self.awaiting.remove(at)));
                }
            }
            // Room membership, and user lists: nothing to measure.
            _ => {}
        }
    }

    fn on_message(&mut self, from: &Nick, text: &Text, now_ns: u64) {
        let Some(stamp) = Stamp::parse(text.as_str()).filter(|s| self.is_nick_of(from, s.sender)) else {
            self.notes.foreign_messages += 1;
            return;
        };
        match self.receipts.record(stamp, now_ns) {
            Receipt::First if stamp.sender == self.id => {
                if let Some(pace) = &mut self.pace {
                    pace.on_echo();
                }
            }
            Receipt::First | Receipt::Duplicate => {}
            Receipt::Stray => self.notes.foreign_messages += 1,
        }
    }

    /// Whether `from` is the nick of sender `sender` of this run, without building it.
    fn is_nick_of(&self, from: &Nick, sender: u32) -> bool {
        let Some(digits) = from.as_str().strip_prefix(&*self.nick_prefix) else {
            return false;
        };
        let digits = digits.as_bytes();
        let (mut rest, mut n) = (digits.len(), sender);
        loop {
            if rest == 0 {
                return false;
            }
            rest -= 1;
            if u32::from(digits[rest]) != u32::from(b'0') + n % 10 {
                return false;
            }
            n /= 10;
            if n == 0 {
                return rest == 0;
            }
        }
    }

    /// Sending begins (every client is registered).
    pub fn start_sending(&mut self, now_ns: u64) {
        if let Some(pace) = &mut self.pace
            && self.stage == Stage::Registered
            && !self.sending
        {
            self.sending = true;
            pace.start(now_ns);
            self.send_due(now_ns);
        }
    }

    /// Sends every message the pace allows at `now_ns`, and the sent barrier after the last.
    pub fn send_due(&mut self, now_ns: u64) {
        let Some(pace) = self.pace.as_mut().filter(|_| self.sending) else {
            return;
        };
        let was_done = pace.all_sent();
        while self.out.len() < MAX_PENDING_OUTPUT
            && let Some(seq) = pace.next(now_ns)
        {
            let text = Stamp { sender: self.id, seq, sent_ns: now_ns }.text(self.payload);
            ClientMessage::Msg(text).encode(&mut self.out);
            self.first_send_ns.get_or_insert(now_ns);
            self.last_send_ns = Some(now_ns);
        }
        if !was_done && pace.all_sent() {
            self.ping(Barrier::Sent);
        }
    }

    /// When to call [`LoadClient::send_due`] next: when the pace allows a send that has not been
    /// made. `None` while the output is full (room to write is what to wait for) or nothing can be
    /// sent before an echo arrives.
    pub fn wake_at(&self) -> Option<u64> {
        if self.out.len() >= MAX_PENDING_OUTPUT {
            return None;
        }
        self.pace.as_ref().filter(|_| self.sending).and_then(SendPace::wake_at)
    }

    /// Every sender's messages are in the global order: ask for the final barrier.
    pub fn start_final_barrier(&mut self) {
        if self.stage == Stage::Registered && !self.awaiting.contains(&Barrier::Final) {
            self.ping(Barrier::Final);
        }
    }

    fn ping(&mut self, barrier: Barrier) {
        let token = Token::new(barrier.token()).expect("barrier tokens are valid");
        ClientMessage::Ping(token).encode(&mut self.out);
        self.awaiting.push(barrier);
    }

    /// The run is over: leave politely (R-QUIT-1).
    pub fn quit(&mut self) {
        let reason = Text::new("load run over").expect("a valid reason");
        ClientMessage::Quit(Some(reason)).encode(&mut self.out);
    }

    fn fail(&mut self, failure: SetupFailure, milestones: &mut Vec<Milestone>) {
        self.stage = Stage::Failed;
        milestones.push(Milestone::SetupFailed(failure));
    }

    fn remember(&mut self, line: &str) {
        if self.notes.recent.len() == RECENT_LINES {
            self.notes.recent.pop_front();
        }
        self.notes.recent.push_back(bounded(line));
    }

    fn note_unparseable(&mut self, line: &str) {
        self.notes.unparseable_lines += 1;
        if self.notes.unparseable_sample.is_none() {
            self.notes.unparseable_sample = Some(bounded(line));
        }
    }

    /// The client's record, once its connection is over; `disconnect` says how it ended if it
    /// ended before the run did.
    pub fn into_outcome(self, disconnect: Option<String>) -> ClientOutcome {
        ClientOutcome {
            id: self.id,
            registered: self.stage == Stage::Registered,
            max_line: self.max_line,
            sent: self.pace.as_ref().map_or(0, SendPace::sent),
            late_sends: self.pace.as_ref().map_or(0, SendPace::late),
            receipts: self.receipts,
            notes: self.notes,
            first_send_ns: self.first_send_ns,
            last_send_ns: self.last_send_ns,
            disconnect,
        }
    }
}

/// A line cut to a length fit for a report, at a character boundary.
fn bounded(line: &str) -> String {
    if line.len() <= RECENT_LINE_BYTES {
        return line.to_owned();
    }
    let mut end = RECENT_LINE_BYTES;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(id: u32) -> ClientSetup {
        ClientSetup {
            id,
            nick_prefix: Arc::from("ldtest_"),
            senders: 2,
            messages: 3,
            payload: 64,
            window: 2,
            rate: 0.0,
            order_sample_stride: 1,
        }
    }

    fn feed(c: &mut LoadClient, lines: &str, now_ns: u64) -> Vec<Milestone> {
        let mut m = Vec::new();
        c.on_input(lines.as_bytes(), now_ns, &mut m);
        m
    }

    fn sent_lines(c: &mut LoadClient) -> Vec<String> {
        let out = std::mem::take(c.output());
        String::from_utf8(out).unwrap().lines().map(str::to_owned).collect()
    }

    fn registered(id: u32) -> LoadClient {
        let mut c = LoadClient::new(&setup(id));
        let nick = c.nick().as_str().to_owned();
        feed(&mut c, "HELLO minichat/1 1024 hi\n", 0);
        assert_eq!(sent_lines(&mut c), vec![format!("USER {nick}")]);
        let m = feed(&mut c, &format!("WELCOME {nick}\nUSERS {nick}\nENDUSERS 1\n"), 0);
        assert_eq!(m, vec![Milestone::Registered]);
        c
    }

    fn relay(c: &mut LoadClient, sender: u32, seq: u32, sent_ns: u64, now_ns: u64) -> Vec<Milestone> {
        let text = Stamp { sender, seq, sent_ns }.text(64);
        feed(c, &format!("MSG ldtest_{sender} {}\n", text.as_str()), now_ns)
    }

    #[test]
    fn registers_after_welcome_and_the_whole_user_list() {
        let mut c = LoadClient::new(&setup(5));
        assert!(feed(&mut c, "HELLO minichat/1 1024 hi\nWELCOME ldtest_5\nUSERS a\n", 0).is_empty());
        assert!(!c.is_registered());
        assert_eq!(feed(&mut c, "USERS ldtest_5\nENDUSERS 2\n", 0), vec![Milestone::Registered]);
        assert!(c.is_registered());
    }

    #[test]
    fn a_refused_nick_is_a_setup_failure() {
        let mut c = LoadClient::new(&setup(0));
        let m = feed(&mut c, "HELLO minichat/1 1024 hi\nERROR NICK_IN_USE taken\n", 0);
        assert!(matches!(&m[..], [Milestone::SetupFailed(SetupFailure::RegistrationRefused { .. })]), "{m:?}");
    }

    #[test]
    fn a_full_server_is_a_setup_failure_that_names_the_limit() {
        let mut c = LoadClient::new(&setup(0));
        let m = feed(&mut c, "ERROR TOO_MANY_CONNECTIONS too many\nBYE\n", 0);
        let [Milestone::SetupFailed(failure)] = &m[..] else { panic!("{m:?}") };
        assert!(failure.to_string().contains("--max-per-address 0"), "{failure}");
    }

    #[test]
    fn a_payload_over_the_servers_text_limit_is_a_setup_failure() {
        let mut c = LoadClient::new(&ClientSetup { payload: 65, ..setup(0) });
        let m = feed(&mut c, "HELLO minichat/1 128 hi\n", 0);
        assert!(matches!(&m[..], [Milestone::SetupFailed(SetupFailure::PayloadTooLong { max_text: 64, .. })]));
        assert!(c.output().is_empty(), "no USER sent");
    }

    #[test]
    fn a_sender_fills_its_window_and_sends_one_more_per_echo_then_the_barrier() {
        let mut c = registered(1);
        c.start_sending(1000);
        let lines = sent_lines(&mut c);
        assert_eq!(lines.len(), 2, "window 2: {lines:?}");
        assert!(lines[0].starts_with("MSG 1:0:1000:x") && lines[0].len() == 4 + 64);
        assert!(lines[1].starts_with("MSG 1:1:1000:"));
        // Someone else's message frees nothing; its own echo frees one slot.
        relay(&mut c, 0, 0, 900, 1100);
        assert!(sent_lines(&mut c).is_empty());
        relay(&mut c, 1, 0, 1000, 1200);
        let lines = sent_lines(&mut c);
        assert_eq!(lines.len(), 2, "the last message and the sent barrier: {lines:?}");
        assert!(lines[0].starts_with("MSG 1:2:1200:"));
        assert_eq!(lines[1], "PING load-sent");
        assert_eq!(feed(&mut c, "PONG load-sent\n", 1300), vec![Milestone::BarrierPassed(Barrier::Sent)]);
        let latencies: Vec<u64> = c.take_latencies().collect();
        assert_eq!(latencies, vec![200, 200]);
    }

    #[test]
    fn a_sender_stops_adding_messages_while_its_output_waits_for_the_socket() {
        let mut c = LoadClient::new(&ClientSetup { window: 0, rate: 1000.0, messages: 100_000, ..setup(0) });
        let nick = c.nick().as_str().to_owned();
        feed(&mut c, &format!("HELLO minichat/1 1024 hi\nWELCOME {nick}\nUSERS {nick}\nENDUSERS 1\n"), 0);
        c.output().clear();
        c.start_sending(0);
        // An hour later, with nothing written: the socket never took a byte.
        c.send_due(3_600_000_000_000);
        // Each line is `MSG ` + 64 bytes + LF; the first past the bound is the last one added.
        let (pending, line) = (c.output().len(), 4 + 64 + 1);
        assert_eq!(pending, MAX_PENDING_OUTPUT.div_ceil(line) * line);
        assert_eq!(c.wake_at(), None, "wait for the socket, not the clock");
        c.output().clear();
        let sent = (pending / line) as u64;
        assert_eq!(c.wake_at(), Some(sent * 1_000_000), "message {sent} is overdue: wake at once");
    }

    #[test]
    fn answers_the_servers_ping_and_counts_flood_errors_without_stopping() {
        let mut c = registered(3);
        feed(&mut c, "PING abc\nERROR FLOOD slow down\n", 0);
        assert_eq!(sent_lines(&mut c), vec!["PONG abc"]);
        assert_eq!(c.into_outcome(None).notes.flood_errors, 1);
    }

    #[test]
    fn messages_from_outside_the_run_are_foreign() {
        let mut c = registered(3);
        let stamp = Stamp { sender: 0, seq: 0, sent_ns: 0 }.text(64);
        // The stamp of sender 0 from the nick of sender 1, a person's text, a stamp of sender 7.
        feed(&mut c, &format!("MSG ldtest_1 {}\nMSG alice hello\n", stamp.as_str()), 0);
        relay(&mut c, 7, 0, 0, 0);
        feed(&mut c, &format!("MSG ldtest_00 {}\n", stamp.as_str()), 0);
        let outcome = c.into_outcome(None);
        assert_eq!(outcome.notes.foreign_messages, 4);
        assert_eq!(outcome.receipts.received(), 0);
    }

    #[test]
    fn the_last_lines_addressed_to_a_client_explain_its_end() {
        let mut c = registered(2);
        feed(&mut c, "JOIN someone\nERROR SLOW_CONSUMER you read too slowly\nBYE\n", 0);
        assert_eq!(c.recent_lines(), "\"ERROR SLOW_CONSUMER you read too slowly\", \"BYE\"");
        assert_eq!(c.into_outcome(None).notes.fatal_error, Some("SLOW_CONSUMER"));
    }

    #[test]
    fn lines_that_are_not_server_lines_are_counted_not_fatal() {
        let mut c = registered(2);
        feed(&mut c, "NONSENSE here\nmsg lower case\n", 0);
        relay(&mut c, 0, 0, 0, 10);
        let outcome = c.into_outcome(None);
        assert_eq!(outcome.notes.unparseable_lines, 2);
        assert_eq!(outcome.notes.unparseable_sample.as_deref(), Some("NONSENSE here"));
        assert_eq!(outcome.receipts.received(), 1);
    }
}
