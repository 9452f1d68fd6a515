//! The session over PodSixNet frames (`minichat --podsixnet`, SPEC.md §16), driven without any
//! I/O: minichat-server's frames, the frames of servers that announce nothing (the course's
//! design, PodSixNet's example ChatServer, whose bytes come from the shared capture
//! `wire_capture_chat.txt`), and what the client sends back.

use bytes::BytesMut;
use minichat_client::display::NotSent;
use minichat_client::podsixnet::MAX_SHOWN_NAME_CHARS;
use minichat_client::render;
use minichat_client::wire::Wire;
use minichat_client::{Action, Display, Event, ExitStatus, Mode, Prompt, Session};
use minichat_protocol::podsixnet::{
    Dict, Framer, NickAction, ServerFrame, Value, client_message, decode, encode, frame,
};
use minichat_protocol::{ClientMessage, ErrorCode, LeaveCause, Limits, Nick, Text, Token};

// ---------- helpers ----------

fn nick(s: &str) -> Nick {
    Nick::new(s).unwrap()
}

fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A frame as a PodSixNet program writes it: a dict of these items, in this order.
fn frame_of(items: &[(&str, Value)]) -> Vec<u8> {
    let mut dict = Dict::new();
    for (key, value) in items {
        dict.insert_str(*key, value.clone());
    }
    frame(&encode(&Value::Dict(dict)).unwrap()).unwrap()
}

fn s(value: &str) -> Value {
    Value::Str(value.to_owned())
}

fn minichat(frames: &[ServerFrame]) -> Vec<u8> {
    frames.iter().flat_map(|f| f.to_bytes().unwrap().to_vec()).collect()
}

fn hello() -> ServerFrame {
    ServerFrame::Hello {
        version: Token::new("minichat/1").unwrap(),
        limits: Limits::DEFAULT,
        text: text("welcome to minichat; register with: USER <nick>"),
    }
}

fn session(nick_action: NickAction, preset: Option<&str>) -> Session {
    Session::with_wire(Mode::Pipe, preset.map(nick), Wire::PodSixNet(nick_action))
}

fn receive(session: &mut Session, bytes: &[u8]) -> Vec<Action> {
    session.handle(Event::FromServer(bytes))
}

fn sent(actions: &[Action]) -> Vec<ClientMessage> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(message) => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn shown(actions: &[Action]) -> Vec<Display> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Show(display) => Some(display.clone()),
            _ => None,
        })
        .collect()
}

fn exit(actions: &[Action]) -> Option<ExitStatus> {
    actions.iter().find_map(|a| match a {
        Action::Exit(status) => Some(*status),
        _ => None,
    })
}

/// The `connected` frame, as PodSixNet's `Server` sends it on accept.
fn connected() -> Vec<u8> {
    ServerFrame::Connected.to_bytes().unwrap().to_vec()
}

/// A session with a course-style server (no hello), registered as alice and chatting.
fn chatting_unannounced() -> Session {
    let mut session = session(NickAction::Username, Some("alice"));
    let actions = receive(&mut session, &connected());
    assert_eq!(sent(&actions), [ClientMessage::User(nick("alice"))]);
    session
}

// ---------- minichat-server's listener ----------

#[test]
fn with_minichat_connected_and_hello_lead_to_a_normal_registration() {
    let mut session = session(NickAction::Username, Some("alice"));
    let actions = receive(&mut session, &minichat(&[ServerFrame::Connected, hello()]));
    assert_eq!(sent(&actions), [ClientMessage::User(nick("alice"))]);
    assert_eq!(shown(&actions), [], "nothing shown until the server welcomes us");
    assert_eq!(session.wants_input(), None, "no input while registering");
    assert_eq!(session.limits(), Some(Limits::DEFAULT));

    let actions = receive(
        &mut session,
        &minichat(&[ServerFrame::Welcome(nick("alice")), ServerFrame::Players(vec![nick("bob"), nick("alice")])]),
    );
    assert_eq!(
        shown(&actions),
        [
            Display::Welcome { nick: nick("alice") },
            Display::Present { nicks: vec![nick("alice"), nick("bob")], names: vec![], more: 0 }
        ]
    );
    assert_eq!(session.wants_input(), Some(Prompt::Message { nick: nick("alice") }));
}

