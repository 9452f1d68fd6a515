//! `podsixnet_decode`: the rencode decoder and the `\0---\0` framer on bytes from strangers.
//!
//! The input is a [`StreamPlan`]. The whole input is decoded as one payload, and the stream is
//! fed to a [`Framer`] (limit chosen by the selector) whole and in the planned reads; every payload
//! it cuts is decoded too. Checked:
//!
//! - the framer gives the same payloads and errors however the stream is cut, the same as a direct
//!   reading of the framing rule (cut at the first terminator; a payload over the limit is one
//!   `FrameTooLong`; an unterminated tail is reported once it reaches limit + 5 bytes), and never
//!   holds more than limit + 4 bytes;
//! - a decoded value nests at most `MAX_DEPTH` containers, re-encodes (canonically, never longer
//!   than what came in), and the canonical bytes decode to the same value and re-encode to
//!   themselves; an error's offset lies inside the payload;
//! - read as a client frame (SPEC.md §16.2), a payload is a message whose dict, in either
//!   registration form, reads back as the same message, or it is refused with one of R-PSN-5's
//!   non-fatal codes; read as a server frame, what is one rebuilds into the same frame.

use minichat_protocol::podsixnet::{
    self, DEFAULT_MAX_PAYLOAD, FrameTooLong, Framer, MAX_DEPTH, NickAction, ServerFrame, TERMINATOR, Value,
    client_message, client_value, decode_client_payload,
};
use minichat_protocol::{ErrorCode, Limits};

use crate::stream_plan::StreamPlan;

/// The payload limits the selector chooses from.
const MAX_PAYLOADS: [usize; 4] = [4, 16, 64, DEFAULT_MAX_PAYLOAD];

type Item = Result<Vec<u8>, FrameTooLong>;

/// The `podsixnet_decode` target.
pub fn podsixnet_decode(data: &[u8]) {
    check_decode(data);
    let Some(plan) = StreamPlan::parse(data) else { return };
    let max = MAX_PAYLOADS[usize::from(plan.selector) % MAX_PAYLOADS.len()];

    let mut whole = Framer::new(max);
    let from_whole = feed(&mut whole, plan.stream, max);
    let mut chunked = Framer::new(max);
    let mut from_chunks = Vec::new();
    for chunk in plan.chunks() {
        from_chunks.extend(feed(&mut chunked, chunk, max));
    }
    let expected = reference_framing(plan.stream, max);
    assert_eq!(from_whole, expected, "fed whole, the framer cuts differently from PodSixNet (limit {max})");
    assert_eq!(from_chunks, expected, "fed in reads, the framer disagrees with itself fed whole (limit {max})");
    assert_eq!(whole.buffered(), chunked.buffered(), "the reads changed what is buffered");
    assert_eq!(whole.is_skipping(), chunked.is_skipping(), "the reads changed is_skipping");
    for payload in from_whole.iter().flatten() {
        check_decode(payload);
    }
}

fn feed(framer: &mut Framer, mut input: &[u8], max: usize) -> Vec<Item> {
    let mut out = Vec::new();
    while let Some(item) = framer.next_frame(&mut input) {
        assert!(framer.buffered() <= max + 4, "the framer holds {} bytes, over limit + 4", framer.buffered());
        out.push(item.map(|b| b.to_vec()));
    }
    assert!(framer.buffered() <= max + 4, "the framer holds {} bytes, over limit + 4", framer.buffered());
    assert!(input.is_empty(), "next_frame returned None with input left");
    out
}

/// What PodSixNet's framing (asynchat: cut at the first terminator) yields, with our limit.
fn reference_framing(stream: &[u8], max: usize) -> Vec<Item> {
    let mut out = Vec::new();
    let mut rest = stream;
    while let Some(at) = rest.windows(TERMINATOR.len()).position(|w| w == TERMINATOR) {
        let payload = &rest[..at];
        out.push(if payload.len() > max { Err(FrameTooLong { max_payload: max }) } else { Ok(payload.to_vec()) });
        rest = &rest[at + TERMINATOR.len()..];
    }
    if rest.len() >= max + TERMINATOR.len() {
        out.push(Err(FrameTooLong { max_payload: max }));
    }
    out
}

fn check_decode(payload: &[u8]) {
    check_client_frame(payload);
    let value = match podsixnet::decode(payload) {
        Ok(value) => value,
        Err(e) => {
            assert!(e.offset() <= payload.len(), "error offset {} past the payload's end: {e}", e.offset());
            return;
        }
    };
    assert!(depth(&value) <= MAX_DEPTH, "decoded a value nested deeper than MAX_DEPTH");
    let canonical = podsixnet::encode(&value).unwrap_or_else(|e| panic!("a decoded value does not re-encode: {e}"));
    assert!(
        canonical.len() <= payload.len(),
        "re-encoding {payload:02x?} grows it to {canonical:02x?}: relaying decoded input would amplify it"
    );
    let again = podsixnet::decode(&canonical).unwrap_or_else(|e| panic!("canonical {canonical:02x?} fails: {e}"));
    assert_eq!(again, value, "canonical {canonical:02x?} decodes to another value than {payload:02x?}");
    assert_eq!(podsixnet::encode(&again).ok(), Some(canonical), "the canonical encoding is not a fixed point");
    if let Ok(frame) = ServerFrame::from_value(&value) {
        assert_eq!(ServerFrame::from_value(&frame.to_value()), Ok(frame), "a server frame does not rebuild");
    }
}

/// The codes R-PSN-5 gives for a client frame that does not fit.
const FRAME_REFUSALS: [ErrorCode; 7] = [
    ErrorCode::BadArguments,
    ErrorCode::InvalidUtf8,
    ErrorCode::UnknownCommand,
    ErrorCode::InvalidNick,
    ErrorCode::EmptyMessage,
    ErrorCode::TextTooLong,
    ErrorCode::ControlCharacter,
];

fn check_client_frame(payload: &[u8]) {
    for limits in [Limits::MIN, Limits::DEFAULT] {
        match decode_client_payload(payload, limits) {
            Ok(message) => {
                for form in [NickAction::Username, NickAction::Nickname] {
                    let value = client_value(&message, form);
                    assert_eq!(client_message(&value, limits), Ok(message.clone()), "{value:?} reads differently");
                }
            }
            Err(rejection) => assert!(
                FRAME_REFUSALS.contains(&rejection.code),
                "a client frame refused with {:?}, which R-PSN-5 does not list",
                rejection.code
            ),
        }
    }
}

/// How many containers nest in `value` (0 for a scalar).
fn depth(value: &Value) -> usize {
    match value {
        Value::List(items) | Value::Tuple(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Dict(d) => 1 + d.entries().iter().map(|(k, v)| depth(k).max(depth(v))).max().unwrap_or(0),
        _ => 0,
    }
}
