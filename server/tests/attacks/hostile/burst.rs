//! Coordinated bursts: one host opens as many connections as the per-address limit *A* admits,
//! registers them all, and has every one send its whole flood-control burst of longest messages at
//! the same moment — again each time the budget has refilled. Each connection stays within flood
//! control (R-LIMIT-5); together they put `connections × burst × L` bytes into every member's
//! queue at once. The attackers read everything, so they are not slow consumers themselves.
//!
//! What must hold: honest clients that read as fast as they can are not disconnected as slow
//! consumers (R-LIMIT-3 is about clients that do not read, not about the room's volume).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use minichat_protocol::{ClientMessage, ErrorCode, ServerMessage, Text};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::{Attack, Line, Problems, ServerLines, Stop, Target, register};

/// The one host all the connections come from (no other attack uses it).
pub const HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 2, 0, 1));

#[derive(Debug, Default)]
pub struct Report {
    pub connections: usize,
    /// Rounds of simultaneous bursts.
    pub rounds: u64,
    /// Bytes sent in each round, all connections together.
    pub bytes_per_round: u64,
    /// Attacking connections the server dropped (as slow consumers: they read, but not fast
    /// enough to keep up with their own room).
    pub dropped: u64,
    pub problems: Problems,
}

impl Report {
    pub fn problems(&self) -> Vec<String> {
        self.problems.describe("bursting connections").into_iter().collect()
    }

    pub fn summary(&self) -> String {
        format!(
            "{} connections from {HOST}, {} rounds of {:.2} MB at once, {} attackers dropped",
            self.connections,
            self.rounds,
            self.bytes_per_round as f64 / 1e6,
            self.dropped
        )
    }
}

/// `connections` connections from [`HOST`], each bursting `burst` lines every `every`.
pub fn launch(target: Target, connections: usize, burst: u32, every: Duration) -> Attack<Report> {
    super::launch("bursts", target, move |target, stop, engaged| async move {
        let text = Text::new("b".repeat(target.limits.max_text())).expect("a valid text");
        let round: Arc<[u8]> = ClientMessage::Msg(text).to_line().repeat(burst as usize).into();
        let start = Arc::new(Barrier::new(connections));
        let mut tasks = JoinSet::new();
        for i in 0..connections {
            let (target, stop, engaged, start, round) =
                (target.server, stop.clone(), engaged.clone(), start.clone(), round.clone());
            tasks.spawn(async move {
                let mut problems = Problems::default();
                let outcome = burst_from(target, &format!("burst{i}"), &round, every, stop, &mut problems, async {
                    if start.wait().await.is_leader() {
                        engaged.signal();
                    }
                })
                .await;
                (outcome, problems)
            });
        }
        let mut report =
            Report { connections, bytes_per_round: round.len() as u64 * connections as u64, ..Report::default() };
        while let Some(done) = tasks.join_next().await {
            let ((rounds, dropped), problems) = done.expect("a burst task panicked");
            report.rounds = report.rounds.max(rounds);
            report.dropped += u64::from(dropped);
            report.problems.merge(problems);
        }
        report
    })
}

/// One connection: register, wait for the others, then burst every `every` until told to stop.
/// Returns the rounds it sent and whether the server dropped it.
async fn burst_from(
    server: SocketAddr,
    nick: &str,
    round: &[u8],
    every: Duration,
    mut stop: Stop,
    problems: &mut Problems,
    ready: impl Future<Output = ()>,
) -> (u64, bool) {
    let connected = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(HOST, 0))?;
        let stream = socket.connect(server).await?;
        stream.set_nodelay(true)?;
        Ok::<_, std::io::Error>(stream)
    }
    .await;
    let registered = match connected {
        Ok(stream) => {
            let (read, mut write) = stream.into_split();
            let mut lines = ServerLines::new(read);
            register(&mut lines, &mut write, nick).await.map(|()| (lines, write)).map_err(String::from)
        }
        Err(e) => Err(format!("connect: {e}")),
    };
    // Everyone takes part in the start, even a connection that failed.
    tokio::select! {
        () = ready => {}
        () = stop.wait() => return (0, false),
    }
    let (mut lines, mut write) = match registered {
        Ok(halves) => halves,
        Err(problem) => {
            problems.push(problem);
            return (0, false);
        }
    };
    let mut rounds = 0;
    let mut pace = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = pace.tick() => {
                if write.write_all(round).await.is_err() {
                    return (rounds, true);
                }
                rounds += 1;
            }
            line = lines.next() => match line {
                Ok(Some(Line::Parsed(ServerMessage::Error { code: ErrorCode::SlowConsumer, .. }))) => return (rounds, true),
                Ok(Some(Line::Parsed(
                    ServerMessage::Join(_)
                    | ServerMessage::Msg { .. }
                    | ServerMessage::Leave { .. }
                    | ServerMessage::Error { code: ErrorCode::Flood, .. },
                ))) => {}
                Ok(Some(other)) => problems.push(format!("{nick}: unexpected {other:?}")),
                Ok(None) | Err(_) => return (rounds, true),
            },
            () = stop.wait() => return (rounds, false),
        }
    }
}
