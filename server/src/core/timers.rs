//! The core's deadlines: one min-heap of (instant, connection, kind).
//!
//! Entries are never removed when they stop applying (a client spoke, so its idle deadline moved):
//! when one fires, the core checks it against the connection's current state and ignores or
//! re-arms it. That keeps every operation O(log n) and the heap at a few entries per connection.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use super::ConnId;

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKind {
    /// T_reg after connecting (R-TIME-1).
    Register,
    /// T_line after a line's first byte (R-TIME-2).
    Line,
    /// T_idle after the last line: send PING (R-TIME-3).
    Idle,
    /// T_ping after the idle PING (R-TIME-5).
    PingReply,
    /// Flood control lets the connection's lines through again (R-LIMIT-5).
    FloodResume,
    /// A closing connection's time to take its last lines is up (R-SHUT-2).
    CloseGrace,
}

#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, ConnId, TimerKind)>>,
}

impl Timers {
    pub fn schedule(&mut self, at: Instant, conn: ConnId, kind: TimerKind) {
        self.heap.push(Reverse((at, conn, kind)));
    }

    /// How many deadlines are pending (some may no longer apply).
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// The earliest deadline, if any.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// Removes and returns one deadline that is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, ConnId, TimerKind)> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }
}
