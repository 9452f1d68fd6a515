//! The closed list of `ERROR` codes (SPEC.md §15) and whether each one closes the connection.

use std::fmt;

/// An `ERROR` code. The list is closed (R-ERR-1): programs act on the code, people read the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ErrorCode {
    NickInUse,
    InvalidNick,
    NotRegistered,
    AlreadyRegistered,
    UnknownCommand,
    BadArguments,
    EmptyMessage,
    TextTooLong,
    LineTooLong,
    InvalidUtf8,
    ControlCharacter,
    Flood,
    ServerFull,
    TooManyConnections,
    SlowConsumer,
    Timeout,
    ShuttingDown,
}

impl ErrorCode {
    /// Every code, in SPEC.md's order.
    pub const ALL: [ErrorCode; 17] = [
        ErrorCode::NickInUse,
        ErrorCode::InvalidNick,
        ErrorCode::NotRegistered,
        ErrorCode::AlreadyRegistered,
        ErrorCode::UnknownCommand,
        ErrorCode::BadArguments,
        ErrorCode::EmptyMessage,
        ErrorCode::TextTooLong,
        ErrorCode::LineTooLong,
        ErrorCode::InvalidUtf8,
        ErrorCode::ControlCharacter,
        ErrorCode::Flood,
        ErrorCode::ServerFull,
        ErrorCode::TooManyConnections,
        ErrorCode::SlowConsumer,
        ErrorCode::Timeout,
        ErrorCode::ShuttingDown,
    ];

    /// The code as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NickInUse => "NICK_IN_USE",
            ErrorCode::InvalidNick => "INVALID_NICK",
            ErrorCode::NotRegistered => "NOT_REGISTERED",
            ErrorCode::AlreadyRegistered => "ALREADY_REGISTERED",
            ErrorCode::UnknownCommand => "UNKNOWN_COMMAND",
            ErrorCode::BadArguments => "BAD_ARGUMENTS",
            ErrorCode::EmptyMessage => "EMPTY_MESSAGE",
            ErrorCode::TextTooLong => "TEXT_TOO_LONG",
            ErrorCode::LineTooLong => "LINE_TOO_LONG",
            ErrorCode::InvalidUtf8 => "INVALID_UTF8",
            ErrorCode::ControlCharacter => "CONTROL_CHARACTER",
            ErrorCode::Flood => "FLOOD",
            ErrorCode::ServerFull => "SERVER_FULL",
            ErrorCode::TooManyConnections => "TOO_MANY_CONNECTIONS",
            ErrorCode::SlowConsumer => "SLOW_CONSUMER",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::ShuttingDown => "SHUTTING_DOWN",
        }
    }

    /// The code for its wire spelling (case-sensitive, R-SYN-2).
    pub fn from_wire(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Whether the server closes the connection after sending this error (R-ERR-2).
    pub const fn is_fatal(self) -> bool {
        matches!(
            self,
            ErrorCode::ServerFull
                | ErrorCode::TooManyConnections
                | ErrorCode::SlowConsumer
                | ErrorCode::Timeout
                | ErrorCode::ShuttingDown
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spelling_round_trips_and_is_case_sensitive() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
            assert_eq!(ErrorCode::from_wire(&code.as_str().to_ascii_lowercase()), None);
        }
    }

    #[test]
    fn exactly_five_codes_are_fatal() {
        let fatal: Vec<_> = ErrorCode::ALL.into_iter().filter(|c| c.is_fatal()).collect();
        assert_eq!(
            fatal,
            [
                ErrorCode::ServerFull,
                ErrorCode::TooManyConnections,
                ErrorCode::SlowConsumer,
                ErrorCode::Timeout,
                ErrorCode::ShuttingDown
            ]
        );
    }
}
