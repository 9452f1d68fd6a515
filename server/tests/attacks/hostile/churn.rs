//! Churn: hundreds of connections per second that register, ask for more output (`USERS`, again
//! and again) and reset the connection (RST, `SO_LINGER` 0) without reading it; every fourth one
//! resets right after connecting, before reading its `HELLO`.
//!
//! The defence is plain bookkeeping: every reset connection's slot, socket and queued output are
//! freed at once, its nick leaves as `LOST` (R-LEAVE-1), and no write error or reset leaves the
//! server polling a dead socket (the idle-CPU check after the attack).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use minichat_protocol::ClientMessage;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};

use super::{Attack, Problems, ServerLines, Target, register, send};
use crate::support::honest::ChatRecord;

/// Cycles in flight at once: if the server is slower than the rate, the rate drops instead of
/// the attacker piling up connections.
pub const IN_FLIGHT: usize = 128;
/// `USERS` requests sent before the reset, so output is pending when it comes.
const REQUESTS: usize = 16;

#[derive(Debug, Default)]
pub struct Report {
    /// Connect-and-reset cycles completed.
    pub cycles: u64,
    /// Nicks that registered before their reset.
    pub registered: Vec<String>,
    /// Ticks skipped because [`IN_FLIGHT`] cycles were still running.
    pub skipped: u64,
    pub took: Duration,
    pub problems: Problems,
}

impl Report {
    /// Each registered churner joined once and left once, as `LOST` (R-LEAVE-1, R-LEAVE-2).
    pub fn problems(&self, chat: &ChatRecord) -> Vec<String> {
        let mut problems: Vec<String> = self.problems.describe("churn").into_iter().collect();
        let mut seen: HashMap<&str, Vec<&str>> = HashMap::new();
        for event in chat.reference().iter().filter(|e| e.starts_with("JOIN churn") || e.starts_with("LEAVE churn")) {
            let nick = event.split(' ').nth(1).unwrap_or_default();
            seen.entry(nick).or_default().push(event);
        }
        for nick in &self.registered {
            let events = seen.remove(nick.as_str()).unwrap_or_default();
            let expected = [format!("JOIN {nick}"), format!("LEAVE {nick} LOST")];
            if events != expected {
                problems.push(format!("{nick} registered and reset; the room saw {events:?}"));
            }
        }
        if let Some((nick, events)) = seen.into_iter().next() {
            problems.push(format!("the room saw {events:?} for {nick}, which never registered"));
        }
        if self.registered.is_empty() {
            problems.push("no churner registered".into());
        }
        problems
    }

    pub fn summary(&self) -> String {
        format!(
            "{} cycles in {:.1} s ({:.0}/s), {} registered, {} ticks skipped",
            self.cycles,
            self.took.as_secs_f64(),
            self.cycles as f64 / self.took.as_secs_f64().max(0.001),
            self.registered.len(),
            self.skipped
        )
    }
}

/// `per_second` connect-and-reset cycles per second until told to stop.
pub fn launch(target: Target, per_second: u32) -> Attack<Report> {
    super::launch("churn", target, move |target, mut stop, engaged| async move {
        let start = Instant::now();
        let mut pace = tokio::time::interval(Duration::from_secs(1) / per_second);
        pace.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let in_flight = Arc::new(Semaphore::new(IN_FLIGHT));
        let done = Arc::new(AtomicU64::new(0));
        let mut tasks = JoinSet::new();
        let mut report = Report::default();
        for n in 0u64.. {
            tokio::select! {
                _ = pace.tick() => {}
                () = stop.wait() => break,
            }
            let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                report.skipped += 1;
                continue;
            };
            let (target, engaged, done) = (target.clone(), engaged.clone(), done.clone());
            tasks.spawn(async move {
                let result = cycle(&target, n).await;
                drop(permit);
                // In full swing once a second's worth of cycles has completed.
                if done.fetch_add(1, Ordering::SeqCst) + 1 == u64::from(per_second) {
                    engaged.signal();
                }
                result
            });
            while let Some(finished) = tasks.try_join_next() {
                report.record(finished.expect("a churn task panicked"));
            }
        }
        while let Some(finished) = tasks.join_next().await {
            report.record(finished.expect("a churn task panicked"));
        }
        report.took = start.elapsed();
        engaged.signal();
        report
    })
}

impl Report {
    fn record(&mut self, cycle: Result<Option<String>, String>) {
        self.cycles += 1;
        match cycle {
            Ok(Some(nick)) => self.registered.push(nick),
            Ok(None) => {}
            Err(problem) => self.problems.push(problem),
        }
    }
}

/// Connects, registers `churn<n>` (except every fourth), asks for output and resets.
async fn cycle(target: &Target, n: u64) -> Result<Option<String>, String> {
    let stream = target.connect(Some(4096)).await.map_err(|e| format!("connect: {e}"))?;
    stream.set_zero_linger().map_err(|e| format!("SO_LINGER: {e}"))?;
    if n % 4 == 3 {
        return Ok(None); // dropped with SO_LINGER 0: a reset before HELLO is read
    }
    let nick = format!("churn{n}");
    let (read, mut write) = stream.into_split();
    let mut lines = ServerLines::new(read);
    register(&mut lines, &mut write, &nick).await?;
    for _ in 0..REQUESTS {
        send(&mut write, &ClientMessage::Users).await.map_err(|e| format!("{nick}: USERS: {e}"))?;
    }
    // Dropping both halves closes the socket; with SO_LINGER 0 that is a reset, and the replies
    // to the requests are still unread.
    Ok(Some(nick))
}
