//! Payload bytes → [`Value`], accepting what PodSixNet's `rencode.loads` accepts, within limits.
//!
//! The input is one complete payload, as cut by the [`Framer`](super::Framer): rencode has no
//! length prefix, so only the framing knows where a message ends, and a decoder that sees the
//! whole payload can tell "truncated" from "trailing bytes" without ever waiting for more.
//!
//! Built with nom, which stays private: callers see [`DecodeError`], a reason and a byte offset.
//! The parser is a recursive descent over typecodes with an explicit depth counter, so a hostile
//! payload hits [`MAX_DEPTH`] long before the stack is in danger. No length field is trusted:
//! lengths are checked against the remaining input before anything is taken or allocated, and
//! every element consumes at least one byte, so the decoded value is linear in the payload size.
//!
//! Which non-canonical forms are accepted, and why, is in the module doc of
//! [`podsixnet`](super).

use nom::IResult;
use nom::Parser;
use nom::bytes::complete::{tag, take, take_while_m_n};
use nom::error::{ErrorKind, ParseError};
use nom::multi::{count, many_till};
use nom::number::complete::{be_f32, be_f64, be_i8, be_i16, be_i32, be_i64, be_u8};

use super::typecode as tc;
use super::value::{BigInt, Dict, DictKeyError, MAX_INT_CHARS, Value, check_hashable, check_keys};

/// The deepest nesting of containers (lists, tuples, dicts) we decode or encode.
///
/// Why 32: PodSixNet messages are a dict of fields, rarely more than a few levels deep (chat
/// uses 2), so 32 is generous for real game state. The decoder recurses once per level, about
/// 1 KiB of stack per level in release builds (about 7 KiB unoptimised), so a hostile payload
/// costs at most some 40 KiB (250 KiB in debug builds) of the 2 MiB a spawned thread or a Tokio
/// worker has. PodSixNet itself goes to about 1000 levels (Python's recursion limit, see the
/// "nesting 5000 deep" vector); with no limit, a 100 000-byte payload of `c1` bytes would
/// overflow any Rust stack. Encoding, comparing and dropping a value recurse too, and the same
/// bound covers them.
pub const MAX_DEPTH: usize = 32;

/// Why a payload is not a value, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid PodSixNet payload at byte {offset}: {kind}")]
pub struct DecodeError {
    kind: DecodeErrorKind,
    offset: usize,
}

impl DecodeError {
    /// What is wrong.
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// Where in the payload: the start of the offending value (for a missing element, the end
    /// of the payload; for bad UTF-8, the first bad byte).
    pub fn offset(&self) -> usize {
        self.offset
    }
}

/// The reasons a payload is refused. PodSixNet refuses all of these too (and closes the
/// connection), except [`TooDeep`](Self::TooDeep) below its own recursion limit and
/// [`DuplicateKey`](Self::DuplicateKey), which it merges; see the module doc of
/// [`podsixnet`](super).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// Nothing before the terminator.
    #[error("empty payload")]
    EmptyPayload,
    /// A byte that starts no value: 0x2d–0x2f, or 0x7f where a value should start.
    #[error("unknown typecode {0:#04x}")]
    UnknownTypecode(u8),
    /// The payload ends inside a value: a short fixed-width number, string or container, a
    /// missing 0x7f, or a length running past the end.
    #[error("the payload ends inside a value")]
    Truncated,
    /// Decimal integer text of 64 bytes or more (rencode's own limit).
    #[error("decimal integer of 64 or more bytes")]
    IntTooLong,
    /// Decimal integer text that Python's `int()` would not read.
    #[error("decimal integer text is not a number")]
    InvalidInt,
    /// A long string whose length is not `<decimal>:` (within 63 bytes).
    #[error("string length prefix is not `<decimal>:`")]
    InvalidLength,
    /// String bytes that are not UTF-8 (PodSixNet decodes every string as UTF-8).
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A list or dict used as a dict key (Python: `TypeError: unhashable type`).
    #[error("a {type_name} cannot be a dict key")]
    UnhashableKey {
        /// `"list"` or `"dict"`.
        type_name: &'static str,
    },
    /// A dict key equal to an earlier one.
    #[error("duplicate dict key")]
    DuplicateKey,
    /// More than [`MAX_DEPTH`] nested containers.
    #[error("more than {MAX_DEPTH} nested containers")]
    TooDeep,
    /// Bytes after a complete value.
    #[error("bytes after the end of the value")]
    TrailingBytes,
}

