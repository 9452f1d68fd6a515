//! Server lines (SPEC.md §3 `server-line`): every message type, and the strictness a conformance
//! suite relies on (R-SYN-2): exact spelling and case, exactly one space between fields, nothing
//! after the last field unless the grammar says it is text.

use minichat_protocol::{
    ErrorCode, LeaveCause, Limits, MAX_MAX_LINE, MIN_MAX_LINE, Nick, NickList, PROTOCOL_VERSION, ParseError,
    ParseErrorKind, ServerMessage, Text, Token, parse_server_line,
};

fn nick(s: &str) -> Nick {
    Nick::new(s).unwrap()
}

fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

fn token(s: &str) -> Token {
    Token::new(s).unwrap()
}

fn parse(line: &str) -> Result<ServerMessage, ParseError> {
    parse_server_line(line)
}

fn rejected(line: &str) -> bool {
    parse(line).is_err()
}

/// One valid line of every type, with the message it parses to.
fn examples() -> Vec<(&'static str, ServerMessage)> {
    vec![
        (
            "HELLO minichat/1 1024 welcome to minichat; register with: USER <nick>",
            ServerMessage::hello(Limits::DEFAULT, text("welcome to minichat; register with: USER <nick>")),
        ),
        ("WELCOME alice", ServerMessage::Welcome(nick("alice"))),
        ("USERS alice Bob", ServerMessage::Users(NickList::new(vec![nick("alice"), nick("Bob")]).unwrap())),
        ("ENDUSERS 2", ServerMessage::EndUsers(2)),
        ("JOIN Bob", ServerMessage::Join(nick("Bob"))),
        ("MSG alice hello Bob!", ServerMessage::Msg { from: nick("alice"), text: text("hello Bob!") }),
        ("LEAVE erin TIMEOUT", ServerMessage::Leave { nick: nick("erin"), cause: LeaveCause::Timeout, reason: None }),
        (
            "LEAVE Bob QUIT see you",
            ServerMessage::Leave { nick: nick("Bob"), cause: LeaveCause::Quit, reason: Some(text("see you")) },
        ),
        ("PING idle-1", ServerMessage::Ping(token("idle-1"))),
        ("PONG 42", ServerMessage::Pong(token("42"))),
        (
            "ERROR NICK_IN_USE the nick ALICE is taken; choose another",
            ServerMessage::Error { code: ErrorCode::NickInUse, text: text("the nick ALICE is taken; choose another") },
        ),
        ("BYE", ServerMessage::Bye(None)),
        ("BYE see you", ServerMessage::Bye(Some(text("see you")))),
    ]
}

// ---------- each message type ----------

#[test]
fn every_message_type_parses_to_its_value_and_encodes_back_to_the_same_line() {
    for (line, msg) in examples() {
        assert_eq!(parse(line), Ok(msg.clone()), "{line:?}");
        assert_eq!(msg.to_bytes(), format!("{line}\n").as_bytes(), "{line:?}");
    }
}

#[test]
fn hello_carries_the_version_the_line_limit_and_a_text() {
    let Ok(ServerMessage::Hello { version, limits, text }) = parse("HELLO minichat/1 4096 hi there") else {
        panic!("HELLO should parse");
    };
    assert_eq!((version.as_str(), limits.max_line(), text.as_str()), (PROTOCOL_VERSION, 4096, "hi there"));
}

#[test]
fn hello_with_another_version_is_accepted_so_a_client_can_warn() {
    // R-CLIENT-4: the client, not the parser, decides what to do with another version.
    for version in ["minichat/2", "minichat/1.1", "other"] {
        let Ok(ServerMessage::Hello { version: got, .. }) = parse(&format!("HELLO {version} 1024 hi")) else {
            panic!("HELLO {version} should parse");
        };
        assert_eq!(got.as_str(), version);
    }
}

#[test]
fn hello_with_l_of_128_or_65536_is_accepted() {
    for l in [MIN_MAX_LINE, MAX_MAX_LINE] {
        assert_eq!(
            parse(&format!("HELLO minichat/1 {l} hi")),
            Ok(ServerMessage::hello(Limits::new(l).unwrap(), text("hi")))
        );
    }
}

