//! A small, independent minichat server for the suite's own tests: correct by default, with one
//! deliberate flaw switched on per test, so the tests can prove that each case catches the flaw
//! it is about (a case no wrong server can fail would be a defect).
//!
//! It is written the way a student might write one — std::net, a reader and a writer thread per
//! connection, one mutex around the room — and does its own framing and parsing rather than using
//! the protocol crate, so that the suite is not only checked against code that shares its
//! assumptions. It implements every parameter the cases need (limits, timeouts, flood control,
//! slow consumers, shutdown), because every case must be able to pass on it.
//!
//! It also serves PodSixNet clients (SPEC.md §16) on a second port, in the same room
//! (`podsixnet.rs`): each line it would send a line client is sent to a PodSixNet client as the
//! frame that stands for it, and each frame it receives is acted on as the line it stands for.

#![allow(dead_code)]

mod podsixnet;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One deliberate departure from SPEC.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// No HELLO on connect (R-REG-1).
    NoHello,
    /// Lines end in CR LF (R-TRANS-3).
    CrLfOutput,
    /// CR before LF is not removed from client lines (R-TRANS-2).
    KeepsCr,
    /// A line of exactly L bytes is refused as too long (R-TRANS-4).
    LineLimitOffByOne,
    /// An overlong line gets its error and then the connection is closed (R-TRANS-5).
    OverlongCloses,
    /// An overlong line is accepted and acted on (R-TRANS-5).
    OverlongRelayed,
    /// An overlong line gets one error per read (R-TRANS-5, R-TRANS-6).
    OverlongErrorPerRead,
    /// Invalid UTF-8 in MSG is relayed as is (R-TRANS-7).
    InvalidUtf8Relayed,
    /// Control characters in MSG are relayed (R-TRANS-8).
    ControlCharsRelayed,
    /// TAB is not treated as a control character (R-TRANS-8).
    TabAllowed,
    /// An empty line is answered with UNKNOWN_COMMAND (R-TRANS-9).
    EmptyLineError,
    /// Only the first line of each read is processed; the rest is dropped (R-TRANS-10).
    FirstLineOnly,
    /// While any connection has a partial line, no other connection's lines are processed
    /// (a blocking readline; R-TRANS-1).
    BlockingPartialLine,
    /// An incomplete last line is processed at EOF (R-TRANS-11).
    TailProcessedOnEof,
    /// Command words must be upper case (R-SYN-1).
    CaseSensitiveCommands,
    /// State is checked before arguments (R-SYN-3).
    StateBeforeSyntax,
    /// Unknown commands are answered BAD_ARGUMENTS (R-ERR-1).
    WrongErrorCode,
    /// Any nick without spaces is accepted (R-NICK-1).
    AnyNick,
    /// Two clients may hold the same nick (R-NICK-2).
    DuplicateNicks,
    /// Nicks are compared case-sensitively (R-NICK-2).
    CaseSensitiveNicks,
    /// Nicks are lowercased in what the server sends (R-NICK-3).
    LowercasesNicks,
    /// A lost client's nick stays taken (R-NICK-4).
    NickNotFreed,
    /// The user list comes before WELCOME (R-REG-2).
    ListBeforeWelcome,
    /// The newcomer also gets a JOIN for itself (R-REG-3).
    JoinToSelf,
    /// A refused USER closes the connection (R-REG-4).
    RefusedUserCloses,
    /// USER when registered renames the client (R-REG-5).
    ReRegister,
    /// MSG and USERS work before registering (R-REG-6).
    NoRegistrationCheck,
    /// Room events go to every connection, registered or not (R-STATE-2).
    EventsToUnregistered,
    /// Lines after QUIT in the same read are still processed (R-STATE-1).
    ProcessAfterQuit,
    /// PING is not answered (R-STATE-1, R-ORDER-6).
    NoPong,
    /// The sender does not get its own MSG (R-MSG-1).
    NoEchoToSender,
    /// MSG text is trimmed of spaces (R-MSG-1).
    TrimsText,
    /// MSG with only spaces is relayed (R-MSG-2).
    RelaysBlank,
    /// The text limit counts characters, not bytes (R-MSG-3).
    TextLimitCountsChars,
    /// A text of exactly L - 64 bytes is refused (R-MSG-3).
    TextLimitOffByOne,
    /// The user list leaves out the member who registered last before the requester (R-LIST-2).
    ListMissesOne,
    /// ENDUSERS counts one too many (R-LIST-2).
    WrongEndusersCount,
    /// The whole user list goes on one line, however long (R-LIST-2, R-TRANS-4).
    ListOnOneLine,
    /// No LEAVE when a client quits (R-QUIT-1).
    NoLeaveOnQuit,
    /// QUIT with an all-space reason repeats the spaces (R-QUIT-1).
    QuitKeepsBlankReason,
    /// QUIT before registering is answered with LEAVE-like noise and no BYE (R-QUIT-2).
    QuitUnregisteredNoBye,
    /// No LEAVE when a connection is lost (R-LEAVE-1).
    NoLeaveOnLost,
    /// A lost connection's LEAVE is sent twice (R-LEAVE-2).
    LeaveTwice,
    /// A lost connection's LEAVE says QUIT (R-LEAVE-2).
    LostSaysQuit,
    /// Other clients get a MSG late, reordered against later ones (R-ORDER-2, R-ORDER-3).
    ReordersRelays,
    /// A newcomer sees the MSG sent just before it registered (R-ORDER-1).
    ReplaysLastMessage,
    /// PINGs in a read are answered before the other lines of that read (R-ORDER-5, R-ORDER-6).
    PingFirst,
    /// No connection limit (R-LIMIT-1).
    NoServerFull,
    /// No per-address limit (R-LIMIT-2).
    NoPerAddressLimit,
    /// No output bound: a slow consumer holds everyone up (R-LIMIT-3).
    NoSlowConsumerLimit,
    /// Lines over the flood rate are dropped (R-LIMIT-5).
    FloodDrops,
    /// Flood control sends no ERROR FLOOD (R-LIMIT-6).
    NoFloodError,
    /// No registration timeout (R-TIME-1).
    NoRegisterTimeout,
    /// Trickled bytes restart the line timeout (R-TIME-2).
    LineTimeoutRestarts,
    /// No idle PING (R-TIME-3).
    NoIdlePing,
    /// Only a PONG with the right token counts as an answer (R-TIME-4).
    PongMustMatch,
    /// An unanswered PING never times out (R-TIME-5).
    NoPingTimeout,
    /// Shutdown closes connections without ERROR SHUTTING_DOWN and BYE (R-SHUT-1).
    SilentShutdown,
    /// Shutdown sends LEAVE for everyone (R-SHUT-1).
    LeaveOnShutdown,
    /// Shutdown waits for every client to read everything (R-SHUT-2).
    ShutdownWaitsForever,
    /// The server sends ERROR with a fatal code and does not send BYE (R-ERR-2).
    FatalWithoutBye,
    /// PING arguments are not checked: PONG echoes anything (R-SYN-3).
    LaxPing,
    /// ERROR FLOOD for every delayed line (R-LIMIT-6).
    FloodErrorEveryLine,
    /// Nicks longer than 16 bytes are refused (R-NICK-1).
    ShortNicks,
    /// `-` and `_` fold equal (R-NICK-2 folds only A-Z).
    FoldsPunctuation,
    /// The quitter also gets its own LEAVE (R-LEAVE-3).
    LeaveToSelf,
    /// A read without LF is thrown away: one recv, one line (R-TRANS-10).
    DropsPartialReads,
    /// A long user list has the last MSG in the middle of it (R-LIST-1).
    SplitListWithMessage,
    /// ERROR codes are sent in lower case (R-SYN-2).
    LowercaseCodes,
    /// A PodSixNet connection gets no `connected` frame first (R-PSN-6).
    PsnNoConnected,
    /// The PodSixNet greeting explains the framing with the terminator itself in it (R-PSN-3).
    PsnTerminatorInGreeting,
    /// Message frames have `who` but no `expediteur` (R-PSN-6).
    PsnNoExpediteur,
    /// Message frames carry their keys out of order: who, expediteur, message (R-PSN-6).
    PsnKeysOutOfOrder,
    /// Errors go to PodSixNet clients as `error`, not `minichat_error` (R-PSN-6).
    PsnPlainError,
    /// No `players` frame after a `join` (R-PSN-7).
    PsnNoPlayersAfterJoin,
    /// The `players` frame after a `leave` still lists the one who left (R-PSN-7).
    PsnStalePlayers,
    /// The `nickname` action of PodSixNet's example chat is unknown (R-PSN-4).
    PsnNicknameUnknown,
    /// A frame with keys beyond the action's is refused (R-PSN-4).
    PsnExtraKeysRefused,
    /// A payload that is not rencode closes the connection, as PodSixNet itself does (R-PSN-5).
    PsnBadFrameCloses,
    /// An overlong payload closes the connection (R-PSN-2).
    PsnOverlongCloses,
    /// A payload of exactly L bytes is refused as too long (R-PSN-2).
    PsnFrameLimitOffByOne,
    /// PodSixNet members get idle PINGs, and are closed when they do not answer (R-PSN-8).
    PsnIdlePing,
    /// PodSixNet members hear nothing of line clients: two rooms, not one (R-PSN-1).
    PsnSeparateRoom,
    /// No registration or incomplete-frame timeout on PodSixNet connections (R-PSN-8).
    PsnNoTimeouts,
    /// Only the first frame of each read is acted on; the others are dropped (R-PSN-1).
    PsnFirstFrameOnly,
    /// `{"action": "quit", "reason": None}` leaves with the reason "None" (R-PSN-4).
    PsnQuitReasonNone,
}

