//! Properties over generated input (proptest):
//!
//! - every valid message survives encode → frame → parse unchanged, in both directions, and its
//!   line fits *L* whenever its texts fit *L* − 64 (R-TRANS-4, R-MSG-3);
//! - parsing is exact: a server line that parses is the only spelling of its message (R-SYN-2),
//!   and a client line that parses differs from its encoding only in the command word's case;
//! - no input, however broken, panics the framer or a parser;
//! - framing does not depend on how the stream is chunked (R-TRANS-10), agrees with a direct
//!   reading of SPEC.md §2, and never holds more than *L* + 1 bytes (R-TRANS-6).

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use minichat_protocol::{
    ClientMessage, DEFAULT_MAX_LINE, ErrorCode, FrameError, LeaveCause, Limits, LineFramer, MAX_MAX_LINE, MIN_MAX_LINE,
    Nick, NickList, ServerMessage, Text, Token, is_control, parse_client_line, parse_server_line,
};

// ---------- strategies for valid values ----------

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![Just(MIN_MAX_LINE), Just(DEFAULT_MAX_LINE), Just(MAX_MAX_LINE), MIN_MAX_LINE..=MAX_MAX_LINE]
        .prop_map(|l| Limits::new(l).unwrap())
}

fn nick() -> impl Strategy<Value = Nick> {
    "[A-Za-z_][A-Za-z0-9_-]{0,31}".prop_map(|s| Nick::new(&s).unwrap())
}

fn token() -> impl Strategy<Value = Token> {
    "[!-~]{1,32}".prop_map(|s| Token::new(&s).unwrap())
}

/// One character of a text: often a space (so texts start and end with spaces), often visible
/// ASCII, and any other non-control character, from two-byte Latin to four-byte emoji.
fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => Just(' '),
        6 => proptest::char::range('!', '~'),
        2 => proptest::char::range('\u{a0}', '\u{7ff}'),
        2 => any::<char>().prop_map(|c| if is_control(c) { '\u{fffd}' } else { c }),
    ]
}

/// A valid text of at most `max` bytes: a random pattern repeated up to a random length, so texts
/// near the limit (up to 65 472 bytes) cost no more to generate than short ones.
fn text(max: usize) -> impl Strategy<Value = Text> {
    let len = prop_oneof![1..=max.min(80), 1..=max, Just(max)];
    (vec(text_char(), 1..40), len).prop_map(|(pattern, len)| {
        let mut s = String::new();
        for &c in pattern.iter().cycle() {
            if s.len() + c.len_utf8() > len {
                break;
            }
            s.push(c);
        }
        if s.bytes().all(|b| b == b' ') {
            // Empty or all spaces is no text; one visible byte instead of a space keeps the length.
            s.pop();
            s.push('x');
        }
        Text::new(s).unwrap()
    })
}

fn client_message(limits: Limits) -> impl Strategy<Value = ClientMessage> {
    let max = limits.max_text();
    prop_oneof![
        nick().prop_map(ClientMessage::User),
        text(max).prop_map(ClientMessage::Msg),
        Just(ClientMessage::Users),
        token().prop_map(ClientMessage::Ping),
        token().prop_map(ClientMessage::Pong),
        option::of(text(max)).prop_map(ClientMessage::Quit),
    ]
}

/// A server message that fits `limits`: texts of at most *L* − 64 bytes, and a `USERS` line with
/// as many 33-byte entries as fit (at most 64, to keep cases small).
fn server_message(limits: Limits) -> impl Strategy<Value = ServerMessage> {
    let max = limits.max_text();
    let max_nicks = ((limits.max_line() - "USERS".len()) / (1 + 32)).min(64);
    let cause = proptest::sample::select(LeaveCause::ALL.to_vec());
    let code = proptest::sample::select(ErrorCode::ALL.to_vec());
    prop_oneof![
        (token(), self::limits(), text(max)).prop_map(|(version, limits, text)| ServerMessage::Hello {
            version,
            limits,
            text
        }),
        text(max).prop_map(move |text| ServerMessage::hello(limits, text)),
        nick().prop_map(ServerMessage::Welcome),
        vec(nick(), 1..=max_nicks).prop_map(|nicks| ServerMessage::Users(NickList::new(nicks).unwrap())),
        prop_oneof![0..100usize, 0..=9_999_999_999usize].prop_map(ServerMessage::EndUsers),
        nick().prop_map(ServerMessage::Join),
        (nick(), text(max)).prop_map(|(from, text)| ServerMessage::Msg { from, text }),
        (nick(), cause, option::of(text(max))).prop_map(|(nick, cause, reason)| ServerMessage::Leave {
            nick,
            cause,
            reason
        }),
        token().prop_map(ServerMessage::Ping),
        token().prop_map(ServerMessage::Pong),
        (code, text(max)).prop_map(|(code, text)| ServerMessage::Error { code, text }),
        option::of(text(max)).prop_map(ServerMessage::Bye),
    ]
}

