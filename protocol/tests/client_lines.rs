//! Client lines (SPEC.md §3 `client-line`, §3.1): every command, every error with its byte offset,
//! the classification order, and every length limit at its boundary.
//!
//! Most tests call `parse_client_line` directly. The ones about §3.1's order feed raw bytes through
//! `LineFramer` first, the way a server does, so that framing errors (step 1) are part of the
//! picture.

use minichat_protocol::{
    ClientMessage, ErrorCode, FrameError, LineFramer, MAX_NICK_LEN, MAX_TOKEN_LEN, Nick, ParseError, ParseErrorKind,
    Text, Token, find_control, is_control, parse_client_line,
};
use minichat_protocol::{Limits, MAX_MAX_LINE, MIN_MAX_LINE};

use ParseErrorKind::{BadArguments, ControlCharacter, EmptyText, InvalidNick, TextTooLong, UnknownCommand};

/// Line limits the length tests run at: both ends of the allowed range, the default, and two
/// values in between (one odd, so no test depends on a round number).
const LIMITS: [usize; 5] = [MIN_MAX_LINE, 129, 1024, 4097, MAX_MAX_LINE];

fn limits(l: usize) -> Limits {
    Limits::new(l).unwrap()
}

fn parse(line: &str) -> Result<ClientMessage, ParseError> {
    parse_client_line(line, Limits::DEFAULT)
}

fn parse_at(line: &str, l: usize) -> Result<ClientMessage, ParseError> {
    parse_client_line(line, limits(l))
}

fn fails(kind: ParseErrorKind, offset: usize) -> Result<ClientMessage, ParseError> {
    Err(ParseError { kind, offset })
}

fn nick(s: &str) -> Nick {
    Nick::new(s).unwrap()
}

fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

fn token(s: &str) -> Token {
    Token::new(s).unwrap()
}

/// What a server does with raw bytes from a client, up to syntax (SPEC.md §3.1 steps 1–3): one
/// entry per non-empty line, the message or the `ERROR` code it is answered with.
fn classify(bytes: &[u8], l: usize) -> Vec<Result<ClientMessage, ErrorCode>> {
    let limits = limits(l);
    let mut framer = LineFramer::new(limits);
    let mut input = bytes;
    let mut out = Vec::new();
    while let Some(line) = framer.next_line(&mut input) {
        out.push(match line {
            Err(FrameError::LineTooLong { .. }) => Err(ErrorCode::LineTooLong),
            Err(FrameError::InvalidUtf8 { .. }) => Err(ErrorCode::InvalidUtf8),
            Ok("") => continue, // R-TRANS-9
            Ok(line) => parse_client_line(line, limits).map_err(|e| e.kind.error_code()),
        });
    }
    out
}

// ---------- each command ----------

#[test]
fn user_with_a_valid_nick_is_a_registration() {
    assert_eq!(parse("USER alice"), Ok(ClientMessage::User(nick("alice"))));
    assert_eq!(parse("USER _Al-1ce_"), Ok(ClientMessage::User(nick("_Al-1ce_"))));
}

#[test]
fn msg_text_is_the_rest_of_the_line_verbatim() {
    // R-MSG-1: byte for byte, leading, inner and trailing spaces included.
    assert_eq!(parse("MSG hello"), Ok(ClientMessage::Msg(text("hello"))));
    assert_eq!(parse("MSG  hi  there "), Ok(ClientMessage::Msg(text(" hi  there "))));
}

#[test]
fn msg_text_may_be_any_utf8_that_is_not_a_control() {
    for t in ["ça va — 你好 🎉", "\u{a0}", "\u{2028}\u{feff}x", "~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"] {
        assert_eq!(parse(&format!("MSG {t}")), Ok(ClientMessage::Msg(text(t))), "{t:?}");
    }
}

#[test]
fn users_alone_asks_for_the_user_list() {
    assert_eq!(parse("USERS"), Ok(ClientMessage::Users));
}

