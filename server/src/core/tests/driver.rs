//! A fake adapter for the core: named fake clients, explicit time, every byte accounted for.
//!
//! [`Driver`] does what `net` does, without sockets: it passes a client's bytes to
//! [`Server::receive`] only while [`IoState::read`] allows (at most [`MAX_READ`] per call), tells
//! the core about end of input after the last byte, writes queued output for clients that are
//! reading, and closes connections when the core says so. Like the real connection tasks, it
//! touches a connection only when the core woke it or when what the connection last saw
//! (readable input, pending output) lets its task run — so a missing wake-up shows as a client
//! that never gets its line.
//!
//! Every line a client receives is checked on arrival: LF-terminated without CR (R-TRANS-3),
//! at most *L* bytes (R-TRANS-4), and valid per the grammar (R-SYN-2). After every event,
//! [`Server::check_invariants`] must hold.
//!
//! Time is [`Driver::advance`]: it fires each deadline at its exact instant, in order.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use minichat_protocol::parse_server_line;

use crate::config::Config;
use crate::core::{CloseMode, ConnId, IoState, MAX_READ, Server};

/// The address every client connects from unless a test says otherwise.
pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// One fake client: what it sent that the core has not read yet, and what it received.
#[derive(Debug)]
pub struct FakeClient {
    pub name: String,
    pub id: ConnId,
    /// Bytes written by the client that the adapter has not handed to the core yet.
    unread: Vec<u8>,
    /// The client ended its side; `eof_told` once the core has been told.
    eof: bool,
    eof_told: bool,
    /// Whether the client reads what the server sends (a stalled client's socket is full).
    reading: bool,
    /// Complete lines received, without their LF.
    received: Vec<String>,
    /// Received bytes of an incomplete line.
    partial: Vec<u8>,
    /// Lines already handed to the test by [`Driver::take`].
    taken: usize,
    /// What the connection's task last saw; it runs again when woken or when this lets it.
    seen: IoState,
    /// The core still knows the connection (`closed` not called yet).
    open: bool,
    /// Bytes the core still held when the adapter gave up on the connection.
    abandoned: usize,
}

/// The core plus its fake clients and clock.
pub struct Driver {
    pub server: Server,
    max_line: usize,
    now: Instant,
    start: Instant,
    clients: Vec<FakeClient>,
    by_name: HashMap<String, usize>,
    woken: Vec<ConnId>,
}

impl Driver {
    /// A core with the reference defaults.
    pub fn new() -> Driver {
        Driver::with_config(Config::default())
    }

    pub fn with_config(config: Config) -> Driver {
        let server = Server::new(&config).expect("a valid test configuration");
        let start = Instant::now();
        Driver {
            max_line: server.limits().max_line(),
            server,
            now: start,
            start,
            clients: Vec::new(),
            by_name: HashMap::new(),
            woken: Vec::new(),
        }
    }

    /// Time since the driver started.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    // ---------- clients ----------

    /// Opens a connection named `name` from 127.0.0.1.
    pub fn connect(&mut self, name: &str) {
        self.connect_from(name, LOCALHOST);
    }

    /// Opens a connection named `name` from `peer`. A name can be reused once its connection
    /// is closed.
    pub fn connect_from(&mut self, name: &str, peer: IpAddr) {
        if let Some(&i) = self.by_name.get(name) {
            assert!(!self.clients[i].open, "{name} is still connected");
        }
        let id = self.server.connect(peer, self.now);
        let index = self.clients.len();
        self.clients.push(FakeClient {
            name: name.to_owned(),
            id,
            unread: Vec::new(),
            eof: false,
            eof_told: false,
            reading: true,
            received: Vec::new(),
            partial: Vec::new(),
            taken: 0,
            seen: IoState { read: false, write: false, close: None },
            open: true,
            abandoned: 0,
        });
        self.by_name.insert(name.to_owned(), index);
        // A new connection's task runs once at the start.
        self.woken.push(id);
        self.pump();
    }

    /// Connects and registers `name` as its nick, and checks that registration succeeded.
    /// Leaves the registration's lines in the client's stream.
    pub fn register(&mut self, name: &str) {
        self.connect(name);
        self.send(name, &format!("USER {name}"));
        let lines = self.lines(name);
        assert!(lines.iter().any(|l| *l == format!("WELCOME {name}")), "{name} did not register: {lines:#?}");
    }

    /// Registers every name in turn, then forgets everything they received so far.
    pub fn room(&mut self, names: &[&str]) {
        for name in names {
            self.register(name);
        }
        for name in names {
            self.take(name);
        }
    }

    /// What every connection ever opened received, in connection order.
    pub fn all_streams(&self) -> impl Iterator<Item = &[String]> {
        self.clients.iter().map(|c| c.received.as_slice())
    }

    fn index(&self, name: &str) -> usize {
        *self.by_name.get(name).unwrap_or_else(|| panic!("no client named {name}"))
    }

    pub fn client(&self, name: &str) -> &FakeClient {
        &self.clients[self.index(name)]
    }

