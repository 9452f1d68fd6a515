//! SPEC.md §16: PodSixNet clients in the same room as line clients, driven through the core.

use std::time::Instant;

use minichat_protocol::podsixnet::{self, Framer, NickAction, ServerFrame, Value, client_value};
use minichat_protocol::{ClientMessage, ErrorCode, LeaveCause, Nick, Text};

use super::{HELLO, secs};
use crate::config::Config;
use crate::core::{ConnId, Profile, Server};

const PEER: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Takes everything queued for `id`.
fn drain(core: &mut Server, id: ConnId) -> Vec<u8> {
    let out: Vec<u8> = core.output(id).flat_map(|p| p.to_vec()).collect();
    core.written(id, out.len());
    out
}

fn frames(core: &mut Server, id: ConnId) -> Vec<ServerFrame> {
    let bytes = drain(core, id);
    let mut framer = Framer::default();
    let mut input = &bytes[..];
    let mut out = Vec::new();
    while let Some(payload) = framer.next_frame(&mut input) {
        let value = podsixnet::decode(&payload.unwrap()).unwrap();
        out.push(ServerFrame::from_value(&value).unwrap_or_else(|e| panic!("{e}: {value:?}")));
    }
    assert_eq!(framer.buffered(), 0, "only whole frames");
    out
}

fn lines(core: &mut Server, id: ConnId) -> Vec<String> {
    String::from_utf8(drain(core, id)).unwrap().lines().map(str::to_owned).collect()
}

fn send_frame(core: &mut Server, id: ConnId, value: &Value, now: Instant) {
    let payload = podsixnet::encode(value).unwrap();
    core.receive(id, &podsixnet::frame(&payload).unwrap(), now);
    core.check_invariants().unwrap();
}

fn send(core: &mut Server, id: ConnId, message: ClientMessage, now: Instant) {
    send_frame(core, id, &client_value(&message, NickAction::Username), now);
}

fn nick(s: &str) -> Nick {
    Nick::new(s).unwrap()
}

fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

#[test]
fn r_psn_6_a_podsixnet_client_is_greeted_registered_and_hears_the_line_clients() {
    let t = Instant::now();
    let mut core = Server::new(&Config::default()).unwrap();
    let bob = core.connect(PEER, t);
    core.receive(bob, b"USER bob\n", t);
    lines(&mut core, bob);

    let alice = core.connect_with(Profile::PodSixNet, PEER, t);
    let greeting = frames(&mut core, alice);
    assert_eq!(greeting[0], ServerFrame::Connected, "R-PSN-6: connected comes first");
    assert!(matches!(&greeting[1], ServerFrame::Hello { limits, .. } if limits.max_line() == 1024));

    send(&mut core, alice, ClientMessage::User(nick("alice")), t);
    assert_eq!(
        frames(&mut core, alice),
        [ServerFrame::Welcome(nick("alice")), ServerFrame::Players(vec![nick("bob"), nick("alice")])]
    );
    assert_eq!(lines(&mut core, bob), ["JOIN alice"]);

    send(&mut core, alice, ClientMessage::Msg(text("bonjour à tous")), t);
    core.receive(bob, b"MSG salut\nQUIT\n", t);
    assert_eq!(lines(&mut core, bob), ["MSG alice bonjour à tous", "MSG bob salut", "BYE"]);
    assert_eq!(
        frames(&mut core, alice),
        [
            ServerFrame::Message { from: nick("alice"), text: text("bonjour à tous") },
            ServerFrame::Message { from: nick("bob"), text: text("salut") },
            ServerFrame::Leave { nick: nick("bob"), cause: LeaveCause::Quit, reason: None },
            ServerFrame::Players(vec![nick("alice")]),
        ],
        "R-PSN-7: each JOIN/LEAVE is followed by the membership after it"
    );
}