#[test]
fn ping_and_pong_carry_their_token() {
    assert_eq!(parse("PING 42"), Ok(ClientMessage::Ping(token("42"))));
    assert_eq!(parse("PONG idle-1"), Ok(ClientMessage::Pong(token("idle-1"))));
    assert_eq!(parse("PING ~x:1/[]"), Ok(ClientMessage::Ping(token("~x:1/[]"))));
}

#[test]
fn quit_without_a_reason_has_no_reason() {
    assert_eq!(parse("QUIT"), Ok(ClientMessage::Quit(None)));
}

#[test]
fn quit_with_an_empty_or_all_space_reason_has_no_reason() {
    // `quit = "QUIT" [SP *tc-char]`: empty or all-space means none (R-QUIT-1).
    for line in ["QUIT ", "QUIT  ", "QUIT      "] {
        assert_eq!(parse(line), Ok(ClientMessage::Quit(None)), "{line:?}");
    }
}

#[test]
fn quit_reason_is_taken_verbatim() {
    assert_eq!(parse("QUIT see you"), Ok(ClientMessage::Quit(Some(text("see you")))));
    assert_eq!(parse("QUIT  bye "), Ok(ClientMessage::Quit(Some(text(" bye ")))));
}

#[test]
fn command_words_are_case_insensitive() {
    // R-SYN-1: `user alice`, `User alice` and `USER alice` are the same line.
    let lines = ["USER alice", "MSG hi", "USERS", "PING t", "PONG t", "QUIT", "QUIT bye"];
    for line in lines {
        let expected = parse(line).unwrap();
        let (word, rest) = line.split_at(line.find(' ').unwrap_or(line.len()));
        let mixed: String =
            word.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_lowercase() } else { c }).collect();
        for variant in [word.to_ascii_lowercase(), mixed] {
            assert_eq!(parse(&format!("{variant}{rest}")), Ok(expected.clone()), "{variant}{rest}");
        }
    }
}

#[test]
fn arguments_keep_their_case_when_the_command_word_does_not() {
    assert_eq!(parse("user Bob"), Ok(ClientMessage::User(nick("Bob"))));
    assert_eq!(parse("msg Hi"), Ok(ClientMessage::Msg(text("Hi"))));
    assert_eq!(parse("ping AbC"), Ok(ClientMessage::Ping(token("AbC"))));
}

#[test]
fn only_ascii_letters_fold_in_command_words() {
    // 'ſ' (U+017F) folds to 's' in Unicode, but the command words are ASCII and folding is ASCII.
    assert_eq!(parse("uſer alice"), fails(UnknownCommand, 0));
    assert_eq!(parse("ＵSER alice"), fails(UnknownCommand, 0));
}

// ---------- §3.1 step 1: characters ----------

#[test]
fn a_control_character_is_control_character_at_its_offset() {
    assert_eq!(parse("MSG a\tb"), fails(ControlCharacter, 5));
    assert_eq!(parse("\u{1b}[2J"), fails(ControlCharacter, 0));
    // Offsets count bytes: "MSG é" is 6 bytes.
    assert_eq!(parse("MSG é\u{85}"), fails(ControlCharacter, 6));
}

#[test]
fn a_cr_that_does_not_end_the_line_is_a_control_character() {
    assert_eq!(parse("MSG a\rb"), fails(ControlCharacter, 5));
    assert_eq!(classify(b"MSG a\rb\r\n", 1024), vec![Err(ErrorCode::ControlCharacter)]);
    assert_eq!(classify(b"MSG ab\r\r\n", 1024), vec![Err(ErrorCode::ControlCharacter)]);
}

