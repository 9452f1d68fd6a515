//! Value → payload bytes, exactly as PodSixNet's `rencode.dumps` writes them.
//!
//! rencode picks the shortest form by itself (a typecode with the length or the number folded
//! in, then wider forms), so for a given [`Value`] there is one byte string and we produce it:
//! the vectors in `tests/data/podsixnet` check every form against the real library. The float
//! width is not chosen here but carried by the value ([`Value::Float32`] is what `Channel.Send`
//! sends).
//!
//! The encoder refuses two things `dumps` would write, because a PodSixNet receiver could not
//! take them back (see [`EncodeError`]). It does not frame: see [`super::frame`], which refuses
//! the payloads that PodSixNet's framing would cut in the wrong place.

use super::decode::MAX_DEPTH;
use super::typecode as tc;
use super::value::Value;

/// Why a value is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// More nested containers than a receiver accepts; our own decoder would refuse it.
    #[error("value nests more than {max} containers deep; receivers refuse it")]
    TooDeep {
        /// The limit, [`MAX_DEPTH`].
        max: usize,
    },
    /// PodSixNet decodes every string as UTF-8, so this would make the peer raise
    /// `UnicodeDecodeError` and close the connection.
    #[error(
        "bytes value is not UTF-8 (byte {valid_up_to} is invalid); PodSixNet peers decode every \
         string as UTF-8 and would drop the connection"
    )]
    BytesNotUtf8 {
        /// Length of the valid UTF-8 prefix.
        valid_up_to: usize,
    },
}

/// Encodes `value` as `rencode.dumps` does (no terminator).
pub fn encode(value: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_into(value, &mut out)?;
    Ok(out)
}

/// Appends the encoding of `value` to `out`; on error `out` is left as it was.
pub fn encode_into(value: &Value, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let written = write_value(value, 0, out);
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// `depth` counts the containers around `value`, as in the decoder.
fn write_value(value: &Value, depth: usize, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match value {
        Value::None => out.push(tc::NONE),
        Value::Bool(true) => out.push(tc::TRUE),
        Value::Bool(false) => out.push(tc::FALSE),
        Value::Int(n) => write_int(*n, out),
        Value::BigInt(n) => {
            // BigInt guarantees canonical text shorter than rencode's 64-character limit.
            out.push(tc::INT);
            out.extend_from_slice(n.as_str().as_bytes());
            out.push(tc::TERM);
        }
        Value::Float32(x) => {
            out.push(tc::FLOAT32);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Float64(x) => {
            out.push(tc::FLOAT64);
            out.extend_from_slice(&x.to_be_bytes());
        }
        Value::Str(s) => write_str(s.as_bytes(), out),
        Value::Bytes(b) => {
            std::str::from_utf8(b).map_err(|e| EncodeError::BytesNotUtf8 { valid_up_to: e.valid_up_to() })?;
            write_str(b, out);
        }
        Value::List(items) => {
            let depth = enter(depth)?;
            write_seq(items, tc::LIST_FIXED_START, tc::LIST_FIXED_COUNT, tc::LIST, depth, out)?;
        }
        Value::Tuple(items) => {
            let depth = enter(depth)?;
            let (start, count) = (tc::TUPLE_FIXED_START, tc::TUPLE_FIXED_COUNT);
            write_seq(items, start, count, tc::TUPLE, depth, out)?;
        }
        Value::Dict(dict) => {
            let depth = enter(depth)?;
            let fixed = write_header(dict.len(), tc::DICT_FIXED_START, tc::DICT_FIXED_COUNT, tc::DICT, out);
            for (k, v) in dict.entries() {
                write_value(k, depth, out)?;
                write_value(v, depth, out)?;
            }
            if !fixed {
                out.push(tc::TERM);
            }
        }
    }
    Ok(())
}

fn enter(depth: usize) -> Result<usize, EncodeError> {
    if depth >= MAX_DEPTH {
        return Err(EncodeError::TooDeep { max: MAX_DEPTH });
    }
    Ok(depth + 1)
}

/// rencode's `encode_int`: the smallest of the embedded, 1-, 2-, 4- and 8-byte forms.
fn write_int(n: i64, out: &mut Vec<u8>) {
    let embedded = |x: i64, count: usize| u8::try_from(x).ok().filter(|b| usize::from(*b) < count);
    if let Some(small) = embedded(n, tc::INT_POS_FIXED_COUNT) {
        out.push(tc::INT_POS_FIXED_START + small);
    } else if let Some(neg) = n.checked_neg().and_then(|m| embedded(m - 1, tc::INT_NEG_FIXED_COUNT)) {
        // -1 → 0x46 … -32 → 0x65.
        out.push(tc::INT_NEG_FIXED_START + neg);
    } else if let Ok(n) = i8::try_from(n) {
        out.push(tc::INT1);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = i16::try_from(n) {
        out.push(tc::INT2);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = i32::try_from(n) {
        out.push(tc::INT4);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(tc::INT8);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Short strings carry their byte length in the typecode, longer ones are `<len>:` then bytes.
/// The length counts UTF-8 bytes, not characters.
fn write_str(bytes: &[u8], out: &mut Vec<u8>) {
    match u8::try_from(bytes.len()) {
        Ok(len) if usize::from(len) < tc::STR_FIXED_COUNT => out.push(tc::STR_FIXED_START + len),
        _ => {
            out.extend_from_slice(bytes.len().to_string().as_bytes());
            out.push(b':');
        }
    }
    out.extend_from_slice(bytes);
}

fn write_seq(
    items: &[Value],
    fixed_start: u8,
    fixed_count: usize,
    open: u8,
    depth: usize,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    let fixed = write_header(items.len(), fixed_start, fixed_count, open, out);
    for item in items {
        write_value(item, depth, out)?;
    }
    if !fixed {
        out.push(tc::TERM);
    }
    Ok(())
}

/// Writes the length-in-typecode form when `len < fixed_count` (returns true), else the opening
/// typecode of the 0x7f-terminated form (returns false; the caller closes it).
fn write_header(len: usize, fixed_start: u8, fixed_count: usize, open: u8, out: &mut Vec<u8>) -> bool {
    match u8::try_from(len) {
        Ok(n) if len < fixed_count => {
            out.push(fixed_start + n);
            true
        }
        _ => {
            out.push(open);
            false
        }
    }
}
