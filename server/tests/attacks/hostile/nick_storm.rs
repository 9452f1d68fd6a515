//! Nick storm: hundreds of connections ask for the same nick at the same moment (spelled in
//! different cases), and keep asking. A winner quits at once and comes back to ask again, so the
//! nick changes hands as fast as the server allows.
//!
//! The defences: one global order, in which exactly one `USER` can win a free nick (R-NICK-2,
//! folded case); `NICK_IN_USE` changes nothing (R-REG-4); flood control paces the retries
//! (R-LIMIT-5); a contender that has not won within *T_reg* is timed out (R-TIME-1) and comes
//! back.

use std::sync::Arc;

use minichat_protocol::{ClientMessage, ErrorCode, Nick, ServerMessage};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{Attack, Line, Problems, ServerLines, Stop, Target, send};
use crate::support::honest::ChatRecord;

/// The nick everyone wants, in the spellings the contenders use (all equal after folding).
const SPELLINGS: [&str; 4] = ["storm", "Storm", "STORM", "sToRm"];

#[derive(Debug, Default)]
pub struct Report {
    pub contenders: usize,
    pub connections: u64,
    /// `USER` lines sent.
    pub attempts: u64,
    /// `ERROR NICK_IN_USE` received.
    pub refused: u64,
    /// `ERROR FLOOD` received.
    pub floods: u64,
    /// `WELCOME` received.
    pub wins: u64,
    /// Connections closed with `ERROR TIMEOUT` before they won (R-TIME-1).
    pub timeouts: u64,
    pub problems: Problems,
}

impl Report {
    /// The room saw the nick join and leave strictly in turn — never held twice (R-NICK-2) — and
    /// once per `WELCOME`.
    pub fn problems(&self, chat: &ChatRecord) -> Vec<String> {
        let mut problems: Vec<String> = self.problems.describe("nick storm").into_iter().collect();
        let mut held = false;
        let mut joins = 0;
        for event in chat.reference() {
            let mut words = event.split(' ');
            let (Some(kind), Some(nick)) = (words.next(), words.next()) else { continue };
            if !nick.eq_ignore_ascii_case("storm") {
                continue;
            }
            match (kind, held) {
                ("JOIN", false) => {
                    held = true;
                    joins += 1;
                }
                ("LEAVE", true) => held = false,
                ("MSG", _) => problems.push(format!("a contender spoke: {event}")),
                _ => {
                    problems
                        .push(format!("{event} while the nick was {}held (R-NICK-2)", if held { "" } else { "not " }));
                    break;
                }
            }
        }
        if joins != self.wins {
            problems.push(format!("{} WELCOMEs but the room saw {joins} JOINs", self.wins));
        }
        if self.wins == 0 {
            problems.push("nobody won the nick".into());
        }
        problems
    }

    pub fn summary(&self) -> String {
        format!(
            "{} contenders, {} connections, {} USER sent, {} NICK_IN_USE, {} wins, {} FLOOD, {} register timeouts",
            self.contenders, self.connections, self.attempts, self.refused, self.wins, self.floods, self.timeouts
        )
    }
}

/// `contenders` connections that all ask at once, then keep asking until told to stop.
pub fn launch(target: Target, contenders: usize) -> Attack<Report> {
    super::launch("nick storm", target, move |target, stop, engaged| async move {
        let start = Arc::new(Barrier::new(contenders));
        let mut tasks = JoinSet::new();
        for i in 0..contenders {
            let (target, stop, engaged, start) = (target.clone(), stop.clone(), engaged.clone(), start.clone());
            let nick = Nick::new(SPELLINGS[i % SPELLINGS.len()]).expect("a valid nick");
            tasks.spawn(async move {
                let mut tally = Report::default();
                contend(&target, &nick, stop, &mut tally, async {
                    if start.wait().await.is_leader() {
                        engaged.signal();
                    }
                })
                .await;
                tally
            });
        }
        let mut report = Report { contenders, ..Report::default() };
        while let Some(tally) = tasks.join_next().await {
            let tally = tally.expect("a nick storm task panicked");
            report.connections += tally.connections;
            report.attempts += tally.attempts;
            report.refused += tally.refused;
            report.floods += tally.floods;
            report.wins += tally.wins;
            report.timeouts += tally.timeouts;
            report.problems.merge(tally.problems);
        }
        report
    })
}

