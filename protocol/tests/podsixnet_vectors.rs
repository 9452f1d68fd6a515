//! The PodSixNet profile against the real library: `tests/data/podsixnet/vectors.json` was produced
//! by PodSixNet 0.11.0 itself (see the README next to it). Every valid vector must decode to what
//! `rencode.loads` returned and encode to exactly the bytes `rencode.dumps` and `Channel.Send`
//! produced; every invalid frame must be refused with the error chosen for its class; the lenient
//! inputs must behave as the `podsixnet` module doc says. Then properties: round-trips, no panics,
//! bounded framing that does not depend on how the stream is chunked.

use minichat_protocol::podsixnet::{
    self, BigInt, DEFAULT_MAX_PAYLOAD, DecodeErrorKind, Dict, DictKeyError, EncodeError, FrameTooLong, Framer,
    IntError, MAX_DEPTH, TERMINATOR, UnframeablePayload, Value, decode, encode, frame,
};
use proptest::prelude::*;
use serde_json::Value as Json;

const VECTORS: &str = include_str!("data/podsixnet/vectors.json");

fn vectors() -> Json {
    serde_json::from_str(VECTORS).expect("vectors.json is JSON")
}

fn list<'a>(doc: &'a Json, key: &str) -> &'a Vec<Json> {
    doc[key].as_array().unwrap_or_else(|| panic!("vectors.json has no {key} list"))
}

fn field<'a>(v: &'a Json, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn unhex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The vectors' tagged JSON as a Value. `float_bits` says how Python floats were sent.
fn from_json(j: &Json, float_bits: u32) -> Value {
    let float = |x: f64| match float_bits {
        32 => Value::float32_from_f64(x).expect("vector floats fit float32"),
        _ => Value::Float64(x),
    };
    match j {
        Json::Null => Value::None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => float(n.as_f64().expect("number")),
        },
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(items) => Value::List(items.iter().map(|i| from_json(i, float_bits)).collect()),
        Json::Object(o) => match o.iter().next() {
            Some((tag, inner)) if o.len() == 1 && tag.starts_with('$') => match tag.as_str() {
                "$tuple" => Value::Tuple(
                    inner.as_array().expect("$tuple list").iter().map(|i| from_json(i, float_bits)).collect(),
                ),
                "$int" => Value::int_from_decimal(inner.as_str().expect("$int text")).expect("$int decimal"),
                "$float" => float(match inner.as_str() {
                    Some("inf") => f64::INFINITY,
                    Some("-inf") => f64::NEG_INFINITY,
                    Some("nan") => f64::NAN,
                    other => panic!("unknown $float {other:?}"),
                }),
                "$bytes" => Value::Bytes(unhex(inner.as_str().expect("$bytes hex"))),
                "$dict" => {
                    let pairs = inner
                        .as_array()
                        .expect("$dict pairs")
                        .iter()
                        .map(|p| (from_json(&p[0], float_bits), from_json(&p[1], float_bits)))
                        .collect();
                    Value::Dict(Dict::try_from_entries(pairs).expect("vector dict keys are valid"))
                }
                other => panic!("unknown tag {other}"),
            },
            // Plain objects are in wire order, and serde_json keeps it (preserve_order).
            _ => Value::Dict(
                Dict::try_from_entries(
                    o.iter().map(|(k, v)| (Value::Str(k.clone()), from_json(v, float_bits))).collect(),
                )
                .expect("str keys are distinct"),
            ),
        },
    }
}

fn float_bits(v: &Json) -> u32 {
    v["float_bits"].as_u64().map_or(32, |b| u32::try_from(b).expect("32 or 64"))
}

/// Every complete frame and error a framer yields for `stream` fed in `chunks`.
fn framed(max_payload: usize, chunks: &[&[u8]]) -> Vec<Result<Vec<u8>, FrameTooLong>> {
    let mut framer = Framer::new(max_payload);
    let mut events = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        while let Some(event) = framer.next_frame(&mut input) {
            events.push(event.map(|b| b.to_vec()));
            assert!(framer.buffered() < max_payload + TERMINATOR.len(), "buffered more than the limit");
        }
        assert!(input.is_empty(), "next_frame returned None before consuming its input");
        assert!(framer.buffered() < max_payload + TERMINATOR.len(), "buffered more than the limit");
    }
    events
}

// ---------------------------------------------------------------------------------------------
// The reference vectors

#[test]
fn the_vector_file_is_complete() {
    let doc = vectors();
    assert_eq!(doc["meta"]["podsixnet_version"], "0.11.0");
    assert_eq!(doc["meta"]["terminator_hex"], hex(&TERMINATOR));
    assert_eq!(doc["meta"]["float_bits_default"], 32);
    for (key, n) in [("vectors", 105), ("invalid", 27), ("lenient", 17), ("encode_errors", 4)] {
        assert_eq!(list(&doc, key).len(), n, "{key}");
        assert_eq!(doc["meta"]["counts"][key], n, "{key}");
    }
}