#[test]
fn with_minichat_a_refused_nick_is_reported_and_pipe_mode_quits_and_waits_for_bye() {
    let mut session = session(NickAction::Username, Some("alice"));
    receive(&mut session, &minichat(&[ServerFrame::Connected, hello()]));
    let refusal = ServerFrame::Error { code: ErrorCode::NickInUse, text: text("the nick alice is taken") };
    let actions = receive(&mut session, &minichat(&[refusal]));
    assert_eq!(
        shown(&actions),
        [Display::NickRefused {
            nick: nick("alice"),
            code: ErrorCode::NickInUse,
            text: text("the nick alice is taken")
        }]
    );
    assert_eq!(sent(&actions), [ClientMessage::Quit(None)]);
    assert!(session.is_awaiting_bye(), "a minichat server answers QUIT with BYE");
    let actions = receive(&mut session, &minichat(&[ServerFrame::Bye(None)]));
    assert_eq!(exit(&actions), Some(ExitStatus::NickRefused));
}

#[test]
fn with_minichat_joins_messages_and_leaves_are_shown_like_their_lines() {
    let mut session = session(NickAction::Username, Some("alice"));
    receive(&mut session, &minichat(&[ServerFrame::Connected, hello(), ServerFrame::Welcome(nick("alice"))]));
    let actions = receive(
        &mut session,
        &minichat(&[
            ServerFrame::Join(nick("bob")),
            ServerFrame::Players(vec![nick("alice"), nick("bob")]),
            ServerFrame::Message { from: nick("bob"), text: text("salut") },
            ServerFrame::Message { from: nick("alice"), text: text("ça va ?") },
            ServerFrame::Leave { nick: nick("bob"), cause: LeaveCause::Quit, reason: Some(text("bye")) },
        ]),
    );
    assert_eq!(
        shown(&actions),
        [
            Display::Join { nick: nick("bob") },
            Display::Present { nicks: vec![nick("alice"), nick("bob")], names: vec![], more: 0 },
            Display::Message { from: nick("bob"), text: text("salut"), own: false },
            Display::Message { from: nick("alice"), text: text("ça va ?"), own: true },
            Display::Leave { nick: nick("bob"), cause: LeaveCause::Quit, reason: Some(text("bye")) },
        ]
    );
}

#[test]
fn with_minichat_quit_waits_for_bye() {
    let mut session = session(NickAction::Username, Some("alice"));
    receive(&mut session, &minichat(&[ServerFrame::Connected, hello(), ServerFrame::Welcome(nick("alice"))]));
    let actions = session.handle(Event::Typed("/quit see you"));
    assert_eq!(sent(&actions), [ClientMessage::Quit(Some(text("see you")))]);
    assert_eq!(exit(&actions), None);
    let actions = receive(&mut session, &minichat(&[ServerFrame::Bye(None)]));
    assert_eq!(shown(&actions), [Display::Goodbye { text: None }]);
    assert_eq!(exit(&actions), Some(ExitStatus::Left));
}

#[test]
fn a_hello_after_a_lone_connected_is_still_honoured() {
    // A server that wrote `connected` and `hello` separately: the session starts as for a server
    // that announces nothing, then adopts what the hello says.
    let mut session = session(NickAction::Username, Some("alice"));
    let actions = receive(&mut session, &connected());
    assert_eq!(sent(&actions), [ClientMessage::User(nick("alice"))]);
    let small =
        ServerFrame::Hello { version: Token::new("minichat/1").unwrap(), limits: Limits::MIN, text: text("hi") };
    receive(&mut session, &minichat(&[small, ServerFrame::Welcome(nick("alice"))]));
    assert_eq!(session.limits(), Some(Limits::MIN), "the announced L replaces the assumed one");
    let actions = session.handle(Event::Typed(&"x".repeat(65)));
    assert_eq!(shown(&actions), [Display::NotSent(NotSent::TooLong { len: 65, max: 64 })]);
    let actions = session.handle(Event::EndOfInput);
    assert_eq!(exit(&actions), None, "a server that said hello answers QUIT with BYE");
    assert!(session.is_awaiting_bye());
}

