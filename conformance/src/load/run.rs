//! A load run from start to end: connect and register every client, let the senders send, wait
//! until every delivery is in (or provably will not come, or the time is up), then tally.
//!
//! The phases are broadcast to the client tasks on a watch channel; the tasks report milestones
//! back on a bounded channel (at most a few per client, so it never fills). The run ends
//!
//! - as soon as every expected delivery has arrived, or else
//! - when the barriers say nothing more is coming: every sender's `PING` after its last message
//!   has been answered, and then every client's final `PING` (SPEC.md R-ORDER-6) — so a lossy
//!   server is measured without waiting for the timeout, or
//! - at the timeout, for a server that stalls.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::{sleep_until, timeout_at};

use super::client::{Barrier, ClientOutcome, ClientSetup, LoadClient, SetupFailure};
use super::config::LoadPlan;
use super::connection::drive;
use super::cpu::process_cpu_s;
use super::latency::LatencyRecorder;
use super::report::{LoadReport, RunFacts};

/// How many clients connect and register at once: enough to keep a server busy, few enough not
/// to overflow its listen backlog (a refused SYN costs a second of retransmission).
const CONNECT_CONCURRENCY: usize = 64;
/// File descriptors the generator needs besides one per client.
const SPARE_FILES: u64 = 64;

/// Where the run is; client tasks act on each change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    /// Connect and register.
    Setup,
    /// Senders send.
    Send,
    /// Every sender is done: each client sends its final barrier.
    Drain,
    /// The run is over: quit.
    Stop,
}

/// What a client task tells the run.
#[derive(Debug)]
pub(crate) enum EventKind {
    Registered,
    SetupFailed(SetupFailure),
    BarrierPassed(Barrier),
    Disconnected,
}

#[derive(Debug)]
pub(crate) struct Event {
    client: u32,
    kind: EventKind,
}

/// What the run and its client tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub server: SocketAddr,
    base: Instant,
    pub latency: LatencyRecorder,
    pub connect_slots: Semaphore,
    delivered: AtomicU64,
    expected: u64,
    all_delivered: Notify,
    events: mpsc::Sender<Event>,
}

impl Shared {
    /// Nanoseconds since the run began, on the monotonic clock every stamp uses.
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `ns` nanoseconds after the run began.
    pub fn instant_at(&self, ns: u64) -> tokio::time::Instant {
        tokio::time::Instant::from_std(self.base + Duration::from_nanos(ns))
    }

    /// Counts first deliveries, and wakes the run when the last expected one is in.
    pub fn note_deliveries(&self, n: u64) {
        if n == 0 {
            return;
        }
        let total = self.delivered.fetch_add(n, Ordering::Relaxed) + n;
        if total >= self.expected {
            self.all_delivered.notify_one();
        }
    }

    pub async fn report(&self, client: u32, kind: EventKind) {
        // The channel holds every event the clients can send, and the run keeps its receiver.
        let _ = self.events.send(Event { client, kind }).await;
    }
}

/// Why a run could not take place.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot start the load generator's runtime: {0}")]
    Runtime(#[from] std::io::Error),
    #[error("setup failed after {elapsed_s:.2} s ({registered} of {clients} clients registered): {reason}")]
    Setup { reason: String, registered: usize, clients: usize, elapsed_s: f64 },
}

/// Runs the plan on a runtime of its own (`threads` worker threads) and tallies the result.
pub fn run(plan: &LoadPlan) -> Result<LoadReport, LoadError> {
    let threads = plan.params().threads;
    let mut notices = Vec::new();
    if let Some(notice) = raise_open_file_limit(plan.params().clients) {
        notices.push(notice);
    }
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()?
    };
    runtime.block_on(run_on_runtime(plan, notices))
}

/// Each client holds a socket: raise the soft limit to the hard one if that is needed.
fn raise_open_file_limit(clients: usize) -> Option<String> {
    let needed = clients as u64 + SPARE_FILES;
    match rlimit::increase_nofile_limit(needed) {
        Ok(limit) if limit >= needed => None,
        Ok(limit) => Some(format!(
            "the open-file limit is {limit}, and {clients} clients need about {needed}: connections may fail; \
             run `ulimit -n {needed}` (or more) in this shell first"
        )),
        Err(e) => Some(format!("cannot raise the open-file limit ({e}); {clients} clients need about {needed}")),
    }
}

