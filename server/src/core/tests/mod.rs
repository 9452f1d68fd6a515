//! The core against SPEC.md, with no sockets and explicit time.
//!
//! Each requirement of SPEC.md (except the client rules, R-CLIENT-*) has tests named after it in
//! the module of its section; `transcripts` replays §17; `model` runs a small executable model of
//! SPEC.md next to the core over random interleavings of many clients.

mod driver;

mod errors;
mod limits;
mod messages;
mod model;
mod ordering;
mod podsixnet;
mod registration;
mod shutdown;
mod syntax;
mod timeouts;
mod transcripts;
mod transport;

use std::collections::BTreeSet;
use std::time::Duration;

use crate::config::Config;

pub use driver::Driver;

/// The reference server's first line at the default *L*.
pub const HELLO: &str = "HELLO minichat/1 1024 welcome to minichat; register with: USER <nick>";

/// The reference defaults with flood control off, for tests that send more than a burst at once.
pub fn no_flood() -> Config {
    Config { msg_rate: 0, ..Config::default() }
}

/// `n` bytes of text (ASCII).
pub fn text(n: usize) -> String {
    "t".repeat(n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Checks that `lines` is exactly one user list (R-LIST-1, R-LIST-2) and returns its nicks.
#[track_caller]
pub fn user_list(lines: &[String]) -> BTreeSet<String> {
    let (last, users) = lines.split_last().unwrap_or_else(|| panic!("no user list in {lines:#?}"));
    let count: usize = last
        .strip_prefix("ENDUSERS ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a user list ends with ENDUSERS: {lines:#?}"));
    let mut nicks = BTreeSet::new();
    let mut listed = 0;
    for line in users {
        let rest = line.strip_prefix("USERS ").unwrap_or_else(|| panic!("not a USERS line: {line:?} in {lines:#?}"));
        for nick in rest.split(' ') {
            assert!(nicks.insert(nick.to_owned()), "{nick} listed twice in {lines:#?}");
            listed += 1;
        }
    }
    assert_eq!(listed, count, "ENDUSERS counts the nicks listed: {lines:#?}");
    nicks
}

/// The set of `nicks`, for comparing with [`user_list`].
pub fn set(nicks: &[&str]) -> BTreeSet<String> {
    nicks.iter().map(|n| (*n).to_owned()).collect()
}
