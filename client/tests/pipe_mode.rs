//! End to end, with real processes over loopback: `minichat` in pipe mode against the reference
//! server, and against a scripted fake server for what a conforming server never does.

mod common;

use common::{FakeServer, PipeClient, start_server};

/// Exit codes, as documented in `minichat --help` and README.md.
const LEFT: i32 = 0;
const CANNOT_CONNECT: i32 = 3;
const NICK_REFUSED: i32 = 4;
const CLOSED_BY_SERVER: i32 = 5;
const CONNECTION_LOST: i32 = 6;

#[test]
fn two_pipe_clients_converse_through_the_reference_server() {
    let server = start_server();
    let addr = server.local_addr().to_string();

    let mut alice = PipeClient::start("alice", &addr, &["--nick", "alice"]);
    alice.expect(&["* you joined as alice", "* present (1): alice"]);

    // Without --nick, the first input line is the nickname.
    let mut bob = PipeClient::start("bob", &addr, &[]);
    bob.send("Bob");
    bob.expect(&["* you joined as Bob", "* present (2): alice, Bob"]);
    alice.expect(&["* Bob joined"]);

    alice.send("hello Bob!");
    alice.expect(&["<alice> hello Bob!"]);
    bob.expect(&["<alice> hello Bob!"]);

    // One line at a time: a local answer is immediate, a message appears when the server echoes it.
    for (typed, shown) in [("hi alice — ça va ?", "<Bob> hi alice — ça va ?"), ("//shrug", "<Bob> /shrug")] {
        bob.send(typed);
        bob.expect(&[shown]);
        alice.expect(&[shown]);
    }
    // The unknown command is answered locally and never reaches alice (her next line is Bob's quit).
    bob.send("/nick robert");
    bob.expect(&["! unknown command /nick; /help lists the commands (//text sends a message starting with /)"]);
    bob.send("/users");
    bob.expect(&["* present (2): alice, Bob"]);

    bob.send("/quit see you");
    bob.expect(&["* server said goodbye"]);
    alice.expect(&["* Bob quit: see you"]);

    alice.send("quit");
    alice.expect(&["* server said goodbye"]);

    for (name, client) in [("bob", bob), ("alice", alice)] {
        let finished = client.finish();
        assert_eq!(finished.code, Some(LEFT), "{name}: {finished:?}");
        assert_eq!(finished.rest, Vec::<String>::new(), "{name}: no more output");
        assert_eq!(finished.stderr, "", "{name}: nothing on stderr");
    }
}

#[test]
fn end_of_input_sends_quit_after_every_line_and_exits_0() {
    let server = start_server();
    let addr = server.local_addr().to_string();
    let alice = PipeClient::start("alice", &addr, &["--nick", "alice"]);
    alice.expect(&["* you joined as alice", "* present (1): alice"]);

    let mut bob = PipeClient::start("bob", &addr, &["--nick", "bob"]);
    bob.send("one");
    bob.send("two");
    bob.close_input();
    alice.expect(&["* bob joined", "<bob> one", "<bob> two", "* bob quit"]);
    let finished = bob.finish();
    assert_eq!(finished.code, Some(LEFT), "{finished:?}");
    assert_eq!(
        finished.rest,
        ["* you joined as bob", "* present (2): alice, bob", "<bob> one", "<bob> two", "* server said goodbye"]
    );
}

#[test]
fn a_refused_nick_in_pipe_mode_exits_4_naming_the_reason() {
    let server = start_server();
    let addr = server.local_addr().to_string();
    let alice = PipeClient::start("alice", &addr, &["--nick", "alice"]);
    alice.expect(&["* you joined as alice", "* present (1): alice"]);

    let impostor = PipeClient::start("ALICE", &addr, &["--nick", "ALICE"]);
    let finished = impostor.finish();
    assert_eq!(finished.code, Some(NICK_REFUSED), "{finished:?}");
    let [refusal, goodbye] = &finished.rest[..] else { panic!("{finished:?}") };
    assert!(refusal.starts_with("! nick ALICE refused: "), "{refusal}");
    assert!(refusal.ends_with(" (NICK_IN_USE)"), "{refusal}");
    assert_eq!(goodbye, "* server said goodbye");
}

#[test]
fn an_invalid_first_line_nick_in_pipe_mode_exits_4_without_asking_the_server() {
    let server = start_server();
    let mut client = PipeClient::start("9lives", &server.local_addr().to_string(), &[]);
    client.send("9lives");
    let finished = client.finish();
    assert_eq!(finished.code, Some(NICK_REFUSED), "{finished:?}");
    assert_eq!(
        finished.rest,
        ["! cannot use the nick \"9lives\": a nick starts with an ASCII letter or _, not '9'", "* server said goodbye",]
    );
}

#[test]
fn connecting_to_a_closed_port_exits_3_with_a_clear_message() {
    let (_held, port) = common::refusing_port();
    let addr = format!("127.0.0.1:{port}");
    let client = PipeClient::start("nobody", &addr, &["--nick", "alice"]);
    let finished = client.finish();
    assert_eq!(finished.code, Some(CANNOT_CONNECT), "{finished:?}");
    assert_eq!(
        finished.stderr,
        format!("minichat: cannot connect to {addr}: connection refused — is minichat-server running there?\n")
    );
    assert_eq!(finished.rest, Vec::<String>::new());
}