// ---------- servers that announce nothing ----------

#[test]
fn a_server_that_announces_nothing_counts_the_nick_in_as_soon_as_it_is_sent() {
    let mut session = session(NickAction::Username, Some("alice"));
    let actions = receive(&mut session, &connected());
    assert_eq!(sent(&actions), [ClientMessage::User(nick("alice"))]);
    assert_eq!(shown(&actions), [Display::Welcome { nick: nick("alice") }]);
    assert_eq!(session.wants_input(), Some(Prompt::Message { nick: nick("alice") }));
    assert_eq!(session.limits(), Some(Limits::DEFAULT), "the default L is assumed");
}

#[test]
fn without_a_preset_nick_the_user_is_asked_once_the_server_accepted_us() {
    let mut session = Session::with_wire(Mode::Interactive, None, Wire::PodSixNet(NickAction::Username));
    assert_eq!(session.wants_input(), None, "nothing asked before the server accepts the connection");
    receive(&mut session, &connected());
    assert_eq!(session.wants_input(), Some(Prompt::Nick));
    let actions = session.handle(Event::Typed("bob"));
    assert_eq!(sent(&actions), [ClientMessage::User(nick("bob"))]);
    assert_eq!(session.wants_input(), Some(Prompt::Message { nick: nick("bob") }));
}

#[test]
fn podsixnet_example_chat_server_frames_are_understood() {
    // Bytes of examples/ChatServer.py from the shared capture: `connected` and the players list
    // (with the placeholder name of a client that has not sent its nickname) in one TCP chunk.
    let on_accept = unhex(
        "6786616374696f6e89636f6e6e6563746564002d2d2d006886616374696f6e87706c617965727387706c6179657273c189\
         616e6f6e796d6f7573002d2d2d00",
    );
    let mut session = session(NickAction::Nickname, Some("bob"));
    let actions = receive(&mut session, &on_accept);
    assert_eq!(
        shown(&actions),
        [
            Display::Present { nicks: vec![nick("anonymous")], names: vec![], more: 0 },
            Display::Welcome { nick: nick("bob") }
        ]
    );
    assert_eq!(sent(&actions), [ClientMessage::User(nick("bob"))]);
    // {'action': 'message', 'message': 'bonjour à tous', 'who': 'alice'}
    let relay = unhex(
        "6986616374696f6e876d657373616765876d6573736167658f626f6e6a6f757220c3a020746f75738377686f85616c696365\
         002d2d2d00",
    );
    let actions = receive(&mut session, &relay);
    assert_eq!(shown(&actions), [Display::Message { from: nick("alice"), text: text("bonjour à tous"), own: false }]);
}

#[test]
fn the_course_sender_key_expediteur_is_read_and_key_order_does_not_matter() {
    let mut session = chatting_unannounced();
    let course = frame_of(&[("action", s("message")), ("expediteur", s("bob")), ("message", s("salut alice"))]);
    let own = frame_of(&[("message", s("bonjour")), ("action", s("message")), ("expediteur", s("alice"))]);
    let actions = receive(&mut session, &[course, own].concat());
    assert_eq!(
        shown(&actions),
        [
            Display::Message { from: nick("bob"), text: text("salut alice"), own: false },
            Display::Message { from: nick("alice"), text: text("bonjour"), own: true },
        ]
    );
}

#[test]
fn a_players_tuple_is_a_list_and_names_that_are_not_nicks_are_listed_after_the_nicks() {
    let mut session = chatting_unannounced();
    let players = Value::Tuple(vec![s("zoe"), s("élodie"), s("alice"), Value::Int(3), s("Jean Dupont"), s("  ")]);
    let actions = receive(&mut session, &frame_of(&[("action", s("players")), ("players", players)]));
    let present = Display::Present {
        nicks: vec![nick("alice"), nick("zoe")],
        names: vec![text("Jean Dupont"), text("élodie")],
        more: 2,
    };
    assert_eq!(shown(&actions), std::slice::from_ref(&present));
    assert_eq!(render::plain(&present, None), ["* present (6): alice, zoe, Jean Dupont, élodie, and 2 more"]);
}