/// Decodes one payload (without its terminator) into exactly one value.
pub fn decode(payload: &[u8]) -> Result<Value, DecodeError> {
    let offset = |rest: &[u8]| payload.len().saturating_sub(rest.len());
    if payload.is_empty() {
        return Err(DecodeError { kind: DecodeErrorKind::EmptyPayload, offset: 0 });
    }
    match value(payload, 0) {
        Ok(([], v)) => Ok(v),
        Ok((rest, _)) => Err(DecodeError { kind: DecodeErrorKind::TrailingBytes, offset: offset(rest) }),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(DecodeError { kind: e.kind, offset: offset(e.at) }),
        // Only the `streaming` parsers report Incomplete; treat it as running out, never panic.
        Err(nom::Err::Incomplete(_)) => Err(DecodeError { kind: DecodeErrorKind::Truncated, offset: payload.len() }),
    }
}

type Input<'a> = &'a [u8];
type Parsed<'a, T> = IResult<Input<'a>, T, Fail<'a>>;

/// The private nom error: a reason, and the remaining input where it applies (always a suffix
/// of the payload, so the offset is `payload.len() - at.len()`).
#[derive(Debug)]
struct Fail<'a> {
    at: Input<'a>,
    kind: DecodeErrorKind,
}

impl<'a> ParseError<Input<'a>> for Fail<'a> {
    // nom's own errors only come from the `complete` primitives running out of input, or from
    // `tag` not matching, and every such call site relabels them; Truncated is the safe default.
    fn from_error_kind(input: Input<'a>, _: ErrorKind) -> Self {
        Fail { at: input, kind: DecodeErrorKind::Truncated }
    }

    fn append(_: Input<'a>, _: ErrorKind, other: Self) -> Self {
        other
    }
}

fn fail<T>(at: Input<'_>, kind: DecodeErrorKind) -> Parsed<'_, T> {
    Err(nom::Err::Failure(Fail { at, kind }))
}

/// Runs `field` on the bytes after a typecode; running out of input is reported at the typecode,
/// where the incomplete value starts.
fn after_typecode<'a, T>(
    start: Input<'a>,
    rest: Input<'a>,
    mut field: impl Parser<Input<'a>, Output = T, Error = Fail<'a>>,
) -> Parsed<'a, T> {
    field.parse(rest).map_err(|e| e.map(|_| Fail { at: start, kind: DecodeErrorKind::Truncated }))
}

