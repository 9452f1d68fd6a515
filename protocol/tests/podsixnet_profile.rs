//! The PodSixNet profile's mapping (SPEC.md §16): which dict stands for which line, in both
//! directions, checked against frames made by the real library (`tests/data/podsixnet/vectors.json`,
//! PodSixNet 0.11.0).
//!
//! - Server → client (R-PSN-6): every [`ServerFrame`] survives `to_value` → `from_value`, and the
//!   whole trip through bytes (`to_bytes` → [`Framer`] → [`decode`]); the frames PodSixNet's own
//!   `Server` sends (`connected`, `players`) are byte for byte what it sends.
//! - Client → server (R-PSN-4, R-PSN-5): the frames real PodSixNet programs send map to the
//!   message they stand for, and every frame that does not fit gets the code R-PSN-5 gives;
//!   [`client_value`] is read back by [`decode_client_payload`] for any valid message; the text
//!   limit is *L* − 64 bytes, as for lines (R-MSG-3).

use minichat_protocol::podsixnet::{
    DEFAULT_MAX_PAYLOAD, Dict, Framer, NickAction, Rejection, ServerFrame, TERMINATOR, Value, client_message,
    client_value, decode, decode_client_payload, encode, frame,
};
use minichat_protocol::{
    ClientMessage, DEFAULT_MAX_LINE, ErrorCode, LeaveCause, Limits, MAX_MAX_LINE, MIN_MAX_LINE, Nick, ServerMessage,
    Text, Token, is_control,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use serde_json::Value as Json;

const VECTORS: &str = include_str!("data/podsixnet/vectors.json");

// ---------- helpers ----------

fn nick(s: &str) -> Nick {
    Nick::new(s).unwrap()
}

fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

fn token(s: &str) -> Token {
    Token::new(s).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn vectors() -> Json {
    serde_json::from_str(VECTORS).expect("vectors.json is JSON")
}

/// The vector named `prefix`, or else the only one whose name starts with it (names are unique
/// and long).
fn vector(doc: &Json, prefix: &str) -> Json {
    let all = doc["vectors"].as_array().expect("a vectors list");
    let name = |v: &&Json| v["name"].as_str().unwrap_or_default().to_owned();
    if let Some(exact) = all.iter().find(|v| name(v) == prefix) {
        return exact.clone();
    }
    let matching: Vec<&Json> = all.iter().filter(|v| name(v).starts_with(prefix)).collect();
    assert_eq!(matching.len(), 1, "exactly one vector named {prefix:?}…");
    matching[0].clone()
}

fn str_field<'a>(v: &'a Json, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// The payload (no terminator) PodSixNet's `rencode.dumps` wrote for the vector.
fn payload_of(doc: &Json, prefix: &str) -> Vec<u8> {
    unhex(str_field(&vector(doc, prefix), "hex"))
}

/// Every payload a framer cuts from `stream`, in order.
fn payloads(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut framer = Framer::default();
    let mut input = stream;
    let mut out = Vec::new();
    while let Some(next) = framer.next_frame(&mut input) {
        out.push(next.expect("every test frame fits the default limit").to_vec());
    }
    assert_eq!(framer.buffered(), 0, "a partial frame was left over");
    out
}

fn code(result: Result<ClientMessage, Rejection>) -> Result<ClientMessage, ErrorCode> {
    result.map_err(|rejection| rejection.code)
}

/// A client frame built in the test: a dict with these string items, in this order.
fn dict(items: &[(&str, Value)]) -> Value {
    let mut d = Dict::new();
    for (key, value) in items {
        d.insert_str(*key, value.clone());
    }
    Value::Dict(d)
}

fn s(value: &str) -> Value {
    Value::Str(value.to_owned())
}

/// One frame of every kind, with optional parts both present and absent.
fn one_of_each_server_frame() -> Vec<ServerFrame> {
    vec![
        ServerFrame::Connected,
        ServerFrame::Hello {
            version: token("minichat/1"),
            limits: Limits::DEFAULT,
            text: text("welcome to minichat; register with: USER <nick>"),
        },
        ServerFrame::Welcome(nick("alice")),
        ServerFrame::Players(vec![]),
        ServerFrame::Players(vec![nick("bob"), nick("alice")]),
        ServerFrame::Join(nick("alice")),
        ServerFrame::Message { from: nick("alice"), text: text("bonjour à tous") },
        ServerFrame::Leave { nick: nick("bob"), cause: LeaveCause::Quit, reason: None },
        ServerFrame::Leave { nick: nick("bob"), cause: LeaveCause::Quit, reason: Some(text("see you")) },
        ServerFrame::Leave { nick: nick("bob"), cause: LeaveCause::Timeout, reason: None },
        ServerFrame::Pong(token("42")),
        ServerFrame::Error { code: ErrorCode::NickInUse, text: text("the nick alice is taken; choose another") },
        ServerFrame::Bye(None),
        ServerFrame::Bye(Some(text("server shutting down"))),
    ]
}

// ---------- server frames (R-PSN-6) ----------

#[test]
fn every_server_frame_round_trips_through_its_dict() {
    for sent in one_of_each_server_frame() {
        let value = sent.to_value();
        assert_eq!(ServerFrame::from_value(&value), Ok(sent.clone()), "{value:?}");
    }
}

#[test]
fn every_server_frame_round_trips_through_its_bytes() {
    for sent in one_of_each_server_frame() {
        let bytes = sent.to_bytes().expect("a valid frame never holds the terminator (R-PSN-3)");
        assert!(bytes.ends_with(&TERMINATOR), "{sent:?}");
        let cut = payloads(&bytes);
        assert_eq!(cut.len(), 1, "{sent:?} is one frame, cut where it ends");
        let value = decode(&cut[0]).expect("the payload decodes");
        assert_eq!(ServerFrame::from_value(&value), Ok(sent));
    }
}

#[test]
fn server_frames_start_with_action_and_keep_spec_key_order() {
    let keys = |frame: &ServerFrame| -> Vec<String> {
        let value = frame.to_value();
        value.as_dict().unwrap().entries().iter().map(|(k, _)| k.as_str().unwrap().to_owned()).collect()
    };
    let expected: [(&ServerFrame, &[&str]); 4] = [
        (&ServerFrame::Message { from: nick("a"), text: text("t") }, &["action", "message", "who", "expediteur"]),
        (
            &ServerFrame::Leave { nick: nick("a"), cause: LeaveCause::Quit, reason: Some(text("r")) },
            &["action", "nick", "cause", "reason"],
        ),
        (
            &ServerFrame::Hello { version: token("minichat/1"), limits: Limits::MIN, text: text("t") },
            &["action", "version", "max_line", "text"],
        ),
        (&ServerFrame::Error { code: ErrorCode::Flood, text: text("t") }, &["action", "code", "text"]),
    ];
    for (frame, want) in expected {
        assert_eq!(keys(frame), want, "{frame:?}");
    }
    for frame in one_of_each_server_frame() {
        assert_eq!(keys(&frame)[0], "action", "{frame:?}");
    }
}

#[test]
fn a_relayed_message_names_its_sender_in_both_who_and_expediteur() {
    let value = ServerFrame::Message { from: nick("alice"), text: text("salut") }.to_value();
    assert_eq!(value.dict_get("who"), Some(&s("alice")), "PodSixNet's example client reads who");
    assert_eq!(value.dict_get("expediteur"), Some(&s("alice")), "the course's client reads expediteur");
    assert_eq!(value.dict_get("message"), Some(&s("salut")));
}

#[test]
fn connected_is_byte_for_byte_what_a_podsixnet_server_sends_on_accept() {
    let doc = vectors();
    let v = vector(&doc, "seed connected");
    let bytes = ServerFrame::Connected.to_bytes().unwrap();
    assert_eq!(hex(&bytes), str_field(&v, "frame_hex"));
}

#[test]
fn players_is_byte_for_byte_what_podsixnet_sends_for_the_same_list() {
    let doc = vectors();
    let v = vector(&doc, "seed players");
    let bytes = ServerFrame::Players(vec![nick("alice"), nick("bob")]).to_bytes().unwrap();
    assert_eq!(hex(&bytes), str_field(&v, "frame_hex"));
}

#[test]
fn every_line_message_but_user_lists_and_ping_has_its_frame() {
    let l = Limits::DEFAULT;
    let mapped = [
        (ServerMessage::hello(l, text("hi")), true),
        (ServerMessage::Welcome(nick("a")), true),
        (ServerMessage::Join(nick("a")), true),
        (ServerMessage::Msg { from: nick("a"), text: text("t") }, true),
        (ServerMessage::Leave { nick: nick("a"), cause: LeaveCause::Lost, reason: None }, true),
        (ServerMessage::Pong(token("p")), true),
        (ServerMessage::Error { code: ErrorCode::Flood, text: text("t") }, true),
        (ServerMessage::Bye(None), true),
        // A user list is one `players` frame, and PodSixNet connections get no PING (R-PSN-8).
        (ServerMessage::EndUsers(1), false),
        (ServerMessage::Ping(token("p")), false),
    ];
    for (message, has_frame) in mapped {
        assert_eq!(ServerFrame::from_message(&message).is_some(), has_frame, "{message:?}");
    }
    assert_eq!(
        ServerFrame::from_message(&ServerMessage::Msg { from: nick("a"), text: text("t") }),
        Some(ServerFrame::Message { from: nick("a"), text: text("t") })
    );
}

// ---------- client frames from the real library (R-PSN-4) ----------

#[test]
fn the_course_username_frame_registers() {
    let payload = payload_of(&vectors(), "seed username");
    assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Ok(ClientMessage::User(nick("alice"))));
}

#[test]
fn the_podsixnet_example_nickname_frame_registers() {
    let payload = payload_of(&vectors(), "seed nickname");
    assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Ok(ClientMessage::User(nick("bob"))));
}

