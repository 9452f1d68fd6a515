//! Snapshots (insta) of what people and other programs read: each message's wire form, and each
//! error's text. A change to either shows up as a snapshot diff to review (`cargo insta review`).
//!
//! Every snapshot is produced by the code under test from real inputs, and each list is checked
//! to cover every variant: an exhaustive `match` names the variants, so adding one to the crate
//! breaks the build here until it is added to the snapshot.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use minichat_protocol::{
    ClientMessage, ErrorCode, FrameError, LeaveCause, Limits, LineFramer, Nick, NickError, NickList, ParseErrorKind,
    ServerMessage, Text, TextError, Token, TokenError, encode_user_list, parse_client_line,
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

fn server_variant(msg: &ServerMessage) -> &'static str {
    match msg {
        ServerMessage::Hello { .. } => "Hello",
        ServerMessage::Welcome(_) => "Welcome",
        ServerMessage::Users(_) => "Users",
        ServerMessage::EndUsers(_) => "EndUsers",
        ServerMessage::Join(_) => "Join",
        ServerMessage::Msg { .. } => "Msg",
        ServerMessage::Leave { .. } => "Leave",
        ServerMessage::Ping(_) => "Ping",
        ServerMessage::Pong(_) => "Pong",
        ServerMessage::Error { .. } => "Error",
        ServerMessage::Bye(_) => "Bye",
    }
}

fn client_variant(msg: &ClientMessage) -> &'static str {
    match msg {
        ClientMessage::User(_) => "User",
        ClientMessage::Msg(_) => "Msg",
        ClientMessage::Users => "Users",
        ClientMessage::Ping(_) => "Ping",
        ClientMessage::Pong(_) => "Pong",
        ClientMessage::Quit(_) => "Quit",
    }
}

/// One row per value: its variant and its exact bytes on the wire (LF shown as `\n`).
fn wire_table<'a, T: 'a>(
    values: impl IntoIterator<Item = &'a T>,
    variant: fn(&T) -> &'static str,
    encode: fn(&T) -> Vec<u8>,
) -> (String, BTreeSet<&'static str>) {
    let mut table = String::new();
    let mut seen = BTreeSet::new();
    for value in values {
        seen.insert(variant(value));
        let wire = String::from_utf8(encode(value)).unwrap();
        writeln!(table, "{:<9} {wire:?}", variant(value)).unwrap();
    }
    (table, seen)
}

#[test]
fn server_messages_on_the_wire() {
    let mut messages = vec![
        ServerMessage::hello(Limits::DEFAULT, text("welcome to minichat; register with: USER <nick>")),
        ServerMessage::Hello { version: token("minichat/2"), limits: Limits::MIN, text: text(" hi ") },
        ServerMessage::Welcome(nick("alice")),
        ServerMessage::Users(NickList::new(vec![nick("alice"), nick("Bob"), nick("_c-3")]).unwrap()),
        ServerMessage::EndUsers(3),
        ServerMessage::EndUsers(0),
        ServerMessage::Join(nick("Bob")),
        ServerMessage::Msg { from: nick("Bob"), text: text(" hi alice — ça va ? 🎉 ") },
    ];
    for cause in LeaveCause::ALL {
        messages.push(ServerMessage::Leave { nick: nick("Bob"), cause, reason: None });
    }
    messages.push(ServerMessage::Leave { nick: nick("Bob"), cause: LeaveCause::Quit, reason: Some(text("see you")) });
    messages.push(ServerMessage::Ping(token("idle-1")));
    messages.push(ServerMessage::Pong(token("42")));
    for code in ErrorCode::ALL {
        messages.push(ServerMessage::Error { code, text: text("why") });
    }
    messages.push(ServerMessage::Bye(None));
    messages.push(ServerMessage::Bye(Some(text("see you"))));

    let (table, seen) = wire_table(&messages, server_variant, |m| m.to_bytes().to_vec());
    assert_eq!(seen.len(), 11, "every ServerMessage variant is listed: {seen:?}");
    insta::assert_snapshot!(table);
}

#[test]
fn a_user_list_on_the_wire() {
    let nicks: Vec<Nick> = (0..8).map(|i| nick(&format!("user{i}_{}", "x".repeat(20)))).collect();
    let mut wire = Vec::new();
    encode_user_list(&nicks, Limits::MIN, &mut wire);
    insta::assert_snapshot!(String::from_utf8(wire).unwrap());
}

#[test]
fn client_messages_on_the_wire() {
    let messages = [
        ClientMessage::User(nick("alice")),
        ClientMessage::Msg(text("hello Bob!")),
        ClientMessage::Msg(text("  ça va — 你好 🎉 ")),
        ClientMessage::Users,
        ClientMessage::Ping(token("42")),
        ClientMessage::Pong(token("idle-1")),
        ClientMessage::Quit(None),
        ClientMessage::Quit(Some(text("see you"))),
    ];
    let (table, seen) = wire_table(&messages, client_variant, ClientMessage::to_line);
    assert_eq!(seen.len(), 6, "every ClientMessage variant is listed: {seen:?}");
    insta::assert_snapshot!(table);
}

