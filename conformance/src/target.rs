//! The server under test: where it listens, what the runner knows about its parameters, and —
//! when the runner started it — how to stop it.
//!
//! Cases adapt to the server: *L* comes from its `HELLO`; every other parameter comes from here.
//! A case that needs a parameter the runner was not told is skipped with the reason, never run
//! against a guess (SPEC.md §1).

use std::net::SocketAddr;
use std::time::Duration;

use crate::case::{Case, Param};

/// What the runner knows about the server's parameters. `None` means "not told".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServerParams {
    pub max_clients: Option<usize>,
    /// `Some(0)` means the server has no per-address limit.
    pub max_per_address: Option<usize>,
    pub max_queue: Option<usize>,
    pub register_timeout: Option<Duration>,
    pub line_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub ping_timeout: Option<Duration>,
    pub shutdown_grace: Option<Duration>,
    /// Flood control as (burst lines, lines per second); a rate of 0 means it is off.
    pub flood: Option<(u32, u32)>,
}

impl ServerParams {
    /// The value of a numeric parameter, in the unit case files use (bytes, counts,
    /// milliseconds), or why it is not available.
    pub fn value(&self, param: Param) -> Result<i64, String> {
        let ms = |d: Option<Duration>| d.map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        let n = |v: Option<usize>| v.map(|v| i64::try_from(v).unwrap_or(i64::MAX));
        let flood_on = self.flood.filter(|&(_, rate)| rate > 0);
        let v = match param {
            Param::MaxClients => n(self.max_clients),
            Param::MaxPerAddress => n(self.max_per_address.filter(|&a| a > 0)),
            Param::MaxQueue => n(self.max_queue),
            Param::RegisterTimeout => ms(self.register_timeout),
            Param::LineTimeout => ms(self.line_timeout),
            Param::IdleTimeout => ms(self.idle_timeout),
            Param::PingTimeout => ms(self.ping_timeout),
            Param::ShutdownGrace => ms(self.shutdown_grace),
            Param::FloodBurst => flood_on.map(|(b, _)| i64::from(b)),
            Param::FloodRate => flood_on.map(|(_, r)| i64::from(r)),
            // Not numbers: a capability (shutdown) and an address (the PodSixNet port).
            Param::Shutdown | Param::PodSixNet => None,
        };
        v.ok_or_else(|| match (param, self.flood, self.max_per_address) {
            (Param::FloodBurst | Param::FloodRate, Some(_), _) => {
                "the server's flood control is off (--msg-rate 0)".to_owned()
            }
            (Param::MaxPerAddress, _, Some(0)) => {
                "the server has no per-address limit (--max-per-address 0)".to_owned()
            }
            (Param::FloodBurst | Param::FloodRate, None, _) => {
                format!("the runner was not told the flood control (burst and rate): {}", param.how_to_provide())
            }
            _ => format!("the runner was not told {}: {}", param.name(), param.how_to_provide()),
        })
    }
}

/// Stops a server the runner started. Dropping it stops the server too.
pub trait ServerControl: Send + Sync {
    /// Starts a graceful shutdown (SPEC.md §14) and returns at once.
    fn begin_shutdown(&self) -> Result<(), String>;
    /// Waits until the server has stopped, at most `limit`; true if it has.
    fn wait_stopped(&self, limit: Duration) -> bool;
}

/// A running server and what the runner knows about it.
pub struct ServerUnderTest {
    /// Where line-protocol clients connect. In the PodSixNet profile no connection speaks lines,
    /// and a runner that knows only the PodSixNet port sets it here too.
    pub addr: SocketAddr,
    /// Where PodSixNet clients connect (SPEC.md §16), if the runner knows.
    pub podsixnet: Option<SocketAddr>,
    pub params: ServerParams,
    /// Present when cases may shut this server down (a server started for one case).
    pub control: Option<Box<dyn ServerControl>>,
}

impl std::fmt::Debug for ServerUnderTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerUnderTest")
            .field("addr", &self.addr)
            .field("podsixnet", &self.podsixnet)
            .field("params", &self.params)
            .field("control", &self.control.is_some())
            .finish()
    }
}

/// Why `case` cannot run against a server with these known parameters, if it cannot.
/// `can_shut_down`: the runner can stop the server; `podsixnet`: it knows its PodSixNet port.
pub fn skip_reason(case: &Case, params: &ServerParams, can_shut_down: bool, podsixnet: bool) -> Option<String> {
    let mut missing: Vec<String> = Vec::new();
    for &p in &case.requires {
        let reason = match p {
            Param::Shutdown if !can_shut_down => Some(format!(
                "it stops the server, so the runner must start one for it: {}",
                Param::Shutdown.how_to_provide()
            )),
            Param::PodSixNet if !podsixnet => Some(format!(
                "it opens PodSixNet connections (SPEC.md §16) next to line connections: {}",
                Param::PodSixNet.how_to_provide()
            )),
            Param::Shutdown | Param::PodSixNet => None,
            p => params.value(p).err(),
        };
        if let Some(reason) = reason.filter(|r| !missing.contains(r)) {
            missing.push(reason);
        }
    }
    (!missing.is_empty()).then(|| missing.join("; "))
}

