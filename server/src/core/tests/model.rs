//! A small executable model of SPEC.md, run side by side with the core over random
//! interleavings of many clients' events, comparing what every client receives line by line.
//!
//! The model is written from the spec, not from the core: states (§5), registration and nicks
//! (§4, §6), relays and user lists (§7, §8), departures and their causes (§9), one global order
//! (§10), the connection limits and the output bound *Q* (§11), the timeouts (§12) and shutdown
//! (§14), including what the adapter is left with when it gives up on a slow consumer (the rest
//! of a line already half written, then the notice). It borrows from the core only what SPEC.md
//! leaves to the server: the wording of the `ERROR` texts (`replies`) and the idle `PING` tokens
//! (`idle-1`, `idle-2`, …), because their lengths count against *Q*. Framing and parsing come
//! from the protocol crate, as in the core.
//!
//! Where the order of lines is the server's choice, both sides are normalised before comparing:
//! the nicks within a `USERS` line, and the `LEAVE … SLOW` lines of slow consumers found in the
//! same turn.
//!
//! Besides the comparison, every step checks properties straight on what the core's clients
//! received: the core's invariants, unique nicks, one relative order of the messages any two
//! clients share (R-ORDER-2), each client's user list plus later JOIN/LEAVE equal to the true
//! membership (R-ORDER-4), nothing but HELLO/ERROR/PONG/BYE before registration (R-STATE-2),
//! and queued output within *Q* (R-LIMIT-3; in the invariants).
//!
//! Time: every action happens 1 ms after the previous one, on whole milliseconds, and each
//! timeout has its own sub-millisecond part, so no two deadlines of different connections ever
//! fall on the same instant and the model need not guess the order of simultaneous timers.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use minichat_protocol::{ClientMessage, FrameError, Limits, LineFramer, Nick, ParseErrorKind, parse_client_line};
use proptest::prelude::*;

use super::driver::Driver;
use crate::config::Config;
use crate::core::timers::TimerKind;
use crate::core::{CloseReason, Stats, replies};

/// Client names; there are more than *M* so that some connections are refused.
const NAMES: [&str; 8] = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"];
/// Requested nicks: several fold to the same key (R-NICK-2).
const NICKS: [&str; 9] = ["al", "Al", "AL", "bo", "BO", "cy", "d_1", "Ev-e", "zed"];
const ADDRS: [IpAddr; 2] = [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))];

fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

fn config() -> Config {
    Config {
        max_line: 128,
        max_clients: 6,
        max_per_address: 4,
        max_queue: 600, // the smallest Q that fits a greeting and a full user list (Config::validate)
        msg_rate: 0,
        register_timeout: Duration::from_millis(4000) + us(1),
        line_timeout: Duration::from_millis(3000) + us(20),
        idle_timeout: Duration::from_millis(5000) + us(100),
        ping_timeout: Duration::from_millis(2000) + us(10),
        shutdown_grace: Duration::from_millis(1500) + us(300),
        ..Config::default()
    }
}

// ---------- the model ----------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closing {
    /// Written out, then closed; dropped after the grace period (R-SHUT-2).
    Flush,
    /// One try, then closed (slow consumers, refused connections).
    Abandon,
}

#[derive(Debug)]
enum State {
    Connected,
    Registered(Nick),
    Closing(Closing),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Deadline {
    Register,
    Line,
    Idle,
    PingReply,
    Grace,
}

struct Conn {
    open: bool,
    addr: usize,
    admitted: bool,
    state: State,
    connected_at: Duration,
    last_line_at: Duration,
    partial_since: Option<Duration>,
    ping_sent_at: Option<Duration>,
    closing_since: Duration,
    framer: LineFramer,
    eof: bool,
    reading: bool,
    /// Marked as a slow consumer in this turn; disconnected at its end.
    slow: bool,
    /// Queued and not yet written.
    pending: Vec<u8>,
    /// What was still queued when the adapter gave up on the connection.
    abandoned: usize,
    received: Vec<String>,
    partial_out: Vec<u8>,
}

impl Conn {
    fn nick(&self) -> Option<&Nick> {
        match &self.state {
            State::Registered(nick) => Some(nick),
            _ => None,
        }
    }

