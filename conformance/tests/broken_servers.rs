//! The suite must be able to fail. A small toy server (tests/toy) runs once without flaws — it
//! must pass every case, with line connections and over PodSixNet — and once per deliberate
//! flaw, which the named cases must catch (`podsixnet::MC-…`: the case run in the PodSixNet
//! profile, every connection speaking PodSixNet). A last check proves that every case is in some
//! flaw's list: a case no wrong server can fail would be a defect.
//!
//! The toy announces L = 200, not the reference 1024, so these runs also prove that the cases
//! adapt to the announced line limit.
//!
//! Trials wait on sockets, not on the CPU, so they run 8 at a time unless --test-threads says
//! otherwise.

mod harness;
mod toy;

use std::collections::BTreeSet;
use std::time::Duration;

use conformance::catalog;
use conformance::report::case_text;
use conformance::{Case, Profile, RunConfig, ServerControl, ServerParams, SuiteOptions, Verdict, run_suite};
use harness::{InProcess, Started};
use libtest_mimic::{Arguments, Failed, Trial};
use toy::{Flaw, Toy, ToyConfig};

/// The line limit the toy announces.
const TOY_L: usize = 200;

/// Which cases must fail against a server with each flaw.
const CATCHES: &[(Flaw, &[&str])] = &[
    (Flaw::NoHello, &["MC-REG-001", "MC-TRANS-001"]),
    (Flaw::CrLfOutput, &["MC-TRANS-001", "MC-SYN-002"]),
    (Flaw::KeepsCr, &["MC-TRANS-002"]),
    (Flaw::LineLimitOffByOne, &["MC-TRANS-003"]),
    (Flaw::OverlongCloses, &["MC-TRANS-004", "MC-TRANS-005", "MC-ERR-002"]),
    (Flaw::OverlongRelayed, &["MC-TRANS-004"]),
    (Flaw::OverlongErrorPerRead, &["MC-TRANS-005"]),
    (Flaw::InvalidUtf8Relayed, &["MC-TRANS-006"]),
    (Flaw::ControlCharsRelayed, &["MC-TRANS-007"]),
    (Flaw::TabAllowed, &["MC-TRANS-007"]),
    (Flaw::EmptyLineError, &["MC-TRANS-008"]),
    (Flaw::DropsPartialReads, &["MC-TRANS-009"]),
    (Flaw::FirstLineOnly, &["MC-TRANS-010"]),
    (Flaw::TailProcessedOnEof, &["MC-TRANS-011"]),
    (Flaw::BlockingPartialLine, &["MC-TRANS-012"]),
    (Flaw::CaseSensitiveCommands, &["MC-SYN-001"]),
    (Flaw::LowercaseCodes, &["MC-SYN-002", "MC-ERR-001"]),
    (Flaw::StateBeforeSyntax, &["MC-SYN-003"]),
    (Flaw::LaxPing, &["MC-SYN-004"]),
    (Flaw::WrongErrorCode, &["MC-SYN-005", "MC-ERR-001"]),
    (Flaw::ShortNicks, &["MC-NICK-001"]),
    (Flaw::AnyNick, &["MC-NICK-002"]),
    (Flaw::DuplicateNicks, &["MC-NICK-003", "MC-NICK-004"]),
    (Flaw::CaseSensitiveNicks, &["MC-NICK-003"]),
    (Flaw::LowercasesNicks, &["MC-NICK-005"]),
    (Flaw::NickNotFreed, &["MC-NICK-006"]),
    (Flaw::FoldsPunctuation, &["MC-NICK-007"]),
    (Flaw::ListBeforeWelcome, &["MC-REG-002"]),
    (Flaw::JoinToSelf, &["MC-REG-003"]),
    (Flaw::RefusedUserCloses, &["MC-REG-004", "MC-ERR-002"]),
    (Flaw::ReRegister, &["MC-REG-005"]),
    (Flaw::NoRegistrationCheck, &["MC-REG-006"]),
    (Flaw::EventsToUnregistered, &["MC-REG-003", "MC-STATE-004"]),
    (Flaw::NoPong, &["MC-STATE-001", "MC-STATE-002", "MC-ORDER-006"]),
    (Flaw::ProcessAfterQuit, &["MC-STATE-003"]),
    (Flaw::NoEchoToSender, &["MC-MSG-001"]),
    (Flaw::TrimsText, &["MC-MSG-002"]),
    (Flaw::RelaysBlank, &["MC-MSG-003"]),
    (Flaw::TextLimitCountsChars, &["MC-MSG-004"]),
    (Flaw::TextLimitOffByOne, &["MC-MSG-004", "MC-MSG-005"]),
    (Flaw::ListMissesOne, &["MC-LIST-001", "MC-REG-002", "MC-ORDER-004"]),
    (Flaw::WrongEndusersCount, &["MC-LIST-002"]),
    (Flaw::ListOnOneLine, &["MC-LIST-002"]),
    (Flaw::SplitListWithMessage, &["MC-LIST-003"]),
    (Flaw::NoLeaveOnQuit, &["MC-QUIT-001"]),
    (Flaw::QuitKeepsBlankReason, &["MC-QUIT-002"]),
    (Flaw::QuitUnregisteredNoBye, &["MC-QUIT-003"]),
    (Flaw::NoLeaveOnLost, &["MC-LEAVE-001", "MC-TRANS-011"]),
    (Flaw::LostSaysQuit, &["MC-LEAVE-001"]),
    (Flaw::LeaveTwice, &["MC-LEAVE-002"]),
    (Flaw::LeaveToSelf, &["MC-LEAVE-003"]),
    (Flaw::ReplaysLastMessage, &["MC-ORDER-001"]),
    (Flaw::ReordersRelays, &["MC-ORDER-002", "MC-ORDER-003"]),
    (Flaw::PingFirst, &["MC-ORDER-005", "MC-TRANS-010"]),
    (Flaw::NoServerFull, &["MC-LIMIT-001"]),
    (Flaw::FatalWithoutBye, &["MC-LIMIT-001"]),
    (Flaw::NoPerAddressLimit, &["MC-LIMIT-002"]),
    (Flaw::NoSlowConsumerLimit, &["MC-LIMIT-003"]),
    (Flaw::FloodDrops, &["MC-LIMIT-004"]),
    (Flaw::NoFloodError, &["MC-LIMIT-005"]),
    (Flaw::FloodErrorEveryLine, &["MC-LIMIT-005"]),
    (Flaw::NoRegisterTimeout, &["MC-TIME-001"]),
    (Flaw::LineTimeoutRestarts, &["MC-TIME-002"]),
    (Flaw::NoIdlePing, &["MC-TIME-003"]),
    (Flaw::PongMustMatch, &["MC-TIME-004"]),
    (Flaw::NoPingTimeout, &["MC-TIME-005"]),
    (Flaw::SilentShutdown, &["MC-SHUT-001"]),
    (Flaw::LeaveOnShutdown, &["MC-SHUT-001"]),
    (Flaw::ShutdownWaitsForever, &["MC-SHUT-002"]),
    (Flaw::PsnNoConnected, &["MC-PSN-001", "podsixnet::MC-REG-001"]),
    (Flaw::PsnTerminatorInGreeting, &["MC-PSN-001", "MC-PSN-011"]),
    (Flaw::PsnNoExpediteur, &["MC-PSN-004", "podsixnet::MC-MSG-001"]),
    (Flaw::PsnKeysOutOfOrder, &["MC-PSN-004", "MC-PSN-017"]),
    (Flaw::PsnPlainError, &["MC-PSN-008", "MC-PSN-009", "podsixnet::MC-ERR-002"]),
    (Flaw::PsnNoPlayersAfterJoin, &["MC-PSN-003", "podsixnet::MC-REG-003"]),
    (Flaw::PsnStalePlayers, &["MC-PSN-003", "MC-PSN-015", "podsixnet::MC-LEAVE-001"]),
    (Flaw::PsnNicknameUnknown, &["MC-PSN-002"]),
    (Flaw::PsnExtraKeysRefused, &["MC-PSN-007"]),
    (Flaw::PsnQuitReasonNone, &["MC-PSN-006"]),
    (Flaw::PsnBadFrameCloses, &["MC-PSN-008", "MC-PSN-011"]),
    (Flaw::PsnOverlongCloses, &["MC-PSN-010"]),
    (Flaw::PsnFrameLimitOffByOne, &["MC-PSN-010"]),
    (Flaw::PsnIdlePing, &["MC-PSN-012"]),
    (Flaw::PsnSeparateRoom, &["MC-PSN-002", "MC-PSN-005", "MC-PSN-015"]),
    (Flaw::PsnNoTimeouts, &["MC-PSN-013", "MC-PSN-014", "podsixnet::MC-TIME-001"]),
    (Flaw::PsnFirstFrameOnly, &["MC-PSN-016", "podsixnet::MC-TRANS-010"]),
];