#[test]
fn hello_with_l_outside_128_to_65536_is_rejected() {
    for l in ["0", "1", "127", "65537", "100000", "18446744073709551616", "-1", "1e3", "1024.0"] {
        assert!(rejected(&format!("HELLO minichat/1 {l} hi")), "L = {l}");
    }
}

#[test]
fn hello_with_a_leading_zero_in_l_is_rejected() {
    assert!(rejected("HELLO minichat/1 01024 hi"));
    assert!(rejected("HELLO minichat/1 0128 hi"));
}

#[test]
fn hello_without_version_limit_or_text_is_rejected() {
    for line in ["HELLO", "HELLO minichat/1", "HELLO minichat/1 1024", "HELLO 1024 hi", "HELLO minichat/1 1024  "] {
        assert!(rejected(line), "{line:?}");
    }
}

#[test]
fn welcome_and_join_carry_one_valid_nick() {
    assert_eq!(parse("WELCOME _x-9"), Ok(ServerMessage::Welcome(nick("_x-9"))));
    assert_eq!(parse("JOIN Z"), Ok(ServerMessage::Join(nick("Z"))));
    for word in ["WELCOME", "JOIN"] {
        for arg in ["", " ", " 9lives", " zoë", " a b", " -x"] {
            assert_eq!(
                parse(&format!("{word}{arg}")).map_err(|e| e.kind),
                Err(ParseErrorKind::InvalidNick),
                "{word}{arg}"
            );
        }
    }
}

#[test]
fn a_nick_of_32_bytes_is_accepted_and_33_rejected_in_server_lines() {
    let n32 = "n".repeat(32);
    let n33 = "n".repeat(33);
    for word in ["WELCOME", "JOIN", "USERS"] {
        assert!(parse(&format!("{word} {n32}")).is_ok(), "{word}");
        assert!(rejected(&format!("{word} {n33}")), "{word}");
    }
    assert!(parse(&format!("MSG {n32} hi")).is_ok());
    assert!(rejected(&format!("MSG {n33} hi")));
    assert!(parse(&format!("LEAVE {n32} LOST")).is_ok());
    assert!(rejected(&format!("LEAVE {n33} LOST")));
}

#[test]
fn users_line_carries_one_or_more_nicks_in_order() {
    let Ok(ServerMessage::Users(list)) = parse("USERS c a B") else { panic!("USERS should parse") };
    assert_eq!(list.into_vec(), vec![nick("c"), nick("a"), nick("B")]);
    assert!(parse("USERS solo").is_ok());
}

#[test]
fn users_line_without_nicks_is_rejected() {
    assert!(rejected("USERS"));
    assert!(rejected("USERS "));
}

#[test]
fn users_line_with_an_invalid_nick_anywhere_is_rejected() {
    for line in ["USERS a 9b", "USERS a b!", "USERS 1", "USERS a, b", "USERS a zoë"] {
        assert_eq!(parse(line).map_err(|e| e.kind), Err(ParseErrorKind::InvalidNick), "{line:?}");
    }
}

#[test]
fn endusers_count_is_decimal_without_leading_zeros() {
    for (line, count) in
        [("ENDUSERS 0", 0), ("ENDUSERS 1", 1), ("ENDUSERS 5000", 5000), ("ENDUSERS 9999999999", 9_999_999_999)]
    {
        assert_eq!(parse(line), Ok(ServerMessage::EndUsers(count)), "{line:?}");
    }
    for line in ["ENDUSERS 00", "ENDUSERS 01", "ENDUSERS 007", "ENDUSERS -1", "ENDUSERS +1", "ENDUSERS 1a", "ENDUSERS"]
    {
        assert!(rejected(line), "{line:?}");
    }
}

#[test]
fn endusers_count_has_at_most_ten_digits() {
    // `count = "0" / %x31-39 *9DIGIT`.
    assert!(rejected("ENDUSERS 10000000000"));
    assert!(rejected("ENDUSERS 99999999999999999999999"));
}

