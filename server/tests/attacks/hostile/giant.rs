//! Giant lines: registered clients that each send one `MSG` line of hundreds of megabytes without
//! a line end, then end it and send `PING`.
//!
//! The defence is the framer: it holds at most *L* + 1 bytes of the line (R-TRANS-6), answers
//! `LINE_TOO_LONG` once (R-TRANS-5), relays no part of it, and the connection is usable again after
//! the LF — its `PING` is answered. If the line takes longer than *T_line*, `ERROR TIMEOUT` is the
//! right answer instead (R-TIME-2).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use minichat_protocol::{ClientMessage, ErrorCode, ServerMessage, Token};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Attack, Line, Problems, ServerLines, Target, register, send};
use crate::support::honest::ChatRecord;

/// Bytes per write.
const CHUNK: usize = 1 << 20;

/// How one giant line ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// After the LF, the `PING` was answered: the connection was usable again.
    Answered,
    /// The server closed the connection with `ERROR TIMEOUT` first (*T_line* expired).
    TimedOut,
    /// Anything else.
    Failed(String),
}

#[derive(Debug)]
pub struct LineReport {
    pub nick: String,
    pub bytes: u64,
    pub took: Duration,
    pub line_too_long: u32,
    pub ending: Ending,
    pub problems: Problems,
}

#[derive(Debug, Default)]
pub struct Report {
    pub lines: Vec<LineReport>,
}

impl Report {
    /// One `LINE_TOO_LONG` per line (R-TRANS-5); the `PING` after it answered (or, unless
    /// `must_finish`, a timeout); and no honest client ever saw a giant's message.
    pub fn problems(&self, chat: &ChatRecord, must_finish: bool) -> Vec<String> {
        let mut problems = Vec::new();
        for line in &self.lines {
            problems.extend(line.problems.describe(&line.nick));
            if line.line_too_long != 1 {
                problems.push(format!("{}: {} LINE_TOO_LONG errors for one line", line.nick, line.line_too_long));
            }
            match &line.ending {
                Ending::Answered => {}
                Ending::TimedOut if !must_finish => {}
                other => problems.push(format!("{}: the line ended {other:?}", line.nick)),
            }
        }
        if let Some(relayed) = chat.events_starting_with("MSG giant").next() {
            problems.push(format!("part of a giant line was relayed: {:.80}", relayed));
        }
        problems
    }

    pub fn summary(&self) -> String {
        let lines: Vec<String> = self
            .lines
            .iter()
            .map(|l| format!("{} MB in {:.1} s ({:?})", l.bytes >> 20, l.took.as_secs_f64(), l.ending))
            .collect();
        lines.join(", ")
    }
}

/// `count` connections, each sending one line of `bytes` bytes; gives up `deadline` after
/// starting.
pub fn launch(target: Target, count: usize, bytes: u64, deadline: Duration) -> Attack<Report> {
    super::launch("giant lines", target, move |target, _stop, engaged| async move {
        let give_up = Instant::now() + deadline;
        let started = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        for i in 0..count {
            let (target, engaged, started) = (target.clone(), engaged.clone(), started.clone());
            tasks.spawn(async move {
                let nick = format!("giant{i}");
                let one = giant_line(&target, &nick, bytes, || {
                    let started = started.fetch_add(1, Ordering::SeqCst) + 1;
                    engaged.progress(format!("{started} of {count} giant lines started"));
                    if started == count {
                        engaged.signal();
                    }
                });
                match tokio::time::timeout_at(give_up, one).await {
                    Ok(report) => report,
                    Err(_) => LineReport {
                        nick,
                        bytes,
                        took: deadline,
                        line_too_long: 0,
                        ending: Ending::Failed(format!("not done within {deadline:?}")),
                        problems: Problems::default(),
                    },
                }
            });
        }
        let mut report = Report::default();
        while let Some(line) = tasks.join_next().await {
            report.lines.push(line.expect("a giant line task panicked"));
        }
        report.lines.sort_by(|a, b| a.nick.cmp(&b.nick));
        report
    })
}

async fn giant_line(target: &Target, nick: &str, bytes: u64, started: impl FnOnce()) -> LineReport {
    let mut report = LineReport {
        nick: nick.to_owned(),
        bytes,
        took: Duration::ZERO,
        line_too_long: 0,
        ending: Ending::Failed("did not start".into()),
        problems: Problems::default(),
    };
    let stream = match target.connect(None).await {
        Ok(stream) => stream,
        Err(e) => {
            started();
            report.ending = Ending::Failed(format!("connect: {e}"));
            return report;
        }
    };
    let (read, mut write) = stream.into_split();
    let mut lines = ServerLines::new(read);
    let registered = register(&mut lines, &mut write, nick).await;
    started();
    if let Err(e) = registered {
        report.ending = Ending::Failed(e.to_string());
        return report;
    }
    let start = Instant::now();
    let token = Token::new(nick).expect("a nick is a valid token");
    let writing = async {
        let chunk = vec![b'a'; CHUNK];
        write.write_all(b"MSG ").await?;
        let mut left = bytes;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            write.write_all(&chunk[..n]).await?;
            left -= n as u64;
        }
        write.write_all(b"\n").await?;
        send(&mut write, &ClientMessage::Ping(token.clone())).await
    };
    let (_, ending) = tokio::join!(writing, read_replies(&mut lines, &token, &mut report));
    report.took = start.elapsed();
    report.ending = ending;
    if report.ending == Ending::Answered {
        let _ = send(&mut write, &ClientMessage::Quit(None)).await;
        while let Ok(Some(line)) = lines.next().await {
            if let Line::Parsed(ServerMessage::Bye(_)) = line {
                break;
            }
        }
    }
    report
}

/// Reads until the `PONG` for `token`, counting `LINE_TOO_LONG`; room events are ignored.
async fn read_replies(lines: &mut ServerLines<OwnedReadHalf>, token: &Token, report: &mut LineReport) -> Ending {
    let mut timed_out = false;
    loop {
        match lines.next().await {
            Ok(Some(Line::Parsed(message))) => match message {
                ServerMessage::Error { code: ErrorCode::LineTooLong, .. } => report.line_too_long += 1,
                ServerMessage::Error { code: ErrorCode::Timeout, .. } => timed_out = true,
                ServerMessage::Pong(t) if t == *token => return Ending::Answered,
                ServerMessage::Bye(_) if timed_out => return Ending::TimedOut,
                ServerMessage::Join(_) | ServerMessage::Msg { .. } | ServerMessage::Leave { .. } => {}
                other => report.problems.push(format!("unexpected {other}")),
            },
            Ok(Some(Line::Malformed(line))) => report.problems.push(format!("malformed {line:?}")),
            Ok(None) => return Ending::Failed("closed without an answer".into()),
            Err(e) => return Ending::Failed(format!("read: {e}")),
        }
    }
}
