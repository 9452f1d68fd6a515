//! What running a case produced: pass, fail (with everything needed to understand the failure
//! without re-running it), or skipped (with the reason).

use std::time::Duration;

use crate::case::{Case, Check};
use crate::spec::Level;
use crate::transcript::TranscriptSnapshot;

/// A requirement a failure is charged to, with the sentence it states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charged {
    pub requirement: String,
    pub level: Level,
    pub quote: String,
}

/// Why a case failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The case file and line of the step that failed.
    pub file: String,
    pub line: usize,
    /// The step as written.
    pub step: String,
    /// The requirement(s) the server broke. Empty when the case itself could not run as written.
    pub charged: Vec<Charged>,
    pub expected: String,
    pub got: String,
    pub transcript: TranscriptSnapshot,
}

impl Failure {
    /// The strongest level among the charged requirements (MUST when the case itself is broken).
    pub fn level(&self) -> Level {
        self.charged.iter().map(|c| c.level).max().unwrap_or(Level::Must)
    }

    /// A one-line summary, e.g. for a JUnit `message`.
    pub fn summary(&self) -> String {
        let reqs: Vec<&str> = self.charged.iter().map(|c| c.requirement.as_str()).collect();
        let reqs = if reqs.is_empty() { "case error".to_owned() } else { reqs.join(", ") };
        format!("{reqs}: expected {}; got {}", first_line(&self.expected), first_line(&self.got))
    }

    /// The full explanation: where, which requirement, expected, got, transcript.
    pub fn render(&self) -> String {
        let mut out = format!("  at {}:{}: {}\n", self.file, self.line, self.step);
        if self.charged.is_empty() {
            out.push_str(
                "  the case could not run as written (a defect of the case or the runner, not of the server)\n",
            );
        }
        for c in &self.charged {
            out.push_str(&format!("  requirement {} ({}): \"{}\"\n", c.requirement, c.level, c.quote));
        }
        out.push_str(&format!("  expected: {}\n", indent_rest(&self.expected)));
        out.push_str(&format!("  got:      {}\n", indent_rest(&self.got)));
        out.push_str("  transcript (> sent by the suite, < received from the server, * connection events):\n");
        out.push_str(&self.transcript.render());
        out
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn indent_rest(s: &str) -> String {
    s.replace('\n', "\n            ")
}

/// The outcome of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(Box<Failure>),
    Skip(String),
}

/// One case's result, as reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub checks: Vec<Check>,
    pub file: String,
    pub line: usize,
    pub verdict: Verdict,
    pub duration: Duration,
}

impl CaseResult {
    pub fn new(case: &Case, verdict: Verdict, duration: Duration) -> CaseResult {
        CaseResult {
            id: case.id.clone(),
            title: case.title.clone(),
            level: case.level,
            checks: case.checks.clone(),
            file: case.file.clone(),
            line: case.line,
            verdict,
            duration,
        }
    }

    pub fn failure(&self) -> Option<&Failure> {
        match &self.verdict {
            Verdict::Fail(f) => Some(f),
            _ => None,
        }
    }

    pub fn status(&self) -> &'static str {
        match self.verdict {
            Verdict::Pass => "pass",
            Verdict::Fail(_) => "fail",
            Verdict::Skip(_) => "skipped",
        }
    }
}