/// The toy's parameters (same meaning as the reference server's flags).
#[derive(Clone, Debug)]
pub struct ToyConfig {
    pub max_line: usize,
    pub max_clients: usize,
    /// 0 = no limit.
    pub max_per_address: usize,
    pub max_queue: usize,
    pub register_timeout: Duration,
    pub line_timeout: Duration,
    pub idle_timeout: Duration,
    pub ping_timeout: Duration,
    pub shutdown_grace: Duration,
    /// (burst, lines per second); rate 0 = off.
    pub flood: (u32, u32),
    /// Where to accept PodSixNet clients (SPEC.md §16), if anywhere.
    pub podsixnet: Option<String>,
    pub flaw: Option<Flaw>,
    /// How long a reader thread dawdles before it acts on a `QUIT`. Not a flaw: nothing orders
    /// one connection's lines against another's, so a correct server may act on a `QUIT` after
    /// lines other connections sent later. With it set, a case that takes a barrier on one
    /// connection as proof that another's `QUIT` was acted on fails every time, not now and then.
    pub quit_delay: Duration,
}

impl Default for ToyConfig {
    fn default() -> Self {
        ToyConfig {
            max_line: 1024,
            max_clients: 1024,
            max_per_address: 0,
            max_queue: 256 * 1024,
            register_timeout: Duration::from_secs(30),
            line_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            ping_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
            flood: (20, 0),
            podsixnet: Some("127.0.0.1:0".into()),
            flaw: None,
            quit_delay: Duration::ZERO,
        }
    }
}

struct Outbox {
    state: Mutex<OutState>,
    wake: Condvar,
    stream: TcpStream,
    /// A PodSixNet client: frames, not lines.
    psn: bool,
}

#[derive(Default)]
struct OutState {
    queue: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Close once the queue is written.
    closing: bool,
    /// Stop at once (slow consumer, shutdown grace over).
    dead: bool,
    done: bool,
}

struct Client {
    ip: IpAddr,
    nick: Option<String>,
    out: Arc<Outbox>,
    /// A relayed MSG held back (flaw ReordersRelays).
    held: Option<Vec<u8>>,
}

#[derive(Default)]
struct Room {
    clients: BTreeMap<u64, Client>,
    /// Registration order.
    order: Vec<u64>,
    connections: usize,
    per_ip: HashMap<IpAddr, usize>,
    reserved: HashSet<String>,
    last_msg: Option<String>,
    /// Nicks registered over PodSixNet (flaw PsnSeparateRoom).
    psn_nicks: HashSet<String>,
}

struct Shared {
    cfg: ToyConfig,
    room: Mutex<Room>,
    stopping: AtomicBool,
    /// Who holds the whole server with a partial line (flaw BlockingPartialLine).
    gate: Mutex<Option<u64>>,
    gate_free: Condvar,
    writers: Mutex<usize>,
    writers_done: Condvar,
    next_id: AtomicU64,
}