#[test]
fn the_course_message_with_expediteur_is_a_message_and_the_extra_key_is_ignored() {
    let payload = payload_of(&vectors(), "seed message (non-ASCII, expediteur)");
    assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Ok(ClientMessage::Msg(text("bonjour à tous"))));
}

#[test]
fn extra_keys_of_any_type_are_ignored() {
    let doc = vectors();
    // {"action": "message", "message": "t", "n": 2960685}: PodSixNet programs add their own keys.
    let payload = payload_of(&doc, "dict ending with int 2960685");
    assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Ok(ClientMessage::Msg(text("t"))));
    let payload = payload_of(&doc, "examples/ChatServer message relay");
    assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Ok(ClientMessage::Msg(text("bonjour à tous"))));
}

#[test]
fn a_message_with_empty_text_is_empty_message() {
    let payload = payload_of(&vectors(), "message with empty text");
    assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Err(ErrorCode::EmptyMessage));
    let spaces = dict(&[("action", s("message")), ("message", s("   "))]);
    assert_eq!(code(client_message(&spaces, Limits::DEFAULT)), Err(ErrorCode::EmptyMessage));
}

#[test]
fn a_message_holding_the_terminator_is_a_control_character_when_read_whole() {
    // As the dict PodSixNet meant to send: U+0000 is a control character (R-TRANS-8).
    let payload = payload_of(&vectors(), "message containing the frame terminator");
    assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Err(ErrorCode::ControlCharacter));
}

