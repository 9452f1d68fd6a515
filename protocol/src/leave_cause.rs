//! Why a user left the room: the closed list of `LEAVE` causes (SPEC.md §9, R-LEAVE-2).

use std::fmt;

/// The cause in `LEAVE <nick> <cause> [<reason>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum LeaveCause {
    /// The client sent `QUIT`; only this cause carries the client's own reason.
    Quit,
    /// The connection ended or failed without `QUIT`.
    Lost,
    /// The server closed it for a timeout.
    Timeout,
    /// The server closed it as a slow consumer.
    Slow,
}

impl LeaveCause {
    /// Every cause.
    pub const ALL: [LeaveCause; 4] = [LeaveCause::Quit, LeaveCause::Lost, LeaveCause::Timeout, LeaveCause::Slow];

    /// The cause as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            LeaveCause::Quit => "QUIT",
            LeaveCause::Lost => "LOST",
            LeaveCause::Timeout => "TIMEOUT",
            LeaveCause::Slow => "SLOW",
        }
    }

    /// The cause for its wire spelling (case-sensitive).
    pub fn from_wire(s: &str) -> Option<LeaveCause> {
        LeaveCause::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for LeaveCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
