//! Flood: one registered client sends numbered messages as fast as TCP allows, reads what comes
//! back, and finally resets the connection.
//!
//! The defence is flood control: past the burst, lines are processed at the rate and the rest wait
//! in the socket — delayed, never dropped, in order (R-LIMIT-5) — with one `ERROR FLOOD` for the
//! whole episode (R-LIMIT-6). Honest clients see the flooder's messages at that rate, not faster.

use std::time::Duration;

use minichat_protocol::{ClientMessage, ErrorCode, ServerMessage, Text};
use minichat_server::Config;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

use super::{Attack, Line, Problems, ServerLines, Target, register};
use crate::support::honest::ChatRecord;

/// The flooder's nick.
pub const NICK: &str = "flooder";
/// Lines per write.
const BATCH: u64 = 256;

#[derive(Debug, Default)]
pub struct Report {
    /// Lines written to the socket (not necessarily read by the server yet).
    pub written: u64,
    /// The flooder's own messages echoed back to it (R-MSG-1).
    pub echoes: u64,
    /// `ERROR FLOOD` received.
    pub floods: u64,
    /// From registration to the reset.
    pub connected_for: Duration,
    pub problems: Problems,
}

impl Report {
    /// One `FLOOD` for the one long episode; the room got the flooder's messages in order with
    /// none missing, more than the burst (so delayed lines were processed) and no more than the
    /// rate allows.
    pub fn problems(&self, chat: &ChatRecord, config: &Config) -> Vec<String> {
        let mut problems: Vec<String> = self.problems.describe("flooder").into_iter().collect();
        if self.floods != 1 {
            problems.push(format!("{} ERROR FLOOD for one episode of flooding (R-LIMIT-6)", self.floods));
        }
        let prefix = format!("MSG {NICK} flood ");
        let mut relayed = 0u64;
        for event in chat.events_starting_with(&prefix) {
            let n: Option<u64> = event[prefix.len()..].parse().ok();
            if n != Some(relayed) {
                problems.push(format!("{event:?} where message {relayed} was due: a line was lost (R-LIMIT-5)"));
                break;
            }
            relayed += 1;
        }
        let burst = u64::from(config.msg_burst);
        // Lines the server may process after the reset, before its next write fails.
        let after_reset = 2;
        let most = burst + (f64::from(config.msg_rate) * self.connected_for.as_secs_f64()).ceil() as u64 + after_reset;
        if relayed > most {
            problems.push(format!(
                "{relayed} messages relayed in {:.1} s: more than the burst of {burst} plus {}/s",
                self.connected_for.as_secs_f64(),
                config.msg_rate
            ));
        }
        if relayed <= burst {
            problems.push(format!("only {relayed} messages relayed: the delayed lines were never processed"));
        }
        problems
    }

    pub fn summary(&self) -> String {
        format!(
            "{} lines written in {:.1} s, {} echoed, {} ERROR FLOOD",
            self.written,
            self.connected_for.as_secs_f64(),
            self.echoes,
            self.floods
        )
    }
}

/// One flooder until told to stop.
pub fn launch(target: Target) -> Attack<Report> {
    super::launch("flood", target, move |target, mut stop, engaged| async move {
        let mut report = Report::default();
        let stream = match target.connect(None).await {
            Ok(stream) => stream,
            Err(e) => {
                report.problems.push(format!("connect: {e}"));
                engaged.signal();
                return report;
            }
        };
        // Closing will reset the connection, with the unread echoes and unprocessed lines pending.
        if let Err(e) = stream.set_zero_linger() {
            report.problems.push(format!("SO_LINGER: {e}"));
        }
        let (read, mut write) = stream.into_split();
        let mut lines = ServerLines::new(read);
        if let Err(e) = register(&mut lines, &mut write, NICK).await {
            report.problems.push(e);
            engaged.signal();
            return report;
        }
        let registered = Instant::now();
        let mut written = 0u64;
        let writing = async {
            loop {
                let mut batch = Vec::new();
                for n in written..written + BATCH {
                    let text = Text::new(format!("flood {n}")).expect("a valid text");
                    ClientMessage::Msg(text).encode(&mut batch);
                }
                if write.write_all(&batch).await.is_err() {
                    return;
                }
                written += BATCH;
            }
        };
        let reading = async {
            loop {
                match lines.next().await {
                    Ok(Some(Line::Parsed(ServerMessage::Error { code: ErrorCode::Flood, .. }))) => {
                        report.floods += 1;
                        engaged.signal();
                    }
                    Ok(Some(Line::Parsed(ServerMessage::Msg { from, text }))) if from.as_str() == NICK => {
                        let expected = format!("flood {}", report.echoes);
                        if text.as_str() != expected {
                            report.problems.push(format!("echo {text:?} where {expected:?} was due"));
                        }
                        report.echoes += 1;
                    }
                    Ok(Some(Line::Parsed(
                        ServerMessage::Join(_) | ServerMessage::Msg { .. } | ServerMessage::Leave { .. },
                    ))) => {}
                    Ok(Some(other)) => report.problems.push(format!("unexpected {other:?}")),
                    Ok(None) => {
                        report.problems.push("the server closed the flooder's connection");
                        return;
                    }
                    Err(e) => {
                        report.problems.push(format!("read: {e}"));
                        return;
                    }
                }
            }
        };
        tokio::select! {
            () = writing => {}
            () = reading => {}
            () = stop.wait() => {}
        }
        report.connected_for = registered.elapsed();
        report.written = written;
        engaged.signal();
        report
    })
}