#[test]
fn a_message_holding_the_terminator_arrives_as_two_bad_frames_and_the_stream_stays_in_step() {
    // As it arrives: PodSixNet's Channel.Send does not escape, so the frame is cut inside the
    // text; each piece is refused on its own, and the frame after them is read normally.
    let doc = vectors();
    let broken = unhex(str_field(&vector(&doc, "message containing the frame terminator"), "frame_hex"));
    let next = unhex(str_field(&vector(&doc, "seed username"), "frame_hex"));
    let cut = payloads(&[broken, next].concat());
    assert_eq!(cut.len(), 3, "the broken frame is cut in two, then the next frame");
    assert_eq!(code(decode_client_payload(&cut[0], Limits::DEFAULT)), Err(ErrorCode::BadArguments));
    assert_eq!(code(decode_client_payload(&cut[1], Limits::DEFAULT)), Err(ErrorCode::BadArguments));
    assert_eq!(code(decode_client_payload(&cut[2], Limits::DEFAULT)), Ok(ClientMessage::User(nick("alice"))));
}

#[test]
fn users_ping_pong_and_quit_map_to_their_lines() {
    let l = Limits::DEFAULT;
    let cases = [
        (dict(&[("action", s("users"))]), ClientMessage::Users),
        (dict(&[("action", s("ping")), ("token", s("42"))]), ClientMessage::Ping(token("42"))),
        (dict(&[("action", s("pong")), ("token", s("idle-1"))]), ClientMessage::Pong(token("idle-1"))),
        (dict(&[("action", s("quit"))]), ClientMessage::Quit(None)),
        (dict(&[("action", s("quit")), ("reason", Value::None)]), ClientMessage::Quit(None)),
        (dict(&[("action", s("quit")), ("reason", s("see you"))]), ClientMessage::Quit(Some(text("see you")))),
        (dict(&[("action", s("quit")), ("reason", s("  "))]), ClientMessage::Quit(None)),
        // Leading spaces are part of a text, as in a line (SPEC.md §3).
        (dict(&[("action", s("message")), ("message", s("  indented"))]), ClientMessage::Msg(text("  indented"))),
    ];
    for (value, want) in cases {
        assert_eq!(code(client_message(&value, l)), Ok(want), "{value:?}");
    }
}

