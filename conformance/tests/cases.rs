//! Every conformance case as its own test line, so cargo's usual name filters select cases:
//!
//! ```sh
//! cargo test -p conformance --test cases                 # all cases, against the reference server
//! cargo test -p conformance --test cases MC-NICK         # the nick cases
//! MINICHAT_SERVER=127.0.0.1:7777 cargo test -p conformance --test cases   # a server already running
//! MINICHAT_PROFILE=podsixnet MINICHAT_PODSIXNET=127.0.0.1:31425 cargo test -p conformance --test cases
//! ```
//!
//! Every case runs twice: as itself (`MC-MSG-001`), with line connections and the PodSixNet
//! connections it opens, and over PodSixNet (`podsixnet::MC-MSG-001`), every connection speaking
//! PodSixNet frames (SPEC.md §16); a case that cannot be carried over PodSixNet is reported as
//! ignored, with the reason. MINICHAT_PROFILE=line or =podsixnet keeps one of the two.
//!
//! Without MINICHAT_SERVER and MINICHAT_PODSIXNET, the reference server runs in this process on
//! free ports (lines and PodSixNet), and every case that needs a server parameter (limits,
//! timeouts, shutdown) gets a server of its own with small limits and short timeouts. With them —
//! the line port, the PodSixNet port, or both — those cases are reported as ignored, with the
//! reason, because the suite cannot know that server's parameters.
//! MINICHAT_TIMEOUT_MS sets the step timeout (default 5000).

mod harness;

use std::net::ToSocketAddrs;
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use conformance::report::case_text;
use conformance::{
    FixedServer, Profile, RunConfig, ServerControl, ServerParams, ServerSource, ServerUnderTest, Verdict, catalog,
    run_one,
};
use harness::{InProcess, Started};
use libtest_mimic::{Arguments, Completion, Failed, Trial};
use minichat_server::{Config, ServerHandle};

/// The reference server started in this process, stopped gracefully on request.
struct Reference {
    handle: Mutex<Option<ServerHandle>>,
    stopped: Mutex<Option<Receiver<()>>>,
}

impl ServerControl for Reference {
    fn begin_shutdown(&self) -> Result<(), String> {
        let handle = self.handle.lock().unwrap_or_else(|e| e.into_inner()).take().ok_or("already shut down")?;
        let (tx, rx) = channel();
        *self.stopped.lock().unwrap_or_else(|e| e.into_inner()) = Some(rx);
        std::thread::spawn(move || {
            let _ = handle.shutdown();
            let _ = tx.send(());
        });
        Ok(())
    }

    fn wait_stopped(&self, limit: Duration) -> bool {
        match self.stopped.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            Some(rx) => rx.recv_timeout(limit).is_ok(),
            None => false,
        }
    }
}

fn start_reference(p: &ServerParams) -> Result<Started, String> {
    let d = Config::default();
    let (burst, rate) = p.flood.unwrap_or((d.msg_burst, d.msg_rate));
    let config = Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        podsixnet: Some("127.0.0.1:0".parse().expect("an address")),
        max_clients: p.max_clients.unwrap_or(d.max_clients),
        max_per_address: p.max_per_address.unwrap_or(d.max_per_address),
        max_queue: p.max_queue.unwrap_or(d.max_queue),
        msg_rate: rate,
        msg_burst: burst,
        register_timeout: p.register_timeout.unwrap_or(d.register_timeout),
        line_timeout: p.line_timeout.unwrap_or(d.line_timeout),
        idle_timeout: p.idle_timeout.unwrap_or(d.idle_timeout),
        ping_timeout: p.ping_timeout.unwrap_or(d.ping_timeout),
        shutdown_grace: p.shutdown_grace.unwrap_or(d.shutdown_grace),
        ..d
    };
    let handle = minichat_server::spawn(config).map_err(|e| format!("starting the reference server: {e}"))?;
    let (addr, podsixnet) = (handle.local_addr(), handle.podsixnet_addr());
    let control = Box::new(Reference { handle: Mutex::new(Some(handle)), stopped: Mutex::new(None) });
    Ok(Started { addr, podsixnet, control })
}

