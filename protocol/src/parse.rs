//! Parsers for complete lines in both directions (SPEC.md §3), built with nom.
//!
//! nom stays inside this module: callers get a [`ClientMessage`] or [`ServerMessage`], or a
//! [`ParseError`] with the reason and the byte offset. The input is a line's *content* as the
//! [`crate::LineFramer`] hands it out: terminator removed, UTF-8 already checked.
//!
//! Client lines are classified in SPEC.md §3.1's order (characters, command word, arguments), so
//! a server can answer with [`ParseErrorKind::error_code`] directly. Server lines are parsed
//! strictly (R-SYN-2): what a conformance suite accepts is exactly the grammar.

use nom::bytes::complete::{take_till, take_while_m_n};
use nom::character::complete::{char, satisfy};
use nom::combinator::{all_consuming, opt, recognize, rest, verify};
use nom::multi::many1;
use nom::sequence::preceded;
use nom::{IResult, Parser};

use crate::nick::{is_nick_first, is_nick_rest};
use crate::text::find_control;
use crate::token::is_token_byte;
use crate::{
    ClientMessage, ErrorCode, LeaveCause, Limits, MAX_NICK_LEN, MAX_TOKEN_LEN, Nick, NickList, ServerMessage, Text,
    TextError, Token,
};

/// Why a line could not be parsed, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {offset})")]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// The byte offset in the line's content where the problem was found.
    pub offset: usize,
}

/// What is wrong with a line. For client lines each kind maps to the `ERROR` code a server
/// answers with ([`ParseErrorKind::error_code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The line contains a control character (R-TRANS-8).
    #[error("the line contains a control character")]
    ControlCharacter,
    /// The command word is not a command of this direction.
    #[error("unknown command")]
    UnknownCommand,
    /// The arguments do not fit the command.
    #[error("the arguments do not fit the command")]
    BadArguments,
    /// A nick does not match the grammar (R-NICK-1).
    #[error("invalid nick: 1-32 ASCII letters, digits, _ or -, starting with a letter or _")]
    InvalidNick,
    /// A text is missing, empty or only spaces (R-MSG-2).
    #[error("the text is empty or only spaces")]
    EmptyText,
    /// A text is longer than allowed (R-MSG-3).
    #[error("the text is longer than {max} bytes")]
    TextTooLong {
        /// The limit that was passed.
        max: usize,
    },
}

impl ParseErrorKind {
    /// The `ERROR` code a server answers a client line with (SPEC.md §3.1).
    pub fn error_code(self) -> ErrorCode {
        match self {
            ParseErrorKind::ControlCharacter => ErrorCode::ControlCharacter,
            ParseErrorKind::UnknownCommand => ErrorCode::UnknownCommand,
            ParseErrorKind::BadArguments => ErrorCode::BadArguments,
            ParseErrorKind::InvalidNick => ErrorCode::InvalidNick,
            ParseErrorKind::EmptyText => ErrorCode::EmptyMessage,
            ParseErrorKind::TextTooLong { .. } => ErrorCode::TextTooLong,
        }
    }
}

fn error(kind: ParseErrorKind, offset: usize) -> ParseError {
    ParseError { kind, offset }
}

// ---------- lexical pieces ----------

type PResult<'a, T> = IResult<&'a str, T>;

/// The command word: everything up to the first space.
fn command_word(i: &str) -> PResult<'_, &str> {
    take_till(|c| c == ' ').parse(i)
}

/// A nick per the grammar (length and characters).
fn nick(i: &str) -> PResult<'_, Nick> {
    let shape = recognize((
        satisfy(|c| c.is_ascii() && is_nick_first(c as u8)),
        take_while_m_n(0, MAX_NICK_LEN - 1, |c: char| c.is_ascii() && is_nick_rest(c as u8)),
    ));
    // The shape guarantees validity; `Nick::new` is the single source of the type's invariant.
    shape.map_res(Nick::new).parse(i)
}