/// A running toy server. Dropping it shuts it down.
pub struct Toy {
    addr: SocketAddr,
    podsixnet: Option<SocketAddr>,
    shared: Arc<Shared>,
    acceptors: Vec<JoinHandle<()>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Toy {
    pub fn start(cfg: ToyConfig) -> Toy {
        Toy::start_on("127.0.0.1:0", cfg)
    }

    pub fn start_on(listen: &str, cfg: ToyConfig) -> Toy {
        let bind_line = || TcpListener::bind(listen).expect("bind the toy server");
        let bind_psn = || cfg.podsixnet.as_ref().map(|a| TcpListener::bind(a).expect("bind the toy's PodSixNet port"));
        // A port we were given is bound before one the OS picks: whoever gave it to us found it
        // free by binding and releasing it, and the OS may hand that very port out again.
        let (listener, psn_listener) = if listen.ends_with(":0") {
            let psn = bind_psn();
            (bind_line(), psn)
        } else {
            (bind_line(), bind_psn())
        };
        let addr = listener.local_addr().unwrap();
        let podsixnet = psn_listener.as_ref().map(|l| l.local_addr().unwrap());
        let shared = Arc::new(Shared {
            cfg,
            room: Mutex::new(Room::default()),
            stopping: AtomicBool::new(false),
            gate: Mutex::new(None),
            gate_free: Condvar::new(),
            writers: Mutex::new(0),
            writers_done: Condvar::new(),
            next_id: AtomicU64::new(1),
        });
        let acceptor = |listener: TcpListener, psn: bool| {
            let s = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if s.stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        accept(&s, stream, psn);
                    }
                }
            })
        };
        let mut acceptors = vec![acceptor(listener, false)];
        acceptors.extend(psn_listener.map(|l| acceptor(l, true)));
        Toy { addr, podsixnet, shared, acceptors }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where PodSixNet clients connect, if the toy accepts them.
    pub fn podsixnet_addr(&self) -> Option<SocketAddr> {
        self.podsixnet
    }

    pub fn flaw(&self) -> Option<Flaw> {
        self.shared.cfg.flaw
    }

    /// Starts a graceful shutdown (SPEC.md §14) and returns at once.
    pub fn begin_shutdown(&self) {
        begin_shutdown(&self.shared);
        // Wake the acceptors, so they see the server is stopping.
        let _ = TcpStream::connect(self.addr);
        if let Some(p) = self.podsixnet {
            let _ = TcpStream::connect(p);
        }
    }

    /// Waits until every connection is closed, at most `limit`.
    pub fn wait_stopped(&self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        let mut writers = lock(&self.shared.writers);
        while *writers > 0 {
            let now = Instant::now();
            if now >= end {
                return false;
            }
            writers = self.shared.writers_done.wait_timeout(writers, end - now).unwrap_or_else(|e| e.into_inner()).0;
        }
        true
    }

    /// Shuts down and waits (what dropping does).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if self.acceptors.is_empty() {
            return;
        }
        self.begin_shutdown();
        for a in self.acceptors.drain(..) {
            let _ = a.join();
        }
        let grace = self.shared.cfg.shutdown_grace;
        if !self.wait_stopped(grace + Duration::from_secs(1)) {
            // ShutdownWaitsForever: the test that uses it has seen what it needed; end it now.
            kill_all(&self.shared);
            self.wait_stopped(Duration::from_secs(5));
        }
    }
}

impl Drop for Toy {
    fn drop(&mut self) {
        self.stop();
    }
}

fn has(s: &Shared, flaw: Flaw) -> bool {
    s.cfg.flaw == Some(flaw)
}

fn begin_shutdown(s: &Arc<Shared>) {
    if s.stopping.swap(true, Ordering::SeqCst) {
        return;
    }
    let mut room = lock(&s.room);
    let ids: Vec<u64> = room.clients.keys().copied().collect();
    if has(s, Flaw::LeaveOnShutdown) {
        for &id in &ids {
            if let Some(nick) = room.clients[&id].nick.clone() {
                broadcast(s, &mut room, Some(id), format!("LEAVE {nick} QUIT"));
            }
        }
    }
    for id in ids {
        let c = room.clients.remove(&id).expect("listed");
        if has(s, Flaw::SilentShutdown) {
            kill(&c.out);
        } else {
            push_raw(s, &c.out, encode_for(s, &c.out, "ERROR SHUTTING_DOWN the server is shutting down"));
            push_raw(s, &c.out, encode_for(s, &c.out, "BYE"));
            close_after_flush(&c.out);
        }
    }
    room.order.clear();
    drop(room);
    if !has(s, Flaw::ShutdownWaitsForever) {
        let s = s.clone();
        std::thread::spawn(move || {
            let end = Instant::now() + s.cfg.shutdown_grace;
            let mut writers = lock(&s.writers);
            while *writers > 0 && Instant::now() < end {
                writers =
                    s.writers_done.wait_timeout(writers, end - Instant::now()).unwrap_or_else(|e| e.into_inner()).0;
            }
            drop(writers);
            kill_all(&s);
        });
    }
}

/// Every connection still open is abandoned.
fn kill_all(s: &Shared) {
    let me = s as *const Shared as usize;
    let outs: Vec<Arc<Outbox>> =
        lock(&REGISTRY).iter().filter(|(owner, _)| *owner == me).filter_map(|(_, weak)| weak.upgrade()).collect();
    for out in outs {
        kill(&out);
    }
}

/// Every outbox, by server, so that shutdown can abandon those that do not drain.
static REGISTRY: Mutex<Vec<(usize, std::sync::Weak<Outbox>)>> = Mutex::new(Vec::new());

/// What a client receives for `text`: the line, or for a PodSixNet client the frame that stands
/// for it.
fn encode_for(s: &Shared, out: &Outbox, text: &str) -> Vec<u8> {
    if out.psn { podsixnet::frame_of_line(s, text) } else { line(s, text) }
}

fn line(s: &Shared, text: &str) -> Vec<u8> {
    let mut v = text.as_bytes().to_vec();
    if has(s, Flaw::LowercaseCodes) && text.starts_with("ERROR ") {
        let end = text[6..].find(' ').map_or(text.len(), |i| i + 6);
        v[6..end].make_ascii_lowercase();
    }
    if has(s, Flaw::CrLfOutput) {
        v.push(b'\r');
    }
    v.push(b'\n');
    v
}

