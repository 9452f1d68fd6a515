//! One task per connection: move bytes between the socket and the core, and close the socket when
//! the core says so.
//!
//! The task does what [`IoState`](crate::core::IoState) asks, no more: it writes whenever output
//! is queued, reads only while the core wants input (flood control may pause it), and closes on
//! `close`. It holds no buffer of its own: reads land in the shared buffer and writes come
//! straight from the core's queue, so an idle connection costs only this small future.

use std::io;
use std::rc::Rc;

use tokio::net::TcpStream;
use tokio::sync::Notify;
use tracing::debug;

use super::{Shared, now};
use crate::core::{CloseMode, ConnId};

pub(super) async fn run(shared: Rc<Shared>, id: ConnId, stream: TcpStream, wake: Rc<Notify>) {
    if let Err(error) = drive(&shared, id, &stream, &wake).await {
        debug!(conn = id.index(), %error, "connection failed");
    }
    drop(stream);
    shared.core.borrow_mut().closed(id, now());
    shared.wakers.borrow_mut()[id.index()] = None;
    shared.dispatch();
    shared.note_close();
    shared.live.set(shared.live.get() - 1);
    if shared.live.get() == 0 {
        shared.all_closed.notify_one();
    }
}

async fn drive(shared: &Shared, id: ConnId, stream: &TcpStream, wake: &Notify) -> io::Result<()> {
    loop {
        let Some(mut io) = shared.core.borrow().io(id) else { return Ok(()) };
        if io.write {
            write_queued(shared, id, stream)?;
            io = match shared.core.borrow().io(id) {
                Some(io) => io,
                None => return Ok(()),
            };
        }
        match io.close {
            // Everything the core queued is written (the BYE among it): close.
            Some(_) if !io.write => return Ok(()),
            // Slow consumers and refused connections get one try, never a wait (R-LIMIT-3).
            Some(CloseMode::Abandon) => return Ok(()),
            _ => {}
        }
        tokio::select! {
            biased;
            () = wake.notified() => {}
            ready = stream.readable(), if io.read => {
                ready?;
                read_once(shared, id, stream)?;
                // One read per turn, then let the other connections have theirs.
                tokio::task::yield_now().await;
            }
            ready = stream.writable(), if io.write => ready?,
        }
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
    Ok(())
}

/// Writes queued output until it is all written or the socket is full.
fn write_queued(shared: &Shared, id: ConnId, stream: &TcpStream) -> io::Result<()> {
    loop {
        let result = {
            let core = shared.core.borrow();
            let Some(pending) = core.output(id).next() else { return Ok(()) };
            stream.try_write(pending)
        };
        match result {
            Ok(written) => shared.core.borrow_mut().written(id, written),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
