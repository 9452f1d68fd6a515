//! `conformance_script`: arbitrary text into the conformance suite's case-file parser
//! (`conformance::syntax::parse_file`).
//!
//! Case files are written by people, so a mistake must come back as a [`SyntaxError`] that
//! points at a real line, never as a panic or a hang. Checked:
//!
//! - an error names the file it was given and a line that exists in the text, with a message;
//! - parsing is deterministic;
//! - every parsed case and step points at a line of the text, steps in file order, each step's
//!   `source` is that line as written (failure messages quote it).

use conformance::case::{Action, Block, Step};
use conformance::syntax::{SyntaxError, parse_file};

const FILE: &str = "fuzz.cases";

/// The `conformance_script` target.
pub fn conformance_script(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let lines: Vec<&str> = text.lines().collect();
    let parsed = parse_file(FILE, &text);
    assert_eq!(parse_file(FILE, &text), parsed, "parsing the same text twice gives two results");
    match parsed {
        Err(SyntaxError { file, line, message }) => {
            assert_eq!(file, FILE, "the error names another file");
            assert!(
                (1..=lines.len()).contains(&line),
                "error at line {line} of a {}-line file: {message}",
                lines.len()
            );
            assert!(!message.trim().is_empty(), "an error without a message at line {line}");
        }
        Ok(cases) => {
            for case in &cases {
                assert_eq!(case.file, FILE, "case {} names another file", case.id);
                assert!((1..=lines.len()).contains(&case.line), "case {} at line {}", case.id, case.line);
                check_steps(&case.steps, case.line, &lines);
            }
        }
    }
}

/// Each step lies after `after` and after the step before it, on a line that says what it holds.
fn check_steps(steps: &[Step], mut after: usize, lines: &[&str]) {
    for step in steps {
        assert!(
            step.line > after && step.line <= lines.len(),
            "step `{}` at line {}, after line {after} of {}",
            step.source,
            step.line,
            lines.len()
        );
        assert_eq!(step.source, lines[step.line - 1].trim(), "step at line {} quotes another text", step.line);
        after = step.line;
        match &step.action {
            Action::Repeat { body, .. } => {
                check_steps(body, step.line, lines);
                after = last_line(body).unwrap_or(after);
            }
            Action::Write { lines: block, .. } | Action::Unordered { lines: block, .. } => {
                check_block_lines(block, step.line, lines.len());
                after = last_block_line(block).unwrap_or(after);
            }
            _ => {}
        }
    }
}

fn last_line(steps: &[Step]) -> Option<usize> {
    let step = steps.last()?;
    Some(match &step.action {
        Action::Repeat { body, .. } => last_line(body).unwrap_or(step.line),
        Action::Write { lines, .. } | Action::Unordered { lines, .. } => last_block_line(lines).unwrap_or(step.line),
        _ => step.line,
    })
}

fn check_block_lines<T>(block: &[Block<T>], mut after: usize, count: usize) {
    for item in block {
        match item {
            Block::Item { line, .. } => {
                assert!(*line > after && *line <= count, "a block line at {line}, after {after} of {count}");
                after = *line;
            }
            Block::Repeat { body, .. } => {
                check_block_lines(body, after, count);
                after = last_block_line(body).unwrap_or(after);
            }
        }
    }
}

fn last_block_line<T>(block: &[Block<T>]) -> Option<usize> {
    block.iter().rev().find_map(|item| match item {
        Block::Item { line, .. } => Some(*line),
        Block::Repeat { body, .. } => last_block_line(body),
    })
}
