//! The values a PodSixNet peer can put on the wire, as Rust types.
//!
//! Why it is shaped this way:
//!
//! * **Byte-exact re-encoding.** A value remembers what its bytes said where rencode has a choice
//!   the value alone cannot recover: a float keeps its width ([`Value::Float32`] or
//!   [`Value::Float64`]) and a dict keeps its wire order (a `Vec` of pairs, not a map).
//! * **One value, one representation.** Integers that fit `i64` are always [`Value::Int`]; only
//!   the others are [`Value::BigInt`], a validated canonical decimal. So `==` on integers is
//!   numeric equality and the encoder never has to choose.
//! * **A [`Dict`] cannot be built wrong.** Its keys are hashable (no list or dict, as Python
//!   requires) and pairwise distinct under Python's `==` (`1`, `1.0` and `True` are the same
//!   key), so everything we encode is something PodSixNet can build and decode unchanged.
//! * **Equality is wire equality**, not Python's `==`: floats compare by bits (so a NaN equals
//!   itself and `0.0 != -0.0`) and dict order matters. That is what round-trip tests need.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// The longest decimal integer rencode sends or reads, sign included: it refuses 64 characters
/// or more (`ValueError('overflow')`) in `dumps` and in `loads`.
pub const MAX_INT_CHARS: usize = 63;

/// One PodSixNet (rencode) value.
///
/// The decoder never yields [`Value::Bytes`]: rencode writes `bytes` exactly like `str`, and
/// PodSixNet's receiver decodes every string as UTF-8 text, so a peer always sees a `str`.
#[derive(Debug, Clone)]
pub enum Value {
    /// Python `None`.
    None,
    /// Python `bool`.
    Bool(bool),
    /// Python `int` in the `i64` range (all fixed-width wire forms, and small decimal forms).
    Int(i64),
    /// Python `int` outside the `i64` range (the decimal wire form).
    BigInt(BigInt),
    /// Python `float` sent as 32 bits: what `Channel.Send` always uses (`dumps` default).
    Float32(f32),
    /// Python `float` sent as 64 bits (`dumps(x, 64)`); never produced by `Channel.Send`.
    Float64(f64),
    /// Python `str`.
    Str(String),
    /// Python `bytes`: sent exactly like a `str` of those bytes; the peer receives a `str`.
    Bytes(Vec<u8>),
    /// Python `list`.
    List(Vec<Value>),
    /// Python `tuple` (PodSixNet's rencode has its own typecodes for tuples).
    Tuple(Vec<Value>),
    /// Python `dict`, in wire order.
    Dict(Dict),
}

impl Value {
    /// The Python type name (`"int"`, `"list"`, …), for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float32(_) | Value::Float64(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
        }
    }

    /// The text of a [`Value::Str`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number in a [`Value::Int`] (not a `bool`, not a big int).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The truth value of a [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The items of a list or a tuple. Both, because Python senders use them interchangeably
    /// (PodSixNet's own `EndPoint` reports errors as a tuple, its examples as a list).
    pub fn as_sequence(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) | Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The [`Dict`] in a [`Value::Dict`].
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Value::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// `self[key]` for a dict with a `str` key; `None` if `self` is not a dict or has no such key.
    pub fn dict_get(&self, key: &str) -> Option<&Value> {
        self.as_dict().and_then(|d| d.get_str(key))
    }

    /// The `"action"` of a PodSixNet message: `Some` exactly when PodSixNet's
    /// `Channel.found_terminator` would dispatch the value to `Network_<action>`.
    ///
    /// When this is `None`, PodSixNet does one of two things: a value that is not a dict, or a
    /// dict without an `"action"` key, is printed as `OOB data:` and ignored; a dict whose
    /// `"action"` is not a `str` raises `TypeError` in the dispatch and the connection is closed.
    pub fn action(&self) -> Option<&str> {
        self.dict_get("action").and_then(Value::as_str)
    }

    /// A `float` as `Channel.Send` sends it: rounded to 32 bits like Python's
    /// `struct.pack('!f', x)`, which refuses finite values that round to infinity.
    pub fn float32_from_f64(x: f64) -> Result<Value, Float32Overflow> {
        // `as` rounds to nearest, like the C cast CPython uses; only the overflow check is extra.
        let y = x as f32;
        if y.is_infinite() && x.is_finite() {
            return Err(Float32Overflow { value: x });
        }
        Ok(Value::Float32(y))
    }

    /// An integer from canonical decimal text (`-?[1-9][0-9]*` or `0`): [`Value::Int`] when it
    /// fits `i64`, else [`Value::BigInt`].
    pub fn int_from_decimal(text: &str) -> Result<Value, IntError> {
        check_canonical_decimal(text)?;
        match text.parse::<i64>() {
            Ok(n) => Ok(Value::Int(n)),
            // Syntax is already checked, so the only failure left is "outside i64".
            Err(_) => Ok(Value::BigInt(BigInt(text.to_owned()))),
        }
    }
}

