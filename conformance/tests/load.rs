//! `conformance load` measures correctly: against the reference server (in this process, flood
//! control off) every delivery is counted once; behind a proxy that drops, duplicates or reorders
//! relays, or cuts a client off, the report says exactly what went wrong and the exit status is 3.
//! Setup failures exit 1, bad arguments 2. Nothing here asserts speed.

mod harness;

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use conformance::load::{EXIT_COMPLETE, EXIT_INCOMPLETE, LoadError, LoadParams, LoadReport, run};
use minichat_server::{Config, ServerHandle};

const RUNNER: &str = env!("CARGO_BIN_EXE_conformance");

/// The reference server with flood control and the per-address limit off, as for a benchmark.
fn server(tweak: impl FnOnce(&mut Config)) -> ServerHandle {
    let mut config =
        Config { listen: SocketAddr::from(([127, 0, 0, 1], 0)), max_per_address: 0, msg_rate: 0, ..Config::default() };
    tweak(&mut config);
    minichat_server::spawn(config).expect("start the reference server")
}

/// 20 clients, 3 senders × 50 messages: 3000 deliveries.
fn small_run(addr: SocketAddr) -> LoadParams {
    LoadParams { clients: 20, senders: 3, messages: 50, timeout: Duration::from_secs(30), ..LoadParams::new(addr) }
}

fn measure(params: &LoadParams) -> LoadReport {
    run(&params.plan().expect("valid parameters")).expect("the run takes place")
}

fn runner(args: &[&str]) -> Output {
    Command::new(RUNNER).arg("load").args(args).output().expect("run the conformance binary")
}

fn explain(o: &Output) -> String {
    format!(
        "exit status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ---------- a proxy that spoils relays ----------

/// What the proxy does to the `MSG` lines a client receives from others (never to its own echoes,
/// so that senders' windows keep moving).
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Drops every nth.
    Drop(usize),
    /// Sends every nth twice.
    Duplicate(usize),
    /// Holds every nth back until after the next `MSG` line.
    Swap(usize),
    /// After the nth, sends `ERROR SLOW_CONSUMER` and `BYE` and closes both sides.
    Kick(usize),
}

/// A proxy in front of `upstream` that applies `fault` for every client, or only for the client
/// with index `only` (the number ending its nick).
fn faulty_proxy(upstream: SocketAddr, fault: Fault, only: Option<u32>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let addr = listener.local_addr().expect("the proxy's address");
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(upstream) else { return };
            let nick = Arc::new(OnceLock::new());
            let (c, s, n) = (client.try_clone().unwrap(), server.try_clone().unwrap(), nick.clone());
            std::thread::spawn(move || client_to_server(c, s, &n));
            std::thread::spawn(move || server_to_client(server, client, &nick, fault, only));
        }
    });
    addr
}

/// Copies the client's lines upstream, learning its nick from `USER` on the way.
fn client_to_server(client: TcpStream, mut server: TcpStream, nick: &OnceLock<String>) {
    let mut lines = BufReader::new(client);
    let mut line = Vec::new();
    while lines.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
        if let Some(name) = line.strip_prefix(b"USER ") {
            let _ = nick.set(String::from_utf8_lossy(name).trim_end().to_owned());
        }
        if server.write_all(&line).is_err() {
            break;
        }
        line.clear();
    }
    let _ = server.shutdown(Shutdown::Write);
}

fn server_to_client(
    server: TcpStream,
    mut client: TcpStream,
    nick: &OnceLock<String>,
    fault: Fault,
    only: Option<u32>,
) {
    let mut lines = BufReader::new(server.try_clone().unwrap());
    let mut line = Vec::new();
    let mut relays = 0;
    let mut held: Option<Vec<u8>> = None;
    while lines.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
        let own = nick.get().is_some_and(|n| line.starts_with(format!("MSG {n} ").as_bytes()));
        let targeted = only.is_none_or(|id| nick.get().is_some_and(|n| n.ends_with(&format!("_{id}"))));
        let mut out = Vec::new();
        if line.starts_with(b"MSG ") && !own && targeted {
            relays += 1;
            let nth = |n: usize| relays % n == 0;
            match fault {
                Fault::Drop(n) if nth(n) => {}
                Fault::Duplicate(n) if nth(n) => out.extend([line.as_slice(), line.as_slice()].concat()),
                Fault::Swap(n) if nth(n) && held.is_none() => held = Some(line.clone()),
                Fault::Kick(n) if nth(n) => {
                    out.extend_from_slice(&line);
                    out.extend_from_slice(b"ERROR SLOW_CONSUMER you read too slowly\nBYE\n");
                    let _ = client.write_all(&out);
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = server.shutdown(Shutdown::Both);
                    return;
                }
                _ => {
                    out.extend_from_slice(&line);
                    out.extend(held.take().unwrap_or_default());
                }
            }
        } else {
            out.extend(held.take().unwrap_or_default());
            out.extend_from_slice(&line);
        }
        if client.write_all(&out).is_err() {
            break;
        }
        line.clear();
    }
    let _ = client.shutdown(Shutdown::Write);
}

