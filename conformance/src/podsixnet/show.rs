//! PodSixNet values as people read them: Python's literal syntax, as SPEC.md §16 writes frames
//! (`{"action": "message", "message": "hi", …}`), for transcripts and failure messages.
//!
//! Strings are shown between double quotes with their characters as they are; the transcript
//! and failure messages then escape control characters and invalid bytes the way they escape
//! lines (`\t`, `\0`, `\xHH`), so a frame and a line that hold the same text look the same.

use std::fmt::Write as _;

use minichat_protocol::podsixnet::{Value, decode};

/// `value` in Python's literal syntax.
pub fn show(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// A received payload: the value it holds, or — when it is not rencode — its bytes followed by
/// the terminator, so the transcript shows exactly what arrived.
pub fn show_payload(payload: &[u8]) -> Vec<u8> {
    match decode(payload) {
        Ok(value) => show(&value).into_bytes(),
        Err(_) => {
            let mut raw = payload.to_vec();
            raw.extend_from_slice(b"\0---\0");
            raw
        }
    }
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::None => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::BigInt(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float32(x) => {
            let _ = write!(out, "{x:?}");
        }
        Value::Float64(x) => {
            let _ = write!(out, "{x:?}");
        }
        Value::Str(s) => {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        Value::Bytes(b) => {
            out.push_str("b\"");
            out.push_str(&String::from_utf8_lossy(b));
            out.push('"');
        }
        Value::List(items) => write_items(out, "[", items, "]"),
        Value::Tuple(items) if items.len() == 1 => write_items(out, "(", items, ",)"),
        Value::Tuple(items) => write_items(out, "(", items, ")"),
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.entries().iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, k);
                out.push_str(": ");
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

fn write_items(out: &mut String, open: &str, items: &[Value], close: &str) {
    out.push_str(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_value(out, item);
    }
    out.push_str(close);
}

#[cfg(test)]
mod tests {
    use minichat_protocol::podsixnet::{Dict, encode};

    use super::*;

    #[test]
    fn frames_look_like_spec_md_writes_them() {
        let mut d = Dict::new();
        d.insert_str("action", "message");
        d.insert_str("n", Value::Int(-3));
        d.insert_str("items", Value::List(vec![Value::None, Value::Bool(true), Value::Tuple(vec![Value::Int(1)])]));
        assert_eq!(show(&Value::Dict(d)), r#"{"action": "message", "n": -3, "items": [None, True, (1,)]}"#);
    }

    #[test]
    fn a_payload_that_is_not_rencode_is_shown_as_its_bytes_and_terminator() {
        assert_eq!(show_payload(b"\x2d"), b"\x2d\0---\0");
        let payload = encode(&Value::Str("hi".into())).unwrap();
        assert_eq!(show_payload(&payload), b"\"hi\"");
    }
}