/// The address in environment variable `var`, if it is set.
fn address(var: &str) -> Result<Option<std::net::SocketAddr>, String> {
    let Ok(value) = std::env::var(var) else { return Ok(None) };
    value
        .to_socket_addrs()
        .map_err(|e| format!("{var}={value}: {e}; write HOST:PORT"))?
        .next()
        .map(Some)
        .ok_or_else(|| format!("{var}={value} resolves to no address"))
}

fn source() -> Result<Box<dyn ServerSource + Send + Sync>, String> {
    match (address("MINICHAT_SERVER")?, address("MINICHAT_PODSIXNET")?) {
        (line, Some(podsixnet)) => Ok(Box::new(FixedServer(ServerUnderTest {
            addr: line.unwrap_or(podsixnet),
            podsixnet: Some(podsixnet),
            params: ServerParams::default(),
            control: None,
        }))),
        (Some(addr), None) => Ok(Box::new(FixedServer(ServerUnderTest {
            addr,
            podsixnet: None,
            params: ServerParams::default(),
            control: None,
        }))),
        (None, None) => {
            // Parallel cases all connect from 127.0.0.1: no per-address limit on the shared server.
            let d = Config::default();
            let shared = ServerParams {
                max_clients: Some(d.max_clients),
                max_per_address: Some(0),
                max_queue: Some(d.max_queue),
                flood: Some((d.msg_burst, d.msg_rate)),
                ..Default::default()
            };
            Ok(Box::new(InProcess::new(shared, Box::new(start_reference)).with_podsixnet()))
        }
    }
}

/// The profiles to run: MINICHAT_PROFILE's, or both when the server has a PodSixNet port (only
/// PodSixNet when only that port was given).
fn profiles(source: &dyn ServerSource) -> Result<Vec<Profile>, String> {
    let line_port = std::env::var_os("MINICHAT_SERVER").is_some() || std::env::var_os("MINICHAT_PODSIXNET").is_none();
    let chosen = match std::env::var("MINICHAT_PROFILE") {
        Ok(p) => vec![p.parse::<Profile>().map_err(|e| format!("MINICHAT_PROFILE: {e}"))?],
        Err(_) if !line_port => vec![Profile::PodSixNet],
        Err(_) if source.offers_podsixnet() => vec![Profile::Line, Profile::PodSixNet],
        Err(_) => vec![Profile::Line],
    };
    if chosen.contains(&Profile::Line) && !line_port {
        return Err("MINICHAT_PROFILE=line needs the server's line port: set MINICHAT_SERVER=HOST:PORT".into());
    }
    if chosen.contains(&Profile::PodSixNet) && !source.offers_podsixnet() {
        return Err(
            "MINICHAT_PROFILE=podsixnet needs the server's PodSixNet port: set MINICHAT_PODSIXNET=HOST:PORT".into()
        );
    }
    Ok(chosen)
}

fn main() {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        // Cases wait on sockets, not on the CPU.
        args.test_threads = Some(8);
    }
    let cases = catalog::builtin().unwrap_or_else(|e| panic!("the built-in cases do not parse: {e}"));
    let step_timeout = std::env::var("MINICHAT_TIMEOUT_MS")
        .ok()
        .map(|v| v.parse::<u64>().unwrap_or_else(|_| panic!("MINICHAT_TIMEOUT_MS must be milliseconds, not {v}")))
        .map_or(conformance::DEFAULT_STEP_TIMEOUT, Duration::from_millis);
    let source: Arc<dyn ServerSource + Send + Sync> = Arc::from(source().unwrap_or_else(|e| panic!("{e}")));
    let profiles = profiles(source.as_ref()).unwrap_or_else(|e| panic!("{e}"));
    let trials = profiles
        .into_iter()
        .flat_map(|profile| cases.iter().cloned().map(move |case| (profile, case)))
        .map(|(profile, case)| {
            let source = source.clone();
            let config = RunConfig { step_timeout, profile };
            let id = match profile {
                Profile::Line => case.id.clone(),
                Profile::PodSixNet => format!("podsixnet::{}", case.id),
            };
            let level = case.level.as_str();
            Trial::ignorable_test(id, move || {
                let result = run_one(&case, source.as_ref(), &config);
                match &result.verdict {
                    Verdict::Pass => Ok(Completion::Completed),
                    Verdict::Skip(reason) => Ok(Completion::ignored_with(reason)),
                    Verdict::Fail(_) => Err(Failed::from(case_text(&result))),
                }
            })
            .with_kind(level)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