#[test]
fn every_vector_decodes_to_what_rencode_loads_returned() {
    let doc = vectors();
    for v in list(&doc, "vectors") {
        let name = field(v, "name");
        let decoded = decode(&unhex(field(v, "hex"))).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded, from_json(&v["decoded"], float_bits(v)), "{name}");
    }
}

#[test]
fn every_vector_encodes_to_exactly_the_bytes_of_rencode_dumps() {
    let doc = vectors();
    for v in list(&doc, "vectors") {
        let name = field(v, "name");
        let value = from_json(&v["value"], float_bits(v));
        let bytes = encode(&value).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(hex(&bytes), field(v, "hex"), "{name}");
    }
}

#[test]
fn every_vector_frames_to_exactly_what_channel_send_queued_unless_the_receiver_would_cut_it() {
    let doc = vectors();
    let mut refused = Vec::new();
    for v in list(&doc, "vectors") {
        let name = field(v, "name");
        let payload = unhex(field(v, "hex"));
        let frame_bytes = unhex(field(v, "frame_hex"));
        assert_eq!([&payload[..], &TERMINATOR].concat(), frame_bytes, "{name}: frame_hex is payload + terminator");
        match frame(&payload) {
            Ok(framed) => {
                assert!(!v["contains_terminator"].as_bool().unwrap(), "{name}: framed a payload PodSixNet cuts");
                assert_eq!(framed, frame_bytes, "{name}");
            }
            Err(e) => {
                assert!(v["contains_terminator"].as_bool().unwrap(), "{name}: refused a good payload: {e}");
                refused.push((name, e));
            }
        }
    }
    let offset = |s: &str| UnframeablePayload::ContainsTerminator { offset: s.len() / 2 };
    assert_eq!(
        refused,
        [
            ("str containing the frame terminator", offset("8778")),
            ("message containing the frame terminator", offset("6886616374696f6e876d657373616765876d6573736167658778")),
            ("int 2960685 = 0x002d2d2d (int4 bytes 00 2d 2d 2d)", UnframeablePayload::EndsWithTerminatorPrefix),
            ("list [2960685, 0] (contains terminator)", offset("c240")),
            ("int 0x2d2d2d000000 (int8, contains terminator)", offset("4100")),
            ("dict ending with int 2960685", UnframeablePayload::EndsWithTerminatorPrefix),
        ]
    );
}

/// `channel_events` is what a real PodSixNet `Channel` did with `frame_hex`: dispatch a message
/// (`Network`), print and ignore a value without an action (`OOB`), or fail and close (`Error`).
/// Our framer and decoder must see the same first event.
#[test]
fn framer_and_decoder_agree_with_what_a_podsixnet_channel_did() {
    let doc = vectors();
    for v in list(&doc, "vectors").iter().chain(list(&doc, "invalid")) {
        let name = field(v, "name");
        let events = framed(DEFAULT_MAX_PAYLOAD, &[&unhex(field(v, "frame_hex"))]);
        let first = events.first().unwrap_or_else(|| panic!("{name}: no frame")).as_ref().expect("fits");
        let channel = &v["channel_events"][0];
        match (channel[0].as_str(), decode(first)) {
            (Some("Network"), Ok(value)) => {
                assert!(value.action().is_some(), "{name}: PodSixNet dispatched it");
                assert_eq!(value, from_json(&channel[1], 32), "{name}");
            }
            (Some("OOB"), Ok(value)) => assert_eq!(value.action(), None, "{name}: PodSixNet ignored it"),
            (Some("Error"), Err(_)) => {}
            (event, ours) => panic!("{name}: PodSixNet did {event:?}, we got {ours:?}"),
        }
    }
}

