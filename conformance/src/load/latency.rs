//! Latency percentiles over every delivery of a run (send → receive), in an HdrHistogram.
//!
//! Client tasks record a batch after each read. The histogram is split into shards, one per
//! runtime thread, so that threads seldom wait for each other's lock; the shards are merged for
//! the summary. Values are nanoseconds from 1 ns to an hour (later ones are clamped), with three
//! significant digits.

use std::sync::{Mutex, PoisonError};

use hdrhistogram::Histogram;

const HIGHEST_NS: u64 = 3_600_000_000_000;
const SIGNIFICANT_DIGITS: u8 = 3;

/// The run's latency histogram.
#[derive(Debug)]
pub struct LatencyRecorder {
    shards: Vec<Mutex<Histogram<u64>>>,
}

/// Percentiles of the latencies, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub min_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_NS, SIGNIFICANT_DIGITS).expect("constant, valid bounds")
}

impl LatencyRecorder {
    /// A recorder with `shards` shards (at least one).
    pub fn new(shards: usize) -> LatencyRecorder {
        LatencyRecorder { shards: (0..shards.max(1)).map(|_| Mutex::new(histogram())).collect() }
    }

    /// Records latencies (nanoseconds) for client `client`; returns how many.
    pub fn record(&self, client: u32, latencies_ns: impl Iterator<Item = u64>) -> u64 {
        let mut latencies_ns = latencies_ns.peekable();
        if latencies_ns.peek().is_none() {
            return 0;
        }
        let shard = &self.shards[client as usize % self.shards.len()];
        let mut h = shard.lock().unwrap_or_else(PoisonError::into_inner);
        let mut n = 0;
        for ns in latencies_ns {
            h.saturating_record(ns.max(1));
            n += 1;
        }
        n
    }

    /// The percentiles over everything recorded; `None` if nothing was.
    pub fn summary(&self) -> Option<LatencySummary> {
        let mut all = histogram();
        for shard in &self.shards {
            let h = shard.lock().unwrap_or_else(PoisonError::into_inner);
            all.add(&*h).expect("shards share their bounds");
        }
        if all.is_empty() {
            return None;
        }
        let us = |ns: u64| ns as f64 / 1000.0;
        Some(LatencySummary {
            count: all.len(),
            min_us: us(all.min()),
            p50_us: us(all.value_at_quantile(0.50)),
            p90_us: us(all.value_at_quantile(0.90)),
            p99_us: us(all.value_at_quantile(0.99)),
            p999_us: us(all.value_at_quantile(0.999)),
            max_us: us(all.max()),
            mean_us: all.mean() / 1000.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_cover_every_shard() {
        let r = LatencyRecorder::new(3);
        // 1..=1000 µs, spread over clients (and so shards).
        for v in 1..=1000u64 {
            assert_eq!(r.record(v as u32, std::iter::once(v * 1000)), 1);
        }
        let s = r.summary().unwrap();
        assert_eq!(s.count, 1000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(close(s.p50_us, 500.0) && close(s.p99_us, 990.0) && close(s.max_us, 1000.0), "{s:?}");
        assert!(close(s.min_us, 1.0) && close(s.mean_us, 500.5), "{s:?}");
    }

    #[test]
    fn nothing_recorded_gives_no_summary() {
        assert_eq!(LatencyRecorder::new(1).summary(), None);
        assert_eq!(LatencyRecorder::new(1).record(0, std::iter::empty()), 0);
    }

    #[test]
    fn a_latency_over_an_hour_is_clamped_not_lost() {
        let r = LatencyRecorder::new(1);
        r.record(0, [0, u64::MAX].into_iter());
        assert_eq!(r.summary().unwrap().count, 2);
    }
}
