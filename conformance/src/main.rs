//! `conformance`: checks a minichat server against SPEC.md, case by case.
//!
//! ```sh
//! conformance --server 127.0.0.1:7777                                # a server that is running
//! conformance --spawn 'python3 server.py {port}' --idle-timeout 2s   # one the runner starts and stops
//! conformance --profile podsixnet --server 127.0.0.1:31425           # a PodSixNet chat server (SPEC.md §16)
//! ```
//!
//! Exit status: 0 when no MUST failed (with `--strict`: nothing failed), 1 when one did, 2 when
//! the run itself could not happen (bad flags, unreadable cases, no server).

use std::io::Write;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use conformance::catalog::{self, Selection};
use conformance::report::{case_text, json_report, junit_report, summary_text};
use conformance::spawn::SpawnedServers;
use conformance::{
    CaseResult, FixedServer, Profile, RunConfig, ServerParams, ServerSource, ServerUnderTest, SuiteOptions, Summary,
    run_suite,
};

#[derive(Parser, Debug)]
#[command(
    name = "conformance",
    version,
    about = "Checks a minichat server against SPEC.md, case by case",
    after_help = "Cases that need a server parameter (M, timeouts, Q, flood control) run only when told it with the \
                  server-parameter flags above — the same flags the reference server takes. Shutdown cases need --spawn.\n\n\
                  To measure a server's speed instead: conformance load --server HOST:PORT (see conformance load --help)."
)]
struct Cli {
    /// The server to check, already running: HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "spawn", required_unless_present_any = ["spawn", "list"])]
    server: Option<String>,
    /// Start the server to check with this command ({port} is replaced by a free port), wait until it
    /// accepts connections, and stop it with SIGTERM afterwards. Cases that need a server alone get a
    /// fresh one each; shutdown cases are run.
    #[arg(long, value_name = "'COMMAND {port}'")]
    spawn: Option<String>,
    /// Append the spawned server's stdout and stderr to FILE.
    #[arg(long, value_name = "FILE", requires = "spawn")]
    server_log: Option<PathBuf>,
    /// How every connection speaks: `line`, or `podsixnet` (SPEC.md §16) to check a PodSixNet chat
    /// server — --server (or {port} of --spawn) is then its PodSixNet port, and cases that need
    /// line framing are skipped with the reason.
    #[arg(long, value_name = "PROFILE", default_value = "line")]
    profile: Profile,

    /// Run only the case with this ID (repeatable).
    #[arg(long = "case", value_name = "ID")]
    cases: Vec<String>,
    /// Run only cases whose ID or title contains TEXT, ignoring case (repeatable).
    #[arg(long = "filter", value_name = "TEXT")]
    filters: Vec<String>,
    /// Leave out cases whose ID or title contains TEXT (repeatable).
    #[arg(long = "skip", value_name = "TEXT")]
    skips: Vec<String>,
    /// List the selected cases and exit.
    #[arg(long)]
    list: bool,
    /// Read case files (*.cases) from DIR instead of the built-in ones.
    #[arg(long = "cases-dir", value_name = "DIR")]
    cases_dir: Option<PathBuf>,

    /// How long each step waits for the server, e.g. 5s or 800ms [default: 5s, or MINICHAT_TIMEOUT_MS].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
    /// How many cases run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: u16,
    /// Also exit non-zero when a SHOULD fails.
    #[arg(long)]
    strict: bool,
    /// Write a JSON report to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write a JUnit XML report to FILE (for CI systems).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,

    /// The server's connection limit M (R-LIMIT-1).
    #[arg(long, value_name = "N", help_heading = "Server parameters")]
    max_clients: Option<usize>,
    /// The server's per-address limit A (R-LIMIT-2); 0 = none.
    #[arg(long, value_name = "N", help_heading = "Server parameters")]
    max_per_address: Option<usize>,
    /// The server's output bound per client Q, in bytes (R-LIMIT-3).
    #[arg(long, value_name = "BYTES", help_heading = "Server parameters")]
    max_queue: Option<usize>,
    /// The server's flood-control rate in lines per second (R-LIMIT-6); 0 = off.
    #[arg(long, value_name = "N", help_heading = "Server parameters")]
    msg_rate: Option<u32>,
    /// The server's flood-control burst in lines (R-LIMIT-6).
    #[arg(long, value_name = "N", help_heading = "Server parameters")]
    msg_burst: Option<u32>,
    /// The server's registration timeout T_reg (R-TIME-1), e.g. 2s.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, help_heading = "Server parameters")]
    register_timeout: Option<Duration>,
    /// The server's partial-line timeout T_line (R-TIME-2).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, help_heading = "Server parameters")]
    line_timeout: Option<Duration>,
    /// The server's idle time T_idle before it sends PING (R-TIME-3).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, help_heading = "Server parameters")]
    idle_timeout: Option<Duration>,
    /// How long the server waits for an answer to its PING, T_ping (R-TIME-5).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, help_heading = "Server parameters")]
    ping_timeout: Option<Duration>,
    /// The server's shutdown grace period (R-SHUT-2).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, help_heading = "Server parameters")]
    shutdown_grace: Option<Duration>,
    /// The server's PodSixNet port (SPEC.md §16), next to the line port of --server: the MC-PSN
    /// cases run. With --spawn, write {podsixnet} in the command instead.
    #[arg(long, value_name = "HOST:PORT", requires = "server", help_heading = "Server parameters")]
    podsixnet: Option<String>,
}