#[test]
fn r_psn_4_the_course_and_the_library_register_with_their_own_action() {
    let t = Instant::now();
    let mut core = Server::new(&Config::default()).unwrap();
    let a = core.connect_with(Profile::PodSixNet, PEER, t);
    let b = core.connect_with(Profile::PodSixNet, PEER, t);
    send_frame(&mut core, a, &client_value(&ClientMessage::User(nick("course")), NickAction::Username), t);
    send_frame(&mut core, b, &client_value(&ClientMessage::User(nick("library")), NickAction::Nickname), t);
    assert!(frames(&mut core, a).contains(&ServerFrame::Welcome(nick("course"))));
    assert!(frames(&mut core, b).contains(&ServerFrame::Welcome(nick("library"))));
    // Line clients see them like anyone else.
    let line = core.connect(PEER, t);
    core.receive(line, b"USERS\n", t);
    assert_eq!(lines(&mut core, line), [HELLO, "ERROR NOT_REGISTERED register first with: USER <nick>"]);
}

#[test]
fn r_psn_5_frames_that_do_not_fit_get_the_specified_error_and_the_connection_stays_usable() {
    let t = Instant::now();
    let mut core = Server::new(&Config::default()).unwrap();
    let id = core.connect_with(Profile::PodSixNet, PEER, t);
    frames(&mut core, id);
    let dict = |pairs: &[(&str, &str)]| {
        let mut d = podsixnet::Dict::new();
        for (k, v) in pairs {
            d.insert_str(*k, Value::Str((*v).to_owned()));
        }
        Value::Dict(d)
    };
    let cases: Vec<(Value, ErrorCode)> = vec![
        (Value::List(vec![]), ErrorCode::BadArguments),
        (dict(&[("nick", "x")]), ErrorCode::BadArguments),
        (dict(&[("action", "dance")]), ErrorCode::UnknownCommand),
        (dict(&[("action", "username")]), ErrorCode::BadArguments),
        (dict(&[("action", "username"), ("username", "9lives")]), ErrorCode::InvalidNick),
        (dict(&[("action", "message"), ("message", "x\0y")]), ErrorCode::ControlCharacter),
        (dict(&[("action", "message"), ("message", "hi")]), ErrorCode::NotRegistered),
    ];
    for (value, code) in cases {
        send_frame(&mut core, id, &value, t);
        match &frames(&mut core, id)[..] {
            [ServerFrame::Error { code: got, .. }] => assert_eq!(*got, code, "for {value:?}"),
            other => panic!("for {value:?}: {other:?}"),
        }
    }
    // Not rencode at all.
    core.receive(id, b"\x2dgarbage\0---\0", t);
    assert!(matches!(&frames(&mut core, id)[..], [ServerFrame::Error { code: ErrorCode::BadArguments, .. }]));
    send(&mut core, id, ClientMessage::User(nick("still_here")), t);
    assert!(frames(&mut core, id).contains(&ServerFrame::Welcome(nick("still_here"))));
}

#[test]
fn r_psn_2_an_overlong_frame_is_refused_once_and_the_next_one_is_read() {
    let t = Instant::now();
    let mut core = Server::new(&Config::default()).unwrap();
    let id = core.connect_with(Profile::PodSixNet, PEER, t);
    frames(&mut core, id);
    core.receive(id, &vec![b'x'; 5000], t);
    core.check_invariants().unwrap();
    assert!(matches!(&frames(&mut core, id)[..], [ServerFrame::Error { code: ErrorCode::LineTooLong, .. }]));
    core.receive(id, b"more\0---\0", t);
    send(&mut core, id, ClientMessage::Ping(minichat_protocol::Token::new("t1").unwrap()), t);
    assert_eq!(frames(&mut core, id), [ServerFrame::Pong(minichat_protocol::Token::new("t1").unwrap())]);
}

#[test]
fn r_psn_8_a_silent_podsixnet_member_gets_no_idle_ping_and_stays() {
    let t = Instant::now();
    let config = Config { idle_timeout: secs(5), ping_timeout: secs(5), ..Config::default() };
    let mut core = Server::new(&config).unwrap();
    let id = core.connect_with(Profile::PodSixNet, PEER, t);
    send(&mut core, id, ClientMessage::User(nick("quiet")), t);
    frames(&mut core, id);
    core.tick(t + secs(600));
    assert_eq!(frames(&mut core, id), []);
    assert_eq!(core.member_count(), 1);
}
