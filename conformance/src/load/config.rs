//! What a load run does: the parameters a grader gives, checked once into a [`LoadPlan`] that the
//! rest of the load mode relies on.
//!
//! Every limit here bounds the generator's own memory or time, so that no choice of flags can make
//! it exhaust the machine it shares with the server it measures: each receiver keeps one bit per
//! message of the run (to tell a duplicate from a late delivery), so the bit count, *N × K × M*, is
//! what [`MAX_DELIVERIES`] caps.

use std::net::SocketAddr;
use std::time::Duration;

use minichat_protocol::MAX_TEXT_CEILING;

/// The most clients one run connects.
pub const MAX_CLIENTS: usize = 100_000;
/// The most deliveries one run expects (*N × K × M*): one bit each, 125 MB at the limit.
pub const MAX_DELIVERIES: u64 = 1_000_000_000;
/// The most runtime worker threads.
pub const MAX_THREADS: usize = 64;
/// The highest `--rate`, in messages per second per sender.
pub const MAX_RATE: f64 = 1_000_000.0;
/// The longest `--timeout`.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The largest `--payload`: the longest text any server can accept (*L* − 64 with *L* = 65536).
/// The server's own limit, announced in `HELLO`, is checked when the clients connect.
pub const MAX_PAYLOAD: usize = MAX_TEXT_CEILING;
/// The most messages per sender (sequence numbers are 32-bit).
pub const MAX_MESSAGES: u64 = u32::MAX as u64;

/// The parameters of a load run, as given: [`LoadParams::plan`] checks them.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadParams {
    /// The server to load.
    pub server: SocketAddr,
    /// *N*: clients connected and registered.
    pub clients: usize,
    /// *K*: how many of them send (the first *K*).
    pub senders: usize,
    /// *M*: messages each sender sends.
    pub messages: u64,
    /// Bytes of text per message (padded; never less than the stamp it carries).
    pub payload: usize,
    /// Messages a sender may have sent and not yet received back (R-MSG-1); 0 = no window.
    pub window: u32,
    /// Messages per second per sender; 0 = as fast as the window allows.
    pub rate: f64,
    /// How long registration may take, and how long the messages may take to arrive.
    pub timeout: Duration,
    /// Runtime worker threads (1: everything on one thread).
    pub threads: usize,
}

impl LoadParams {
    /// The defaults of `conformance load`, against `server`.
    pub fn new(server: SocketAddr) -> LoadParams {
        LoadParams {
            server,
            clients: 100,
            senders: 100,
            messages: 200,
            payload: 64,
            window: 8,
            rate: 0.0,
            timeout: Duration::from_secs(60),
            threads: 1,
        }
    }

    /// Checks the parameters against each other and the limits.
    pub fn plan(&self) -> Result<LoadPlan, ConfigError> {
        if self.clients == 0 {
            return Err(ConfigError::NoClients);
        }
        if self.clients > MAX_CLIENTS {
            return Err(ConfigError::TooManyClients(self.clients));
        }
        if self.senders == 0 {
            return Err(ConfigError::NoSenders);
        }
        if self.senders > self.clients {
            return Err(ConfigError::SendersOverClients { senders: self.senders, clients: self.clients });
        }
        if self.messages == 0 || self.messages > MAX_MESSAGES {
            return Err(ConfigError::Messages(self.messages));
        }
        let deliveries = (self.clients as u64).saturating_mul(self.senders as u64).saturating_mul(self.messages);
        if deliveries > MAX_DELIVERIES {
            return Err(ConfigError::TooManyDeliveries(deliveries));
        }
        if self.payload == 0 || self.payload > MAX_PAYLOAD {
            return Err(ConfigError::Payload(self.payload));
        }
        if !self.rate.is_finite() || self.rate < 0.0 || self.rate > MAX_RATE {
            return Err(ConfigError::Rate(self.rate));
        }
        if self.window == 0 && self.rate == 0.0 {
            return Err(ConfigError::Unpaced);
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(ConfigError::Timeout(self.timeout));
        }
        if self.threads == 0 || self.threads > MAX_THREADS {
            return Err(ConfigError::Threads(self.threads));
        }
        Ok(LoadPlan { params: self.clone() })
    }
}

/// Parameters that cannot make a run, with what to change.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("--clients must be at least 1")]
    NoClients,
    #[error("--clients {0} is over the limit of {MAX_CLIENTS} clients for one run; run several generators")]
    TooManyClients(usize),
    #[error("--senders must be at least 1")]
    NoSenders,
    #[error("--senders {senders} is more than --clients {clients}: the senders are some of the clients")]
    SendersOverClients { senders: usize, clients: usize },
    #[error("--messages {0} is out of range: 1 to {MAX_MESSAGES} messages per sender")]
    Messages(u64),
    #[error(
        "--clients × --senders × --messages is {0} deliveries, over the limit of {MAX_DELIVERIES} for one run \
         (the generator keeps one bit per delivery): lower one of them"
    )]
    TooManyDeliveries(u64),
    #[error("--payload {0} is out of range: 1 to {MAX_PAYLOAD} bytes of text")]
    Payload(usize),
    #[error("--rate {0} is out of range: 0 (as fast as the window allows) to {MAX_RATE} messages per second")]
    Rate(f64),
    #[error("--window 0 (no window) needs a --rate: without either, senders would send without any limit")]
    Unpaced,
    #[error("--timeout {0:?} is out of range: more than 0 s, at most 24 h")]
    Timeout(Duration),
    #[error("--threads {0} is out of range: 1 to {MAX_THREADS}")]
    Threads(usize),
}