// ---------- client frames that do not fit (R-PSN-5) ----------

/// What R-PSN-4/5 say about a value without looking at our decoder: computed from the JSON that
/// PodSixNet's own `loads` returned.
fn expected_for_non_message(decoded: &Json) -> Option<ErrorCode> {
    const ACTIONS: [&str; 7] = ["username", "nickname", "message", "users", "ping", "pong", "quit"];
    let action = decoded.as_object().filter(|o| !o.contains_key("$dict")).and_then(|o| o.get("action"));
    match action.and_then(Json::as_str) {
        None => Some(ErrorCode::BadArguments),
        Some(a) if !ACTIONS.contains(&a) => Some(ErrorCode::UnknownCommand),
        Some(_) => None,
    }
}

#[test]
fn every_vector_that_is_not_a_dict_with_a_known_action_gets_the_code_r_psn_5_gives() {
    let doc = vectors();
    let mut checked = 0;
    for v in doc["vectors"].as_array().unwrap() {
        let name = str_field(v, "name");
        let Some(want) = expected_for_non_message(&v["decoded"]) else { continue };
        let payload = unhex(str_field(v, "hex"));
        assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Err(want), "{name}");
        checked += 1;
    }
    // Strings, numbers, lists, tuples, dicts without an action, and the actions of other programs
    // (players, connected, error, disconnected, state, …).
    assert!(checked >= 90, "only {checked} vectors checked");
}

#[test]
fn non_dict_values_are_bad_arguments() {
    let doc = vectors();
    for prefix in
        ["str 1 byte", "int 0", "None", "list of 1 ints", "tuple of 2", "dict with 0 entries", "dict with int"]
    {
        let payload = payload_of(&doc, prefix);
        assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Err(ErrorCode::BadArguments), "{prefix}");
    }
    let number_action = dict(&[("action", Value::Int(5))]);
    assert_eq!(code(client_message(&number_action, Limits::DEFAULT)), Err(ErrorCode::BadArguments));
}

#[test]
fn actions_of_other_programs_are_unknown_commands() {
    let doc = vectors();
    for prefix in ["seed players", "seed connected", "seed disconnected", "seed error as list", "nested dict"] {
        let payload = payload_of(&doc, prefix);
        assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Err(ErrorCode::UnknownCommand), "{prefix}");
    }
    // Actions are case-sensitive, like PodSixNet's Network_<action> dispatch.
    let shouted = dict(&[("action", s("MESSAGE")), ("message", s("hi"))]);
    assert_eq!(code(client_message(&shouted, Limits::DEFAULT)), Err(ErrorCode::UnknownCommand));
}

#[test]
fn a_missing_or_non_string_required_key_is_bad_arguments() {
    let cases = [
        dict(&[("action", s("username"))]),
        dict(&[("action", s("username")), ("username", Value::Int(7))]),
        // The course's key under PodSixNet's action, and the other way round.
        dict(&[("action", s("nickname")), ("username", s("alice"))]),
        dict(&[("action", s("message"))]),
        dict(&[("action", s("message")), ("message", Value::List(vec![s("hi")]))]),
        dict(&[("action", s("ping"))]),
        dict(&[("action", s("pong")), ("token", Value::Int(42))]),
        dict(&[("action", s("quit")), ("reason", Value::Int(1))]),
        // Arguments that do not fit the line: a token with a space, USERS takes none.
        dict(&[("action", s("ping")), ("token", s("a b"))]),
        dict(&[("action", s("ping")), ("token", s(""))]),
    ];
    for value in cases {
        assert_eq!(code(client_message(&value, Limits::DEFAULT)), Err(ErrorCode::BadArguments), "{value:?}");
    }
}

