//! The figures of a load run, tallied from every client's record, and how they are shown: a short
//! summary for people, or one JSON line for programs (field names in conformance/README.md,
//! "Load mode"; they are stable).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

use serde_json::{Value, json};

use super::client::ClientOutcome;
use super::config::LoadPlan;
use super::latency::LatencySummary;
use super::order::{OrderCheck, check_order};

/// A generator busier than this share of its threads' time was probably the limit of the run.
const GENERATOR_SATURATED: f64 = 0.8;
const MIN_SATURATION_RUN_S: f64 = 0.2;

/// How many disconnects are described one by one.
const DISCONNECT_SAMPLES: usize = 8;

/// Exit status of a run that completed cleanly.
pub const EXIT_COMPLETE: u8 = 0;
/// Exit status of a run that took place but lost, duplicated or reordered deliveries, timed out,
/// or saw clients disconnected.
pub const EXIT_INCOMPLETE: u8 = 3;

/// What the run itself observed, beside the clients' records.
#[derive(Clone, Debug)]
pub struct RunFacts {
    /// Seconds to connect and register every client.
    pub setup_s: f64,
    /// When sending began and the run ended, on the run's clock.
    pub start_ns: u64,
    pub end_ns: u64,
    pub timed_out: bool,
    /// CPU seconds the generator used from the first send to the end.
    pub generator_cpu_s: Option<f64>,
    /// Client tasks that failed without a record (a bug of the generator, never of the server).
    pub lost_tasks: usize,
    pub latency: Option<LatencySummary>,
    pub notices: Vec<String>,
}

/// One client whose connection ended before the run did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disconnect {
    pub client: u32,
    /// The fatal `ERROR` code the server sent first (`SLOW_CONSUMER`, `TIMEOUT`, …), or `CLOSED`.
    pub cause: String,
    /// What happened, with the last lines addressed to the client.
    pub detail: String,
}

/// Every figure of a run.
#[derive(Clone, Debug)]
pub struct LoadReport {
    pub server: SocketAddr,
    pub clients: usize,
    pub senders: usize,
    pub messages_per_sender: u64,
    pub payload: usize,
    pub window: u32,
    pub rate: f64,
    pub threads: usize,
    pub timeout_s: f64,
    /// *L*, as the server announced it.
    pub max_line: Option<usize>,
    pub setup_s: f64,
    pub messages_planned: u64,
    pub messages_sent: u64,
    /// Rate mode: sends the window held back more than one interval past their time.
    pub late_sends: u64,
    pub deliveries_expected: u64,
    /// Distinct deliveries: a message reaching a client for the first time.
    pub deliveries_received: u64,
    pub deliveries_lost: u64,
    pub duplicates: u64,
    /// Deliveries that arrived after a later message of the same sender.
    pub out_of_order: u64,
    /// The global-order check on a sample of the messages.
    pub order: OrderCheck,
    pub order_sample_messages: u64,
    pub disconnects: u64,
    pub disconnect_causes: BTreeMap<String, u64>,
    pub disconnect_samples: Vec<Disconnect>,
    pub flood_errors: u64,
    /// Clients that received `ERROR FLOOD`.
    pub flood_controlled_clients: u64,
    /// Other `ERROR` lines after registration, by code.
    pub server_errors: BTreeMap<String, u64>,
    pub foreign_messages: u64,
    pub unparseable_lines: u64,
    pub unparseable_sample: Option<String>,
    pub pings_answered: u64,
    pub timed_out: bool,
    pub send_phase_s: f64,
    pub delivery_phase_s: f64,
    pub deliveries_per_s: f64,
    pub messages_per_s: f64,
    pub latency: Option<LatencySummary>,
    /// CPU seconds the generator used from the first send to the end, and that as a share of the
    /// time its threads had.
    pub generator_cpu_s: Option<f64>,
    pub generator_busy: Option<f64>,
    pub notices: Vec<String>,
}

