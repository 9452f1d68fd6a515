//! Where the attackers connect from, and the file descriptors they need.
//!
//! Attackers connect from many loopback addresses (all of 127.0.0.0/8 is loopback on Linux), as a
//! botnet does, so that the per-address limit *A* (R-LIMIT-2) admits them and each test exercises
//! the defence it is about: timeouts, the output bound, the framer, flood control. Honest and fresh
//! clients connect from 127.0.0.1, which no attacker uses.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use nix::sys::resource::{Resource, getrlimit, setrlimit};

/// Source addresses handed out in turn: 127.1.0.1 … 127.1.15.250. With this many, no address
/// holds more than a handful of the attack's connections at once, far below the default A = 64.
const ADDRESSES: usize = 16 * 250;

/// Hands out attackers' source addresses.
#[derive(Debug, Default)]
pub struct Botnet {
    next: AtomicUsize,
}

impl Botnet {
    /// The address the next attacking connection binds to.
    pub fn source(&self) -> SocketAddr {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % ADDRESSES;
        let ip = Ipv4Addr::new(127, 1, u8::try_from(i / 250).unwrap(), u8::try_from(i % 250 + 1).unwrap());
        SocketAddr::new(IpAddr::V4(ip), 0)
    }
}

/// Raises this process's soft limit on open files to at least `needed` (up to the hard limit);
/// the server, started afterwards, inherits it.
pub fn raise_descriptor_limit(needed: u64) {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit(RLIMIT_NOFILE)");
    if soft >= needed {
        return;
    }
    assert!(
        hard >= needed,
        "these attacks need {needed} open files per process but the hard limit is {hard}: raise it \
         (`ulimit -Hn {needed}` as root, or LimitNOFILE= in a service) or use the default scale"
    );
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).expect("setrlimit(RLIMIT_NOFILE) up to the hard limit");
}
