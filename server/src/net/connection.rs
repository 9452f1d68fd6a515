//! One task per connection: move bytes between the socket and the core, and close the socket when
//! the core says so.
//!
//! The task does what [`IoState`](crate::core::IoState) asks, no more: it writes whenever output
//! is queued, reads only while the core wants input (flood control may pause it), and closes on
//! `close`. It holds no buffer of its own: reads land in the shared buffer and writes come
//! straight from the core's queue, so an idle connection costs only this small task.

use std::io::{self, IoSlice};
use std::rc::Rc;
use std::task::{Context, Poll};

use tokio::net::TcpStream;
use tracing::debug;

use super::{Shared, Socket, now};
use crate::core::{CloseMode, ConnId, Pending};

/// Drives connection `id`, whose socket [`super::listener`] put in `shared.sockets`, until the core
/// is done with it; then closes the socket.
pub(super) async fn run(shared: Rc<Shared>, id: ConnId) {
    if let Err(error) = std::future::poll_fn(|cx| poll_drive(&shared, id, cx)).await {
        debug!(conn = id.index(), %error, "connection failed");
    }
    // Dropping the socket closes it.
    shared.sockets.borrow_mut()[id.index()] = None;
    shared.core.borrow_mut().closed(id, now());
    shared.dispatch();
    shared.note_activity();
    shared.note_close();
    shared.live.set(shared.live.get() - 1);
    if shared.live.get() == 0 {
        shared.all_closed.notify_one();
    }
}

/// One turn of the connection: write what is queued, close if the core is done, read once if it
/// wants input, and otherwise wait — for the socket (its readiness wakes this task) or for the
/// core (`Shared::dispatch` wakes it through the waker left in `Shared::wakers`).
///
/// Written by hand rather than with `select!` over readiness futures: `poll_read_ready` and
/// `poll_write_ready` keep the waker in the socket's own registration, so the task needs no waiter
/// nodes of its own and stays a few dozen bytes, which matters at thousands of idle connections.
fn poll_drive(shared: &Shared, id: ConnId, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    {
        let mut sockets = shared.sockets.borrow_mut();
        let Some(socket) = sockets[id.index()].as_mut() else { return Poll::Ready(Ok(())) };
        if !socket.waker.as_ref().is_some_and(|waker| waker.will_wake(cx.waker())) {
            socket.waker = Some(cx.waker().clone());
        }
    }
    let sockets = shared.sockets.borrow();
    let Some(socket) = sockets[id.index()].as_ref() else { return Poll::Ready(Ok(())) };
    let stream = &socket.stream;
    loop {
        let Some(io) = shared.core.borrow().io(id) else { return Poll::Ready(Ok(())) };
        if io.write {
            write_queued(shared, id, socket)?;
        }
        let Some(io) = shared.core.borrow().io(id) else { return Poll::Ready(Ok(())) };
        match io.close {
            // Everything the core queued is written (the BYE among it): close.
            Some(_) if !io.write => return Poll::Ready(Ok(())),
            // Slow consumers and refused connections get one try, never a wait (R-LIMIT-3).
            Some(CloseMode::Abandon) => return Poll::Ready(Ok(())),
            _ => {}
        }
        if io.write && stream.poll_write_ready(cx)?.is_ready() {
            continue; // room in the socket again
        }
        if io.read && stream.poll_read_ready(cx)?.is_ready() {
            read_once(shared, id, stream)?;
            // One read per turn, then let the other connections have theirs.
            cx.waker().wake_by_ref();
        }
        return Poll::Pending;
    }
}

/// Reads at most one buffer's worth and hands it to the core.
fn read_once(shared: &Shared, id: ConnId, stream: &TcpStream) -> io::Result<()> {
    let mut buf = shared.read_buf.borrow_mut();
    match stream.try_read(&mut buf) {
        Ok(0) => shared.core.borrow_mut().peer_closed(id, now()),
        Ok(n) => shared.core.borrow_mut().receive(id, &buf[..n], now()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
        Err(e) => return Err(e),
    }
    drop(buf);
    shared.dispatch();
    shared.note_activity();
    Ok(())
}

/// Queued pieces written with one system call. A connection's queue is usually one piece; it
/// breaks where a room log chunk ends or a reply of its own comes between room events.
const PIECES_PER_WRITE: usize = 4;

/// Writes queued output until it is all written or the socket is full.
pub(super) fn write_queued(shared: &Shared, id: ConnId, socket: &Socket) -> io::Result<()> {
    let stream = &socket.stream;
    loop {
        let result = {
            let core = shared.core.borrow();
            let mut pieces: [Option<Pending<'_>>; PIECES_PER_WRITE] = Default::default();
            for (slot, piece) in pieces.iter_mut().zip(core.output(id)) {
                *slot = Some(piece);
            }
            match &pieces {
                [None, ..] => {
                    if let Some(since) = socket.queued_since.drained() {
                        shared.queue_delay.borrow_mut().record(since, now());
                    }
                    return Ok(());
                }
                [Some(only), None, ..] => stream.try_write(only),
                _ => {
                    let slices = pieces.each_ref().map(|piece| IoSlice::new(piece.as_deref().unwrap_or_default()));
                    stream.try_write_vectored(&slices)
                }
            }
        };
        match result {
            Ok(written) => shared.core.borrow_mut().written(id, written),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