#[test]
fn every_c0_c1_and_del_character_is_refused_and_nothing_else_is() {
    // R-TRANS-8: U+0000–U+001F, U+007F, U+0080–U+009F.
    let controls: Vec<char> =
        (0u32..0x20).chain([0x7f]).chain(0x80..0xa0).map(|c| char::from_u32(c).unwrap()).collect();
    for &c in &controls {
        assert!(is_control(c), "{c:?}");
        assert_eq!(parse(&format!("MSG x{c}")), fails(ControlCharacter, 5), "{c:?}");
    }
    for c in (0x20u32..0x7f).chain(0xa0..0x800).chain([0xfffd, 0x1f389, 0x10ffff]).filter_map(char::from_u32) {
        assert!(!is_control(c) && find_control(&format!("x{c}")).is_none(), "{c:?}");
    }
}

#[test]
fn a_control_character_wins_over_every_later_error() {
    // Step 1 before steps 2 and 3: the line is refused for its characters, whatever its syntax.
    assert_eq!(parse("HELP\u{7}"), fails(ControlCharacter, 4));
    assert_eq!(parse("MSG\u{0}"), fails(ControlCharacter, 3));
    assert_eq!(parse("USER al\u{1b}ice"), fails(ControlCharacter, 7));
    assert_eq!(parse("USERS \u{9f}"), fails(ControlCharacter, 6));
    assert_eq!(parse("PING a\u{7f}"), fails(ControlCharacter, 6));
    let l = 128;
    let overlong_text = format!("MSG \u{1}{}", "x".repeat(l - 64));
    assert_eq!(parse_at(&overlong_text, l), fails(ControlCharacter, 4));
}

#[test]
fn line_too_long_wins_over_invalid_utf8_and_controls() {
    let l = 128;
    let mut line = b"MSG \xff\x01".to_vec();
    line.resize(l + 1, b'x');
    line.push(b'\n');
    assert_eq!(classify(&line, l), vec![Err(ErrorCode::LineTooLong)]);
}

#[test]
fn a_text_too_long_inside_a_line_too_long_is_line_too_long() {
    let l = 128;
    let line = format!("MSG {}\n", "x".repeat(l));
    assert_eq!(classify(line.as_bytes(), l), vec![Err(ErrorCode::LineTooLong)]);
}

#[test]
fn invalid_utf8_wins_over_controls_and_syntax() {
    assert_eq!(classify(b"MSG \xff\x01\n", 1024), vec![Err(ErrorCode::InvalidUtf8)]);
    assert_eq!(classify(b"HELP \xc3\n", 1024), vec![Err(ErrorCode::InvalidUtf8)]);
}

#[test]
fn every_form_rfc_3629_forbids_is_invalid_utf8_at_its_offset() {
    let cases: [(&[u8], usize); 7] = [
        (b"MSG \x80", 4),             // a continuation byte alone
        (b"MSG \xc0\xaf", 4),         // an overlong '/'
        (b"MSG a\xe0\x80\xaf", 5),    // an overlong 3-byte form
        (b"MSG \xed\xa0\x80", 4),     // a surrogate (U+D800)
        (b"MSG \xf4\x90\x80\x80", 4), // above U+10FFFF
        (b"MSG \xc3", 4),             // truncated
        (b"\xfe", 0),                 // never valid
    ];
    for (bytes, offset) in cases {
        let mut framer = LineFramer::new(Limits::DEFAULT);
        let mut input = &[bytes, b"\n"].concat()[..];
        assert_eq!(framer.next_line(&mut input), Some(Err(FrameError::InvalidUtf8 { offset })), "{bytes:?}");
    }
}

#[test]
fn an_empty_line_is_not_answered() {
    // R-TRANS-9; the lines around it are unaffected.
    assert_eq!(
        classify(b"\n\r\nUSERS\n\nQUIT\r\n", 1024),
        vec![Ok(ClientMessage::Users), Ok(ClientMessage::Quit(None))]
    );
}

#[test]
fn an_erroneous_line_leaves_the_next_line_usable() {
    assert_eq!(
        classify(b"HELP\nMSG \xff\nMSG a\x07\nPING 1\n", 1024),
        vec![
            Err(ErrorCode::UnknownCommand),
            Err(ErrorCode::InvalidUtf8),
            Err(ErrorCode::ControlCharacter),
            Ok(ClientMessage::Ping(token("1")))
        ]
    );
}

