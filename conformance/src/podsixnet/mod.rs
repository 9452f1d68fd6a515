//! Speaking PodSixNet (SPEC.md §16) to the server under test.
//!
//! A PodSixNet connection carries rencode dicts, each followed by `\0---\0`, instead of lines.
//! The suite turns every frame the server sends into the line(s) it stands for (§16.3's table
//! read backwards; a `players` user list becomes `USERS` lines and `ENDUSERS`), so every step,
//! pattern and always-on check of the line protocol applies to PodSixNet connections unchanged,
//! and [`observer`] adds the checks only frames have (strict keys, `connected` first, `players`
//! after every `join` and `leave`, no terminator inside a payload, no `PING`). What a case sends
//! is a line translated to the frame that stands for it ([`translate`]), a frame written as a
//! Python literal ([`literal`]), or raw bytes.
//!
//! The mapping itself is the protocol crate's ([`minichat_protocol::podsixnet`]): the suite never
//! re-implements rencode, so a disagreement between it and a server is the server's.
//!
//! PodSixNet is used two ways:
//! - the MC-PSN cases open PodSixNet connections next to line connections
//!   (`connect psn podsixnet`), to check §16 in a room shared by both kinds of client;
//! - the PodSixNet *profile* ([`Profile::PodSixNet`], `conformance --profile podsixnet`) runs
//!   every case with every connection speaking PodSixNet, for a course's PodSixNet chat server.
//!   Cases that depend on line framing are skipped with the reason
//!   ([`translate::profile_skip`]).

use std::fmt;
use std::str::FromStr;

pub mod literal;
pub mod observer;
pub mod show;
pub mod translate;

/// How the suite's connections speak to the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Lines (SPEC.md §2); connections a case opens with `podsixnet` speak PodSixNet.
    #[default]
    Line,
    /// PodSixNet frames (SPEC.md §16) on every connection, at the server's PodSixNet port.
    PodSixNet,
}

impl Profile {
    /// The name used on the command line and in environment variables.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Line => "line",
            Profile::PodSixNet => "podsixnet",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(s: &str) -> Result<Profile, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "line" => Ok(Profile::Line),
            "podsixnet" => Ok(Profile::PodSixNet),
            other => Err(format!("unknown profile `{other}`: write `line` or `podsixnet`")),
        }
    }
}

/// The largest frame the suite reads from a server. Frames a server sends are not limited by *L*
/// (R-PSN-2: a user list is one frame) and a client should accept at least 1 MiB; 16 MiB is far
/// beyond any list a server can send (65 536 nicks of 32 bytes take about 2 MiB) and still bounds
/// what a broken server can make the suite hold.
pub const MAX_FRAME: usize = 16 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_by_name_in_any_case_and_a_wrong_one_names_the_choices() {
        assert_eq!("podsixnet".parse(), Ok(Profile::PodSixNet));
        assert_eq!("Line".parse(), Ok(Profile::Line));
        assert!("psn".parse::<Profile>().unwrap_err().contains("`line` or `podsixnet`"));
        assert_eq!(Profile::PodSixNet.to_string(), "podsixnet");
    }
}
