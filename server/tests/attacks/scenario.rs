//! One test's run, the same for every threat:
//!
//! 1. start the server binary with the test's configuration; honest clients register and chat;
//! 2. *baseline*: they chat for a while with no attack;
//! 3. *attack*: the attack starts; once it is in full swing a fresh client must be served; the
//!    attack goes on for the scale's duration (longer if its work takes longer), then stops;
//! 4. the server must let go of every attacking connection; a second fresh client must be served;
//!    the honest clients finish with `PING` barriers and hand in their records;
//! 5. with the room quiet, the server's CPU time over one second; its peak memory; SIGTERM.
//!
//! Tests in this binary take a lock so they run one at a time: latency and CPU figures mean
//! nothing while another test's attack shares the machine.

use std::process::ExitStatus;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use minichat_server::Config;

use super::botnet::raise_descriptor_limit;
use super::honest::{Chat, ChatRecord, FreshVisit, Phase};
use super::hostile::{Running, Target};
use super::measure::{IDLE_CPU_LIMIT, IDLE_WINDOW, Mib, Ms, Percentiles, latency_allowance, memory_bound};
use super::process::{Memory, ServerProcess};
use super::scale::Scale;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Problems listed in a failure; the first ones say what went wrong, the rest repeat it.
const SHOWN_PROBLEMS: usize = 40;

/// Descriptors this process and the server need beyond the attack's connections.
const SPARE_DESCRIPTORS: u64 = 1024;

/// A threat, the configuration it is met with, and how many connections it holds at most at once
/// (for the memory bound).
pub struct Scenario {
    pub name: &'static str,
    pub config: Config,
    pub attack_connections: usize,
}

/// Everything a run measured.
pub struct Outcome<R> {
    pub name: &'static str,
    pub scale: &'static str,
    pub command: String,
    pub report: R,
    pub chat: ChatRecord,
    pub during: FreshVisit,
    pub after: FreshVisit,
    pub baseline: Percentiles,
    pub attacked: Percentiles,
    pub memory: Memory,
    pub memory_bound: u64,
    pub idle_cpu: Duration,
    /// How long the server took to close every attacking connection once the attack stopped,
    /// or how many descriptors it still held when the wait ran out.
    pub released: Result<Duration, usize>,
    pub attack_took: Duration,
    pub exit: ExitStatus,
    /// The server's own counters, as it logs them on exit.
    pub totals: String,
}

impl Scenario {
    pub fn new(name: &'static str, config: Config, attack_connections: usize) -> Scenario {
        Scenario { name, config, attack_connections }
    }

    pub fn run<A: Running>(self, scale: &Scale, launch: impl FnOnce(Target) -> A) -> Outcome<A::Report> {
        let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        raise_descriptor_limit(self.attack_connections as u64 + scale.honest as u64 + SPARE_DESCRIPTORS);
        let wait = scale.wait();
        let limits = self.config.validate().expect("a valid test configuration");
        let mut server = ServerProcess::start(&self.config, wait);
        let mut chat = Chat::start(server.addr(), scale.honest, scale.honest_rate, wait);
        let quiet_fds = server.open_fds();

        // A measurement window, not a synchronisation: the honest clients chat meanwhile.
        std::thread::sleep(scale.baseline);

        chat.set_phase(Phase::Attack);
        let attack_start = Instant::now();
        let mut attack = launch(Target::new(server.addr(), limits));
        attack.wait_engaged(wait);
        let engaged = Instant::now();
        server.assert_alive("while the attack started");
        let during = chat.visit("fresh_during");
        std::thread::sleep(scale.attack.saturating_sub(engaged.elapsed()));
        let report = attack.stop(scale.attack_deadline());
        let attack_took = attack_start.elapsed();
        chat.set_phase(Phase::After);
        server.assert_alive("after the attack");

        let released = server.wait_for_fds(quiet_fds, wait);
        let after = chat.visit("fresh_after");
        let record = chat.finish();

        let cpu_before = server.cpu_time();
        std::thread::sleep(IDLE_WINDOW);
        let idle_cpu = server.cpu_time().saturating_sub(cpu_before);
        let memory = server.memory();
        let command = server.command().to_owned();
        let (exit, totals) = server.stop(wait);
        drop(chat);

        let connections = self.attack_connections + scale.honest + 2;
        Outcome {
            name: self.name,
            scale: scale.name,
            command,
            report,
            baseline: Percentiles::of(record.latencies(Phase::Baseline)),
            attacked: Percentiles::of(record.latencies(Phase::Attack)),
            chat: record,
            during,
            after,
            memory,
            memory_bound: memory_bound(&self.config, connections),
            idle_cpu,
            released,
            attack_took,
            exit,
            totals,
        }
    }
}

