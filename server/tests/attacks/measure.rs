//! The figures a test judges the server by, and the bounds it holds them to.

use std::fmt;
use std::time::Duration;

use minichat_server::Config;
use minichat_server::core::MAX_READ;

/// Latency an attack may add on top of doubling the baseline: on a loaded 2-core machine a
/// baseline p99 of a millisecond or two doubles from scheduler noise alone, so the bound is
/// `max(2 × baseline, baseline + LATENCY_FLOOR)`.
pub const LATENCY_FLOOR: Duration = Duration::from_millis(20);

/// How long the server is watched once the attack is over and the room is quiet.
pub const IDLE_WINDOW: Duration = Duration::from_secs(1);
/// The CPU time it may use in that window: timers and nothing else.
pub const IDLE_CPU_LIMIT: Duration = Duration::from_millis(50);

/// The server's memory with no connection — the binary, the runtime, the logger, the allocator's
/// caches — bounded generously: measured at 13 MiB with mimalloc and 5 MiB with glibc's malloc
/// (debug build), and mimalloc holds up to 15 MiB more for a while after queues have filled.
pub const MEMORY_BASE: u64 = 48 << 20;
/// What one connection costs beside its buffers: its task, its socket's registration, its entry
/// in the core, its share of the timer heap, its output queue's bookkeeping (at most 64 segments).
pub const MEMORY_PER_CONNECTION: u64 = 16 << 10;
/// A full output queue points into room-log chunks (32 KiB each, shared by every recipient); the
/// first and the last may hold bytes the queue does not, so they can add up to two chunks.
pub const ROOM_LOG_SLACK: u64 = 64 << 10;

/// The most memory the server may hold with `connections` open under `config` (R-LIMIT-4): per
/// connection one incomplete line (L + 1, R-TRANS-6), one read held back by flood control
/// ([`MAX_READ`]), a full output queue (Q, R-LIMIT-3) with its [`ROOM_LOG_SLACK`], and
/// [`MEMORY_PER_CONNECTION`]; plus [`MEMORY_BASE`]. Nothing a peer sends or fails to read can add
/// to it.
pub fn memory_bound(config: &Config, connections: usize) -> u64 {
    let per_connection =
        (config.max_line + 1 + MAX_READ + config.max_queue) as u64 + ROOM_LOG_SLACK + MEMORY_PER_CONNECTION;
    MEMORY_BASE + connections as u64 * per_connection
}

/// Connection attempts the kernel dropped because a listen queue was full, in this network
/// namespace since boot (`TcpExt: ListenOverflows` in `/proc/net/netstat`); `None` if unreadable.
pub fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut tcp_ext = netstat.lines().filter(|line| line.starts_with("TcpExt:"));
    let (names, values) = (tcp_ext.next()?, tcp_ext.next()?);
    let index = names.split_whitespace().position(|name| name == "ListenOverflows")?;
    values.split_whitespace().nth(index)?.parse().ok()
}

/// The most the honest clients' p99 latency may reach under attack, given the baseline's.
pub fn latency_allowance(baseline_p99: Duration) -> Duration {
    (baseline_p99 * 2).max(baseline_p99 + LATENCY_FLOOR)
}

/// Order statistics of a set of latencies (nearest rank).
#[derive(Clone, Copy, Debug, Default)]
pub struct Percentiles {
    pub count: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Percentiles {
    pub fn of(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort_unstable();
        let rank = |q: f64| {
            let i = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len().max(1)) - 1;
            samples.get(i).copied().unwrap_or_default()
        };
        Percentiles {
            count: samples.len(),
            p50: rank(0.50),
            p99: rank(0.99),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p50 {} p99 {} max {} (n={})", Ms(self.p50), Ms(self.p99), Ms(self.max), self.count)
    }
}

/// A duration in milliseconds with one decimal.
pub struct Ms(pub Duration);

impl fmt::Display for Ms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} ms", self.0.as_secs_f64() * 1000.0)
    }
}

/// A byte count in MiB with one decimal.
pub struct Mib(pub u64);

impl fmt::Display for Mib {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.1} MiB", self.0 as f64 / f64::from(1 << 20))
    }
}