async fn run_on_runtime(plan: &LoadPlan, notices: Vec<String>) -> Result<LoadReport, LoadError> {
    let p = plan.params();
    let clients = p.clients;
    let (events_tx, mut events) = mpsc::channel(clients * 4 + 16);
    let shared = Arc::new(Shared {
        server: p.server,
        base: Instant::now(),
        latency: LatencyRecorder::new(p.threads),
        connect_slots: Semaphore::new(CONNECT_CONCURRENCY),
        delivered: AtomicU64::new(0),
        expected: plan.deliveries_expected(),
        all_delivered: Notify::new(),
        events: events_tx,
    });
    let (phase, _) = watch::channel(Phase::Setup);
    let nick_prefix: Arc<str> = Arc::from(format!("ld{}_", run_tag()));
    let mut tasks = JoinSet::new();
    for id in 0..clients {
        let setup = ClientSetup {
            id: u32::try_from(id).expect("the plan bounds --clients"),
            nick_prefix: nick_prefix.clone(),
            senders: u32::try_from(p.senders).expect("the plan bounds --senders"),
            messages: u32::try_from(p.messages).expect("the plan bounds --messages"),
            payload: p.payload,
            window: p.window,
            rate: p.rate,
            order_sample_stride: plan.order_sample_stride(),
        };
        tasks.spawn(drive(LoadClient::new(&setup), shared.clone(), phase.subscribe()));
    }

    // Setup: every client registered, or the first failure.
    let setup_deadline = tokio::time::Instant::now() + p.timeout;
    let mut registered = 0;
    let failure = loop {
        if registered == clients {
            break None;
        }
        match timeout_at(setup_deadline, events.recv()).await {
            Ok(Some(Event { client, kind })) => match kind {
                EventKind::Registered => registered += 1,
                EventKind::SetupFailed(failure) => break Some(format!("client {client}: {failure}")),
                EventKind::Disconnected => {
                    break Some(format!("client {client} was disconnected while the others registered"));
                }
                EventKind::BarrierPassed(_) => {}
            },
            Ok(None) => break Some("every client task ended".to_owned()),
            Err(_) => {
                break Some(format!(
                    "not every client was registered within --timeout {:.1} s: the server may be overloaded, \
                     or stop answering (raise --timeout or lower --clients)",
                    p.timeout.as_secs_f64()
                ));
            }
        }
    };
    let setup_s = shared.base.elapsed().as_secs_f64();
    if let Some(reason) = failure {
        phase.send_replace(Phase::Stop);
        // Dropping the set aborts clients still connecting.
        drop(tasks);
        return Err(LoadError::Setup { reason, registered, clients, elapsed_s: setup_s });
    }
    tracing::info!("{clients} clients registered in {setup_s:.2} s");

    // Sending, then the barriers.
    let start_ns = shared.now_ns();
    let cpu_before = process_cpu_s();
    phase.send_replace(Phase::Send);
    let deadline = tokio::time::Instant::now() + p.timeout;
    let mut sender_done = vec![false; p.senders];
    let mut senders_done = 0;
    let mut client_done = vec![false; clients];
    let mut clients_done = 0;
    let mut draining = false;
    let timed_out = loop {
        if shared.delivered.load(Ordering::Relaxed) >= shared.expected {
            break false;
        }
        if !draining && senders_done == p.senders {
            draining = true;
            phase.send_replace(Phase::Drain);
        }
        if clients_done == clients {
            break false;
        }
        tokio::select! {
            event = events.recv() => {
                let Some(Event { client, kind }) = event else { break false };
                let client = client as usize;
                let (sender_finished, client_finished) = match kind {
                    EventKind::BarrierPassed(Barrier::Sent) => (true, false),
                    EventKind::BarrierPassed(Barrier::Final) => (false, true),
                    EventKind::Disconnected => (true, true),
                    EventKind::Registered | EventKind::SetupFailed(_) => (false, false),
                };
                if sender_finished && client < p.senders && !std::mem::replace(&mut sender_done[client], true) {
                    senders_done += 1;
                }
                if client_finished && !std::mem::replace(&mut client_done[client], true) {
                    clients_done += 1;
                }
            }
            () = shared.all_delivered.notified() => {}
            () = sleep_until(deadline) => break true,
        }
    };
    let end_ns = shared.now_ns();
    let generator_cpu_s = cpu_before.zip(process_cpu_s()).map(|(before, after)| after - before);
    phase.send_replace(Phase::Stop);

    let mut outcomes: Vec<ClientOutcome> = Vec::with_capacity(clients);
    let mut lost_tasks = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => {
                tracing::error!("a client task failed: {e}");
                lost_tasks += 1;
            }
        }
    }
    outcomes.sort_by_key(|o| o.id);
    let facts = RunFacts {
        setup_s,
        start_ns,
        end_ns,
        timed_out,
        generator_cpu_s,
        lost_tasks,
        latency: shared.latency.summary(),
        notices,
    };
    Ok(LoadReport::new(plan, facts, &outcomes))
}

/// A few characters that make this run's nicks unlikely to meet another run's on the same server.
fn run_tag() -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let mut n = (u64::from(nanos) ^ (u64::from(std::process::id()) << 20)) % 36u64.pow(5);
    let mut tag = String::new();
    for _ in 0..5 {
        tag.push(char::from_digit((n % 36) as u32, 36).expect("below 36"));
        n /= 36;
    }
    tag
}
