//! Slowloris: connections that hold a slot while costing their sender nothing. Half connect and
//! never register; half trickle the start of a line (`USER aaa…`), one byte every 100 ms, and
//! never end it. Each slot reconnects as soon as the server drops it, so the pressure lasts the
//! whole attack.
//!
//! The defence is the timeouts: `ERROR TIMEOUT` and `BYE` after *T_reg* for a connection that
//! never registers (R-TIME-1) and after *T_line* for a line that never ends, however many bytes
//! trickle in (R-TIME-2).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use minichat_protocol::{ErrorCode, ServerMessage};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Attack, Line, Problems, ServerLines, Stop, Target};

/// One trickled byte every this long.
const TRICKLE_EVERY: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
pub struct Report {
    pub slots: usize,
    /// Connections opened, reconnections included.
    pub connections: u64,
    /// Connections the server closed with `ERROR TIMEOUT` and `BYE`.
    pub shed: u64,
    /// Slots the server never shed before the attack gave up.
    pub never_shed: usize,
    pub problems: Problems,
}

impl Report {
    /// What the test asserts about the attack itself: every slot was shed with `ERROR TIMEOUT`
    /// and `BYE`, and the server sent nothing else.
    pub fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self.problems.describe("slowloris connections").into_iter().collect();
        if self.never_shed > 0 {
            problems
                .push(format!("{} of {} slowloris slots were never shed by a timeout", self.never_shed, self.slots));
        }
        problems
    }

    pub fn summary(&self) -> String {
        format!("{} slots, {} connections, {} shed by ERROR TIMEOUT", self.slots, self.connections, self.shed)
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Connects and sends nothing.
    Silent,
    /// Sends `USER ` and then one `a` every [`TRICKLE_EVERY`], never a line end.
    Trickle,
}

/// `slots` connections held at once; gives up `deadline` after starting.
pub fn launch(target: Target, slots: usize, deadline: Duration) -> Attack<Report> {
    super::launch("slowloris", target, move |target, stop, engaged| async move {
        let settled = Arc::new(AtomicUsize::new(0));
        let give_up = Instant::now() + deadline;
        let mut tasks = JoinSet::new();
        for slot in 0..slots {
            let kind = if slot % 2 == 0 { Kind::Silent } else { Kind::Trickle };
            let slot = Slot { target: target.clone(), kind, stop: stop.clone(), give_up };
            let (engaged, settled) = (engaged.clone(), settled.clone());
            tasks.spawn(slot.hold(move || {
                let greeted = settled.fetch_add(1, Ordering::SeqCst) + 1;
                engaged.progress(format!(
                    "{greeted} of {slots} slowloris connections had their HELLO; the others are still connecting"
                ));
                if greeted == slots {
                    engaged.signal();
                }
            }));
        }
        let mut report = Report { slots, ..Report::default() };
        while let Some(tally) = tasks.join_next().await {
            let tally = tally.expect("a slowloris task panicked");
            report.connections += tally.connections;
            report.shed += tally.shed;
            report.never_shed += usize::from(tally.shed == 0);
            report.problems.merge(tally.problems);
        }
        report
    })
}

struct Slot {
    target: Target,
    kind: Kind,
    stop: Stop,
    give_up: Instant,
}

#[derive(Default)]
struct Tally {
    connections: u64,
    shed: u64,
    problems: Problems,
}

impl Slot {
    /// Holds the slot, reconnecting whenever the server sheds it, until told to stop once it has
    /// been shed at least once. `first_greeting` is called when the first connection has its
    /// `HELLO` (or has failed).
    async fn hold(mut self, first_greeting: impl FnOnce()) -> Tally {
        let mut tally = Tally::default();
        let mut first_greeting = Some(first_greeting);
        loop {
            if (self.stop.is_set() && tally.shed > 0) || Instant::now() >= self.give_up {
                break;
            }
            let result = self.one_connection(&mut tally, &mut first_greeting).await;
            if let Some(settle) = first_greeting.take() {
                settle();
            }
            match result {
                Ok(true) => tally.shed += 1,
                Ok(false) => break, // stopped, or gave up
                Err(problem) => {
                    tally.problems.push(problem);
                    break;
                }
            }
        }
        tally
    }

    /// One connection until the server sheds it (`Ok(true)`) or the attack stops (`Ok(false)`).
    async fn one_connection(
        &mut self,
        tally: &mut Tally,
        first_greeting: &mut Option<impl FnOnce()>,
    ) -> Result<bool, String> {
        let stream = self.target.connect(None).await.map_err(|e| format!("connect: {e}"))?;
        tally.connections += 1;
        let (read, mut write) = stream.into_split();
        let mut lines = ServerLines::new(read);
        lines.hello().await?;
        if let Some(settle) = first_greeting.take() {
            settle();
        }
        let mut trickle = tokio::time::interval(TRICKLE_EVERY);
        if let Kind::Trickle = self.kind {
            // A write error means the server closed: the read below says how.
            let _ = write.write_all(b"USER ").await;
        }
        let mut timed_out = false;
        loop {
            tokio::select! {
                line = lines.next() => match line {
                    Ok(Some(Line::Parsed(ServerMessage::Error { code: ErrorCode::Timeout, .. }))) if !timed_out => {
                        timed_out = true;
                    }
                    Ok(Some(Line::Parsed(ServerMessage::Bye(_)))) if timed_out => {}
                    Ok(None) if timed_out => return Ok(true),
                    Ok(None) => return Err("closed without ERROR TIMEOUT".into()),
                    Ok(Some(other)) => return Err(format!("{:?} sent {other:?}", self.kind)),
                    Err(e) => return Err(format!("read: {e}")),
                },
                _ = trickle.tick(), if matches!(self.kind, Kind::Trickle) => {
                    let _ = write.write_all(b"a").await;
                }
                () = self.stop.wait(), if tally.shed > 0 => return Ok(false),
                () = tokio::time::sleep_until(self.give_up) => return Ok(false),
            }
        }
    }
}
