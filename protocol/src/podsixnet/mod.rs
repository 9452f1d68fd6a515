//! The PodSixNet wire profile, so real PodSixNet programs can talk to minichat.
//!
//! [PodSixNet](https://github.com/chr15m/PodSixNet) (0.11.0) is a small Python game-networking
//! library. Every message is a Python dict with an `"action"` key naming the handler
//! (`Network_<action>`), encoded with PodSixNet's copy of **rencode** and followed by the five
//! bytes `00 2d 2d 2d 00` (`\0---\0`). There is no length prefix, no escaping and no size limit.
//!
//! ```text
//! frame   = payload TERMINATOR            ; TERMINATOR = 00 2d 2d 2d 00
//! payload = rencode(value)                ; exactly one value, nothing after it
//! ```
//!
//! # rencode, as PodSixNet has it
//!
//! One typecode byte starts each value; small lengths and numbers are folded into it.
//!
//! | bytes            | value                                                        |
//! |------------------|--------------------------------------------------------------|
//! | `00`–`2b`        | int 0 … 43                                                   |
//! | `46`–`65`        | int -1 … -32                                                 |
//! | `3e` / `3f` / `40` / `41` + 1/2/4/8 bytes | int, big-endian two's complement    |
//! | `3d` text `7f`   | int as decimal text (used outside i64), under 64 bytes       |
//! | `42` + 4 bytes   | float32 (what `Channel.Send` uses) · `2c` + 8 bytes: float64 |
//! | `43` `44` `45`   | True, False, None                                            |
//! | `80`–`bf` bytes  | str of 0 … 63 UTF-8 bytes · `<len>:` bytes for longer ones   |
//! | `c0`–`df` items  | list of 0 … 31 · `3b` items `7f` for longer ones             |
//! | `e0`–`ff` items  | tuple of 0 … 31 · `3a` items `7f` for longer ones            |
//! | `66`–`7e` pairs  | dict of 0 … 24 · `3c` pairs `7f` for larger ones             |
//!
//! `2d`–`2f` start nothing. Dict pairs are in insertion order; keys may be any hashable value.
//! On receive, PodSixNet decodes every string as UTF-8 (`bytes` sent come back as `str`).
//!
//! # How this module is shaped, and why
//!
//! Like a fragmentizer in front of a parser: [`Framer`] cuts the stream into payloads first,
//! with a size bound, then [`decode()`] parses one complete payload. The framing is the only place
//! that knows where a message ends, so it comes first; a payload that fails to decode costs one
//! message, not the stream's alignment. Both cut and parse like PodSixNet does, so the two sides
//! always agree on message boundaries, even for the broken cases.
//!
//! [`Value`] keeps what byte-exact re-encoding needs (float width, dict order) and nothing that
//! could make two representations of one Python value (integers are `Int` inside i64, `BigInt`
//! outside). [`encode()`] then writes exactly what `rencode.dumps` writes, and [`frame`] adds the
//! terminator. All of it is checked against vectors produced by the real library
//! (`tests/data/podsixnet/vectors.json`).
//!
//! PodSixNet's receiver (`Channel.found_terminator`) dispatches a dict with a `str` `"action"`,
//! prints anything else that decodes as `OOB data:` and ignores it, and closes the connection on
//! any decode error; [`Value::action`] tells which case a value is.
//!
//! # Limits
//!
//! * Payload size: [`DEFAULT_MAX_PAYLOAD`] (1 MiB), configurable per [`Framer`]; beyond it the
//!   payload is reported as [`FrameTooLong`] and skipped, and the stream resynchronises at its
//!   terminator. The framer never buffers more than the limit plus 4 bytes.
//! * Nesting: [`MAX_DEPTH`] (32) containers, for decoding and encoding. PodSixNet goes to about
//!   1000 (Python's recursion limit); we stop far earlier so that the recursion stays within
//!   some 40 KiB of stack (250 KiB unoptimised; a test holds it under 512 KiB), and no real
//!   message comes close (chat messages nest 2 deep).
//! * Numbers written as text (the `3d` int form and the `<len>:` string length): under 64 bytes,
//!   which is rencode's own limit for ints.
//! * Nothing is allocated from a length field before the input is known to hold that many
//!   bytes, and every element consumes at least one byte, so decoded size is linear in the
//!   payload.
//!
//! # Non-canonical input: what we accept and why
//!
//! `dumps` writes one form per value, but `loads` accepts more (the vectors' `lenient` list).
//! We accept what it accepts when the value is unambiguous, because real peers may send it, and
//! we re-encode canonically, so nothing non-canonical goes further than us.
//!
//! * **Wider integer forms than needed** (`3e 05`, `3f 00 05`, `3d "5" 7f` for 5): accepted.
//!   Unambiguous, and another rencode build or a hand-written peer may well choose them.
//! * **Decimal integer text the way Python's `int()` reads it**: leading zeros (`05`), a sign
//!   (`+7`, `-0`), surrounding ASCII whitespace (` 7 `), underscores between digits (`1_000`):
//!   accepted. rencode's decoder is literally `int(text)` (its leading-zero check never fires on
//!   Python 3), so this is PodSixNet's grammar; the value is unambiguous and the text is bounded.
//! * **Long-string form for a short string, and its length in `int()` syntax** (`5:hello`,
//!   `05:`, `1_0:`, `5 :`): accepted, for the same reasons.
//! * **`3a`/`3b`/`3c` … `7f` forms for small tuples, lists and dicts**: accepted. Unambiguous;
//!   rencode variants differ in how many lengths they fold into typecodes.
//! * **float64 (`2c`)**: accepted and kept as [`Value::Float64`], so it re-encodes as it came.
//!   `dumps(x, 64)` writes it; only `Channel.Send` never does.
//! * **Duplicate dict keys** (Python: the last value wins, at the first key's place): refused
//!   with [`DecodeErrorKind::DuplicateKey`]. `dumps` serialises a dict and so can never produce
//!   one; only a crafted frame can. Accepting would mean emulating CPython's merge (and its
//!   `1 == 1.0 == True` key equality) for no real peer, and a message whose `"action"` appears
//!   twice reads differently to anything that takes the first one.
//!
//! Also refused, like PodSixNet refuses them (it closes the connection): every frame in the
//! vectors' `invalid` list, i.e. unknown typecodes, truncation, bad decimal text, strings that are
//! not UTF-8, unhashable keys, trailing bytes, an empty payload. Refused although PodSixNet would
//! accept them: nesting beyond [`MAX_DEPTH`], and number text of 64 bytes or more for a string
//! length (no encoder writes either).
//!
//! # Sending
//!
//! [`encode()`] refuses a value nested beyond [`MAX_DEPTH`] and a [`Value::Bytes`] that is not
//! UTF-8, and [`frame`] refuses a payload that contains the terminator or ends with
//! `00 2d 2d 2d`. PodSixNet sends all of these and the receiving peer then fails to decode and
//! drops the connection (shared capture `wire_capture_chat.txt`, scenario 2), so the caller gets
//! a typed error instead. What `dumps` itself refuses cannot be built: an int of 64 or more
//! characters ([`BigInt::new`]), a float beyond float32 ([`Value::float32_from_f64`]), a set
//! (no variant).