impl LoadReport {
    /// Tallies the clients' records.
    pub fn new(plan: &LoadPlan, facts: RunFacts, outcomes: &[ClientOutcome]) -> LoadReport {
        let p = plan.params();
        let sum = |f: &dyn Fn(&ClientOutcome) -> u64| outcomes.iter().map(f).sum::<u64>();
        let deliveries_received = sum(&|o| o.receipts.received());
        let messages_sent = sum(&|o| u64::from(o.sent));
        let samples: Vec<&[u32]> = outcomes.iter().map(|o| o.receipts.order_sample()).collect();
        let order_sample_messages = plan.order_sample_len();
        let order = check_order(&samples, usize::try_from(order_sample_messages).unwrap_or(usize::MAX));

        let mut disconnect_causes = BTreeMap::new();
        let mut disconnect_samples = Vec::new();
        for o in outcomes {
            let Some(detail) = &o.disconnect else { continue };
            let cause = o.notes.fatal_error.unwrap_or("CLOSED").to_owned();
            *disconnect_causes.entry(cause.clone()).or_default() += 1;
            if disconnect_samples.len() < DISCONNECT_SAMPLES {
                disconnect_samples.push(Disconnect { client: o.id, cause, detail: detail.clone() });
            }
        }
        if facts.lost_tasks > 0 {
            *disconnect_causes.entry("GENERATOR_TASK_FAILED".to_owned()).or_default() += facts.lost_tasks as u64;
        }
        let disconnects = disconnect_causes.values().sum();
        let mut server_errors = BTreeMap::new();
        for o in outcomes {
            for (code, n) in &o.notes.errors {
                *server_errors.entry((*code).to_owned()).or_default() += n;
            }
        }

        let since_start = |ns: u64| ns.saturating_sub(facts.start_ns) as f64 / 1e9;
        let last_send = outcomes.iter().filter_map(|o| o.last_send_ns).max();
        let last_delivery = outcomes.iter().filter_map(|o| o.receipts.last_delivery_ns()).max();
        let send_phase_s = last_send.map_or(0.0, since_start);
        let delivery_phase_s = since_start(last_delivery.unwrap_or(facts.end_ns));
        let per_s = |n: u64| if delivery_phase_s > 0.0 { n as f64 / delivery_phase_s } else { 0.0 };
        let run_s = since_start(facts.end_ns);
        // Too short a run says nothing about saturation.
        let generator_busy =
            facts.generator_cpu_s.filter(|_| run_s >= MIN_SATURATION_RUN_S).map(|cpu| cpu / (run_s * p.threads as f64));

        let mut report = LoadReport {
            server: p.server,
            clients: p.clients,
            senders: p.senders,
            messages_per_sender: p.messages,
            payload: p.payload,
            window: p.window,
            rate: p.rate,
            threads: p.threads,
            timeout_s: p.timeout.as_secs_f64(),
            max_line: outcomes.iter().find_map(|o| o.max_line),
            setup_s: facts.setup_s,
            messages_planned: plan.messages_planned(),
            messages_sent,
            late_sends: sum(&|o| u64::from(o.late_sends)),
            deliveries_expected: plan.deliveries_expected(),
            deliveries_received,
            deliveries_lost: plan.deliveries_expected().saturating_sub(deliveries_received),
            duplicates: sum(&|o| o.receipts.duplicates()),
            out_of_order: sum(&|o| o.receipts.out_of_order()),
            order,
            order_sample_messages,
            disconnects,
            disconnect_causes,
            disconnect_samples,
            flood_errors: sum(&|o| o.notes.flood_errors),
            flood_controlled_clients: sum(&|o| u64::from(o.notes.flood_errors > 0)),
            server_errors,
            foreign_messages: sum(&|o| o.notes.foreign_messages),
            unparseable_lines: sum(&|o| o.notes.unparseable_lines),
            unparseable_sample: outcomes.iter().find_map(|o| o.notes.unparseable_sample.clone()),
            pings_answered: sum(&|o| o.notes.pings_answered),
            timed_out: facts.timed_out,
            send_phase_s,
            delivery_phase_s,
            deliveries_per_s: per_s(deliveries_received),
            messages_per_s: per_s(messages_sent),
            latency: facts.latency,
            generator_cpu_s: facts.generator_cpu_s,
            generator_busy,
            notices: facts.notices,
        };
        report.notices.extend(report.findings());
        report
    }

    /// Whether every delivery arrived once, in one order, with no client lost and in time.
    pub fn is_complete(&self) -> bool {
        !self.timed_out
            && self.deliveries_lost == 0
            && self.duplicates == 0
            && self.out_of_order == 0
            && self.order.disagreements == 0
            && self.disconnects == 0
    }