/// Case IDs written `podsixnet::MC-…` run in the PodSixNet profile.
const PODSIXNET_PREFIX: &str = "podsixnet::";

/// A CATCHES entry's case ID and the profile it runs in.
fn profile_and_id(entry: &str) -> (Profile, &str) {
    match entry.strip_prefix(PODSIXNET_PREFIX) {
        Some(id) => (Profile::PodSixNet, id),
        None => (Profile::Line, entry),
    }
}

struct ToyControl(Toy);

impl ServerControl for ToyControl {
    fn begin_shutdown(&self) -> Result<(), String> {
        self.0.begin_shutdown();
        Ok(())
    }
    fn wait_stopped(&self, limit: Duration) -> bool {
        self.0.wait_stopped(limit)
    }
}

fn toy_config(p: &ServerParams, flaw: Option<Flaw>, quit_delay: Duration) -> ToyConfig {
    let d = ToyConfig::default();
    ToyConfig {
        max_line: TOY_L,
        max_clients: p.max_clients.unwrap_or(d.max_clients),
        max_per_address: p.max_per_address.unwrap_or(d.max_per_address),
        max_queue: p.max_queue.unwrap_or(d.max_queue),
        register_timeout: p.register_timeout.unwrap_or(d.register_timeout),
        line_timeout: p.line_timeout.unwrap_or(d.line_timeout),
        idle_timeout: p.idle_timeout.unwrap_or(d.idle_timeout),
        ping_timeout: p.ping_timeout.unwrap_or(d.ping_timeout),
        shutdown_grace: p.shutdown_grace.unwrap_or(d.shutdown_grace),
        flood: p.flood.unwrap_or(d.flood),
        podsixnet: d.podsixnet,
        flaw,
        quit_delay,
    }
}