    fn closing(&self) -> bool {
        matches!(self.state, State::Closing(_))
    }
}

struct Model {
    config: Config,
    limits: Limits,
    t: Duration,
    conns: Vec<Option<Conn>>,
    /// Registered clients, by name index.
    members: Vec<usize>,
    admitted: usize,
    per_addr: [usize; 2],
    shutting_down: bool,
    idle_pings: u64,
}

impl Model {
    fn new(config: Config) -> Model {
        Model {
            limits: Limits::new(config.max_line).unwrap(),
            config,
            t: Duration::ZERO,
            conns: (0..NAMES.len()).map(|_| None).collect(),
            members: Vec::new(),
            admitted: 0,
            per_addr: [0; 2],
            shutting_down: false,
            idle_pings: 0,
        }
    }

    fn conn(&self, who: usize) -> Option<&Conn> {
        self.conns[who].as_ref().filter(|c| c.open)
    }

    fn c(&mut self, who: usize) -> &mut Conn {
        self.conns[who].as_mut().unwrap()
    }

    // ----- output -----

    /// Queues `line` (with its LF) unless that passes Q (R-LIMIT-3).
    fn deliver(&mut self, who: usize, line: &[u8]) {
        let q = self.config.max_queue;
        let c = self.c(who);
        if !c.open || c.closing() || c.slow {
            return;
        }
        if c.pending.len() + line.len() > q {
            c.slow = true;
        } else {
            c.pending.extend_from_slice(line);
        }
    }

    fn say(&mut self, who: usize, line: &str) {
        self.deliver(who, format!("{line}\n").as_bytes());
    }

    /// Lines that end a connection are queued whatever is queued before them.
    fn say_last(&mut self, who: usize, line: &[u8]) {
        self.c(who).pending.extend_from_slice(line);
    }

    fn broadcast(&mut self, line: &str, except: Option<usize>) {
        for m in self.members.clone() {
            if Some(m) != except {
                self.say(m, line);
            }
        }
    }

    fn user_list(&self) -> String {
        let nicks: Vec<&str> =
            self.members.iter().map(|&m| self.conns[m].as_ref().unwrap().nick().unwrap().as_str()).collect();
        let users = format!("USERS {}", nicks.join(" "));
        assert!(users.len() <= self.limits.max_line(), "the model's user lists are one line");
        format!("{users}\nENDUSERS {}\n", nicks.len())
    }

    // ----- leaving and closing -----

    /// R-LEAVE-2: a member leaves; the others are told at this point.
    fn depart(&mut self, who: usize, cause: &str, reason: Option<&str>) {
        let Some(nick) = self.c(who).nick().cloned() else { return };
        self.members.retain(|&m| m != who);
        self.c(who).state = State::Connected;
        let line = match reason {
            Some(reason) => format!("LEAVE {nick} {cause} {reason}"),
            None => format!("LEAVE {nick} {cause}"),
        };
        self.broadcast(&line, None);
    }

    fn start_closing(&mut self, who: usize, how: Closing) {
        let t = self.t;
        let c = self.c(who);
        c.state = State::Closing(how);
        c.closing_since = t;
        c.partial_since = None;
    }

    /// A fatal error (R-ERR-2): LEAVE for a member, the error, BYE, close.
    fn fail(&mut self, who: usize, error: &[u8]) {
        self.depart(who, "TIMEOUT", None);
        self.say_last(who, error);
        self.say_last(who, b"BYE\n");
        self.start_closing(who, Closing::Flush);
    }

    fn forget(&mut self, who: usize) {
        let c = self.c(who);
        c.open = false;
        if c.admitted {
            let addr = c.addr;
            self.admitted -= 1;
            self.per_addr[addr] -= 1;
        }
    }

    /// R-LIMIT-3: every slow consumer of this turn is disconnected.
    fn flush_slow(&mut self) {
        while let Some(who) = (0..NAMES.len()).find(|&w| self.conn(w).is_some_and(|c| c.slow && !c.closing())) {
            // Its queue is discarded, except the rest of a line it has started to receive:
            // the notice must not be glued to half a line.
            let c = self.c(who);
            let started = c.pending.iter().position(|&b| b == b'\n').map_or(c.pending.len(), |lf| lf + 1);
            let keep = if c.partial_out.is_empty() { 0 } else { started };
            c.pending.truncate(keep);
            self.depart(who, "SLOW", None);
            self.say_last(who, &replies::slow_consumer(self.config.max_queue).to_bytes());
            self.say_last(who, b"BYE\n");
            self.start_closing(who, Closing::Abandon);
        }
    }

