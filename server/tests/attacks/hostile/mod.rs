//! The attackers. Each attack runs on a thread of its own with a current-thread Tokio runtime, so
//! that thousands of connections cost a few tasks, and every attack is bounded in connections and
//! in time: it stops when told, once it has done the work its test checks (every slowloris
//! connection shed once, every giant line sent…), or at its deadline.
//!
//! An attack reports when it is *engaged* (in full swing), so that a fresh client can be sent in
//! while it is; and it returns a report that its module knows how to check against what the
//! honest clients saw.

pub mod all;
pub mod burst;
pub mod churn;
pub mod connect_burst;
pub mod flood;
pub mod garbage;
pub mod giant;
pub mod nick_storm;
pub mod slowloris;
pub mod stalled;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, resume_unwind};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use minichat_protocol::{ClientMessage, ErrorCode, Limits, MAX_MAX_LINE, Nick, ServerMessage, parse_server_line};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

use super::botnet::Botnet;

/// What the attackers aim at.
#[derive(Clone, Debug)]
pub struct Target {
    pub server: SocketAddr,
    /// The server's *L*, from its configuration.
    pub limits: Limits,
    botnet: Arc<Botnet>,
}

impl Target {
    pub fn new(server: SocketAddr, limits: Limits) -> Target {
        Target { server, limits, botnet: Arc::new(Botnet::default()) }
    }

    /// A connection from the next botnet address; `receive_buffer` shrinks the socket's receive
    /// buffer (before connecting, so the window is small from the start).
    pub async fn connect(&self, receive_buffer: Option<u32>) -> io::Result<TcpStream> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(self.botnet.source())?;
        if let Some(size) = receive_buffer {
            socket.set_recv_buffer_size(size)?;
        }
        let stream = socket.connect(self.server).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// The scenario's signal to stop, as every task of an attack sees it.
#[derive(Clone, Debug)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once the scenario says stop.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// The attack's signal that it is in full swing, and how far it got until then.
#[derive(Clone, Debug)]
pub struct Engaged {
    signal: Arc<Mutex<Option<mpsc::Sender<()>>>>,
    progress: Arc<Mutex<String>>,
}

impl Engaged {
    /// Says so; later calls do nothing.
    pub fn signal(&self) {
        if let Some(tx) = self.signal.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(());
        }
    }

    /// Tells the scenario how far the attack got, for the report if it never engages.
    pub fn progress(&self, progress: String) {
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = progress;
    }
}

/// A running attack, to be stopped by the scenario.
pub trait Running {
    type Report;
    /// Returns once the attack is in full swing; panics if it is not within `within`.
    fn wait_engaged(&mut self, within: Duration);
    /// Tells the attack to stop and returns its report once it has; panics if that takes longer
    /// than `within` or the attack panicked.
    fn stop(self, within: Duration) -> Self::Report;
}

/// One attack on its own thread.
pub struct Attack<R> {
    name: &'static str,
    stop: watch::Sender<bool>,
    engaged: mpsc::Receiver<()>,
    progress: Arc<Mutex<String>>,
    result: mpsc::Receiver<std::thread::Result<R>>,
    thread: Option<JoinHandle<()>>,
}

/// Starts `attack` on a thread of its own.
pub fn launch<R, F, Fut>(name: &'static str, target: Target, attack: F) -> Attack<R>
where
    R: Send + 'static,
    F: FnOnce(Target, Stop, Engaged) -> Fut + Send + 'static,
    Fut: Future<Output = R>,
{
    let (stop_tx, stop_rx) = watch::channel(false);
    let (engaged_tx, engaged) = mpsc::channel();
    let progress = Arc::new(Mutex::new(String::from("no progress reported")));
    let engaged_side = Engaged { signal: Arc::new(Mutex::new(Some(engaged_tx))), progress: progress.clone() };
    let (result_tx, result) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
                runtime.block_on(attack(target, Stop(stop_rx), engaged_side))
            }));
            let _ = result_tx.send(outcome);
        })
        .expect("an attack thread");
    Attack { name, stop: stop_tx, engaged, progress, result, thread: Some(thread) }
}

impl<R> Attack<R> {
    /// Tells the attack to stop without waiting for it (to stop several at the same moment).
    pub fn request_stop(&self) {
        let _ = self.stop.send(true);
    }
}

/// A test that fails before stopping its attack still stops it, so that it does not go on
/// attacking while the next test runs.
impl<R> Drop for Attack<R> {
    fn drop(&mut self) {
        self.request_stop();
    }
}

impl<R> Running for Attack<R> {
    type Report = R;

    fn wait_engaged(&mut self, within: Duration) {
        match self.engaged.recv_timeout(within) {
            Ok(()) => {}
            // The sender is gone without a signal: the attack ended or panicked; `stop` tells which.
            Err(mpsc::RecvTimeoutError::Disconnected) => {}
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let progress = self.progress.lock().unwrap_or_else(|p| p.into_inner()).clone();
                panic!("the {} attack was not in full swing within {within:?}: {progress}", self.name)
            }
        }
    }

    fn stop(mut self, within: Duration) -> R {
        self.request_stop();
        let outcome = self
            .result
            .recv_timeout(within)
            .unwrap_or_else(|_| panic!("the {} attack did not stop within {within:?}", self.name));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        match outcome {
            Ok(report) => report,
            Err(panic) => resume_unwind(panic),
        }
    }
}