/// Wire equality: floats by bits, dicts in order, `Str` and `Bytes` distinct. See the module doc.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::None, Value::None) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::BigInt(a), Value::BigInt(b)) => a == b,
            (Value::Float32(a), Value::Float32(b)) => a.to_bits() == b.to_bits(),
            (Value::Float64(a), Value::Float64(b)) => a.to_bits() == b.to_bits(),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => a == b,
            (Value::Dict(a), Value::Dict(b)) => a == b,
            _ => false,
        }
    }
}

// Bitwise float comparison is reflexive, so this is a true equivalence.
impl Eq for Value {}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<i32> for Value {
    fn from(n: i32) -> Self {
        Value::Int(i64::from(n))
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Int(i64::from(n))
    }
}

/// Infallible: every `i128` has at most 40 decimal characters.
impl From<i128> for Value {
    fn from(n: i128) -> Self {
        match i64::try_from(n) {
            Ok(small) => Value::Int(small),
            Err(_) => Value::BigInt(BigInt(n.to_string())),
        }
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::from(i128::from(n))
    }
}

impl From<f32> for Value {
    fn from(x: f32) -> Self {
        Value::Float32(x)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(items)
    }
}

impl From<Dict> for Value {
    fn from(d: Dict) -> Self {
        Value::Dict(d)
    }
}

impl From<BigInt> for Value {
    fn from(n: BigInt) -> Self {
        Value::BigInt(n)
    }
}

/// Python `struct.pack('!f', x)` would raise `OverflowError`.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{value} is too large for a 32-bit float, which is how Channel.Send packs every float")]
pub struct Float32Overflow {
    /// The value that did not fit.
    pub value: f64,
}

/// Why decimal text is not an integer we can send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IntError {
    /// Not `0` or `-?[1-9][0-9]*`.
    #[error("not a canonical decimal integer (optional '-', then digits without leading zeros)")]
    NotCanonical,
    /// rencode's `dumps` raises `ValueError('overflow')` for these.
    #[error("{len} characters: rencode refuses integers of 64 or more characters")]
    TooLong {
        /// Characters in the text, sign included.
        len: usize,
    },
    /// A [`BigInt`] must lie outside `i64`, so that each number has one representation.
    #[error("the number fits in i64: use Value::Int")]
    FitsI64,
}

fn check_canonical_decimal(text: &str) -> Result<(), IntError> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let canonical = match digits.as_bytes() {
        [] => false,
        // "0" alone is canonical, "-0" is not.
        [b'0'] => digits.len() == text.len(),
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return Err(IntError::NotCanonical);
    }
    if text.len() > MAX_INT_CHARS {
        return Err(IntError::TooLong { len: text.len() });
    }
    Ok(())
}

/// An integer outside `i64` that rencode can send: canonical decimal text of at most
/// [`MAX_INT_CHARS`] characters. Kept as text because that is its wire form, and no arithmetic is
/// ever done on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BigInt(String);