    /// What the adapter does after every event: write to readers, close what is done.
    fn settle(&mut self) {
        for who in 0..NAMES.len() {
            let Some(c) = self.conns[who].as_mut().filter(|c| c.open) else { continue };
            if c.reading {
                let n = c.pending.len();
                c.take_output(n);
            }
            let done = match c.state {
                State::Closing(Closing::Abandon) => {
                    c.abandoned = c.pending.len();
                    true
                }
                State::Closing(Closing::Flush) => c.pending.is_empty(),
                _ => false,
            };
            if done {
                self.forget(who);
            }
        }
    }

    fn end_turn(&mut self) {
        self.flush_slow();
        self.settle();
    }

    // ----- events -----

    fn connect(&mut self, who: usize, addr: usize) {
        let refusal = if self.shutting_down {
            Some(replies::shutting_down())
        } else if self.admitted >= self.config.max_clients {
            Some(replies::server_full(self.config.max_clients))
        } else if self.per_addr[addr] >= self.config.max_per_address {
            Some(replies::too_many_connections(self.config.max_per_address))
        } else {
            None
        };
        self.conns[who] = Some(Conn {
            open: true,
            addr,
            admitted: refusal.is_none(),
            state: State::Connected,
            connected_at: self.t,
            last_line_at: self.t,
            partial_since: None,
            ping_sent_at: None,
            closing_since: self.t,
            framer: LineFramer::new(self.limits),
            eof: false,
            reading: true,
            slow: false,
            pending: Vec::new(),
            abandoned: 0,
            received: Vec::new(),
            partial_out: Vec::new(),
        });
        match refusal {
            Some(error) => {
                self.say_last(who, &error.to_bytes());
                self.say_last(who, b"BYE\n");
                self.start_closing(who, Closing::Abandon);
            }
            None => {
                self.admitted += 1;
                self.per_addr[addr] += 1;
                let hello = format!("HELLO minichat/1 {} {}", self.limits.max_line(), replies::GREETING);
                self.say(who, &hello);
            }
        }
        self.end_turn();
    }

    fn receive(&mut self, who: usize, bytes: &[u8]) {
        if self.c(who).closing() {
            return; // the adapter does not read a closing connection
        }
        let mut framer = std::mem::take(&mut self.c(who).framer);
        let mut input = bytes;
        while let Some(item) = framer.next_line(&mut input) {
            let item = item.map(str::to_owned);
            self.line(who, item);
            let c = self.c(who);
            if c.closing() || c.slow {
                return self.end_turn(); // the rest of the input is ignored
            }
        }
        let t = self.t;
        let c = self.c(who);
        // R-TIME-2: a line's clock starts at its first byte.
        if !framer.has_partial_line() {
            c.partial_since = None;
        } else if c.partial_since.is_none() || bytes.contains(&b'\n') {
            c.partial_since = Some(t);
        }
        c.framer = framer;
        self.end_turn();
    }