    pub fn id(&self, name: &str) -> ConnId {
        self.client(name).id
    }

    /// Whether the core still has the connection.
    pub fn is_open(&self, name: &str) -> bool {
        self.client(name).open
    }

    // ---------- client actions ----------

    /// The client writes `line` and LF.
    pub fn send(&mut self, name: &str, line: &str) {
        let mut bytes = line.as_bytes().to_vec();
        bytes.push(b'\n');
        self.send_bytes(name, &bytes);
    }

    /// The client writes `bytes` as they are.
    pub fn send_bytes(&mut self, name: &str, bytes: &[u8]) {
        let i = self.index(name);
        let c = &mut self.clients[i];
        assert!(!c.eof, "{name} already ended its side");
        c.unread.extend_from_slice(bytes);
        self.pump();
    }

    /// Several clients' lines are read one after the other, in the order given, before any
    /// task writes what they caused — as when their segments arrive together.
    pub fn send_together(&mut self, sends: &[(&str, &str)]) {
        for (name, line) in sends {
            let i = self.index(name);
            let c = &mut self.clients[i];
            c.unread.extend_from_slice(line.as_bytes());
            c.unread.push(b'\n');
            self.read_once(i);
        }
        self.pump();
    }

    /// Hands `bytes` to the core for `name` whatever its [`IoState`] says, as a careless
    /// adapter would.
    pub fn receive_anyway(&mut self, name: &str, bytes: &[u8]) {
        let id = self.id(name);
        self.server.receive(id, bytes, self.now);
        self.pump();
    }

    /// The client ends its side of the connection (EOF after everything it sent).
    pub fn eof(&mut self, name: &str) {
        let i = self.index(name);
        self.clients[i].eof = true;
        self.pump();
    }

    /// The connection fails at once (reset): the adapter reports it closed.
    pub fn reset(&mut self, name: &str) {
        let i = self.index(name);
        let c = &mut self.clients[i];
        assert!(c.open, "{name} is already closed");
        c.open = false;
        let id = c.id;
        self.server.closed(id, self.now);
        self.pump();
    }

    /// The client stops reading: its socket fills up and nothing more can be written to it.
    pub fn stop_reading(&mut self, name: &str) {
        let i = self.index(name);
        self.clients[i].reading = false;
    }

    /// The client reads again: its task can write what was queued.
    pub fn start_reading(&mut self, name: &str) {
        let i = self.index(name);
        self.clients[i].reading = true;
        self.pump();
    }

    /// One write of at most `n` bytes reaches a client that is not reading otherwise.
    pub fn drain(&mut self, name: &str, n: usize) {
        let i = self.index(name);
        if self.clients[i].open {
            self.write_to(i, n);
            // The socket took those bytes: its task runs, as on a writable event.
            self.run_task(i);
        }
        self.pump();
    }

    // ---------- time ----------