#[test]
fn server_shutdown_shows_its_error_and_exits_5() {
    let server = start_server();
    let alice = PipeClient::start("alice", &server.local_addr().to_string(), &["--nick", "alice"]);
    alice.expect(&["* you joined as alice", "* present (1): alice"]);
    server.shutdown().expect("the server shuts down");
    // Input stays open until the goodbye is shown: closing it would be a quit of its own.
    let error = alice.next_line();
    assert!(error.starts_with("! server error: ") && error.ends_with(" (SHUTTING_DOWN)"), "{error}");
    alice.expect(&["* server said goodbye"]);
    let finished = alice.finish();
    assert_eq!(finished.code, Some(CLOSED_BY_SERVER), "{finished:?}");
    assert_eq!(finished.rest, Vec::<String>::new());
}

#[test]
fn the_client_answers_ping_and_reports_a_dropped_connection_with_exit_6() {
    let fake = FakeServer::start(|mut conn| {
        conn.register(1024);
        conn.send("PING idle-1\n");
        assert_eq!(conn.line(), "PONG idle-1");
        // Drop the connection without BYE.
    });
    let client = PipeClient::start("alice", &fake.addr.to_string(), &["--nick", "alice"]);
    client.expect(&["* you joined as alice", "* present (1): alice"]);
    fake.join();
    // Input stays open until the client has noticed: closing it would be a quit of its own.
    client.expect(&["! lost connection: the server closed it without saying goodbye"]);
    let finished = client.finish();
    assert_eq!(finished.code, Some(CONNECTION_LOST), "{finished:?}");
    assert_eq!(finished.rest, Vec::<String>::new());
}

#[test]
fn hostile_text_is_printed_neutralised_with_no_escape_codes() {
    let fake = FakeServer::start(|mut conn| {
        conn.register(1024);
        conn.send("MSG mallory \x1b]0;pwned\x07\x1b[2Jhi \u{202e}txt.exe\r\nBYE\n");
        conn.expect_close();
    });
    let client = PipeClient::start("alice", &fake.addr.to_string(), &["--nick", "alice"]);
    fake.join();
    let finished = client.finish();
    assert_eq!(finished.code, Some(CLOSED_BY_SERVER), "{finished:?}");
    assert_eq!(
        finished.rest,
        [
            "* you joined as alice",
            "* present (1): alice",
            "<mallory> ^[]0;pwned^G^[[2Jhi \\u{202e}txt.exe",
            "* server said goodbye",
        ]
    );
}

#[test]
fn long_text_and_unknown_commands_are_refused_locally_and_never_sent() {
    let fake = FakeServer::start(|mut conn| {
        conn.register(128);
        // Nothing reaches the server until the message that fits, then QUIT.
        assert_eq!(conn.line(), format!("MSG {}", "f".repeat(64)));
        assert_eq!(conn.line(), "QUIT");
        conn.send("BYE\n");
        conn.expect_close();
    });
    let mut client = PipeClient::start("alice", &fake.addr.to_string(), &["--nick", "alice"]);
    client.expect(&["* you joined as alice", "* present (1): alice"]);
    client.send(&"x".repeat(65));
    client.expect(&["! not sent: the message is 65 bytes, and this server accepts at most 64 bytes"]);
    client.send("/me waves");
    client.expect(&["! unknown command /me; /help lists the commands (//text sends a message starting with /)"]);
    client.send(&"f".repeat(64));
    client.close_input();
    fake.join();
    let finished = client.finish();
    assert_eq!(finished.code, Some(LEFT), "{finished:?}");
    assert_eq!(finished.rest, ["* server said goodbye"]);
}

#[test]
fn no_bye_after_quit_gives_up_after_the_bye_timeout_with_exit_6() {
    let fake = FakeServer::start(|mut conn| {
        conn.register(1024);
        assert_eq!(conn.line(), "QUIT");
        // Stay silent; the client must give up on its own.
        conn.expect_close();
    });
    let mut client = PipeClient::start("alice", &fake.addr.to_string(), &["--nick", "alice", "--bye-timeout", "100ms"]);
    client.close_input();
    let finished = client.finish();
    fake.join();
    assert_eq!(finished.code, Some(CONNECTION_LOST), "{finished:?}");
    assert_eq!(
        finished.rest,
        [
            "* you joined as alice",
            "* present (1): alice",
            "! the server did not answer QUIT; closing the connection anyway",
        ]
    );
}

#[test]
fn timestamps_prefix_room_lines_with_hh_mm_on_request() {
    let fake = FakeServer::start(|mut conn| {
        conn.register(1024);
        assert_eq!(conn.line(), "MSG after help");
        conn.send("MSG bob hi\nBYE\n");
        conn.expect_close();
    });
    let mut client = PipeClient::start("alice", &fake.addr.to_string(), &["--nick", "alice", "--timestamps"]);
    client.send("/help");
    client.send("after help");
    fake.join();
    let finished = client.finish();
    // "HH:MM " then the plain line.
    let stamped = |line: &str, rest: &str| match (line.get(..6), line.get(6..)) {
        (Some(clock), Some(after)) => {
            let b = clock.as_bytes();
            b[..2].iter().chain(&b[3..5]).all(u8::is_ascii_digit) && b[2] == b':' && b[5] == b' ' && after == rest
        }
        _ => false,
    };
    let lines = &finished.rest;
    assert!(stamped(&lines[0], "* you joined as alice"), "{lines:?}");
    assert!(lines.iter().any(|l| stamped(l, "<bob> hi")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "commands:"), "local help is not stamped: {lines:?}");
}
