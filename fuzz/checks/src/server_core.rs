//! `server_core`: sequences of events from several connections into the sans-IO server, as an
//! adapter following `core/mod.rs`'s driving contract would produce them, checked after every step.
//!
//! The input picks a small configuration (*L*, *M*, *A*, a *Q* just above the least the config
//! allows, flood control on or off), then up to [`MAX_EVENTS`] events: connects from three
//! addresses, reads (biased towards valid commands over a small nick alphabet with case variants,
//! so nicks collide; also raw bytes, lines around *L*, CR LF, partial lines), end of input,
//! partial drains of the output, closes, time advancing, ticks and a shutdown. The simulated
//! adapter obeys the contract: it reads only while [`IoState::read`], at most [`MAX_READ`] bytes,
//! and takes the woken list after every call.
//!
//! Connections speak lines or, from a second kind of connect, PodSixNet frames (SPEC.md §16): the
//! same generated pieces are sent as the dicts R-PSN-4 maps them to. Every byte the core queues
//! for a connection is read back by a [`View`]: a client that parses each unit with the protocol
//! crate and tracks the room from its user list, `JOIN` and `LEAVE` (and `players` frames).
//! After every step:
//!
//! - `check_invariants()` holds;
//! - every queued line is a valid server line of at most *L* bytes (R-SYN-2, R-TRANS-4), every
//!   frame a valid server frame (R-PSN-1, R-PSN-6); queued output only ever grows at the end,
//!   except when a slow consumer's queue is discarded, and then no unit has been cut in half;
//! - registered nicks are unique under case folding (R-NICK-2) and match `member_count()`;
//! - each registered client's view of the room (user list, then `JOIN`/`LEAVE`) is exactly the
//!   membership (R-ORDER-1, R-ORDER-4), a `USERS` reply equals it too, and lists are never
//!   interleaved with other lines (R-LIST-1);
//! - a connection that is not registered receives only `HELLO`, `ERROR`, `PONG` and `BYE` (plus
//!   its `WELCOME` and list) (R-STATE-2), the first line is `HELLO` or a refusal (R-REG-1),
//!   a fatal `ERROR` is followed by `BYE` (R-ERR-2) and nothing follows `BYE`;
//! - queued output is bounded by *Q* plus the two closing lines (R-LIMIT-3, R-LIMIT-4).
//!
//! At the end the server shuts down: every connection still open gets its `BYE` (R-SHUT-1), and
//! once every socket is closed the core holds no connection and no member.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use minichat_protocol::Limits;
use minichat_protocol::podsixnet::{self, Dict, TERMINATOR, Value};
use minichat_server::core::{CloseMode, ConnId, IoState, MAX_READ, Profile, Server};
use minichat_server::{Config, ConfigError};

use crate::client_view::View;

/// The most events one input drives, so every input runs in bounded time.
pub const MAX_EVENTS: usize = 300;
/// The most connections the simulated adapter keeps open at once.
const MAX_CONNS: usize = 8;
/// What a closing connection may hold beyond *Q*: `ERROR SLOW_CONSUMER …` and `BYE`, or `ERROR
/// TIMEOUT …`/`SHUTTING_DOWN …` and `BYE` (each `ERROR` under 128 bytes).
const CLOSING_SLACK: usize = 256;

const PEERS: [IpAddr; 3] =
    [IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), IpAddr::V6(Ipv6Addr::LOCALHOST)];
/// Few nicks, with case variants, so that registrations collide.
const NICKS: [&str; 8] = ["a", "A", "b", "B", "ab", "aB", "_", "c-1"];
const TEXTS: [&str; 6] = ["hi", " x ", "ça va ? 🎉", "  ", "a b c", "x"];
const TOKENS: [&str; 4] = ["1", "idle-1", "~x", "tok"];
const STEPS: [Duration; 8] = [
    Duration::from_millis(1),
    Duration::from_millis(99),
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(15),
    Duration::from_secs(30),
    Duration::from_secs(31),
    Duration::from_secs(61),
];