/// Toy servers with `flaw`: a shared one with flood control on (and fast), and one per case that
/// needs parameters.
fn toy_source(flaw: Option<Flaw>) -> InProcess {
    toy_source_with(flaw, Duration::ZERO)
}

/// How long the slow-quitting correct toy waits before acting on a `QUIT`: longer than a
/// barrier takes, far shorter than a step's timeout.
const QUIT_DELAY: Duration = Duration::from_millis(100);

/// Like `toy_source`, with each `QUIT` acted on `quit_delay` late.
fn toy_source_with(flaw: Option<Flaw>, quit_delay: Duration) -> InProcess {
    let shared = ServerParams { max_per_address: Some(0), flood: Some((20, 50)), ..Default::default() };
    InProcess::new(
        shared,
        Box::new(move |p: &ServerParams| {
            let toy = Toy::start(toy_config(p, flaw, quit_delay));
            let (addr, podsixnet) = (toy.addr(), toy.podsixnet_addr());
            Ok(Started { addr, podsixnet, control: Box::new(ToyControl(toy)) as Box<dyn ServerControl> })
        }),
    )
    .with_podsixnet()
}

fn options(profile: Profile) -> SuiteOptions {
    let ms = std::env::var("MINICHAT_TIMEOUT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    SuiteOptions { jobs: 8, run: RunConfig { step_timeout: Duration::from_millis(ms), profile } }
}

fn cases(ids: &[&str]) -> Vec<Case> {
    let all = catalog::builtin().expect("the built-in cases parse");
    ids.iter().map(|id| all.iter().find(|c| c.id == *id).unwrap_or_else(|| panic!("no case {id}")).clone()).collect()
}

fn correct_toy_passes_every_case(quit_delay: Duration) -> Result<(), Failed> {
    let all = catalog::builtin().map_err(|e| e.to_string())?;
    let results = run_suite(&all, &toy_source_with(None, quit_delay), &options(Profile::Line), &|_| {});
    let bad: Vec<String> = results.iter().filter(|r| r.verdict != Verdict::Pass).map(case_text).collect();
    if bad.is_empty() { Ok(()) } else { Err(format!("{} case(s) did not pass:\n{}", bad.len(), bad.join("\n")).into()) }
}

fn correct_toy_passes_every_case_that_runs_over_podsixnet(quit_delay: Duration) -> Result<(), Failed> {
    let all = catalog::builtin().map_err(|e| e.to_string())?;
    let results = run_suite(&all, &toy_source_with(None, quit_delay), &options(Profile::PodSixNet), &|_| {});
    // Every skip must be the profile's (the toy tells the suite every parameter).
    let bad: Vec<String> = results
        .iter()
        .filter(|r| match &r.verdict {
            Verdict::Pass => false,
            Verdict::Skip(reason) => !reason.starts_with("over PodSixNet: "),
            Verdict::Fail(_) => true,
        })
        .map(case_text)
        .collect();
    let ran = results.iter().filter(|r| r.verdict == Verdict::Pass).count();
    if !bad.is_empty() {
        return Err(format!("{} case(s) did not pass over PodSixNet:\n{}", bad.len(), bad.join("\n")).into());
    }
    if ran * 2 < results.len() {
        return Err(format!("only {ran} of {} cases ran over PodSixNet", results.len()).into());
    }
    Ok(())
}

fn flaw_is_caught(flaw: Flaw, entries: &[&str]) -> Result<(), Failed> {
    // A server of its own per case: a flaw that picks on "the last client registered" must pick
    // on this case's client, not on one of a case running alongside.
    let source = toy_source(Some(flaw)).all_dedicated();
    let mut results = Vec::new();
    for profile in [Profile::Line, Profile::PodSixNet] {
        let ids: Vec<&str> =
            entries.iter().map(|e| profile_and_id(e)).filter(|(p, _)| *p == profile).map(|(_, id)| id).collect();
        if !ids.is_empty() {
            let prefix = if profile == Profile::PodSixNet { PODSIXNET_PREFIX } else { "" };
            let run = run_suite(&cases(&ids), &source, &options(profile), &|_| {});
            results.extend(run.into_iter().map(|r| (format!("{prefix}{}", r.id), r)));
        }
    }
    let missed: Vec<String> =
        results.iter().filter(|(_, r)| r.failure().is_none()).map(|(id, r)| format!("{id} {}", r.status())).collect();
    if missed.is_empty() {
        Ok(())
    } else {
        Err(format!("a server with {flaw:?} was not caught by: {}", missed.join(", ")).into())
    }
}

fn cases_run_repeatedly_and_at_the_same_time_on_one_server() -> Result<(), Failed> {
    // Each run makes its own nicks, so copies of a case never collide, and none sees the
    // others' clients as its own.
    let ids = ["MC-NICK-003", "MC-LIST-001", "MC-ORDER-002", "MC-NICK-004", "MC-PSN-005"];
    let twice: Vec<Case> = cases(&ids).into_iter().chain(cases(&ids)).chain(cases(&ids)).collect();
    let source = toy_source(None);
    let bad: Vec<String> = run_suite(&twice, &source, &options(Profile::Line), &|_| {})
        .into_iter()
        .chain(run_suite(&twice, &source, &options(Profile::PodSixNet), &|_| {}))
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| case_text(&r))
        .collect();
    if bad.is_empty() { Ok(()) } else { Err(bad.join("\n").into()) }
}

