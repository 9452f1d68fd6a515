//! Reports of a run: a line per case for people, JSON for programs, JUnit XML for CI systems.

use std::io;

use quick_xml::Writer;
use quick_xml::events::BytesText;
use serde_json::{Value, json};

use crate::outcome::{CaseResult, Verdict};
use crate::spec::Level;
use crate::suite::Summary;
use crate::transcript::TranscriptSnapshot;

/// The one-line verdict for a case, e.g. `FAIL  MC-REG-002  A valid USER … [MUST]`.
pub fn case_line(r: &CaseResult) -> String {
    let secs = r.duration.as_secs_f64();
    match &r.verdict {
        Verdict::Pass => format!("pass     {:<13} {} ({secs:.2} s)", r.id, r.title),
        Verdict::Fail(f) => format!("FAIL     {:<13} {} [{}] ({secs:.2} s)", r.id, r.title, f.level()),
        Verdict::Skip(reason) => format!("skipped  {:<13} {} — {reason}", r.id, r.title),
    }
}

/// The line for a case and, for a failure, the whole explanation after it.
pub fn case_text(r: &CaseResult) -> String {
    let mut out = case_line(r);
    out.push('\n');
    if let Verdict::Fail(f) = &r.verdict {
        out.push_str(&f.render());
    }
    out
}

/// The closing lines: counts (in the `N passed, N failed, N skipped` form CI tools read) and
/// whether the server conforms.
pub fn summary_text(s: &Summary) -> String {
    let verdict = if s.failed_must > 0 {
        format!("the server does not conform: {} case(s) failed a MUST", s.failed_must)
    } else if s.failed > 0 {
        format!("no MUST failed; {} case(s) failed a SHOULD", s.failed)
    } else if s.skipped > 0 {
        "every case that ran passed; each skipped case says what it needs, or why it cannot run".to_owned()
    } else {
        "every case passed".to_owned()
    };
    format!("{verdict}\n{} passed, {} failed, {} skipped\n", s.passed, s.failed, s.skipped)
}

fn transcript_json(t: &TranscriptSnapshot) -> Value {
    let entries: Vec<Value> = t
        .entries
        .iter()
        .map(|e| {
            json!({
                "at_ms": e.at.as_secs_f64() * 1000.0,
                "connection": e.conn,
                "direction": e.direction.as_str(),
                "bytes": crate::escape::escape_bytes(&e.bytes),
                "note": e.note,
                "other_cases_lines_after": e.others_after,
            })
        })
        .collect();
    json!({ "entries": entries, "other_cases_lines_first": t.others_first, "left_out": t.dropped })
}

/// The whole run as JSON.
pub fn json_report(server: &str, results: &[CaseResult]) -> Value {
    let s = Summary::of(results);
    let cases: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut v = json!({
                "id": r.id,
                "title": r.title,
                "level": r.level.as_str(),
                "checks": r.checks.iter().map(|c| json!({"requirement": c.requirement, "quote": c.quote})).collect::<Vec<_>>(),
                "file": r.file,
                "line": r.line,
                "outcome": r.status(),
                "duration_ms": r.duration.as_secs_f64() * 1000.0,
            });
            match &r.verdict {
                Verdict::Pass => {}
                Verdict::Skip(reason) => v["skip_reason"] = json!(reason),
                Verdict::Fail(f) => {
                    v["failure"] = json!({
                        "file": f.file,
                        "line": f.line,
                        "step": f.step,
                        "level": f.level().as_str(),
                        "requirements": f.charged.iter().map(|c| json!({
                            "requirement": c.requirement, "level": c.level.as_str(), "quote": c.quote
                        })).collect::<Vec<_>>(),
                        "expected": f.expected,
                        "got": f.got,
                        "transcript": transcript_json(&f.transcript),
                    })
                }
            }
            v
        })
        .collect();
    json!({
        "suite": "minichat conformance",
        "server": server,
        "summary": {
            "passed": s.passed, "failed": s.failed, "failed_must": s.failed_must, "skipped": s.skipped,
            "conforming": s.failed_must == 0,
        },
        "cases": cases,
    })
}

/// Keeps only characters XML 1.0 allows (transcripts are escaped already; this is a backstop).
fn xml_safe(s: &str) -> String {
    s.chars()
        .map(
            |c| {
                if matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}') {
                    c
                } else {
                    '?'
                }
            },
        )
        .collect()
}

