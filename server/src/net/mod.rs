//! The Tokio adapter: real sockets and real time for the sans-IO [`crate::core::Server`].
//!
//! Everything runs on one thread (a current-thread runtime and a `LocalSet`), and the core sits in
//! an `Rc<RefCell<…>>` shared by the tasks:
//!
//! - `listener` accepts connections (with backoff on errors such as running out of descriptors)
//!   and spawns one `connection` task per socket;
//! - each `connection` task reads into one buffer shared by all of them, hands the bytes to the
//!   core, and writes the core's queued output with vectored writes;
//! - the `clock` task calls the core when its next deadline comes.
//!
//! *Why one thread:* SPEC.md's single global order (R-ORDER-1) becomes the order in which the core
//! is called, with no lock and no channel hop per delivery. A chat server's work is copying bytes
//! to sockets; one core does that fast, and it leaves the machine's other cores to the clients.
//! *Why a task per connection and not a queue per connection:* the core holds each connection's
//! output; a task only waits for its socket, so an idle connection costs a small future and no
//! buffers.

mod clock;
mod connection;
mod listener;
mod queue_delay;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Waker;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tracing::info;

use crate::config::Config;
use crate::core::{ConnId, MAX_READ, Profile, Server};

/// What the tasks share. Only one task runs at a time, so the `RefCell`s are never contended; no
/// borrow is held across an `.await`.
struct Shared {
    core: RefCell<Server>,
    /// Each live connection's socket and task waker, indexed by [`ConnId::index`]. Borrowed
    /// mutably only to add, remove or re-register; writes need only a shared borrow.
    sockets: RefCell<Vec<Option<Socket>>>,
    /// The buffer every connection reads into: the core copies only incomplete lines out of it.
    read_buf: RefCell<Box<[u8]>>,
    /// Scratch list for [`Server::take_woken`], kept to avoid an allocation per call.
    woken: RefCell<Vec<ConnId>>,
    /// The deadline the clock task sleeps until; a new earlier one wakes it.
    clock_target: Cell<Option<Instant>>,
    clock_wake: Notify,
    /// Live connection tasks, and a signal when the last one ends.
    live: Cell<usize>,
    all_closed: Notify,
    /// When the connection totals were last logged, and when they are due again.
    totals_logged_at: Cell<Option<Instant>>,
    totals_due: Cell<Option<Instant>>,
    /// Something happened since the last quiet check; when the next check is due.
    busy: Cell<bool>,
    quiet_check_due: Cell<Option<Instant>>,
    /// Called once the server has been quiet for [`QUIET_AFTER`] (see [`serve_with`]).
    on_quiet: Box<dyn Fn()>,
    /// How long output waits in the server before the kernel has it; logged with the totals.
    queue_delay: RefCell<queue_delay::QueueDelay>,
    /// Queued output past which a connection is written at once ([`write_at_once`]).
    write_at_once: usize,
}

/// A connection's socket, the waker of the task that drives it, and how long its output has waited.
struct Socket {
    stream: TcpStream,
    waker: Option<Waker>,
    queued_since: queue_delay::QueuedSince,
}

/// Queued output past which [`Shared::dispatch`] writes at once instead of waiting for the
/// connection's turn: a quarter of *Q*, at most [`WRITE_AT_ONCE_MAX`]. Far enough under *Q* that
/// a reader that keeps up never nears it when many clients send in the same turn.
fn write_at_once(max_queue: usize) -> usize {
    (max_queue / 4).min(WRITE_AT_ONCE_MAX)
}

/// The cap on [`write_at_once`]. Writing at once costs a system call for the writer and a wake-up
/// for the reader each time, so the threshold is as high as *Q* allows, up to one large write.
/// Measured with the room log in place (BENCHMARKS.md, W1, 16 alternating runs): 8 KiB gave a
/// median p99 of 10.6–11.4 ms and 15–17 M deliveries per server CPU-second, 64 KiB 8.2–9.2 ms and
/// 19–20 M; 128 KiB and no threshold at all were no better than 64 KiB.
const WRITE_AT_ONCE_MAX: usize = 64 * 1024;

/// How long without any event before the server counts as quiet.
const QUIET_AFTER: Duration = Duration::from_secs(1);

