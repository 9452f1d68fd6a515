//! Honest clients: registered users who chat at a modest rate through every phase of a test, and
//! fresh clients who come, register, say something and leave.
//!
//! Each honest client has a reader thread that records every room event it receives and answers
//! the server's `PING`s; one metronome thread sends for all of them, in turn, at a steady rate.
//! A message's text carries its sender's sequence number, the phase it was sent in and the time it
//! was sent, so every delivery to every honest client is one latency sample, and the records can be
//! checked against SPEC.md §10: every honest client receives every honest message, and all of them
//! see one global order (R-ORDER-1, R-ORDER-2).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use minichat_protocol::{ClientMessage, MAX_MAX_LINE, Nick, ServerMessage, Text, Token, parse_server_line};

/// When a message was sent, relative to the attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the attack: the baseline.
    Baseline = 0,
    /// While the attack runs.
    Attack = 1,
    /// After the attack has stopped.
    After = 2,
}

const PHASES: usize = 3;

/// The `PONG` token that ends an honest client's record.
const END: &str = "end";
/// The `PONG` token that tells the metronome's messages from this client are all in the room.
const DRAINED: &str = "drained";

/// The nick of honest client `i`.
pub fn honest_nick(i: usize) -> String {
    format!("honest{i}")
}

/// Chatting clients, started by [`Chat::start`] and ended by [`Chat::finish`].
pub struct Chat {
    addr: SocketAddr,
    wait: Duration,
    clients: Vec<HonestClient>,
    phase: Arc<AtomicU8>,
    running: Arc<AtomicBool>,
    metronome: Option<JoinHandle<Sent>>,
}

struct HonestClient {
    writer: Arc<Mutex<TcpStream>>,
    pongs: mpsc::Receiver<String>,
    reader: Option<JoinHandle<HonestLog>>,
}

/// What one honest client received.
#[derive(Debug, Default)]
pub struct HonestLog {
    pub nick: String,
    /// Room events (`JOIN`, `MSG`, `LEAVE` lines) in the order received, from its registration on.
    pub events: Vec<String>,
    /// The latency of every honest message delivered to this client, by the phase it was sent in.
    latencies: [Vec<Duration>; PHASES],
    /// What an honest client never expects: an `ERROR`, a line it cannot parse, a closed connection.
    pub problems: Vec<String>,
}

/// A fresh client's visit: connect, register, say something, see it echoed, quit.
#[derive(Debug)]
pub struct FreshVisit {
    pub nick: String,
    /// Room events received between its user list and its `BYE`.
    pub events: Vec<String>,
    /// From connecting to the end of its user list.
    pub registered_in: Duration,
    /// From sending its message to receiving its echo (R-MSG-1).
    pub echoed_in: Duration,
    pub problems: Vec<String>,
}

/// Everything the honest clients saw, once they have all finished.
#[derive(Debug)]
pub struct ChatRecord {
    pub logs: Vec<HonestLog>,
    /// Messages each honest client sent.
    pub sent: Vec<u64>,
}

impl Chat {
    /// Registers `clients` honest clients (from 127.0.0.1) and starts them chatting, each at
    /// `rate` messages per second, in [`Phase::Baseline`].
    pub fn start(addr: SocketAddr, clients: usize, rate: u32, wait: Duration) -> Chat {
        let epoch = Instant::now();
        let mut honest = Vec::with_capacity(clients);
        for i in 0..clients {
            let nick = honest_nick(i);
            let (reader, writer) = register(addr, &nick, wait).unwrap_or_else(|e| panic!("{nick}: {e}"));
            let writer = Arc::new(Mutex::new(writer));
            let (pong_tx, pongs) = mpsc::channel();
            let thread = {
                let writer = writer.clone();
                std::thread::Builder::new()
                    .name(nick.clone())
                    .spawn(move || read_honest(nick, reader, &writer, &pong_tx, epoch))
                    .expect("a reader thread")
            };
            honest.push(HonestClient { writer, pongs, reader: Some(thread) });
        }
        let phase = Arc::new(AtomicU8::new(Phase::Baseline as u8));
        let running = Arc::new(AtomicBool::new(true));
        let metronome = {
            let writers: Vec<_> = honest.iter().map(|c| c.writer.clone()).collect();
            let (phase, running) = (phase.clone(), running.clone());
            let interval = Duration::from_secs(1) / (rate * u32::try_from(clients).unwrap());
            std::thread::Builder::new()
                .name("metronome".into())
                .spawn(move || metronome(&writers, interval, &phase, &running, epoch))
                .expect("the metronome thread")
        };
        Chat { addr, wait, clients: honest, phase, running, metronome: Some(metronome) }
    }