// ---------- §3.1 step 2: the command word ----------

#[test]
fn an_unknown_command_word_is_unknown_command_at_offset_0() {
    for line in ["HELP", "HELP me", "NICK bob", "MSGX hi", "USERSS", "PRIVMSG #x :hi", "QUIT\u{a0}now", "é"] {
        assert_eq!(parse(line), fails(UnknownCommand, 0), "{line:?}");
    }
}

#[test]
fn a_line_starting_with_a_space_has_an_empty_command_word() {
    // The command word is the content up to the first space: here, nothing.
    assert_eq!(parse(" MSG hi"), fails(UnknownCommand, 0));
    assert_eq!(parse(" "), fails(UnknownCommand, 0));
}

#[test]
fn an_unknown_command_wins_over_argument_errors() {
    // Whatever follows an unknown word, step 2 answers first.
    for line in ["HELP ", "HELP  ", "FOO 9lives", "HELLO minichat/1 1024 hi", "WELCOME alice"] {
        assert_eq!(parse(line), fails(UnknownCommand, 0), "{line:?}");
    }
}

// ---------- §3.1 step 3: USER ----------

#[test]
fn user_without_argument_is_bad_arguments() {
    assert_eq!(parse("USER"), fails(BadArguments, 4));
    assert_eq!(parse("user"), fails(BadArguments, 4));
}

#[test]
fn user_followed_by_a_space_and_nothing_is_invalid_nick() {
    assert_eq!(parse("USER "), fails(InvalidNick, 5));
}

#[test]
fn user_with_two_spaces_asks_for_an_invalid_nick() {
    // Arguments are verbatim: `USER  alice` asks for " alice" (SPEC.md §3 notes).
    assert_eq!(parse("USER  alice"), fails(InvalidNick, 5));
}

#[test]
fn user_with_a_nick_outside_the_grammar_is_invalid_nick() {
    for line in ["USER 9lives", "USER -x", "USER zoë", "USER a b", "USER a[b]", "USER alice ", "USER a.b", "USER ä"] {
        assert_eq!(parse(line), fails(InvalidNick, 5), "{line:?}");
    }
}

#[test]
fn nick_first_byte_is_a_letter_or_underscore() {
    for b in 0x21u8..0x7f {
        let line = format!("USER {}x", b as char);
        let valid = b.is_ascii_alphabetic() || b == b'_';
        assert_eq!(parse(&line).is_ok(), valid, "{line:?}");
        if !valid {
            assert_eq!(parse(&line), fails(InvalidNick, 5));
        }
    }
}

#[test]
fn nick_other_bytes_are_letters_digits_underscore_or_hyphen() {
    for b in 0x21u8..0x7f {
        let line = format!("USER x{}", b as char);
        let valid = b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
        assert_eq!(parse(&line).is_ok(), valid, "{line:?}");
    }
}

#[test]
fn user_nick_of_exactly_32_bytes_is_accepted() {
    let n = format!("a{}", "-".repeat(MAX_NICK_LEN - 1));
    assert_eq!(n.len(), 32);
    assert_eq!(parse(&format!("USER {n}")), Ok(ClientMessage::User(nick(&n))));
}

#[test]
fn user_nick_of_33_bytes_is_invalid_nick() {
    let n = "a".repeat(MAX_NICK_LEN + 1);
    assert_eq!(parse(&format!("USER {n}")), fails(InvalidNick, 5));
    assert_eq!(parse_at(&format!("USER {n}"), MAX_MAX_LINE), fails(InvalidNick, 5));
}

// ---------- §3.1 step 3: MSG ----------

#[test]
fn msg_alone_is_empty_message_at_the_end_of_the_line() {
    assert_eq!(parse("MSG"), fails(EmptyText, 3));
    assert_eq!(parse("MSG").unwrap_err().kind.error_code(), ErrorCode::EmptyMessage);
}