    /// The process exit status: [`EXIT_COMPLETE`] or [`EXIT_INCOMPLETE`].
    pub fn exit_status(&self) -> u8 {
        if self.is_complete() { EXIT_COMPLETE } else { EXIT_INCOMPLETE }
    }

    /// Notices that explain the figures.
    fn findings(&self) -> Vec<String> {
        let mut notices = Vec::new();
        if self.flood_errors > 0 {
            notices.push(format!(
                "flood control: the server sent ERROR FLOOD to {} of {} clients ({} in all). It delays lines over its \
                 rate (SPEC.md R-LIMIT-5), so these figures measure its flood limit, not its speed; to measure its \
                 speed, turn flood control off (reference server: --msg-rate 0)",
                self.flood_controlled_clients, self.clients, self.flood_errors
            ));
        }
        if let Some(busy) = self.generator_busy.filter(|&b| b >= GENERATOR_SATURATED) {
            notices.push(format!(
                "the generator itself was busy {:.0}% of the time on its {} thread(s): the server may be faster than \
                 these figures; give the generator more --threads, or cores the server does not use",
                busy * 100.0,
                self.threads
            ));
        }
        if self.timed_out {
            notices.push(format!(
                "timed out after --timeout {:.1} s with {} deliveries still missing: the server stalled, lost \
                 messages (a sender whose own copies do not come back stops at its window), or is slower than \
                 --timeout allows",
                self.timeout_s, self.deliveries_lost
            ));
        }
        if self.messages_sent < self.messages_planned {
            notices.push(format!(
                "{} of {} messages were never sent (their sender was disconnected, or the run timed out first); \
                 their deliveries count as lost",
                self.messages_planned - self.messages_sent,
                self.messages_planned
            ));
        }
        if self.late_sends > 0 {
            notices.push(format!(
                "{} sends went out more than one interval late because the window was full: the server does not \
                 keep up with --rate {}; latency is measured from the actual send",
                self.late_sends, self.rate
            ));
        }
        if self.foreign_messages > 0 {
            notices.push(format!(
                "{} MSG lines were not from this run (other people in the room, or texts changed on the way) and \
                 were not counted",
                self.foreign_messages
            ));
        }
        if self.unparseable_lines > 0 {
            notices.push(format!(
                "{} lines were not SPEC.md §3 server lines (first: {:?}); run `conformance --server {}` to see why",
                self.unparseable_lines,
                self.unparseable_sample.as_deref().unwrap_or(""),
                self.server
            ));
        }
        notices
    }