/// What the simulated adapter does next. Connection indexes are taken modulo the open connections.
#[derive(Clone, Debug)]
enum Event {
    /// From `PEERS[i % 3]`, speaking lines for `i < 3` and PodSixNet frames for `i >= 3`.
    Connect(usize),
    Receive(usize, Vec<u8>),
    PeerClosed(usize),
    /// Write a share (out of 255) of the connection's queued output, at least one byte.
    Written(usize, u8),
    Closed(usize),
    Advance(Duration),
    Tick,
    /// Advance to the core's next deadline, then tick.
    TickToDeadline,
    Shutdown,
}

/// The `server_core` target.
pub fn server_core(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(config) = config(&mut u) else { return };
    let mut sim = Sim::new(config);
    sim.trace = std::env::var_os("MINICHAT_FUZZ_TRACE").is_some();
    // `Unstructured` yields zeros once the input is used up: stop there, not at MAX_EVENTS.
    for _ in 0..MAX_EVENTS {
        if u.is_empty() {
            break;
        }
        let Ok(event) = event(&mut u, sim.clients.len(), sim.limits) else { break };
        sim.apply(event);
    }
    sim.finish();
}

fn config(u: &mut Unstructured<'_>) -> arbitrary::Result<Config> {
    let flood = u.ratio(1, 2)?;
    let mut config = Config {
        max_line: *u.choose(&[128, 200, 1024])?,
        max_clients: u.int_in_range(1..=5)?,
        max_per_address: u.int_in_range(0..=3)?,
        msg_rate: if flood { u.int_in_range(1..=5)? } else { 0 },
        msg_burst: u.int_in_range(1..=4)?,
        max_queue: 0,
        ..Config::default()
    };
    // The least Q the config accepts (room for a full user list), plus a little: small enough
    // that slow consumers happen.
    config.max_queue = match config.validate() {
        Err(ConfigError::QueueTooSmall { needed, .. }) => needed + usize::from(u.arbitrary::<u8>()?) * 16,
        other => panic!("a config with Q = 0 validates as {other:?}"),
    };
    config.validate().unwrap_or_else(|e| panic!("the fuzz config {config:?} is refused: {e}"));
    Ok(config)
}

fn event(u: &mut Unstructured<'_>, open: usize, limits: Limits) -> arbitrary::Result<Event> {
    let kind = u.choose_index(17)?;
    let conn = u.arbitrary::<u8>()? as usize;
    if open == 0 || kind < 2 {
        return Ok(Event::Connect(u.choose_index(2 * PEERS.len())?));
    }
    Ok(match kind {
        2..=8 => Event::Receive(conn, read(u, limits)?),
        9 => Event::PeerClosed(conn),
        10 | 11 => Event::Written(conn, u.arbitrary()?),
        12 => Event::Closed(conn),
        13 => Event::Advance(*u.choose(&STEPS)?),
        14 => Event::Tick,
        15 => Event::TickToDeadline,
        _ if u.ratio(1, 8)? => Event::Shutdown,
        _ => Event::Written(conn, 255),
    })
}

/// The bytes of one read: one to three pieces of lines.
fn read(u: &mut Unstructured<'_>, limits: Limits) -> arbitrary::Result<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..u.int_in_range(1..=3)? {
        line(u, limits, &mut out)?;
    }
    out.truncate(MAX_READ);
    Ok(out)
}

