//! minichat's wire protocol, with no I/O: the types, the line framer, the parsers and the
//! serializers that SPEC.md describes.
//!
//! Everything here is a pure function or a plain value: no sockets, no clocks, no async. The
//! server, the client and the conformance suite all speak the protocol through this crate, so a
//! rule of SPEC.md is written once.
//!
//! - Validated values: [`Nick`], [`Text`], [`Token`], [`Limits`] cannot be built invalid, so
//!   nothing downstream checks them again.
//! - Messages: [`ClientMessage`] and [`ServerMessage`], each with `encode` into any
//!   [`bytes::BufMut`], and [`parse_client_line`] / [`parse_server_line`] back.
//! - Framing: [`LineFramer`] turns a byte stream into line contents, bounded by *L*.
//! - [`podsixnet`]: the PodSixNet profile's rencode codec and `\0---\0` framing (SPEC.md §16).

mod client_message;
mod error_code;
mod framer;
mod leave_cause;
mod limits;
mod nick;
mod parse;
mod server_message;
mod text;
mod token;
mod user_list;

pub mod podsixnet;

pub use client_message::ClientMessage;
pub use error_code::ErrorCode;
pub use framer::{FrameError, LineFramer};
pub use leave_cause::LeaveCause;
pub use limits::{
    DEFAULT_MAX_LINE, Limits, LimitsError, MAX_MAX_LINE, MAX_NICK_LEN, MAX_TEXT_CEILING, MAX_TOKEN_LEN, MIN_MAX_LINE,
    TEXT_OVERHEAD,
};
pub use nick::{Nick, NickError, NickKey};
pub use parse::{ParseError, ParseErrorKind, parse_client_line, parse_server_line};
pub use server_message::{PROTOCOL_VERSION, ServerMessage};
pub use text::{Text, TextError, find_control, is_control};
pub use token::{Token, TokenError};
pub use user_list::{EmptyNickList, NickList, encode_user_list};