/// A token per the grammar.
fn token(i: &str) -> PResult<'_, Token> {
    take_while_m_n(1, MAX_TOKEN_LEN, |c: char| c.is_ascii() && is_token_byte(c as u8)).map_res(Token::new).parse(i)
}

/// A decimal count without leading zeros: `count = "0" / %x31-39 *9DIGIT`, so at most 10 digits.
fn count(i: &str) -> PResult<'_, usize> {
    // Not `recognize((satisfy(..), digit0))`: in nom 8.0.0, `digit0` that consumes the rest of a
    // `&str` returns a remainder positioned at its start, and `recognize` then yields only the
    // first digit ("ENDUSERS 30" would read as 3; rust-bakery/nom#1808).
    let digits = take_while_m_n(1, 10, |c: char| c.is_ascii_digit());
    verify(digits, |digits: &str| digits == "0" || !digits.starts_with('0')).map_res(str::parse::<usize>).parse(i)
}

/// The rest of the line as a text (non-empty, not all spaces).
fn text(i: &str) -> PResult<'_, Text> {
    rest.map_res(Text::new).parse(i)
}

/// The rest of the line must be `SP` + something parsed by `arg`, and nothing after it.
fn only<'a, O>(
    arg: impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>>,
) -> impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>> {
    all_consuming(preceded(char(' '), arg))
}

/// Runs `p` on `args` (the line after its command word) and turns a nom failure into a
/// [`ParseError`] positioned in the whole line.
fn run<'a, O>(
    line: &'a str,
    args: &'a str,
    kind: ParseErrorKind,
    mut p: impl Parser<&'a str, Output = O, Error = nom::error::Error<&'a str>>,
) -> Result<O, ParseError> {
    match p.parse(args) {
        Ok((_, out)) => Ok(out),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Err(error(kind, line.len() - e.input.len())),
        Err(nom::Err::Incomplete(_)) => Err(error(kind, line.len())),
    }
}

fn check_controls(line: &str) -> Result<(), ParseError> {
    match find_control(line) {
        Some((offset, _)) => Err(error(ParseErrorKind::ControlCharacter, offset)),
        None => Ok(()),
    }
}

fn split_command(line: &str) -> (&str, &str) {
    match command_word(line) {
        Ok((args, word)) => (word, args),
        Err(_) => (line, ""),
    }
}

// ---------- client lines ----------

/// Parses one client line's content (not empty: a server ignores empty lines, R-TRANS-9).
///
/// Command words are case-insensitive (R-SYN-1); errors follow SPEC.md §3.1's order.
pub fn parse_client_line(line: &str, limits: Limits) -> Result<ClientMessage, ParseError> {
    use ParseErrorKind::*;
    check_controls(line)?;
    let (word, args) = split_command(line);
    // `args` is empty or starts with the space that ends the command word.
    let arg = args.strip_prefix(' ');
    let arg_at = word.len() + 1;
    let is = |name: &str| word.eq_ignore_ascii_case(name);
    if is("USER") {
        let Some(arg) = arg else { return Err(error(BadArguments, word.len())) };
        return Nick::new(arg).map(ClientMessage::User).map_err(|_| error(InvalidNick, arg_at));
    }
    if is("MSG") {
        let text = client_text(arg, arg_at, limits)?.ok_or(error(EmptyText, arg_at.min(line.len())))?;
        return Ok(ClientMessage::Msg(text));
    }
    if is("USERS") {
        return if args.is_empty() { Ok(ClientMessage::Users) } else { Err(error(BadArguments, word.len())) };
    }
    if is("PING") || is("PONG") {
        let token = run(line, args, BadArguments, only(token))?;
        return Ok(if is("PING") { ClientMessage::Ping(token) } else { ClientMessage::Pong(token) });
    }
    if is("QUIT") {
        return Ok(ClientMessage::Quit(client_text(arg, arg_at, limits)?));
    }
    Err(error(UnknownCommand, 0))
}

