//! Stalled readers: registered clients that never read. Some of them post the longest messages
//! the server allows at the rate flood control allows (evenly, without using the burst), so the
//! room's traffic piles up for all of them and each one's output grows until it passes *Q*. A
//! slot reconnects (under a new nick) once the server has dropped it.
//!
//! The defence is the output bound (R-LIMIT-3): the server disconnects a slow consumer with
//! `LEAVE <nick> SLOW` to the others, holds at most *Q* for it until then (R-LIMIT-4), and never
//! makes anyone else's delivery wait for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use minichat_protocol::{ClientMessage, ErrorCode, Text};
use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Attack, Problems, ServerLines, Stop, Target, Unregistered, register};
use crate::support::honest::ChatRecord;

/// The receive buffer a stalled reader asks for: the smaller, the sooner the server's queue is
/// what holds its backlog rather than the kernel.
const RECEIVE_BUFFER: u32 = 4096;

/// What the kernels may hold for one stalled reader on top of the server's own bound *Q*: the
/// server's socket send buffer and the reader's receive buffer. 256 KiB covers a fixed send buffer
/// of 64 KiB (which Linux doubles) and the reader's 8 KiB with room to spare; a send buffer left
/// to autotuning grows to `tcp_wmem`'s maximum, 4 MiB by default.
pub const KERNEL_ALLOWANCE: u64 = 256 << 10;

#[derive(Debug, Default)]
pub struct Report {
    pub slots: usize,
    /// Nicks whose connection the server dropped while they were still posting.
    pub dropped: Vec<String>,
    /// Nicks still connected when the attack stopped; the attacker closed those itself.
    pub closed_by_attacker: Vec<String>,
    /// Slots the server never dropped before the attack gave up.
    pub never_dropped: usize,
    pub problems: Problems,
}

impl Report {
    /// Every dropped stalled reader left as `SLOW` (R-LIMIT-3), every other one as `LOST` or
    /// `SLOW`, and each exactly once (R-LEAVE-2), in the honest clients' global order.
    pub fn problems(&self, chat: &ChatRecord) -> Vec<String> {
        let mut problems: Vec<String> = self.problems.describe("stalled readers").into_iter().collect();
        if self.never_dropped > 0 {
            problems.push(format!("{} of {} stalled readers were never disconnected", self.never_dropped, self.slots));
        }
        let leaves = |nick: &str| -> Vec<&str> {
            chat.events_starting_with("LEAVE ").filter(|e| e.split(' ').nth(1) == Some(nick)).collect()
        };
        for nick in &self.dropped {
            let seen = leaves(nick);
            if seen != [format!("LEAVE {nick} SLOW")] {
                problems.push(format!(
                    "{nick} was dropped while it stalled; the room saw {seen:?}, not one LEAVE {nick} SLOW"
                ));
            }
        }
        for nick in &self.closed_by_attacker {
            let seen = leaves(nick);
            let expected = [format!("LEAVE {nick} LOST"), format!("LEAVE {nick} SLOW")];
            if seen.len() != 1 || !expected.iter().any(|e| e == seen[0]) {
                problems.push(format!("{nick} closed its connection; the room saw {seen:?}"));
            }
        }
        problems
    }

    /// The server dropped each stalled reader before it and the kernels together held more than
    /// *Q* + [`KERNEL_ALLOWANCE`] for it (R-LIMIT-3, R-LIMIT-4).
    pub fn backlog_problems(&self, chat: &ChatRecord, max_queue: usize) -> Vec<String> {
        let most = max_queue as u64 + KERNEL_ALLOWANCE;
        let backlogs = self.backlogs(chat);
        let over: Vec<_> = backlogs.iter().filter(|(_, bytes)| *bytes > most).collect();
        match over.iter().max_by_key(|(_, bytes)| *bytes) {
            None => Vec::new(),
            Some((nick, bytes)) => vec![format!(
                "{} of {} stalled readers were kept while more than Q + {} KiB = {} KiB piled up for them \
                 (up to {} KiB, {nick}): the kernel holds what Q does not",
                over.len(),
                backlogs.len(),
                KERNEL_ALLOWANCE >> 10,
                most >> 10,
                bytes >> 10
            )],
        }
    }

    /// For each stalled reader the server dropped, the bytes the room sent it while it was
    /// connected: the room events between its JOIN and its LEAVE in the global order (R-ORDER-1).
    /// It read none of them, so the server's queue and the kernels' buffers held them all.
    pub fn backlogs(&self, chat: &ChatRecord) -> Vec<(String, u64)> {
        let reference = chat.reference();
        self.dropped
            .iter()
            .filter_map(|nick| {
                let join = reference.iter().position(|e| *e == format!("JOIN {nick}"))?;
                let leave = join + reference[join..].iter().position(|e| *e == format!("LEAVE {nick} SLOW"))?;
                let bytes = reference[join + 1..leave].iter().map(|e| e.len() as u64 + 1).sum();
                Some((nick.clone(), bytes))
            })
            .collect()
    }

