//! How long output waits inside the server: from the moment a connection's queue goes from empty to
//! holding something, to the moment the last of it has been handed to the kernel.
//!
//! *Why measure it:* a client's latency is the server's part plus the network's and the client's.
//! This is the server's part, logged with the connection totals, so an operator (or a benchmark,
//! BENCHMARKS.md) can tell whether slow deliveries wait in the server or somewhere after it.
//! Bytes the kernel holds for a client that reads slowly do not count: they have left the server.

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// The histogram's resolution at its low end (two significant digits above it).
const RESOLUTION: Duration = Duration::from_micros(16);

/// Waits longer than this are counted as this: a queue that waits that long belongs to a client
/// that is about to be dropped as a slow consumer.
const LONGEST: Duration = Duration::from_secs(10);

/// One connection's clock: when its queue last went from empty to non-empty.
#[derive(Debug, Default)]
pub(super) struct QueuedSince(Cell<Option<Instant>>);

impl QueuedSince {
    /// Output is queued at `now`. Only the first call after a drain counts: the wait is that of
    /// the oldest byte.
    pub(super) fn queued(&self, now: Instant) {
        if self.0.get().is_none() {
            self.0.set(Some(now));
        }
    }

    /// Everything queued has been handed to the kernel: when the wait began, if anything waited.
    pub(super) fn drained(&self) -> Option<Instant> {
        self.0.take()
    }
}

/// The waits of every connection since the server started.
pub(super) struct QueueDelay {
    /// Microseconds.
    waits: Histogram<u64>,
}

impl QueueDelay {
    pub(super) fn new() -> QueueDelay {
        let micros = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        // Two significant digits are plenty for a log line, and these bounds keep the counts at
        // 14 KiB. Under 16 KiB matters: mimalloc puts larger objects in 512 KiB pages, and one
        // long-lived object keeps such a page resident with whatever transient buffers shared it
        // (measured: a 20 KiB histogram cost W4 of BENCHMARKS.md 0.1 KiB per idle connection).
        let waits =
            Histogram::new_with_bounds(micros(RESOLUTION), micros(LONGEST), 2).expect("constant bounds are valid");
        QueueDelay { waits }
    }

    /// Output queued `since` was all handed to the kernel at `now`.
    pub(super) fn record(&mut self, since: Instant, now: Instant) {
        let micros = u64::try_from(now.saturating_duration_since(since).as_micros()).unwrap_or(u64::MAX);
        self.waits.saturating_record(micros.clamp(1, self.waits.high()));
    }
}

/// `p50 0.40ms p99 1.05ms max 5.25ms (n=45936)`, or `none` before anything was written.
impl fmt::Display for QueueDelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.waits.is_empty() {
            return f.write_str("none");
        }
        let ms = |micros: u64| Duration::from_micros(micros).as_secs_f64() * 1e3;
        write!(
            f,
            "p50 {:.2}ms p99 {:.2}ms max {:.2}ms (n={})",
            ms(self.waits.value_at_quantile(0.5)),
            ms(self.waits.value_at_quantile(0.99)),
            ms(self.waits.max()),
            self.waits.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_runs_from_the_first_queueing_to_the_drain() {
        let t0 = Instant::now();
        let clock = QueuedSince::default();
        clock.queued(t0);
        // More output before the drain does not restart the clock: the oldest byte waited longest.
        clock.queued(t0 + Duration::from_millis(5));
        assert_eq!(clock.drained(), Some(t0));
        // Drained means empty: a write that finds nothing queued has no wait to report.
        assert_eq!(clock.drained(), None);
        clock.queued(t0 + Duration::from_millis(9));
        assert_eq!(clock.drained(), Some(t0 + Duration::from_millis(9)));
    }

    /// The milliseconds after `label` in a summary.
    fn figure(summary: &str, label: &str) -> f64 {
        let rest = &summary[summary.find(label).expect(label) + label.len()..];
        rest.trim_start().split("ms").next().unwrap().parse().unwrap()
    }

    #[test]
    fn waits_are_summarised_in_milliseconds_within_the_resolution() {
        let t0 = Instant::now();
        let mut delay = QueueDelay::new();
        assert_eq!(delay.to_string(), "none");
        for micros in [300, 300, 300, 8_000] {
            delay.record(t0, t0 + Duration::from_micros(micros));
        }
        let summary = delay.to_string();
        assert!((figure(&summary, "p50") - 0.30).abs() <= 0.02, "{summary}");
        assert!((figure(&summary, "p99") - 8.0).abs() <= 0.1, "{summary}");
        assert!((figure(&summary, "max") - 8.0).abs() <= 0.1, "{summary}");
        assert!(summary.ends_with("(n=4)"), "{summary}");
    }

    #[test]
    fn a_wait_past_the_longest_counts_as_the_longest() {
        let t0 = Instant::now();
        let mut delay = QueueDelay::new();
        delay.record(t0, t0 + Duration::from_secs(3600));
        let summary = delay.to_string();
        assert!((figure(&summary, "max") - 10_000.0).abs() <= 100.0, "{summary}");
    }

    #[test]
    fn the_counts_stay_small_enough_for_a_small_allocator_page() {
        // See QueueDelay::new: over 16 KiB, a long-lived histogram pins a 512 KiB page.
        let delay = QueueDelay::new();
        assert!(delay.waits.distinct_values() * 8 <= 16 * 1024, "{} counters", delay.waits.distinct_values());
    }
}