/// One error kind per class of invalid frame, at a definite offset.
#[test]
fn every_invalid_frame_is_refused_with_the_error_for_its_class() {
    use DecodeErrorKind::*;
    let expected: &[(&str, DecodeErrorKind, usize)] = &[
        ("empty payload (terminator alone)", EmptyPayload, 0),
        ("bad typecode 0x2d '-'", UnknownTypecode(0x2d), 0),
        ("bad typecode 0x2e '.'", UnknownTypecode(0x2e), 0),
        ("bad typecode 0x2f '/'", UnknownTypecode(0x2f), 0),
        ("truncated fixed str (0x85 + 2 bytes)", Truncated, 0),
        ("truncated int1 (0x3e alone)", Truncated, 0),
        ("truncated int2", Truncated, 0),
        ("truncated int4", Truncated, 0),
        ("truncated int8", Truncated, 0),
        ("truncated float32", Truncated, 0),
        ("overlong decimal int (64 digits)", IntTooLong, 0),
        ("decimal int without 0x7f terminator", Truncated, 0),
        ("decimal int with non-digits", InvalidInt, 0),
        ("unterminated list (0x3b ...)", Truncated, 3),
        ("unterminated dict (0x3c ...)", Truncated, 4),
        ("fixed list declares 3, has 1", Truncated, 2),
        ("fixed dict missing value", Truncated, 3),
        ("trailing bytes after value", TrailingBytes, 1),
        ("invalid UTF-8 in fixed str", InvalidUtf8, 1),
        ("invalid UTF-8 in long str", InvalidUtf8, 3),
        ("long str without ':'", InvalidLength, 0),
        ("long str length beyond payload", Truncated, 0),
        ("dict with list key (unhashable)", UnhashableKey { type_name: "list" }, 1),
        ("dict with dict key (unhashable)", UnhashableKey { type_name: "dict" }, 1),
        ("nesting 5000 deep", TooDeep, MAX_DEPTH),
        ("message whose text held the terminator: first half", Truncated, 24),
        ("str encoding of b'\\xff' (dumps accepts bytes)", InvalidUtf8, 1),
    ];
    let doc = vectors();
    let invalid = list(&doc, "invalid");
    assert_eq!(invalid.len(), expected.len());
    for (v, &(name, kind, offset)) in invalid.iter().zip(expected) {
        assert_eq!(field(v, "name"), name, "vectors.json changed order or names");
        let err = decode(&unhex(field(v, "hex"))).expect_err(name);
        assert_eq!((err.kind(), err.offset()), (kind, offset), "{name}: {err}");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lenient {
    Accept,
    Reject(DecodeErrorKind, usize),
}

/// The decisions documented in the `podsixnet` module doc, one per lenient input.
#[test]
fn lenient_inputs_are_accepted_or_refused_as_documented() {
    use Lenient::*;
    let expected: &[(&str, Lenient)] = &[
        ("decimal-int form for small value", Accept),
        ("decimal int leading zero", Accept),
        ("decimal int '-0'", Accept),
        ("decimal int '+7'", Accept),
        ("decimal int with spaces", Accept),
        ("decimal int with underscore", Accept),
        ("int1 form for small value", Accept),
        ("int2 form for small value", Accept),
        ("long str form for short str", Accept),
        ("long str length with leading zero", Accept),
        ("long str length with underscore", Accept),
        ("long str length with trailing space", Accept),
        ("0x3b list form for empty list", Accept),
        ("0x3c dict form for 2-entry dict", Accept),
        ("0x3a tuple form for empty tuple", Accept),
        ("duplicate dict key (last wins)", Reject(DecodeErrorKind::DuplicateKey, 4)),
        ("float64 typecode 0x2c", Accept),
    ];
    let doc = vectors();
    let lenient = list(&doc, "lenient");
    assert_eq!(lenient.len(), expected.len());
    for (v, &(name, decision)) in lenient.iter().zip(expected) {
        assert_eq!(field(v, "name"), name, "vectors.json changed order or names");
        let payload = unhex(field(v, "hex"));
        match (decision, decode(&payload)) {
            (Accept, Ok(value)) => {
                let bits = if payload.first() == Some(&0x2c) { 64 } else { 32 };
                assert_eq!(value, from_json(&v["decoded"], bits), "{name}: decodes like loads");
                let canonical = encode(&value).expect("encodes");
                assert_eq!(hex(&canonical), field(v, "canonical_hex"), "{name}: re-encodes canonically");
            }
            (Reject(kind, offset), Err(e)) => assert_eq!((e.kind(), e.offset()), (kind, offset), "{name}"),
            (decision, got) => panic!("{name}: documented {decision:?}, got {got:?}"),
        }
    }
}

/// What `dumps` refuses cannot be built as a Value at all.
#[test]
fn what_rencode_dumps_refuses_cannot_be_built() {
    let doc = vectors();
    let cases = list(&doc, "encode_errors");
    let names: Vec<&str> = cases.iter().map(|c| field(c, "name")).collect();
    assert_eq!(
        names,
        ["int with 64 decimal digits", "negative int with 64 chars", "float too large for float32", "set"]
    );
    for c in cases {
        let repr = field(c, "python_repr");
        match field(c, "name") {
            "int with 64 decimal digits" | "negative int with 64 chars" => {
                assert_eq!(field(c, "dumps_message"), "overflow");
                assert_eq!(BigInt::new(repr), Err(IntError::TooLong { len: 64 }));
                assert_eq!(Value::int_from_decimal(repr), Err(IntError::TooLong { len: 64 }));
            }
            "float too large for float32" => {
                let x: f64 = repr.parse().expect("float repr");
                let err = Value::float32_from_f64(x).expect_err("1e39 does not fit float32");
                assert_eq!(err.value, x);
            }
            // A Python set has no Value variant: the type system refuses it.
            _ => assert_eq!(repr, "{1}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Captured traffic (shared wire_capture_chat.txt; hex copied here because CI lacks shared/)

/// Scenario 1: the server's first TCP chunk carries two messages.
#[test]
fn a_captured_chunk_with_two_messages_yields_both() {
    let chunk = unhex(concat!(
        "6786616374696f6e89636f6e6e6563746564002d2d2d00",
        "6886616374696f6e87706c617965727387706c6179657273c189616e6f6e796d6f7573002d2d2d00"
    ));
    let values: Vec<Value> =
        framed(DEFAULT_MAX_PAYLOAD, &[&chunk]).into_iter().map(|f| decode(&f.unwrap()).unwrap()).collect();
    let mut connected = Dict::new();
    connected.insert_str("action", "connected");
    let mut players = Dict::new();
    players.insert_str("action", "players");
    players.insert_str("players", vec![Value::from("anonymous")]);
    assert_eq!(values, [Value::Dict(connected), Value::Dict(players)]);
    assert_eq!(values[1].dict_get("players").and_then(Value::as_sequence).map(<[Value]>::len), Some(1));
}

/// Scenario 2: `x\0---\0y` as chat text is cut in two; both halves fail to decode, which is why
/// PodSixNet's server dropped alice, and why `frame` refuses to send it.
#[test]
fn a_captured_message_holding_the_terminator_is_cut_in_two_undecodable_halves() {
    let chunk = unhex("6886616374696f6e876d657373616765876d6573736167658778002d2d2d0079002d2d2d00");
    let frames: Vec<Vec<u8>> = framed(DEFAULT_MAX_PAYLOAD, &[&chunk]).into_iter().map(Result::unwrap).collect();
    assert_eq!(frames.len(), 2);
    assert_eq!(decode(&frames[0]).unwrap_err().kind(), DecodeErrorKind::Truncated);
    // 0x79 is a dict of 19 entries with none present.
    assert_eq!(decode(&frames[1]).unwrap_err().kind(), DecodeErrorKind::Truncated);

    let mut msg = Dict::new();
    msg.insert_str("action", "message");
    msg.insert_str("message", "x\0---\0y");
    let payload = encode(&Value::Dict(msg)).unwrap();
    assert_eq!(frame(&payload), Err(UnframeablePayload::ContainsTerminator { offset: 26 }));
}

// ---------------------------------------------------------------------------------------------
// Decoder limits and choices

fn nested(open: &[u8], depth: usize, innermost: &[u8], close: &[u8]) -> Vec<u8> {
    [open.repeat(depth), innermost.to_vec(), close.repeat(depth)].concat()
}

#[test]
fn nesting_of_100_000_containers_is_refused_without_overflowing_the_stack() {
    let openers: [(&[u8], &[u8], &[u8]); 6] = [
        (&[0xc1], &[0xc0], &[]),
        (&[0xe1], &[0xe0], &[]),
        (&[0x3b], &[], &[0x7f]),
        (&[0x3a], &[], &[0x7f]),
        (&[0x67, 0x81, b'k'], &[0x66], &[]),
        (&[0x3c, 0x00], &[0x45], &[0x7f]),
    ];
    for (open, innermost, close) in openers {
        let err = decode(&nested(open, 100_000, innermost, close)).unwrap_err();
        // Reported at the first container beyond the limit.
        assert_eq!((err.kind(), err.offset()), (DecodeErrorKind::TooDeep, MAX_DEPTH * open.len()), "{open:02x?}");
    }
}

#[test]
fn nesting_of_exactly_max_depth_containers_is_accepted_and_one_more_is_not() {
    let ok = nested(&[0xc1], MAX_DEPTH - 1, &[0xc0], &[]);
    let value = decode(&ok).unwrap();
    assert_eq!(encode(&value).unwrap(), ok);
    let too_deep = nested(&[0xc1], MAX_DEPTH, &[0xc0], &[]);
    assert_eq!(decode(&too_deep).unwrap_err().kind(), DecodeErrorKind::TooDeep);
}

/// Guards the stack budget documented on MAX_DEPTH (measured: ~40 KiB optimised, ~250 KiB not).
#[test]
fn decoding_encoding_and_dropping_at_max_depth_fit_in_a_512_kib_stack() {
    let mut cases = vec![
        nested(&[0xc1], MAX_DEPTH - 1, &[0xc0], &[]),
        nested(&[0x3b], MAX_DEPTH, &[], &[0x7f]),
        nested(&[0x67, 0x81, b'k'], MAX_DEPTH - 1, &[0x66], &[]),
        nested(&[0x3c, 0x00], MAX_DEPTH, &[0x45], &[0x7f]),
    ];
    // A dict whose key is a tuple of tuples …
    cases.push([&[0x67][..], &[0xe1; MAX_DEPTH - 2], &[0xe0, 0x45]].concat());
    let worker = std::thread::Builder::new().stack_size(512 * 1024).spawn(move || {
        for payload in cases {
            let value = decode(&payload).expect("exactly MAX_DEPTH deep");
            assert_eq!(decode(&encode(&value).expect("encodable")).expect("re-decodes"), value);
            assert_eq!(value.clone(), value);
        }
    });
    worker.expect("thread starts").join().expect("no stack overflow");
}

#[test]
fn errors_say_what_and_where() {
    let err = decode(b"\x3b\x01\x02").unwrap_err();
    assert_eq!(err.to_string(), "invalid PodSixNet payload at byte 3: the payload ends inside a value");
    let err = decode(&[0xc1; 40]).unwrap_err();
    assert_eq!(err.to_string(), "invalid PodSixNet payload at byte 32: more than 32 nested containers");
    assert_eq!(
        frame(b"\x40\x00\x2d\x2d\x2d").unwrap_err().to_string(),
        "payload ends with 00 2d 2d 2d, so the terminator would be found one byte early"
    );
}

#[test]
fn the_encoder_refuses_what_the_decoder_would_refuse_as_too_deep() {
    let mut v = Value::List(vec![]);
    for _ in 0..MAX_DEPTH {
        v = Value::List(vec![v]);
    }
    assert_eq!(encode(&v), Err(EncodeError::TooDeep { max: MAX_DEPTH }));
    let mut out = vec![1, 2, 3];
    assert!(podsixnet::encode_into(&v, &mut out).is_err());
    assert_eq!(out, [1, 2, 3], "a failed encode_into leaves the buffer as it was");
}

#[test]
fn a_huge_declared_length_is_truncation_not_an_allocation() {
    for payload in [&b"99999999999999999999999999999999:abc"[..], b"18446744073709551615:x", b"1000000000:"] {
        assert_eq!(decode(payload).unwrap_err().kind(), DecodeErrorKind::Truncated, "{payload:?}");
    }
}

#[test]
fn a_string_length_of_64_or_more_characters_is_refused() {
    // "000…05:hello" with a length text of 64, then 63 characters.
    let mut payload = vec![b'0'; 63];
    payload.extend_from_slice(b"5:hello");
    assert_eq!(decode(&payload).unwrap_err().kind(), DecodeErrorKind::InvalidLength);
    assert_eq!(decode(&payload[1..]).unwrap(), Value::from("hello"), "63 characters are fine");
}

#[test]
fn decimal_int_text_is_read_like_python_int() {
    let cases: &[(&[u8], Value)] = &[
        (b"\x3d\t-0042\n\x7f", Value::Int(-42)),
        (b"\x3d9_223_372_036_854_775_808\x7f", Value::int_from_decimal("9223372036854775808").unwrap()),
        (b"\x3d-9223372036854775808\x7f", Value::Int(i64::MIN)),
        (b"\x3d000000000000000000000000000000000000000000000000000000000000001\x7f", Value::Int(1)),
    ];
    for (payload, expected) in cases {
        assert_eq!(&decode(payload).unwrap(), expected, "{payload:?}");
    }
    for bad in [&b"\x3d\x7f"[..], b"\x3d-\x7f", b"\x3d1__0\x7f", b"\x3d0x10\x7f", b"\x3d1.5\x7f"] {
        assert_eq!(decode(bad).unwrap_err().kind(), DecodeErrorKind::InvalidInt, "{bad:?}");
    }
}

#[test]
fn keys_that_python_considers_equal_are_duplicates() {
    // {1: 'a', True: 'b'}, {1: 'a', 1.0: 'b'}, {(1,): 'a', (True,): 'b'}, {2**70: 0, 2.0**70: 1}
    let cases: &[&[u8]] = &[
        b"\x68\x01\x81a\x43\x81b",
        b"\x68\x01\x81a\x2c\x3f\xf0\x00\x00\x00\x00\x00\x00\x81b",
        b"\x68\xe1\x01\x81a\xe1\x43\x81b",
        b"\x68\x3d1180591620717411303424\x7f\x00\x2c\x44\x50\x00\x00\x00\x00\x00\x00\x01",
    ];
    for payload in cases {
        assert_eq!(decode(payload).unwrap_err().kind(), DecodeErrorKind::DuplicateKey, "{payload:?}");
    }
    // But 1 and '1', or 1 and 1.5, or two NaNs (separately decoded NaNs are unequal) are not.
    for payload in [
        &b"\x68\x01\x00\x81\x31\x00"[..],
        b"\x68\x01\x00\x42\x3f\xc0\x00\x00\x00",
        b"\x68\x42\x7f\xc0\x00\x00\x00\x42\x7f\xc0\x00\x00\x00",
    ] {
        assert!(decode(payload).is_ok(), "{payload:?}");
    }
}

#[test]
fn a_tuple_key_holding_a_list_is_unhashable() {
    let err = decode(b"\x67\xe1\xc0\x00").unwrap_err();
    assert_eq!((err.kind(), err.offset()), (DecodeErrorKind::UnhashableKey { type_name: "list" }, 1));
}

// ---------------------------------------------------------------------------------------------
// Values and the message profile

#[test]
fn action_is_what_podsixnet_dispatches_on() {
    let mut msg = Dict::new();
    msg.insert_str("action", "nickname");
    msg.insert_str("nickname", "bob");
    let msg = Value::Dict(msg);
    assert_eq!(msg.action(), Some("nickname"));
    assert_eq!(msg.dict_get("nickname").and_then(Value::as_str), Some("bob"));

    let mut numeric = Dict::new();
    numeric.insert_str("action", 1);
    assert_eq!(Value::Dict(numeric).action(), None, "PodSixNet raises TypeError on a non-str action");
    assert_eq!(Value::from("action").action(), None, "not a dict: OOB");
    assert_eq!(Value::Dict(Dict::new()).action(), None, "no action: OOB");
}

#[test]
fn dict_insert_replaces_in_place_like_python() {
    let mut d = Dict::new();
    assert_eq!(d.insert(1, "a"), Ok(None));
    assert_eq!(d.insert("k", "b"), Ok(None));
    assert_eq!(d.insert(true, "c"), Ok(Some(Value::from("a"))), "True == 1");
    assert_eq!(d.insert(Value::Float64(1.0), "d"), Ok(Some(Value::from("c"))), "1.0 == 1");
    assert_eq!(d.entries()[0], (Value::Int(1), Value::from("d")), "first key and place kept");
    assert_eq!(d.get(&Value::Bool(true)), Some(&Value::from("d")));
    assert_eq!(d.insert(Value::List(vec![]), 0), Err(DictKeyError::Unhashable { type_name: "list" }));
    assert_eq!(
        Dict::try_from_entries(vec![(Value::from("a"), Value::None), (Value::Bytes(b"a".to_vec()), Value::None)]),
        Err(DictKeyError::Duplicate),
        "str and bytes keys with the same bytes collide on the receiver"
    );
}

#[test]
fn bytes_are_sent_like_str_and_come_back_as_str() {
    let sent = encode(&Value::Bytes(b"abc".to_vec())).unwrap();
    assert_eq!(sent, encode(&Value::from("abc")).unwrap());
    assert_eq!(decode(&sent).unwrap(), Value::from("abc"));
    assert_eq!(encode(&Value::Bytes(vec![b'a', 0xff])), Err(EncodeError::BytesNotUtf8 { valid_up_to: 1 }));
}

#[test]
fn float32_conversion_rounds_like_struct_pack() {
    assert_eq!(Value::float32_from_f64(0.1), Ok(Value::Float32(0.1)));
    assert_eq!(Value::float32_from_f64(f64::INFINITY), Ok(Value::Float32(f32::INFINITY)));
    // Rounds down to f32::MAX rather than overflowing.
    assert_eq!(Value::float32_from_f64(3.4028235e38), Ok(Value::Float32(f32::MAX)));
    assert!(Value::float32_from_f64(3.5e38).is_err());
    assert_eq!(Value::Float32(f32::NAN), Value::Float32(f32::NAN), "wire equality: same bits");
    assert_ne!(Value::Float32(0.0), Value::Float32(-0.0));
}

#[test]
fn big_ints_are_canonical_and_outside_i64() {
    assert_eq!(BigInt::new("9223372036854775807"), Err(IntError::FitsI64));
    assert_eq!(BigInt::new("09223372036854775808"), Err(IntError::NotCanonical));
    assert_eq!(BigInt::new("-0"), Err(IntError::NotCanonical));
    assert_eq!(BigInt::new("+9223372036854775808"), Err(IntError::NotCanonical));
    let n = BigInt::new("-9223372036854775809").unwrap();
    assert_eq!(n.to_i128(), Some(-9_223_372_036_854_775_809));
    assert_eq!(Value::from(i128::MAX), Value::BigInt(BigInt::new(&i128::MAX.to_string()).unwrap()));
    assert_eq!(Value::from(u64::MAX), Value::BigInt(BigInt::new("18446744073709551615").unwrap()));
    assert_eq!(Value::from(-5i128), Value::Int(-5));
}

// ---------------------------------------------------------------------------------------------
// Framing

#[test]
fn framer_cuts_at_the_first_terminator_like_asynchat() {
    let stream = b"ab\0---\0\0---\0c\0-\0---\0";
    let frames = framed(16, &[stream]);
    assert_eq!(frames, [Ok(b"ab".to_vec()), Ok(vec![]), Ok(b"c\0-".to_vec())]);
}

#[test]
fn a_payload_of_exactly_max_payload_bytes_is_accepted() {
    let stream = [&[b'x'; 8][..], &TERMINATOR].concat();
    assert_eq!(framed(8, &[&stream]), [Ok(vec![b'x'; 8])]);
    assert_eq!(framed(7, &[&stream]), [Err(FrameTooLong { max_payload: 7 })]);
}

#[test]
fn an_overlong_payload_is_reported_once_then_the_stream_resyncs_after_its_terminator() {
    let mut stream = vec![b'x'; 1000];
    stream.extend_from_slice(&TERMINATOR);
    stream.extend_from_slice(b"ok\0---\0");
    for chunk_size in [1, 3, 7, 64, 2000] {
        let chunks: Vec<&[u8]> = stream.chunks(chunk_size).collect();
        assert_eq!(framed(10, &chunks), [Err(FrameTooLong { max_payload: 10 }), Ok(b"ok".to_vec())], "{chunk_size}");
    }
}

#[test]
fn an_overlong_payload_whose_terminator_straddles_the_limit_resyncs_at_that_terminator() {
    // Payload of max + 1 bytes ending in \0--- so that the buffer fills mid-terminator.
    let stream = b"abcd\0---\0next\0---\0";
    assert_eq!(framed(4, &[stream]), [Ok(b"abcd".to_vec()), Ok(b"next".to_vec())]);
    let stream = b"abcde\0---\0next\0---\0";
    assert_eq!(framed(4, &[stream]), [Err(FrameTooLong { max_payload: 4 }), Ok(b"next".to_vec())]);
}

#[test]
fn an_unfinished_payload_stays_buffered_until_its_terminator_arrives() {
    let mut framer = Framer::new(100);
    let mut input: &[u8] = b"\x81a\0--";
    assert!(framer.next_frame(&mut input).is_none());
    assert_eq!(framer.buffered(), 5);
    let mut input: &[u8] = b"-\0";
    assert_eq!(framer.next_frame(&mut input), Some(Ok(bytes::Bytes::from_static(b"\x81a"))));
    assert_eq!(framer.buffered(), 0);
}

/// Cuts `stream` like asynchat, with a size limit: the reference the framer must match.
fn reference_frames(stream: &[u8], max_payload: usize) -> Vec<Result<Vec<u8>, FrameTooLong>> {
    let too_long = Err(FrameTooLong { max_payload });
    let mut events = Vec::new();
    let mut rest = stream;
    loop {
        match rest.windows(TERMINATOR.len()).position(|w| w == TERMINATOR) {
            Some(end) => {
                events.push(if end <= max_payload { Ok(rest[..end].to_vec()) } else { too_long.clone() });
                rest = &rest[end + TERMINATOR.len()..];
            }
            None => {
                // An unterminated tail is reported only once it cannot fit any more.
                if rest.len() >= max_payload + TERMINATOR.len() {
                    events.push(too_long);
                }
                return events;
            }
        }
    }
}

/// Streams rich in partial terminators: segments of \0, - and x, some joined by terminators.
fn stream_strategy() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![Just(0u8), Just(b'-'), Just(b'x')];
    let segment = (prop::collection::vec(byte, 0..24), any::<bool>()).prop_map(|(mut bytes, terminated)| {
        if terminated {
            bytes.extend_from_slice(&TERMINATOR);
        }
        bytes
    });
    prop::collection::vec(segment, 0..12).prop_map(|segments| segments.concat())
}

fn split_at_all<'a>(stream: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for p in points {
        chunks.push(&stream[from..p]);
        from = p;
    }
    chunks.push(&stream[from..]);
    chunks
}

// ---------------------------------------------------------------------------------------------
// Properties

fn key_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        (-40i64..300).prop_map(Value::Int),
        any::<u32>().prop_map(|b| Value::Float32(f32::from_bits(b))),
        "[a-z]{0,3}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| prop::collection::vec(inner, 0..3).prop_map(Value::Tuple))
}

fn value_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::None),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-200i64..70_000).prop_map(Value::Int),
        "-?[1-9][0-9]{18,61}".prop_map(|s| Value::int_from_decimal(&s).expect("canonical, short")),
        any::<u32>().prop_map(|b| Value::Float32(f32::from_bits(b))),
        any::<u64>().prop_map(|b| Value::Float64(f64::from_bits(b))),
        any::<String>().prop_map(Value::Str),
        "[\\x00-\\x7f]{60,70}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(5, 200, 40, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..40).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..40).prop_map(Value::Tuple),
            prop::collection::vec((key_strategy(), inner), 0..30).prop_map(|pairs| {
                let mut d = Dict::new();
                for (k, v) in pairs {
                    d.insert(k, v).expect("hashable keys");
                }
                Value::Dict(d)
            }),
        ]
    })
}