    fn line(&mut self, who: usize, item: Result<String, FrameError>) {
        let line = match item {
            Err(FrameError::LineTooLong { .. }) => {
                return self.deliver(who, &replies::line_too_long(self.limits).to_bytes());
            }
            Err(FrameError::InvalidUtf8 { .. }) => {
                self.activity(who);
                return self.deliver(who, &replies::invalid_utf8().to_bytes());
            }
            Ok(line) => line,
        };
        self.activity(who);
        if line.is_empty() {
            return;
        }
        let word = line.split(' ').next().unwrap();
        let message = match parse_client_line(&line, self.limits) {
            Ok(message) => message,
            Err(e) => {
                let reply = match e.kind {
                    ParseErrorKind::ControlCharacter => replies::control_character(e.offset),
                    ParseErrorKind::UnknownCommand => replies::unknown_command(word),
                    ParseErrorKind::BadArguments => replies::bad_arguments(word),
                    ParseErrorKind::InvalidNick => replies::invalid_nick(),
                    ParseErrorKind::EmptyText => replies::empty_message(),
                    ParseErrorKind::TextTooLong { max } => replies::text_too_long(max),
                };
                return self.deliver(who, &reply.to_bytes());
            }
        };
        let own = self.c(who).nick().cloned();
        match (message, own) {
            (ClientMessage::User(_), Some(own)) => {
                self.deliver(who, &replies::already_registered(own.as_str()).to_bytes())
            }
            (ClientMessage::User(nick), None) => {
                let taken =
                    self.members.iter().any(|&m| self.conns[m].as_ref().unwrap().nick().unwrap().key() == nick.key());
                if taken {
                    return self.deliver(who, &replies::nick_in_use(nick.as_str()).to_bytes());
                }
                self.members.push(who);
                self.c(who).state = State::Registered(nick);
                let welcome = format!("WELCOME {nick}\n{}", self.user_list());
                self.deliver(who, welcome.as_bytes());
                self.broadcast(&format!("JOIN {nick}"), Some(who));
            }
            (ClientMessage::Msg(_) | ClientMessage::Users, None) => {
                self.deliver(who, &replies::not_registered().to_bytes())
            }
            (ClientMessage::Msg(text), Some(own)) => self.broadcast(&format!("MSG {own} {text}"), None),
            (ClientMessage::Users, Some(_)) => {
                let list = self.user_list();
                self.deliver(who, list.as_bytes());
            }
            (ClientMessage::Ping(token), _) => self.say(who, &format!("PONG {token}")),
            (ClientMessage::Pong(_), _) => {}
            (ClientMessage::Quit(reason), _) => {
                self.depart(who, "QUIT", reason.as_ref().map(|r| r.as_str()));
                self.say_last(who, b"BYE\n");
                self.start_closing(who, Closing::Flush);
            }
        }
    }

    /// R-TIME-4: any complete line.
    fn activity(&mut self, who: usize) {
        let t = self.t;
        let c = self.c(who);
        c.last_line_at = t;
        c.ping_sent_at = None;
    }

    fn eof(&mut self, who: usize) {
        self.c(who).eof = true;
        if self.c(who).closing() {
            return;
        }
        self.depart(who, "LOST", None);
        self.start_closing(who, Closing::Flush);
        self.end_turn();
    }

    fn reset(&mut self, who: usize) {
        if !self.c(who).closing() {
            self.depart(who, "LOST", None);
        }
        self.forget(who);
        self.end_turn();
    }

    fn drain(&mut self, who: usize, n: usize) {
        self.c(who).take_output(n);
        self.settle();
    }

    fn shutdown(&mut self) {
        self.shutting_down = true;
        for who in std::mem::take(&mut self.members) {
            self.c(who).state = State::Connected;
        }
        for who in 0..NAMES.len() {
            if self.conn(who).is_some_and(|c| !c.closing()) {
                self.say_last(who, &replies::shutting_down().to_bytes());
                self.say_last(who, b"BYE\n");
                self.start_closing(who, Closing::Flush);
            }
        }
        self.settle();
    }

    // ----- time -----

    fn deadline(&self, who: usize) -> Option<(Duration, Deadline)> {
        let c = self.conn(who)?;
        let cfg = &self.config;
        let mut due: Vec<(Duration, Deadline)> = Vec::new();
        match &c.state {
            State::Closing(Closing::Flush) => due.push((c.closing_since + cfg.shutdown_grace, Deadline::Grace)),
            State::Closing(Closing::Abandon) => {}
            State::Connected => due.push((c.connected_at + cfg.register_timeout, Deadline::Register)),
            State::Registered(_) => match c.ping_sent_at {
                Some(sent) => due.push((sent + cfg.ping_timeout, Deadline::PingReply)),
                None => due.push((c.last_line_at + cfg.idle_timeout, Deadline::Idle)),
            },
        }
        if let (Some(since), false) = (c.partial_since, c.closing()) {
            due.push((since + cfg.line_timeout, Deadline::Line));
        }
        due.into_iter().min_by_key(|(at, _)| *at)
    }