/// Checked parameters, and what follows from them.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadPlan {
    params: LoadParams,
}

/// How many messages the global-order check samples at most, and how many entries all receivers'
/// samples may hold together (4 bytes each): 16 MB at most, whatever the run's size.
const ORDER_SAMPLE_MAX: u64 = 65_536;
const ORDER_SAMPLE_BUDGET: u64 = 4 * 1024 * 1024;

impl LoadPlan {
    /// The parameters, as given.
    pub fn params(&self) -> &LoadParams {
        &self.params
    }

    /// *K × M*: every message of the run.
    pub fn messages_planned(&self) -> u64 {
        self.params.senders as u64 * self.params.messages
    }

    /// *N × K × M*: every client receives every message, its sender included (R-MSG-1).
    pub fn deliveries_expected(&self) -> u64 {
        self.params.clients as u64 * self.messages_planned()
    }

    /// Every `stride`-th message (in the interleaved numbering of [`LoadPlan::message_index`]) is
    /// in the global-order sample.
    pub fn order_sample_stride(&self) -> u64 {
        let per_receiver = (ORDER_SAMPLE_BUDGET / self.params.clients as u64).clamp(1, ORDER_SAMPLE_MAX);
        self.messages_planned().div_ceil(per_receiver).max(1)
    }

    /// How many messages the global-order sample holds.
    pub fn order_sample_len(&self) -> u64 {
        self.messages_planned().div_ceil(self.order_sample_stride())
    }

    /// The message's number in the run, interleaving senders (`seq × K + sender`), so that every
    /// stride of the order sample takes messages from every sender and every part of the run.
    pub fn message_index(&self, sender: u32, seq: u32) -> u64 {
        u64::from(seq) * self.params.senders as u64 + u64::from(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> LoadParams {
        LoadParams::new(SocketAddr::from(([127, 0, 0, 1], 7777)))
    }

    #[test]
    fn the_defaults_make_a_plan() {
        let plan = params().plan().unwrap();
        assert_eq!(plan.messages_planned(), 100 * 200);
        assert_eq!(plan.deliveries_expected(), 100 * 100 * 200);
    }

    #[test]
    fn deliveries_are_capped_at_the_limit_exactly() {
        let mut p = params();
        (p.clients, p.senders, p.messages) = (1000, 1000, 1000);
        assert!(p.plan().is_ok(), "exactly {MAX_DELIVERIES}");
        p.messages = 1001;
        assert_eq!(p.plan(), Err(ConfigError::TooManyDeliveries(1_001_000_000)));
    }

    #[test]
    fn clients_senders_payload_threads_and_timeout_are_bounded() {
        let mut p = params();
        (p.clients, p.senders) = (MAX_CLIENTS, 1);
        assert!(p.plan().is_ok());
        p.clients = MAX_CLIENTS + 1;
        assert_eq!(p.plan(), Err(ConfigError::TooManyClients(MAX_CLIENTS + 1)));
        let mut p = params();
        p.senders = 101;
        assert!(matches!(p.plan(), Err(ConfigError::SendersOverClients { .. })));
        p.senders = 0;
        assert_eq!(p.plan(), Err(ConfigError::NoSenders));
        let mut p = params();
        p.payload = MAX_PAYLOAD;
        assert!(p.plan().is_ok());
        p.payload = MAX_PAYLOAD + 1;
        assert_eq!(p.plan(), Err(ConfigError::Payload(MAX_PAYLOAD + 1)));
        let mut p = params();
        p.threads = MAX_THREADS;
        assert!(p.plan().is_ok());
        p.threads = MAX_THREADS + 1;
        assert_eq!(p.plan(), Err(ConfigError::Threads(MAX_THREADS + 1)));
        let mut p = params();
        p.timeout = MAX_TIMEOUT;
        assert!(p.plan().is_ok());
        p.timeout = Duration::ZERO;
        assert!(matches!(p.plan(), Err(ConfigError::Timeout(_))));
    }

    #[test]
    fn a_run_needs_a_window_or_a_rate() {
        let mut p = params();
        p.window = 0;
        assert_eq!(p.plan(), Err(ConfigError::Unpaced));
        p.rate = 50.0;
        assert!(p.plan().is_ok());
        p.rate = MAX_RATE * 2.0;
        assert!(matches!(p.plan(), Err(ConfigError::Rate(_))));
        p.rate = f64::NAN;
        assert!(matches!(p.plan(), Err(ConfigError::Rate(_))));
    }

    #[test]
    fn the_order_sample_stays_within_its_budget() {
        let mut p = params();
        (p.clients, p.senders, p.messages) = (20, 3, 50);
        let plan = p.plan().unwrap();
        assert_eq!(plan.order_sample_stride(), 1, "a small run samples every message");
        assert_eq!(plan.order_sample_len(), 150);
        (p.clients, p.senders, p.messages) = (1000, 1000, 1000);
        let plan = p.plan().unwrap();
        assert!(plan.order_sample_len() * 1000 <= ORDER_SAMPLE_BUDGET);
        assert!(plan.order_sample_len() >= 4000);
    }
}