#[test]
fn msg_relay_carries_the_nick_and_the_text_verbatim() {
    assert_eq!(parse("MSG alice  hi "), Ok(ServerMessage::Msg { from: nick("alice"), text: text(" hi ") }));
    assert_eq!(
        parse("MSG Bob hi alice — ça va ?"),
        Ok(ServerMessage::Msg { from: nick("Bob"), text: text("hi alice — ça va ?") })
    );
}

#[test]
fn msg_relay_without_text_is_rejected() {
    for line in ["MSG alice", "MSG alice ", "MSG alice    ", "MSG", "MSG  hi"] {
        assert!(rejected(line), "{line:?}");
    }
}

#[test]
fn leave_with_each_cause_and_no_reason() {
    for cause in LeaveCause::ALL {
        assert_eq!(
            parse(&format!("LEAVE bob {cause}")),
            Ok(ServerMessage::Leave { nick: nick("bob"), cause, reason: None }),
            "{cause}"
        );
    }
}

#[test]
fn leave_with_each_cause_and_a_reason() {
    // The grammar allows a reason after any cause; R-LEAVE-2 (only QUIT carries one) is a rule
    // for servers, checked by the conformance suite, not by the parser.
    for cause in LeaveCause::ALL {
        assert_eq!(
            parse(&format!("LEAVE bob {cause}  see you ")),
            Ok(ServerMessage::Leave { nick: nick("bob"), cause, reason: Some(text(" see you ")) }),
            "{cause}"
        );
    }
}

#[test]
fn leave_with_an_unknown_or_misspelled_cause_is_rejected() {
    for line in
        ["LEAVE bob", "LEAVE bob ", "LEAVE bob quit", "LEAVE bob Quit", "LEAVE bob KICKED", "LEAVE bob QUITTING"]
    {
        assert!(rejected(line), "{line:?}");
    }
}

#[test]
fn leave_with_a_reason_of_only_spaces_is_rejected() {
    assert!(rejected("LEAVE bob QUIT "));
    assert!(rejected("LEAVE bob QUIT    "));
}

#[test]
fn ping_and_pong_carry_one_token_of_at_most_32_bytes() {
    let t32 = "~".repeat(32);
    assert_eq!(parse(&format!("PING {t32}")), Ok(ServerMessage::Ping(token(&t32))));
    assert_eq!(parse(&format!("PONG {t32}")), Ok(ServerMessage::Pong(token(&t32))));
    for line in ["PING", "PING ", "PING a b", &format!("PONG {t32}x"), "PONG é"] {
        assert!(rejected(line), "{line:?}");
    }
}

#[test]
fn error_carries_each_code_and_a_text() {
    for code in ErrorCode::ALL {
        assert_eq!(parse(&format!("ERROR {code} why")), Ok(ServerMessage::Error { code, text: text("why") }), "{code}");
    }
}

#[test]
fn error_with_an_unknown_or_lowercase_code_is_rejected() {
    for line in ["ERROR nick_in_use x", "ERROR Flood x", "ERROR OOPS x", "ERROR NICK_IN_USE_ x"] {
        assert!(rejected(line), "{line:?}");
    }
}

#[test]
fn error_without_a_text_is_rejected() {
    // `<text>` is never empty (§15).
    for line in ["ERROR", "ERROR FLOOD", "ERROR FLOOD ", "ERROR FLOOD   "] {
        assert!(rejected(line), "{line:?}");
    }
}

#[test]
fn bye_with_or_without_a_text() {
    assert_eq!(parse("BYE"), Ok(ServerMessage::Bye(None)));
    assert_eq!(parse("BYE server going down"), Ok(ServerMessage::Bye(Some(text("server going down")))));
}

// ---------- strictness (R-SYN-2) ----------

#[test]
fn lowercase_or_mixed_case_command_words_are_rejected() {
    for (line, _) in examples() {
        let (word, rest) = line.split_at(line.find(' ').unwrap_or(line.len()));
        for variant in [word.to_ascii_lowercase(), format!("{}{}", &word[..1], word[1..].to_ascii_lowercase())] {
            let line = format!("{variant}{rest}");
            assert_eq!(parse(&line).map_err(|e| e.kind), Err(ParseErrorKind::UnknownCommand), "{line:?}");
        }
    }
}

