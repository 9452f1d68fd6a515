//! `LineFramer` as a server uses it (SPEC.md §2), beyond the unit tests in `src/framer.rs`: the
//! default limit, one `LINE_TOO_LONG` per overlong line, and what is held between reads.
//! `tests/properties.rs` checks the same rules on arbitrary input and chunking.

use minichat_protocol::{DEFAULT_MAX_LINE, FrameError, Limits, LineFramer};

fn lines(framer: &mut LineFramer, mut input: &[u8]) -> Vec<Result<String, FrameError>> {
    let mut out = Vec::new();
    while let Some(line) = framer.next_line(&mut input) {
        out.push(line.map(str::to_owned));
    }
    out
}

#[test]
fn a_default_framer_uses_the_default_line_limit() {
    let mut framer = LineFramer::default();
    let exact = "x".repeat(DEFAULT_MAX_LINE);
    assert_eq!(lines(&mut framer, format!("hi\n{exact}\n").as_bytes()), vec![Ok("hi".into()), Ok(exact.clone())]);
    assert_eq!(
        lines(&mut framer, format!("{exact}x\n").as_bytes()),
        vec![Err(FrameError::LineTooLong { max: DEFAULT_MAX_LINE })]
    );
}

#[test]
fn each_overlong_line_is_reported_once_and_the_next_line_is_processed() {
    // R-TRANS-5: once per line, however many bytes follow; the line after the LF is normal.
    let l = 128;
    let long = "y".repeat(10 * l);
    let input = format!("{long}\n{long}\r\nok\n");
    let too_long = Err(FrameError::LineTooLong { max: l });
    let mut framer = LineFramer::new(Limits::new(l).unwrap());
    assert_eq!(lines(&mut framer, input.as_bytes()), vec![too_long.clone(), too_long.clone(), Ok("ok".into())]);
    let mut framer = LineFramer::new(Limits::new(l).unwrap());
    let mut got = Vec::new();
    for chunk in input.as_bytes().chunks(7) {
        got.extend(lines(&mut framer, chunk));
    }
    assert_eq!(got, vec![too_long.clone(), too_long, Ok("ok".into())]);
}

#[test]
fn an_overlong_line_is_reported_before_its_lf_arrives() {
    // "When a server has received more than L bytes of content without a terminator" (R-TRANS-5).
    let l = 128;
    let mut framer = LineFramer::new(Limits::new(l).unwrap());
    assert_eq!(lines(&mut framer, "z".repeat(l).as_bytes()), vec![]);
    assert_eq!(lines(&mut framer, b"z"), vec![Err(FrameError::LineTooLong { max: l })]);
    assert!(framer.has_partial_line(), "the rest of the line is still to be discarded");
    assert_eq!(framer.buffered_len(), 0);
}

#[test]
fn l_content_bytes_and_a_cr_are_held_until_the_lf_decides() {
    // The +1 of R-TRANS-6: a CR after L bytes may still be the terminator.
    let l = 128;
    let mut framer = LineFramer::new(Limits::new(l).unwrap());
    assert_eq!(lines(&mut framer, format!("{}\r", "c".repeat(l)).as_bytes()), vec![]);
    assert_eq!(framer.buffered_len(), l + 1);
    assert_eq!(lines(&mut framer, b"\n"), vec![Ok("c".repeat(l))]);
    assert_eq!(framer.buffered_len(), 0);
}

#[test]
fn an_incomplete_last_line_is_held_and_never_handed_out() {
    // R-TRANS-10/11: a line is acted on only once its terminator has arrived.
    let mut framer = LineFramer::new(Limits::DEFAULT);
    assert_eq!(lines(&mut framer, b"USERS\nQUIT"), vec![Ok("USERS".into())]);
    assert!(framer.has_partial_line());
    assert_eq!(framer.buffered_len(), 4);
    assert_eq!(lines(&mut framer, b""), vec![]);
    assert_eq!(framer.buffered_len(), 4);
}

#[test]
fn an_idle_framer_holds_nothing() {
    let mut framer = LineFramer::new(Limits::DEFAULT);
    assert_eq!((framer.buffered_len(), framer.capacity(), framer.has_partial_line()), (0, 0, false));
    assert_eq!(lines(&mut framer, b"PING 1\nPI"), vec![Ok("PING 1".into())]);
    assert!(framer.capacity() > 0);
    assert_eq!(lines(&mut framer, b"NG 2\n"), vec![Ok("PING 2".into())]);
    assert_eq!((framer.buffered_len(), framer.capacity(), framer.has_partial_line()), (0, 0, false));
}