fn accept(s: &Arc<Shared>, stream: TcpStream, psn: bool) {
    let _ = stream.set_nodelay(true);
    // A small send buffer: a client that stops reading backs up into the toy's own queue, where
    // the output bound applies (R-LIMIT-3), after a few dozen lines rather than after the kernel
    // has taken megabytes (loopback buffers grow that large, and the slow-consumer cases would
    // then spend seconds filling them).
    let _ = socket2::SockRef::from(&stream).set_send_buffer_size(16 * 1024);
    let ip = match stream.peer_addr() {
        Ok(a) => a.ip(),
        Err(_) => return,
    };
    let mut room = lock(&s.room);
    let full = room.connections >= s.cfg.max_clients && !has(s, Flaw::NoServerFull);
    let per_ip = room.per_ip.get(&ip).copied().unwrap_or(0);
    let too_many = s.cfg.max_per_address > 0 && per_ip >= s.cfg.max_per_address && !has(s, Flaw::NoPerAddressLimit);
    if full || too_many {
        drop(room);
        let code =
            if full { "SERVER_FULL the server is full" } else { "TOO_MANY_CONNECTIONS too many from your address" };
        let encode = |text: &str| if psn { podsixnet::frame_of_line(s, text) } else { line(s, text) };
        let mut out = encode(&format!("ERROR {code}"));
        if !has(s, Flaw::FatalWithoutBye) {
            out.extend(encode("BYE"));
        }
        let mut stream = stream;
        let _ = stream.write_all(&out);
        let _ = stream.shutdown(Shutdown::Write);
        // Read until the client closes, so the close does not turn into a reset.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut sink = [0u8; 256];
        while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        return;
    }
    room.connections += 1;
    *room.per_ip.entry(ip).or_default() += 1;
    let id = s.next_id.fetch_add(1, Ordering::SeqCst);
    let out = Arc::new(Outbox {
        state: Mutex::new(OutState::default()),
        wake: Condvar::new(),
        stream: stream.try_clone().expect("clone the socket"),
        psn,
    });
    lock(&REGISTRY).push((Arc::as_ptr(s) as usize, Arc::downgrade(&out)));
    room.clients.insert(id, Client { ip, nick: None, out: out.clone(), held: None });
    if psn {
        let hello =
            format!("HELLO minichat/1 {} toy server; register with {{\"action\": \"username\"}}", s.cfg.max_line);
        let mut greeting = if has(s, Flaw::PsnNoConnected) { Vec::new() } else { podsixnet::connected() };
        greeting.extend(podsixnet::frame_of_line(s, &hello));
        push_raw(s, &out, greeting);
    } else if !has(s, Flaw::NoHello) {
        let hello = format!("HELLO minichat/1 {} toy server; register with: USER <nick>", s.cfg.max_line);
        push_raw(s, &out, line(s, &hello));
    }
    drop(room);
    *lock(&s.writers) += 1;
    let (s1, out1) = (s.clone(), out.clone());
    std::thread::spawn(move || write_loop(&s1, &out1));
    let s2 = s.clone();
    std::thread::spawn(move || read_loop(&s2, id, ip, stream, psn));
}