#[test]
fn msg_followed_by_nothing_or_only_spaces_is_empty_message() {
    for line in ["MSG ", "MSG  ", "msg          "] {
        assert_eq!(parse(line), fails(EmptyText, 4), "{line:?}");
    }
}

#[test]
fn msg_text_of_exactly_l_minus_64_bytes_is_accepted() {
    for l in LIMITS {
        let t = format!(" {}.", "x".repeat(l - 64 - 2));
        assert_eq!(t.len(), l - 64);
        assert_eq!(parse_at(&format!("MSG {t}"), l), Ok(ClientMessage::Msg(text(&t))), "L = {l}");
    }
}

#[test]
fn msg_text_one_byte_over_is_text_too_long() {
    for l in LIMITS {
        let t = "x".repeat(l - 63);
        let max = l - 64;
        // The offset is the first byte past the limit: "MSG " + (L − 64) bytes.
        assert_eq!(parse_at(&format!("MSG {t}"), l), fails(TextTooLong { max }, 4 + max), "L = {l}");
        assert_eq!(parse_at(&format!("MSG {t}"), l).unwrap_err().kind.error_code(), ErrorCode::TextTooLong);
    }
}

#[test]
fn the_default_text_limit_is_960_bytes() {
    // SPEC.md §7: "With L = 1024 a text may be 960 bytes."
    assert!(parse(&format!("MSG {}", "y".repeat(960))).is_ok());
    assert_eq!(parse(&format!("MSG {}", "y".repeat(961))), fails(TextTooLong { max: 960 }, 964));
}

#[test]
fn msg_text_limit_counts_bytes_not_characters() {
    let l = 128;
    // 16 four-byte characters are exactly L − 64 = 64 bytes.
    let party = "🎉".repeat(16);
    assert_eq!(parse_at(&format!("MSG {party}"), l), Ok(ClientMessage::Msg(text(&party))));
    assert_eq!(parse_at(&format!("MSG {party}x"), l), fails(TextTooLong { max: 64 }, 68));
    // 22 two-byte characters are 44 bytes: well within, although more characters than the emoji.
    assert!(parse_at(&format!("MSG {}", "é".repeat(22)), l).is_ok());
    assert_eq!(parse_at(&format!("MSG {}", "é".repeat(33)), l), fails(TextTooLong { max: 64 }, 68));
}

#[test]
fn msg_text_with_leading_and_trailing_spaces_counts_them_toward_the_limit() {
    let l = 1024;
    let exact = format!("  {}  ", "z".repeat(l - 64 - 4));
    assert!(parse_at(&format!("MSG {exact}"), l).is_ok());
    assert_eq!(parse_at(&format!("MSG {exact} "), l), fails(TextTooLong { max: l - 64 }, 4 + l - 64));
}

#[test]
fn msg_of_only_spaces_longer_than_the_text_limit_is_empty_message() {
    // All spaces is "no text" (R-MSG-2) whatever its length; §3.1 lists EMPTY_MESSAGE before
    // TEXT_TOO_LONG, and a run of spaces is not a `text` that could be too long.
    for l in LIMITS {
        let line = format!("MSG {}", " ".repeat(l - 63));
        assert!(line.len() <= l);
        assert_eq!(parse_at(&line, l), fails(EmptyText, 4), "L = {l}");
    }
}

// ---------- §3.1 step 3: USERS ----------

#[test]
fn users_followed_by_anything_is_bad_arguments() {
    for line in ["USERS ", "USERS all", "USERS  ", "users alice"] {
        assert_eq!(parse(line), fails(BadArguments, 5), "{line:?}");
    }
}

// ---------- §3.1 step 3: PING and PONG ----------

#[test]
fn ping_or_pong_without_a_space_is_bad_arguments() {
    assert_eq!(parse("PING"), fails(BadArguments, 4));
    assert_eq!(parse("PONG"), fails(BadArguments, 4));
}

#[test]
fn ping_or_pong_with_an_empty_token_is_bad_arguments() {
    assert_eq!(parse("PING "), fails(BadArguments, 5));
    assert_eq!(parse("pong "), fails(BadArguments, 5));
}