fn line(u: &mut Unstructured<'_>, limits: Limits, out: &mut Vec<u8>) -> arbitrary::Result<()> {
    let word = |u: &mut Unstructured<'_>, w: &str| -> arbitrary::Result<String> {
        Ok(match u.choose_index(4)? {
            0 => w.to_ascii_lowercase(),
            1 => w[..1].to_owned() + &w[1..].to_ascii_lowercase(),
            _ => w.to_owned(),
        })
    };
    let piece = match u.choose_index(14)? {
        0..=2 => format!("{} {}", word(u, "USER")?, u.choose(&NICKS)?),
        3..=5 => format!("{} {}", word(u, "MSG")?, u.choose(&TEXTS)?),
        6 => word(u, "USERS")?,
        7 => {
            let ping_or_pong = *u.choose(&["PING", "PONG"])?;
            format!("{} {}", word(u, ping_or_pong)?, u.choose(&TOKENS)?)
        }
        8 => match u.choose_index(3)? {
            0 => word(u, "QUIT")?,
            1 => format!("{} bye now", word(u, "QUIT")?),
            _ => "QUIT   ".to_owned(),
        },
        9 => {
            let raw: &[u8] = u.arbitrary()?;
            out.extend_from_slice(&raw[..raw.len().min(64)]);
            String::new()
        }
        10 => {
            // Lines and texts at their limits, give or take a byte (R-TRANS-4, R-MSG-3).
            let delta = u.int_in_range(0..=3)?;
            if u.ratio(1, 2)? {
                "x".repeat(limits.max_line() + delta - 2)
            } else {
                format!("MSG {}", "y".repeat(limits.max_text() + delta - 2))
            }
        }
        11 => String::new(),
        12 => u.choose(&["HELP", "USER", "USER 9lives", "USERS all", "PING", "MSG", "QUIT \u{1b}[2J"])?.to_string(),
        _ => format!("USER {}", u.choose(&NICKS)?).to_ascii_uppercase(),
    };
    out.extend_from_slice(piece.as_bytes());
    out.extend_from_slice(u.choose(&[&b"\n"[..], b"\n", b"\n", b"\r\n", b"", b"\r"])?);
    Ok(())
}

/// One connection as the simulated adapter and its client see it.
struct Client {
    id: ConnId,
    podsixnet: bool,
    view: View,
    /// Bytes queued by the core and already read by the view, not yet written.
    pending: Vec<u8>,
    /// The last bytes written to the socket (as many as a unit's end has), to tell whether the
    /// writes stopped inside a unit.
    written_tail: Vec<u8>,
    was_closing: bool,
    peer_closed: bool,
}

struct Sim {
    server: Server,
    config: Config,
    limits: Limits,
    now: Instant,
    clients: Vec<Client>,
    shut_down: bool,
    events: Vec<Event>,
    woken: Vec<ConnId>,
    /// Print each event and each line a client reads (`MINICHAT_FUZZ_TRACE=1`), to read a crash.
    trace: bool,
}

impl Sim {
    fn new(config: Config) -> Sim {
        let server = Server::new(&config).unwrap_or_else(|e| panic!("Server::new refuses {config:?}: {e}"));
        let limits = server.limits();
        Sim {
            server,
            config,
            limits,
            now: Instant::now(),
            clients: Vec::new(),
            shut_down: false,
            events: Vec::new(),
            woken: Vec::new(),
            trace: false,
        }
    }