/// Connection totals (why connections closed) are logged at most this often, so that an attack
/// that opens and closes thousands of connections cannot flood the log.
const TOTALS_EVERY: Duration = Duration::from_secs(60);

impl Shared {
    fn new(core: Server, write_at_once: usize, on_quiet: Box<dyn Fn()>) -> Rc<Shared> {
        Rc::new(Shared {
            core: RefCell::new(core),
            sockets: RefCell::new(Vec::new()),
            read_buf: RefCell::new(vec![0; MAX_READ].into_boxed_slice()),
            woken: RefCell::new(Vec::new()),
            clock_target: Cell::new(None),
            clock_wake: Notify::new(),
            live: Cell::new(0),
            all_closed: Notify::new(),
            totals_logged_at: Cell::new(None),
            totals_due: Cell::new(None),
            busy: Cell::new(false),
            quiet_check_due: Cell::new(None),
            on_quiet,
            queue_delay: RefCell::new(queue_delay::QueueDelay::new()),
            write_at_once,
        })
    }

    /// After every call into the core: wake the connections it named, and the clock if the core
    /// now has an earlier deadline.
    ///
    /// Normally a woken connection writes when its task runs, after the other tasks already
    /// queued, so that one write carries everything that arrived meanwhile. A connection whose
    /// queue has grown past [`write_at_once`] is written here and now instead: when many clients
    /// send in the same turn, a reader that keeps up must not see its queue pass *Q* only because
    /// its turn to write had not come yet.
    fn dispatch(&self) {
        let mut woken = self.woken.borrow_mut();
        let next = {
            let mut core = self.core.borrow_mut();
            core.take_woken(&mut woken);
            core.next_deadline()
        };
        let sockets = self.sockets.borrow();
        let now = now();
        for id in woken.drain(..) {
            let Some(Some(socket)) = sockets.get(id.index()) else { continue };
            let queued = self.core.borrow().queued_len(id);
            if queued > 0 {
                socket.queued_since.queued(now);
            }
            if queued > self.write_at_once {
                // An error here shows again when the task writes; it handles it there.
                let _ = connection::write_queued(self, id, socket);
            }
            if let Some(waker) = &socket.waker {
                waker.wake_by_ref();
            }
        }
        if next.is_some_and(|next| self.clock_target.get().is_none_or(|target| next < target)) {
            self.clock_wake.notify_one();
        }
    }
}

impl Shared {
    /// A connection closed: log the totals now, or once the rate bound allows.
    fn note_close(&self) {
        if self.totals_due.get().is_some() {
            return;
        }
        let now = now();
        match self.totals_logged_at.get() {
            Some(at) if now < at + TOTALS_EVERY => {
                self.totals_due.set(Some(at + TOTALS_EVERY));
                self.clock_wake.notify_one();
            }
            _ => self.log_totals(now),
        }
    }

    /// A client did something (connected, sent bytes, left): the server is not quiet. Only
    /// clients count, so the clock's own wake-ups let the server fall quiet.
    fn note_activity(&self) {
        if !self.busy.replace(true) && self.quiet_check_due.get().is_none() {
            self.quiet_check_due.set(Some(now() + QUIET_AFTER));
            self.clock_wake.notify_one();
        }
    }

    /// The quiet check is due: if nothing happened for a whole period, the server is quiet.
    fn check_quiet(&self, now: Instant) {
        if self.busy.replace(false) {
            self.quiet_check_due.set(Some(now + QUIET_AFTER));
        } else {
            self.quiet_check_due.set(None);
            self.core.borrow_mut().release_idle_buffers();
            (self.on_quiet)();
        }
    }

    fn log_totals(&self, now: Instant) {
        self.totals_due.set(None);
        self.totals_logged_at.set(Some(now));
        info!(stats = %self.core.borrow().stats(), queue_delay = %self.queue_delay.borrow(), "connection totals");
    }
}

/// The time as the core sees it. Tokio's clock, so tests can pause and advance it.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// The sockets a server accepts clients on.
pub struct Listeners {
    /// Line-protocol clients (SPEC.md §2).
    pub line: TcpListener,
    /// PodSixNet clients (SPEC.md §16), in the same room.
    pub podsixnet: Option<TcpListener>,
}

