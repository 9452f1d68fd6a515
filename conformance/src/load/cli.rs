//! `conformance load`: the command line of the load mode, and its exit statuses.
//!
//! Exit status: 0 when the run completed cleanly; 3 when it ran but lost, duplicated or reordered
//! deliveries, timed out or saw disconnects; 1 when it could not set up (no connection,
//! registration refused); 2 for bad arguments. The same as the project's yardstick, `chatload`.

use std::ffi::OsString;
use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use serde_json::json;

use super::config::{LoadParams, MAX_TIMEOUT};
use super::run::{LoadError, run};

/// Exit status when setup failed.
pub const EXIT_SETUP_FAILED: u8 = 1;
/// Exit status for bad arguments.
pub const EXIT_BAD_ARGUMENTS: u8 = 2;

/// Measures a minichat server's speed: N clients, K of them sending M messages each.
#[derive(Parser, Debug)]
#[command(
    name = "conformance load",
    bin_name = "conformance load",
    version,
    about = "Measures a minichat server's speed: deliveries per second and latency percentiles, with loss, \
             duplicates, order and disconnects checked",
    after_help = "Every client registers before the first message; every message must reach every client, its sender \
                  included (SPEC.md R-MSG-1), once and in one global order. Turn the server's flood control off to \
                  measure its speed (reference server: --msg-rate 0 --max-per-address 0).\n\n\
                  Exit status: 0 complete, 3 ran but lost/duplicated/reordered deliveries, timed out or saw \
                  disconnects, 1 setup failed, 2 bad arguments."
)]
struct LoadArgs {
    /// The server to load: HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    server: String,
    /// Clients to connect and register.
    #[arg(long, value_name = "N", default_value_t = 100)]
    clients: usize,
    /// How many of the clients send [default: all of them].
    #[arg(long, value_name = "K")]
    senders: Option<usize>,
    /// Messages each sender sends.
    #[arg(long, value_name = "M", default_value_t = 200)]
    messages: u64,
    /// Bytes of text per message (at most the server's L − 64).
    #[arg(long, value_name = "BYTES", default_value_t = 64)]
    payload: usize,
    /// Messages a sender may have sent and not yet received back; 0 = no window (needs --rate).
    #[arg(long, value_name = "W", default_value_t = 8)]
    window: u32,
    /// Messages per second per sender; 0 = as fast as the window allows.
    #[arg(long, value_name = "R", default_value_t = 0.0)]
    rate: f64,
    /// Seconds allowed for registering, and again for the messages to arrive.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    timeout: f64,
    /// Runtime worker threads of the generator.
    #[arg(long, value_name = "T", default_value_t = 1)]
    threads: usize,
    /// Print exactly one JSON line with every figure instead of the summary.
    #[arg(long)]
    json: bool,
}

/// Runs `conformance load` with `args` (the first being the program name) and returns its exit
/// status.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match LoadArgs::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_BAD_ARGUMENTS } else { 0 });
        }
    };
    let params = match params(&cli) {
        Ok(params) => params,
        Err(message) => {
            eprintln!("conformance load: {message}");
            return ExitCode::from(EXIT_BAD_ARGUMENTS);
        }
    };
    let plan = match params.plan() {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("conformance load: {e}");
            return ExitCode::from(EXIT_BAD_ARGUMENTS);
        }
    };
    match run(&plan) {
        Ok(report) => {
            if cli.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.summary_text());
            }
            ExitCode::from(report.exit_status())
        }
        Err(e) => {
            if cli.json {
                let (registered, elapsed_s) = match &e {
                    LoadError::Setup { registered, elapsed_s, .. } => (*registered, *elapsed_s),
                    LoadError::Runtime(_) => (0, 0.0),
                };
                let line = json!({
                    "mode": "load",
                    "outcome": "setup_failed",
                    "server": params.server.to_string(),
                    "clients": params.clients,
                    "clients_registered": registered,
                    "setup_s": (elapsed_s * 1000.0).round() / 1000.0,
                    "error": e.to_string(),
                });
                println!("{line}");
            }
            eprintln!("conformance load: {e}");
            ExitCode::from(EXIT_SETUP_FAILED)
        }
    }
}

fn params(cli: &LoadArgs) -> Result<LoadParams, String> {
    let server = cli
        .server
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve --server {}: {e}; write HOST:PORT, e.g. 127.0.0.1:7777", cli.server))?
        .next()
        .ok_or_else(|| format!("--server {} resolves to no address", cli.server))?;
    if !cli.timeout.is_finite() || cli.timeout <= 0.0 || cli.timeout > MAX_TIMEOUT.as_secs_f64() {
        return Err(format!(
            "--timeout {} is out of range: more than 0, at most {} seconds",
            cli.timeout,
            MAX_TIMEOUT.as_secs()
        ));
    }
    Ok(LoadParams {
        server,
        clients: cli.clients,
        senders: cli.senders.unwrap_or(cli.clients),
        messages: cli.messages,
        payload: cli.payload,
        window: cli.window,
        rate: cli.rate,
        timeout: Duration::from_secs_f64(cli.timeout),
        threads: cli.threads,
    })
}