    fn apply(&mut self, event: Event) {
        if self.trace {
            match &event {
                Event::Receive(i, bytes) => {
                    eprintln!("#{} Receive({i}, {:?})", self.events.len(), String::from_utf8_lossy(bytes))
                }
                other => eprintln!("#{} {other:?}", self.events.len()),
            }
        }
        self.events.push(event.clone());
        let pick = |i: usize, clients: &[Client]| i % clients.len();
        match event {
            Event::Connect(i) => {
                if self.clients.len() >= MAX_CONNS {
                    return;
                }
                let podsixnet = i >= PEERS.len();
                let profile = if podsixnet { Profile::PodSixNet } else { Profile::Line };
                let id = self.server.connect_with(profile, PEERS[i % PEERS.len()], self.now);
                let view = View::new(self.limits, podsixnet);
                self.clients.push(Client {
                    id,
                    podsixnet,
                    view,
                    pending: Vec::new(),
                    written_tail: Vec::new(),
                    was_closing: false,
                    peer_closed: false,
                });
            }
            Event::Receive(i, bytes) => {
                let client = &self.clients[pick(i, &self.clients)];
                let id = client.id;
                let bytes = if client.podsixnet { as_frames(&bytes) } else { bytes };
                if self.io(id).read {
                    for read in bytes.chunks(MAX_READ) {
                        self.server.receive(id, read, self.now);
                    }
                }
            }
            Event::PeerClosed(i) => {
                let c = pick(i, &self.clients);
                let id = self.clients[c].id;
                // End of input is what a read returns, and the adapter reads only while told to.
                if self.io(id).read {
                    self.server.peer_closed(id, self.now);
                    self.clients[c].peer_closed = true;
                }
            }
            Event::Written(i, share) => {
                let c = pick(i, &self.clients);
                let client = &mut self.clients[c];
                let queued = client.pending.len();
                if queued == 0 {
                    return;
                }
                let n = 1 + (queued - 1) * usize::from(share) / 255;
                self.server.written(client.id, n);
                client.written_tail.extend_from_slice(&client.pending[n.saturating_sub(TERMINATOR.len())..n]);
                let excess = client.written_tail.len().saturating_sub(TERMINATOR.len());
                client.written_tail.drain(..excess);
                client.pending.drain(..n);
            }
            Event::Closed(i) => {
                let client = self.clients.remove(pick(i, &self.clients));
                self.server.closed(client.id, self.now);
            }
            Event::Advance(step) => self.now += step,
            Event::Tick => self.server.tick(self.now),
            Event::TickToDeadline => {
                if let Some(deadline) = self.server.next_deadline() {
                    self.now = self.now.max(deadline);
                }
                self.server.tick(self.now);
            }
            Event::Shutdown => {
                if !self.shut_down {
                    self.shut_down = true;
                    self.server.shutdown(self.now);
                }
            }
        }
        self.check();
    }

    fn io(&self, id: ConnId) -> IoState {
        self.server.io(id).unwrap_or_else(|| self.violated(format!("{id:?} is open but io() says it is dead")))
    }

    /// Everything checked after each step.
    fn check(&mut self) {
        if let Err(e) = self.server.check_invariants() {
            self.violated(format!("check_invariants: {e}"));
        }
        self.woken.clear();
        self.server.take_woken(&mut self.woken);
        for id in &self.woken {
            if !self.clients.iter().any(|c| c.id == *id) {
                self.violated(format!("woken {id:?} is not an open connection"));
            }
        }
        for c in 0..self.clients.len() {
            self.read_output(c);
        }
        self.check_room();
        if self.server.connection_count() != self.clients.len() {
            self.violated(format!(
                "{} connections open, the core counts {}",
                self.clients.len(),
                self.server.connection_count()
            ));
        }
    }