/// The address of a HOST:PORT flag.
fn resolve(flag: &str, value: &str) -> anyhow::Result<std::net::SocketAddr> {
    value
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {flag} {value}: write HOST:PORT, e.g. 127.0.0.1:7777"))?
        .next()
        .with_context(|| format!("{flag} {value} resolves to no address"))
}

impl Cli {
    fn params(&self) -> anyhow::Result<ServerParams> {
        let flood = match (self.msg_burst, self.msg_rate) {
            (_, Some(0)) => Some((self.msg_burst.unwrap_or(0), 0)),
            (Some(b), Some(r)) => Some((b, r)),
            (None, None) => None,
            _ => bail!("flood control needs both --msg-rate and --msg-burst (or --msg-rate 0 for none)"),
        };
        Ok(ServerParams {
            max_clients: self.max_clients,
            max_per_address: self.max_per_address,
            max_queue: self.max_queue,
            register_timeout: self.register_timeout,
            line_timeout: self.line_timeout,
            idle_timeout: self.idle_timeout,
            ping_timeout: self.ping_timeout,
            shutdown_grace: self.shutdown_grace,
            flood,
        })
    }

    fn step_timeout(&self) -> anyhow::Result<Duration> {
        if let Some(t) = self.timeout {
            return Ok(t);
        }
        match std::env::var("MINICHAT_TIMEOUT_MS") {
            Ok(ms) => Ok(Duration::from_millis(
                ms.trim().parse().with_context(|| format!("MINICHAT_TIMEOUT_MS must be milliseconds, not `{ms}`"))?,
            )),
            Err(_) => Ok(conformance::DEFAULT_STEP_TIMEOUT),
        }
    }
}

fn write_file(path: &PathBuf, contents: &str, what: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write the {what} report to {}", path.display()))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let all = match &cli.cases_dir {
        Some(dir) => catalog::from_dir(dir)?,
        None => catalog::builtin()?,
    };
    let selection = Selection { ids: cli.cases.clone(), filters: cli.filters.clone(), excludes: cli.skips.clone() };
    let unknown = selection.unknown_ids(&all);
    if !unknown.is_empty() {
        bail!("no case has the ID {}; use --list to see them", unknown.join(", "));
    }
    let cases = selection.apply(all);
    if cases.is_empty() {
        bail!("the selection matches no case; use --list to see them");
    }
    if cli.list {
        for c in &cases {
            let mut reqs: Vec<&str> = c.checks.iter().map(|k| k.requirement.as_str()).collect();
            reqs.dedup();
            let needs: Vec<&str> = c.requires.iter().map(|p| p.name()).collect();
            let needs = if needs.is_empty() { String::new() } else { format!("  (needs {})", needs.join(" ")) };
            println!("{:<13} {:<6} {}  [{}]{needs}", c.id, c.level.as_str(), c.title, reqs.join(" "));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let params = cli.params()?;
    let step_timeout = cli.step_timeout()?;
    if cli.profile == Profile::PodSixNet && cli.podsixnet.is_some() {
        bail!("with --profile podsixnet, --server is the PodSixNet port: leave out --podsixnet");
    }
    let (source, target): (Box<dyn ServerSource>, String) = match (&cli.server, &cli.spawn) {
        (Some(server), _) => {
            let addr = resolve("--server", server)?;
            let podsixnet = match (&cli.podsixnet, cli.profile) {
                (Some(p), _) => Some(resolve("--podsixnet", p)?),
                (None, Profile::PodSixNet) => Some(addr),
                (None, Profile::Line) => None,
            };
            (Box::new(FixedServer(ServerUnderTest { addr, podsixnet, params, control: None })), addr.to_string())
        }
        (None, Some(command)) => {
            let servers =
                SpawnedServers::new(command.clone(), params, cli.server_log.clone()).with_profile(cli.profile);
            (Box::new(servers), format!("`{command}`"))
        }
        (None, None) => bail!("say which server to check: --server HOST:PORT or --spawn 'COMMAND {{port}}'"),
    };
    if cli.spawn.is_some() {
        // Fail early, once, if the command cannot start a server at all.
        source.shared().map_err(anyhow::Error::msg)?;
    }
    let target = match cli.profile {
        Profile::Line => target,
        Profile::PodSixNet => format!("{target} over PodSixNet"),
    };
    println!(
        "minichat conformance: {} case(s) against {target} (step timeout {:.1} s, {} at once)\n",
        cases.len(),
        step_timeout.as_secs_f64(),
        cli.jobs
    );
    let options = SuiteOptions { jobs: usize::from(cli.jobs), run: RunConfig { step_timeout, profile: cli.profile } };
    let print = |r: &CaseResult| {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(case_text(r).as_bytes());
        let _ = out.flush();
    };
    let results = run_suite(&cases, source.as_ref(), &options, &print);
    drop(source);
    let summary = Summary::of(&results);
    print!("\n{}", summary_text(&summary));
    if let Some(path) = &cli.json {
        let json = serde_json::to_string_pretty(&json_report(&target, &results))?;
        write_file(path, &json, "JSON")?;
    }
    if let Some(path) = &cli.junit {
        write_file(path, &junit_report(&target, &results)?, "JUnit")?;
    }
    let failed = summary.failed_must > 0 || (cli.strict && summary.failed > 0);
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    // `conformance load …` measures a server's speed instead (src/load); anything else checks it.
    if std::env::args_os().nth(1).is_some_and(|a| a == "load") {
        return conformance::load::cli::main(std::env::args_os().skip(1));
    }
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}