/// Asks for `nick` until told to stop; after a win, quits and reconnects. `ready` is awaited once,
/// after the first `HELLO`: it releases every contender at the same moment.
async fn contend(target: &Target, nick: &Nick, mut stop: Stop, tally: &mut Report, ready: impl Future<Output = ()>) {
    let mut ready = Some(Box::pin(ready));
    while !stop.is_set() {
        let greeted = match target.connect(None).await {
            Ok(stream) => {
                tally.connections += 1;
                let (read, write) = stream.into_split();
                let mut lines = ServerLines::new(read);
                lines.hello().await.map(|()| (lines, write))
            }
            Err(e) => Err(format!("connect: {e}")),
        };
        // A contender that failed still takes its place at the start, or the others would wait
        // for it forever.
        if let Some(ready) = ready.take() {
            tokio::select! {
                () = ready => {}
                () = stop.wait() => return,
            }
        }
        let (mut lines, mut write) = match greeted {
            Ok(greeted) => greeted,
            Err(problem) => {
                tally.problems.push(problem);
                return;
            }
        };
        if let Err(problem) = ask_until_won(&mut lines, &mut write, nick, &stop, tally).await {
            tally.problems.push(problem);
            return;
        }
    }
}

/// Sends `USER nick` until it wins (then quits), is timed out, or the attack stops.
async fn ask_until_won(
    lines: &mut ServerLines<OwnedReadHalf>,
    write: &mut OwnedWriteHalf,
    nick: &Nick,
    stop: &Stop,
    tally: &mut Report,
) -> Result<(), String> {
    while !stop.is_set() {
        send(write, &ClientMessage::User(*nick)).await.map_err(|e| format!("USER: {e}"))?;
        tally.attempts += 1;
        // The answer to this USER; a FLOOD warning may come first (R-LIMIT-6).
        loop {
            match lines.next().await.map_err(|e| format!("read: {e}"))? {
                Some(Line::Parsed(ServerMessage::Error { code: ErrorCode::NickInUse, .. })) => {
                    tally.refused += 1;
                    break;
                }
                Some(Line::Parsed(ServerMessage::Error { code: ErrorCode::Flood, .. })) => tally.floods += 1,
                Some(Line::Parsed(ServerMessage::Welcome(won))) if won == *nick => {
                    tally.wins += 1;
                    return quit(lines, write).await;
                }
                Some(Line::Parsed(ServerMessage::Error { code: ErrorCode::Timeout, .. })) => {
                    tally.timeouts += 1;
                    return match lines.next().await.map_err(|e| format!("read: {e}"))? {
                        Some(Line::Parsed(ServerMessage::Bye(_))) => Ok(()),
                        other => Err(format!("{other:?} after ERROR TIMEOUT, not BYE")),
                    };
                }
                other => return Err(format!("USER {nick} answered with {other:?}")),
            }
        }
    }
    Ok(())
}

/// After a `WELCOME`: the rest of the user list, `QUIT`, and everything up to `BYE`.
async fn quit(lines: &mut ServerLines<OwnedReadHalf>, write: &mut OwnedWriteHalf) -> Result<(), String> {
    send(write, &ClientMessage::Quit(None)).await.map_err(|e| format!("QUIT: {e}"))?;
    loop {
        match lines.next().await.map_err(|e| format!("read: {e}"))? {
            Some(Line::Parsed(ServerMessage::Bye(_))) => return Ok(()),
            Some(Line::Parsed(
                ServerMessage::Users(_)
                | ServerMessage::EndUsers(_)
                | ServerMessage::Join(_)
                | ServerMessage::Msg { .. }
                | ServerMessage::Leave { .. }
                | ServerMessage::Error { code: ErrorCode::Flood, .. },
            )) => {}
            other => return Err(format!("{other:?} before BYE")),
        }
    }
}