    /// Feeds what the core queued since the last step to the client's view.
    fn read_output(&mut self, c: usize) {
        let id = self.clients[c].id;
        let io = self.io(id);
        let queued = self.server.queued_len(id);
        // A closing connection may also hold the rest of a line half written (at most L + 1).
        let closing_bound = self.config.max_queue + self.limits.max_line() + 1 + CLOSING_SLACK;
        let bound = if io.close.is_some() { closing_bound } else { self.config.max_queue };
        if queued > bound {
            self.violated(format!("{queued} bytes queued for {id:?}, over {bound} (R-LIMIT-3)"));
        }
        if io.write != (queued > 0) {
            self.violated(format!("io().write is {} with {queued} bytes queued", io.write));
        }
        let newly_closing = io.close.is_some() && !self.clients[c].was_closing;
        self.clients[c].was_closing = io.close.is_some();
        let out: Vec<u8> = self.server.output(id).flat_map(|p| p.to_vec()).collect();
        if out.len() != queued {
            self.violated(format!("output() holds {} bytes, queued_len() says {queued}", out.len()));
        }
        let client = &mut self.clients[c];
        if self.trace && out.starts_with(&client.pending) {
            trace_units(c, &out[client.pending.len()..], client.podsixnet);
        }
        let result = if out.starts_with(&client.pending) {
            let new = &out[client.pending.len()..];
            client.view.feed(new)
        } else if newly_closing && io.close == Some(CloseMode::Abandon) {
            // A slow consumer: its queue was discarded and replaced by ERROR + BYE (R-LIMIT-3). A
            // unit already half written must be finished first, or the client reads its start
            // glued to the ERROR.
            let rest = unwritten_rest_of_unit(&client.written_tail, &client.pending, client.podsixnet);
            if out.starts_with(&client.pending[..rest]) {
                client.view.discarded();
                client.view.feed(&out[rest..])
            } else {
                Err(format!(
                    "the slow consumer's queue was discarded with a line half written, so the client reads the \
                     start of that line glued to the next one; its unwritten rest was {:?}",
                    String::from_utf8_lossy(&client.pending[..rest])
                ))
            }
        } else {
            Err(format!(
                "queued output changed other than at its end: had {} bytes, now {}",
                client.pending.len(),
                out.len()
            ))
        };
        client.pending = out;
        if let Err(e) = result {
            self.violated(format!("{id:?}: {e}"));
        }
    }

    /// Nick uniqueness and every registered client's view of the room against the membership.
    fn check_room(&self) {
        let mut members: Vec<&str> = Vec::new();
        for client in &self.clients {
            if self.io(client.id).close.is_none() {
                if let Some(nick) = client.view.nick.as_deref() {
                    members.push(nick);
                }
            }
        }
        for (i, a) in members.iter().enumerate() {
            if let Some(b) = members[i + 1..].iter().find(|b| b.eq_ignore_ascii_case(a)) {
                self.violated(format!("{a} and {b} are registered at once (R-NICK-2)"));
            }
        }
        if members.len() != self.server.member_count() {
            self.violated(format!("clients registered as {members:?}, the core counts {}", self.server.member_count()));
        }
        let membership: BTreeSet<&str> = members.iter().copied().collect();
        for client in &self.clients {
            if self.io(client.id).close.is_some() {
                continue;
            }
            if client.view.in_list() {
                self.violated(format!("{:?}: a user list is unfinished between two steps (R-LIST-1)", client.id));
            }
            if let Some(view) = &client.view.members {
                let view: BTreeSet<&str> = view.iter().map(String::as_str).collect();
                if view != membership {
                    self.violated(format!(
                        "{:?} ({:?}) sees the room as {view:?}, but it is {membership:?} (R-ORDER-1, R-ORDER-4)",
                        client.id, client.view.nick
                    ));
                }
            }
        }
        if self.shut_down
            && (self.server.member_count() != 0 || self.clients.iter().any(|c| self.io(c.id).close.is_none()))
        {
            self.violated("after shutdown, a connection is still open or a member still registered (R-SHUT-1)".into());
        }
    }

    /// Shuts down, lets every client read everything, closes every socket: nothing may remain.
    fn finish(mut self) {
        if !self.shut_down {
            self.apply(Event::Shutdown);
        }
        for c in 0..self.clients.len() {
            self.apply(Event::Written(c, 255));
        }
        self.apply(Event::Advance(self.config.shutdown_grace + Duration::from_secs(1)));
        self.apply(Event::Tick);
        for client in &self.clients {
            if !client.view.bye && !client.peer_closed {
                self.violated(format!("{:?} was shut down without BYE (R-SHUT-1)", client.id));
            }
            if self.io(client.id).close.is_none() {
                self.violated(format!("{:?} is not closing after shutdown", client.id));
            }
        }
        while !self.clients.is_empty() {
            self.apply(Event::Closed(0));
        }
        if self.server.connection_count() != 0 || self.server.member_count() != 0 {
            self.violated("every socket is closed but the core still holds connections or members".into());
        }
    }

