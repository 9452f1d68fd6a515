//! The client's session state machine, driven without any I/O: every server message, every user
//! command, and the paths out of a session.

use minichat_client::display::{LostReason, NotSent};
use minichat_client::session::MAX_LISTED_NICKS;
use minichat_client::{Action, Display, Event, ExitStatus, Mode, Prompt, Session};
use minichat_protocol::{ClientMessage, ErrorCode, FrameError, LeaveCause, Nick, NickError, Text, Token};
use proptest::prelude::*;

const HELLO: &str = "HELLO minichat/1 1024 welcome to minichat; register with: USER <nick>\n";

fn nick(s: &str) -> Nick {
    Nick::new(s).unwrap()
}

fn text(s: &str) -> Text {
    Text::new(s).unwrap()
}

fn from_server(session: &mut Session, lines: &str) -> Vec<Action> {
    session.handle(Event::FromServer(lines.as_bytes()))
}

fn typed(session: &mut Session, line: &str) -> Vec<Action> {
    session.handle(Event::Typed(line))
}

/// The lines sent, as they go on the wire.
fn sent(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(message) => Some(message.to_string()),
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

/// A session registered as `alice` with a room of alice and bob.
fn chatting(mode: Mode) -> Session {
    let mut session = Session::new(mode, Some(nick("alice")));
    assert_eq!(sent(&from_server(&mut session, HELLO)), ["USER alice"]);
    from_server(&mut session, "WELCOME alice\nUSERS alice bob\nENDUSERS 2\n");
    assert_eq!(session.wants_input(), Some(Prompt::Message { nick: nick("alice") }));
    session
}

// ---------- connecting and registering ----------

#[test]
fn nothing_is_asked_or_sent_before_hello() {
    let session = Session::new(Mode::Interactive, Some(nick("alice")));
    assert_eq!(session.wants_input(), None);
    assert_eq!(session.limits(), None);
}

#[test]
fn hello_with_a_preset_nick_sends_user_at_once() {
    let mut session = Session::new(Mode::Interactive, Some(nick("alice")));
    let actions = from_server(&mut session, HELLO);
    assert_eq!(actions, [Action::Send(ClientMessage::User(nick("alice")))]);
    assert_eq!(session.limits().map(|l| l.max_line()), Some(1024));
    assert_eq!(session.wants_input(), None, "no input while registering");
}

#[test]
fn hello_without_a_nick_asks_for_one() {
    let mut session = Session::new(Mode::Interactive, None);
    assert_eq!(from_server(&mut session, HELLO), []);
    assert_eq!(session.wants_input(), Some(Prompt::Nick));
    assert_eq!(sent(&typed(&mut session, "  alice ")), ["USER alice"], "surrounding spaces are not part of a nick");
}

#[test]
fn welcome_then_user_list_shows_who_is_present_sorted() {
    let mut session = Session::new(Mode::Interactive, Some(nick("carol")));
    from_server(&mut session, HELLO);
    let actions = from_server(&mut session, "WELCOME carol\nUSERS carol bob\nUSERS Alice\nENDUSERS 3\n");
    assert_eq!(
        shown(&actions),
        [
            Display::Welcome { nick: nick("carol") },
            Display::Present { nicks: vec![nick("Alice"), nick("bob"), nick("carol")], names: vec![], more: 0 },
        ]
    );
    assert_eq!(session.nick(), Some(&nick("carol")));
}

#[test]
fn a_locally_invalid_nick_is_explained_and_asked_again_without_sending() {
    let mut session = Session::new(Mode::Interactive, None);
    from_server(&mut session, HELLO);
    let actions = typed(&mut session, "9lives");
    assert_eq!(
        actions,
        [Action::Show(Display::NickInvalid { typed: "9lives".into(), error: NickError::BadFirst('9') })]
    );
    assert_eq!(session.wants_input(), Some(Prompt::Nick));
    assert_eq!(sent(&typed(&mut session, "lives9")), ["USER lives9"]);
}

#[test]
fn a_nick_the_server_refuses_is_asked_again_interactively() {
    let mut session = Session::new(Mode::Interactive, Some(nick("ALICE")));
    from_server(&mut session, HELLO);
    let actions = from_server(&mut session, "ERROR NICK_IN_USE the nick ALICE is taken; choose another\n");
    assert_eq!(
        shown(&actions),
        [Display::NickRefused {
            nick: nick("ALICE"),
            code: ErrorCode::NickInUse,
            text: text("the nick ALICE is taken; choose another"),
        }]
    );
    assert_eq!(sent(&actions), Vec::<String>::new());
    assert_eq!(session.wants_input(), Some(Prompt::Nick));
    assert_eq!(sent(&typed(&mut session, "carol")), ["USER carol"]);
    let actions = from_server(&mut session, "WELCOME carol\nUSERS alice carol\nENDUSERS 2\n");
    assert_eq!(shown(&actions)[0], Display::Welcome { nick: nick("carol") });
}

#[test]
fn every_server_refusal_of_a_nick_asks_again() {
    for code in ["NICK_IN_USE", "INVALID_NICK", "BAD_ARGUMENTS"] {
        let mut session = Session::new(Mode::Interactive, Some(nick("x")));
        from_server(&mut session, HELLO);
        let actions = from_server(&mut session, &format!("ERROR {code} no\n"));
        assert!(matches!(shown(&actions)[..], [Display::NickRefused { .. }]), "{code}");
        assert_eq!(session.wants_input(), Some(Prompt::Nick), "{code}");
    }
}

#[test]
fn a_refused_nick_in_pipe_mode_quits_and_exits_with_nick_refused() {
    let mut session = Session::new(Mode::Pipe, Some(nick("ALICE")));
    from_server(&mut session, HELLO);
    let actions = from_server(&mut session, "ERROR NICK_IN_USE the nick ALICE is taken; choose another\n");
    assert!(matches!(shown(&actions)[..], [Display::NickRefused { code: ErrorCode::NickInUse, .. }]));
    assert_eq!(sent(&actions), ["QUIT"]);
    assert_eq!(session.wants_input(), None);
    let actions = from_server(&mut session, "BYE\n");
    assert_eq!(exit(&actions), Some(ExitStatus::NickRefused));
}

#[test]
fn an_invalid_first_line_in_pipe_mode_exits_with_nick_refused_even_without_bye() {
    let mut session = Session::new(Mode::Pipe, None);
    from_server(&mut session, HELLO);
    let actions = typed(&mut session, "no spaces allowed");
    assert!(matches!(shown(&actions)[..], [Display::NickInvalid { .. }]));
    assert_eq!(sent(&actions), ["QUIT"]);
    assert_eq!(exit(&session.handle(Event::ServerClosed)), Some(ExitStatus::NickRefused));
}

#[test]
fn quit_at_the_nick_prompt_leaves() {
    let mut session = Session::new(Mode::Interactive, None);
    from_server(&mut session, HELLO);
    assert_eq!(sent(&typed(&mut session, "quit")), ["QUIT"]);
    assert_eq!(exit(&from_server(&mut session, "BYE\n")), Some(ExitStatus::Left));
}

#[test]
fn another_protocol_version_is_warned_about_and_registration_goes_on() {
    let mut session = Session::new(Mode::Interactive, Some(nick("alice")));
    let actions = from_server(&mut session, "HELLO minichat/2 2048 hi\n");
    assert_eq!(
        actions,
        [
            Action::Show(Display::UnknownVersion { version: Token::new("minichat/2").unwrap() }),
            Action::Send(ClientMessage::User(nick("alice"))),
        ]
    );
}

#[test]
fn a_repeated_hello_changes_nothing() {
    let mut session = chatting(Mode::Interactive);
    assert_eq!(from_server(&mut session, "HELLO minichat/1 128 again\n"), []);
    assert_eq!(session.limits().map(|l| l.max_line()), Some(1024));
}

// ---------- the room ----------

#[test]
fn messages_show_sender_and_text_and_mark_our_own() {
    let mut session = chatting(Mode::Interactive);
    let actions = from_server(&mut session, "MSG bob hi alice — ça va ?\nMSG alice  fine\n");
    assert_eq!(
        shown(&actions),
        [
            Display::Message { from: nick("bob"), text: text("hi alice — ça va ?"), own: false },
            Display::Message { from: nick("alice"), text: text(" fine"), own: true },
        ]
    );
}

#[test]
fn joins_and_every_kind_of_leave_are_shown() {
    let mut session = chatting(Mode::Interactive);
    let actions = from_server(
        &mut session,
        "JOIN carol\nLEAVE carol QUIT see you\nLEAVE bob LOST\nLEAVE dave TIMEOUT\nLEAVE erin SLOW\n",
    );
    assert_eq!(
        shown(&actions),
        [
            Display::Join { nick: nick("carol") },
            Display::Leave { nick: nick("carol"), cause: LeaveCause::Quit, reason: Some(text("see you")) },
            Display::Leave { nick: nick("bob"), cause: LeaveCause::Lost, reason: None },
            Display::Leave { nick: nick("dave"), cause: LeaveCause::Timeout, reason: None },
            Display::Leave { nick: nick("erin"), cause: LeaveCause::Slow, reason: None },
        ]
    );
}

#[test]
fn slash_users_asks_the_server_and_the_answer_is_shown() {
    let mut session = chatting(Mode::Interactive);
    assert_eq!(sent(&typed(&mut session, "/users")), ["USERS"]);
    let actions = from_server(&mut session, "USERS bob\nUSERS alice\nENDUSERS 2\n");
    assert_eq!(shown(&actions), [Display::Present { nicks: vec![nick("alice"), nick("bob")], names: vec![], more: 0 }]);
}

#[test]
fn a_user_list_keeps_at_most_max_listed_nicks_and_counts_the_rest() {
    let list = |n: usize| {
        let mut lines = String::new();
        for i in 0..n {
            lines.push_str(&format!("USERS u{i}\n"));
        }
        lines.push_str(&format!("ENDUSERS {n}\n"));
        lines
    };
    let mut session = chatting(Mode::Interactive);
    match &shown(&from_server(&mut session, &list(MAX_LISTED_NICKS)))[..] {
        [Display::Present { nicks, more, .. }] => assert_eq!((nicks.len(), *more), (MAX_LISTED_NICKS, 0)),
        other => panic!("{other:?}"),
    }
    match &shown(&from_server(&mut session, &list(MAX_LISTED_NICKS + 1)))[..] {
        [Display::Present { nicks, more, .. }] => assert_eq!((nicks.len(), *more), (MAX_LISTED_NICKS, 1)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn ping_is_answered_with_pong_in_every_phase() {
    let mut session = Session::new(Mode::Interactive, None);
    assert_eq!(
        from_server(&mut session, "PING early\n"),
        [Action::Send(ClientMessage::Pong(Token::new("early").unwrap()))]
    );
    from_server(&mut session, HELLO);
    assert_eq!(sent(&from_server(&mut session, "PING at-prompt\n")), ["PONG at-prompt"]);
    let mut session = chatting(Mode::Pipe);
    assert_eq!(sent(&from_server(&mut session, "PING idle-1\n")), ["PONG idle-1"]);
    session.handle(Event::EndOfInput);
    assert_eq!(sent(&from_server(&mut session, "PING while-quitting\n")), ["PONG while-quitting"]);
}

#[test]
fn pong_from_the_server_shows_nothing() {
    let mut session = chatting(Mode::Interactive);
    assert_eq!(from_server(&mut session, "PONG 42\n"), []);
}

#[test]
fn server_errors_are_shown_and_the_session_goes_on() {
    let mut session = chatting(Mode::Interactive);
    let actions = from_server(&mut session, "ERROR FLOOD slow down\n");
    assert_eq!(shown(&actions), [Display::ServerError { code: ErrorCode::Flood, text: text("slow down") }]);
    assert!(session.wants_input().is_some());
}

#[test]
fn a_fatal_error_and_bye_end_the_session_as_closed_by_server() {
    let mut session = chatting(Mode::Interactive);
    let actions = from_server(&mut session, "ERROR SHUTTING_DOWN the server is shutting down\nBYE\n");
    assert_eq!(
        actions,
        [
            Action::Show(Display::ServerError {
                code: ErrorCode::ShuttingDown,
                text: text("the server is shutting down")
            }),
            Action::Show(Display::Goodbye { text: None }),
            Action::Exit(ExitStatus::ClosedByServer),
        ]
    );
}

#[test]
fn a_refusal_before_hello_ends_the_session_as_closed_by_server() {
    let mut session = Session::new(Mode::Pipe, Some(nick("alice")));
    let actions = from_server(&mut session, "ERROR SERVER_FULL too many clients\nBYE come back later\n");
    assert_eq!(shown(&actions)[1], Display::Goodbye { text: Some(text("come back later")) });
    assert_eq!(exit(&actions), Some(ExitStatus::ClosedByServer));
}

// ---------- what the user types ----------

#[test]
fn a_typed_line_is_sent_verbatim_as_a_message() {
    let mut session = chatting(Mode::Interactive);
    assert_eq!(sent(&typed(&mut session, "  hello  world ")), ["MSG   hello  world "]);
}

#[test]
fn double_slash_sends_a_message_starting_with_one_slash() {
    let mut session = chatting(Mode::Interactive);
    assert_eq!(sent(&typed(&mut session, "//shrug")), ["MSG /shrug"]);
}

#[test]
fn unknown_slash_commands_are_shown_locally_and_never_sent() {
    let mut session = chatting(Mode::Interactive);
    let actions = typed(&mut session, "/nick bob");
    assert_eq!(actions, [Action::Show(Display::UnknownCommand { command: "/nick".into() })]);
    let actions = typed(&mut session, "/users now");
    assert_eq!(actions, [Action::Show(Display::TakesNoArguments { command: "/users" })]);
}

#[test]
fn slash_help_is_answered_locally() {
    let mut session = chatting(Mode::Interactive);
    assert_eq!(typed(&mut session, "/help"), [Action::Show(Display::Help)]);
}

#[test]
fn empty_and_all_space_lines_send_nothing() {
    let mut session = chatting(Mode::Interactive);
    assert_eq!(typed(&mut session, ""), []);
    assert_eq!(typed(&mut session, "    "), []);
}

#[test]
fn text_of_exactly_l_minus_64_bytes_is_sent_and_one_more_is_refused_naming_the_limit() {
    let mut session = Session::new(Mode::Interactive, Some(nick("alice")));
    from_server(&mut session, "HELLO minichat/1 200 hi\nWELCOME alice\nUSERS alice\nENDUSERS 1\n");
    let fits = "é".repeat(68); // 136 bytes = 200 − 64
    assert_eq!(sent(&typed(&mut session, &fits)), [format!("MSG {fits}")]);
    let over = format!("{fits}x");
    assert_eq!(typed(&mut session, &over), [Action::Show(Display::NotSent(NotSent::TooLong { len: 137, max: 136 }))]);
}

#[test]
fn a_quit_reason_over_the_limit_is_refused_and_the_session_stays() {
    let mut session = Session::new(Mode::Interactive, Some(nick("alice")));
    from_server(&mut session, "HELLO minichat/1 128 hi\nWELCOME alice\nUSERS alice\nENDUSERS 1\n");
    let actions = typed(&mut session, &format!("/quit {}", "r".repeat(65)));
    assert_eq!(actions, [Action::Show(Display::NotSent(NotSent::TooLong { len: 65, max: 64 }))]);
    assert!(!session.is_awaiting_bye());
    assert_eq!(sent(&typed(&mut session, &format!("/quit {}", "r".repeat(64)))), [format!("QUIT {}", "r".repeat(64))]);
}

#[test]
fn typed_control_characters_are_refused_locally() {
    let mut session = chatting(Mode::Pipe);
    let actions = typed(&mut session, "tab\there");
    assert_eq!(actions, [Action::Show(Display::NotSent(NotSent::ControlCharacter { ch: '\t' }))]);
}

#[test]
fn an_unreadable_input_line_is_reported_and_not_sent() {
    let mut session = chatting(Mode::Pipe);
    let error = FrameError::InvalidUtf8 { offset: 3 };
    let actions = session.handle(Event::Unreadable(error));
    assert_eq!(actions, [Action::Show(Display::NotSent(NotSent::Unreadable(error)))]);
    assert!(session.wants_input().is_some());
}

// ---------- leaving ----------

#[test]
fn quit_slash_quit_and_end_of_input_each_send_quit_and_exit_0_on_bye() {
    type Leave = fn(&mut Session) -> Vec<Action>;
    let leave: [(&str, Leave); 4] = [
        ("quit", |s| typed(s, "quit")),
        ("/quit", |s| typed(s, "/quit")),
        ("/quit see you", |s| typed(s, "/quit see you")),
        ("Ctrl-D / end of input", |s| s.handle(Event::EndOfInput)),
    ];
    for (how, action) in leave {
        let mut session = chatting(Mode::Interactive);
        let actions = action(&mut session);
        let expected = if how == "/quit see you" { "QUIT see you" } else { "QUIT" };
        assert_eq!(sent(&actions), [expected], "{how}");
        assert!(session.is_awaiting_bye(), "{how}");
        assert_eq!(session.wants_input(), None, "{how}");
        let actions = from_server(&mut session, "MSG bob bye alice\nBYE\n");
        assert_eq!(
            actions,
            [
                Action::Show(Display::Message { from: nick("bob"), text: text("bye alice"), own: false }),
                Action::Show(Display::Goodbye { text: None }),
                Action::Exit(ExitStatus::Left),
            ],
            "{how}"
        );
    }
}

#[test]
fn the_server_closing_after_quit_without_bye_still_exits_0() {
    let mut session = chatting(Mode::Pipe);
    let _ = session.handle(Event::EndOfInput);
    assert_eq!(session.handle(Event::ServerClosed), [Action::Exit(ExitStatus::Left)]);
}

#[test]
fn no_bye_after_quit_ends_as_connection_lost() {
    let mut session = chatting(Mode::Pipe);
    let _ = session.handle(Event::EndOfInput);
    assert_eq!(
        session.handle(Event::ByeTimeout),
        [Action::Show(Display::NoGoodbye), Action::Exit(ExitStatus::ConnectionLost)]
    );
}

#[test]
fn the_bye_timeout_means_nothing_before_quit() {
    let mut session = chatting(Mode::Pipe);
    assert_eq!(session.handle(Event::ByeTimeout), []);
}

#[test]
fn ctrl_c_while_waiting_for_bye_leaves_at_once() {
    let mut session = chatting(Mode::Interactive);
    let _ = session.handle(Event::EndOfInput);
    assert_eq!(session.handle(Event::EndOfInput), [Action::Exit(ExitStatus::Left)]);
}

#[test]
fn the_server_closing_mid_session_is_a_lost_connection() {
    let mut session = chatting(Mode::Interactive);
    assert_eq!(
        session.handle(Event::ServerClosed),
        [
            Action::Show(Display::ConnectionLost { reason: LostReason::Closed }),
            Action::Exit(ExitStatus::ConnectionLost),
        ]
    );
}

#[test]
fn a_failing_connection_is_lost_with_its_reason() {
    let mut session = chatting(Mode::Interactive);
    let actions = session.handle(Event::ConnectionFailed("connection reset by peer".into()));
    assert_eq!(
        actions,
        [
            Action::Show(Display::ConnectionLost { reason: LostReason::Failed("connection reset by peer".into()) }),
            Action::Exit(ExitStatus::ConnectionLost),
        ]
    );
}

#[test]
fn nothing_happens_after_the_exit() {
    let mut session = chatting(Mode::Interactive);
    let _ = from_server(&mut session, "BYE\n");
    assert_eq!(from_server(&mut session, "PING late\nMSG bob hi\n"), []);
    assert_eq!(typed(&mut session, "hello"), []);
    assert_eq!(session.handle(Event::EndOfInput), []);
    assert_eq!(session.handle(Event::ServerClosed), []);
}

#[test]
fn bytes_after_bye_in_the_same_chunk_are_ignored() {
    let mut session = chatting(Mode::Interactive);
    let actions = from_server(&mut session, "BYE\nPING after\n");
    assert_eq!(sent(&actions), Vec::<String>::new());
    assert_eq!(exit(&actions), Some(ExitStatus::ClosedByServer));
}

// ---------- robustness and terminal safety ----------

#[test]
fn lines_this_client_does_not_understand_are_ignored() {
    let mut session = chatting(Mode::Interactive);
    let actions = from_server(&mut session, "TOPIC something new\nmsg bob lowercase\nMSG\n\nJOIN carol\n");
    assert_eq!(shown(&actions), [Display::Join { nick: nick("carol") }]);
}

#[test]
fn lines_are_reassembled_across_any_chunking() {
    let mut session = chatting(Mode::Interactive);
    let mut actions = Vec::new();
    for byte in "MSG bob split\r\nJOIN carol\n".as_bytes() {
        actions.extend(session.handle(Event::FromServer(std::slice::from_ref(byte))));
    }
    assert_eq!(
        shown(&actions),
        [
            Display::Message { from: nick("bob"), text: text("split"), own: false },
            Display::Join { nick: nick("carol") }
        ]
    );
}

#[test]
fn the_framer_is_sized_from_hello_l() {
    let mut session = Session::new(Mode::Interactive, Some(nick("alice")));
    from_server(&mut session, "HELLO minichat/1 128 hi\nWELCOME alice\nUSERS alice\nENDUSERS 1\n");
    let exactly_l = format!("MSG bob {}\n", "x".repeat(128 - 8));
    let over_l = format!("MSG bob {}\n", "y".repeat(128 - 7));
    let actions = from_server(&mut session, &format!("{over_l}{exactly_l}"));
    assert_eq!(
        shown(&actions),
        [Display::Message { from: nick("bob"), text: text(&"x".repeat(120)), own: false }],
        "a line over L is dropped, one of exactly L is shown"
    );
}

#[test]
fn before_hello_lines_up_to_the_largest_l_are_accepted() {
    // A USERS line of exactly 65536 bytes: 1985 nicks of 32 bytes and one of 25.
    let mut line = String::from("USERS");
    for i in 0..1985 {
        line.push_str(&format!(" {i:_>32}"));
    }
    line.push_str(&format!(" {:_>25}", "last"));
    assert_eq!(line.len(), 65536);
    let mut session = Session::new(Mode::Interactive, Some(nick("alice")));
    let actions = from_server(&mut session, &format!("{line}\nENDUSERS 1986\n"));
    assert!(matches!(&shown(&actions)[..], [Display::Present { nicks, more: 0, .. }] if nicks.len() == 1986));
    let mut session = Session::new(Mode::Interactive, Some(nick("alice")));
    let actions = from_server(&mut session, &format!("{line}_\nENDUSERS 1986\n"));
    assert!(matches!(&shown(&actions)[..], [Display::Present { nicks, more: 0, .. }] if nicks.is_empty()));
}

#[test]
fn escape_sequences_in_received_text_are_neutralised() {
    let mut session = chatting(Mode::Interactive);
    let actions = from_server(&mut session, "MSG bob look\x1b]0;pwned\x07\x1b[2J\u{9b}31m here\n");
    assert_eq!(
        shown(&actions),
        [Display::Message { from: nick("bob"), text: text("look^[]0;pwned^G^[[2J\\u{9b}31m here"), own: false }]
    );
}

#[test]
fn bidi_overrides_in_received_text_are_neutralised() {
    let mut session = chatting(Mode::Interactive);
    let actions = from_server(&mut session, "LEAVE bob QUIT \u{202e}gnp.exe\u{2066}x\u{2069}\n");
    assert_eq!(
        shown(&actions),
        [Display::Leave {
            nick: nick("bob"),
            cause: LeaveCause::Quit,
            reason: Some(text("\\u{202e}gnp.exe\\u{2066}x\\u{2069}")),
        }]
    );
}

#[test]
fn a_lone_carriage_return_cannot_overwrite_the_line() {
    let mut session = chatting(Mode::Interactive);
    let actions = from_server(&mut session, "MSG bob innocent\rMSG alice forged\n");
    assert_eq!(
        shown(&actions),
        [Display::Message { from: nick("bob"), text: text("innocent^MMSG alice forged"), own: false }]
    );
}

/// Every text the session hands to the renderer is free of characters that drive a terminal.
fn assert_safe(display: &Display) {
    for line in minichat_client::render::plain(display, None) {
        assert!(!line.chars().any(minichat_client::neutralise::is_unsafe), "{line:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_server_bytes_never_panic_and_show_only_safe_text(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
        preset in any::<bool>(),
    ) {
        let mut session = Session::new(Mode::Interactive, preset.then(|| nick("alice")));
        for chunk in &chunks {
            for action in session.handle(Event::FromServer(chunk)) {
                if let Action::Show(display) = &action {
                    assert_safe(display);
                }
            }
        }
        let _ = session.handle(Event::ServerClosed);
    }

    #[test]
    fn arbitrary_protocol_like_lines_never_panic(
        lines in proptest::collection::vec(
            "(HELLO|WELCOME|USERS|ENDUSERS|JOIN|MSG|LEAVE|PING|PONG|ERROR|BYE)( [ -~\u{80}-\u{10ffff}]{0,40}){0,4}\r?\n",
            0..40,
        ),
    ) {
        let mut session = Session::new(Mode::Pipe, None);
        for line in &lines {
            for action in session.handle(Event::FromServer(line.as_bytes())) {
                if let Action::Show(display) = &action {
                    assert_safe(display);
                }
            }
        }
    }

    #[test]
    fn nothing_the_user_types_makes_a_line_longer_than_l(
        l in 128usize..=400,
        lines in proptest::collection::vec("\\PC{0,200}|/quit \\PC{0,200}|//\\PC{0,200}", 1..20),
    ) {
        let mut session = Session::new(Mode::Interactive, Some(nick("alice")));
        let _ = from_server(&mut session, &format!("HELLO minichat/1 {l} hi\nWELCOME alice\nUSERS alice\nENDUSERS 1\n"));
        for line in &lines {
            for action in typed(&mut session, line) {
                if let Action::Send(message) = action {
                    let wire = message.to_line();
                    prop_assert!(wire.len() - 1 <= l, "{} bytes sent for L = {l}", wire.len() - 1);
                }
            }
        }
    }
}