    fn advance(&mut self, by: Duration) {
        let target = self.t + by;
        loop {
            let next = (0..NAMES.len()).filter_map(|w| self.deadline(w).map(|d| (d, w))).min_by_key(|((at, _), _)| *at);
            let Some(((at, kind), who)) = next.filter(|((at, _), _)| *at <= target) else { break };
            self.t = at;
            self.fire(who, kind);
            self.end_turn();
        }
        self.t = target;
    }

    fn fire(&mut self, who: usize, kind: Deadline) {
        let cfg = self.config.clone();
        match kind {
            Deadline::Register => {
                self.fail(who, &replies::timeout(TimerKind::Register, cfg.register_timeout).to_bytes())
            }
            Deadline::Line => self.fail(who, &replies::timeout(TimerKind::Line, cfg.line_timeout).to_bytes()),
            Deadline::PingReply => self.fail(who, &replies::timeout(TimerKind::PingReply, cfg.ping_timeout).to_bytes()),
            Deadline::Idle => {
                self.idle_pings += 1;
                let t = self.t;
                self.c(who).ping_sent_at = Some(t);
                let ping = format!("PING idle-{}", self.idle_pings);
                self.say(who, &ping);
            }
            Deadline::Grace => self.c(who).state = State::Closing(Closing::Abandon),
        }
    }
}

impl Conn {
    /// The client reads `n` of the queued bytes.
    fn take_output(&mut self, n: usize) {
        let n = n.min(self.pending.len());
        for b in self.pending.drain(..n) {
            if b == b'\n' {
                let line = String::from_utf8(std::mem::take(&mut self.partial_out)).unwrap();
                self.received.push(line);
            } else {
                self.partial_out.push(b);
            }
        }
    }
}

// ---------- the actions ----------

#[derive(Clone, Debug)]
enum Piece {
    User(usize),
    UserInvalid,
    Msg { len: usize, lead_space: bool, wide: bool },
    MsgEmpty,
    Users,
    UsersBad,
    Ping(u8),
    PingBad,
    Pong,
    Quit(Option<usize>),
    Empty,
    Unknown,
    InvalidUtf8,
    Control,
    Overlong,
}

#[derive(Clone, Debug)]
enum Action {
    Connect {
        who: usize,
        addr: usize,
    },
    /// Whole lines, then maybe the start of one more (finished by a later send).
    Send {
        who: usize,
        lines: Vec<Piece>,
        tail: Option<Piece>,
        crlf: bool,
        lower: bool,
    },
    Eof {
        who: usize,
    },
    Reset {
        who: usize,
    },
    StopReading {
        who: usize,
    },
    StartReading {
        who: usize,
    },
    Drain {
        who: usize,
        n: usize,
    },
    Advance {
        ms: u64,
    },
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        6 => (0..NICKS.len()).prop_map(Piece::User),
        1 => Just(Piece::UserInvalid),
        8 => (prop_oneof![1..8usize, 58..70usize], any::<bool>(), any::<bool>())
            .prop_map(|(len, lead_space, wide)| Piece::Msg { len, lead_space, wide }),
        1 => Just(Piece::MsgEmpty),
        2 => Just(Piece::Users),
        1 => Just(Piece::UsersBad),
        2 => any::<u8>().prop_map(Piece::Ping),
        1 => Just(Piece::PingBad),
        1 => Just(Piece::Pong),
        2 => prop_oneof![Just(None), (0..4usize).prop_map(Some), (60..70usize).prop_map(Some)].prop_map(Piece::Quit),
        1 => Just(Piece::Empty),
        1 => Just(Piece::Unknown),
        1 => Just(Piece::InvalidUtf8),
        1 => Just(Piece::Control),
        1 => Just(Piece::Overlong),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let who = 0..NAMES.len();
    prop_oneof![
        10 => (who.clone(), 0..ADDRS.len()).prop_map(|(who, addr)| Action::Connect { who, addr }),
        40 => (who.clone(), prop::collection::vec(piece(), 0..4), prop::option::weighted(0.3, piece()), any::<bool>(), prop::bool::weighted(0.2))
            .prop_map(|(who, lines, tail, crlf, lower)| Action::Send { who, lines, tail, crlf, lower }),
        3 => who.clone().prop_map(|who| Action::Eof { who }),
        3 => who.clone().prop_map(|who| Action::Reset { who }),
        4 => who.clone().prop_map(|who| Action::StopReading { who }),
        2 => who.clone().prop_map(|who| Action::StartReading { who }),
        3 => (who, 1..300usize).prop_map(|(who, n)| Action::Drain { who, n }),
        10 => prop_oneof![1..100u64, 1000..3000u64, 4000..8000u64].prop_map(|ms| Action::Advance { ms }),
    ]
}

/// The bytes of one piece. Each MSG text starts with a unique tag (`m<n>.`), so that the order
/// check can tell messages apart.
fn bytes_of(piece: &Piece, lower: bool, tags: &mut u32) -> Vec<u8> {
    let word = |w: &str| if lower { w.to_ascii_lowercase() } else { w.to_owned() };
    let line = match piece {
        Piece::User(i) => format!("{} {}", word("USER"), NICKS[*i]),
        Piece::UserInvalid => format!("{} 9lives", word("USER")),
        Piece::Msg { len, lead_space, wide } => {
            *tags += 1;
            let mut text = if *lead_space { format!(" m{tags}.") } else { format!("m{tags}.") };
            while text.len() < *len {
                text.push(if *wide && text.len() + 2 <= *len { 'é' } else { '.' });
            }
            format!("{} {text}", word("MSG"))
        }
        Piece::MsgEmpty => format!("{}   ", word("MSG")),
        Piece::Users => word("USERS"),
        Piece::UsersBad => format!("{} now", word("USERS")),
        Piece::Ping(n) => format!("{} p{n}", word("PING")),
        Piece::PingBad => word("PING"),
        Piece::Pong => format!("{} x", word("PONG")),
        Piece::Quit(None) => word("QUIT"),
        Piece::Quit(Some(n)) => format!("{} {}", word("QUIT"), "r".repeat(*n)),
        Piece::Empty => String::new(),
        Piece::Unknown => "HELP me".to_owned(),
        Piece::InvalidUtf8 => return b"MSG \xc3\x28".to_vec(),
        Piece::Control => "MSG a\x07b".to_owned(),
        Piece::Overlong => "o".repeat(200),
    };
    line.into_bytes()
}

// ---------- comparing ----------

/// Sorts what SPEC.md leaves to the server: nicks within a USERS line, and runs of
/// `LEAVE … SLOW` (slow consumers found in one turn).
fn normalise(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut run_start = 0;
    for line in lines {
        let is_slow = line.starts_with("LEAVE ") && line.ends_with(" SLOW");
        if !is_slow {
            out[run_start..].sort();
        }
        let line = match line.strip_prefix("USERS ") {
            Some(nicks) => {
                let mut nicks: Vec<&str> = nicks.split(' ').collect();
                nicks.sort_unstable();
                format!("USERS {}", nicks.join(" "))
            }
            None => line.clone(),
        };
        if !is_slow {
            run_start = out.len() + 1;
        }
        out.push(line);
    }
    let last_run = run_start.min(out.len());
    out[last_run..].sort();
    out
}

/// The unique tags of the messages in a stream, in order.
fn message_tags(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix("MSG "))
        .filter_map(|rest| rest.split_once(' ').map(|(_, text)| text.trim_start()))
        .filter(|text| text.starts_with('m') && text.contains('.'))
        .map(|text| text.split('.').next().unwrap())
        .collect()
}

