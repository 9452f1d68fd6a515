//! `client_line` and `server_line`: bytes from strangers into each line parser.
//!
//! Each input goes in twice: through [`LineFramer`] as the server (or a client) reads a socket,
//! so the parser sees only what survives framing and the UTF-8 check, and directly as one `&str`
//! (made UTF-8 lossily), terminators and all. Besides "never panics", each parse is checked
//! against oracles written from SPEC.md rather than from the parser:
//!
//! - a line with a control character is refused as `CONTROL_CHARACTER` at that character, and a
//!   line without one never is (R-TRANS-8, §3.1 step 1);
//! - a client line is `UNKNOWN_COMMAND` exactly when its command word is none of the six, in any
//!   case (R-SYN-1, §3.1 step 2); a server line exactly when its word is none of the eleven;
//! - what parses re-serializes to a line that parses to the same value: for a client line that
//!   is the input with its command word upper-cased and its argument verbatim (§3: "arguments are
//!   taken verbatim"), for a server line it is the input byte for byte (the server grammar is
//!   strict, R-SYN-2);
//! - a larger line limit accepts everything a smaller one does, and refuses more only as
//!   `TEXT_TOO_LONG` (R-MSG-3);
//! - no parse error is a fatal error code (§15: a bad line never closes the connection).

use minichat_protocol::{
    ClientMessage, Limits, LineFramer, ParseError, ParseErrorKind, find_control, parse_client_line, parse_server_line,
};

/// The limits every client line is parsed under: the smallest a server may announce (so text
/// limits are reachable with short inputs) and the reference default.
const CLIENT_LIMITS: [Limits; 2] = [Limits::MIN, Limits::DEFAULT];

const CLIENT_WORDS: [&str; 6] = ["USER", "MSG", "USERS", "PING", "PONG", "QUIT"];
const SERVER_WORDS: [&str; 11] =
    ["HELLO", "WELCOME", "USERS", "ENDUSERS", "JOIN", "MSG", "LEAVE", "PING", "PONG", "ERROR", "BYE"];

/// The `client_line` target.
pub fn client_line(data: &[u8]) {
    for limits in CLIENT_LIMITS {
        for_each_framed_line(data, limits, |line| {
            // The server ignores empty lines before parsing (R-TRANS-9).
            if !line.is_empty() {
                // Checked inside; the value itself is only needed for the comparison below.
                let _ = check_client_line(line, limits);
            }
        });
    }
    let text = String::from_utf8_lossy(data);
    let small = check_client_line(&text, Limits::MIN);
    let large = check_client_line(&text, Limits::DEFAULT);
    match (&small, &large) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?} parses differently under two line limits"),
        (Ok(a), Err(e)) => panic!("{text:?} parses as {a:?} with L = 128 but fails with L = 1024: {e}"),
        (Err(e), Ok(_)) => assert!(
            matches!(e.kind, ParseErrorKind::TextTooLong { .. }),
            "{text:?} is refused with L = 128 as {e}, but only TEXT_TOO_LONG may depend on L"
        ),
        (Err(_), Err(_)) => {}
    }
}

/// The `server_line` target.
pub fn server_line(data: &[u8]) {
    for limits in CLIENT_LIMITS {
        for_each_framed_line(data, limits, check_server_line);
    }
    check_server_line(&String::from_utf8_lossy(data));
}

/// Feeds `data` to a framer in one read and calls `f` on every complete, valid UTF-8 line.
fn for_each_framed_line(data: &[u8], limits: Limits, mut f: impl FnMut(&str)) {
    let mut framer = LineFramer::new(limits);
    let mut input = data;
    while let Some(item) = framer.next_line(&mut input) {
        if let Ok(line) = item {
            assert!(line.len() <= limits.max_line(), "the framer handed out a line over L: {line:?}");
            f(line);
        }
    }
}