/// The whole run as JUnit XML: one `testcase` per case, named by ID and title; failures carry
/// the full explanation, skips their reason.
pub fn junit_report(server: &str, results: &[CaseResult]) -> io::Result<String> {
    let s = Summary::of(results);
    let total: f64 = results.iter().map(|r| r.duration.as_secs_f64()).sum();
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(quick_xml::events::Event::Decl(quick_xml::events::BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let (tests, failures, skipped, time) =
        (results.len().to_string(), s.failed.to_string(), s.skipped.to_string(), format!("{total:.3}"));
    let name = xml_safe(&format!("minichat conformance ({server})"));
    let attrs = [
        ("name", name.as_str()),
        ("tests", tests.as_str()),
        ("failures", failures.as_str()),
        ("errors", "0"),
        ("skipped", skipped.as_str()),
        ("time", time.as_str()),
    ];
    w.create_element("testsuites").with_attributes(attrs).write_inner_content(|w| {
        w.create_element("testsuite").with_attributes(attrs).write_inner_content(|w| {
            for r in results {
                let name = xml_safe(&format!("{} {}", r.id, r.title));
                let classname = format!("conformance.{}", r.level.as_str());
                let time = format!("{:.3}", r.duration.as_secs_f64());
                let case = w.create_element("testcase").with_attributes([
                    ("name", name.as_str()),
                    ("classname", classname.as_str()),
                    ("file", r.file.as_str()),
                    ("time", time.as_str()),
                ]);
                match &r.verdict {
                    Verdict::Pass => {
                        case.write_empty()?;
                    }
                    Verdict::Skip(reason) => {
                        case.write_inner_content(|w| {
                            w.create_element("skipped")
                                .with_attribute(("message", xml_safe(reason).as_str()))
                                .write_empty()?;
                            Ok(())
                        })?;
                    }
                    Verdict::Fail(f) => {
                        let kind = if f.level() == Level::Must { "MUST" } else { "SHOULD" };
                        case.write_inner_content(|w| {
                            w.create_element("failure")
                                .with_attributes([("message", xml_safe(&f.summary()).as_str()), ("type", kind)])
                                .write_text_content(BytesText::new(&xml_safe(&f.render())))?;
                            Ok(())
                        })?;
                    }
                }
            }
            Ok(())
        })?;
        Ok(())
    })?;
    String::from_utf8(w.into_inner()).map_err(io::Error::other)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::case::Check;
    use crate::outcome::{Charged, Failure};

    fn result(id: &str, verdict: Verdict) -> CaseResult {
        CaseResult {
            id: id.into(),
            title: "A <title> & more".into(),
            level: Level::Must,
            checks: vec![Check { requirement: "R-X-1".into(), quote: "q".into() }],
            file: "cases/x.cases".into(),
            line: 3,
            verdict,
            duration: Duration::from_millis(12),
        }
    }

    fn failure() -> Failure {
        Failure {
            file: "cases/x.cases".into(),
            line: 9,
            step: "alice< WELCOME {alice}".into(),
            charged: vec![Charged { requirement: "R-REG-2".into(), level: Level::Must, quote: "sends WELCOME".into() }],
            expected: "WELCOME alice_x".into(),
            got: "ERROR \u{1b}bad".into(),
            transcript: TranscriptSnapshot::default(),
        }
    }

    fn sample() -> Vec<CaseResult> {
        vec![
            result("MC-A-001", Verdict::Pass),
            result("MC-A-002", Verdict::Fail(Box::new(failure()))),
            result("MC-A-003", Verdict::Skip("needs M".into())),
        ]
    }

    #[test]
    fn json_has_summary_outcomes_and_failure_details() {
        let v = json_report("127.0.0.1:7777", &sample());
        assert_eq!(v["summary"]["passed"], 1);
        assert_eq!(v["summary"]["failed_must"], 1);
        assert_eq!(v["summary"]["conforming"], false);
        assert_eq!(v["cases"][1]["outcome"], "fail");
        assert_eq!(v["cases"][1]["failure"]["requirements"][0]["requirement"], "R-REG-2");
        assert_eq!(v["cases"][1]["failure"]["line"], 9);
        assert_eq!(v["cases"][2]["skip_reason"], "needs M");
    }

    #[test]
    fn junit_is_well_formed_and_counts_match() {
        let xml = junit_report("127.0.0.1:7777", &sample()).unwrap();
        let mut reader = quick_xml::Reader::from_str(&xml);
        let (mut testcases, mut failures, mut skipped) = (0, 0, 0);
        loop {
            match reader.read_event().expect("well-formed XML") {
                quick_xml::events::Event::Eof => break,
                quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => match e.name().as_ref() {
                    b"testcase" => testcases += 1,
                    b"failure" => failures += 1,
                    b"skipped" => skipped += 1,
                    _ => {}
                },
                _ => {}
            }
        }
        assert_eq!((testcases, failures, skipped), (3, 1, 1));
        assert!(xml.contains("failures=\"1\""));
        assert!(xml.contains("A &lt;title&gt; &amp; more"));
        assert!(!xml.contains('\u{1b}'), "control characters never reach the XML");
    }

    #[test]
    fn text_lines_and_the_closing_counts() {
        let rs = sample();
        assert!(case_line(&rs[0]).starts_with("pass     MC-A-001"));
        assert!(case_text(&rs[1]).contains("requirement R-REG-2 (MUST): \"sends WELCOME\""));
        assert!(case_line(&rs[2]).ends_with("— needs M"));
        let s = summary_text(&Summary::of(&rs));
        assert!(s.ends_with("1 passed, 1 failed, 1 skipped\n"), "{s}");
        assert!(s.contains("does not conform"));
    }
}