mod decode;
mod encode;
mod framer;
mod profile;
mod value;

pub use decode::{DecodeError, DecodeErrorKind, MAX_DEPTH, decode};
pub use encode::{EncodeError, encode, encode_into};
pub use framer::{DEFAULT_MAX_PAYLOAD, FrameTooLong, Framer, TERMINATOR, UnframeablePayload, frame};
pub use profile::{NickAction, Rejection, ServerFrame, client_message, client_value, decode_client_payload};
pub use value::{BigInt, Dict, DictKeyError, Float32Overflow, IntError, MAX_INT_CHARS, Value};

/// rencode's typecodes (PodSixNet's copy, which adds tuples), shared by the encoder and decoder.
mod typecode {
    pub const FLOAT64: u8 = 0x2c;
    pub const TUPLE: u8 = 0x3a;
    pub const LIST: u8 = 0x3b;
    pub const DICT: u8 = 0x3c;
    pub const INT: u8 = 0x3d;
    pub const INT1: u8 = 0x3e;
    pub const INT2: u8 = 0x3f;
    pub const INT4: u8 = 0x40;
    pub const INT8: u8 = 0x41;
    pub const FLOAT32: u8 = 0x42;
    pub const TRUE: u8 = 0x43;
    pub const FALSE: u8 = 0x44;
    pub const NONE: u8 = 0x45;
    /// Ends the `3a`/`3b`/`3c` containers and the `3d` decimal int.
    pub const TERM: u8 = 0x7f;

    pub const INT_POS_FIXED_START: u8 = 0x00;
    pub const INT_POS_FIXED_COUNT: usize = 44;
    pub const INT_NEG_FIXED_START: u8 = 0x46;
    pub const INT_NEG_FIXED_COUNT: usize = 32;
    pub const DICT_FIXED_START: u8 = 0x66;
    pub const DICT_FIXED_COUNT: usize = 25;
    pub const STR_FIXED_START: u8 = 0x80;
    pub const STR_FIXED_COUNT: usize = 64;
    pub const LIST_FIXED_START: u8 = 0xc0;
    pub const LIST_FIXED_COUNT: usize = 32;
    pub const TUPLE_FIXED_START: u8 = 0xe0;
    pub const TUPLE_FIXED_COUNT: usize = 32;
}