#[test]
fn a_message_from_a_name_that_is_not_a_nick_is_shown_under_that_name() {
    // Course servers take whatever name a client sends: accents, spaces, escapes, any length.
    let mut session = chatting_unannounced();
    let long = "x".repeat(MAX_SHOWN_NAME_CHARS + 10);
    let stream = [
        frame_of(&[("action", s("message")), ("expediteur", s("élodie")), ("message", s("salut"))]),
        frame_of(&[("action", s("message")), ("who", s("Jean Dupont")), ("message", s("bonjour"))]),
        frame_of(&[("action", s("message")), ("who", s("eve\u{1b}[2J")), ("message", s("hi"))]),
        frame_of(&[("action", s("message")), ("who", s(&long)), ("message", s("long"))]),
    ]
    .concat();
    let actions = receive(&mut session, &stream);
    let cut = format!("{}…", &long[..MAX_SHOWN_NAME_CHARS]);
    assert_eq!(
        shown(&actions),
        [
            Display::NamedMessage { name: text("élodie"), text: text("salut") },
            Display::NamedMessage { name: text("Jean Dupont"), text: text("bonjour") },
            Display::NamedMessage { name: text("eve^[[2J"), text: text("hi") },
            Display::NamedMessage { name: text(&cut), text: text("long") },
        ]
    );
    let rendered: Vec<String> = shown(&actions).iter().flat_map(|d| render::plain(d, None)).collect();
    assert_eq!(rendered[..2], ["<élodie> salut", "<Jean Dupont> bonjour"]);
}

#[test]
fn unknown_actions_frames_without_action_and_broken_frames_are_skipped() {
    let mut session = chatting_unannounced();
    let stream = [
        frame_of(&[("action", s("bienvenue")), ("texte", s("Bienvenue alice"))]),
        frame(&encode(&s("OOB data")).unwrap()).unwrap(),
        frame_of(&[("action", Value::Int(1))]),
        // Not rencode at all, then a message with no text and one with no sender.
        b"\x2d\0---\0".to_vec(),
        frame_of(&[("action", s("message")), ("expediteur", s("bob"))]),
        frame_of(&[("action", s("message")), ("message", s("from nobody"))]),
        frame_of(&[("action", s("message")), ("message", s("   ")), ("who", s("bob"))]),
        frame_of(&[("action", s("message")), ("message", s("still here")), ("who", s("bob"))]),
    ]
    .concat();
    let actions = receive(&mut session, &stream);
    assert_eq!(shown(&actions), [Display::Message { from: nick("bob"), text: text("still here"), own: false }]);
    assert_eq!(session.wants_input(), Some(Prompt::Message { nick: nick("alice") }));
}

#[test]
fn the_librarys_own_error_action_is_shown() {
    let mut session = chatting_unannounced();
    let as_tuple = Value::Tuple(vec![Value::Int(111), s("Connection refused")]);
    let actions = receive(&mut session, &frame_of(&[("action", s("error")), ("error", as_tuple)]));
    assert_eq!(shown(&actions), [Display::LibraryError { text: text("Connection refused") }]);
    let actions = receive(&mut session, &frame_of(&[("action", s("error")), ("error", s("pseudo déjà pris"))]));
    assert_eq!(shown(&actions), [Display::LibraryError { text: text("pseudo déjà pris") }]);
}

#[test]
fn control_characters_from_a_server_that_allows_them_are_made_visible() {
    let mut session = chatting_unannounced();
    let hostile = frame_of(&[("action", s("message")), ("message", s("look\u{1b}[2J here")), ("who", s("bob"))]);
    let actions = receive(&mut session, &hostile);
    assert_eq!(shown(&actions), [Display::Message { from: nick("bob"), text: text("look^[[2J here"), own: false }]);
}

#[test]
fn a_frame_split_anywhere_is_read_once_complete() {
    let mut session = chatting_unannounced();
    let bytes = frame_of(&[("action", s("message")), ("message", s("in pieces")), ("who", s("bob"))]);
    let mut all = Vec::new();
    for piece in bytes.chunks(3) {
        all.extend(receive(&mut session, piece));
    }
    assert_eq!(shown(&all), [Display::Message { from: nick("bob"), text: text("in pieces"), own: false }]);
}