impl ServerUnderTest {
    /// Why `case` cannot run against this server, if it cannot.
    pub fn skip_reason(&self, case: &Case) -> Option<String> {
        skip_reason(case, &self.params, self.control.is_some(), self.podsixnet.is_some())
    }
}

/// Where cases get their server from.
///
/// A source has one server that cases share, and may start a server of their own for cases that
/// need one (those that count connections, fill queues or shut the server down). Without one,
/// such a case runs on the shared server while no other case runs.
pub trait ServerSource: Sync {
    /// The shared server, started on first use.
    fn shared(&self) -> Result<&ServerUnderTest, String>;
    /// Whether `case` gets a fresh server of its own.
    fn offers_dedicated(&self, case: &Case) -> bool;
    /// A fresh server for `case` alone (only called when [`ServerSource::offers_dedicated`]).
    fn dedicated(&self, case: &Case) -> Result<ServerUnderTest, String>;
    /// What the runner knows about the server `case` would get, and whether it could be shut
    /// down — without starting anything, to decide skips up front.
    fn known(&self, case: &Case) -> (ServerParams, bool);
    /// Whether the servers of this source have a PodSixNet port the runner knows (SPEC.md §16).
    fn offers_podsixnet(&self) -> bool {
        false
    }
}

/// The server at a fixed address, with the parameters the user told the runner.
pub struct FixedServer(pub ServerUnderTest);

impl ServerSource for FixedServer {
    fn shared(&self) -> Result<&ServerUnderTest, String> {
        Ok(&self.0)
    }
    fn offers_dedicated(&self, _case: &Case) -> bool {
        false
    }
    fn dedicated(&self, case: &Case) -> Result<ServerUnderTest, String> {
        Err(format!("{}: a fixed server cannot start another for one case", case.id))
    }
    fn known(&self, _case: &Case) -> (ServerParams, bool) {
        (self.0.params.clone(), self.0.control.is_some())
    }
    fn offers_podsixnet(&self) -> bool {
        self.0.podsixnet.is_some()
    }
}

/// Parameters for a server started for one case alone, as the suite's own tests and harnesses
/// configure it: small limits and short timeouts, so the case runs in seconds, each set only
/// when the case needs it, so none gets in the way of the others.
pub fn dedicated_params(case: &Case) -> ServerParams {
    let needs = |p: Param| case.requires.contains(&p);
    let short = |p: Param, short: u64, long: u64| Some(Duration::from_millis(if needs(p) { short } else { long }));
    let queue = if needs(Param::Shutdown) {
        // Room for more than the OS buffers, so a client that never reads has output stuck in
        // the server when it shuts down (R-SHUT-2), without becoming a slow consumer.
        16 * 1024 * 1024
    } else if needs(Param::MaxQueue) {
        64 * 1024
    } else {
        256 * 1024
    };
    let flood = if needs(Param::FloodBurst) || needs(Param::FloodRate) {
        (5, 20)
    } else if needs(Param::MaxQueue) || needs(Param::Shutdown) {
        // Filling queues takes thousands of lines in a second.
        (20, 0)
    } else {
        (20, 10)
    };
    ServerParams {
        max_clients: Some(if needs(Param::MaxClients) { 6 } else { 1024 }),
        max_per_address: Some(if needs(Param::MaxPerAddress) { 3 } else { 0 }),
        max_queue: Some(queue),
        register_timeout: short(Param::RegisterTimeout, 1000, 30_000),
        line_timeout: short(Param::LineTimeout, 1000, 15_000),
        idle_timeout: short(Param::IdleTimeout, 1000, 60_000),
        // Shorter than T_idle, so a server that ignores a non-PONG answer times out before its
        // next idle PING would be due (R-TIME-4).
        ping_timeout: short(Param::PingTimeout, 500, 30_000),
        shutdown_grace: short(Param::ShutdownGrace, 1000, 5000),
        flood: Some(flood),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_that_needs_the_podsixnet_port_is_skipped_with_the_flag_to_pass_unless_it_is_known() {
        let text = "case MC-T-001\ntitle t\nlevel MUST\nchecks R-T-1 \"q\"\nrequires podsixnet\nconnect p podsixnet\n";
        let case = crate::syntax::parse_file("t.cases", text).unwrap().remove(0);
        let reason = skip_reason(&case, &ServerParams::default(), false, false).unwrap();
        assert!(reason.contains("--podsixnet HOST:PORT") && reason.contains("{podsixnet}"), "{reason}");
        assert_eq!(skip_reason(&case, &ServerParams::default(), false, true), None);
    }

    #[test]
    fn values_are_in_case_file_units_and_missing_ones_say_which_flag_to_pass() {
        let p = ServerParams {
            max_clients: Some(8),
            idle_timeout: Some(Duration::from_millis(1500)),
            flood: Some((20, 0)),
            max_per_address: Some(0),
            ..Default::default()
        };
        assert_eq!(p.value(Param::MaxClients), Ok(8));
        assert_eq!(p.value(Param::IdleTimeout), Ok(1500));
        assert!(p.value(Param::PingTimeout).unwrap_err().contains("--ping-timeout"));
        assert_eq!(p.value(Param::FloodBurst), Err("the server's flood control is off (--msg-rate 0)".into()));
        assert_eq!(
            p.value(Param::MaxPerAddress),
            Err("the server has no per-address limit (--max-per-address 0)".into())
        );
    }
}
