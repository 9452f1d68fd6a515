//! `framer`: a byte stream cut into arbitrary reads gives the same lines and errors as fed whole,
//! the same as SPEC.md §2 says it should, and never more than *L* + 1 bytes held.
//!
//! The input is a [`StreamPlan`]: the selector picks *L* among a few values near the minimum (so
//! overlong lines are short enough to find) and the default. The expected outcome is computed by a
//! direct reading of §2 that shares no code with [`LineFramer`]: split at every LF; a line's content
//! is what precedes it, minus one CR just before the LF; content over *L* is one `LINE_TOO_LONG`
//! (R-TRANS-5), then invalid UTF-8 is `INVALID_UTF8` at the first bad byte (R-TRANS-7), else the
//! line. An unterminated tail is reported as overlong once it can no longer fit (more than
//! *L* + 1 bytes, or exactly *L* + 1 not ending in CR), and otherwise waits (R-TRANS-6).

use minichat_protocol::{FrameError, Limits, LineFramer};

use crate::stream_plan::StreamPlan;

/// The line limits the selector chooses from.
const LIMITS: [usize; 4] = [128, 129, 130, 1024];

type Item = Result<Vec<u8>, FrameError>;

/// The `framer` target.
pub fn framer(data: &[u8]) {
    let Some(plan) = StreamPlan::parse(data) else { return };
    let l = LIMITS[usize::from(plan.selector) % LIMITS.len()];
    let limits = Limits::new(l).expect("the selector's limits are valid");

    let mut whole = LineFramer::new(limits);
    let from_whole = feed(&mut whole, plan.stream, l);
    let mut chunked = LineFramer::new(limits);
    let mut from_chunks = Vec::new();
    for chunk in plan.chunks() {
        from_chunks.extend(feed(&mut chunked, chunk, l));
    }
    let expected = spec_framing(plan.stream, l);
    assert_eq!(from_whole, expected, "fed whole, the framer disagrees with SPEC.md §2 (L = {l})");
    assert_eq!(from_chunks, expected, "fed in reads, the framer disagrees with itself fed whole (L = {l})");
    assert_eq!(whole.has_partial_line(), chunked.has_partial_line(), "the reads changed has_partial_line");
    assert_eq!(whole.buffered_len(), chunked.buffered_len(), "the reads changed what is buffered");
    let tail_waits = !plan.stream.is_empty() && !plan.stream.ends_with(b"\n");
    assert_eq!(whole.has_partial_line(), tail_waits, "has_partial_line is wrong after {:?}", plan.stream);
}

/// Feeds one read and returns what came out, checking the buffer bound after every call.
fn feed(framer: &mut LineFramer, mut input: &[u8], l: usize) -> Vec<Item> {
    let mut out = Vec::new();
    loop {
        let item = framer.next_line(&mut input).map(|r| r.map(|line| line.as_bytes().to_vec()));
        assert!(
            framer.buffered_len() <= l + 1,
            "the framer holds {} bytes, over L + 1 (R-TRANS-6)",
            framer.buffered_len()
        );
        match item {
            Some(item) => out.push(item),
            None => break,
        }
    }
    assert!(input.is_empty(), "next_line returned None with input left");
    out
}

/// SPEC.md §2 read directly: what a stream must produce, whatever its reads.
fn spec_framing(stream: &[u8], l: usize) -> Vec<Item> {
    let mut out = Vec::new();
    let mut rest = stream;
    while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..lf];
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        out.push(if content.len() > l {
            Err(FrameError::LineTooLong { max: l })
        } else {
            std::str::from_utf8(content)
                .map(|s| s.as_bytes().to_vec())
                .map_err(|e| FrameError::InvalidUtf8 { offset: e.valid_up_to() })
        });
        rest = &rest[lf + 1..];
    }
    if rest.len() > l + 1 || (rest.len() == l + 1 && rest.last() != Some(&b'\r')) {
        out.push(Err(FrameError::LineTooLong { max: l }));
    }
    out
}