#[test]
fn slash_users_shows_the_last_list_of_a_server_that_announces_nothing() {
    let mut session = chatting_unannounced();
    let actions = session.handle(Event::Typed("/users"));
    assert_eq!(sent(&actions), [ClientMessage::Users], "no list yet: ask, in case the server knows users");
    let players = Value::List(vec![s("bob"), s("alice")]);
    receive(&mut session, &frame_of(&[("action", s("players")), ("players", players)]));
    let actions = session.handle(Event::Typed("/users"));
    assert_eq!(sent(&actions), []);
    assert_eq!(shown(&actions), [Display::Present { nicks: vec![nick("alice"), nick("bob")], names: vec![], more: 0 }]);
}

#[test]
fn slash_users_asks_minichat() {
    let mut session = session(NickAction::Username, Some("alice"));
    receive(&mut session, &minichat(&[ServerFrame::Connected, hello(), ServerFrame::Welcome(nick("alice"))]));
    receive(&mut session, &minichat(&[ServerFrame::Players(vec![nick("alice")])]));
    let actions = session.handle(Event::Typed("/users"));
    assert_eq!(sent(&actions), [ClientMessage::Users]);
}

#[test]
fn quitting_a_server_that_announces_nothing_ends_at_once() {
    let mut session = chatting_unannounced();
    let actions = session.handle(Event::Typed("/quit bye all"));
    assert_eq!(sent(&actions), [ClientMessage::Quit(Some(text("bye all")))]);
    assert_eq!(exit(&actions), Some(ExitStatus::Left), "no BYE will come: the connection is simply closed");
}

#[test]
fn the_server_closing_the_connection_is_a_lost_connection() {
    let mut session = chatting_unannounced();
    let actions = session.handle(Event::ServerClosed);
    assert_eq!(exit(&actions), Some(ExitStatus::ConnectionLost));
}

// ---------- what the client sends ----------

/// The dict a message is sent as, read back by a server's mapping.
fn on_the_wire(message: &ClientMessage, nick_action: NickAction) -> Value {
    let mut bytes = BytesMut::new();
    Wire::PodSixNet(nick_action).encode(message, &mut bytes).unwrap();
    let mut input = &bytes[..];
    let mut framer = Framer::default();
    let payload = framer.next_frame(&mut input).unwrap().unwrap();
    assert!(input.is_empty(), "exactly one frame");
    let value = decode(&payload).unwrap();
    assert_eq!(client_message(&value, Limits::DEFAULT).as_ref(), Ok(message), "R-PSN-4 maps it back");
    value
}

#[test]
fn the_nick_goes_out_under_the_chosen_action() {
    let user = ClientMessage::User(nick("alice"));
    let course = on_the_wire(&user, NickAction::Username);
    assert_eq!(course.action(), Some("username"));
    assert_eq!(course.dict_get("username"), Some(&s("alice")));
    let example = on_the_wire(&user, NickAction::Nickname);
    assert_eq!(example.action(), Some("nickname"));
    assert_eq!(example.dict_get("nickname"), Some(&s("alice")));
}

#[test]
fn messages_go_out_as_the_message_action() {
    let value = on_the_wire(&ClientMessage::Msg(text("bonjour à tous")), NickAction::Username);
    let keys: Vec<&str> = value.as_dict().unwrap().entries().iter().map(|(k, _)| k.as_str().unwrap()).collect();
    assert_eq!(keys, ["action", "message"]);
    assert_eq!(value.dict_get("message"), Some(&s("bonjour à tous")));
}

#[test]
fn a_typed_line_with_u0000_is_never_sent() {
    // PodSixNet's own Send would put the terminator inside the frame (R-PSN-3); the client refuses
    // every control character before anything is encoded.
    let mut session = chatting_unannounced();
    let actions = session.handle(Event::Typed("x\0---\0y"));
    assert_eq!(sent(&actions), []);
    assert_eq!(shown(&actions), [Display::NotSent(NotSent::ControlCharacter { ch: '\0' })]);
}

#[test]
fn lines_are_still_lines() {
    let mut bytes = BytesMut::new();
    Wire::Lines.encode(&ClientMessage::Msg(text("hi")), &mut bytes).unwrap();
    assert_eq!(&bytes[..], b"MSG hi\n");
}
