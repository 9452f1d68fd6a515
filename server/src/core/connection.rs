//! What the core knows about one connection: its phase (SPEC.md §5), its input and output, its
//! flood budget and the times its deadlines are measured from.

use std::net::IpAddr;
use std::time::Instant;

use super::flood::FloodGate;
use super::outbox::Outbox;
use super::wire::{Decoder, Profile};

/// SPEC.md §5's states. A registered connection's nick lives in the room, at `member`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Connected,
    Registered { member: usize },
    Closing(CloseMode),
}

/// How the adapter should close a connection the core has given up on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseMode {
    /// Write what is queued (ending with `BYE`), then close; the core switches to `Abandon` if
    /// that takes longer than the grace period.
    Flush,
    /// Try one write of what is queued without waiting, then close whatever happened
    /// (slow consumers and refused connections: nobody waits for them, R-LIMIT-3).
    Abandon,
}

#[derive(Debug)]
pub struct Connection {
    pub generation: u32,
    pub peer: IpAddr,
    /// Counted against the connection limits (refused connections are not).
    pub admitted: bool,
    pub phase: Phase,
    /// Lines or PodSixNet frames; fixed for the connection's life.
    pub profile: Profile,
    pub decoder: Decoder,
    /// Input received while flood control holds the connection back (at most one read).
    pub held_input: Vec<u8>,
    /// Flood control holds input until then.
    pub held_until: Option<Instant>,
    pub outbox: Outbox,
    pub flood: FloodGate,
    pub last_line_at: Instant,
    /// When the current incomplete line started (R-TIME-2).
    pub partial_since: Option<Instant>,
    /// A line deadline is in the timer heap. At most one is, so the heap stays bounded however
    /// often lines start (R-LIMIT-4); when it fires it moves itself to the current line's deadline.
    pub line_timer_armed: bool,
    /// When the idle PING went out, while it is unanswered (R-TIME-5).
    pub ping_sent_at: Option<Instant>,
    /// Already in the core's list of connections to wake.
    pub woken: bool,
    /// Already in the core's list of slow consumers to disconnect.
    pub slow: bool,
}

impl Connection {
    pub fn is_closing(&self) -> bool {
        matches!(self.phase, Phase::Closing(_))
    }

    pub fn member(&self) -> Option<usize> {
        match self.phase {
            Phase::Registered { member } => Some(member),
            _ => None,
        }
    }
}