    /// Messages sent from now on are counted in `phase`.
    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
    }

    /// A fresh client visits: it must be served — register, chat, leave — within the wait.
    pub fn visit(&self, nick: &str) -> FreshVisit {
        let start = Instant::now();
        let mut visit = FreshVisit {
            nick: nick.to_owned(),
            events: Vec::new(),
            registered_in: Duration::ZERO,
            echoed_in: Duration::ZERO,
            problems: Vec::new(),
        };
        if let Err(problem) = self.visit_steps(&mut visit, start) {
            visit.problems.push(problem);
        }
        visit
    }

    fn visit_steps(&self, visit: &mut FreshVisit, start: Instant) -> Result<(), String> {
        let (mut reader, mut writer) = register(self.addr, &visit.nick, self.wait)?;
        visit.registered_in = start.elapsed();
        let text = Text::new(format!("{} is served", visit.nick)).expect("valid text");
        let nick = Nick::new(&visit.nick).expect("a valid nick");
        let echo = ServerMessage::Msg { from: nick, text: text.clone() }.to_string();
        let sent = Instant::now();
        send(&mut writer, &ClientMessage::Msg(text))?;
        loop {
            let line = next_line(&mut reader)?.ok_or("the server closed the connection before the echo")?;
            match parse_server_line(&line) {
                Ok(ServerMessage::Ping(token)) => send(&mut writer, &ClientMessage::Pong(token))?,
                Ok(ServerMessage::Join(_) | ServerMessage::Msg { .. } | ServerMessage::Leave { .. }) => {
                    visit.events.push(line.clone());
                    if line == echo {
                        visit.echoed_in = sent.elapsed();
                        break;
                    }
                }
                _ => return Err(format!("unexpected line before the echo: {line:?}")),
            }
        }
        send(&mut writer, &ClientMessage::Quit(None))?;
        loop {
            let line = next_line(&mut reader)?.ok_or("the server closed the connection before BYE")?;
            match parse_server_line(&line) {
                Ok(ServerMessage::Bye(_)) => break,
                Ok(ServerMessage::Join(_) | ServerMessage::Msg { .. } | ServerMessage::Leave { .. }) => {
                    visit.events.push(line);
                }
                Ok(ServerMessage::Ping(_)) => {}
                _ => return Err(format!("unexpected line before BYE: {line:?}")),
            }
        }
        match next_line(&mut reader)? {
            None => Ok(()),
            Some(line) => Err(format!("a line after BYE: {line:?}")),
        }
    }

    /// Stops the chat and collects the records. Two `PING` barriers (R-ORDER-6): after the first,
    /// every honest message is in the global order and queued to everyone; after the second,
    /// each client has received everything queued to it. The connections stay open until the
    /// `Chat` is dropped.
    pub fn finish(&mut self) -> ChatRecord {
        self.running.store(false, Ordering::SeqCst);
        let Sent { counts: sent, failures } = match self.metronome.take().expect("finish once").join() {
            Ok(sent) => sent,
            Err(panic) => resume_unwind(panic),
        };
        // A client whose connection failed is left out of the barriers; its record says why.
        let mut failures: Vec<Vec<String>> = failures.into_iter().map(|f| f.into_iter().collect()).collect();
        for token in [DRAINED, END] {
            for (client, failed) in self.clients.iter().zip(&mut failures) {
                if failed.is_empty() {
                    let ping = ClientMessage::Ping(Token::new(token).expect("a valid token"));
                    let mut writer = client.writer.lock().unwrap_or_else(|p| p.into_inner());
                    if let Err(e) = send(&mut writer, &ping) {
                        failed.push(format!("PING {token}: {e}"));
                    }
                }
            }
            if token == END {
                break;
            }
            for (client, failed) in self.clients.iter().zip(&mut failures) {
                while failed.is_empty() {
                    match client.pongs.recv_timeout(self.wait) {
                        Ok(pong) if pong == token => break,
                        Ok(_) => {}
                        Err(e) => failed.push(format!("no PONG {token}: {e}")),
                    }
                }
            }
        }
        let logs = self
            .clients
            .iter_mut()
            .zip(failures)
            .map(|(client, failed)| {
                if !failed.is_empty() {
                    // Its reader may still be waiting for lines: end it.
                    let writer = client.writer.lock().unwrap_or_else(|p| p.into_inner());
                    let _ = writer.shutdown(std::net::Shutdown::Both);
                }
                let mut log = match client.reader.take().expect("finish once").join() {
                    Ok(log) => log,
                    Err(panic) => resume_unwind(panic),
                };
                log.problems.extend(failed);
                log
            })
            .collect();
        ChatRecord { logs, sent }
    }
}

