//! The `minichat-server` binary: it announces its address, serves, and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use wait_timeout::ChildExt;

use crate::support::{Client, WAIT};

/// Kills the server if a test fails before it stops it.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn server(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minichat-server"));
    command.args(args).env("RUST_LOG", "warn");
    command
}

/// The address the server announces on its first line of standard output.
fn announced_address(stdout: &mut impl BufRead) -> SocketAddr {
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    first
        .trim_end()
        .strip_prefix("minichat-server listening on ")
        .unwrap_or_else(|| panic!("the first line on stdout: {first:?}"))
        .parse()
        .expect("a socket address")
}

/// Asks the server to shut down, as an init system would.
fn send_sigterm(running: &Running) {
    let pid = running.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill(1)");
    assert!(status.success());
}

#[test]
fn the_binary_announces_its_address_serves_and_exits_0_on_sigterm() {
    let child = server(&["--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut running = Running(child);
    let mut stdout = BufReader::new(running.0.stdout.take().unwrap());
    let addr = announced_address(&mut stdout);
    assert_ne!(addr.port(), 0, "the real port, not the requested 0");

    let mut alice = Client::register(addr, "alice");
    alice.send("MSG hello");
    alice.expect("MSG alice hello");

    send_sigterm(&running);
    alice.expect_error("SHUTTING_DOWN");
    alice.expect("BYE");
    assert_eq!(alice.until_closed(), Vec::<String>::new());
    let status = running.0.wait_timeout(WAIT).unwrap().expect("the server exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert_eq!(rest, "", "one line on stdout; logs go to stderr");
}

#[test]
fn the_last_log_line_says_how_long_output_waited_in_the_server() {
    // BENCHMARKS.md reads the server's part of the latency from this line.
    let child = server(&["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let addr = announced_address(&mut BufReader::new(running.0.stdout.take().unwrap()));
    let mut alice = Client::register(addr, "alice");
    alice.send("MSG hello");
    alice.expect("MSG alice hello");

    send_sigterm(&running);
    running.0.wait_timeout(WAIT).unwrap().expect("the server exits after SIGTERM");
    let mut stderr = String::new();
    std::io::Read::read_to_string(running.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let stopped = stderr.lines().find(|line| line.contains("stopped")).unwrap_or_else(|| panic!("{stderr}"));
    // HELLO, WELCOME, the user list, the JOIN, the message, the shutdown: at least two waits.
    let waits = stopped.split("(n=").nth(1).and_then(|rest| rest.split(')').next()).map(|n| n.parse::<u64>());
    assert!(stopped.contains("queue_delay=p50 ") && matches!(waits, Some(Ok(n)) if n >= 2), "{stopped}");
}

#[test]
fn the_binary_refuses_an_invalid_configuration_and_says_what_to_change() {
    let output = server(&["--listen", "127.0.0.1:0", "--max-line", "100"]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--max-line"), "{stderr}");
    assert!(output.stdout.is_empty(), "no address announced");
}

#[test]
fn by_default_the_binary_listens_on_127_0_0_1_port_7777() {
    // R-TRANS-1's default, as the binary and the library both state it.
    assert_eq!(minichat_server::Config::default().listen, "127.0.0.1:7777".parse::<SocketAddr>().unwrap());
    let help = server(&["--help"]).output().unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("[default: 127.0.0.1:7777]"));
}