/// A client's view of the room: its last user list with the later JOIN and LEAVE applied.
fn view(lines: &[String]) -> Result<Option<BTreeSet<String>>, String> {
    let mut view: Option<BTreeSet<String>> = None;
    let mut building: Vec<String> = Vec::new();
    for line in lines {
        if let Some(nicks) = line.strip_prefix("USERS ") {
            building.extend(nicks.split(' ').map(str::to_owned));
        } else if line.starts_with("ENDUSERS ") {
            let list: BTreeSet<String> = building.drain(..).collect();
            if let Some(current) = &view
                && *current != list
            {
                return Err(format!("a user list {list:?} differs from the view {current:?} (R-ORDER-4)"));
            }
            view = Some(list);
        } else if let (Some(nick), Some(current)) = (line.strip_prefix("JOIN "), view.as_mut()) {
            if !current.insert(nick.to_owned()) {
                return Err(format!("JOIN for {nick}, who is listed already"));
            }
        } else if let (Some(rest), Some(current)) = (line.strip_prefix("LEAVE "), view.as_mut()) {
            let nick = rest.split(' ').next().unwrap();
            if !current.remove(nick) {
                return Err(format!("LEAVE for {nick}, who is not listed"));
            }
        }
    }
    Ok(view)
}

fn check(d: &Driver, m: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(d.elapsed(), m.t);
    for (who, name) in NAMES.iter().enumerate() {
        let Some(c) = &m.conns[who] else { continue };
        prop_assert_eq!(d.is_open(name), c.open, "{} open", name);
        prop_assert_eq!(normalise(&d.lines(name)), normalise(&c.received), "what {} received", name);
        if c.open {
            prop_assert_eq!(d.queued(name), c.pending.len(), "bytes queued for {}", name);
        }
        prop_assert_eq!(d.abandoned(name), c.abandoned, "bytes abandoned for {}", name);
    }
    // The room: the core's, the model's, unique under folding.
    let room: BTreeSet<String> = d.server.room.members().iter().map(|m| m.nick.as_str().to_owned()).collect();
    let keys: BTreeSet<String> = room.iter().map(|n| n.to_ascii_lowercase()).collect();
    prop_assert_eq!(keys.len(), room.len(), "nicks unique under folding (R-NICK-2)");
    let modelled: BTreeSet<String> =
        m.members.iter().map(|&w| m.conns[w].as_ref().unwrap().nick().unwrap().as_str().to_owned()).collect();
    prop_assert_eq!(&room, &modelled);
    // R-ORDER-4: every up-to-date member's view is the membership.
    for (who, name) in NAMES.iter().enumerate() {
        let Some(c) = m.conn(who) else { continue };
        if c.nick().is_some() && c.reading && c.pending.is_empty() {
            let seen = view(&d.lines(name)).map_err(TestCaseError::fail)?;
            prop_assert_eq!(seen.as_ref(), Some(&room), "{}'s view of the room", name);
        }
    }
    let streams: Vec<&[String]> = d.all_streams().collect();
    for stream in &streams {
        // R-STATE-2: before WELCOME, only HELLO, ERROR, PONG and BYE.
        for line in stream.iter().take_while(|l| !l.starts_with("WELCOME ")) {
            let word = line.split(' ').next().unwrap();
            prop_assert!(["HELLO", "ERROR", "PONG", "BYE"].contains(&word), "{:?} before registration", line);
        }
        view(stream).map_err(TestCaseError::fail)?;
    }
    // R-ORDER-2: the messages two clients share come in the same order.
    let orders: Vec<Vec<&str>> = streams.iter().map(|s| message_tags(s)).collect();
    for (i, a) in orders.iter().enumerate() {
        let at: HashMap<&str, usize> = a.iter().enumerate().map(|(p, tag)| (*tag, p)).collect();
        for b in &orders[i + 1..] {
            let positions: Vec<usize> = b.iter().filter_map(|tag| at.get(tag).copied()).collect();
            prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "two clients disagree on the order of messages");
        }
    }
    Ok(())
}