fn write_loop(s: &Shared, out: &Outbox) {
    loop {
        let next = {
            let mut st = lock(&out.state);
            loop {
                if st.dead {
                    break None;
                }
                if let Some(b) = st.queue.pop_front() {
                    st.bytes -= b.len();
                    break Some(b);
                }
                if st.closing {
                    break None;
                }
                st = out.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        match next {
            Some(bytes) => {
                if (&out.stream).write_all(&bytes).is_err() {
                    kill(out);
                    break;
                }
            }
            None => break,
        }
    }
    let _ = out.stream.shutdown(Shutdown::Write);
    lock(&out.state).done = true;
    let mut writers = lock(&s.writers);
    *writers -= 1;
    s.writers_done.notify_all();
}

fn kill(out: &Outbox) {
    let mut st = lock(&out.state);
    st.dead = true;
    st.queue.clear();
    st.bytes = 0;
    drop(st);
    out.wake.notify_all();
    let _ = out.stream.shutdown(Shutdown::Both);
}

fn close_after_flush(out: &Outbox) {
    lock(&out.state).closing = true;
    out.wake.notify_all();
}

/// Queues bytes; false if that made the client a slow consumer.
fn push_raw(s: &Shared, out: &Outbox, bytes: Vec<u8>) -> bool {
    let mut st = lock(&out.state);
    if st.dead || st.closing {
        return true;
    }
    if st.bytes + bytes.len() > s.cfg.max_queue && !has(s, Flaw::NoSlowConsumerLimit) {
        return false;
    }
    if has(s, Flaw::NoSlowConsumerLimit) {
        // Deliver synchronously: a client that does not read holds up the sender (and the room).
        drop(st);
        let _ = (&out.stream).write_all(&bytes);
        return true;
    }
    st.bytes += bytes.len();
    st.queue.push_back(bytes);
    drop(st);
    out.wake.notify_all();
    true
}

/// Sends to one client (by id), handling a slow consumer. A PodSixNet client gets the frame for
/// the line, and after a JOIN or LEAVE the membership after it (R-PSN-7).
fn send_to(s: &Shared, room: &mut Room, id: u64, text: &str) {
    let Some(c) = room.clients.get_mut(&id) else { return };
    if c.out.psn {
        let out = c.out.clone();
        let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
        let subject = rest.split(' ').next().unwrap_or("");
        if has(s, Flaw::PsnSeparateRoom)
            && matches!(word, "JOIN" | "LEAVE" | "MSG")
            && !room.psn_nicks.contains(subject)
        {
            return;
        }
        let mut bytes = podsixnet::frame_of_line(s, text);
        let event = matches!(word, "JOIN" | "LEAVE");
        if event && !(word == "JOIN" && has(s, Flaw::PsnNoPlayersAfterJoin)) {
            let mut nicks = member_nicks(s, room, id);
            if word == "LEAVE" && has(s, Flaw::PsnStalePlayers) {
                nicks.push(subject.to_owned());
            }
            bytes.extend(podsixnet::players(&nicks));
        }
        if !push_raw(s, &out, bytes) {
            slow(s, room, id);
        }
        return;
    }
    if has(s, Flaw::ReordersRelays)
        && !text.starts_with("MSG ")
        && let Some(held) = c.held.take()
    {
        let out = c.out.clone();
        if !push_raw(s, &out, held) {
            slow(s, room, id);
            return;
        }
    }
    let Some(c) = room.clients.get(&id) else { return };
    let out = c.out.clone();
    if !push_raw(s, &out, line(s, text)) {
        slow(s, room, id);
    }
}

fn slow(s: &Shared, room: &mut Room, id: u64) {
    let Some(c) = room.clients.remove(&id) else { return };
    room.order.retain(|&o| o != id);
    kill(&c.out);
    if let Some(nick) = c.nick {
        broadcast(s, room, None, format!("LEAVE {} SLOW", out_nick(s, &nick)));
    }
}

fn out_nick(s: &Shared, nick: &str) -> String {
    if has(s, Flaw::LowercasesNicks) { nick.to_ascii_lowercase() } else { nick.to_owned() }
}

/// Sends a room event to every registered client except `except`.
fn broadcast(s: &Shared, room: &mut Room, except: Option<u64>, text: String) {
    let ids: Vec<u64> = room
        .clients
        .iter()
        .filter(|(id, c)| Some(**id) != except && (c.nick.is_some() || has(s, Flaw::EventsToUnregistered)))
        .map(|(id, _)| *id)
        .collect();
    for id in ids {
        send_to(s, room, id, &text);
    }
}

fn relay(s: &Shared, room: &mut Room, from: u64, text: String) {
    room.last_msg = Some(text.clone());
    let ids: Vec<u64> = room
        .clients
        .iter()
        .filter(|(_, c)| c.nick.is_some() || has(s, Flaw::EventsToUnregistered))
        .map(|(id, _)| *id)
        .collect();
    for id in ids {
        if id == from && has(s, Flaw::NoEchoToSender) {
            continue;
        }
        if id != from && has(s, Flaw::ReordersRelays) {
            // Hold this one back; send the one held before it first.
            if let Some(c) = room.clients.get_mut(&id) {
                let held = encode_for(s, &c.out, &text);
                let previous = c.held.replace(held);
                if let Some(previous) = previous {
                    let out = c.out.clone();
                    if !push_raw(s, &out, previous) {
                        slow(s, room, id);
                    }
                }
            }
            continue;
        }
        send_to(s, room, id, &text);
    }
}

/// The nicks in `for_id`'s user list, in registration order.
fn member_nicks(s: &Shared, room: &Room, for_id: u64) -> Vec<String> {
    let mut nicks: Vec<(u64, String)> = room
        .order
        .iter()
        .filter_map(|id| room.clients.get(id).and_then(|c| c.nick.clone().map(|n| (*id, n))))
        .collect();
    if has(s, Flaw::ListMissesOne)
        && let Some(pos) = nicks.iter().rposition(|(id, _)| *id != for_id)
    {
        nicks.remove(pos);
    }
    let psn = room.clients.get(&for_id).is_some_and(|c| c.out.psn);
    if psn && has(s, Flaw::PsnSeparateRoom) {
        nicks.retain(|(_, n)| room.psn_nicks.contains(n));
    }
    nicks.into_iter().map(|(_, n)| out_nick(s, &n)).collect()
}

fn user_list(s: &Shared, room: &Room, for_id: u64) -> Vec<String> {
    let nicks = member_nicks(s, room, for_id);
    let count = nicks.len() + usize::from(has(s, Flaw::WrongEndusersCount));
    let mut lines = Vec::new();
    let mut cur = String::new();
    for n in &nicks {
        if !cur.is_empty() && cur.len() + 1 + n.len() > s.cfg.max_line && !has(s, Flaw::ListOnOneLine) {
            lines.push(std::mem::take(&mut cur));
        }
        if cur.is_empty() {
            cur.push_str("USERS");
        }
        cur.push(' ');
        cur.push_str(n);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines.push(format!("ENDUSERS {count}"));
    lines
}

/// Sends a user list (flaw SplitListWithMessage puts the last MSG inside a long one); a
/// PodSixNet client gets it as one `players` frame.
fn send_list(s: &Shared, room: &mut Room, id: u64, lines: &[String]) {
    if let Some(c) = room.clients.get(&id)
        && c.out.psn
    {
        let out = c.out.clone();
        if !push_raw(s, &out, podsixnet::players(&member_nicks(s, room, id))) {
            slow(s, room, id);
        }
        return;
    }
    for (k, l) in lines.iter().enumerate() {
        if k == 1
            && lines.len() > 2
            && has(s, Flaw::SplitListWithMessage)
            && let Some(last) = room.last_msg.clone()
            && let Some(c) = room.clients.get(&id)
        {
            let out = c.out.clone();
            push_raw(s, &out, line(s, &last));
        }
        send_to(s, room, id, l);
    }
}

fn fold(n: &str) -> String {
    n.to_ascii_lowercase()
}

fn folded(s: &Shared, n: &str) -> String {
    if has(s, Flaw::FoldsPunctuation) { fold(n).replace('-', "_") } else { fold(n) }
}

fn valid_nick(s: &Shared, n: &str) -> bool {
    if has(s, Flaw::AnyNick) {
        return !n.is_empty() && !n.contains(' ');
    }
    let b = n.as_bytes();
    let max = if has(s, Flaw::ShortNicks) { 16 } else { 32 };
    !b.is_empty()
        && b.len() <= max
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b[1..].iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

fn is_control(c: char) -> bool {
    c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c)
}

/// What a connection's reader knows.
struct Conn {
    id: u64,
    registered: bool,
    closing: bool,
    connected_at: Instant,
    last_line: Instant,
    partial_since: Option<Instant>,
    ping_sent: Option<Instant>,
    pings: u64,
    tokens: f64,
    refilled: Instant,
    flood_warned: bool,
}

enum Act {
    Continue,
    /// Stop processing this connection's input.
    Close,
}

fn reply(s: &Shared, id: u64, text: &str) {
    let mut room = lock(&s.room);
    send_to(s, &mut room, id, text);
}

fn fatal(s: &Shared, conn: &mut Conn, code_text: &str, cause: &str) {
    let mut room = lock(&s.room);
    if let Some(c) = room.clients.remove(&conn.id) {
        room.order.retain(|&o| o != conn.id);
        push_raw(s, &c.out, encode_for(s, &c.out, &format!("ERROR {code_text}")));
        if !has(s, Flaw::FatalWithoutBye) {
            push_raw(s, &c.out, encode_for(s, &c.out, "BYE"));
        }
        close_after_flush(&c.out);
        if let Some(nick) = c.nick {
            broadcast(s, &mut room, None, format!("LEAVE {} {cause}", out_nick(s, &nick)));
        }
    }
    conn.closing = true;
}

fn handle(s: &Shared, conn: &mut Conn, raw: &[u8]) -> Act {
    if conn.closing {
        return Act::Close;
    }
    // The gate of flaw BlockingPartialLine: wait while another connection holds a partial line.
    // A single-threaded server with a blocking readline gets to a partial line sent before other
    // lines first; here each connection has its own reader thread, and the one that should shut
    // the gate may not have run yet on a busy machine. The pause gives it that time, so the flaw
    // is there in every run (a CPU hog beside the tests let MC-TRANS-012 pass now and then).
    if has(s, Flaw::BlockingPartialLine) {
        std::thread::sleep(Duration::from_millis(50));
    }
    {
        let mut gate = lock(&s.gate);
        while gate.is_some_and(|g| g != conn.id) {
            gate = s.gate_free.wait(gate).unwrap_or_else(|e| e.into_inner());
        }
    }
    conn.last_line = Instant::now();
    if !has(s, Flaw::PongMustMatch) || raw == format!("PONG idle-{}", conn.pings).as_bytes() {
        conn.ping_sent = None;
    }
    if raw.is_empty() {
        if has(s, Flaw::EmptyLineError) {
            reply(s, conn.id, "ERROR UNKNOWN_COMMAND empty line");
        }
        return Act::Continue;
    }
    let text = match std::str::from_utf8(raw) {
        Ok(t) => t,
        Err(_) => {
            if has(s, Flaw::InvalidUtf8Relayed) && conn.registered && raw.starts_with(b"MSG ") {
                let room = lock(&s.room);
                let Some(nick) = room.clients.get(&conn.id).map(|c| c.nick.clone().unwrap_or_default()) else {
                    return Act::Close;
                };
                let mut bytes = format!("MSG {nick} ").into_bytes();
                bytes.extend_from_slice(&raw[4..]);
                bytes.push(b'\n');
                let ids: Vec<u64> =
                    room.clients.iter().filter(|(_, c)| c.nick.is_some() && !c.out.psn).map(|(i, _)| *i).collect();
                for id in ids {
                    let out = room.clients[&id].out.clone();
                    push_raw(s, &out, bytes.clone());
                }
                return Act::Continue;
            }
            reply(s, conn.id, "ERROR INVALID_UTF8 the line is not UTF-8");
            return Act::Continue;
        }
    };
    let controls = text.chars().any(|c| is_control(c) && !(c == '\t' && has(s, Flaw::TabAllowed)));
    if controls {
        if has(s, Flaw::ControlCharsRelayed) && conn.registered && text.starts_with("MSG ") {
            let mut room = lock(&s.room);
            let Some(nick) = room.clients.get(&conn.id).map(|c| c.nick.clone().unwrap_or_default()) else {
                return Act::Close;
            };
            let out = format!("MSG {nick} {}", &text[4..]);
            relay(s, &mut room, conn.id, out);
            return Act::Continue;
        }
        reply(s, conn.id, "ERROR CONTROL_CHARACTER no control characters, please");
        return Act::Continue;
    }
    let (word, args) = match text.find(' ') {
        Some(i) => (&text[..i], Some(&text[i + 1..])),
        None => (text, None),
    };
    let upper = word.to_ascii_uppercase();
    let known = ["USER", "MSG", "USERS", "PING", "PONG", "QUIT"].contains(&upper.as_str());
    if !known || (has(s, Flaw::CaseSensitiveCommands) && word != upper) {
        let code = if has(s, Flaw::WrongErrorCode) { "BAD_ARGUMENTS" } else { "UNKNOWN_COMMAND" };
        reply(s, conn.id, &format!("ERROR {code} unknown command"));
        return Act::Continue;
    }
    let max_text = s.cfg.max_line - 64;
    let text_len = |t: &str| if has(s, Flaw::TextLimitCountsChars) { t.chars().count() } else { t.len() };
    let text_max = if has(s, Flaw::TextLimitOffByOne) { max_text - 1 } else { max_text };
    let state_first = has(s, Flaw::StateBeforeSyntax);
    let needs_reg = matches!(upper.as_str(), "MSG" | "USERS");
    if state_first && needs_reg && !conn.registered {
        reply(s, conn.id, "ERROR NOT_REGISTERED register first");
        return Act::Continue;
    }
    match upper.as_str() {
        "USER" => {
            let Some(nick) = args else {
                reply(s, conn.id, "ERROR BAD_ARGUMENTS USER <nick>");
                return Act::Continue;
            };
            if !valid_nick(s, nick) {
                reply(s, conn.id, "ERROR INVALID_NICK bad nick");
                return if has(s, Flaw::RefusedUserCloses) { refused_close(s, conn) } else { Act::Continue };
            }
            let mut room = lock(&s.room);
            if conn.registered && !has(s, Flaw::ReRegister) {
                send_to(s, &mut room, conn.id, "ERROR ALREADY_REGISTERED you are registered");
                return Act::Continue;
            }
            let taken = room.clients.iter().any(|(id, c)| {
                *id != conn.id
                    && c.nick.as_deref().is_some_and(|n| {
                        if has(s, Flaw::CaseSensitiveNicks) { n == nick } else { folded(s, n) == folded(s, nick) }
                    })
            }) || room.reserved.contains(&folded(s, nick));
            if taken && !has(s, Flaw::DuplicateNicks) {
                send_to(s, &mut room, conn.id, &format!("ERROR NICK_IN_USE {nick} is taken"));
                drop(room);
                return if has(s, Flaw::RefusedUserCloses) { refused_close(s, conn) } else { Act::Continue };
            }
            let renaming = conn.registered;
            let client = room.clients.get_mut(&conn.id).expect("present");
            client.nick = Some(nick.to_owned());
            if client.out.psn {
                room.psn_nicks.insert(nick.to_owned());
            }
            if !renaming {
                room.order.push(conn.id);
            }
            conn.registered = true;
            let welcome = format!("WELCOME {}", out_nick(s, nick));
            let list = user_list(s, &room, conn.id);
            if has(s, Flaw::ListBeforeWelcome) {
                send_list(s, &mut room, conn.id, &list);
                send_to(s, &mut room, conn.id, &welcome);
            } else {
                send_to(s, &mut room, conn.id, &welcome);
                send_list(s, &mut room, conn.id, &list);
            }
            if has(s, Flaw::ReplaysLastMessage)
                && let Some(last) = room.last_msg.clone()
                && let Some(c) = room.clients.get(&conn.id)
            {
                let out = c.out.clone();
                push_raw(s, &out, encode_for(s, &out, &last));
            }
            if !renaming {
                let join = format!("JOIN {}", out_nick(s, nick));
                let except = if has(s, Flaw::JoinToSelf) { None } else { Some(conn.id) };
                broadcast(s, &mut room, except, join);
            }
            Act::Continue
        }
        "MSG" => {
            let body = args.unwrap_or("");
            let blank = body.trim_matches(' ').is_empty();
            let relay_it = has(s, Flaw::RelaysBlank) && !body.is_empty();
            if blank && !relay_it {
                reply(s, conn.id, "ERROR EMPTY_MESSAGE say something");
                return Act::Continue;
            }
            if text_len(body) > text_max {
                reply(s, conn.id, "ERROR TEXT_TOO_LONG too long");
                return Act::Continue;
            }
            let mut room = lock(&s.room);
            let Some(client) = room.clients.get(&conn.id) else { return Act::Close };
            let nick = match client.nick.clone() {
                Some(n) => n,
                None if has(s, Flaw::NoRegistrationCheck) => "anonymous".into(),
                None => {
                    send_to(s, &mut room, conn.id, "ERROR NOT_REGISTERED register first");
                    return Act::Continue;
                }
            };
            let body = if has(s, Flaw::TrimsText) { body.trim() } else { body };
            relay(s, &mut room, conn.id, format!("MSG {} {body}", out_nick(s, &nick)));
            Act::Continue
        }
        "USERS" => {
            if args.is_some() {
                reply(s, conn.id, "ERROR BAD_ARGUMENTS USERS takes no arguments");
                return Act::Continue;
            }
            let mut room = lock(&s.room);
            if !conn.registered && !has(s, Flaw::NoRegistrationCheck) {
                send_to(s, &mut room, conn.id, "ERROR NOT_REGISTERED register first");
                return Act::Continue;
            }
            let list = user_list(s, &room, conn.id);
            send_list(s, &mut room, conn.id, &list);
            Act::Continue
        }
        "PING" | "PONG" => {
            let ok = has(s, Flaw::LaxPing)
                || args
                    .is_some_and(|t| !t.is_empty() && t.len() <= 32 && t.bytes().all(|b| (0x21..=0x7e).contains(&b)));
            if !ok {
                reply(s, conn.id, "ERROR BAD_ARGUMENTS PING <token>");
                return Act::Continue;
            }
            if upper == "PING" && !has(s, Flaw::NoPong) {
                reply(s, conn.id, &format!("PONG {}", args.unwrap_or_default()));
            }
            Act::Continue
        }
        "QUIT" => {
            let reason = args.unwrap_or("");
            if text_len(reason) > text_max {
                reply(s, conn.id, "ERROR TEXT_TOO_LONG too long");
                return Act::Continue;
            }
            std::thread::sleep(s.cfg.quit_delay);
            let mut room = lock(&s.room);
            let Some(c) = room.clients.remove(&conn.id) else { return Act::Close };
            room.order.retain(|&o| o != conn.id);
            if let Some(nick) = &c.nick
                && !has(s, Flaw::NoLeaveOnQuit)
            {
                let blank = reason.trim_matches(' ').is_empty();
                let keep_blank = has(s, Flaw::QuitKeepsBlankReason) && !reason.is_empty();
                let leave = if blank && !keep_blank {
                    format!("LEAVE {} QUIT", out_nick(s, nick))
                } else {
                    format!("LEAVE {} QUIT {reason}", out_nick(s, nick))
                };
                broadcast(s, &mut room, None, leave.clone());
                if has(s, Flaw::LeaveToSelf) {
                    push_raw(s, &c.out, encode_for(s, &c.out, &leave));
                }
            }
            if c.nick.is_none() && has(s, Flaw::QuitUnregisteredNoBye) {
                kill(&c.out);
            } else {
                push_raw(s, &c.out, encode_for(s, &c.out, "BYE"));
                close_after_flush(&c.out);
            }
            conn.closing = true;
            if has(s, Flaw::ProcessAfterQuit) {
                // Put the client back so that the rest of the read is still acted on.
                room.clients.insert(conn.id, Client { ip: c.ip, nick: c.nick, out: c.out, held: None });
                conn.closing = false;
                return Act::Continue;
            }
            Act::Close
        }
        _ => unreachable!("known commands only"),
    }
}

fn refused_close(s: &Shared, conn: &mut Conn) -> Act {
    let mut room = lock(&s.room);
    if let Some(c) = room.clients.remove(&conn.id) {
        close_after_flush(&c.out);
    }
    conn.closing = true;
    Act::Close
}

fn lost(s: &Shared, conn: &Conn) {
    let mut room = lock(&s.room);
    if let Some(c) = room.clients.remove(&conn.id) {
        room.order.retain(|&o| o != conn.id);
        kill(&c.out);
        if let Some(nick) = c.nick {
            if has(s, Flaw::NickNotFreed) {
                room.reserved.insert(folded(s, &nick));
            }
            if !has(s, Flaw::NoLeaveOnLost) {
                let cause = if has(s, Flaw::LostSaysQuit) { "QUIT" } else { "LOST" };
                let leave = format!("LEAVE {} {cause}", out_nick(s, &nick));
                broadcast(s, &mut room, None, leave.clone());
                if has(s, Flaw::LeaveTwice) {
                    broadcast(s, &mut room, None, leave);
                }
            }
        }
    }
}

fn release_gate(s: &Shared, id: u64) {
    let mut gate = lock(&s.gate);
    if *gate == Some(id) {
        *gate = None;
        s.gate_free.notify_all();
    }
}

/// Takes a flood-control token, delaying (and warning once) when there is none.
fn flood_wait(s: &Shared, conn: &mut Conn) -> bool {
    let (burst, rate) = s.cfg.flood;
    if rate == 0 {
        return true;
    }
    let now = Instant::now();
    conn.tokens =
        (conn.tokens + now.duration_since(conn.refilled).as_secs_f64() * f64::from(rate)).min(f64::from(burst));
    conn.refilled = now;
    if conn.tokens >= f64::from(burst) {
        conn.flood_warned = false;
    }
    if conn.tokens < 1.0 {
        if has(s, Flaw::FloodDrops) {
            return false;
        }
        if (!conn.flood_warned || has(s, Flaw::FloodErrorEveryLine)) && !has(s, Flaw::NoFloodError) {
            reply(s, conn.id, "ERROR FLOOD slow down");
        }
        conn.flood_warned = true;
        let wait = (1.0 - conn.tokens) / f64::from(rate);
        std::thread::sleep(Duration::from_secs_f64(wait));
        conn.tokens = 1.0;
        conn.refilled = Instant::now();
    }
    conn.tokens -= 1.0;
    true
}

fn read_loop(s: &Arc<Shared>, id: u64, ip: IpAddr, mut stream: TcpStream, psn: bool) {
    let cfg = &s.cfg;
    let now = Instant::now();
    let mut conn = Conn {
        id,
        registered: false,
        closing: false,
        connected_at: now,
        last_line: now,
        partial_since: None,
        ping_sent: None,
        pings: 0,
        tokens: f64::from(cfg.flood.0),
        refilled: now,
        flood_warned: false,
    };
    let limit = if has(s, Flaw::OverlongRelayed) {
        65536
    } else if has(s, Flaw::LineLimitOffByOne) {
        cfg.max_line - 1
    } else {
        cfg.max_line
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let mut buf = vec![0u8; 16 * 1024];
    let mut partial: Vec<u8> = Vec::new();
    let mut discarding = false;
    // PodSixNet clients cannot answer PING (R-PSN-8); the other timeouts apply to them too.
    let pings = !psn || has(s, Flaw::PsnIdlePing);
    let timeouts = !(psn && has(s, Flaw::PsnNoTimeouts));
    'outer: loop {
        // Timers.
        let now = Instant::now();
        if !conn.closing {
            if !conn.registered
                && now - conn.connected_at > cfg.register_timeout
                && !has(s, Flaw::NoRegisterTimeout)
                && timeouts
            {
                fatal(s, &mut conn, "TIMEOUT register in time", "TIMEOUT");
            } else if conn.partial_since.is_some_and(|t| now - t > cfg.line_timeout) && timeouts {
                fatal(s, &mut conn, "TIMEOUT finish your line", "TIMEOUT");
            } else if conn.registered
                && conn.ping_sent.is_none()
                && now - conn.last_line > cfg.idle_timeout
                && !has(s, Flaw::NoIdlePing)
                && pings
            {
                conn.pings += 1;
                conn.ping_sent = Some(now);
                reply(s, id, &format!("PING idle-{}", conn.pings));
            } else if conn.ping_sent.is_some_and(|t| now - t > cfg.ping_timeout) && !has(s, Flaw::NoPingTimeout) {
                fatal(s, &mut conn, "TIMEOUT no answer to PING", "TIMEOUT");
            }
        }
        if conn.closing {
            break;
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                if has(s, Flaw::TailProcessedOnEof) && !partial.is_empty() && !discarding {
                    let tail = std::mem::take(&mut partial);
                    let tail = tail.strip_suffix(b"\r").unwrap_or(&tail).to_vec();
                    handle(s, &mut conn, &tail);
                }
                break;
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted) => {
                continue;
            }
            Err(_) => break,
        };
        if psn {
            if let Act::Close = frames_in(s, &mut conn, &buf[..n], &mut partial, &mut discarding) {
                break 'outer;
            }
            continue;
        }
        let mut data = &buf[..n];
        let mut lines_this_read = 0;
        let mut deferred: Vec<Vec<u8>> = Vec::new();
        while !data.is_empty() {
            match data.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    let head = &data[..i];
                    data = &data[i + 1..];
                    if discarding {
                        discarding = false;
                        conn.partial_since = None;
                        release_gate(s, id);
                        continue;
                    }
                    partial.extend_from_slice(head);
                    let mut l = std::mem::take(&mut partial);
                    conn.partial_since = None;
                    release_gate(s, id);
                    if !has(s, Flaw::KeepsCr) && l.last() == Some(&b'\r') {
                        l.pop();
                    }
                    if l.len() > limit {
                        reply(s, id, "ERROR LINE_TOO_LONG line too long");
                        if has(s, Flaw::OverlongCloses) {
                            fatal_close_quietly(s, &mut conn);
                            break 'outer;
                        }
                        continue;
                    }
                    lines_this_read += 1;
                    if has(s, Flaw::FirstLineOnly) && lines_this_read > 1 {
                        continue;
                    }
                    if has(s, Flaw::PingFirst) && !l.to_ascii_uppercase().starts_with(b"PING ") {
                        deferred.push(l);
                        continue;
                    }
                    if !flood_wait(s, &mut conn) {
                        continue;
                    }
                    if let Act::Close = handle(s, &mut conn, &l) {
                        break 'outer;
                    }
                }
                None => {
                    if has(s, Flaw::DropsPartialReads) {
                        break;
                    }
                    if discarding {
                        if has(s, Flaw::OverlongErrorPerRead) {
                            reply(s, id, "ERROR LINE_TOO_LONG line too long");
                        }
                        break;
                    }
                    if partial.is_empty() && !data.is_empty() {
                        conn.partial_since.get_or_insert(Instant::now());
                        if has(s, Flaw::BlockingPartialLine) {
                            *lock(&s.gate) = Some(id);
                        }
                    }
                    if has(s, Flaw::LineTimeoutRestarts) {
                        conn.partial_since = Some(Instant::now());
                    }
                    partial.extend_from_slice(data);
                    data = &[];
                    let over =
                        partial.len() > limit + 1 || (partial.len() == limit + 1 && partial.last() != Some(&b'\r'));
                    if over {
                        partial.clear();
                        discarding = true;
                        reply(s, id, "ERROR LINE_TOO_LONG line too long");
                        if has(s, Flaw::OverlongCloses) {
                            fatal_close_quietly(s, &mut conn);
                            break 'outer;
                        }
                    }
                }
            }
        }
        for l in deferred {
            if !flood_wait(s, &mut conn) {
                continue;
            }
            if let Act::Close = handle(s, &mut conn, &l) {
                break 'outer;
            }
        }
    }
    release_gate(s, id);
    if conn.closing {
        // CLOSING: read and ignore the rest until the client closes, so our close is orderly.
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
    } else {
        lost(s, &conn);
    }
    let mut room = lock(&s.room);
    room.connections -= 1;
    if let Some(n) = room.per_ip.get_mut(&ip) {
        *n -= 1;
    }
}

