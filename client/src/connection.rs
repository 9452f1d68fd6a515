//! The Tokio glue between a server connection, the [`Session`] and a user interface.
//!
//! One task, one `select!` loop: read the socket, write what is pending, take the user's next
//! line, and time out a `QUIT` that gets no `BYE`. Every event goes to the session and its
//! actions are carried out in order, messages encoded for the session's [`Wire`](crate::wire::Wire)
//! (lines or PodSixNet frames). Nothing else decides anything here.
//!
//! Reading and writing are separate branches of the loop, so the client keeps reading (and
//! answering `PING`) while the server is slow to take what we send, as it is under flood control
//! (R-LIMIT-5). User input is only taken while less than [`PENDING_OUTPUT_HIGH_WATER`] bytes are
//! waiting to be written, so a long pipe never piles up in memory; if the server stops reading
//! altogether and even answers to its own `PING`s pile up past [`MAX_PENDING_OUTPUT`], the
//! connection is treated as lost.

use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::BytesMut;
use minichat_protocol::FrameError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::display::{Display, NotSent};
use crate::exit::ExitStatus;
use crate::session::{Action, Event, Prompt, Session};

/// Above this many bytes waiting to be written, user input waits.
pub const PENDING_OUTPUT_HIGH_WATER: usize = 64 * 1024;
/// Above this many bytes waiting to be written, the server is taken to have stopped reading.
pub const MAX_PENDING_OUTPUT: usize = 1024 * 1024;
/// How much is read from the socket at once.
const READ_CHUNK: usize = 16 * 1024;
/// How long the last lines (a `QUIT`) may take to leave when the session ends.
const FINAL_FLUSH_LIMIT: Duration = Duration::from_secs(1);

/// What the user did, as a user interface reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserInput {
    /// A line was entered.
    Line(String),
    /// A line could not be read (too long, or not UTF-8).
    Unreadable(FrameError),
    /// The input ended: end of file, Ctrl-D or Ctrl-C.
    End,
}

/// The terminal or the pipe: where input comes from and where [`Display`]s go.
pub trait UserInterface {
    /// Waits for the user's next line. `prompt` is `None` while the session takes no input; an
    /// interface may still report [`UserInput::End`] then (Ctrl-C), but no line.
    ///
    /// Must be cancel-safe: the loop drops this future whenever another event comes first.
    fn next_input(&mut self, prompt: Option<&Prompt>) -> impl Future<Output = io::Result<UserInput>>;

    /// Shows one item to the user.
    fn show(&mut self, display: &Display) -> io::Result<()>;
}

/// Runs `session` over `stream` with `ui` until the session exits, and returns its status.
/// `bye_timeout` is how long the server may stay silent after `QUIT` before the client gives up.
///
/// An error is returned only when the user interface fails (terminal or standard I/O).
pub async fn run(
    stream: TcpStream,
    mut session: Session,
    ui: &mut impl UserInterface,
    bye_timeout: Duration,
) -> io::Result<ExitStatus> {
    let (mut reader, mut writer) = stream.into_split();
    let mut pending = BytesMut::new();
    let mut chunk = vec![0; READ_CHUNK];
    // The bye timeout counts from the later of QUIT and the last bytes heard: a server working
    // through a long pipe under flood control is slow, not gone.
    let mut last_heard = Instant::now();
    loop {
        let prompt = session.wants_input().filter(|_| pending.len() < PENDING_OUTPUT_HIGH_WATER);
        let was_awaiting_bye = session.is_awaiting_bye();
        let actions = if pending.len() > MAX_PENDING_OUTPUT {
            session.handle(Event::ConnectionFailed(format!(
                "the server has not read the last {} bytes sent to it",
                pending.len()
            )))
        } else {
            tokio::select! {
                read = reader.read(&mut chunk) => {
                    last_heard = Instant::now();
                    match read {
                        Ok(0) => session.handle(Event::ServerClosed),
                        Ok(n) => session.handle(Event::FromServer(&chunk[..n])),
                        Err(error) => session.handle(Event::ConnectionFailed(error.to_string())),
                    }
                }
                written = writer.write_buf(&mut pending), if !pending.is_empty() => match written {
                    Ok(_) => continue,
                    Err(error) => session.handle(Event::ConnectionFailed(error.to_string())),
                },
                input = ui.next_input(prompt.as_ref()) => match input? {
                    UserInput::Line(line) => session.handle(Event::Typed(&line)),
                    UserInput::Unreadable(error) => session.handle(Event::Unreadable(error)),
                    UserInput::End => session.handle(Event::EndOfInput),
                },
                () = tokio::time::sleep_until(last_heard + bye_timeout), if was_awaiting_bye => {
                    session.handle(Event::ByeTimeout)
                }
            }
        };
        if session.is_awaiting_bye() && !was_awaiting_bye {
            last_heard = Instant::now();
        }
        let wire = session.wire();
        for action in actions {
            match action {
                Action::Send(message) => {
                    if let Err(error) = wire.encode(&message, &mut pending) {
                        ui.show(&Display::NotSent(NotSent::Unframeable(error)))?;
                    }
                }
                Action::Show(display) => ui.show(&display)?,
                Action::Exit(status) => {
                    if !pending.is_empty() {
                        // Best effort: the session is over whether or not these bytes leave.
                        let _ = tokio::time::timeout(FINAL_FLUSH_LIMIT, writer.write_all(&pending)).await;
                    }
                    return Ok(status);
                }
            }
        }
    }
}

/// Connects to `server` (`HOST:PORT`), giving up after `limit`. The error is worded to follow
/// "cannot connect to HOST:PORT: ".
pub async fn connect(server: &str, limit: Duration) -> Result<TcpStream, String> {
    match tokio::time::timeout(limit, TcpStream::connect(server)).await {
        Err(_) => Err(format!("no answer within {}", humantime::format_duration(limit))),
        Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionRefused => Err("connection refused".to_owned()),
        Ok(Err(error)) => Err(error.to_string()),
        Ok(Ok(stream)) => {
            // Chat lines are small: don't let Nagle's algorithm hold them back.
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY");
            }
            Ok(stream)
        }
    }
}