#[test]
fn nicks_and_texts_follow_the_line_rules() {
    let l = Limits::DEFAULT;
    let user = |n: &str| dict(&[("action", s("username")), ("username", s(n))]);
    let msg = |t: &str| dict(&[("action", s("message")), ("message", s(t))]);
    for bad in ["", "9lives", "alice bob", " alice", "élodie", &"a".repeat(33)] {
        assert_eq!(code(client_message(&user(bad), l)), Err(ErrorCode::InvalidNick), "{bad:?}");
    }
    assert_eq!(code(client_message(&user(&"a".repeat(32)), l)), Ok(ClientMessage::User(nick(&"a".repeat(32)))));
    for bad in ["a\u{1b}[2J", "bell\u{7}", "c1\u{85}", "line\nbreak", "x\0y"] {
        assert_eq!(code(client_message(&msg(bad), l)), Err(ErrorCode::ControlCharacter), "{bad:?}");
    }
    // A control character in a nick is reported as one, as the line USER a<ESC> would be (§3.1).
    assert_eq!(code(client_message(&user("a\u{1b}"), l)), Err(ErrorCode::ControlCharacter));
}

#[test]
fn rencode_that_is_not_valid_is_bad_arguments_and_bad_utf8_is_invalid_utf8() {
    let doc = vectors();
    for v in doc["invalid"].as_array().unwrap() {
        let name = str_field(v, "name");
        let want = match str_field(v, "loads_exception") {
            "UnicodeDecodeError" => ErrorCode::InvalidUtf8,
            _ => ErrorCode::BadArguments,
        };
        let payload = unhex(str_field(v, "hex"));
        assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Err(want), "{name}");
    }
}

#[test]
fn lenient_rencode_is_read_and_a_duplicated_key_is_bad_arguments() {
    let doc = vectors();
    let lenient = |prefix: &str| -> Vec<u8> {
        let v = doc["lenient"].as_array().unwrap().iter().find(|v| str_field(v, "name").starts_with(prefix)).unwrap();
        unhex(str_field(v, "hex"))
    };
    // {"action": "nickname", "nickname": "abc"} in the 0x3c … 0x7f dict form.
    let payload = lenient("0x3c dict form");
    assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Ok(ClientMessage::User(nick("abc"))));
    let payload = lenient("duplicate dict key");
    assert_eq!(code(decode_client_payload(&payload, Limits::DEFAULT)), Err(ErrorCode::BadArguments));
}

// ---------- the text limit (R-MSG-3 through R-PSN-4) ----------

#[test]
fn a_text_of_l_minus_64_bytes_is_accepted_and_one_more_byte_is_text_too_long() {
    for l in [MIN_MAX_LINE, DEFAULT_MAX_LINE, MAX_MAX_LINE] {
        let limits = Limits::new(l).unwrap();
        let max = l - 64;
        for (key, action) in [("message", "message"), ("reason", "quit")] {
            let at_limit = dict(&[("action", s(action)), (key, s(&"x".repeat(max)))]);
            let over = dict(&[("action", s(action)), (key, s(&"x".repeat(max + 1)))]);
            let payload = encode(&at_limit).unwrap();
            assert!(decode_client_payload(&payload, limits).is_ok(), "{action} of {max} bytes at L={l}");
            let payload = encode(&over).unwrap();
            assert_eq!(
                code(decode_client_payload(&payload, limits)),
                Err(ErrorCode::TextTooLong),
                "{action} of {} bytes at L={l}",
                max + 1
            );
        }
    }
}

#[test]
fn the_text_limit_counts_utf8_bytes_not_characters() {
    let limits = Limits::MIN; // L − 64 = 64 bytes
    let msg = |t: String| dict(&[("action", s("message")), ("message", Value::Str(t))]);
    assert!(client_message(&msg("é".repeat(32)), limits).is_ok(), "32 × é = 64 bytes");
    assert_eq!(code(client_message(&msg(format!("{}x", "é".repeat(32))), limits)), Err(ErrorCode::TextTooLong));
}

#[test]
fn the_client_frames_a_text_of_l_minus_64_bytes_without_help_and_reads_it_back() {
    let limits = Limits::MIN;
    let message = ClientMessage::Msg(text(&"y".repeat(limits.max_text())));
    let payload = encode(&client_value(&message, NickAction::Username)).unwrap();
    assert_eq!(code(decode_client_payload(&payload, limits)), Ok(message));
}

// ---------- properties ----------

fn limits() -> impl Strategy<Value = Limits> {
    prop_oneof![Just(MIN_MAX_LINE), Just(DEFAULT_MAX_LINE), MIN_MAX_LINE..=MAX_MAX_LINE]
        .prop_map(|l| Limits::new(l).unwrap())
}

