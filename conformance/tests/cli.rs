//! The `conformance` runner end to end, as a grader uses it: against a running server
//! (`--server`), against one it starts and stops itself (`--spawn`), with reports, selections,
//! skips and exit codes.
//!
//! The servers are the toy server of tests/toy. For `--spawn`, this test binary doubles as the
//! server program: started with MINICHAT_TOY_PORT (lines) and/or MINICHAT_TOY_PODSIXNET_PORT
//! (PodSixNet, SPEC.md §16) set, it serves on those ports until SIGTERM.

mod harness;
mod toy;

use std::process::{Command, Output};
use std::time::Duration;

use libtest_mimic::{Arguments, Failed, Trial};
use toy::{Flaw, Toy, ToyConfig};

const RUNNER: &str = env!("CARGO_BIN_EXE_conformance");
const TOY_PORT_VAR: &str = "MINICHAT_TOY_PORT";
const TOY_PODSIXNET_PORT_VAR: &str = "MINICHAT_TOY_PODSIXNET_PORT";

fn runner(args: &[&str]) -> Output {
    Command::new(RUNNER).args(args).env("MINICHAT_TIMEOUT_MS", "2000").output().expect("run the conformance binary")
}

fn text(o: &Output) -> (String, String) {
    (String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn check(cond: bool, what: &str, o: &Output) -> Result<(), Failed> {
    if cond {
        return Ok(());
    }
    let (out, err) = text(o);
    Err(format!("{what}\nexit status: {:?}\n--- stdout\n{out}\n--- stderr\n{err}", o.status.code()).into())
}

fn toy(flaw: Option<Flaw>) -> Toy {
    Toy::start(ToyConfig { max_line: 200, flood: (5, 20), flaw, ..ToyConfig::default() })
}

fn list_shows_every_case_with_level_and_requirements() -> Result<(), Failed> {
    let o = runner(&["--list"]);
    let (out, _) = text(&o);
    check(o.status.success(), "--list exits 0", &o)?;
    check(out.lines().count() >= 40, "one line per case", &o)?;
    check(
        out.contains("MC-REG-001") && out.contains("MUST") && out.contains("[R-REG-1]"),
        "IDs, levels, requirements",
        &o,
    )?;
    check(out.contains("(needs M)"), "parameters a case needs", &o)
}

fn a_conforming_server_passes_and_the_reports_are_written() -> Result<(), Failed> {
    let server = toy(None);
    let dir = std::env::temp_dir().join(format!("conformance-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (json, junit) = (dir.join("report.json"), dir.join("report.xml"));
    let addr = server.addr().to_string();
    let o = runner(&[
        "--server",
        &addr,
        "--filter",
        "MC-MSG",
        "--filter",
        "MC-NICK-00",
        "--skip",
        "MC-NICK-004",
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ]);
    let (out, _) = text(&o);
    check(o.status.success(), "exit 0 when nothing fails", &o)?;
    check(out.contains("pass     MC-MSG-001") && !out.contains("MC-NICK-004"), "one line per selected case", &o)?;
    check(out.contains("0 failed, 0 skipped"), "the closing counts", &o)?;
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json)?)?;
    let n = report["cases"].as_array().map_or(0, Vec::len);
    check(n == 11 && report["summary"]["passed"] == 11, &format!("the JSON report has the 11 cases: {report}"), &o)?;
    let xml = std::fs::read_to_string(&junit)?;
    check(xml.matches("<testcase ").count() == 11 && xml.contains("failures=\"0\""), "the JUnit report", &o)?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn a_must_failure_exits_1_and_explains_itself() -> Result<(), Failed> {
    let server = toy(Some(Flaw::NoEchoToSender));
    let o = runner(&["--server", &server.addr().to_string(), "--case", "MC-MSG-001"]);
    let (out, _) = text(&o);
    check(o.status.code() == Some(1), "exit 1 on a MUST failure", &o)?;
    for needed in [
        "FAIL     MC-MSG-001",
        "at cases/06-messages.cases:",
        "requirement R-MSG-1 (MUST)",
        "expected: bob to receive: MSG bob_",
        "got:",
        "transcript",
        "> MSG hello all\\n",
        "the server does not conform",
    ] {
        check(out.contains(needed), &format!("the failure shows `{needed}`"), &o)?;
    }
    Ok(())
}

fn a_should_failure_exits_0_unless_strict() -> Result<(), Failed> {
    let server = toy(Some(Flaw::NoFloodError));
    let addr = server.addr().to_string();
    let args = ["--server", &addr, "--case", "MC-LIMIT-005", "--msg-burst", "5", "--msg-rate", "20"];
    let o = runner(&args);
    check(o.status.success() && text(&o).0.contains("FAIL     MC-LIMIT-005"), "a SHOULD failure is shown, exit 0", &o)?;
    let o = runner(&[&args[..], &["--strict"]].concat());
    check(o.status.code() == Some(1), "--strict makes it exit 1", &o)
}

fn cases_without_their_parameters_are_skipped_with_the_flag_to_pass() -> Result<(), Failed> {
    let server = toy(None);
    let o = runner(&["--server", &server.addr().to_string(), "--case", "MC-TIME-003", "--case", "MC-SHUT-001"]);
    let (out, _) = text(&o);
    check(o.status.success(), "skips are not failures", &o)?;
    check(out.contains("skipped  MC-TIME-003") && out.contains("--idle-timeout"), "the flag that would run it", &o)?;
    check(out.contains("skipped  MC-SHUT-001") && out.contains("--spawn"), "shutdown needs --spawn", &o)?;
    check(out.contains("0 passed, 0 failed, 2 skipped"), "the counts", &o)
}

fn a_podsixnet_server_is_checked_with_the_podsixnet_profile() -> Result<(), Failed> {
    let server = toy(None);
    let psn = server.podsixnet_addr().ok_or("the toy has a PodSixNet port")?.to_string();
    let args = ["--profile", "podsixnet", "--server", &psn, "--filter", "MC-MSG-00", "--filter", "MC-TRANS-00"];
    let o = runner(&args);
    let (out, _) = text(&o);
    check(o.status.success() && !out.contains("FAIL"), "a conforming PodSixNet server passes, exit 0", &o)?;
    check(out.contains("over PodSixNet (step timeout"), "the header names the profile", &o)?;
    check(out.contains("pass     MC-MSG-001"), "message cases run over PodSixNet", &o)?;
    check(
        out.contains("skipped  MC-TRANS-002") && out.contains("over PodSixNet: it checks line framing only"),
        "line-framing cases are skipped with the reason",
        &o,
    )?;
    check(
        out.contains("skipped  MC-TRANS-006") && out.contains("writes raw bytes on a line connection"),
        "cases that write raw line bytes are skipped with the reason",
        &o,
    )?;
    let flawed = toy(Some(Flaw::PsnNoExpediteur));
    let psn = flawed.podsixnet_addr().ok_or("the toy has a PodSixNet port")?.to_string();
    let o = runner(&["--profile", "podsixnet", "--server", &psn, "--case", "MC-MSG-001"]);
    let (out, _) = text(&o);
    check(o.status.code() == Some(1), "a PodSixNet server that breaks a MUST exits 1", &o)?;
    check(
        out.contains("requirement R-PSN-6 (MUST)") && out.contains("expediteur"),
        "the failure names R-PSN-6 and the key that is missing",
        &o,
    )
}

fn the_podsixnet_cases_run_when_told_the_podsixnet_port() -> Result<(), Failed> {
    let server = toy(None);
    let (line, psn) = (server.addr().to_string(), server.podsixnet_addr().ok_or("a PodSixNet port")?.to_string());
    let o = runner(&["--server", &line, "--filter", "MC-PSN-00"]);
    let (out, _) = text(&o);
    check(o.status.success() && out.contains("skipped  MC-PSN-004"), "without the port they are skipped", &o)?;
    check(out.contains("--podsixnet HOST:PORT"), "the skip says which flag to pass", &o)?;
    let o = runner(&["--server", &line, "--podsixnet", &psn, "--filter", "MC-PSN-00", "--skip", "MC-PSN-001"]);
    let (out, _) = text(&o);
    check(o.status.success() && out.contains("pass     MC-PSN-004"), "with it they run and pass", &o)?;
    check(out.contains("8 passed, 0 failed, 0 skipped"), "MC-PSN-002 to MC-PSN-009 ran", &o)
}

fn a_server_that_is_not_there_fails_every_case_it_runs() -> Result<(), Failed> {
    let (_held, port) = harness::refusing_port();
    let o = runner(&["--server", &format!("127.0.0.1:{port}"), "--case", "MC-REG-001"]);
    check(o.status.code() == Some(1) && text(&o).0.contains("R-TRANS-1"), "connection refused is R-TRANS-1", &o)
}

fn mistakes_in_the_command_line_exit_2_with_the_fix() -> Result<(), Failed> {
    let o = runner(&["--server", "127.0.0.1:1", "--case", "MC-NOPE-001"]);
    check(o.status.code() == Some(2) && text(&o).1.contains("--list"), "an unknown case ID", &o)?;
    let o = runner(&["--server", "127.0.0.1:1", "--msg-rate", "5"]);
    check(o.status.code() == Some(2) && text(&o).1.contains("--msg-burst"), "half of the flood flags", &o)?;
    let o = runner(&["--spawn", "true"]);
    check(o.status.code() == Some(2) && text(&o).1.contains("{port}"), "a spawn command without {port}", &o)?;
    let o = runner(&["--spawn", "false {port}"]);
    check(o.status.code() == Some(2) && text(&o).1.contains("exited"), "a spawn command that exits", &o)?;
    let o = runner(&["--server", "127.0.0.1:1", "--profile", "psn"]);
    check(o.status.code() == Some(2) && text(&o).1.contains("`line` or `podsixnet`"), "an unknown profile", &o)?;
    let o = runner(&["--profile", "podsixnet", "--server", "127.0.0.1:1", "--podsixnet", "127.0.0.1:2"]);
    check(o.status.code() == Some(2) && text(&o).1.contains("leave out --podsixnet"), "two PodSixNet ports", &o)
}

fn spawn_starts_the_server_tests_shutdown_and_stops_it() -> Result<(), Failed> {
    let me = std::env::current_exe()?;
    let command = format!("env {TOY_PORT_VAR}={{port}} '{}'", me.display());
    let o = runner(&[
        "--spawn",
        &command,
        "--filter",
        "MC-SHUT",
        "--case",
        "MC-MSG-001",
        "--case",
        "MC-LIMIT-001",
        "--max-clients",
        "6",
        "--shutdown-grace",
        "1s",
        "--max-queue",
        "16777216",
    ]);
    let (out, _) = text(&o);
    check(o.status.success(), "exit 0", &o)?;
    check(out.contains("4 passed, 0 failed, 0 skipped"), "shutdown and connection-limit cases ran and passed", &o)?;
    // A second port for PodSixNet: the MC-PSN cases run too.
    let command = format!("env {TOY_PORT_VAR}={{port}} {TOY_PODSIXNET_PORT_VAR}={{podsixnet}} '{}'", me.display());
    let o = runner(&["--spawn", &command, "--case", "MC-PSN-004", "--case", "MC-PSN-013", "--register-timeout", "1s"]);
    check(o.status.success() && text(&o).0.contains("2 passed, 0 failed, 0 skipped"), "{podsixnet} in --spawn", &o)?;
    // A PodSixNet server alone, on {port}, with its shutdown.
    let command = format!("env {TOY_PODSIXNET_PORT_VAR}={{port}} '{}'", me.display());
    let o = runner(&[
        "--profile",
        "podsixnet",
        "--spawn",
        &command,
        "--case",
        "MC-SHUT-001",
        "--case",
        "MC-MSG-001",
        "--shutdown-grace",
        "1s",
    ]);
    check(o.status.success() && text(&o).0.contains("2 passed, 0 failed, 0 skipped"), "--spawn over PodSixNet", &o)
}

/// This binary as the server under test for `--spawn`: the toy on the given ports (lines, and
/// PodSixNet if given), graceful shutdown on SIGTERM.
#[cfg(unix)]
fn serve_toy(port: Option<&str>, podsixnet: Option<&str>) {
    use nix::sys::signal::{SigSet, Signal};
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.thread_block().expect("block SIGTERM before any thread starts");
    let config = ToyConfig {
        max_line: 200,
        max_clients: 6,
        max_queue: 16 * 1024 * 1024,
        shutdown_grace: Duration::from_secs(1),
        register_timeout: Duration::from_secs(1),
        podsixnet: podsixnet.map(|p| format!("127.0.0.1:{p}")),
        ..ToyConfig::default()
    };
    let toy = Toy::start_on(&format!("127.0.0.1:{}", port.unwrap_or("0")), config);
    let _ = signals.wait();
    toy.begin_shutdown();
    toy.wait_stopped(Duration::from_secs(3));
    std::process::exit(0);
}

fn main() {
    let (port, podsixnet) = (std::env::var(TOY_PORT_VAR).ok(), std::env::var(TOY_PODSIXNET_PORT_VAR).ok());
    if port.is_some() || podsixnet.is_some() {
        #[cfg(unix)]
        serve_toy(port.as_deref(), podsixnet.as_deref());
        #[cfg(not(unix))]
        panic!("serving the toy needs Unix signals");
    }
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        args.test_threads = Some(4);
    }
    let mut trials = vec![
        Trial::test(
            "list_shows_every_case_with_level_and_requirements",
            list_shows_every_case_with_level_and_requirements,
        ),
        Trial::test(
            "a_conforming_server_passes_and_the_reports_are_written",
            a_conforming_server_passes_and_the_reports_are_written,
        ),
        Trial::test("a_must_failure_exits_1_and_explains_itself", a_must_failure_exits_1_and_explains_itself),
        Trial::test("a_should_failure_exits_0_unless_strict", a_should_failure_exits_0_unless_strict),
        Trial::test(
            "cases_without_their_parameters_are_skipped_with_the_flag_to_pass",
            cases_without_their_parameters_are_skipped_with_the_flag_to_pass,
        ),
        Trial::test(
            "a_server_that_is_not_there_fails_every_case_it_runs",
            a_server_that_is_not_there_fails_every_case_it_runs,
        ),
        Trial::test(
            "a_podsixnet_server_is_checked_with_the_podsixnet_profile",
            a_podsixnet_server_is_checked_with_the_podsixnet_profile,
        ),
        Trial::test(
            "the_podsixnet_cases_run_when_told_the_podsixnet_port",
            the_podsixnet_cases_run_when_told_the_podsixnet_port,
        ),
        Trial::test(
            "mistakes_in_the_command_line_exit_2_with_the_fix",
            mistakes_in_the_command_line_exit_2_with_the_fix,
        ),
    ];
    if cfg!(unix) {
        trials.push(Trial::test(
            "spawn_starts_the_server_tests_shutdown_and_stops_it",
            spawn_starts_the_server_tests_shutdown_and_stops_it,
        ));
    }
    libtest_mimic::run(&args, trials).exit();
}
