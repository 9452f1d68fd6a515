//! Runs one case against one server: opens its connections, plays its steps in order, and turns
//! the first departure from the script (or from an always-on check) into a [`Failure`].
//!
//! A connection speaks lines, or PodSixNet frames (SPEC.md §16) when the case opens it with
//! `podsixnet` or the run is in the PodSixNet profile (`wire.rs`); steps see lines either way.
//!
//! Waiting is always for something: the next line, the end of a connection, or a `PONG` to a
//! `PING` the session sent as a barrier (SPEC.md R-ORDER-6) — never a sleep. Only `wait` and
//! `pump … every` let time pass, and only because the passage of time is what timeout cases test.
//! Every wait has a deadline: the step timeout, plus the server parameter a step names with
//! `after`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use minichat_protocol::podsixnet::TERMINATOR;
use minichat_protocol::{Limits, MAX_MAX_LINE, ServerMessage};

use crate::case::{Action, Case, Param, Step};
use crate::connection::{Connection, End};
use crate::escape::{escape_bytes, escape_bytes_short};
use crate::expr::Scope;
use crate::observer::{Kind, Observer, Violation, automatic_quote};
use crate::outcome::{CaseResult, Charged, Failure, Verdict};
use crate::podsixnet::Profile;
use crate::podsixnet::show::show;
use crate::podsixnet::translate::profile_skip;
use crate::spec::{Level, Spec};
use crate::target::ServerUnderTest;
use crate::template::{Env, NameRange, NameTpl, NickRef, Template};
use crate::transcript::Transcript;

mod exchange;
mod steps;
mod wire;

use wire::Wire;

/// How many sends a `pump` makes between two `PING` barriers on its connection.
const PUMP_BATCH: usize = 32;

/// How cases are run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// How long a step waits for the server before it fails (plus any `after` the step names).
    pub step_timeout: Duration,
    /// Whether every connection speaks lines or PodSixNet frames.
    pub profile: Profile,
}

/// The step timeout unless configured: long enough not to flake on a loaded 2-core machine.
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_millis(5000);

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig { step_timeout: DEFAULT_STEP_TIMEOUT, profile: Profile::Line }
    }
}

/// Runs `case` against `server`; skips it (with the reason) if it needs something the runner
/// does not know about the server, or cannot be run in the configured profile.
pub fn run_case(case: &Case, server: &ServerUnderTest, config: &RunConfig) -> CaseResult {
    let started = Instant::now();
    if let Some(reason) = server.skip_reason(case).or_else(|| profile_skip(case, config.profile)) {
        return CaseResult::new(case, Verdict::Skip(reason), Duration::ZERO);
    }
    tracing::debug!(case = %case.id, server = %server.addr, "running");
    let mut session = Session::new(case, server, config);
    let verdict = match session.run() {
        Ok(()) => Verdict::Pass,
        Err(Stop::Fail(failure)) => Verdict::Fail(failure),
        Err(Stop::Skip(reason)) => Verdict::Skip(reason),
    };
    CaseResult::new(case, verdict, started.elapsed())
}

/// The most times a `repeat` runs: far more than any case needs (a server with M = 10 000
/// connections), little enough that a mistyped count fails at once instead of running for ever.
pub const MAX_REPEAT: usize = 100_000;

fn repeat_count(n: usize) -> Result<usize, String> {
    if n > MAX_REPEAT { Err(format!("repeat {n}: at most {MAX_REPEAT} times")) } else { Ok(n) }
}

/// A line of a block, with the loop variables it was written under.
type BlockLine = (usize, Template, Vec<(String, i64)>);