/// Runs `actions`, with the server shut down before the action at `shutdown_at` (or after the
/// last one when it is past the end).
fn run(actions: Vec<Action>, shutdown_at: Option<usize>) -> Result<Stats, TestCaseError> {
    let config = config();
    let mut d = Driver::with_config(config.clone());
    let mut m = Model::new(config);
    let mut tags = 0;
    let shutdown_at = shutdown_at.map(|i| i.min(actions.len()));
    for (i, action) in actions.into_iter().enumerate() {
        if shutdown_at == Some(i) {
            d.shutdown();
            m.shutdown();
            check(&d, &m)?;
        }
        d.advance(Duration::from_millis(1));
        m.advance(Duration::from_millis(1));
        // `who` picks among the open connections (or, to connect, among the other names), so
        // that few actions are wasted.
        let open: Vec<usize> = (0..NAMES.len()).filter(|&w| m.conn(w).is_some()).collect();
        let pick = |who: usize| (!open.is_empty()).then(|| open[who % open.len()]);
        match action {
            Action::Connect { who, addr } => {
                let free: Vec<usize> = (0..NAMES.len()).filter(|w| !open.contains(w)).collect();
                if let Some(&who) = free.get(who % free.len().max(1)) {
                    d.connect_from(NAMES[who], ADDRS[addr]);
                    m.connect(who, addr);
                }
            }
            Action::Send { who, lines, tail, crlf, lower } => {
                if let Some(who) = pick(who).filter(|&w| !m.c(w).eof) {
                    let mut bytes = Vec::new();
                    for piece in &lines {
                        bytes.extend(bytes_of(piece, lower, &mut tags));
                        bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
                    }
                    if let Some(piece) = &tail {
                        bytes.extend(bytes_of(piece, lower, &mut tags));
                    }
                    d.send_bytes(NAMES[who], &bytes);
                    m.receive(who, &bytes);
                }
            }
            Action::Eof { who } => {
                if let Some(who) = pick(who).filter(|&w| !m.c(w).eof) {
                    d.eof(NAMES[who]);
                    m.eof(who);
                }
            }
            Action::Reset { who } => {
                if let Some(who) = pick(who) {
                    d.reset(NAMES[who]);
                    m.reset(who);
                }
            }
            Action::StopReading { who } => {
                if let Some(who) = pick(who) {
                    d.stop_reading(NAMES[who]);
                    m.c(who).reading = false;
                }
            }
            Action::StartReading { who } => {
                if let Some(who) = pick(who) {
                    d.start_reading(NAMES[who]);
                    m.c(who).reading = true;
                    m.settle();
                }
            }
            Action::Drain { who, n } => {
                if let Some(who) = pick(who) {
                    d.drain(NAMES[who], n);
                    m.drain(who, n);
                }
            }
            Action::Advance { ms } => {
                d.advance(Duration::from_millis(ms));
                m.advance(Duration::from_millis(ms));
            }
        }
        check(&d, &m)?;
    }
    if shutdown_at.is_some() && !m.shutting_down {
        d.shutdown();
        m.shutdown();
        check(&d, &m)?;
    }
    // Let every deadline pass: everything still pending plays out the same way.
    d.advance(Duration::from_secs(20));
    m.advance(Duration::from_secs(20));
    check(&d, &m)?;
    Ok(d.server.stats().clone())
}

