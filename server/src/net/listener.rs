//! The accept loop: every accepted socket gets `TCP_NODELAY`, an id from the core and a task.
//!
//! Accept errors never stop the server. Errors about one connection (it was reset before we took
//! it) are skipped; errors about the server's resources (out of file descriptors, out of memory)
//! are logged and retried with exponential backoff, so the loop neither spins nor gives up.

use std::io;
use std::rc::Rc;
use std::time::Duration;

use tokio::net::TcpListener;
use tracing::{debug, warn};

use super::{Shared, Socket, connection, now};
use crate::core::Profile;

const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The kernel's send buffer per connection, in bytes (SPEC.md R-LIMIT-4).
const SEND_BUFFER: usize = 64 * 1024;

/// PodSixNet programs never answer PING (R-PSN-8): the kernel's keepalive finds dead peers.
const KEEPALIVE: socket2::TcpKeepalive = socket2::TcpKeepalive::new()
    .with_time(Duration::from_secs(60))
    .with_interval(Duration::from_secs(10))
    .with_retries(6);

pub(super) async fn run(shared: Rc<Shared>, listener: TcpListener, profile: Profile) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                backoff = FIRST_BACKOFF;
                // Chat lines are small: without NODELAY, Nagle and delayed ACKs add up to 40 ms.
                if let Err(error) = stream.set_nodelay(true) {
                    debug!(%peer, %error, "TCP_NODELAY failed");
                }
                if profile == Profile::PodSixNet
                    && let Err(error) = socket2::SockRef::from(&stream).set_tcp_keepalive(&KEEPALIVE)
                {
                    debug!(%peer, %error, "TCP keepalive failed");
                }
                // A client that stops reading may cost the kernel no more than this beyond Q
                // (Linux doubles it for bookkeeping); left alone, it grows to megabytes.
                if let Err(error) = socket2::SockRef::from(&stream).set_send_buffer_size(SEND_BUFFER) {
                    debug!(%peer, %error, "SO_SNDBUF failed");
                }
                let id = shared.core.borrow_mut().connect_with(profile, peer.ip(), now());
                {
                    let mut sockets = shared.sockets.borrow_mut();
                    if sockets.len() <= id.index() {
                        sockets.resize_with(id.index() + 1, || None);
                    }
                    sockets[id.index()] = Some(Socket { stream, waker: None, queued_since: Default::default() });
                }
                shared.live.set(shared.live.get() + 1);
                debug!(conn = id.index(), %peer, "accepted");
                tokio::task::spawn_local(connection::run(shared.clone(), id));
                shared.dispatch();
                shared.note_activity();
            }
            Err(error) if is_about_one_connection(&error) => debug!(%error, "accept: connection gone"),
            Err(error) => {
                warn!(%error, retry_in = ?backoff, "accept failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

fn is_about_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    )
}