fn any_nick() -> impl Strategy<Value = Nick> {
    "[A-Za-z_][A-Za-z0-9_-]{0,31}".prop_map(|s| Nick::new(&s).unwrap())
}

fn any_token() -> impl Strategy<Value = Token> {
    "[!-~]{1,32}".prop_map(|s| Token::new(&s).unwrap())
}

/// A valid text of at most `max` bytes: spaces anywhere (leading and trailing included), ASCII,
/// and any other non-control character.
fn any_text(max: usize) -> impl Strategy<Value = Text> {
    let char = prop_oneof![
        2 => Just(' '),
        6 => proptest::char::range('!', '~'),
        2 => any::<char>().prop_map(|c| if is_control(c) { '\u{fffd}' } else { c }),
    ];
    (vec(char, 1..120), 1..=max).prop_map(|(chars, len)| {
        let mut s = String::new();
        for c in chars {
            if s.len() + c.len_utf8() > len {
                break;
            }
            s.push(c);
        }
        if s.bytes().all(|b| b == b' ') {
            s.pop();
            s.push('x');
        }
        Text::new(s).unwrap()
    })
}

fn client_message_within(limits: Limits) -> impl Strategy<Value = ClientMessage> {
    let max = limits.max_text();
    prop_oneof![
        any_nick().prop_map(ClientMessage::User),
        any_text(max).prop_map(ClientMessage::Msg),
        Just(ClientMessage::Users),
        any_token().prop_map(ClientMessage::Ping),
        any_token().prop_map(ClientMessage::Pong),
        option::of(any_text(max)).prop_map(ClientMessage::Quit),
    ]
}

fn any_server_frame() -> impl Strategy<Value = ServerFrame> {
    let max = MAX_MAX_LINE - 64;
    let cause = proptest::sample::select(LeaveCause::ALL.to_vec());
    let code = proptest::sample::select(ErrorCode::ALL.to_vec());
    prop_oneof![
        Just(ServerFrame::Connected),
        (any_token(), limits(), any_text(max)).prop_map(|(version, limits, text)| ServerFrame::Hello {
            version,
            limits,
            text
        }),
        any_nick().prop_map(ServerFrame::Welcome),
        vec(any_nick(), 0..50).prop_map(ServerFrame::Players),
        any_nick().prop_map(ServerFrame::Join),
        (any_nick(), any_text(max)).prop_map(|(from, text)| ServerFrame::Message { from, text }),
        (any_nick(), cause, option::of(any_text(max))).prop_map(|(nick, cause, reason)| ServerFrame::Leave {
            nick,
            cause,
            reason
        }),
        any_token().prop_map(ServerFrame::Pong),
        (code, any_text(max)).prop_map(|(code, text)| ServerFrame::Error { code, text }),
        option::of(any_text(max)).prop_map(ServerFrame::Bye),
    ]
}

proptest! {
    #[test]
    fn every_valid_client_message_survives_client_value_and_decode_client_payload(
        (limits, message) in limits().prop_flat_map(|l| (Just(l), client_message_within(l))),
        nickname_form in any::<bool>(),
    ) {
        let nick_action = if nickname_form { NickAction::Nickname } else { NickAction::Username };
        let payload = encode(&client_value(&message, nick_action)).unwrap();
        // R-PSN-3: a valid message never makes a frame PodSixNet would cut in the wrong place.
        let framed = frame(&payload).unwrap();
        let cut = payloads(&framed);
        prop_assert_eq!(cut.len(), 1);
        prop_assert_eq!(decode_client_payload(&cut[0], limits), Ok(message));
    }

    #[test]
    fn every_valid_server_frame_survives_its_bytes(sent in any_server_frame()) {
        let bytes = sent.to_bytes().unwrap();
        let cut = payloads(&bytes);
        prop_assert_eq!(cut.len(), 1);
        prop_assert!(cut[0].len() <= DEFAULT_MAX_PAYLOAD);
        let value = decode(&cut[0]).unwrap();
        prop_assert_eq!(ServerFrame::from_value(&value), Ok(sent));
    }

    #[test]
    fn arbitrary_payloads_are_mapped_or_rejected_without_panicking(
        payload in vec(any::<u8>(), 0..200),
        l in MIN_MAX_LINE..=MAX_MAX_LINE,
    ) {
        let limits = Limits::new(l).unwrap();
        if let Err(rejection) = decode_client_payload(&payload, limits) {
            prop_assert!(!rejection.code.is_fatal(), "R-PSN-5: the connection stays usable");
        }
    }
}