// ---------- the tests ----------

#[test]
fn a_conforming_server_delivers_every_message_to_every_client_once_in_one_order() {
    let server = server(|_| {});
    let report = measure(&small_run(server.local_addr()));
    assert!(report.is_complete(), "{}", report.summary_text());
    assert_eq!(report.messages_sent, 150);
    assert_eq!(report.deliveries_expected, 20 * 3 * 50);
    assert_eq!(report.deliveries_received, 3000);
    assert_eq!((report.deliveries_lost, report.duplicates, report.out_of_order), (0, 0, 0));
    assert_eq!(report.order.disagreements, 0);
    assert_eq!(report.order_sample_messages, 150, "a run this small samples every message");
    assert_eq!(report.latency.map(|l| l.count), Some(3000), "one latency per delivery");
    assert_eq!((report.disconnects, report.flood_errors, report.foreign_messages), (0, 0, 0));
    assert_eq!(report.max_line, Some(1024));
    assert!(!report.timed_out);
    assert_eq!(report.exit_status(), EXIT_COMPLETE);
    server.shutdown().unwrap();
}

#[test]
fn senders_paced_by_a_rate_complete_too() {
    let server = server(|_| {});
    let params =
        LoadParams { clients: 5, senders: 2, messages: 10, rate: 500.0, window: 0, ..small_run(server.local_addr()) };
    let report = measure(&params);
    assert!(report.is_complete(), "{}", report.summary_text());
    assert_eq!(report.deliveries_received, 5 * 2 * 10);
    server.shutdown().unwrap();
}