/// What went wrong in a step, before it is placed at the step's line.
#[derive(Debug)]
enum Problem {
    /// The server did not do what the step expects: charged to the requirements the case checks.
    Server { expected: String, got: String },
    /// A specific requirement is broken (an always-on check, or a check with its own ID).
    Rule { requirement: &'static str, expected: String, got: String },
    /// The case cannot run as written.
    Case(String),
    /// The server refused a connection the case needs because of a limit: the case cannot run
    /// against this server as configured (it is skipped, with the reason).
    Refused(String),
    /// The case sends something that has no PodSixNet frame, on a connection that speaks
    /// PodSixNet only because of the profile: it cannot run over PodSixNet (it is skipped).
    Untranslatable(String),
}

/// Why a case stopped before its end.
enum Stop {
    Fail(Box<Failure>),
    Skip(String),
}

impl From<Violation> for Problem {
    fn from(v: Violation) -> Problem {
        Problem::Rule { requirement: v.requirement, expected: v.expected, got: v.got }
    }
}

impl From<String> for Problem {
    fn from(e: String) -> Problem {
        Problem::Case(e)
    }
}

fn server(expected: impl Into<String>, got: impl Into<String>) -> Problem {
    Problem::Server { expected: expected.into(), got: got.into() }
}

/// Something taken in from a connection and not yet consumed by a step.
#[derive(Clone, Debug)]
enum Item {
    Line { content: Vec<u8>, msg: ServerMessage, flood: bool },
    End(End),
}

/// What a connection has next, for a step.
enum Next {
    Line(Vec<u8>, ServerMessage),
    End(End),
    Nothing,
}

struct Conn {
    name: String,
    io: Option<Connection>,
    pending: VecDeque<Item>,
    observer: Observer,
    autopong: bool,
    ended: bool,
    floods: usize,
    wire: Wire,
    quit_sent: bool,
}

impl Conn {
    /// Whether a `PING` barrier can run on this connection.
    fn can_barrier(&self) -> bool {
        self.io.as_ref().is_some_and(|io| !io.is_paused() && !io.write_closed())
            // A PING written into the middle of a line the case is still sending would change it.
            && !self.wire.has_partial()
            && !self.ended
            && !self.quit_sent
            && !self.observer.bye_seen()
    }

    /// Whether this connection sent `QUIT` and its `BYE` (or its end) has not arrived yet, though
    /// it can still arrive (the socket is being read).
    fn awaits_bye(&self) -> bool {
        self.quit_sent && !self.ended && !self.observer.bye_seen() && self.io.as_ref().is_some_and(|io| !io.is_paused())
    }
}

struct Session<'a> {
    case: &'a Case,
    server: &'a ServerUnderTest,
    timeout: Duration,
    profile: Profile,
    /// `_<tag>`: appended to every nick of this run, so runs never collide (and other cases'
    /// clients can be told apart).
    suffix: String,
    transcript: Transcript,
    conns: Vec<Conn>,
    loop_vars: Vec<(String, i64)>,
    texts: HashMap<String, Vec<u8>>,
    max_line: Option<usize>,
    barriers: u64,
}

/// A short random tag: lowercase letters and digits, so a tagged nick stays a valid nick.
fn run_tag() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut x = RandomState::new().hash_one(Instant::now());
    (0..5)
        .map(|_| {
            let c = ALPHABET[(x % 36) as usize] as char;
            x /= 36;
            c
        })
        .collect()
}

fn describe_end(end: &End) -> String {
    match end {
        End::Eof => "the server closed the connection".into(),
        End::Reset => "the connection was reset by the server".into(),
        End::Error(e) => format!("reading from the connection failed: {e}"),
        End::ByUs => "the connection was closed by the suite".into(),
    }
}

fn describe_next(next: &Next, waited: Duration) -> String {
    match next {
        Next::Line(content, _) => escape_bytes_short(content, 300),
        Next::End(end) => describe_end(end),
        Next::Nothing => format!("nothing within {:.1} s", waited.as_secs_f64()),
    }
}

fn is_membership(msg: &ServerMessage) -> bool {
    matches!(
        msg,
        ServerMessage::Welcome(_)
            | ServerMessage::Users(_)
            | ServerMessage::EndUsers(_)
            | ServerMessage::Join(_)
            | ServerMessage::Leave { .. }
    )
}

fn set_text(set: &BTreeSet<String>) -> String {
    if set.is_empty() { "nobody".into() } else { set.iter().cloned().collect::<Vec<_>>().join(" ") }
}

fn compare_sets(what: &str, got: &BTreeSet<String>, expected: &BTreeSet<String>) -> Option<Problem> {
    if got == expected {
        return None;
    }
    let missing: Vec<_> = expected.difference(got).cloned().collect();
    let extra: Vec<_> = got.difference(expected).cloned().collect();
    let mut diff = Vec::new();
    if !missing.is_empty() {
        diff.push(format!("missing {}", missing.join(" ")));
    }
    if !extra.is_empty() {
        diff.push(format!("not expected {}", extra.join(" ")));
    }
    Some(server(format!("{what}: {}", set_text(expected)), format!("{what}: {} ({})", set_text(got), diff.join("; "))))
}