fn with_limits<T: std::fmt::Debug>(
    f: impl Fn(Limits) -> BoxedStrategy<T> + 'static,
) -> impl Strategy<Value = (Limits, T)> {
    limits().prop_flat_map(move |l| (Just(l), f(l)))
}

// ---------- helpers ----------

/// Frames `wire` with `limits` and returns its only line, checking that there is exactly one.
fn only_line(wire: &[u8], limits: Limits) -> String {
    let mut framer = LineFramer::new(limits);
    let mut input = wire;
    let line = framer.next_line(&mut input).expect("one line").expect("a valid line").to_owned();
    assert!(framer.next_line(&mut input).is_none() && !framer.has_partial_line(), "exactly one LF-terminated line");
    line
}

/// Everything the framer hands out for `chunks`, checking its memory bounds after every step.
fn frame_chunks<'a>(l: usize, chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Result<String, FrameError>> {
    let mut framer = LineFramer::new(Limits::new(l).unwrap());
    let mut out = Vec::new();
    for mut chunk in chunks {
        while let Some(line) = framer.next_line(&mut chunk) {
            out.push(line.map(str::to_owned));
            assert!(framer.buffered_len() <= l + 1, "holds {} bytes, L = {l}", framer.buffered_len());
        }
        assert!(framer.buffered_len() <= l + 1, "holds {} bytes, L = {l}", framer.buffered_len());
        assert!(framer.capacity() <= l + 1, "allocated {} bytes, L = {l}", framer.capacity());
        if !framer.has_partial_line() {
            assert_eq!((framer.buffered_len(), framer.capacity()), (0, 0), "no line pending, nothing held");
        }
    }
    out
}

/// SPEC.md §2 read directly over the whole stream: each LF ends a line; one CR before it is part
/// of the terminator; content over L is LINE_TOO_LONG, else it must be UTF-8. An unterminated
/// tail is reported as LINE_TOO_LONG once it holds more than L bytes of content (R-TRANS-5); a CR
/// at its end may still be a terminator.
fn spec_framing(stream: &[u8], l: usize) -> Vec<Result<String, FrameError>> {
    let mut out = Vec::new();
    let mut rest = stream;
    while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
        let line = &rest[..lf];
        let content = line.strip_suffix(b"\r").unwrap_or(line);
        out.push(if content.len() > l {
            Err(FrameError::LineTooLong { max: l })
        } else {
            std::str::from_utf8(content)
                .map(str::to_owned)
                .map_err(|e| FrameError::InvalidUtf8 { offset: e.valid_up_to() })
        });
        rest = &rest[lf + 1..];
    }
    let tail_content = rest.strip_suffix(b"\r").unwrap_or(rest);
    if tail_content.len() > l {
        out.push(Err(FrameError::LineTooLong { max: l }));
    }
    out
}

/// The command word (up to the first space) and the rest.
fn split_word(line: &str) -> (&str, &str) {
    line.split_at(line.find(' ').unwrap_or(line.len()))
}

/// A small alphabet for mutating valid lines into almost-valid ones.
fn mutation() -> impl Strategy<Value = (usize, u8, char)> {
    let ch = proptest::sample::select(vec![' ', ' ', 'a', 'Z', '0', '9', '-', '_', '!', 'é', '\t', '\u{85}', '🎉']);
    (any::<usize>(), 0u8..3, ch)
}

fn mutate(line: &str, mutations: &[(usize, u8, char)]) -> String {
    let mut s = line.to_owned();
    for &(at, op, ch) in mutations {
        let boundaries: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        let at = boundaries[at % boundaries.len()];
        match op {
            0 => s.insert(at, ch),
            1 if at < s.len() => {
                s.remove(at);
            }
            _ if at < s.len() => {
                s.remove(at);
                s.insert(at, ch);
            }
            _ => s.push(ch),
        }
    }
    s
}

/// Pieces of a byte stream that exercise the framer's edges at line limit `l`.
fn stream_piece(l: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => vec(any::<u8>(), 0..8),
        4 => Just(b"\n".to_vec()),
        2 => Just(b"\r\n".to_vec()),
        2 => Just(b"\r".to_vec()),
        3 => "[ -~]{0,40}".prop_map(String::into_bytes),
        1 => Just("é🎉".as_bytes().to_vec()),
        1 => Just(vec![b'x'; l - 1]),
        1 => Just(vec![b'x'; l]),
        1 => Just(vec![b'x'; l + 1]),
        1 => (0..3 * l).prop_map(|n| vec![b'y'; n]),
    ]
}

fn stream_and_chunking() -> impl Strategy<Value = (usize, Vec<u8>, Vec<usize>)> {
    (MIN_MAX_LINE..=MIN_MAX_LINE + 64).prop_flat_map(|l| {
        (Just(l), vec(stream_piece(l), 0..24).prop_map(|pieces| pieces.concat()), vec(1usize..300, 1..20))
    })
}