#[test]
fn client_only_command_words_are_unknown_server_lines() {
    for line in ["USER alice", "QUIT", "QUIT bye", "HELP"] {
        assert_eq!(parse(line), Err(ParseError { kind: ParseErrorKind::UnknownCommand, offset: 0 }), "{line:?}");
    }
}

#[test]
fn a_double_space_between_fields_is_rejected() {
    let lines = [
        "HELLO  minichat/1 1024 hi",
        "HELLO minichat/1  1024 hi",
        "WELCOME  alice",
        "USERS  alice",
        "USERS alice  Bob",
        "ENDUSERS  1",
        "JOIN  alice",
        "MSG  alice hi",
        "LEAVE  bob QUIT",
        "LEAVE bob  QUIT",
        "PING  t",
        "PONG  t",
        "ERROR  FLOOD slow down",
        "BYE  ",
    ];
    for line in lines {
        assert!(rejected(line), "{line:?}");
    }
}

#[test]
fn a_space_before_a_text_field_belongs_to_the_text() {
    // `text` may start with spaces: this is a double space only to the eye.
    let Ok(ServerMessage::Error { text: t, .. }) = parse("ERROR FLOOD  slow down") else { panic!() };
    assert_eq!(t.as_str(), " slow down");
    assert_eq!(parse("BYE  bye"), Ok(ServerMessage::Bye(Some(text(" bye")))));
    let Ok(ServerMessage::Hello { text: t, .. }) = parse("HELLO minichat/1 1024  hi") else { panic!() };
    assert_eq!(t.as_str(), " hi");
}

#[test]
fn a_trailing_space_after_a_field_that_is_not_text_is_rejected() {
    let lines = [
        "WELCOME alice ",
        "USERS alice Bob ",
        "ENDUSERS 1 ",
        "JOIN alice ",
        "LEAVE bob LOST ",
        "PING t ",
        "PONG t ",
        "BYE ",
    ];
    for line in lines {
        assert!(rejected(line), "{line:?}");
    }
}

#[test]
fn a_trailing_space_in_a_text_field_is_part_of_the_text() {
    assert_eq!(parse("MSG alice hi "), Ok(ServerMessage::Msg { from: nick("alice"), text: text("hi ") }));
    assert_eq!(parse("BYE bye "), Ok(ServerMessage::Bye(Some(text("bye ")))));
}

#[test]
fn a_control_character_in_a_server_line_is_rejected_at_its_offset() {
    assert_eq!(parse("MSG alice hi\u{1b}[2J"), Err(ParseError { kind: ParseErrorKind::ControlCharacter, offset: 12 }));
    assert_eq!(parse("BYE \u{85}"), Err(ParseError { kind: ParseErrorKind::ControlCharacter, offset: 4 }));
}

#[test]
fn an_empty_server_line_is_rejected() {
    assert!(rejected(""));
}

// ---------- what a server builds fits L (R-MSG-3's reason for L − 64) ----------

#[test]
fn a_relay_or_leave_built_from_the_longest_nick_and_text_fits_l() {
    for l in [MIN_MAX_LINE, 1024, MAX_MAX_LINE] {
        let limits = Limits::new(l).unwrap();
        let from = nick(&"n".repeat(32));
        let words = text(&"w".repeat(limits.max_text()));
        let lines = [
            ServerMessage::Msg { from, text: words.clone() },
            ServerMessage::Leave { nick: from, cause: LeaveCause::Timeout, reason: Some(words.clone()) },
        ];
        for msg in lines {
            let wire = msg.to_bytes();
            assert!(wire.len() - 1 <= l, "L = {l}: {} bytes", wire.len() - 1);
            assert_eq!(parse(std::str::from_utf8(&wire[..wire.len() - 1]).unwrap()), Ok(msg));
        }
    }
}

#[test]
fn server_lines_end_with_a_single_lf() {
    // R-TRANS-3.
    for (_, msg) in examples() {
        let wire = msg.to_bytes();
        assert!(wire.ends_with(b"\n") && !wire.ends_with(b"\r\n"), "{msg:?}");
        assert_eq!(wire.iter().filter(|&&b| b == b'\n').count(), 1, "{msg:?}");
    }
}