fn runs() -> impl Strategy<Value = (Vec<Action>, Option<usize>)> {
    (prop::collection::vec(action(), 1..120), prop::option::weighted(0.3, 0..150usize))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, max_shrink_iters: 4096, ..ProptestConfig::default() })]

    #[test]
    fn the_core_behaves_like_the_model_of_spec_md_under_random_interleavings((actions, shutdown_at) in runs()) {
        run(actions, shutdown_at)?;
    }
}

/// Guards the generator: random runs must reach every way a connection ends, or the
/// comparison above would silently stop covering them.
#[test]
fn random_runs_reach_every_kind_of_departure() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
    let mut runner =
        TestRunner::new_with_rng(ProptestConfig::default(), TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let mut closed = HashMap::new();
    let mut errors = 0;
    for _ in 0..200 {
        let (actions, shutdown_at) = runs().new_tree(&mut runner).unwrap().current();
        let stats = run(actions, shutdown_at).unwrap();
        errors += stats.errors_sent;
        for reason in CloseReason::ALL {
            *closed.entry(reason).or_insert(0) += stats.closed(reason);
        }
    }
    assert!(errors > 0);
    for (reason, n) in closed {
        assert!(n > 0, "no run ended a connection as {}", reason.as_str());
    }
}

#[test]
fn normalise_sorts_only_what_the_server_may_order() {
    let lines: Vec<String> = ["USERS b a", "LEAVE z SLOW", "LEAVE y SLOW", "MSG a hi", "LEAVE x SLOW", "LEAVE w QUIT"]
        .map(String::from)
        .into();
    assert_eq!(
        normalise(&lines),
        ["USERS a b", "LEAVE y SLOW", "LEAVE z SLOW", "MSG a hi", "LEAVE x SLOW", "LEAVE w QUIT"]
    );
}
