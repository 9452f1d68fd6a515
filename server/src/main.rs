//! `minichat-server`: the command line around [`minichat_server::net::serve`].

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use minichat_server::Config;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// mimalloc, because it can give freed memory back to the system. A burst (a join storm: every
/// newcomer gets a user list of everyone) frees far more than the steady state holds; glibc's
/// malloc keeps such a heap's high-water mark, 17 KiB per connection after 5000 joins.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Returns the memory freed during a burst to the system. Called when the server falls quiet
/// (not on every free: purging eagerly doubled the CPU a join storm costs).
#[allow(unsafe_code)]
fn return_freed_memory() {
    // SAFETY: `mi_collect` takes no pointers and may be called at any time from any thread; with
    // `force` it purges the pages mimalloc holds free. mimalloc is the global allocator above.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// minichat's reference server. Speaks the protocol of SPEC.md on TCP; join it with `minichat`
/// or by hand with `nc 127.0.0.1 7777`.
///
/// Every limit below bounds what one client can cost the server. The defaults protect a public
/// server; for benchmarks lift them with `--max-per-address 0 --msg-rate 0` (and raise
/// `--max-clients`). Durations are written like `30s`, `500ms`, `2m`.
#[derive(Debug, Parser)]
#[command(version, max_term_width = 100)]
struct Args {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:7777", value_name = "ADDR")]
    listen: SocketAddr,

    /// Also accept PodSixNet programs (SPEC.md §16) on this address, in the same room; off by
    /// default. PodSixNet's customary port is 31425, e.g. `--podsixnet 127.0.0.1:31425`.
    #[arg(long, value_name = "ADDR")]
    podsixnet: Option<SocketAddr>,

    /// Longest line, in bytes without its LF (L, announced in HELLO; 128..=65536). Longer lines
    /// get ERROR LINE_TOO_LONG and are discarded; a message text may be L - 64 bytes.
    #[arg(long, default_value_t = 1024, value_name = "BYTES")]
    max_line: usize,

    /// Most simultaneous connections (M). One more gets ERROR SERVER_FULL and is closed.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_clients: usize,

    /// Most simultaneous connections from one IP address (A); 0 = no limit. One more gets
    /// ERROR TOO_MANY_CONNECTIONS and is closed.
    #[arg(long, default_value_t = 64, value_name = "N")]
    max_per_address: usize,

    /// Most bytes waiting to be sent to one client (Q). A client that falls further behind is
    /// disconnected as a slow consumer (ERROR SLOW_CONSUMER, LEAVE <nick> SLOW); nobody else waits.
    #[arg(long, default_value_t = 256 * 1024, value_name = "BYTES")]
    max_queue: usize,

    /// Flood control: lines per second one connection may send once its burst is spent; faster
    /// lines are delayed (never dropped), with one ERROR FLOOD warning. 0 = no flood control.
    #[arg(long, default_value_t = 10, value_name = "LINES")]
    msg_rate: u32,

    /// Flood control: lines a connection may send at once before --msg-rate applies.
    #[arg(long, default_value_t = 20, value_name = "LINES")]
    msg_burst: u32,

    /// Time a new connection has to register with USER (ERROR TIMEOUT, then closed).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, value_name = "TIME")]
    register_timeout: Duration,

    /// Time a client has to finish a line once it has sent its first byte (ERROR TIMEOUT, then
    /// closed; LEAVE <nick> TIMEOUT). Protects against clients that trickle bytes.
    #[arg(long, default_value = "15s", value_parser = humantime::parse_duration, value_name = "TIME")]
    line_timeout: Duration,

    /// Silence after which the server sends a registered client PING.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration, value_name = "TIME")]
    idle_timeout: Duration,

    /// Time to answer that PING with any line (ERROR TIMEOUT, then closed; LEAVE <nick> TIMEOUT).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration, value_name = "TIME")]
    ping_timeout: Duration,

    /// Time closing clients get to read their last lines (BYE, or the shutdown notice on
    /// Ctrl-C / SIGTERM) before the server drops them.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration, value_name = "TIME")]
    shutdown_grace: Duration,
}

impl From<Args> for Config {
    fn from(a: Args) -> Config {
        Config {
            listen: a.listen,
            podsixnet: a.podsixnet,
            max_line: a.max_line,
            max_clients: a.max_clients,
            max_per_address: a.max_per_address,
            max_queue: a.max_queue,
            msg_rate: a.msg_rate,
            msg_burst: a.msg_burst,
            register_timeout: a.register_timeout,
            line_timeout: a.line_timeout,
            idle_timeout: a.idle_timeout,
            ping_timeout: a.ping_timeout,
            shutdown_grace: a.shutdown_grace,
        }
    }
}

/// Keeps the kernel from backing the heap with transparent huge pages.
///
/// mimalloc asks for huge pages on its arena, and khugepaged then fills every partly used 2 MiB
/// range of it to a whole huge page, at any time, even while the server is idle: with 5000 idle
/// clients (BENCHMARKS.md W4) the resident memory grew by 1.5-4 MiB during the hold, a third of
/// what the connections themselves cost. A chat server's heap is many small, long-lived objects
/// that gain nothing from huge pages; and purging freed memory in small ranges splits them
/// again. Failure only costs memory, so it is logged, not fatal.
#[cfg(target_os = "linux")]
fn refuse_transparent_huge_pages() {
    if let Err(error) = nix::sys::prctl::set_thp_disable(true) {
        tracing::debug!(%error, "PR_SET_THP_DISABLE failed; transparent huge pages stay allowed");
    }
}

#[cfg(not(target_os = "linux"))]
fn refuse_transparent_huge_pages() {}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let config = Config::from(Args::parse());
    config.validate().context("invalid configuration")?;
    refuse_transparent_huge_pages();
    // mimalloc's arena was advised for huge pages before `main`, and what startup touched came as
    // whole 2 MiB pages; purging now splits the unused parts of them off again (about 4 MiB).
    return_freed_memory();

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting Tokio")?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let listen = |addr, flag: &str| {
            minichat_server::net::bind(addr, &config).and_then(TcpListener::from_std).with_context(|| {
                format!("cannot listen on {addr}: is another server using it? choose another with {flag}")
            })
        };
        let line = listen(config.listen, "--listen")?;
        let podsixnet = config.podsixnet.map(|addr| listen(addr, "--podsixnet")).transpose()?;
        // The lines scripts wait for (the first is always printed first); logs go to stderr.
        println!("minichat-server listening on {}", line.local_addr()?);
        if let Some(podsixnet) = &podsixnet {
            println!("minichat-server podsixnet listening on {}", podsixnet.local_addr()?);
        }
        let listeners = minichat_server::net::Listeners { line, podsixnet };
        minichat_server::net::serve_with(&config, listeners, stop_signal(), return_freed_memory).await?;
        Ok(())
    })
}

/// Completes on Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
