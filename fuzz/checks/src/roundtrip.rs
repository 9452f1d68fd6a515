//! `roundtrip`: valid values (the protocol crate's `arbitrary` feature) serialize and parse back
//! to themselves, in both directions of the line protocol and in the PodSixNet profile.
//!
//! The input is a sequence of items, each one picked by a byte: a client message, a server
//! message, a user list, or a PodSixNet value. For each:
//!
//! - a [`ClientMessage`] encodes to one line of at most *L* = 128 bytes with no control
//!   character, the framer hands that line back unchanged, and it parses to the same message
//!   under every line limit;
//! - a [`ServerMessage`] encodes to one line that parses to the same message, and the line fits
//!   the smallest *L* whatever its nicks and texts (the 64 bytes of R-MSG-3 are enough);
//! - [`encode_user_list`] of any nicks under any *L* gives `USERS` lines within *L*, each with at
//!   least one nick, then `ENDUSERS <count>`, holding exactly the nicks given, in order (R-LIST-1,
//!   R-LIST-2);
//! - a PodSixNet [`Value`] encodes, decodes to itself, re-encodes to the same bytes, and when it
//!   can be framed, the framer cuts exactly its payload back out.

use arbitrary::{Arbitrary, Unstructured};
use minichat_protocol::podsixnet::{self, Framer, TERMINATOR, UnframeablePayload, Value};
use minichat_protocol::{
    ClientMessage, Limits, LineFramer, Nick, ServerMessage, encode_user_list, find_control, parse_client_line,
    parse_server_line,
};

/// The `roundtrip` target.
pub fn roundtrip(data: &[u8]) {
    let mut u = Unstructured::new(data);
    while !u.is_empty() {
        let item = match u.choose_index(4) {
            Ok(0) => ClientMessage::arbitrary(&mut u).map(|m| client_message(&m)),
            Ok(1) => ServerMessage::arbitrary(&mut u).map(|m| server_message(&m)),
            Ok(2) => user_list(&mut u),
            Ok(_) => Value::arbitrary(&mut u).map(|v| podsixnet_value(&v)),
            Err(e) => Err(e),
        };
        if item.is_err() {
            return; // out of input
        }
    }
}

fn client_message(message: &ClientMessage) {
    let line = message.to_line();
    let content = framed_single_line(&line, Limits::MIN, &format!("{message:?}"));
    assert!(find_control(content).is_none(), "{message:?} encodes a control character");
    for limits in [Limits::MIN, Limits::DEFAULT] {
        assert_eq!(
            parse_client_line(content, limits).as_ref(),
            Ok(message),
            "{message:?} encodes as {content:?}, which parses differently"
        );
    }
}

fn server_message(message: &ServerMessage) {
    let line = message.to_bytes();
    // Every server line is built from texts of at most L - 64 bytes, and must fit in L (R-TRANS-4).
    let content = framed_single_line(&line, Limits::MIN, &format!("{message:?}"));
    assert_eq!(parse_server_line(content).as_ref(), Ok(message), "{message:?} encodes as {content:?}");
}

fn user_list(u: &mut Unstructured<'_>) -> arbitrary::Result<()> {
    let limits = Limits::arbitrary(u)?;
    let nicks: Vec<Nick> = u.arbitrary()?;
    let mut out = Vec::new();
    let count = encode_user_list(&nicks, limits, &mut out);
    assert_eq!(count, nicks.len(), "encode_user_list returned another count");
    let mut framer = LineFramer::new(limits);
    let mut input = &out[..];
    let mut listed = Vec::new();
    let mut end = None;
    while let Some(line) = framer.next_line(&mut input) {
        let line = line.unwrap_or_else(|e| panic!("a user list of {} nicks at L = {limits:?}: {e}", nicks.len()));
        assert!(end.is_none(), "a line after ENDUSERS: {line:?}");
        match parse_server_line(line) {
            Ok(ServerMessage::Users(on_line)) => listed.extend(on_line.into_vec()),
            Ok(ServerMessage::EndUsers(n)) => end = Some(n),
            other => panic!("a user list holds {line:?}, parsed as {other:?}"),
        }
    }
    assert!(framer.buffered_len() == 0 && !framer.has_partial_line(), "a user list ends without LF");
    assert_eq!(end, Some(nicks.len()), "ENDUSERS does not count the nicks (R-LIST-2)");
    assert_eq!(listed, nicks, "the USERS lines do not hold exactly the nicks, once each (R-LIST-2)");
    Ok(())
}

fn podsixnet_value(value: &Value) {
    let payload = podsixnet::encode(value).unwrap_or_else(|e| panic!("a generated value does not encode: {e}"));
    assert_eq!(podsixnet::decode(&payload).as_ref(), Ok(value), "{value:?} does not decode back from {payload:02x?}");
    match podsixnet::frame(&payload) {
        Ok(framed) => {
            let mut framer = Framer::default();
            let mut input = &framed[..];
            let frame = framer.next_frame(&mut input);
            assert_eq!(frame, Some(Ok(payload.clone().into())), "the framer cuts {framed:02x?} elsewhere");
            assert!(input.is_empty() && framer.buffered() == 0, "bytes left after one frame");
        }
        Err(UnframeablePayload::ContainsTerminator { offset }) => {
            assert_eq!(payload.get(offset..offset + TERMINATOR.len()), Some(&TERMINATOR[..]), "no terminator there");
        }
        Err(UnframeablePayload::EndsWithTerminatorPrefix) => {
            assert!(payload.ends_with(&TERMINATOR[..4]), "refused for a prefix it does not end with");
        }
    }
}

/// The content of `line`: one LF-terminated line of at most `limits` that the framer hands back.
fn framed_single_line<'a>(line: &'a [u8], limits: Limits, what: &str) -> &'a str {
    let content = line.strip_suffix(b"\n").unwrap_or_else(|| panic!("{what} encodes without a final LF"));
    assert!(!content.contains(&b'\n'), "{what} encodes as more than one line");
    assert!(content.len() <= limits.max_line(), "{what} encodes as {} bytes, over L = {limits:?}", content.len());
    let mut framer = LineFramer::new(limits);
    let mut input = line;
    let framed = framer.next_line(&mut input).map(|r| r.map(str::to_owned));
    let content = std::str::from_utf8(content).unwrap_or_else(|_| panic!("{what} encodes as invalid UTF-8"));
    assert_eq!(framed, Some(Ok(content.to_owned())), "the framer does not hand {what} back");
    assert!(input.is_empty() && framer.next_line(&mut input).is_none(), "{what}: more than one line");
    content
}