/// One value. `depth` is the number of containers around it.
fn value(input: Input<'_>, depth: usize) -> Parsed<'_, Value> {
    let (rest, code) = be_u8(input)?;
    match code {
        // INT_POS_FIXED_START is 0: the byte is the number.
        0x00..=0x2b => Ok((rest, Value::Int(i64::from(code)))),
        tc::FLOAT64 => after_typecode(input, rest, be_f64.map(Value::Float64)),
        b'0'..=b'9' => long_str(input),
        tc::TUPLE => terminated_seq(input, rest, depth).map(|(r, v)| (r, Value::Tuple(v))),
        tc::LIST => terminated_seq(input, rest, depth).map(|(r, v)| (r, Value::List(v))),
        tc::DICT => terminated_dict(input, rest, depth),
        tc::INT => decimal_int(input, rest),
        tc::INT1 => after_typecode(input, rest, be_i8.map(|n| Value::Int(n.into()))),
        tc::INT2 => after_typecode(input, rest, be_i16.map(|n| Value::Int(n.into()))),
        tc::INT4 => after_typecode(input, rest, be_i32.map(|n| Value::Int(n.into()))),
        tc::INT8 => after_typecode(input, rest, be_i64.map(Value::Int)),
        tc::FLOAT32 => after_typecode(input, rest, be_f32.map(Value::Float32)),
        tc::TRUE => Ok((rest, Value::Bool(true))),
        tc::FALSE => Ok((rest, Value::Bool(false))),
        tc::NONE => Ok((rest, Value::None)),
        0x46..=0x65 => {
            // 0x46 → -1 … 0x65 → -32.
            Ok((rest, Value::Int(i64::from(tc::INT_NEG_FIXED_START) - 1 - i64::from(code))))
        }
        0x66..=0x7e => fixed_dict(input, rest, usize::from(code - tc::DICT_FIXED_START), depth),
        0x80..=0xbf => {
            let len = usize::from(code - tc::STR_FIXED_START);
            let (after, bytes) = after_typecode(input, rest, take(len))?;
            Ok((after, Value::Str(utf8(rest, bytes)?)))
        }
        0xc0..=0xdf => {
            let len = usize::from(code - tc::LIST_FIXED_START);
            fixed_seq(input, rest, len, depth).map(|(r, v)| (r, Value::List(v)))
        }
        0xe0..=0xff => {
            let len = usize::from(code - tc::TUPLE_FIXED_START);
            fixed_seq(input, rest, len, depth).map(|(r, v)| (r, Value::Tuple(v)))
        }
        // Unassigned, or an end marker where a value should start.
        0x2d..=0x2f | tc::TERM => fail(input, DecodeErrorKind::UnknownTypecode(code)),
    }
}

/// The depth for the items of a container that starts at `start`.
fn enter(start: Input<'_>, depth: usize) -> Result<usize, nom::Err<Fail<'_>>> {
    if depth >= MAX_DEPTH {
        return Err(nom::Err::Failure(Fail { at: start, kind: DecodeErrorKind::TooDeep }));
    }
    Ok(depth + 1)
}

/// `bytes` starts at `from`, a suffix of the payload, so a bad byte's offset can be reported.
fn utf8<'a>(from: Input<'a>, bytes: &[u8]) -> Result<String, nom::Err<Fail<'a>>> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(nom::Err::Failure(Fail {
            at: from.get(e.valid_up_to()..).unwrap_or_default(),
            kind: DecodeErrorKind::InvalidUtf8,
        })),
    }
}