/// Byte soup biased towards typecodes and structure, to get past the first byte.
fn typecode_soup() -> impl Strategy<Value = Vec<u8>> {
    let interesting: Vec<u8> = [
        &[0x00, 0x01, 0x2b, 0x2c, 0x2d, 0x2f, b'0', b'5', b'9', b':', b'_', b' ', b'-', b'+'][..],
        &[0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x65],
        &[0x66, 0x67, 0x68, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xff],
        &[b'a', 0xc3, 0xa9, 0xf0, 0x9f],
    ]
    .concat();
    prop::collection::vec(prop::sample::select(interesting), 0..64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoding_an_encoded_value_gives_it_back(value in value_strategy()) {
        let bytes = encode(&value).expect("generated values are encodable");
        prop_assert_eq!(decode(&bytes).expect("our encoding decodes"), value);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_what_decodes_re_encodes_to_the_same_value(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(value) = decode(&bytes) {
            let canonical = encode(&value).expect("decoded values are encodable");
            prop_assert_eq!(decode(&canonical).expect("canonical form decodes"), value);
        }
    }

    #[test]
    fn typecode_soup_never_panics_and_what_decodes_re_encodes_to_the_same_value(bytes in typecode_soup()) {
        if let Ok(value) = decode(&bytes) {
            let canonical = encode(&value).expect("decoded values are encodable");
            prop_assert_eq!(decode(&canonical).expect("canonical form decodes"), value);
        }
    }

    #[test]
    fn mutated_vectors_never_panic(index in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), byte in any::<u8>(), op in 0u8..3) {
        let doc = vectors();
        let all = list(&doc, "vectors");
        let mut bytes = unhex(field(&all[index.index(all.len())], "hex"));
        let i = at.index(bytes.len() + 1);
        match op {
            0 if i < bytes.len() => bytes[i] = byte,
            1 => bytes.insert(i, byte),
            _ if i < bytes.len() => { bytes.remove(i); }
            _ => {}
        }
        if let Ok(value) = decode(&bytes) {
            prop_assert!(encode(&value).is_ok());
        }
    }

    #[test]
    fn framing_does_not_depend_on_how_the_stream_is_chunked(
        stream in stream_strategy(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        max_payload in 0usize..20,
    ) {
        let whole = framed(max_payload, &[&stream]);
        let chunks = split_at_all(&stream, &cuts);
        prop_assert_eq!(&framed(max_payload, &chunks), &whole);
        let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
        prop_assert_eq!(&framed(max_payload, &bytewise), &whole);
        prop_assert_eq!(&whole, &reference_frames(&stream, max_payload));
    }

    #[test]
    fn a_framed_payload_is_received_exactly_or_refused_when_the_receiver_would_cut_it(
        payload in prop::collection::vec(prop_oneof![Just(0u8), Just(b'-'), any::<u8>()], 0..40),
    ) {
        let cut_early = [&payload[..], &TERMINATOR].concat()
            .windows(TERMINATOR.len()).position(|w| w == TERMINATOR) != Some(payload.len());
        match frame(&payload) {
            Ok(bytes) => {
                prop_assert!(!cut_early);
                prop_assert_eq!(framed(payload.len(), &[&bytes]), vec![Ok(payload)]);
            }
            Err(_) => prop_assert!(cut_early),
        }
    }
}

/// The `Arbitrary` values fuzz targets get: always encodable, and they decode back unchanged.
#[cfg(feature = "arbitrary")]
#[test]
fn arbitrary_values_round_trip() {
    use arbitrary::{Arbitrary, Unstructured};
    // A fixed xorshift stream, so the test is deterministic.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2000 {
        let bytes: Vec<u8> = (0..(round % 64 + 1) * 32).map(|_| next().to_le_bytes()[0]).collect();
        let value = Value::arbitrary(&mut Unstructured::new(&bytes)).expect("enough data is not required");
        let encoded = encode(&value).unwrap_or_else(|e| panic!("round {round}: {e}: {value:?}"));
        assert_eq!(decode(&encoded).expect("decodes"), value, "round {round}");
    }
}