impl Scope for Session<'_> {
    fn int(&self, name: &str) -> Result<i64, String> {
        if let Some((_, v)) = self.loop_vars.iter().rev().find(|(n, _)| n == name) {
            return Ok(*v);
        }
        if name == "L" {
            return self
                .max_line
                .map(|l| l as i64)
                .ok_or_else(|| "L is not known yet: it is read from the first HELLO, so connect first".to_owned());
        }
        match Param::from_name(name) {
            Some(p) => self.server.params.value(p),
            None => Err(format!("`{name}` has no value here (not a loop variable, a capture or a server parameter)")),
        }
    }
}

impl Env for Session<'_> {
    fn text(&self, name: &str) -> Option<Vec<u8>> {
        self.texts.get(name).cloned()
    }

    fn nick(&self, base: &str, len: Option<usize>) -> Result<String, String> {
        let mut nick = format!("{base}{}", self.suffix);
        if let Some(len) = len {
            if len < nick.len() {
                return Err(format!(
                    "cannot make a nick of {len} bytes from `{base}`: it takes at least {}",
                    nick.len()
                ));
            }
            let pad = "x".repeat(len - nick.len());
            nick.insert_str(base.len(), &pad);
        }
        Ok(nick)
    }
}

impl<'a> Session<'a> {
    fn new(case: &'a Case, server: &'a ServerUnderTest, config: &RunConfig) -> Session<'a> {
        Session {
            case,
            server,
            timeout: config.step_timeout,
            profile: config.profile,
            suffix: format!("_{}", run_tag()),
            transcript: Transcript::new(),
            conns: Vec::new(),
            loop_vars: Vec::new(),
            texts: HashMap::new(),
            max_line: None,
            barriers: 0,
        }
    }

    fn run(&mut self) -> Result<(), Stop> {
        let steps = &self.case.steps;
        self.run_steps(steps)?;
        // Lines that arrived after the last step still pass the always-on checks.
        for ci in 0..self.conns.len() {
            if let Err(p) = self.intake_ready(ci) {
                return Err(self.stop(self.case.line, "(the end of the case: lines that arrived last)", p));
            }
        }
        Ok(())
    }

    fn stop(&self, line: usize, step: &str, problem: Problem) -> Stop {
        match problem {
            Problem::Refused(reason) => Stop::Skip(format!("could not run: {reason}")),
            Problem::Untranslatable(reason) => Stop::Skip(format!("over PodSixNet: {reason}")),
            p => Stop::Fail(self.failure(line, step, p)),
        }
    }

    fn run_steps(&mut self, steps: &[Step]) -> Result<(), Stop> {
        for step in steps {
            if let Action::Repeat { count, var, body } = &step.action {
                let count = count
                    .eval_usize(self)
                    .and_then(repeat_count)
                    .map_err(|e| self.stop(step.line, &step.source, Problem::Case(e)))?;
                for k in 1..=count {
                    if let Some(var) = var {
                        self.loop_vars.push((var.clone(), k as i64));
                    }
                    let r = self.run_steps(body);
                    if var.is_some() {
                        self.loop_vars.pop();
                    }
                    r?;
                }
                continue;
            }
            tracing::trace!(case = %self.case.id, line = step.line, step = %step.source, "step");
            self.act(step).map_err(|p| self.stop(step.line, &step.source, p))?;
        }
        Ok(())
    }

    fn charge(&self, requirement: &str) -> Charged {
        let quote = self
            .case
            .checks
            .iter()
            .find(|c| c.requirement == requirement)
            .map(|c| c.quote.clone())
            .unwrap_or_else(|| automatic_quote(requirement).to_owned());
        let level = Spec::embedded().get(requirement).map_or(Level::Must, |r| r.level);
        Charged { requirement: requirement.to_owned(), level, quote }
    }

    fn failure(&self, line: usize, step: &str, problem: Problem) -> Box<Failure> {
        let (charged, expected, got) = match problem {
            Problem::Server { expected, got } => {
                let charged = self
                    .case
                    .checks
                    .iter()
                    .map(|c| Charged {
                        requirement: c.requirement.clone(),
                        level: self.case.level,
                        quote: c.quote.clone(),
                    })
                    .collect();
                (charged, expected, got)
            }
            Problem::Rule { requirement, expected, got } => (vec![self.charge(requirement)], expected, got),
            Problem::Case(msg) | Problem::Refused(msg) | Problem::Untranslatable(msg) => {
                (Vec::new(), "the case to run as written".to_owned(), msg)
            }
        };
        Box::new(Failure {
            file: self.case.file.clone(),
            line,
            step: step.to_owned(),
            charged,
            expected,
            got,
            transcript: self.transcript.snapshot(),
        })
    }

    fn deadline(&self, step: &Step) -> Result<Instant, Problem> {
        let extra = match &step.after {
            Some(e) => Duration::from_millis(e.eval_usize(self)? as u64),
            None => Duration::ZERO,
        };
        Ok(Instant::now() + self.timeout + extra)
    }

    fn find(&self, name: &str) -> Result<usize, Problem> {
        self.conns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| Problem::Case(format!("there is no connection named `{name}`: connect it first")))
    }

    fn conn(&self, name: &NameTpl) -> Result<usize, Problem> {
        let name = name.expand(self)?;
        self.find(&name)
    }

    fn conn_list(&self, names: &[NameRange]) -> Result<Vec<usize>, Problem> {
        let mut out = Vec::new();
        for r in names {
            for name in r.expand(self)? {
                out.push(self.find(&name)?);
            }
        }
        Ok(out)
    }

    fn nick_set(&self, nicks: &[NickRef]) -> Result<BTreeSet<String>, Problem> {
        let mut out = BTreeSet::new();
        for n in nicks {
            out.extend(n.expand(self)?);
        }
        Ok(out)
    }

    fn limits(&self) -> Limits {
        self.max_line.and_then(|l| Limits::new(l).ok()).unwrap_or(Limits::new(MAX_MAX_LINE).expect("in range"))
    }

    fn act(&mut self, step: &Step) -> Result<(), Problem> {
        let deadline = self.deadline(step)?;
        match &step.action {
            Action::Connect { conn, options } => {
                let name = conn.expand(self)?;
                self.connect(&name, *options, deadline).map(|_| ())
            }
            Action::Register { conn, nick, podsixnet } => self.register(conn, nick.as_ref(), *podsixnet, deadline),
            Action::SendLine { conn, line } => {
                let ci = self.conn(conn)?;
                let line = line.expand(self)?;
                self.send_lines(ci, &[line], None)
            }
            Action::SendRaw { conn, writes, bytewise } => {
                let ci = self.conn(conn)?;
                if self.conns[ci].wire.translated() {
                    return Err(Problem::Untranslatable(format!("`{}` writes raw line bytes", step.source)));
                }
                let chunks = writes.iter().map(|w| w.expand(self)).collect::<Result<Vec<_>, _>>()?;
                for chunk in chunks {
                    if *bytewise {
                        for b in chunk {
                            self.send(ci, &[b], None)?;
                        }
                    } else {
                        self.send(ci, &chunk, None)?;
                    }
                }
                Ok(())
            }
            Action::Write { conn, lines } => {
                let ci = self.conn(conn)?;
                let lines = self.block_bytes(lines)?;
                self.send_lines(ci, &lines, None)
            }
            Action::Frame { conn, literal, bytewise, size } => {
                let ci = self.conn(conn)?;
                if !self.conns[ci].wire.is_podsixnet() {
                    return Err(Problem::Case(format!(
                        "{} is a line connection: `frame` needs a connection opened with `podsixnet`",
                        self.conns[ci].name
                    )));
                }
                let size = size.as_ref().map(|e| e.eval_usize(self)).transpose()?;
                let (value, mut bytes) = literal.payload(self, size)?;
                // As PodSixNet sends it: no check that the payload is free of the terminator.
                bytes.extend_from_slice(&TERMINATOR);
                let shown = [show(&value).into_bytes()];
                if *bytewise {
                    self.transmit(ci, &bytes[..1], Some(&shown), Some("one write per byte"))?;
                    for b in &bytes[1..] {
                        self.transmit(ci, &[*b], Some(&[]), None)?;
                    }
                    Ok(())
                } else {
                    self.transmit(ci, &bytes, Some(&shown), None)
                }
            }
            Action::Expect { conn, pattern, optional } => {
                let ci = self.conn(conn)?;
                let pattern = pattern.resolve(self)?;
                self.expect(ci, &pattern, deadline, *optional)
            }
            Action::Skip { conn, pattern } => {
                let ci = self.conn(conn)?;
                let pattern = pattern.resolve(self)?;
                loop {
                    // Lines that are already here are skipped at once; the step waits only for
                    // the first line that does not match (or the end of the connection).
                    match self.next(ci, deadline, Some(&pattern))? {
                        Next::Line(content, _) if pattern.matches(&content).is_some() => self.pop(ci),
                        _ => return Ok(()),
                    }
                }
            }
            Action::UserList { conn, nicks } => {
                let ci = self.conn(conn)?;
                let expected = self.nick_set(nicks)?;
                let listed = self.read_list(ci, deadline)?;
                match compare_sets("a user list with this case's clients", listed.as_set(), &expected) {
                    Some(p) => Err(p),
                    None => Ok(()),
                }
            }
            Action::Unordered { conns, lines } => self.unordered(conns, lines),
            Action::Exactly { count, conns, winner, others } => {
                let count = count.eval_usize(self)?;
                let cis = self.conn_list(conns)?;
                let (winner, others) = (winner.resolve(self)?, others.resolve(self)?);
                let mut winners = Vec::new();
                for ci in cis {
                    let started = Instant::now();
                    let next = self.next(ci, deadline, Some(&winner))?;
                    match &next {
                        Next::Line(content, _) if winner.matches(content).is_some() => {
                            winners.push(self.conns[ci].name.clone())
                        }
                        Next::Line(content, _) if others.matches(content).is_some() => {}
                        _ => {
                            return Err(server(
                                format!(
                                    "{} to receive `{}` or `{}`",
                                    self.conns[ci].name,
                                    winner.describe(),
                                    others.describe()
                                ),
                                describe_next(&next, started.elapsed()),
                            ));
                        }
                    }
                    self.pop(ci);
                }
                if winners.len() == count {
                    Ok(())
                } else {
                    Err(server(
                        format!("exactly {count} connection(s) to receive `{}`", winner.describe()),
                        format!("{} did: {}", winners.len(), winners.join(" ")),
                    ))
                }
            }
            Action::Members { conns, nicks } => {
                let cis = self.conn_list(conns)?;
                let expected = self.nick_set(nicks)?;
                self.settle(&cis)?;
                for ci in cis {
                    while let Some(item) = self.conns[ci].pending.pop_front() {
                        match item {
                            Item::Line { msg, .. } if is_membership(&msg) => {}
                            Item::Line { flood: true, .. } => {}
                            Item::Line { content, .. } => {
                                return Err(server(
                                    format!(
                                        "{} to receive only WELCOME, user lists, JOIN and LEAVE",
                                        self.conns[ci].name
                                    ),
                                    escape_bytes(&content),
                                ));
                            }
                            Item::End(end) => {
                                return Err(server(
                                    format!("{} to stay connected", self.conns[ci].name),
                                    describe_end(&end),
                                ));
                            }
                        }
                    }
                    let name = self.conns[ci].name.clone();
                    let observer = &self.conns[ci].observer;
                    let Some(view) = observer.members().filter(|_| !observer.in_list()) else {
                        return Err(server(
                            format!("{name} to have registered and received its user list"),
                            "no complete user list",
                        ));
                    };
                    if let Some(p) = compare_sets(&format!("{name}'s view of the room"), view.as_set(), &expected) {
                        return Err(p);
                    }
                }
                Ok(())
            }
            Action::Closed { conn } => {
                let ci = self.conn(conn)?;
                let started = Instant::now();
                let next = self.next(ci, deadline, None)?;
                match &next {
                    Next::End(End::Eof | End::Reset) => {
                        self.pop(ci);
                        Ok(())
                    }
                    _ => Err(server(
                        format!("the server to close {}'s connection", self.conns[ci].name),
                        match next {
                            Next::Nothing => {
                                format!("it was still open after {:.1} s", started.elapsed().as_secs_f64())
                            }
                            other => describe_next(&other, started.elapsed()),
                        },
                    )),
                }
            }
            Action::Close { conn } => {
                let ci = self.conn(conn)?;
                match self.conns[ci].io.as_mut() {
                    Some(io) => io
                        .close_write()
                        .or_else(|e| if e.kind() == std::io::ErrorKind::NotConnected { Ok(()) } else { Err(e) })
                        .map_err(|e| {
                            server("to close the suite's side of the connection", format!("shutdown failed: {e}"))
                        }),
                    None => Err(Problem::Case(format!("{} was already reset", self.conns[ci].name))),
                }
            }
            Action::Reset { conn } => {
                let ci = self.conn(conn)?;
                if let Some(io) = self.conns[ci].io.take() {
                    io.reset();
                }
                self.conns[ci].ended = true;
                Ok(())
            }
            Action::Quiet { conns } => {
                let cis = self.conn_list(conns)?;
                self.settle(&cis)?;
                for ci in cis {
                    while let Some(item) = self.conns[ci].pending.pop_front() {
                        let got = match item {
                            Item::Line { flood: true, .. } => continue,
                            Item::Line { content, .. } => escape_bytes_short(&content, 300),
                            Item::End(end) => describe_end(&end),
                        };
                        return Err(server(format!("nothing more for {}", self.conns[ci].name), got));
                    }
                }
                Ok(())
            }
            Action::Drain { conns } => {
                let cis = self.conn_list(conns)?;
                self.settle(&cis)?;
                for ci in cis {
                    self.conns[ci].pending.clear();
                }
                Ok(())
            }
            Action::Pause { conn } => {
                let ci = self.conn(conn)?;
                if let Some(io) = &self.conns[ci].io {
                    io.pause();
                }
                Ok(())
            }
            Action::Resume { conn } => {
                let ci = self.conn(conn)?;
                if let Some(io) = &self.conns[ci].io {
                    io.resume();
                }
                Ok(())
            }
            Action::Pump { conn, data, every, stop } => self.pump(conn, data, every.as_ref(), stop, deadline),
            Action::Wait { millis } => {
                // Not synchronisation: a timeout case lets time pass on purpose (see module docs).
                std::thread::sleep(Duration::from_millis(millis.eval_usize(self)? as u64));
                Ok(())
            }
            Action::Repeat { .. } => unreachable!("run_steps expands repeat blocks"),
            Action::Shutdown => match &self.server.control {
                Some(control) => {
                    self.transcript.event("server", "asked to shut down");
                    control.begin_shutdown().map_err(|e| server("the server to start shutting down", e))
                }
                None => {
                    Err(Problem::Case("this server cannot be shut down by the suite (add `requires shutdown`)".into()))
                }
            },
            Action::Stopped => match &self.server.control {
                Some(control) => {
                    let limit = deadline.saturating_duration_since(Instant::now());
                    if control.wait_stopped(limit) {
                        self.transcript.event("server", "stopped");
                        Ok(())
                    } else {
                        Err(server(
                            "the server to finish shutting down",
                            format!("still running after {:.1} s", limit.as_secs_f64()),
                        ))
                    }
                }
                None => {
                    Err(Problem::Case("this server cannot be shut down by the suite (add `requires shutdown`)".into()))
                }
            },
            Action::Floods { conn, count } => {
                let ci = self.conn(conn)?;
                let count = count.eval_usize(self)?;
                self.intake_ready(ci)?;
                let got = self.conns[ci].floods;
                if got == count {
                    Ok(())
                } else {
                    Err(server(format!("{count} ERROR FLOOD line(s) so far"), format!("{got}")))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::ServerParams;

    fn run(steps: &str) -> CaseResult {
        let text = format!("case MC-T-001\ntitle t\nlevel MUST\nchecks R-T-1 \"q\"\n{steps}");
        let case = crate::syntax::parse_file("t.cases", &text).unwrap().remove(0);
        // Nothing listens there; these cases never connect.
        let server = ServerUnderTest {
            addr: "127.0.0.1:9".parse().unwrap(),
            podsixnet: None,
            params: ServerParams::default(),
            control: None,
        };
        run_case(&case, &server, &RunConfig::default())
    }

    #[test]
    fn repeat_runs_at_most_max_repeat_times() {
        assert_eq!(run(&format!("repeat {MAX_REPEAT}\n  wait 0\nend\n")).verdict, Verdict::Pass);
        let r = run(&format!("repeat {} as i\n  wait 0\nend\n", MAX_REPEAT + 1));
        let f = r.failure().expect("a count over the bound fails");
        assert!(f.charged.is_empty() && f.got.contains("at most"), "{}", f.render());
    }

    #[test]
    fn a_value_used_before_it_is_known_is_a_defect_of_the_case_not_of_the_server() {
        let r = run("repeat L\n  wait 0\nend\n");
        let f = r.failure().expect("L is unknown before any HELLO");
        assert!(f.charged.is_empty() && f.got.contains("connect first"), "{}", f.render());
    }

    #[test]
    fn run_tags_are_valid_nick_characters_and_differ_between_runs() {
        let (a, b) = (run_tag(), run_tag());
        assert_eq!(a.len(), 5);
        assert!(a.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert_ne!(a, b);
    }
}