impl Drop for Chat {
    fn drop(&mut self) {
        self.running.store(false, Ordering::SeqCst);
        // Closing the sockets ends the readers; they are not joined, a failing test is unwinding.
        for client in &self.clients {
            let writer = client.writer.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writer.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl ChatRecord {
    /// The global order as honest client 0 saw it, from its registration to its last barrier.
    pub fn reference(&self) -> &[String] {
        &self.logs[0].events
    }

    /// Every delivery latency of the honest messages sent in `phase`, to every honest client.
    pub fn latencies(&self, phase: Phase) -> Vec<Duration> {
        self.logs.iter().flat_map(|log| log.latencies[phase as usize].iter().copied()).collect()
    }

    /// Room events in the reference order whose line starts with `prefix`.
    pub fn events_starting_with<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.reference().iter().map(String::as_str).filter(move |e| e.starts_with(prefix))
    }

    /// SPEC.md §10 for the honest clients and the visits: nothing lost, one global order.
    pub fn order_problems(&self, visits: &[&FreshVisit]) -> Vec<String> {
        let mut problems = Vec::new();
        for log in &self.logs {
            problems.extend(log.problems.iter().map(|p| format!("{}: {p}", log.nick)));
            problems.extend(self.missing_or_reordered(log));
        }
        let reference = self.reference();
        // Client k's record starts right after its registration, which the reference shows as
        // its JOIN; both end at their own last barrier, so one is a prefix of the other.
        for log in &self.logs[1..] {
            let Some(start) = position(reference, &format!("JOIN {}", log.nick)) else {
                problems.push(format!("{} never joined in {}'s record", log.nick, self.logs[0].nick));
                continue;
            };
            if let Some(p) = diverges(&reference[start + 1..], &log.events, false) {
                problems.push(format!("{} and {} disagree on the order: {p}", self.logs[0].nick, log.nick));
            }
        }
        // A visit received exactly the events between its JOIN and its LEAVE (R-ORDER-1).
        for visit in visits {
            problems.extend(visit.problems.iter().map(|p| format!("{}: {p}", visit.nick)));
            let join = position(reference, &format!("JOIN {}", visit.nick));
            let leave = position(reference, &format!("LEAVE {} QUIT", visit.nick));
            match (join, leave) {
                (Some(join), Some(leave)) if join < leave => {
                    if let Some(p) = diverges(&reference[join + 1..leave], &visit.events, true) {
                        problems.push(format!("{} saw another order than the room: {p}", visit.nick));
                    }
                }
                _ => problems.push(format!("the room did not see {} join and then quit", visit.nick)),
            }
        }
        problems
    }

    /// Each honest sender's messages reach `log` once each, in the order sent, all of them.
    fn missing_or_reordered(&self, log: &HonestLog) -> Vec<String> {
        let mut next = vec![0u64; self.sent.len()];
        let mut problems = Vec::new();
        for event in &log.events {
            let Some((sender, seq)) = honest_sequence(event) else { continue };
            let Some(expected) = next.get_mut(sender) else {
                problems.push(format!("{}: a message from an unknown honest client: {event:?}", log.nick));
                continue;
            };
            if seq != *expected {
                problems.push(format!("{}: {event:?} where message {expected} of honest{sender} was due", log.nick));
            }
            *expected = seq + 1;
        }
        for (sender, (got, sent)) in next.iter().zip(&self.sent).enumerate() {
            if got != sent {
                problems.push(format!("{}: received {got} of the {sent} messages honest{sender} sent", log.nick));
            }
        }
        problems
    }
}

/// The first index of `line` in `events`.
fn position(events: &[String], line: &str) -> Option<usize> {
    events.iter().position(|e| e == line)
}

/// Where `a` and `b` stop agreeing, if they do before the shorter one ends (or, when `exact`,
/// if their lengths differ).
fn diverges(a: &[String], b: &[String], exact: bool) -> Option<String> {
    if let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) {
        return Some(format!("event {i}: {:?} versus {:?}", a[i], b[i]));
    }
    (exact && a.len() != b.len()).then(|| format!("{} events versus {}", a.len(), b.len()))
}

/// `(sender, sequence number)` of an honest message line `MSG honest<k> <seq> <phase> <micros>`.
fn honest_sequence(event: &str) -> Option<(usize, u64)> {
    let rest = event.strip_prefix("MSG honest")?;
    let (sender, text) = rest.split_once(' ')?;
    Some((sender.parse().ok()?, text.split(' ').next()?.parse().ok()?))
}

/// Connects from 127.0.0.1 and registers `nick`; returns once the user list has arrived.
fn register(addr: SocketAddr, nick: &str, wait: Duration) -> Result<(BufReader<TcpStream>, TcpStream), String> {
    let stream = connect_with_room(addr).map_err(|e| format!("connect to {addr}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(wait)).map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream.try_clone().map_err(|e| e.to_string())?);
    let mut writer = stream;
    let hello = next_line(&mut reader)?.ok_or("closed before HELLO")?;
    if !matches!(parse_server_line(&hello), Ok(ServerMessage::Hello { .. })) {
        return Err(format!("the first line is not HELLO: {hello:?}"));
    }
    send(&mut writer, &ClientMessage::User(Nick::new(nick).map_err(|e| e.to_string())?))?;
    let welcome = next_line(&mut reader)?.ok_or("closed after USER")?;
    if !matches!(parse_server_line(&welcome), Ok(ServerMessage::Welcome(n)) if n.as_str() == nick) {
        return Err(format!("USER {nick} was answered with {welcome:?}"));
    }
    loop {
        let line = next_line(&mut reader)?.ok_or("closed inside the user list")?;
        match parse_server_line(&line) {
            Ok(ServerMessage::Users(_)) => {}
            Ok(ServerMessage::EndUsers(_)) => return Ok((reader, writer)),
            _ => return Err(format!("{line:?} inside the user list (R-LIST-1)")),
        }
    }
}

/// An honest client's receive buffer: more than a round of the coordinated bursts (1.24 MB).
const RECEIVE_BUFFER: usize = 2 << 20;

/// Connects with a receive buffer of [`RECEIVE_BUFFER`], set before the handshake so the window
/// can use it. The test's reader threads share two cores with the server and the attackers and
/// can wait tens of milliseconds for one; a real client reading at full speed has a core, and
/// Linux's autotuning (`tcp_rmem`) grows its buffer this far anyway. The server's side is not
/// eased: a queue that grows past *Q* before it is written still gets an honest client dropped.
fn connect_with_room(addr: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_recv_buffer_size(RECEIVE_BUFFER)?;
    socket.connect(&addr.into())?;
    Ok(socket.into())
}

fn send(writer: &mut TcpStream, message: &ClientMessage) -> Result<(), String> {
    writer.write_all(&message.to_line()).map_err(|e| format!("write: {e}"))
}

/// The next line without its LF, `None` at the end of the stream. A line longer than any the
/// protocol allows is an error, so a broken server cannot make the test buffer without bound.
fn next_line(reader: &mut BufReader<TcpStream>) -> Result<Option<String>, String> {
    let mut line = Vec::new();
    let limit = MAX_MAX_LINE as u64 + 1;
    match reader.by_ref().take(limit).read_until(b'\n', &mut line) {
        Ok(0) => Ok(None),
        Ok(_) if line.last() == Some(&b'\n') => {
            line.pop();
            String::from_utf8(line).map(Some).map_err(|e| format!("a line that is not UTF-8: {e}"))
        }
        Ok(_) if line.len() as u64 == limit => Err("a line longer than any L allows".into()),
        Ok(_) => Ok(None), // the stream ended inside a line
        Err(e) => Err(format!("read: {e}")),
    }
}

/// What the metronome sent, per honest client.
struct Sent {
    counts: Vec<u64>,
    /// The write that failed, if one did: the client sent no more after it.
    failures: Vec<Option<String>>,
}

/// Sends one honest message every `interval`, from each client in turn, until `running` is false.
/// A stall is not caught up with a burst: the rate stays under flood control's.
fn metronome(
    writers: &[Arc<Mutex<TcpStream>>],
    interval: Duration,
    phase: &AtomicU8,
    running: &AtomicBool,
    epoch: Instant,
) -> Sent {
    let mut sent = vec![0u64; writers.len()];
    let mut failed = vec![None; writers.len()];
    let mut next = Instant::now();
    for turn in 0.. {
        if !running.load(Ordering::SeqCst) {
            break;
        }
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next = (next + interval).max(Instant::now());
        let i = turn % writers.len();
        if failed[i].is_some() {
            continue;
        }
        let text = format!("{} {} {}", sent[i], phase.load(Ordering::SeqCst), epoch.elapsed().as_micros());
        let line = ClientMessage::Msg(Text::new(text).expect("valid text"));
        let mut writer = writers[i].lock().unwrap_or_else(|p| p.into_inner());
        match send(&mut writer, &line) {
            Ok(()) => sent[i] += 1,
            Err(e) => failed[i] = Some(format!("sending message {}: {e}", sent[i])),
        }
    }
    Sent { counts: sent, failures: failed }
}

/// An honest client's reader: records room events and latencies, answers `PING`, reports `PONG`s,
/// and returns once the `PONG` for [`END`] arrives.
fn read_honest(
    nick: String,
    mut reader: BufReader<TcpStream>,
    writer: &Mutex<TcpStream>,
    pongs: &mpsc::Sender<String>,
    epoch: Instant,
) -> HonestLog {
    let mut log = HonestLog { nick, ..HonestLog::default() };
    loop {
        let line = match next_line(&mut reader) {
            Ok(Some(line)) => line,
            Ok(None) => {
                log.problems.push("the server closed the connection".into());
                return log;
            }
            Err(e) => {
                log.problems.push(e);
                return log;
            }
        };
        let received = epoch.elapsed();
        match parse_server_line(&line) {
            Ok(ServerMessage::Msg { from, text }) => {
                if let Some((phase, sent)) = stamp(&from, &text) {
                    log.latencies[phase].push(received.saturating_sub(sent));
                }
                log.events.push(line);
            }
            Ok(ServerMessage::Join(_) | ServerMessage::Leave { .. }) => log.events.push(line),
            Ok(ServerMessage::Ping(token)) => {
                let mut writer = writer.lock().unwrap_or_else(|p| p.into_inner());
                if let Err(e) = send(&mut writer, &ClientMessage::Pong(token)) {
                    log.problems.push(e);
                    return log;
                }
            }
            Ok(ServerMessage::Pong(token)) => {
                let _ = pongs.send(token.as_str().to_owned());
                if token.as_str() == END {
                    return log;
                }
            }
            _ => log.problems.push(format!("unexpected line: {line:?}")),
        }
    }
}

/// The phase and send time an honest message's text carries.
fn stamp(from: &Nick, text: &Text) -> Option<(usize, Duration)> {
    from.as_str().strip_prefix("honest")?;
    let mut fields = text.as_str().split(' ').skip(1);
    let phase: usize = fields.next()?.parse().ok()?;
    let micros: u64 = fields.next()?.parse().ok()?;
    (phase < PHASES).then_some((phase, Duration::from_micros(micros)))
}