/// Serves on `listeners` until `stop` completes, then shuts down gracefully (SPEC.md §14): every
/// client gets `ERROR SHUTTING_DOWN` and `BYE`, and the function returns once all connections
/// are closed or the grace period is over. Must run inside a [`tokio::task::LocalSet`].
pub async fn serve(config: &Config, listeners: Listeners, stop: impl Future<Output = ()>) -> io::Result<()> {
    serve_with(config, listeners, stop, || {}).await
}

/// [`serve`], calling `on_quiet` each time the server falls quiet: one second without any event
/// after a period of activity. The binary uses it to return memory freed by a burst to the
/// operating system; an idle server is not woken again until something happens.
pub async fn serve_with(
    config: &Config,
    listeners: Listeners,
    stop: impl Future<Output = ()>,
    on_quiet: impl Fn() + 'static,
) -> io::Result<()> {
    let core = Server::new(config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let grace = config.shutdown_grace;
    let shared = Shared::new(core, write_at_once(config.max_queue), Box::new(on_quiet));
    let clock = tokio::task::spawn_local(clock::run(shared.clone()));
    let podsixnet = async {
        match listeners.podsixnet {
            Some(listener) => listener::run(shared.clone(), listener, Profile::PodSixNet).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = listener::run(shared.clone(), listeners.line, Profile::Line) => {}
        () = podsixnet => {}
        () = stop => {}
    }
    info!(connections = shared.live.get(), "shutting down");
    shared.core.borrow_mut().shutdown(now());
    shared.dispatch();
    // The core abandons what is still unwritten after the grace period (R-SHUT-2); the extra
    // second only covers the tasks' last turn.
    let all_closed = async {
        while shared.live.get() > 0 {
            shared.all_closed.notified().await;
        }
    };
    if tokio::time::timeout(grace + Duration::from_secs(1), all_closed).await.is_err() {
        tracing::warn!(connections = shared.live.get(), "connections still open after the grace period; dropping them");
    }
    clock.abort();
    info!(stats = %shared.core.borrow().stats(), queue_delay = %shared.queue_delay.borrow(), "stopped");
    Ok(())
}

/// A listening socket for `addr` with a backlog of at least `max(1024, config.max_clients)`.
///
/// The standard library listens with a backlog of 128: a burst of connections (a thousand
/// clients joining at once, or an attack) overflows it and the kernel drops handshakes that
/// clients then wait on. The accept loop takes connections as fast as they come, so a deep queue
/// costs nothing.
pub fn bind(addr: SocketAddr, config: &Config) -> io::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    let backlog = i32::try_from(config.max_clients.max(1024)).unwrap_or(i32::MAX);
    socket.listen(backlog)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// A server running on its own thread, for tests and embedding. Dropping it shuts it down.
pub struct ServerHandle {
    local_addr: SocketAddr,
    podsixnet_addr: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

/// Starts a server on a thread of its own and returns once it is listening on
/// `config.listen` (port 0 picks a free port; see [`ServerHandle::local_addr`]).
pub fn spawn(config: Config) -> io::Result<ServerHandle> {
    config.validate().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let listener = bind(config.listen, &config)?;
    let local_addr = listener.local_addr()?;
    let podsixnet = config.podsixnet.map(|addr| bind(addr, &config)).transpose()?;
    let podsixnet_addr = podsixnet.as_ref().map(std::net::TcpListener::local_addr).transpose()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new().name("minichat-server".into()).spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let local = tokio::task::LocalSet::new();
        local.block_on(&runtime, async move {
            let listeners = Listeners {
                line: TcpListener::from_std(listener)?,
                podsixnet: podsixnet.map(TcpListener::from_std).transpose()?,
            };
            serve(&config, listeners, async {
                let _ = stop_rx.await;
            })
            .await
        })
    })?;
    Ok(ServerHandle { local_addr, podsixnet_addr, stop: Some(stop_tx), thread: Some(thread) })
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address PodSixNet clients connect to, when [`Config::podsixnet`] is set.
    pub fn podsixnet_addr(&self) -> Option<SocketAddr> {
        self.podsixnet_addr
    }

    /// Shuts the server down gracefully and waits until it has stopped.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}