fn a_failure_names_the_step_the_requirement_and_the_transcript() -> Result<(), Failed> {
    let source = toy_source(Some(Flaw::NoEchoToSender)).all_dedicated();
    let result = run_suite(&cases(&["MC-MSG-001"]), &source, &options(Profile::Line), &|_| {}).remove(0);
    let f = result.failure().ok_or("MC-MSG-001 passed against a server that does not echo")?;
    let step = "bob< MSG {bob} hello all";
    let line = include_str!("../cases/06-messages.cases").lines().position(|l| l == step).ok_or("step not found")? + 1;
    let sent = f.transcript.entries.iter().any(|e| e.conn == "bob" && e.bytes == b"MSG hello all\n");
    let checks = [
        (f.file == "cases/06-messages.cases" && f.line == line, "the file and line of the step"),
        (f.step == step, "the step as written"),
        (f.charged.iter().map(|c| c.requirement.as_str()).eq(["R-MSG-1"]), "the requirement it checks"),
        (f.charged[0].quote.contains("*including the sender*"), "the quoted sentence"),
        (f.expected.starts_with("bob to receive: MSG bob_"), "what was expected, with the run's nick"),
        (f.got.starts_with("nothing within"), "what came instead"),
        (sent, "the transcript of every connection"),
    ];
    match checks.iter().find(|(ok, _)| !ok) {
        None => Ok(()),
        Some((_, what)) => Err(format!("the failure does not show {what}:\n{}", f.render()).into()),
    }
}