/// Lines from the server, parsed by the protocol crate, read with a bound on their length.
pub struct ServerLines<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
}

/// One line as the attacker saw it.
#[derive(Debug)]
pub enum Line {
    Parsed(ServerMessage),
    /// A line the protocol crate refuses: the server broke the grammar (R-SYN-2).
    Malformed(String),
}

impl<R: AsyncRead + Unpin> ServerLines<R> {
    pub fn new(read: R) -> ServerLines<R> {
        ServerLines { reader: BufReader::new(read), line: Vec::new() }
    }

    /// The next line; `None` at the end of the stream or on a reset.
    pub async fn next(&mut self) -> io::Result<Option<Line>> {
        self.line.clear();
        let limit = MAX_MAX_LINE as u64 + 1;
        match (&mut self.reader).take(limit).read_until(b'\n', &mut self.line).await {
            Ok(_) if self.line.last() == Some(&b'\n') => {
                self.line.pop();
                let text = String::from_utf8_lossy(&self.line);
                Ok(Some(match parse_server_line(&text) {
                    Ok(message) => Line::Parsed(message),
                    Err(_) => Line::Malformed(text.into_owned()),
                }))
            }
            Ok(n) if n as u64 == limit => Err(io::Error::other("a line longer than any L allows")),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The next line, which must be `HELLO` (R-REG-1); a refusal is reported as an error.
    pub async fn hello(&mut self) -> Result<(), String> {
        match self.next().await {
            Ok(Some(Line::Parsed(ServerMessage::Hello { .. }))) => Ok(()),
            other => Err(format!("expected HELLO, got {other:?}")),
        }
    }
}

/// Sends one valid line, encoded by the protocol crate.
pub async fn send(write: &mut (impl AsyncWriteExt + Unpin), message: &ClientMessage) -> io::Result<()> {
    write.write_all(&message.to_line()).await
}

/// Why a registration did not complete.
#[derive(Debug)]
pub enum Unregistered {
    /// The server sent this `ERROR` instead of `WELCOME` or inside the user list.
    Refused(ErrorCode),
    /// Anything else: a failed connection, an unexpected line.
    Failed(String),
}

impl fmt::Display for Unregistered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unregistered::Refused(code) => write!(f, "refused with ERROR {code}"),
            Unregistered::Failed(problem) => f.write_str(problem),
        }
    }
}

impl From<Unregistered> for String {
    fn from(u: Unregistered) -> String {
        u.to_string()
    }
}

/// `USER nick` after `HELLO`, then reads until the end of the user list. Room events that come
/// later are the caller's.
pub async fn register<R: AsyncRead + Unpin>(
    lines: &mut ServerLines<R>,
    write: &mut (impl AsyncWriteExt + Unpin),
    nick: &str,
) -> Result<(), Unregistered> {
    lines.hello().await.map_err(Unregistered::Failed)?;
    let user = ClientMessage::User(Nick::new(nick).map_err(|e| Unregistered::Failed(format!("{nick}: {e}")))?);
    send(write, &user).await.map_err(|e| Unregistered::Failed(format!("USER {nick}: {e}")))?;
    let mut welcomed = false;
    loop {
        match lines.next().await {
            Ok(Some(Line::Parsed(ServerMessage::Welcome(n)))) if !welcomed && n.as_str() == nick => welcomed = true,
            Ok(Some(Line::Parsed(ServerMessage::Users(_)))) if welcomed => {}
            Ok(Some(Line::Parsed(ServerMessage::EndUsers(_)))) if welcomed => return Ok(()),
            Ok(Some(Line::Parsed(ServerMessage::Error { code, .. }))) => return Err(Unregistered::Refused(code)),
            other => return Err(Unregistered::Failed(format!("registering {nick}: unexpected {other:?}"))),
        }
    }
}

/// Keeps at most a few examples of what went wrong, and counts the rest.
#[derive(Debug, Default, Clone)]
pub struct Problems {
    pub examples: Vec<String>,
    pub count: usize,
}

impl Problems {
    const KEPT: usize = 10;

    pub fn push(&mut self, problem: impl Into<String>) {
        self.count += 1;
        if self.examples.len() < Self::KEPT {
            self.examples.push(problem.into());
        }
    }

    pub fn merge(&mut self, other: Problems) {
        self.count += other.count;
        let room = Self::KEPT.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
    }

    /// `"<what>: N problems, e.g. …"`, or nothing.
    pub fn describe(&self, what: &str) -> Option<String> {
        (self.count > 0).then(|| format!("{what}: {} problems, e.g. {:?}", self.count, self.examples))
    }
}
