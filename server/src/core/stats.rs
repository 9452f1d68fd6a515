//! Counters of why connections ended, so an operator can see attacks and misbehaving clients
//! without a log line per connection (the adapter logs these totals at a bounded rate).

use std::fmt;

/// Why the server let a connection go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The client sent QUIT.
    Quit,
    /// The peer closed or reset the connection.
    Lost,
    /// Refused at once: the connection limit M (R-LIMIT-1).
    ServerFull,
    /// Refused at once: the per-address limit A (R-LIMIT-2).
    TooManyConnections,
    /// Did not register within T_reg (R-TIME-1).
    RegisterTimeout,
    /// Did not finish a line within T_line (R-TIME-2).
    LineTimeout,
    /// Did not answer the idle PING within T_ping (R-TIME-5).
    PingTimeout,
    /// Passed the output bound Q (R-LIMIT-3).
    SlowConsumer,
    /// The server shut down (R-SHUT-1).
    Shutdown,
}

impl CloseReason {
    pub const ALL: [CloseReason; 9] = [
        CloseReason::Quit,
        CloseReason::Lost,
        CloseReason::ServerFull,
        CloseReason::TooManyConnections,
        CloseReason::RegisterTimeout,
        CloseReason::LineTimeout,
        CloseReason::PingTimeout,
        CloseReason::SlowConsumer,
        CloseReason::Shutdown,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            CloseReason::Quit => "quit",
            CloseReason::Lost => "lost",
            CloseReason::ServerFull => "server_full",
            CloseReason::TooManyConnections => "too_many_connections",
            CloseReason::RegisterTimeout => "register_timeout",
            CloseReason::LineTimeout => "line_timeout",
            CloseReason::PingTimeout => "ping_timeout",
            CloseReason::SlowConsumer => "slow_consumer",
            CloseReason::Shutdown => "shutdown",
        }
    }
}

/// Totals since the server started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    closed: [u64; CloseReason::ALL.len()],
    /// Connections accepted (admitted or refused).
    pub accepted: u64,
    /// Lines that got a non-fatal ERROR.
    pub errors_sent: u64,
    /// Times flood control started delaying a connection.
    pub flood_delays: u64,
}

impl Stats {
    pub fn record_close(&mut self, reason: CloseReason) {
        self.closed[reason as usize] += 1;
    }

    pub fn closed(&self, reason: CloseReason) -> u64 {
        self.closed[reason as usize]
    }
}

/// `accepted=… errors=… flood_delays=… closed: quit=… lost=…` (zero counts omitted).
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "accepted={} errors={} flood_delays={} closed:", self.accepted, self.errors_sent, self.flood_delays)?;
        for reason in CloseReason::ALL {
            let n = self.closed(reason);
            if n > 0 {
                write!(f, " {}={n}", reason.as_str())?;
            }
        }
        Ok(())
    }
}