fn parse_kind_variant(kind: ParseErrorKind) -> &'static str {
    match kind {
        ParseErrorKind::ControlCharacter => "ControlCharacter",
        ParseErrorKind::UnknownCommand => "UnknownCommand",
        ParseErrorKind::BadArguments => "BadArguments",
        ParseErrorKind::InvalidNick => "InvalidNick",
        ParseErrorKind::EmptyText => "EmptyText",
        ParseErrorKind::TextTooLong { .. } => "TextTooLong",
    }
}

fn frame_variant(e: FrameError) -> &'static str {
    match e {
        FrameError::LineTooLong { .. } => "LineTooLong",
        FrameError::InvalidUtf8 { .. } => "InvalidUtf8",
    }
}

fn nick_variant(e: &NickError) -> &'static str {
    match e {
        NickError::Empty => "Empty",
        NickError::TooLong(_) => "TooLong",
        NickError::BadFirst(_) => "BadFirst",
        NickError::BadChar { .. } => "BadChar",
    }
}

fn text_variant(e: &TextError) -> &'static str {
    match e {
        TextError::Empty => "Empty",
        TextError::ControlCharacter { .. } => "ControlCharacter",
        TextError::TooLong { .. } => "TooLong",
    }
}

fn token_variant(e: &TokenError) -> &'static str {
    match e {
        TokenError::Empty => "Empty",
        TokenError::TooLong(_) => "TooLong",
        TokenError::BadChar { .. } => "BadChar",
    }
}

/// Appends `input -> Type::Variant: text` for one error (`Type` alone for a struct), and notes the
/// variant as covered.
fn row(
    out: &mut String,
    seen: &mut BTreeSet<String>,
    input: &str,
    ty: &str,
    variant: &str,
    error: &dyn std::fmt::Display,
) {
    let name = if variant.is_empty() { ty.to_owned() } else { format!("{ty}::{variant}") };
    writeln!(out, "{input:<24} -> {name}: {error}").unwrap();
    seen.insert(name);
}

#[test]
fn error_texts_for_humans() {
    let mut out = String::new();
    let mut seen = BTreeSet::new();

    out.push_str("# parse_client_line (L = 1024)\n");
    let long = format!("MSG {}", "x".repeat(961));
    for line in ["MSG a\tb", "HELP", "USERS all", "USER 9lives", "MSG", &long] {
        let e = parse_client_line(line, Limits::DEFAULT).unwrap_err();
        let shown = if line.len() > 20 { "MSG + 961 bytes".to_owned() } else { format!("{line:?}") };
        row(&mut out, &mut seen, &shown, "ParseErrorKind", parse_kind_variant(e.kind), &e);
    }

    out.push_str("\n# LineFramer (L = 128)\n");
    let mut framer = LineFramer::new(Limits::MIN);
    for (shown, bytes) in
        [("129 bytes + LF", [&[b'x'; 129][..], b"\n"].concat()), ("\"ab\\xffcd\\n\"", b"ab\xffcd\n".to_vec())]
    {
        let mut input = &bytes[..];
        let e = framer.next_line(&mut input).unwrap().unwrap_err();
        row(&mut out, &mut seen, shown, "FrameError", frame_variant(e), &e);
    }

    out.push_str("\n# Nick::new\n");
    for input in ["", &"n".repeat(33), "9lives", "zoë"] {
        let e = Nick::new(input).unwrap_err();
        let shown = if input.len() > 20 { "33 bytes".to_owned() } else { format!("{input:?}") };
        row(&mut out, &mut seen, &shown, "NickError", nick_variant(&e), &e);
    }

    out.push_str("\n# Text::new\n");
    for input in ["   ", "hi\u{1b}[2J", &"t".repeat(65473)] {
        let e = Text::new(input).unwrap_err();
        let shown = if input.len() > 20 { "65473 bytes".to_owned() } else { format!("{input:?}") };
        row(&mut out, &mut seen, &shown, "TextError", text_variant(&e), &e);
    }

    out.push_str("\n# Token::new\n");
    for input in ["", &"t".repeat(33), "a b"] {
        let e = Token::new(input).unwrap_err();
        let shown = if input.len() > 20 { "33 bytes".to_owned() } else { format!("{input:?}") };
        row(&mut out, &mut seen, &shown, "TokenError", token_variant(&e), &e);
    }

    out.push_str("\n# Limits::new\n");
    for l in [127, 65537] {
        row(&mut out, &mut seen, &l.to_string(), "LimitsError", "", &Limits::new(l).unwrap_err());
    }

    out.push_str("\n# NickList::new\n");
    row(&mut out, &mut seen, "[]", "EmptyNickList", "", &NickList::new(Vec::new()).unwrap_err());

    let variants = seen.iter().filter(|v| v.contains("::")).count();
    assert_eq!(variants, 6 + 2 + 4 + 3 + 3, "every error variant is listed: {seen:?}");
    insta::assert_snapshot!(out);
}