/// Cuts `stream` into chunks of the given sizes, cycling through them.
fn chunks<'a>(stream: &'a [u8], sizes: &'a [usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        out.push(chunk);
        rest = tail;
    }
    out
}

// ---------- properties ----------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_client_message_round_trips_through_its_line(
        (limits, msg) in with_limits(|l| client_message(l).boxed())
    ) {
        let wire = msg.to_line();
        prop_assert!(wire.len() - 1 <= limits.max_line(), "a {}-byte line, L = {}", wire.len() - 1, limits.max_line());
        let line = only_line(&wire, limits);
        prop_assert_eq!(&line, &msg.to_string());
        prop_assert_eq!(parse_client_line(&line, limits), Ok(msg));
    }

    #[test]
    fn every_server_message_round_trips_through_its_line(
        (limits, msg) in with_limits(|l| server_message(l).boxed())
    ) {
        let wire = msg.to_bytes();
        prop_assert_eq!(wire.len(), msg.encoded_len(), "encoded_len sizes the buffer exactly");
        prop_assert!(wire.len() - 1 <= limits.max_line(), "a {}-byte line, L = {}", wire.len() - 1, limits.max_line());
        let line = only_line(&wire, limits);
        prop_assert_eq!(&line, &msg.to_string());
        prop_assert_eq!(parse_server_line(&line), Ok(msg));
    }

    #[test]
    fn a_server_line_that_parses_is_the_only_spelling_of_its_message(
        (_, msg) in with_limits(|l| server_message(l).boxed()),
        mutations in vec(mutation(), 1..4),
    ) {
        let line = mutate(&msg.to_string(), &mutations);
        match parse_server_line(&line) {
            Ok(parsed) => prop_assert_eq!(parsed.to_string(), line),
            Err(e) => prop_assert!(e.offset <= line.len(), "offset {} past the line {:?}", e.offset, line),
        }
    }

    #[test]
    fn a_client_line_that_parses_differs_from_its_encoding_only_in_case(
        (limits, msg) in with_limits(|l| client_message(l).boxed()),
        mutations in vec(mutation(), 0..4),
        lowercase in any::<bool>(),
    ) {
        let mut line = mutate(&msg.to_string(), &mutations);
        if lowercase {
            let (word, rest) = split_word(&line);
            line = format!("{}{rest}", word.to_ascii_lowercase());
        }
        match parse_client_line(&line, limits) {
            Ok(parsed) => {
                let canonical = parsed.to_string();
                prop_assert_eq!(parse_client_line(&canonical, limits), Ok(parsed.clone()));
                let ((word, rest), (canonical_word, canonical_rest)) = (split_word(&line), split_word(&canonical));
                prop_assert!(word.eq_ignore_ascii_case(canonical_word), "{:?} vs {:?}", line, canonical);
                if parsed == ClientMessage::Quit(None) {
                    // `QUIT` with an empty or all-space reason is `QUIT`.
                    prop_assert!(rest.bytes().all(|b| b == b' '), "{:?}", line);
                } else {
                    prop_assert_eq!(rest, canonical_rest);
                }
            }
            Err(e) => prop_assert!(e.offset <= line.len(), "offset {} past the line {:?}", e.offset, line),
        }
    }

    #[test]
    fn arbitrary_strings_never_panic_either_parser(line in any::<String>(), l in MIN_MAX_LINE..=MAX_MAX_LINE) {
        let limits = Limits::new(l).unwrap();
        if let Err(e) = parse_client_line(&line, limits) {
            prop_assert!(e.offset <= line.len());
        }
        if let Err(e) = parse_server_line(&line) {
            prop_assert!(e.offset <= line.len());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_framer_or_the_parsers(
        bytes in vec(any::<u8>(), 0..4096),
        chunk in 1usize..512,
        l in MIN_MAX_LINE..=MIN_MAX_LINE + 64,
    ) {
        let limits = Limits::new(l).unwrap();
        let mut framer = LineFramer::new(limits);
        for mut input in bytes.chunks(chunk) {
            while let Some(line) = framer.next_line(&mut input) {
                if let Ok(line) = line {
                    let _ = parse_client_line(line, limits);
                    let _ = parse_server_line(line);
                }
            }
        }
    }

    #[test]
    fn any_chunking_yields_the_lines_and_errors_of_the_whole_stream(
        (l, stream, sizes) in stream_and_chunking()
    ) {
        let whole = frame_chunks(l, [&stream[..]]);
        prop_assert_eq!(&whole, &spec_framing(&stream, l));
        prop_assert_eq!(&frame_chunks(l, chunks(&stream, &sizes)), &whole);
        prop_assert_eq!(&frame_chunks(l, stream.chunks(1)), &whole);
    }
}