/// A PodSixNet connection's bytes: each payload up to a terminator is acted on as the line it
/// stands for (R-PSN-4), or answered with its error (R-PSN-5); a payload over L is refused once
/// and skipped up to its terminator, holding at most L + 4 bytes (R-PSN-2).
fn frames_in(s: &Shared, conn: &mut Conn, data: &[u8], partial: &mut Vec<u8>, discarding: &mut bool) -> Act {
    let limit = if has(s, Flaw::PsnFrameLimitOffByOne) { s.cfg.max_line - 1 } else { s.cfg.max_line };
    let keep_tail = |partial: &mut Vec<u8>| {
        // The last 4 bytes may be the start of a terminator.
        let cut = partial.len().saturating_sub(podsixnet::TERMINATOR.len() - 1);
        partial.drain(..cut);
    };
    partial.extend_from_slice(data);
    let mut frames_this_read = 0;
    loop {
        let Some(end) = podsixnet::find_terminator(partial) else {
            if *discarding {
                keep_tail(partial);
            } else if partial.len() > limit + podsixnet::TERMINATOR.len() - 1 {
                *discarding = true;
                keep_tail(partial);
                reply(s, conn.id, "ERROR LINE_TOO_LONG frame too long");
                if has(s, Flaw::PsnOverlongCloses) {
                    fatal_close_quietly(s, conn);
                    return Act::Close;
                }
            }
            break;
        };
        let payload: Vec<u8> = partial.drain(..end + podsixnet::TERMINATOR.len()).take(end).collect();
        if std::mem::take(discarding) {
            continue;
        }
        frames_this_read += 1;
        if has(s, Flaw::PsnFirstFrameOnly) && frames_this_read > 1 {
            continue;
        }
        if payload.len() > limit {
            reply(s, conn.id, "ERROR LINE_TOO_LONG frame too long");
            if has(s, Flaw::PsnOverlongCloses) {
                fatal_close_quietly(s, conn);
                return Act::Close;
            }
            continue;
        }
        if !flood_wait(s, conn) {
            continue;
        }
        match podsixnet::line_of_frame(s, &payload) {
            Ok(line) => {
                if let Act::Close = handle(s, conn, line.as_bytes()) {
                    return Act::Close;
                }
            }
            Err(error) => {
                conn.last_line = Instant::now();
                conn.ping_sent = None;
                let not_rencode = error.starts_with("BAD_ARGUMENTS the frame is not rencode");
                reply(s, conn.id, &format!("ERROR {error}"));
                if not_rencode && has(s, Flaw::PsnBadFrameCloses) {
                    fatal_close_quietly(s, conn);
                    return Act::Close;
                }
            }
        }
    }
    if partial.is_empty() && !*discarding {
        conn.partial_since = None;
    } else {
        conn.partial_since.get_or_insert(Instant::now());
    }
    Act::Continue
}

fn fatal_close_quietly(s: &Shared, conn: &mut Conn) {
    let mut room = lock(&s.room);
    if let Some(c) = room.clients.remove(&conn.id) {
        room.order.retain(|&o| o != conn.id);
        close_after_flush(&c.out);
        if let Some(nick) = c.nick {
            broadcast(s, &mut room, None, format!("LEAVE {nick} LOST"));
        }
    }
    conn.closing = true;
}