    fn violated(&self, what: String) -> ! {
        let recent = self.events.len().saturating_sub(12);
        let mut log = String::new();
        for (n, event) in self.events.iter().enumerate().skip(recent) {
            log += &format!("\n  #{n}: {event:?}");
        }
        panic!("server_core: {what}\n  config: {:?}\n  last events:{log}", self.config);
    }
}

/// How many bytes at the front of `pending` finish a unit (line or frame) whose start was written,
/// given the last bytes written: 0 when the writes stopped at a unit's end.
fn unwritten_rest_of_unit(written_tail: &[u8], pending: &[u8], podsixnet: bool) -> usize {
    let end: &[u8] = if podsixnet { &TERMINATOR } else { b"\n" };
    if written_tail.is_empty() || written_tail.ends_with(end) {
        return 0;
    }
    // The end may straddle what was written and what was not: look in both, past the written part.
    let seam: Vec<u8> = written_tail.iter().chain(pending).copied().collect();
    (0..seam.len())
        .filter(|&at| seam[at..].starts_with(end) && at + end.len() > written_tail.len())
        .map(|at| at + end.len() - written_tail.len())
        .next()
        .unwrap_or(pending.len())
}

/// Prints what client `c` reads: lines as text, PodSixNet frames as the values they decode to.
fn trace_units(c: usize, bytes: &[u8], podsixnet: bool) {
    if !podsixnet {
        for line in String::from_utf8_lossy(bytes).lines() {
            eprintln!("    {c} reads {line}");
        }
        return;
    }
    let mut framer = podsixnet::Framer::default();
    let mut input = bytes;
    while let Some(Ok(payload)) = framer.next_frame(&mut input) {
        match podsixnet::decode(&payload) {
            Ok(value) => eprintln!("    {c} reads {value:?}"),
            Err(e) => eprintln!("    {c} reads an undecodable frame: {e}"),
        }
    }
}

/// The same pieces as PodSixNet frames: each line becomes the dict R-PSN-4 maps to it (whatever
/// its arguments, so invalid ones reach the server as invalid frames), a line with bytes no dict
/// string can hold goes as raw payload bytes, and an unterminated line as an unterminated frame.
fn as_frames(lines: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pieces = lines.split(|&b| b == b'\n').peekable();
    while let Some(piece) = pieces.next() {
        let terminated = pieces.peek().is_some();
        if !terminated && piece.is_empty() {
            break; // the last line had its LF
        }
        let line = piece.strip_suffix(b"\r").unwrap_or(piece);
        match std::str::from_utf8(line) {
            Ok(text) => {
                let dict = Value::Dict(frame_dict(text));
                out.extend_from_slice(&podsixnet::encode(&dict).expect("a flat dict of strings encodes"));
            }
            Err(_) => out.extend_from_slice(line),
        }
        if terminated {
            out.extend_from_slice(&podsixnet::TERMINATOR);
        }
    }
    out
}

/// The dict for one client line: its word picks the action, its argument fills the action's key.
fn frame_dict(line: &str) -> Dict {
    let (word, arg) = match line.split_once(' ') {
        Some((word, arg)) => (word, Some(arg)),
        None => (line, None),
    };
    let (action, key) = match word.to_ascii_uppercase().as_str() {
        // Both registration forms: lower-case words pick PodSixNet's own.
        "USER" if word == "user" => ("nickname", Some("nickname")),
        "USER" => ("username", Some("username")),
        "MSG" => ("message", Some("message")),
        "USERS" => ("users", Some("extra")),
        "PING" => ("ping", Some("token")),
        "PONG" => ("pong", Some("token")),
        "QUIT" => ("quit", Some("reason")),
        _ => (word, None),
    };
    let mut dict = Dict::new();
    if !action.is_empty() {
        dict.insert_str("action", Value::Str(action.to_owned()));
    }
    if let (Some(key), Some(arg)) = (key, arg) {
        dict.insert_str(key, Value::Str(arg.to_owned()));
    }
    dict
}
