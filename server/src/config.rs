//! The server's parameters: every limit and timeout of SPEC.md §11–§14, in one place.
//!
//! The command line (`main.rs`) fills a [`Config`]; tests build one directly. [`Config::validate`]
//! checks the values against each other once, so the core can rely on them.

use std::net::SocketAddr;
use std::time::Duration;

use minichat_protocol::{Limits, LimitsError, MAX_NICK_LEN};

/// Everything a server operator can tune. `Default` gives the reference server's defaults, which
/// SPEC.md and `minichat-server --help` quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Where to listen for line-protocol clients.
    pub listen: SocketAddr,
    /// Where to listen for PodSixNet clients (SPEC.md §16), if anywhere.
    pub podsixnet: Option<SocketAddr>,
    /// *L*: the longest line content, in bytes (R-TRANS-4).
    pub max_line: usize,
    /// *M*: the most simultaneous connections (R-LIMIT-1).
    pub max_clients: usize,
    /// *A*: the most simultaneous connections from one IP address; 0 = no limit (R-LIMIT-2).
    pub max_per_address: usize,
    /// *Q*: the most bytes queued for one client before it is a slow consumer (R-LIMIT-3).
    pub max_queue: usize,
    /// Flood control: lines per second per connection once the burst is used; 0 = off (R-LIMIT-5).
    pub msg_rate: u32,
    /// Flood control: lines a connection may send at once before the rate applies.
    pub msg_burst: u32,
    /// *T_reg*: time to register after connecting (R-TIME-1).
    pub register_timeout: Duration,
    /// *T_line*: time to finish a line once its first byte arrived (R-TIME-2).
    pub line_timeout: Duration,
    /// *T_idle*: silence before the server sends `PING` (R-TIME-3).
    pub idle_timeout: Duration,
    /// *T_ping*: time to answer an idle `PING` (R-TIME-5).
    pub ping_timeout: Duration,
    /// The most time a closing connection (after `BYE`, or at shutdown) gets to take its last
    /// lines before the server drops it (R-SHUT-2).
    pub shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 7777)),
            podsixnet: None,
            max_line: minichat_protocol::DEFAULT_MAX_LINE,
            max_clients: 1024,
            max_per_address: 64,
            max_queue: 256 * 1024,
            msg_rate: 10,
            msg_burst: 20,
            register_timeout: Duration::from_secs(30),
            line_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            ping_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// A configuration that cannot work, with what to change.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("--max-line: {0}")]
    MaxLine(#[from] LimitsError),
    #[error("--max-clients must be at least 1")]
    NoClients,
    #[error(
        "--max-queue {queue} is too small: a user list of {clients} clients needs up to {needed} bytes; \
         raise --max-queue to at least {needed} or lower --max-clients"
    )]
    QueueTooSmall { queue: usize, clients: usize, needed: usize },
    #[error("--msg-burst must be at least 1 when --msg-rate is not 0")]
    NoBurst,
    #[error("--{0} must be longer than 0s")]
    ZeroTimeout(&'static str),
}

impl Config {
    /// Checks the values against each other and returns the line limit they imply.
    pub fn validate(&self) -> Result<Limits, ConfigError> {
        let limits = Limits::new(self.max_line)?;
        if self.max_clients == 0 {
            return Err(ConfigError::NoClients);
        }
        // A new client's greeting and user list are queued at once (R-REG-1, R-REG-2), perhaps
        // before it reads anything, and must not make it a slow consumer, however full the room is.
        let needed = GREETING_BOUND + user_list_bound(self.max_clients, limits);
        if self.max_queue < needed {
            return Err(ConfigError::QueueTooSmall { queue: self.max_queue, clients: self.max_clients, needed });
        }
        if self.msg_rate != 0 && self.msg_burst == 0 {
            return Err(ConfigError::NoBurst);
        }
        for (name, value) in [
            ("register-timeout", self.register_timeout),
            ("line-timeout", self.line_timeout),
            ("idle-timeout", self.idle_timeout),
            ("ping-timeout", self.ping_timeout),
            ("shutdown-grace", self.shutdown_grace),
        ] {
            if value.is_zero() {
                return Err(ConfigError::ZeroTimeout(name));
            }
        }
        Ok(limits)
    }
}

/// The most bytes a connection is sent on accept: `HELLO` (R-REG-1), or PodSixNet's `connected`
/// and `hello` frames (R-PSN-6), the larger at about 140 bytes with the reference greeting.
const GREETING_BOUND: usize = 256;

/// The most bytes a user list of `clients` nicks can take, with WELCOME before it.
pub(crate) fn user_list_bound(clients: usize, limits: Limits) -> usize {
    let nick_bytes = clients * (MAX_NICK_LEN + 1);
    let per_line = limits.max_line() - "USERS".len();
    let lines = nick_bytes.div_ceil(per_line).max(1);
    nick_bytes + lines * ("USERS\n".len() + MAX_NICK_LEN) + "ENDUSERS 4294967295\n".len() + "WELCOME \n".len() + 32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        assert_eq!(Config::default().validate(), Ok(Limits::DEFAULT));
    }

    #[test]
    fn a_queue_too_small_for_the_user_list_is_refused_with_the_fix() {
        let config = Config { max_clients: 100_000, ..Config::default() };
        let err = config.validate().unwrap_err();
        assert!(matches!(err, ConfigError::QueueTooSmall { clients: 100_000, .. }));
        assert!(err.to_string().contains("raise --max-queue"), "{err}");
    }

    #[test]
    fn the_user_list_bound_covers_a_full_room_of_longest_nicks() {
        use minichat_protocol::{Nick, encode_user_list};
        for (clients, l) in [(1, 128), (30, 1024), (31, 1024), (5000, 128), (5000, 1024)] {
            let limits = Limits::new(l).unwrap();
            let nicks: Vec<Nick> = (0..clients).map(|i| Nick::new(&format!("n{i:031}")).unwrap()).collect();
            let mut out = Vec::new();
            encode_user_list(&nicks, limits, &mut out);
            assert!(out.len() + "WELCOME \n".len() + 32 <= user_list_bound(clients, limits), "{clients} at L={l}");
        }
    }

    #[test]
    fn zero_timeouts_and_burst_are_refused() {
        let config = Config { line_timeout: Duration::ZERO, ..Config::default() };
        assert_eq!(config.validate(), Err(ConfigError::ZeroTimeout("line-timeout")));
        let config = Config { msg_burst: 0, ..Config::default() };
        assert_eq!(config.validate(), Err(ConfigError::NoBurst));
        let config = Config { msg_burst: 0, msg_rate: 0, ..Config::default() };
        assert!(config.validate().is_ok());
    }
}
