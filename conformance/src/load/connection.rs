//! The Tokio glue of one load client: its TCP connection, read and written from one task.
//!
//! One task owns one socket and its [`LoadClient`], and waits on whichever comes first: bytes to
//! read, room to write what is pending, the pace's next due time, or a new phase of the run. It
//! never blocks writing while it could be reading, so a server that delays its lines (flood
//! control) cannot make it a slow consumer. Reads go into one large buffer per runtime thread,
//! used and released before the task awaits again: the only bytes a client keeps between reads
//! are its incomplete line, so a thousand clients cost no thousand large buffers.

use std::cell::RefCell;
use std::io;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio::sync::{SemaphorePermit, watch};
use tokio::time::sleep_until;

use super::client::{ClientOutcome, LoadClient, Milestone, SetupFailure};
use super::run::{EventKind, Phase, Shared};

/// The read buffer of each runtime thread.
const READ_BUFFER_BYTES: usize = 256 * 1024;

thread_local! {
    static READ_BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0; READ_BUFFER_BYTES]);
}

/// Runs one client until the run stops or its connection ends; returns what it did.
pub(crate) async fn drive(
    mut client: LoadClient,
    shared: Arc<Shared>,
    mut phase: watch::Receiver<Phase>,
) -> ClientOutcome {
    let id = client.id();
    let (stream, permit) = match connect(&shared).await {
        Ok(connected) => connected,
        Err(failure) => {
            shared.report(id, EventKind::SetupFailed(failure)).await;
            return client.into_outcome(None);
        }
    };
    // Held until registered: it bounds how many registrations the server handles at once.
    let mut permit = Some(permit);
    let mut milestones = Vec::new();
    let ended: Option<String> = loop {
        if let Err(e) = flush(&stream, client.output()) {
            break Some(format!("writing failed: {e}"));
        }
        let wake = client.wake_at();
        tokio::select! {
            biased;
            changed = phase.changed() => {
                let now = if changed.is_ok() { *phase.borrow_and_update() } else { Phase::Stop };
                match now {
                    Phase::Setup => {}
                    Phase::Send => client.start_sending(shared.now_ns()),
                    Phase::Drain => client.start_final_barrier(),
                    Phase::Stop => break None,
                }
            }
            ready = stream.readable() => {
                match ready.and_then(|()| read_once(&stream, &mut client, &shared, &mut milestones)) {
                    Ok(true) => {}
                    Ok(false) => break Some("the server closed the connection".to_owned()),
                    Err(e) => break Some(format!("reading failed: {e}")),
                }
                shared.note_deliveries(shared.latency.record(id, client.take_latencies()));
                for milestone in milestones.drain(..) {
                    let kind = match milestone {
                        Milestone::Registered => {
                            permit = None;
                            EventKind::Registered
                        }
                        Milestone::BarrierPassed(barrier) => EventKind::BarrierPassed(barrier),
                        Milestone::SetupFailed(failure) => {
                            shared.report(id, EventKind::SetupFailed(failure)).await;
                            return client.into_outcome(None);
                        }
                    };
                    shared.report(id, kind).await;
                }
            }
            ready = stream.writable(), if client.has_output() => {
                if let Err(e) = ready {
                    break Some(format!("writing failed: {e}"));
                }
            }
            () = sleep_until(shared.instant_at(wake.unwrap_or(0))), if wake.is_some() => {
                client.send_due(shared.now_ns());
            }
        }
    };
    drop(permit);
    let Some(reason) = ended else {
        client.quit();
        // Best effort: the run is over, whatever the server does with it.
        let _ = flush(&stream, client.output());
        return client.into_outcome(None);
    };
    if *phase.borrow() == Phase::Stop {
        // The run ended while the connection did: not a disconnect.
        return client.into_outcome(None);
    }
    let last = client.recent_lines();
    if client.is_registered() {
        shared.report(id, EventKind::Disconnected).await;
        client.into_outcome(Some(format!("{reason}; last lines: {last}")))
    } else {
        shared.report(id, EventKind::SetupFailed(SetupFailure::Closed { reason, last })).await;
        client.into_outcome(None)
    }
}

async fn connect(shared: &Shared) -> Result<(TcpStream, SemaphorePermit<'_>), SetupFailure> {
    let failure = |error: &io::Error| SetupFailure::Connect {
        server: shared.server.to_string(),
        error: error.to_string(),
        hint: connect_hint(error),
    };
    let permit = shared.connect_slots.acquire().await.map_err(|e| SetupFailure::Connect {
        server: shared.server.to_string(),
        error: e.to_string(),
        hint: "",
    })?;
    let stream = TcpStream::connect(shared.server).await.map_err(|e| failure(&e))?;
    // Lines are small: Nagle's algorithm would hold them back (SPEC.md §2's advice to servers).
    stream.set_nodelay(true).map_err(|e| failure(&e))?;
    Ok((stream, permit))
}

fn connect_hint(error: &io::Error) -> &'static str {
    if error.kind() == io::ErrorKind::ConnectionRefused {
        " — is the server running and listening there?"
    } else if is_out_of_files(error) {
        " — the open-file limit is too low for --clients: run `ulimit -n 20000` (or more) in this shell first"
    } else if error.kind() == io::ErrorKind::AddrNotAvailable {
        " — this machine ran out of local ports: lower --clients"
    } else {
        ""
    }
}

#[cfg(unix)]
fn is_out_of_files(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(nix::libc::EMFILE | nix::libc::ENFILE))
}

#[cfg(not(unix))]
fn is_out_of_files(_: &io::Error) -> bool {
    false
}

/// Reads what the socket has into this thread's buffer and hands it to the client. `Ok(false)`:
/// the server closed the connection.
fn read_once(
    stream: &TcpStream,
    client: &mut LoadClient,
    shared: &Shared,
    milestones: &mut Vec<Milestone>,
) -> io::Result<bool> {
    READ_BUFFER.with_borrow_mut(|buf| match stream.try_read(buf) {
        Ok(0) => Ok(false),
        Ok(n) => {
            client.on_input(&buf[..n], shared.now_ns(), milestones);
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(true),
        Err(e) => Err(e),
    })
}

/// Writes as much of `out` as the socket takes now, and removes it from `out`.
fn flush(stream: &TcpStream, out: &mut Vec<u8>) -> io::Result<()> {
    let mut written = 0;
    while written < out.len() {
        match stream.try_write(&out[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    out.drain(..written);
    Ok(())
}
