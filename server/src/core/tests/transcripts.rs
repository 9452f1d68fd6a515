//! SPEC.md §17's example transcripts replayed against the core, so that the spec's examples and
//! the reference server cannot drift apart.
//!
//! Each `name> line` is sent on that connection (opened when the name first appears); each
//! `name< line` must be the next line that connection receives — exactly, including the
//! reference server's `ERROR` texts. When an expected line has not arrived, time moves to the
//! core's next deadline (17.4 needs T_idle and T_ping to pass), at most ten minutes in all. At
//! the end of a transcript no connection may have received anything the transcript does not show.
//!
//! One liberty: the token of an idle `PING` is the server's choice (R-TIME-3), and 17.4 shows
//! frank's PING before erin's although erin, who registered first, falls idle first; so a server
//! `PING` matches any token (see the report on SPEC.md 17.4).

use super::*;

struct Step {
    conn: String,
    from_client: bool,
    line: String,
    at: usize,
}

struct Transcript {
    title: String,
    steps: Vec<Step>,
}

fn transcripts(spec: &str) -> Vec<Transcript> {
    let mut found = Vec::new();
    let mut title = String::new();
    let mut current: Option<Vec<Step>> = None;
    for (i, line) in spec.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, l) if l.starts_with("### ") => title = l[4..].to_owned(),
            (None, "```transcript") => current = Some(Vec::new()),
            (Some(_), "```") => found.push(Transcript { title: title.clone(), steps: current.take().unwrap() }),
            (Some(steps), l) => {
                let split = l.find(['<', '>']).unwrap_or_else(|| panic!("SPEC.md:{}: no direction", i + 1));
                let line = l[split + 1..].strip_prefix(' ').unwrap_or_else(|| panic!("SPEC.md:{}: no space", i + 1));
                steps.push(Step {
                    conn: l[..split].to_owned(),
                    from_client: l.as_bytes()[split] == b'>',
                    line: line.to_owned(),
                    at: i + 1,
                });
            }
            (None, _) => {}
        }
    }
    found
}

fn matches(expected: &str, got: &str) -> bool {
    match expected.strip_prefix("PING ") {
        Some(_) => got.starts_with("PING "),
        None => expected == got,
    }
}

fn replay(transcript: &Transcript) {
    let mut d = Driver::new();
    let mut names: Vec<&str> = Vec::new();
    for step in &transcript.steps {
        let name = step.conn.as_str();
        if !names.contains(&name) {
            names.push(name);
            d.connect(name);
        }
        if step.from_client {
            d.send(name, &step.line);
            continue;
        }
        let mut waited = Duration::ZERO;
        let got = loop {
            if let Some(line) = d.next_line(name) {
                break line;
            }
            let before = d.elapsed();
            assert!(
                waited < secs(600) && d.advance_to_next_deadline(),
                "SPEC.md:{} ({}): {name} never received {:?}",
                step.at,
                transcript.title,
                step.line
            );
            waited += d.elapsed() - before;
        };
        assert!(
            matches(&step.line, &got),
            "SPEC.md:{} ({}): {name} should receive {:?}, got {got:?}",
            step.at,
            transcript.title,
            step.line
        );
    }
    for name in names {
        let extra = d.take(name);
        assert!(
            extra.is_empty(),
            "{}: {name} received lines the transcript does not show: {extra:?}",
            transcript.title
        );
    }
}

fn spec_transcripts() -> Vec<Transcript> {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../SPEC.md")).expect("SPEC.md");
    let found = transcripts(&spec);
    assert_eq!(found.len(), 4, "SPEC.md §17 holds four transcripts");
    found
}

#[test]
fn transcript_17_1_registration_a_conversation_a_quit() {
    let all = spec_transcripts();
    assert!(all[0].title.starts_with("17.1 "), "{}", all[0].title);
    replay(&all[0]);
}

#[test]
fn transcript_17_2_refused_nicks_then_success() {
    let all = spec_transcripts();
    assert!(all[1].title.starts_with("17.2 "), "{}", all[1].title);
    replay(&all[1]);
}

#[test]
fn transcript_17_3_errors_that_keep_the_connection_usable() {
    let all = spec_transcripts();
    assert!(all[2].title.starts_with("17.3 "), "{}", all[2].title);
    replay(&all[2]);
}

#[test]
fn transcript_17_4_a_lost_connection_and_an_idle_client() {
    let all = spec_transcripts();
    assert!(all[3].title.starts_with("17.4 "), "{}", all[3].title);
    replay(&all[3]);
}