    /// One JSON object with every figure (printed as one line by `--json`).
    pub fn to_json(&self) -> Value {
        let latency = self.latency.map_or(Value::Null, |l| {
            json!({
                "count": l.count,
                "min": round(l.min_us, 1),
                "p50": round(l.p50_us, 1),
                "p90": round(l.p90_us, 1),
                "p99": round(l.p99_us, 1),
                "p999": round(l.p999_us, 1),
                "max": round(l.max_us, 1),
                "mean": round(l.mean_us, 1),
            })
        });
        let samples: Vec<Value> = self
            .disconnect_samples
            .iter()
            .map(|d| json!({"client": d.client, "cause": d.cause, "detail": d.detail}))
            .collect();
        // Built field by field: a json! literal this long passes the macro's recursion limit.
        let fields: Vec<(&str, Value)> = vec![
            ("mode", json!("load")),
            ("outcome", json!(if self.is_complete() { "complete" } else { "incomplete" })),
            ("server", json!(self.server.to_string())),
            ("clients", json!(self.clients)),
            ("senders", json!(self.senders)),
            ("messages_per_sender", json!(self.messages_per_sender)),
            ("payload", json!(self.payload)),
            ("window", json!(self.window)),
            ("rate", json!(self.rate)),
            ("threads", json!(self.threads)),
            ("timeout_s", json!(self.timeout_s)),
            ("max_line", json!(self.max_line)),
            ("setup_s", json!(round(self.setup_s, 3))),
            ("messages_planned", json!(self.messages_planned)),
            ("messages_sent", json!(self.messages_sent)),
            ("late_sends", json!(self.late_sends)),
            ("deliveries_expected", json!(self.deliveries_expected)),
            ("deliveries_received", json!(self.deliveries_received)),
            ("deliveries_lost", json!(self.deliveries_lost)),
            ("duplicates", json!(self.duplicates)),
            ("out_of_order", json!(self.out_of_order)),
            ("order_disagreements", json!(self.order.disagreements)),
            ("clients_disagreeing", json!(self.order.clients_disagreeing)),
            ("order_sample_messages", json!(self.order_sample_messages)),
            ("disconnects", json!(self.disconnects)),
            ("disconnect_causes", json!(self.disconnect_causes)),
            ("disconnect_samples", json!(samples)),
            ("flood_errors", json!(self.flood_errors)),
            ("flood_controlled_clients", json!(self.flood_controlled_clients)),
            ("server_errors", json!(self.server_errors)),
            ("foreign_messages", json!(self.foreign_messages)),
            ("unparseable_lines", json!(self.unparseable_lines)),
            ("pings_answered", json!(self.pings_answered)),
            ("timed_out", json!(self.timed_out)),
            ("send_phase_s", json!(round(self.send_phase_s, 3))),
            ("delivery_phase_s", json!(round(self.delivery_phase_s, 3))),
            ("deliveries_per_s", json!(self.deliveries_per_s.round())),
            ("messages_per_s", json!(self.messages_per_s.round())),
            ("latency_us", latency),
            ("generator_cpu_s", json!(self.generator_cpu_s.map(|s| round(s, 3)))),
            ("generator_busy", json!(self.generator_busy.map(|b| round(b, 3)))),
            ("notices", json!(self.notices)),
        ];
        Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// The summary for people.
    pub fn summary_text(&self) -> String {
        let mut s = String::new();
        let pace = if self.rate > 0.0 {
            format!("{} msg/s each, window {}", self.rate, self.window)
        } else {
            format!("window {}", self.window)
        };
        let _ = writeln!(
            s,
            "minichat load against {}: {} clients, {} senders × {} messages of {} bytes ({pace})",
            self.server, self.clients, self.senders, self.messages_per_sender, self.payload
        );
        let line_limit = self.max_line.map_or(String::new(), |l| format!(" (L = {l})"));
        let _ = writeln!(
            s,
            "setup      {} clients connected and registered in {:.2} s{line_limit}",
            self.clients, self.setup_s
        );
        let _ = writeln!(
            s,
            "sent       {} of {} messages in {:.2} s",
            self.messages_sent, self.messages_planned, self.send_phase_s
        );
        let _ = writeln!(
            s,
            "delivered  {} of {} deliveries in {:.2} s: {:.0} deliveries/s ({:.0} messages/s)",
            self.deliveries_received,
            self.deliveries_expected,
            self.delivery_phase_s,
            self.deliveries_per_s,
            self.messages_per_s
        );
        if let Some(l) = &self.latency {
            let _ = writeln!(
                s,
                "latency    p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (send → receive, per delivery)",
                duration(l.p50_us),
                duration(l.p90_us),
                duration(l.p99_us),
                duration(l.p999_us),
                duration(l.max_us)
            );
        }
        if self.is_complete() {
            let _ = writeln!(
                s,
                "result     complete: every client received every message once, in one order \
                 (global order checked on {} messages)",
                self.order_sample_messages
            );
        } else {
            let _ = writeln!(
                s,
                "result     INCOMPLETE: {} deliveries lost, {} duplicates, {} out of order within a sender, \
                 {} in a different order than other clients saw (of {} sampled messages), {} disconnects{}",
                self.deliveries_lost,
                self.duplicates,
                self.out_of_order,
                self.order.disagreements,
                self.order_sample_messages,
                self.disconnects,
                if self.timed_out { ", timed out" } else { "" }
            );
        }
        for d in &self.disconnect_samples {
            let _ = writeln!(s, "disconnect client {}: {} — {}", d.client, d.cause, d.detail);
        }
        if self.disconnects > self.disconnect_samples.len() as u64 {
            let _ = writeln!(s, "disconnect … {} in all: {:?}", self.disconnects, self.disconnect_causes);
        }
        if !self.server_errors.is_empty() {
            let _ = writeln!(s, "errors     the server sent {:?}", self.server_errors);
        }
        for notice in &self.notices {
            let _ = writeln!(s, "notice     {notice}");
        }
        s
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (x * scale).round() / scale
}

/// Microseconds, in the unit that reads best.
fn duration(us: f64) -> String {
    if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1_000_000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(duration(412.4), "412 µs");
        assert_eq!(duration(1530.0), "1.53 ms");
        assert_eq!(duration(2_500_000.0), "2.50 s");
    }
}