    pub fn summary(&self, chat: &ChatRecord) -> String {
        let largest = self.backlogs(chat).into_iter().map(|(_, bytes)| bytes).max().unwrap_or(0);
        format!(
            "{} slots, {} disconnected as slow consumers (largest backlog {} KiB), {} still connected at the end",
            self.slots,
            self.dropped.len(),
            largest >> 10,
            self.closed_by_attacker.len()
        )
    }
}

/// `slots` stalled readers, of which `posters` post `rate` messages per second: the room's volume
/// is the posters', however many stall. Gives up `deadline` after starting.
pub fn launch(target: Target, slots: usize, posters: usize, rate: u32, deadline: Duration) -> Attack<Report> {
    super::launch("stalled readers", target, move |target, stop, engaged| async move {
        let settled = Arc::new(AtomicUsize::new(0));
        let give_up = Instant::now() + deadline;
        let text = Text::new("x".repeat(target.limits.max_text())).expect("a valid text");
        let line: Arc<[u8]> = ClientMessage::Msg(text).to_line().into();
        let every = Duration::from_secs(1) / rate;
        let mut tasks = JoinSet::new();
        for slot in 0..slots {
            let stalled = Stalled {
                target: target.clone(),
                slot,
                stop: stop.clone(),
                give_up,
                line: line.clone(),
                every,
                posts: slot < posters,
            };
            let (engaged, settled) = (engaged.clone(), settled.clone());
            tasks.spawn(stalled.run(move || {
                let registered = settled.fetch_add(1, Ordering::SeqCst) + 1;
                engaged.progress(format!("{registered} of {slots} stalled readers registered"));
                if registered == slots {
                    engaged.signal();
                }
            }));
        }
        let mut report = Report { slots, ..Report::default() };
        while let Some(tally) = tasks.join_next().await {
            let tally = tally.expect("a stalled reader task panicked");
            report.never_dropped += usize::from(tally.dropped.is_empty());
            report.dropped.extend(tally.dropped);
            report.closed_by_attacker.extend(tally.closed_by_attacker);
            report.problems.merge(tally.problems);
        }
        report
    })
}

struct Stalled {
    target: Target,
    slot: usize,
    stop: Stop,
    give_up: Instant,
    line: Arc<[u8]>,
    every: Duration,
    /// Whether this one posts messages; the others send empty lines (R-TRANS-9: no reply, no
    /// relay) at the same pace, so that a write still fails once the server has dropped them.
    posts: bool,
}

#[derive(Default)]
struct Tally {
    dropped: Vec<String>,
    closed_by_attacker: Vec<String>,
    problems: Problems,
}

impl Stalled {
    async fn run(mut self, registered: impl FnOnce()) -> Tally {
        let mut tally = Tally::default();
        let mut registered = Some(registered);
        for generation in 0.. {
            if (self.stop.is_set() && !tally.dropped.is_empty()) || Instant::now() >= self.give_up {
                break;
            }
            let nick = format!("stall{}x{generation}", self.slot);
            let result = self.one_connection(&nick, &mut tally, &mut registered).await;
            if let Some(settle) = registered.take() {
                settle();
            }
            match result {
                Ok(true) => tally.dropped.push(nick),
                Ok(false) => {
                    tally.closed_by_attacker.push(nick);
                    break;
                }
                Err(problem) => {
                    tally.problems.push(problem);
                    break;
                }
            }
        }
        tally
    }

    /// Registers and then only writes: `Ok(true)` once the server drops the connection,
    /// `Ok(false)` if the attack stops first.
    async fn one_connection(
        &mut self,
        nick: &str,
        tally: &mut Tally,
        registered: &mut Option<impl FnOnce()>,
    ) -> Result<bool, String> {
        let stream = self.target.connect(Some(RECEIVE_BUFFER)).await.map_err(|e| format!("connect: {e}"))?;
        let (read, mut write) = stream.into_split();
        let mut lines = ServerLines::new(read);
        match register(&mut lines, &mut write, nick).await {
            Ok(()) => {}
            // The room's traffic passed Q before the user list was read: dropped while registering.
            Err(Unregistered::Refused(ErrorCode::SlowConsumer)) => return Ok(true),
            Err(other) => return Err(other.into()),
        }
        if let Some(settle) = registered.take() {
            settle();
        }
        // From here on nothing is read: `lines` only keeps the socket's read side open.
        let mut pace = tokio::time::interval(self.every);
        let line: &[u8] = if self.posts { &self.line } else { b"\n" };
        loop {
            tokio::select! {
                _ = pace.tick() => {
                    // A write fails once the server has dropped the connection (a reset).
                    if write.write_all(line).await.is_err() {
                        return Ok(true);
                    }
                }
                () = self.stop.wait(), if !tally.dropped.is_empty() => return Ok(false),
                () = tokio::time::sleep_until(self.give_up) => return Ok(false),
            }
        }
    }
}
