//! Flood control (SPEC.md R-LIMIT-5, R-LIMIT-6): how fast one connection's lines are processed.
//!
//! A GCRA (generic cell rate algorithm), which is a token bucket kept as one instant: `tat`, the
//! time at which the connection's budget would be whole again. It needs no timer to refill and no
//! floating point, and it is exact for any rate. A line over the rate is not refused: the caller
//! stops reading until [`FloodGate::admit`] says when to try again, so lines are delayed, never lost.

use std::time::{Duration, Instant};

/// Per-connection rate state.
#[derive(Debug)]
pub struct FloodGate {
    /// Theoretical arrival time: when the budget is fully restored.
    tat: Option<Instant>,
    /// Whether the client has been told it is being delayed, and not yet caught up since.
    warned: bool,
}

/// The rate shared by every connection.
#[derive(Clone, Copy, Debug)]
pub struct FloodPolicy {
    /// Time one line costs: 1 / rate. `None` = no flood control.
    interval: Option<Duration>,
    /// How far ahead of `now` the budget may be spent: (burst − 1) × interval.
    tolerance: Duration,
}

/// What the gate decided about one more line.
#[derive(Debug, PartialEq, Eq)]
pub enum Admission {
    /// Process it now.
    Now,
    /// Wait until this instant. `warn` is true when this starts a new episode of delaying, so
    /// the client gets one `ERROR FLOOD` (R-LIMIT-6).
    Later { until: Instant, warn: bool },
}

impl FloodPolicy {
    /// `rate` lines per second after a burst of `burst`; rate 0 turns flood control off.
    pub fn new(rate: u32, burst: u32) -> FloodPolicy {
        if rate == 0 {
            return FloodPolicy { interval: None, tolerance: Duration::ZERO };
        }
        let interval = Duration::from_secs(1) / rate;
        FloodPolicy { interval: Some(interval), tolerance: interval * burst.saturating_sub(1) }
    }
}

impl FloodGate {
    /// A gate with a full budget.
    pub fn new() -> FloodGate {
        FloodGate { tat: None, warned: false }
    }

    /// Spends one line of budget if it is there.
    pub fn admit(&mut self, policy: FloodPolicy, now: Instant) -> Admission {
        let Some(interval) = policy.interval else { return Admission::Now };
        let start = self.tat.map_or(now, |tat| tat.max(now));
        let allowed_at = start.checked_sub(policy.tolerance).unwrap_or(now);
        if allowed_at > now {
            let warn = !self.warned;
            self.warned = true;
            return Admission::Later { until: allowed_at, warn };
        }
        if self.tat.is_none_or(|tat| tat < now) {
            // The budget was whole before this line: the client has caught up, so a later delay
            // is a new episode. (Not `tat == now`: that is a delayed line let through exactly
            // on time, still inside the episode — with a burst of 1, every delayed line.)
            self.warned = false;
        }
        self.tat = Some(start + interval);
        Admission::Now
    }
}

impl Default for FloodGate {
    fn default() -> FloodGate {
        FloodGate::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_lines_are_spaced_by_the_rate() {
        let policy = FloodPolicy::new(10, 20);
        let t0 = Instant::now();
        let mut gate = FloodGate::new();
        for _ in 0..20 {
            assert_eq!(gate.admit(policy, t0), Admission::Now);
        }
        let Admission::Later { until, warn: true } = gate.admit(policy, t0) else { panic!("21st line passed") };
        assert_eq!(until, t0 + Duration::from_millis(100));
        assert_eq!(gate.admit(policy, t0), Admission::Later { until, warn: false });
        assert_eq!(gate.admit(policy, until), Admission::Now);
        assert!(matches!(gate.admit(policy, until), Admission::Later { warn: false, .. }));
    }

    #[test]
    fn catching_up_ends_the_episode() {
        let policy = FloodPolicy::new(10, 1);
        let t0 = Instant::now();
        let mut gate = FloodGate::new();
        assert_eq!(gate.admit(policy, t0), Admission::Now);
        assert!(matches!(gate.admit(policy, t0), Admission::Later { warn: true, .. }));
        let later = t0 + Duration::from_secs(5);
        assert_eq!(gate.admit(policy, later), Admission::Now);
        assert!(matches!(gate.admit(policy, later), Admission::Later { warn: true, .. }));
    }

    #[test]
    fn with_a_burst_of_one_lines_let_through_on_time_stay_in_the_episode() {
        let policy = FloodPolicy::new(1, 1);
        let t0 = Instant::now();
        let mut gate = FloodGate::new();
        assert_eq!(gate.admit(policy, t0), Admission::Now);
        let Admission::Later { until, warn: true } = gate.admit(policy, t0) else { panic!("not delayed") };
        assert_eq!(gate.admit(policy, until), Admission::Now);
        assert!(matches!(gate.admit(policy, until), Admission::Later { warn: false, .. }), "one notice per episode");
    }

    #[test]
    fn rate_zero_admits_everything() {
        let policy = FloodPolicy::new(0, 0);
        let mut gate = FloodGate::new();
        let t0 = Instant::now();
        for _ in 0..10_000 {
            assert_eq!(gate.admit(policy, t0), Admission::Now);
        }
    }
}