/// A client's text argument: `None` when absent, empty or all spaces; an error when too long.
fn client_text(arg: Option<&str>, at: usize, limits: Limits) -> Result<Option<Text>, ParseError> {
    let Some(arg) = arg else { return Ok(None) };
    // All spaces is no text at all, whatever its length (R-MSG-2; `quit`: "empty or all-space
    // means none"), so it is EMPTY_MESSAGE, which §3.1's table lists before TEXT_TOO_LONG.
    if arg.bytes().all(|b| b == b' ') {
        return Ok(None);
    }
    if arg.len() > limits.max_text() {
        return Err(error(ParseErrorKind::TextTooLong { max: limits.max_text() }, at + limits.max_text()));
    }
    match Text::new_without_controls(arg.to_owned()) {
        Ok(text) => Ok(Some(text)),
        Err(TextError::Empty) => Ok(None),
        // Controls were refused for the whole line already, and emptiness and length checked above.
        Err(TextError::ControlCharacter { offset, .. }) => Err(error(ParseErrorKind::ControlCharacter, at + offset)),
        Err(TextError::TooLong { max, .. }) => Err(error(ParseErrorKind::TextTooLong { max }, at + max)),
    }
}

// ---------- server lines ----------

/// Parses one server line's content strictly per SPEC.md §3 (case-sensitive, R-SYN-2).
pub fn parse_server_line(line: &str) -> Result<ServerMessage, ParseError> {
    use ParseErrorKind::*;
    check_controls(line)?;
    let (word, args) = split_command(line);
    let msg = match word {
        "HELLO" => {
            let version = take_till(|c| c == ' ').map_res(Token::new);
            let limits = count.map_res(Limits::new);
            let (version, limits, text) = run(
                line,
                args,
                BadArguments,
                all_consuming((preceded(char(' '), version), preceded(char(' '), limits), preceded(char(' '), text))),
            )?;
            ServerMessage::Hello { version, limits, text }
        }
        "WELCOME" => ServerMessage::Welcome(run(line, args, InvalidNick, only(nick))?),
        "JOIN" => ServerMessage::Join(run(line, args, InvalidNick, only(nick))?),
        "USERS" => {
            let nicks = run(line, args, InvalidNick, all_consuming(many1(preceded(char(' '), nick))))?;
            ServerMessage::Users(NickList::new(nicks).map_err(|_| error(InvalidNick, word.len()))?)
        }
        "ENDUSERS" => ServerMessage::EndUsers(run(line, args, BadArguments, only(count))?),
        "MSG" => {
            let (from, text) =
                run(line, args, BadArguments, all_consuming((preceded(char(' '), nick), preceded(char(' '), text))))?;
            ServerMessage::Msg { from, text }
        }
        "LEAVE" => {
            let cause = take_till(|c| c == ' ').map_opt(LeaveCause::from_wire);
            let (nick, cause, reason) = run(
                line,
                args,
                BadArguments,
                all_consuming((preceded(char(' '), nick), preceded(char(' '), cause), opt(preceded(char(' '), text)))),
            )?;
            ServerMessage::Leave { nick, cause, reason }
        }
        "PING" => ServerMessage::Ping(run(line, args, BadArguments, only(token))?),
        "PONG" => ServerMessage::Pong(run(line, args, BadArguments, only(token))?),
        "ERROR" => {
            let code = take_till(|c| c == ' ').map_opt(ErrorCode::from_wire);
            let (code, text) =
                run(line, args, BadArguments, all_consuming((preceded(char(' '), code), preceded(char(' '), text))))?;
            ServerMessage::Error { code, text }
        }
        "BYE" => ServerMessage::Bye(run(line, args, BadArguments, all_consuming(opt(preceded(char(' '), text))))?),
        _ => return Err(error(UnknownCommand, 0)),
    };
    Ok(msg)
}