impl BigInt {
    /// Validates canonical decimal text (`-?[1-9][0-9]*`) for a number outside `i64`.
    pub fn new(decimal: &str) -> Result<BigInt, IntError> {
        match Value::int_from_decimal(decimal)? {
            Value::BigInt(n) => Ok(n),
            _ => Err(IntError::FitsI64),
        }
    }

    /// The canonical decimal text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number, when it fits `i128`.
    pub fn to_i128(&self) -> Option<i128> {
        self.0.parse().ok()
    }

    /// Only for text the caller has already put in canonical form, outside `i64`, short enough.
    pub(crate) fn from_canonical_unchecked(text: String) -> BigInt {
        debug_assert!(matches!(Value::int_from_decimal(&text), Ok(Value::BigInt(_))));
        BigInt(text)
    }
}

impl FromStr for BigInt {
    type Err = IntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BigInt::new(s)
    }
}

impl fmt::Display for BigInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a key cannot go into a [`Dict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DictKeyError {
    /// Python raises `TypeError: unhashable type` for these keys.
    #[error("a {type_name} cannot be a dict key (unhashable in Python)")]
    Unhashable {
        /// `"list"` or `"dict"` (possibly found inside a tuple key).
        type_name: &'static str,
    },
    /// Two keys that are equal in Python (`1`, `1.0` and `True` are one key).
    #[error("duplicate dict key")]
    Duplicate,
}

/// A Python `dict` in wire order, with hashable, pairwise distinct keys.
///
/// Keys are compared as Python compares them: numbers by value across `bool`, `int` and `float`
/// (`True == 1 == 1.0`), tuples item by item, and a `Str` equals a `Bytes` of the same bytes
/// (they are the same on the wire and the receiver sees two `str`s). A key holding a NaN equals
/// no other key, as for separately decoded NaNs in Python.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dict {
    entries: Vec<(Value, Value)>,
}

impl Dict {
    /// An empty dict.
    pub fn new() -> Dict {
        Dict::default()
    }

    /// Builds a dict from pairs in order, refusing (not merging) duplicate keys: a list of pairs
    /// with two equal keys is ambiguous, and `dumps` could never have produced it.
    pub fn try_from_entries(entries: Vec<(Value, Value)>) -> Result<Dict, DictKeyError> {
        check_keys(&entries).map_err(|(_, e)| e)?;
        Ok(Dict { entries })
    }

    /// For entries already checked with [`check_keys`].
    pub(crate) fn from_checked_entries(entries: Vec<(Value, Value)>) -> Dict {
        Dict { entries }
    }

    /// Python's `d[key] = value`: an equal key keeps its place and its original key object, and
    /// gets the new value (the old one is returned); otherwise the pair is appended.
    /// Linear in the number of entries.
    pub fn insert(&mut self, key: impl Into<Value>, value: impl Into<Value>) -> Result<Option<Value>, DictKeyError> {
        let key = key.into();
        let value = value.into();
        let Some(repr) = key_repr(&key)? else {
            // Holds a NaN: equal to no existing key.
            self.entries.push((key, value));
            return Ok(None);
        };
        for (k, v) in &mut self.entries {
            if key_repr(k).ok().flatten().as_ref() == Some(&repr) {
                return Ok(Some(std::mem::replace(v, value)));
            }
        }
        self.entries.push((key, value));
        Ok(None)
    }

    /// [`Dict::insert`] with a `str` key, which can never be refused.
    pub fn insert_str(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let key: String = key.into();
        let value = value.into();
        if let Some(slot) = self.get_str_mut(&key) {
            return Some(std::mem::replace(slot, value));
        }
        self.entries.push((Value::Str(key), value));
        None
    }

    /// The value for a key equal (in Python's sense) to `key`.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        let repr = key_repr(key).ok().flatten()?;
        self.entries.iter().find(|(k, _)| key_repr(k).ok().flatten().as_ref() == Some(&repr)).map(|(_, v)| v)
    }

    /// The value for a `str` key (a `Bytes` key with the same bytes counts, see the type doc).
    pub fn get_str(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| text_key(k) == Some(key.as_bytes())).map(|(_, v)| v)
    }

    fn get_str_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.entries.iter_mut().find(|(k, _)| text_key(k) == Some(key.as_bytes())).map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in wire order.
    pub fn entries(&self) -> &[(Value, Value)] {
        &self.entries
    }

    /// The entries in wire order, by value.
    pub fn into_entries(self) -> Vec<(Value, Value)> {
        self.entries
    }
}

impl TryFrom<Vec<(Value, Value)>> for Dict {
    type Error = DictKeyError;

    fn try_from(entries: Vec<(Value, Value)>) -> Result<Self, Self::Error> {
        Dict::try_from_entries(entries)
    }
}

fn text_key(v: &Value) -> Option<&[u8]> {
    match v {
        Value::Str(s) => Some(s.as_bytes()),
        Value::Bytes(b) => Some(b),
        _ => None,
    }
}

/// Checks every key; on failure, the index of the offending entry (for a duplicate, the later
/// one) and why. Hash-based, so linear: a hostile dict of many keys cannot make it quadratic.
pub(crate) fn check_keys(entries: &[(Value, Value)]) -> Result<(), (usize, DictKeyError)> {
    let mut seen = HashSet::with_capacity(entries.len());
    for (i, (k, _)) in entries.iter().enumerate() {
        match key_repr(k) {
            Err(e) => return Err((i, e)),
            Ok(None) => {}
            Ok(Some(repr)) => {
                if !seen.insert(repr) {
                    return Err((i, DictKeyError::Duplicate));
                }
            }
        }
    }
    Ok(())
}

/// Checks that `key` is hashable in Python, without building anything.
pub(crate) fn check_hashable(key: &Value) -> Result<(), DictKeyError> {
    match key {
        Value::List(_) | Value::Dict(_) => Err(DictKeyError::Unhashable { type_name: key.type_name() }),
        Value::Tuple(items) => items.iter().try_for_each(check_hashable),
        _ => Ok(()),
    }
}

/// A key reduced to what Python's `==` looks at, so that equal keys get equal reprs.
#[derive(Debug, PartialEq, Eq, Hash)]
enum KeyRepr<'a> {
    None,
    /// Every integral number that fits `i128`: bools, ints, big ints, integral floats.
    Int(i128),
    /// Integral numbers beyond `i128`, as canonical decimal text.
    Big(Cow<'a, str>),
    /// Non-integral or infinite floats, widened to f64 (exact for float32).
    Float(u64),
    Text(&'a [u8]),
    Tuple(Vec<KeyRepr<'a>>),
}

/// `Ok(None)` for keys containing a NaN, which equal nothing.
fn key_repr(key: &Value) -> Result<Option<KeyRepr<'_>>, DictKeyError> {
    check_hashable(key)?;
    Ok(hashable_repr(key))
}

fn hashable_repr(key: &Value) -> Option<KeyRepr<'_>> {
    Some(match key {
        Value::None => KeyRepr::None,
        Value::Bool(b) => KeyRepr::Int(i128::from(*b)),
        Value::Int(n) => KeyRepr::Int(i128::from(*n)),
        Value::BigInt(n) => match n.to_i128() {
            Some(small) => KeyRepr::Int(small),
            None => KeyRepr::Big(Cow::Borrowed(n.as_str())),
        },
        Value::Float32(x) => return float_repr(f64::from(*x)),
        Value::Float64(x) => return float_repr(*x),
        Value::Str(s) => KeyRepr::Text(s.as_bytes()),
        Value::Bytes(b) => KeyRepr::Text(b),
        Value::Tuple(items) => KeyRepr::Tuple(items.iter().map(hashable_repr).collect::<Option<Vec<_>>>()?),
        // Excluded by check_hashable; no repr rather than a panic.
        Value::List(_) | Value::Dict(_) => return None,
    })
}

fn float_repr(x: f64) -> Option<KeyRepr<'static>> {
    const TWO_POW_127: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    if x.is_nan() {
        return None;
    }
    if x.is_finite() && x.fract() == 0.0 {
        // Python compares an integral float equal to the int of the same value.
        if (-TWO_POW_127..TWO_POW_127).contains(&x) {
            // Exact: x is integral and inside the i128 range.
            return Some(KeyRepr::Int(x as i128));
        }
        // `{:.0}` prints the exact integer, in the same canonical form as BigInt.
        return Some(KeyRepr::Big(Cow::Owned(format!("{x:.0}"))));
    }
    Some(KeyRepr::Float(x.to_bits()))
}

#[cfg(feature = "arbitrary")]
mod arbitrary_impl {
    //! Values for fuzz targets: never deeper than the decoder's limit, never a `Bytes` (which
    //! comes back as a `Str`), and dicts built through [`Dict::insert`], so every generated value
    //! encodes, and decodes back to itself.

    use super::{BigInt, Dict, Value};
    use crate::podsixnet::decode::MAX_DEPTH;
    use arbitrary::{Arbitrary, Result, Unstructured};

    impl<'a> Arbitrary<'a> for Value {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            value(u, MAX_DEPTH)
        }
    }

    impl<'a> Arbitrary<'a> for Dict {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            dict(u, MAX_DEPTH.saturating_sub(1))
        }
    }

    impl<'a> Arbitrary<'a> for BigInt {
        fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
            // 20..=62 digits are all outside i64 (|i64| < 10^19), so BigInt::new cannot refuse.
            let len = u.int_in_range(20..=62)?;
            let mut text = String::with_capacity(len + 1);
            if bool::arbitrary(u)? {
                text.push('-');
            }
            text.push(char::from(b'1' + u.int_in_range(0..=8)?));
            for _ in 1..len {
                text.push(char::from(b'0' + u.int_in_range(0..=9)?));
            }
            BigInt::new(&text).map_err(|_| arbitrary::Error::IncorrectFormat)
        }
    }

    /// `depth` is how many more containers may be opened.
    fn value(u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
        let kinds = if depth == 0 { 8 } else { 11 };
        Ok(match u.choose_index(kinds)? {
            0 => Value::None,
            1 => Value::Bool(bool::arbitrary(u)?),
            2 => Value::Int(i64::arbitrary(u)?),
            3 => Value::BigInt(BigInt::arbitrary(u)?),
            4 => Value::Float32(f32::from_bits(u32::arbitrary(u)?)),
            5 => Value::Float64(f64::from_bits(u64::arbitrary(u)?)),
            6 | 7 => Value::Str(String::arbitrary(u)?),
            8 => Value::List(items(u, depth - 1)?),
            9 => Value::Tuple(items(u, depth - 1)?),
            _ => Value::Dict(dict(u, depth - 1)?),
        })
    }

    fn items(u: &mut Unstructured<'_>, depth: usize) -> Result<Vec<Value>> {
        // Up to 40 so both the fixed-length (< 32) and terminated forms are reached.
        let len = u.int_in_range(0..=40)?;
        (0..len).map(|_| value(u, depth)).collect()
    }

    fn dict(u: &mut Unstructured<'_>, depth: usize) -> Result<Dict> {
        let len = u.int_in_range(0..=30)?;
        let mut d = Dict::new();
        for _ in 0..len {
            let k = key(u, depth)?;
            let v = value(u, depth)?;
            // Keys from `key` are hashable, so insert only merges equal keys, like Python.
            d.insert(k, v).map_err(|_| arbitrary::Error::IncorrectFormat)?;
        }
        Ok(d)
    }

    fn key(u: &mut Unstructured<'_>, depth: usize) -> Result<Value> {
        let kinds = if depth == 0 { 5 } else { 6 };
        Ok(match u.choose_index(kinds)? {
            0 => Value::None,
            1 => Value::Bool(bool::arbitrary(u)?),
            2 => Value::Int(i64::arbitrary(u)?),
            3 => Value::Float32(f32::from_bits(u32::arbitrary(u)?)),
            4 => Value::Str(String::arbitrary(u)?),
            _ => {
                let len = u.int_in_range(0..=4)?;
                Value::Tuple((0..len).map(|_| key(u, depth - 1)).collect::<Result<_>>()?)
            }
        })
    }
}