#[test]
fn ping_token_of_exactly_32_bytes_is_accepted() {
    let t = "!".repeat(MAX_TOKEN_LEN);
    assert_eq!(parse(&format!("PING {t}")), Ok(ClientMessage::Ping(token(&t))));
    assert_eq!(parse(&format!("PONG {t}")), Ok(ClientMessage::Pong(token(&t))));
}

#[test]
fn ping_token_of_33_bytes_is_bad_arguments() {
    let t = "t".repeat(MAX_TOKEN_LEN + 1);
    // The offset is the 33rd byte of the token.
    assert_eq!(parse(&format!("PING {t}")), fails(BadArguments, 5 + MAX_TOKEN_LEN));
    assert_eq!(parse(&format!("PONG {t}")), fails(BadArguments, 5 + MAX_TOKEN_LEN));
}

#[test]
fn ping_token_with_a_space_or_a_non_ascii_character_is_bad_arguments() {
    assert_eq!(parse("PING a b"), fails(BadArguments, 6));
    assert_eq!(parse("PING a "), fails(BadArguments, 6));
    assert_eq!(parse("PING  a"), fails(BadArguments, 5));
    assert_eq!(parse("PING é"), fails(BadArguments, 5));
    assert_eq!(parse("PONG ab\u{a0}"), fails(BadArguments, 7));
}

#[test]
fn every_visible_ascii_byte_is_a_token_byte() {
    for b in 0x21u8..=0x7e {
        let t = (b as char).to_string();
        assert_eq!(parse(&format!("PING {t}")), Ok(ClientMessage::Ping(token(&t))));
    }
}

// ---------- §3.1 step 3: QUIT ----------

#[test]
fn quit_reason_of_exactly_l_minus_64_bytes_is_accepted() {
    for l in LIMITS {
        let reason = format!("é{}", "r".repeat(l - 64 - 2));
        assert_eq!(parse_at(&format!("QUIT {reason}"), l), Ok(ClientMessage::Quit(Some(text(&reason)))), "L = {l}");
    }
}

#[test]
fn quit_reason_one_byte_over_is_text_too_long() {
    for l in LIMITS {
        let max = l - 64;
        let reason = "r".repeat(max + 1);
        assert_eq!(parse_at(&format!("QUIT {reason}"), l), fails(TextTooLong { max }, 5 + max), "L = {l}");
    }
}

#[test]
fn quit_of_only_spaces_longer_than_the_text_limit_has_no_reason() {
    let l = 128;
    assert_eq!(parse_at(&format!("QUIT {}", " ".repeat(l - 63)), l), Ok(ClientMessage::Quit(None)));
}

#[test]
fn quit_followed_directly_by_other_characters_is_unknown_command() {
    assert_eq!(parse("QUITnow"), fails(UnknownCommand, 0));
}

// ---------- every error maps to its code ----------

#[test]
fn each_parse_error_kind_maps_to_the_code_of_spec_section_3_1() {
    let cases = [
        ("MSG \u{1}", ErrorCode::ControlCharacter),
        ("HELP", ErrorCode::UnknownCommand),
        ("USERS x", ErrorCode::BadArguments),
        ("USER 9", ErrorCode::InvalidNick),
        ("MSG  ", ErrorCode::EmptyMessage),
        (&format!("MSG {}", "x".repeat(961)), ErrorCode::TextTooLong),
    ];
    for (line, code) in cases {
        assert_eq!(parse(line).unwrap_err().kind.error_code(), code, "{line:?}");
    }
}

#[test]
fn every_error_offset_points_into_the_line() {
    let long = format!("MSG {}", "x".repeat(961));
    for line in ["USER", "USER ", "MSG", "MSG ", "PING", "PING ", "PING a b", "USERS x", "HELP", &long] {
        let e = parse(line).unwrap_err();
        assert!(e.offset <= line.len() && line.is_char_boundary(e.offset), "{line:?}: {e:?}");
    }
}
