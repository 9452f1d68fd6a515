//! SPEC.md's example transcripts (§17) parsed line by line, so the spec cannot drift from the code.
//!
//! Every `name< …` line must parse as a server line. Every `name> …` line must either parse as a
//! client line, or fail with exactly the `ERROR` code that the transcript shows that connection
//! receiving next — the spec's examples of errors are checked against the parser's §3.1 order.

use minichat_protocol::{Limits, ServerMessage, parse_client_line, parse_server_line};

struct Step<'a> {
    conn: &'a str,
    from_client: bool,
    line: &'a str,
    at: usize,
}

fn transcripts(spec: &str) -> Vec<Vec<Step<'_>>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Step<'_>>> = None;
    for (i, line) in spec.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```transcript") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap()),
            (Some(steps), l) => {
                let split = l.find(['<', '>']).unwrap_or_else(|| panic!("SPEC.md:{}: no direction", i + 1));
                let rest = &l[split + 1..];
                assert!(rest.starts_with(' '), "SPEC.md:{}: a space must follow the direction", i + 1);
                steps.push(Step {
                    conn: &l[..split],
                    from_client: l.as_bytes()[split] == b'>',
                    line: &rest[1..],
                    at: i + 1,
                });
            }
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_transcript_line_parses_and_every_error_matches_the_reply() {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../SPEC.md")).unwrap();
    let blocks = transcripts(&spec);
    assert!(blocks.len() >= 4, "SPEC.md §17 should hold the example transcripts");
    let mut lines = 0;
    for steps in &blocks {
        for (i, step) in steps.iter().enumerate() {
            lines += 1;
            if !step.from_client {
                parse_server_line(step.line).unwrap_or_else(|e| panic!("SPEC.md:{}: {e}: {:?}", step.at, step.line));
                continue;
            }
            let Err(e) = parse_client_line(step.line, Limits::DEFAULT) else { continue };
            let reply = steps[i + 1..]
                .iter()
                .find(|s| s.conn == step.conn && !s.from_client)
                .unwrap_or_else(|| panic!("SPEC.md:{}: no reply to an erroneous line", step.at));
            match parse_server_line(reply.line) {
                Ok(ServerMessage::Error { code, .. }) => {
                    assert_eq!(code, e.kind.error_code(), "SPEC.md:{}: the reply's code", reply.at)
                }
                other => panic!("SPEC.md:{}: {:?} should be answered by ERROR, got {other:?}", step.at, step.line),
            }
        }
    }
    assert!(lines > 60);
}