impl<R> Outcome<R> {
    /// Prints the figures, then asserts what every attack must leave true, together with the
    /// attack's own `problems`: the server stayed up and exits cleanly; fresh clients were served
    /// during and after; no honest message was lost and all saw one order; honest p99 latency
    /// stayed within [`latency_allowance`] of the baseline; peak memory within the configured
    /// bound; the server let go of every attacking connection and was idle afterwards.
    #[track_caller]
    pub fn assert_defended(&self, summary: &str, attack_problems: Vec<String>) {
        self.assert(summary, attack_problems, true);
    }

    /// [`Outcome::assert_defended`] without the latency bound, for attacks made of traffic the
    /// server must deliver: honest lines then rightly wait behind it in the one global order.
    pub fn assert_defended_except_latency(&self, summary: &str, attack_problems: Vec<String>) {
        self.assert(summary, attack_problems, false);
    }

    fn assert(&self, summary: &str, attack_problems: Vec<String>, bound_latency: bool) {
        let allowed = latency_allowance(self.baseline.p99);
        println!(
            "[{} / {}] honest latency: baseline {}; under attack {} (p99 allowed {}); \
             peak RSS {} (bound {}), RSS at the end {}; CPU in the {}s after: {}; \
             attacking sockets released in {}; fresh client registered in {} during, {} after; \
             attack ran {:.1} s: {summary}; server totals: {}\n  command: {}",
            self.name,
            self.scale,
            self.baseline,
            self.attacked,
            Ms(allowed),
            Mib(self.memory.peak),
            Mib(self.memory_bound),
            Mib(self.memory.rss),
            IDLE_WINDOW.as_secs(),
            Ms(self.idle_cpu),
            self.released.map_or_else(|open| format!("never ({open} descriptors open)"), |d| Ms(d).to_string()),
            Ms(self.during.registered_in),
            Ms(self.after.registered_in),
            self.attack_took.as_secs_f64(),
            self.totals,
            self.command,
        );
        let mut problems = attack_problems;
        problems.extend(self.chat.order_problems(&[&self.during, &self.after]));
        if self.baseline.count == 0 || self.attacked.count == 0 {
            problems.push(format!("too few latency samples: {} and {}", self.baseline.count, self.attacked.count));
        }
        if bound_latency && self.attacked.p99 > allowed {
            problems.push(format!(
                "honest p99 latency {} under attack, more than {} (baseline p99 {})",
                Ms(self.attacked.p99),
                Ms(allowed),
                Ms(self.baseline.p99)
            ));
        }
        if self.memory.peak > self.memory_bound {
            problems.push(format!(
                "peak RSS {} is over the bound {} the configuration implies",
                Mib(self.memory.peak),
                Mib(self.memory_bound)
            ));
        }
        if let Err(open) = self.released {
            problems.push(format!("the server still held {open} descriptors after the attack stopped"));
        }
        if self.idle_cpu >= IDLE_CPU_LIMIT {
            problems.push(format!(
                "the server used {} of CPU in the {}s after the attack, with the room quiet (limit {})",
                Ms(self.idle_cpu),
                IDLE_WINDOW.as_secs(),
                Ms(IDLE_CPU_LIMIT)
            ));
        }
        if !self.exit.success() {
            problems.push(format!("the server exited with {} after SIGTERM", self.exit));
        }
        if problems.len() > SHOWN_PROBLEMS {
            let more = problems.len() - SHOWN_PROBLEMS;
            problems.truncate(SHOWN_PROBLEMS);
            problems.push(format!("… and {more} more"));
        }
        assert!(problems.is_empty(), "{}: the server did not hold:\n- {}", self.name, problems.join("\n- "));
    }
}
