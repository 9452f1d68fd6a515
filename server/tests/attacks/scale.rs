//! How hard the attacks push: a default scale that keeps `cargo test` fast, and the scale
//! for manual runs (`MINICHAT_ATTACK_SCALE=heavy`).

use std::time::Duration;

/// The variable that selects the scale.
pub const SCALE_VAR: &str = "MINICHAT_ATTACK_SCALE";

/// Every number an attack or the honest chat takes from the scale.
#[derive(Clone, Debug)]
pub struct Scale {
    pub name: &'static str,
    /// Honest clients chatting through every phase.
    pub honest: usize,
    /// Messages per second each honest client sends: under the default flood rate (10/s), so
    /// flood control never delays an honest client.
    pub honest_rate: u32,
    /// How long the honest clients chat before the attack: the baseline latency.
    pub baseline: Duration,
    /// How long an attack runs once it is engaged (attacks with a fixed amount of work take
    /// longer if they need to).
    pub attack: Duration,
    /// Slowloris connections held at once.
    pub slowloris: usize,
    /// Registered clients that never read, and how many of them post (the room's volume).
    pub stalled: usize,
    pub stalled_posters: usize,
    /// Garbage connections of each kind (random, invalid UTF-8, controls, endless line).
    pub garbage_per_kind: usize,
    /// Connections that each send one giant line, and its size.
    pub giant_lines: usize,
    pub giant_bytes: u64,
    /// Connections per second that register and reset.
    pub churn_per_second: u32,
    /// Connections registering the same nick at once.
    pub storm: usize,
}

impl Scale {
    /// Small enough for `cargo test` on a loaded 2-core machine: a few seconds per threat.
    pub fn default_scale() -> Scale {
        Scale {
            name: "default",
            honest: 8,
            honest_rate: 8,
            baseline: Duration::from_millis(1500),
            attack: Duration::from_millis(2500),
            slowloris: 200,
            stalled: 10,
            stalled_posters: 10,
            garbage_per_kind: 2,
            giant_lines: 4,
            giant_bytes: 32 << 20,
            churn_per_second: 200,
            storm: 100,
        }
    }

    /// The scale: a thousand slowloris connections, hundreds of MB of giant lines,
    /// hundreds of connects per second.
    pub fn heavy() -> Scale {
        Scale {
            name: "heavy",
            honest: 8,
            honest_rate: 8,
            baseline: Duration::from_secs(4),
            attack: Duration::from_secs(10),
            slowloris: 1000,
            stalled: 100,
            stalled_posters: 10,
            garbage_per_kind: 25,
            giant_lines: 4,
            giant_bytes: 256 << 20,
            churn_per_second: 500,
            storm: 500,
        }
    }

    /// The scale `MINICHAT_ATTACK_SCALE` names: unset or `default`, or `heavy`.
    pub fn from_env() -> Scale {
        match std::env::var(SCALE_VAR).as_deref() {
            Err(std::env::VarError::NotPresent) | Ok("" | "default") => Scale::default_scale(),
            Ok("heavy") => Scale::heavy(),
            Ok(other) => panic!("{SCALE_VAR}={other:?} is not a scale; use `default` (or leave it unset) or `heavy`"),
            Err(e) => panic!("{SCALE_VAR}: {e}; use `default` or `heavy`"),
        }
    }

    /// How long the slowest single step (one connection, one line, one barrier) may take before
    /// a test gives up: a bound, never a synchronisation.
    pub fn wait(&self) -> Duration {
        if self.name == "heavy" { Duration::from_secs(60) } else { Duration::from_secs(20) }
    }

    /// How long an attack may take to finish its work and stop once told to.
    pub fn attack_deadline(&self) -> Duration {
        if self.name == "heavy" { Duration::from_secs(600) } else { Duration::from_secs(60) }
    }
}
