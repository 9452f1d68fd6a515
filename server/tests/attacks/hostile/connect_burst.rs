//! A burst of connections: a thousand clients connect at the same moment — the first wave of a
//! slowloris attack, or a botnet reconnecting — and each waits for its `HELLO`, then holds on.
//!
//! What must hold: the server takes them all in without the kernel dropping a handshake. A
//! dropped handshake is retried only after 1 s, then 3 s, 7 s…, and an honest client connecting in
//! the same moment waits as long; so the listen queue must hold the burst. The kernel counts the
//! drops (`TcpExtListenOverflows` in `/proc/net/netstat`, for the whole network namespace).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Attack, Problems, ServerLines, Target};
use crate::support::measure::{Ms, listen_overflows};

#[derive(Debug, Default)]
pub struct Report {
    pub connections: usize,
    /// Connections that had their `HELLO`.
    pub greeted: usize,
    /// The longest a connection waited from `connect` to its `HELLO`.
    pub slowest: Duration,
    /// Handshakes the kernel dropped while the burst was let in, if the counter is readable.
    pub dropped_handshakes: Option<u64>,
    pub problems: Problems,
}

impl Report {
    /// Every connection greeted, and no handshake dropped.
    pub fn problems(&self) -> Vec<String> {
        let mut problems: Vec<String> = self.problems.describe("burst connections").into_iter().collect();
        if self.greeted != self.connections {
            problems.push(format!("{} of {} connections had their HELLO", self.greeted, self.connections));
        }
        match self.dropped_handshakes {
            Some(0) => {}
            Some(dropped) => problems.push(format!(
                "the kernel dropped {dropped} handshakes while {} connections came at once: the server's listen \
                 queue overflowed; the slowest waited {} for its HELLO",
                self.connections,
                Ms(self.slowest)
            )),
            None => problems.push("/proc/net/netstat has no TcpExt ListenOverflows counter".into()),
        }
        problems
    }

    pub fn summary(&self) -> String {
        format!(
            "{} of {} greeted, the slowest after {}; {} handshakes dropped",
            self.greeted,
            self.connections,
            Ms(self.slowest),
            self.dropped_handshakes.map_or_else(|| "?".to_owned(), |d| d.to_string())
        )
    }
}

/// `connections` connections at once, held until told to stop.
pub fn launch(target: Target, connections: usize) -> Attack<Report> {
    super::launch("connection burst", target, move |target, stop, engaged| async move {
        let before = listen_overflows();
        let greeted = Arc::new(AtomicUsize::new(0));
        let (waits_tx, mut waits) = mpsc::unbounded_channel();
        let mut tasks = JoinSet::new();
        for _ in 0..connections {
            let (target, mut stop, engaged, greeted, waits_tx) =
                (target.clone(), stop.clone(), engaged.clone(), greeted.clone(), waits_tx.clone());
            tasks.spawn(async move {
                let start = Instant::now();
                let greeting = async {
                    let stream = target.connect(None).await.map_err(|e| format!("connect: {e}"))?;
                    let (read, write) = stream.into_split();
                    let mut lines = ServerLines::new(read);
                    lines.hello().await?;
                    Ok::<_, String>((lines, write))
                };
                let held = tokio::select! {
                    held = greeting => held,
                    () = stop.wait() => Err("still waiting for HELLO when the attack stopped".to_owned()),
                };
                let _ = waits_tx.send(held.is_ok().then(|| start.elapsed()));
                let n = greeted.fetch_add(1, Ordering::SeqCst) + 1;
                let dropped = before.zip(listen_overflows()).map_or(0, |(before, now)| now.saturating_sub(before));
                engaged.progress(format!(
                    "{n} of {connections} connections had their HELLO or failed; the kernel dropped {dropped} \
                     handshakes so far (its listen queue overflowed)"
                ));
                if n == connections {
                    engaged.signal();
                }
                match held {
                    Ok(_connection) => {
                        stop.wait().await;
                        Ok(())
                    }
                    Err(problem) => Err(problem),
                }
            });
        }
        drop(waits_tx);
        let mut report = Report { connections, ..Report::default() };
        while let Some(wait) = waits.recv().await {
            if let Some(wait) = wait {
                report.greeted += 1;
                report.slowest = report.slowest.max(wait);
            }
            if report.greeted == connections {
                break;
            }
        }
        report.dropped_handshakes = before.zip(listen_overflows()).map(|(before, after)| after.saturating_sub(before));
        while let Some(done) = tasks.join_next().await {
            if let Err(problem) = done.expect("a burst task panicked") {
                report.problems.push(problem);
            }
        }
        report
    })
}
