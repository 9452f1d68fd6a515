//! Runs a selection of cases: in parallel where they can share a server, on a fresh server when
//! the source offers one to a case that needs the server alone, and otherwise one at a time after
//! the others, so that counting connections or filling queues never disturbs another case.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::case::Case;
use crate::outcome::{CaseResult, Failure, Verdict};
use crate::podsixnet::translate::profile_skip;
use crate::session::{RunConfig, run_case};
use crate::target::{ServerSource, skip_reason};

/// How a suite is run.
#[derive(Clone, Debug)]
pub struct SuiteOptions {
    /// How many cases run at once.
    pub jobs: usize,
    pub run: RunConfig,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        SuiteOptions { jobs: 4, run: RunConfig::default() }
    }
}

fn setup_failure(case: &Case, what: &str, error: String) -> CaseResult {
    let failure = Failure {
        file: case.file.clone(),
        line: case.line,
        step: "(starting the server for this case)".into(),
        charged: Vec::new(),
        expected: what.to_owned(),
        got: error,
        transcript: Default::default(),
    };
    CaseResult::new(case, Verdict::Fail(Box::new(failure)), Duration::ZERO)
}

/// Runs one case with the server the source gives it.
pub fn run_one(case: &Case, source: &dyn ServerSource, config: &RunConfig) -> CaseResult {
    let (params, can_shut_down) = source.known(case);
    let skip = skip_reason(case, &params, can_shut_down, source.offers_podsixnet())
        .or_else(|| profile_skip(case, config.profile));
    if let Some(reason) = skip {
        return CaseResult::new(case, Verdict::Skip(reason), Duration::ZERO);
    }
    if source.offers_dedicated(case) {
        let started = Instant::now();
        return match source.dedicated(case) {
            Ok(server) => {
                let mut r = run_case(case, &server, config);
                drop(server);
                r.duration = started.elapsed();
                r
            }
            Err(e) => setup_failure(case, "a server started for this case", e),
        };
    }
    match source.shared() {
        Ok(server) => run_case(case, server, config),
        Err(e) => setup_failure(case, "the server under test", e),
    }
}

/// Runs `cases` and returns their results in the same order; `on_result` sees each result as
/// soon as it is known (for progress output).
pub fn run_suite(
    cases: &[Case],
    source: &dyn ServerSource,
    options: &SuiteOptions,
    on_result: &(dyn Fn(&CaseResult) + Sync),
) -> Vec<CaseResult> {
    let (alone, together): (Vec<usize>, Vec<usize>) =
        (0..cases.len()).partition(|&i| cases[i].needs_server_alone() && !source.offers_dedicated(&cases[i]));
    let results: Mutex<Vec<Option<CaseResult>>> = Mutex::new(vec![None; cases.len()]);
    let record = |i: usize, r: CaseResult| {
        on_result(&r);
        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
    };
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1).min(together.len().max(1)) {
            scope.spawn(|| {
                while let Some(&i) = together.get(next.fetch_add(1, Ordering::Relaxed)) {
                    record(i, run_one(&cases[i], source, &options.run));
                }
            });
        }
    });
    for i in alone {
        record(i, run_one(&cases[i], source, &options.run));
    }
    results.into_inner().unwrap_or_else(|e| e.into_inner()).into_iter().map(|r| r.expect("every case ran")).collect()
}

/// Counts of a suite's results.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    /// Failures charged to a MUST (or cases that could not run): these make a server non-conforming.
    pub failed_must: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn of(results: &[CaseResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match &r.verdict {
                Verdict::Pass => s.passed += 1,
                Verdict::Skip(_) => s.skipped += 1,
                Verdict::Fail(f) => {
                    s.failed += 1;
                    if f.level() == crate::spec::Level::Must {
                        s.failed_must += 1;
                    }
                }
            }
        }
        s
    }
}