/// `<length>:<bytes>`: rencode reads the length with Python's `int()` on the text up to the
/// first `:`. We read the same grammar, over at most [`MAX_INT_CHARS`] bytes.
fn long_str(start: Input<'_>) -> Parsed<'_, Value> {
    let invalid = |_: nom::Err<Fail<'_>>| nom::Err::Failure(Fail { at: start, kind: DecodeErrorKind::InvalidLength });
    let (after_text, text) = take_while_m_n(1, MAX_INT_CHARS, |b| b != b':').parse(start).map_err(invalid)?;
    let (data, _) = tag(&b":"[..]).parse(after_text).map_err(invalid)?;
    let Some(PyInt { negative: false, digits }) = PyInt::parse(text) else {
        return fail(start, DecodeErrorKind::InvalidLength);
    };
    // A length beyond usize is beyond the payload too.
    let Ok(len) = digits.parse::<usize>() else {
        return fail(start, DecodeErrorKind::Truncated);
    };
    let (after, bytes) = after_typecode(start, data, take(len))?;
    Ok((after, Value::Str(utf8(data, bytes)?)))
}

/// `0x3d <text> 0x7f`: rencode finds the first 0x7f, refuses 64 or more bytes before it, and
/// reads the text with Python's `int()`.
fn decimal_int<'a>(start: Input<'a>, rest: Input<'a>) -> Parsed<'a, Value> {
    let (after_text, text) = take_while_m_n(0, MAX_INT_CHARS, |b| b != tc::TERM)
        .parse(rest)
        .map_err(|e| e.map(|f: Fail<'a>| Fail { at: start, ..f }))?;
    let Ok((after, _)) = tag::<_, _, Fail<'a>>(&[tc::TERM][..]).parse(after_text) else {
        let kind = if after_text.is_empty() { DecodeErrorKind::Truncated } else { DecodeErrorKind::IntTooLong };
        return fail(start, kind);
    };
    let Some(n) = PyInt::parse(text) else {
        return fail(start, DecodeErrorKind::InvalidInt);
    };
    Ok((after, n.into_value()))
}

/// Decimal text as CPython's `int(bytes)` reads it: optional ASCII whitespace around, an
/// optional sign, digits with single underscores between them (PEP 515), leading zeros allowed.
#[derive(Debug, PartialEq, Eq)]
struct PyInt {
    negative: bool,
    /// Without underscores or leading zeros; "0" for zero.
    digits: String,
}

impl PyInt {
    fn parse(text: &[u8]) -> Option<PyInt> {
        // Python's bytes whitespace: space, \t, \n, \v, \f, \r (not `u8::is_ascii_whitespace`,
        // which lacks \v).
        let space = |b: &u8| matches!(b, b' ' | b'\t'..=b'\r');
        let start = text.iter().position(|b| !space(b))?;
        let end = text.iter().rposition(|b| !space(b))?;
        let trimmed = text.get(start..=end)?;
        let (negative, body) = match trimmed.split_first()? {
            (b'-', body) => (true, body),
            (b'+', body) => (false, body),
            _ => (false, trimmed),
        };
        let mut digits = String::with_capacity(body.len());
        let mut after_digit = false;
        for &b in body {
            match b {
                b'0'..=b'9' => {
                    digits.push(char::from(b));
                    after_digit = true;
                }
                b'_' if after_digit => after_digit = false,
                _ => return None,
            }
        }
        // Empty, or ending with an underscore.
        if !after_digit {
            return None;
        }
        let significant = digits.trim_start_matches('0');
        let digits = if significant.is_empty() { "0".to_owned() } else { significant.to_owned() };
        let negative = negative && digits != "0";
        Some(PyInt { negative, digits })
    }

    fn into_value(self) -> Value {
        let text = if self.negative { format!("-{}", self.digits) } else { self.digits };
        match text.parse::<i64>() {
            Ok(n) => Value::Int(n),
            // Canonical by construction, no longer than its source text (< 64 bytes), and the
            // syntax is valid, so the only way parse fails is being outside i64.
            Err(_) => Value::BigInt(BigInt::from_canonical_unchecked(text)),
        }
    }
}

/// `len` items after a length-in-typecode (`len` < 32, so the capacity is small).
fn fixed_seq<'a>(start: Input<'a>, rest: Input<'a>, len: usize, depth: usize) -> Parsed<'a, Vec<Value>> {
    let depth = enter(start, depth)?;
    count(|i| value(i, depth), len).parse(rest)
}

/// Items up to a 0x7f. The end marker is looked for before each item, like rencode does.
fn terminated_seq<'a>(start: Input<'a>, rest: Input<'a>, depth: usize) -> Parsed<'a, Vec<Value>> {
    let depth = enter(start, depth)?;
    let (after, (items, _)) = many_till(|i| value(i, depth), end_marker).parse(rest)?;
    Ok((after, items))
}

fn end_marker(input: Input<'_>) -> Parsed<'_, Input<'_>> {
    tag(&[tc::TERM][..]).parse(input)
}

/// A key (which must be hashable) and its value, with where the key starts.
type Entry<'a> = (Input<'a>, (Value, Value));

fn entry(input: Input<'_>, depth: usize) -> Parsed<'_, Entry<'_>> {
    let (rest, key) = value(input, depth)?;
    if let Err(DictKeyError::Unhashable { type_name }) = check_hashable(&key) {
        return fail(input, DecodeErrorKind::UnhashableKey { type_name });
    }
    let (rest, val) = value(rest, depth)?;
    Ok((rest, (input, (key, val))))
}

fn fixed_dict<'a>(start: Input<'a>, rest: Input<'a>, len: usize, depth: usize) -> Parsed<'a, Value> {
    let depth = enter(start, depth)?;
    let (after, entries) = count(|i| entry(i, depth), len).parse(rest)?;
    Ok((after, dict(entries)?))
}

fn terminated_dict<'a>(start: Input<'a>, rest: Input<'a>, depth: usize) -> Parsed<'a, Value> {
    let depth = enter(start, depth)?;
    let (after, (entries, _)) = many_till(|i| entry(i, depth), end_marker).parse(rest)?;
    Ok((after, dict(entries)?))
}

/// Refuses duplicate keys (see the module doc of `podsixnet` for why), at the later one.
fn dict(entries: Vec<Entry<'_>>) -> Result<Value, nom::Err<Fail<'_>>> {
    let (starts, pairs): (Vec<Input<'_>>, Vec<(Value, Value)>) = entries.into_iter().unzip();
    if let Err((i, e)) = check_keys(&pairs) {
        let kind = match e {
            DictKeyError::Duplicate => DecodeErrorKind::DuplicateKey,
            DictKeyError::Unhashable { type_name } => DecodeErrorKind::UnhashableKey { type_name },
        };
        let at = starts.get(i).copied().unwrap_or_default();
        return Err(nom::Err::Failure(Fail { at, kind }));
    }
    Ok(Value::Dict(Dict::from_checked_entries(pairs)))
}

#[cfg(test)]
mod tests {
    use super::PyInt;
    use crate::podsixnet::typecode as tc;

    /// `value` matches on literal ranges (so the compiler checks all 256 bytes are covered, with
    /// no overlap); they must agree with the typecode table the encoder uses.
    #[test]
    fn literal_typecode_ranges_agree_with_the_typecode_table() {
        let last = |start: u8, count: usize| usize::from(start) + count - 1;
        assert_eq!(last(tc::INT_POS_FIXED_START, tc::INT_POS_FIXED_COUNT), 0x2b);
        assert_eq!((tc::INT_NEG_FIXED_START, last(tc::INT_NEG_FIXED_START, tc::INT_NEG_FIXED_COUNT)), (0x46, 0x65));
        assert_eq!((tc::DICT_FIXED_START, last(tc::DICT_FIXED_START, tc::DICT_FIXED_COUNT)), (0x66, 0x7e));
        assert_eq!((tc::STR_FIXED_START, last(tc::STR_FIXED_START, tc::STR_FIXED_COUNT)), (0x80, 0xbf));
        assert_eq!((tc::LIST_FIXED_START, last(tc::LIST_FIXED_START, tc::LIST_FIXED_COUNT)), (0xc0, 0xdf));
        assert_eq!((tc::TUPLE_FIXED_START, last(tc::TUPLE_FIXED_START, tc::TUPLE_FIXED_COUNT)), (0xe0, 0xff));
    }

    fn py_int(text: &str) -> Option<(bool, String)> {
        PyInt::parse(text.as_bytes()).map(|n| (n.negative, n.digits))
    }

    #[test]
    fn python_int_grammar_accepts_what_cpython_int_accepts() {
        let ok = |t: &str, neg: bool, d: &str| assert_eq!(py_int(t), Some((neg, d.into())), "{t:?}");
        ok("0", false, "0");
        ok("-0", false, "0");
        ok("+7", false, "7");
        ok("007", false, "7");
        ok(" \t\n\x0b\x0c\r7\r\n", false, "7");
        ok("1_000", false, "1000");
        ok("-1_2_3", true, "123");
        ok("0_0", false, "0");
    }

    #[test]
    fn python_int_grammar_refuses_what_cpython_int_refuses() {
        for t in ["", " ", "-", "+", "_1", "1_", "1__0", "- 1", "+-1", "1 2", "0x10", "1.0", "١", "\x1c1", "1\x00"] {
            assert_eq!(py_int(t), None, "{t:?}");
        }
    }
}