    /// Lets `by` pass, firing every deadline at its own instant.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(deadline) = self.server.next_deadline() {
            if deadline > target {
                break;
            }
            assert!(deadline >= self.now, "deadline in the past");
            self.now = deadline;
            self.server.tick(self.now);
            self.pump();
            if let Some(next) = self.server.next_deadline() {
                assert!(next > self.now, "tick left a due deadline behind");
            }
        }
        self.now = target;
    }

    /// The operator stops the server (R-SHUT-1); the adapter then runs.
    pub fn shutdown(&mut self) {
        self.server.shutdown(self.now);
        self.pump();
    }

    /// The next line `name` received that the test has not taken yet.
    pub fn next_line(&mut self, name: &str) -> Option<String> {
        let i = self.index(name);
        let c = &mut self.clients[i];
        let line = c.received.get(c.taken).cloned();
        if line.is_some() {
            c.taken += 1;
        }
        line
    }

    /// Fires the core's next deadline, if it has one. Returns whether it did.
    pub fn advance_to_next_deadline(&mut self) -> bool {
        match self.server.next_deadline() {
            Some(deadline) => {
                let by = deadline.saturating_duration_since(self.now);
                self.advance(by);
                true
            }
            None => false,
        }
    }

    // ---------- what clients received ----------

    /// Every line `name` received so far.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.client(name).received.clone()
    }

    /// The lines `name` received since the last `take`.
    pub fn take(&mut self, name: &str) -> Vec<String> {
        let i = self.index(name);
        let c = &mut self.clients[i];
        let new = c.received[c.taken..].to_vec();
        c.taken = c.received.len();
        new
    }

    /// Asserts that `name` received exactly `expected` since the last `take`.
    #[track_caller]
    pub fn expect(&mut self, name: &str, expected: &[&str]) {
        let got = self.take(name);
        assert_eq!(got, expected, "what {name} received");
    }

    /// Asserts that `name` received nothing since the last `take`.
    #[track_caller]
    pub fn expect_nothing(&mut self, name: &str) {
        self.expect(name, &[]);
    }

    /// Takes `name`'s new lines and asserts that they are exactly one `ERROR` with `code`.
    #[track_caller]
    pub fn expect_error(&mut self, name: &str, code: &str) {
        let got = self.take(name);
        assert!(
            got.len() == 1 && got[0].starts_with(&format!("ERROR {code} ")),
            "{name} should have received exactly one ERROR {code}, got {got:#?}"
        );
    }

    /// Takes `name`'s new lines and asserts they are `ERROR <code> …` then `BYE`, and that the
    /// connection is closed.
    #[track_caller]
    pub fn expect_fatal(&mut self, name: &str, code: &str) {
        let got = self.take(name);
        assert!(
            got.len() == 2 && got[0].starts_with(&format!("ERROR {code} ")) && got[1] == "BYE",
            "{name} should have received ERROR {code} and BYE, got {got:#?}"
        );
        assert!(!self.is_open(name), "{name} should be closed after BYE");
    }

    /// Bytes the core still held for `name` when the adapter abandoned the connection.
    pub fn abandoned(&self, name: &str) -> usize {
        self.client(name).abandoned
    }

    /// Bytes the core holds for `name`.
    pub fn queued(&self, name: &str) -> usize {
        self.server.queued_len(self.id(name))
    }

    // ---------- the adapter ----------

    /// Runs the connection "tasks" until none has anything to do, then checks the invariants.
    fn pump(&mut self) {
        loop {
            self.server.take_woken(&mut self.woken);
            let mut ran = false;
            for i in 0..self.clients.len() {
                let c = &self.clients[i];
                if !c.open {
                    continue;
                }
                let woken = self.woken.contains(&c.id);
                let readable = c.seen.read && (!c.unread.is_empty() || (c.eof && !c.eof_told));
                let writable = c.seen.write && c.reading;
                if woken || readable || writable {
                    self.woken.retain(|id| *id != self.clients[i].id);
                    ran |= self.run_task(i);
                }
            }
            self.woken.clear();
            if !ran {
                break;
            }
        }
        if let Err(broken) = self.server.check_invariants() {
            panic!("invariant broken at {:?}: {broken}", self.elapsed());
        }
    }

    /// One turn of connection `i`'s task. Returns whether it did anything.
    fn run_task(&mut self, i: usize) -> bool {
        let id = self.clients[i].id;
        let mut did = false;
        let Some(mut io) = self.server.io(id) else { panic!("the core forgot open connection {id:?}") };
        if io.write && self.clients[i].reading {
            did |= self.write_to(i, usize::MAX);
            io = self.server.io(id).expect("open");
        }
        match io.close {
            Some(CloseMode::Abandon) => {
                // One try, no waiting (R-LIMIT-3): a reading client takes it all.
                if self.clients[i].reading {
                    self.write_to(i, usize::MAX);
                }
                self.clients[i].abandoned = self.server.output(id).map(|p| p.len()).sum();
                self.close(i);
                return true;
            }
            Some(CloseMode::Flush) if !io.write => {
                self.close(i);
                return true;
            }
            _ => {}
        }
        did |= self.read_once(i);
        did
    }

    /// Hands the core one read of client `i`'s input (or its EOF) if the core wants input.
    fn read_once(&mut self, i: usize) -> bool {
        let c = &mut self.clients[i];
        let id = c.id;
        let read = c.open && self.server.io(id).is_some_and(|io| io.read);
        let mut did = false;
        if read && !c.unread.is_empty() {
            let n = c.unread.len().min(MAX_READ);
            let chunk: Vec<u8> = c.unread.drain(..n).collect();
            self.server.receive(id, &chunk, self.now);
            did = true;
        } else if read && c.eof && !c.eof_told {
            c.eof_told = true;
            self.server.peer_closed(id, self.now);
            did = true;
        }
        if let Some(io) = self.server.io(id) {
            self.clients[i].seen = io;
        }
        did
    }

    fn close(&mut self, i: usize) {
        let c = &mut self.clients[i];
        c.open = false;
        self.server.closed(c.id, self.now);
    }

    /// Writes at most `max` queued bytes to client `i`. Returns whether anything was written.
    fn write_to(&mut self, i: usize, max: usize) -> bool {
        let id = self.clients[i].id;
        let mut bytes = Vec::new();
        for chunk in self.server.output(id) {
            let room = max - bytes.len();
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if bytes.len() == max {
                break;
            }
        }
        if bytes.is_empty() {
            return false;
        }
        self.server.written(id, bytes.len());
        let max_line = self.max_line;
        let c = &mut self.clients[i];
        for &b in &bytes {
            if b != b'\n' {
                c.partial.push(b);
                continue;
            }
            let line = String::from_utf8(std::mem::take(&mut c.partial))
                .unwrap_or_else(|e| panic!("{} received a line that is not UTF-8: {e}", c.name));
            assert!(!line.contains('\r'), "{} received a CR (R-TRANS-3): {line:?}", c.name);
            assert!(line.len() <= max_line, "{} received a line over L (R-TRANS-4): {line:?}", c.name);
            if let Err(e) = parse_server_line(&line) {
                panic!("{} received a line outside the grammar (R-SYN-2): {e}: {line:?}", c.name);
            }
            c.received.push(line);
        }
        true
    }
}