/// Parses one client line and checks it against SPEC.md; returns the parse for comparisons.
pub(crate) fn check_client_line(line: &str, limits: Limits) -> Result<ClientMessage, ParseError> {
    let parsed = parse_client_line(line, limits);
    check_common_refusals(line, &parsed.as_ref().map(|_| ()).map_err(|e| *e), &CLIENT_WORDS, str::eq_ignore_ascii_case);
    match &parsed {
        Ok(message) => {
            let encoded = message.to_line();
            let content = single_line(&encoded, &format!("{message:?}"));
            assert_eq!(message.to_string(), content, "Display differs from the encoded line");
            let (word, rest) = line.split_once(' ').map_or((line, ""), |(w, r)| (w, r));
            let expected = match message {
                // `QUIT` with an empty or all-space reason is a QUIT without one (§3 `quit`).
                ClientMessage::Quit(None) => {
                    assert!(rest.bytes().all(|b| b == b' '), "{line:?} parsed as a QUIT without reason");
                    "QUIT".to_owned()
                }
                _ if line.contains(' ') => format!("{} {rest}", word.to_ascii_uppercase()),
                _ => word.to_ascii_uppercase(),
            };
            assert_eq!(content, expected, "{line:?} re-serializes as something other than itself (§3: verbatim)");
            assert!(content.len() <= limits.max_line(), "{line:?} re-serializes over L");
            assert_eq!(
                parse_client_line(content, limits).as_ref(),
                Ok(message),
                "{line:?} re-serializes as {content:?}, which parses differently"
            );
            if let ClientMessage::Msg(text) | ClientMessage::Quit(Some(text)) = message {
                assert!(text.len() <= limits.max_text(), "{line:?}: a text over L - 64 was accepted (R-MSG-3)");
            }
        }
        Err(error) => {
            if let ParseErrorKind::TextTooLong { max } = error.kind {
                assert_eq!(max, limits.max_text(), "{line:?}: TEXT_TOO_LONG names another limit");
            }
        }
    }
    parsed
}

/// Parses one server line and checks it against SPEC.md.
pub(crate) fn check_server_line(line: &str) {
    let parsed = parse_server_line(line);
    check_common_refusals(line, &parsed.as_ref().map(|_| ()).map_err(|e| *e), &SERVER_WORDS, |a, b| a == b);
    if let Ok(message) = &parsed {
        let encoded = message.to_bytes();
        let content = single_line(&encoded, &format!("{message:?}"));
        assert_eq!(content, line, "a server line re-serializes differently (the grammar is strict, R-SYN-2)");
        assert_eq!(message.to_string(), content, "Display differs from the encoded line");
        assert_eq!(parse_server_line(content).as_ref(), Ok(message), "{line:?} does not parse back to itself");
    }
}

/// The classification SPEC.md §3.1 fixes for both directions: controls first, then the word.
fn check_common_refusals(
    line: &str,
    parsed: &Result<(), ParseError>,
    words: &[&str],
    same_word: fn(&str, &str) -> bool,
) {
    let control = find_control(line);
    match (parsed, control) {
        (Err(e), Some((offset, ch))) => assert_eq!(
            (e.kind, e.offset),
            (ParseErrorKind::ControlCharacter, offset),
            "{line:?} holds control {ch:?} at {offset} but is refused as {e:?}"
        ),
        (Ok(_), Some((offset, ch))) => panic!("{line:?} holds control {ch:?} at {offset} and was accepted"),
        (Err(e), None) => {
            assert_ne!(e.kind, ParseErrorKind::ControlCharacter, "{line:?} has no control character: {e:?}");
            assert!(e.offset <= line.len(), "{line:?}: error offset {} past the end", e.offset);
            assert!(!e.kind.error_code().is_fatal(), "{line:?}: a bad line maps to a fatal code {e:?}");
            let word = line.split(' ').next().unwrap_or(line);
            let known = words.iter().any(|w| same_word(w, word));
            assert_eq!(
                e.kind == ParseErrorKind::UnknownCommand,
                !known,
                "{line:?}: word {word:?} is {} but the error is {e:?}",
                if known { "a command" } else { "no command" }
            );
        }
        (Ok(()), None) => {}
    }
}

/// The content of an encoded line: exactly one LF, at the end, and valid UTF-8.
fn single_line<'a>(encoded: &'a [u8], what: &str) -> &'a str {
    let content = encoded.strip_suffix(b"\n").unwrap_or_else(|| panic!("{what} encodes without a final LF"));
    assert!(!content.contains(&b'\n'), "{what} encodes as more than one line");
    std::str::from_utf8(content).unwrap_or_else(|_| panic!("{what} encodes as invalid UTF-8"))
}