#[test]
fn a_server_that_drops_relays_is_reported_with_the_exact_loss_and_exit_status_3() {
    let server = server(|_| {});
    let proxy = faulty_proxy(server.local_addr(), Fault::Drop(10), None);
    let o = runner(&[
        "--server",
        &proxy.to_string(),
        "--clients",
        "20",
        "--senders",
        "3",
        "--messages",
        "50",
        "--timeout",
        "30",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(i32::from(EXIT_INCOMPLETE)), "{}", explain(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON line");
    // Every 10th relay from others: 100 reach each sender (10 dropped), 150 each other client (15).
    let lost = 3 * 10 + 17 * 15;
    assert_eq!(report["deliveries_lost"], lost, "{report}");
    assert_eq!(report["deliveries_received"], 3000 - lost);
    assert_eq!(report["outcome"], "incomplete");
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["timed_out"], false, "the barriers end the run, not the timeout: {report}");
    server.shutdown().unwrap();
}

#[test]
fn duplicated_relays_are_counted_as_duplicates_not_as_deliveries() {
    let server = server(|_| {});
    let proxy = faulty_proxy(server.local_addr(), Fault::Duplicate(10), None);
    let report = measure(&small_run(proxy));
    assert_eq!(report.duplicates, 3 * 10 + 17 * 15, "{}", report.summary_text());
    assert_eq!((report.deliveries_received, report.deliveries_lost), (3000, 0));
    assert_eq!(report.exit_status(), EXIT_INCOMPLETE);
    server.shutdown().unwrap();
}

#[test]
fn a_client_that_sees_messages_in_another_order_is_found_by_the_order_check() {
    let server = server(|_| {});
    // Client 19 (not a sender) gets its 10th, 20th … 140th relay after the one that follows it
    // (the 150th is the last, with nothing to swap with).
    let proxy = faulty_proxy(server.local_addr(), Fault::Swap(10), Some(19));
    let report = measure(&small_run(proxy));
    assert_eq!(report.order.disagreements, 14, "{}", report.summary_text());
    assert_eq!(report.order.clients_disagreeing, 1, "the other 19 agree and are the reference");
    assert!(report.out_of_order <= 14, "a swap within one sender also counts as out of order");
    assert_eq!((report.deliveries_lost, report.duplicates), (0, 0));
    assert_eq!(report.exit_status(), EXIT_INCOMPLETE);
    server.shutdown().unwrap();
}

#[test]
fn a_disconnected_client_is_reported_with_its_last_lines() {
    let server = server(|_| {});
    let proxy = faulty_proxy(server.local_addr(), Fault::Kick(30), Some(19));
    let report = measure(&small_run(proxy));
    assert_eq!(report.disconnects, 1, "{}", report.summary_text());
    assert_eq!(report.disconnect_causes.get("SLOW_CONSUMER"), Some(&1));
    let d = &report.disconnect_samples[0];
    assert_eq!(d.client, 19);
    assert!(d.detail.contains("ERROR SLOW_CONSUMER you read too slowly") && d.detail.contains("BYE"), "{d:?}");
    assert_eq!(report.deliveries_lost, 150 - 30, "client 19 missed everything after its 30th message");
    assert_eq!(report.exit_status(), EXIT_INCOMPLETE);
    server.shutdown().unwrap();
}

#[test]
fn json_output_is_exactly_one_parseable_line() {
    let server = server(|_| {});
    let addr = server.local_addr().to_string();
    let o = runner(&["--server", &addr, "--clients", "20", "--senders", "3", "--messages", "50", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", explain(&o));
    let stdout = String::from_utf8(o.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{}", explain(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("valid JSON");
    assert_eq!(report["mode"], "load");
    assert_eq!(report["outcome"], "complete");
    assert_eq!(report["deliveries_expected"], 3000);
    assert_eq!(report["deliveries_received"], 3000);
    assert_eq!(report["deliveries_lost"], 0);
    assert_eq!(report["latency_us"]["count"], 3000);
    for field in ["p50", "p90", "p99", "p999", "max"] {
        assert!(report["latency_us"][field].as_f64().is_some_and(|v| v > 0.0), "latency_us.{field}: {report}");
    }
    assert!(report["deliveries_per_s"].as_f64().is_some_and(|v| v > 0.0));
    server.shutdown().unwrap();
}

#[test]
fn flood_control_gives_a_clear_notice_and_every_line_still_arrives() {
    // A burst of 5, then 500 lines/s: the window of 8 runs into it at once (R-LIMIT-5, R-LIMIT-6).
    let server = server(|c| (c.msg_rate, c.msg_burst) = (500, 5));
    let addr = server.local_addr().to_string();
    let o = runner(&["--server", &addr, "--clients", "5", "--senders", "1", "--messages", "30"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "delayed, never lost: {}", explain(&o));
    assert!(
        stdout.contains("notice     flood control: the server sent ERROR FLOOD to 1 of 5 clients"),
        "{}",
        explain(&o)
    );
    assert!(stdout.contains("--msg-rate 0"), "the notice says how to turn it off: {stdout}");

    let report = measure(&LoadParams { clients: 5, senders: 1, messages: 30, ..small_run(server.local_addr()) });
    assert!(report.flood_errors >= 1 && report.flood_controlled_clients == 1, "{}", report.summary_text());
    assert!(report.is_complete());
    server.shutdown().unwrap();
}

#[test]
fn a_server_that_is_not_there_is_a_setup_failure_with_exit_status_1() {
    let (_held, port) = harness::refusing_port();
    let o = runner(&["--server", &format!("127.0.0.1:{port}"), "--clients", "3", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{}", explain(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).expect("one JSON line even so");
    assert_eq!(report["outcome"], "setup_failed");
    assert!(String::from_utf8_lossy(&o.stderr).contains("is the server running"), "{}", explain(&o));
}

#[test]
fn a_server_too_small_for_the_clients_is_a_setup_failure_that_names_the_limit() {
    let server = server(|c| c.max_clients = 5);
    let params = LoadParams { clients: 10, senders: 1, ..small_run(server.local_addr()) };
    match run(&params.plan().unwrap()) {
        Err(LoadError::Setup { reason, registered, clients, .. }) => {
            assert!(reason.contains("SERVER_FULL") && reason.contains("--max-clients"), "{reason}");
            assert!(registered <= 5 && clients == 10);
        }
        other => panic!("expected a setup failure, got {other:?}"),
    }
    server.shutdown().unwrap();
}

#[test]
fn a_payload_the_server_cannot_take_is_a_setup_failure() {
    let server = server(|c| c.max_line = 128);
    let params = LoadParams { payload: 65, ..small_run(server.local_addr()) };
    let err = run(&params.plan().unwrap()).expect_err("L - 64 = 64 bytes of text at most");
    assert!(err.to_string().contains("lower --payload"), "{err}");
    server.shutdown().unwrap();
}

#[test]
fn bad_arguments_exit_with_status_2_and_say_what_to_change() {
    for (args, says) in [
        (&["--server", "127.0.0.1:1", "--clients", "3", "--senders", "5"][..], "more than --clients"),
        (&["--server", "127.0.0.1:1", "--window", "0"][..], "needs a --rate"),
        (&["--server", "127.0.0.1:1", "--timeout", "0"][..], "--timeout"),
        (&["--server", "not an address"][..], "HOST:PORT"),
        (&["--clients", "3"][..], "--server"),
    ] {
        let o = runner(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", explain(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains(says), "{args:?}: {}", explain(&o));
    }
}
