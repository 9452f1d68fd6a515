//! How `minichat` ends: one exit status per outcome, so that scripts can tell them apart.
//!
//! Status 2 is not here: it is clap's status for a bad command line, and `minichat` keeps it.

use std::fmt;

/// Why `minichat` ended, and the process exit code for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// 0: the user left (`quit`, `/quit`, Ctrl-D, Ctrl-C, end of input) and the server said `BYE`
    /// or closed the connection.
    Left,
    /// 1: a local failure: the terminal or standard input/output could not be used.
    LocalFailure,
    /// 3: no connection to the server could be made.
    CannotConnect,
    /// 4: the nickname was refused and the client cannot ask for another one (pipe mode).
    NickRefused,
    /// 5: the server ended the session (its `ERROR` and `BYE` say why, e.g. `SHUTTING_DOWN`).
    ClosedByServer,
    /// 6: the connection was lost: it ended without `BYE`, failed, or `QUIT` got no answer.
    ConnectionLost,
}

impl ExitStatus {
    /// Every status, in code order.
    pub const ALL: [ExitStatus; 6] = [
        ExitStatus::Left,
        ExitStatus::LocalFailure,
        ExitStatus::CannotConnect,
        ExitStatus::NickRefused,
        ExitStatus::ClosedByServer,
        ExitStatus::ConnectionLost,
    ];

    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            ExitStatus::Left => 0,
            ExitStatus::LocalFailure => 1,
            ExitStatus::CannotConnect => 3,
            ExitStatus::NickRefused => 4,
            ExitStatus::ClosedByServer => 5,
            ExitStatus::ConnectionLost => 6,
        }
    }

    /// What the status means, for `--help` and the README.
    pub const fn meaning(self) -> &'static str {
        match self {
            ExitStatus::Left => "you left (quit, /quit, Ctrl-D, Ctrl-C, end of input) and the server said goodbye",
            ExitStatus::LocalFailure => "the terminal or standard input/output could not be used",
            ExitStatus::CannotConnect => "cannot connect to the server",
            ExitStatus::NickRefused => "the nickname was refused and cannot be asked again (pipe mode)",
            ExitStatus::ClosedByServer => "the server ended the session (e.g. shutting down, timeout, full)",
            ExitStatus::ConnectionLost => "the connection was lost, or the server did not answer QUIT",
        }
    }

    /// The table of exit codes shown by `--help`.
    pub fn help_table() -> String {
        let mut rows: Vec<(u8, &str)> = ExitStatus::ALL.iter().map(|s| (s.code(), s.meaning())).collect();
        rows.push((2, "bad command line (the message says what is wrong, e.g. an invalid --nick)"));
        rows.sort();
        let mut table = String::from("Exit status:\n");
        for (code, meaning) in rows {
            table.push_str(&format!("  {code}  {meaning}\n"));
        }
        table
    }
}

impl fmt::Display for ExitStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.meaning())
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> std::process::ExitCode {
        std::process::ExitCode::from(status.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_leave_2_to_the_command_line_parser() {
        let mut codes: Vec<u8> = ExitStatus::ALL.iter().map(|s| s.code()).collect();
        codes.push(2);
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), ExitStatus::ALL.len() + 1);
    }

    #[test]
    fn help_table_lists_every_code() {
        let table = ExitStatus::help_table();
        for status in ExitStatus::ALL {
            assert!(table.contains(&format!("  {}  {}", status.code(), status.meaning())), "{table}");
        }
    }
}