fn podsixnet_failures_are_charged_to_the_requirement_they_break() -> Result<(), Failed> {
    // The frame checks run on every frame of every case: a flaw in the frames is charged to the
    // requirement of §16 it breaks, not to whatever the case happened to be checking.
    let expected = [
        (Flaw::PsnNoConnected, "MC-PSN-004", "R-PSN-6"),
        (Flaw::PsnNoExpediteur, "MC-PSN-004", "R-PSN-6"),
        (Flaw::PsnPlainError, "MC-PSN-008", "R-PSN-6"),
        (Flaw::PsnTerminatorInGreeting, "MC-PSN-004", "R-PSN-3"),
        (Flaw::PsnNoPlayersAfterJoin, "MC-PSN-004", "R-PSN-7"),
        (Flaw::PsnStalePlayers, "MC-PSN-003", "R-PSN-7"),
        (Flaw::PsnIdlePing, "MC-PSN-012", "R-PSN-8"),
    ];
    let mut wrong = Vec::new();
    for (flaw, id, requirement) in expected {
        let source = toy_source(Some(flaw)).all_dedicated();
        let result = run_suite(&cases(&[id]), &source, &options(Profile::Line), &|_| {}).remove(0);
        let charged: Vec<&str> =
            result.failure().map(|f| f.charged.iter().map(|c| c.requirement.as_str()).collect()).unwrap_or_default();
        if charged != [requirement] {
            wrong
                .push(format!("{flaw:?} in {id}: expected {requirement}, charged {charged:?}\n{}", case_text(&result)));
        }
    }
    if wrong.is_empty() { Ok(()) } else { Err(wrong.join("\n").into()) }
}

fn every_case_is_caught_by_some_flaw() -> Result<(), Failed> {
    let all = catalog::builtin().map_err(|e| e.to_string())?;
    let caught: BTreeSet<&str> = CATCHES.iter().flat_map(|(_, ids)| ids.iter().map(|e| profile_and_id(e).1)).collect();
    let uncaught: Vec<&str> = all.iter().map(|c| c.id.as_str()).filter(|id| !caught.contains(id)).collect();
    let unknown: Vec<&str> = caught.iter().copied().filter(|id| !all.iter().any(|c| c.id == *id)).collect();
    if !uncaught.is_empty() {
        return Err(format!("no broken server shows that these cases can fail: {}", uncaught.join(", ")).into());
    }
    if !unknown.is_empty() {
        return Err(format!("CATCHES names cases that do not exist: {}", unknown.join(", ")).into());
    }
    Ok(())
}

fn snake(flaw: Flaw) -> String {
    let name = format!("{flaw:?}");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn main() {
    let mut args = Arguments::from_args();
    if args.test_threads.is_none() {
        args.test_threads = Some(8);
    }
    let mut trials = vec![
        Trial::test("the_correct_toy_server_passes_every_case", || correct_toy_passes_every_case(Duration::ZERO)),
        Trial::test("the_correct_toy_server_passes_every_case_that_runs_over_podsixnet", || {
            correct_toy_passes_every_case_that_runs_over_podsixnet(Duration::ZERO)
        }),
        // No case may rest on which connection's lines the server acts on first.
        Trial::test("the_correct_toy_server_passes_every_case_when_slow_to_act_on_quits", || {
            correct_toy_passes_every_case(QUIT_DELAY)
        }),
        Trial::test("the_correct_toy_server_passes_every_case_over_podsixnet_when_slow_to_act_on_quits", || {
            correct_toy_passes_every_case_that_runs_over_podsixnet(QUIT_DELAY)
        }),
        Trial::test("every_case_is_caught_by_some_broken_server", every_case_is_caught_by_some_flaw),
        Trial::test(
            "podsixnet_failures_are_charged_to_the_requirement_they_break",
            podsixnet_failures_are_charged_to_the_requirement_they_break,
        ),
        Trial::test(
            "cases_run_repeatedly_and_at_the_same_time_on_one_server",
            cases_run_repeatedly_and_at_the_same_time_on_one_server,
        ),
        Trial::test(
            "a_failure_names_the_step_the_requirement_and_the_transcript",
            a_failure_names_the_step_the_requirement_and_the_transcript,
        ),
    ];
    for &(flaw, ids) in CATCHES {
        trials.push(Trial::test(format!("caught::{}", snake(flaw)), move || flaw_is_caught(flaw, ids)));
    }
    libtest_mimic::run(&args, trials).exit();
}
