//! minichat-server's PodSixNet listener (SPEC.md §16) against real PodSixNet programs: clients
//! written with the PodSixNet 0.11.0 library's `ConnectionListener` (`chat_client.py` in the
//! workspace's `tests/podsixnet/`, run in an environment made once under `target/`, see
//! `python.rs` there) in the same room as line-protocol clients.
//!
//! `chat_client.py` sends each JSON line it is given with PodSixNet's own `connection.Send` and
//! prints every event the library delivers as one JSON line, keys in wire order, so the expected
//! lines below are exactly what a PodSixNet program's `Network_<action>` methods receive.
//! Every wait reads until an expected line, bounded in time; nothing sleeps.

#[path = "../../tests/podsixnet/python.rs"]
mod python;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use minichat_server::{Config, ServerHandle};
use python::{LIMIT, PythonProgram, chat_client, json_str};

// ---------- helpers ----------

fn start_server(config: Config) -> ServerHandle {
    let config =
        Config { listen: "127.0.0.1:0".parse().unwrap(), podsixnet: Some("127.0.0.1:0".parse().unwrap()), ..config };
    minichat_server::spawn(config).expect("the server starts")
}

fn psn_addr(server: &ServerHandle) -> String {
    server.podsixnet_addr().expect("the PodSixNet listener is on").to_string()
}

/// A line-protocol client on blocking std sockets.
struct LineClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl LineClient {
    fn connect(server: &ServerHandle) -> LineClient {
        let stream = TcpStream::connect(server.local_addr()).expect("connect to the line listener");
        stream.set_read_timeout(Some(LIMIT)).unwrap();
        LineClient { writer: stream.try_clone().unwrap(), reader: BufReader::new(stream) }
    }

    /// Connects and registers as `nick`, checking the greeting and the welcome.
    fn register(server: &ServerHandle, nick: &str, present: &[&str]) -> LineClient {
        let mut client = LineClient::connect(server);
        assert!(client.line().starts_with("HELLO minichat/1 "));
        client.send(&format!("USER {nick}"));
        client.expect(&[&format!("WELCOME {nick}"), &format!("USERS {}", present.join(" "))]);
        client.expect(&[&format!("ENDUSERS {}", present.len())]);
        client
    }

    fn send(&mut self, line: &str) {
        self.writer.write_all(format!("{line}\n").as_bytes()).expect("the server reads");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).expect("a line within the time limit");
        assert!(n > 0, "the server closed the connection while a line was expected");
        assert_eq!(line.pop(), Some('\n'), "{line:?} is not LF-terminated");
        line
    }

    fn expect(&mut self, lines: &[&str]) {
        for want in lines {
            assert_eq!(&self.line(), want);
        }
    }
}

/// What `chat_client.py` prints for a frame the server sends (R-PSN-6), keys in SPEC order.
fn players(nicks: &[&str]) -> String {
    let nicks: Vec<String> = nicks.iter().map(|n| json_str(n)).collect();
    format!(r#"{{"action": "players", "players": [{}]}}"#, nicks.join(", "))
}

fn welcome(nick: &str) -> String {
    format!(r#"{{"action": "welcome", "nick": {}}}"#, json_str(nick))
}

fn join(nick: &str) -> String {
    format!(r#"{{"action": "join", "nick": {}}}"#, json_str(nick))
}

fn message(from: &str, text: &str) -> String {
    let (from, text) = (json_str(from), json_str(text));
    format!(r#"{{"action": "message", "message": {text}, "who": {from}, "expediteur": {from}}}"#)
}

fn leave(nick: &str, cause: &str, reason: Option<&str>) -> String {
    let reason = reason.map(|r| format!(r#", "reason": {}"#, json_str(r))).unwrap_or_default();
    format!(r#"{{"action": "leave", "nick": {}, "cause": {}{reason}}}"#, json_str(nick), json_str(cause))
}

/// What a PodSixNet client sends, as `chat_client.py` takes it.
fn username(nick: &str) -> String {
    format!(r#"{{"action": "username", "username": {}}}"#, json_str(nick))
}

fn nickname(nick: &str) -> String {
    format!(r#"{{"action": "nickname", "nickname": {}}}"#, json_str(nick))
}

fn say(text: &str) -> String {
    format!(r#"{{"action": "message", "message": {}}}"#, json_str(text))
}

/// Connects a PodSixNet client and reads the server's greeting.
fn psn_client(name: &str, server: &ServerHandle) -> PythonProgram {
    let mut client = chat_client(name, &psn_addr(server));
    let hello = client.next_line();
    assert!(
        hello.starts_with(r#"{"action": "hello", "version": "minichat/1", "max_line": 1024, "text": "#),
        "{name}: expected hello, got {hello}"
    );
    client
}

/// Reads `client`'s next line, which must be a `minichat_error` frame with `code`.
fn expect_error(client: &mut PythonProgram, code: &str) {
    let line = client.next_line();
    let prefix = format!(r#"{{"action": "minichat_error", "code": "{code}", "text": "#);
    assert!(line.starts_with(&prefix), "expected a {code} error frame, got {line}");
}

// ---------- tests ----------

#[test]
fn two_podsixnet_clients_and_a_line_client_converse_in_one_room() {
    let server = start_server(Config::default());
    let mut carol = LineClient::register(&server, "carol", &["carol"]);

    // The course's registration...
    let mut alice = psn_client("alice", &server);
    alice.send(&username("alice"));
    alice.expect(&[&welcome("alice"), &players(&["carol", "alice"])]);
    carol.expect(&["JOIN alice"]);

    // ... and PodSixNet's example chat's.
    let mut bob = psn_client("bob", &server);
    bob.send(&nickname("bob"));
    bob.expect(&[&welcome("bob"), &players(&["carol", "alice", "bob"])]);
    // R-PSN-7: a join frame, and the membership right after it.
    alice.expect(&[&join("bob"), &players(&["carol", "alice", "bob"])]);
    carol.expect(&["JOIN bob"]);

    // One global order (§10): everyone sees the three messages in the same order; the PodSixNet
    // programs get the sender both as "who" (PodSixNet's example) and "expediteur" (the course).
    alice.send(&say("bonjour à tous"));
    alice.expect(&[&message("alice", "bonjour à tous")]);
    carol.send("MSG salut alice — ça va ?");
    carol.expect(&["MSG alice bonjour à tous", "MSG carol salut alice — ça va ?"]);
    bob.send(&say("  indented, kept as typed "));
    bob.expect(&[
        &message("alice", "bonjour à tous"),
        &message("carol", "salut alice — ça va ?"),
        &message("bob", "  indented, kept as typed "),
    ]);
    alice.expect(&[&message("carol", "salut alice — ça va ?"), &message("bob", "  indented, kept as typed ")]);
    carol.expect(&["MSG bob   indented, kept as typed "]);

    // users, as a PodSixNet client asks for it: the whole list in one frame.
    alice.send(r#"{"action": "users"}"#);
    alice.expect(&[&players(&["carol", "alice", "bob"])]);

    // bob leaves the PodSixNet way, by closing the connection.
    bob.close_input();
    let bob = bob.finish();
    assert_eq!(bob.code, Some(0), "{bob:?}");
    assert_eq!(bob.rest, Vec::<String>::new(), "nothing after its own message");
    alice.expect(&[&leave("bob", "LOST", None), &players(&["carol", "alice"])]);
    carol.expect(&["LEAVE bob LOST"]);

    // alice quits with a reason: the server says bye and closes.
    alice.send(r#"{"action": "quit", "reason": "à plus"}"#);
    alice.expect(&[r#"{"action": "bye"}"#, r#"{"action": "disconnected"}"#]);
    carol.expect(&["LEAVE alice QUIT à plus"]);
    let alice = alice.finish();
    assert_eq!(alice.code, Some(0), "{alice:?}");

    // The line client saw the PodSixNet users leave and is still served.
    carol.send("USERS");
    carol.expect(&["USERS carol", "ENDUSERS 1"]);
}

#[test]
fn a_podsixnet_client_sending_u0000_disturbs_nobody() {
    let server = start_server(Config::default());
    let mut carol = LineClient::register(&server, "carol", &["carol"]);
    let mut alice = psn_client("alice", &server);
    alice.send(&username("alice"));
    alice.expect(&[&welcome("alice"), &players(&["carol", "alice"])]);
    let mut bob = psn_client("bob", &server);
    bob.send(&username("bob"));
    bob.expect(&[&welcome("bob"), &players(&["carol", "alice", "bob"])]);
    alice.expect(&[&join("bob"), &players(&["carol", "alice", "bob"])]);
    carol.expect(&["JOIN alice", "JOIN bob"]);

    // PodSixNet's own Send does not escape: the terminator inside the text ends the frame early,
    // and the server receives two pieces that are not rencode. Each is refused (R-PSN-5) and the
    // sender stays connected; PodSixNet's example ChatServer drops the sender instead.
    alice.send(&say("x\u{0}---\u{0}y"));
    expect_error(&mut alice, "BAD_ARGUMENTS");
    expect_error(&mut alice, "BAD_ARGUMENTS");

    // Everyone else keeps chatting, and heard nothing of it: their next lines are bob's message.
    bob.send(&say("still here"));
    bob.expect(&[&message("bob", "still here")]);
    alice.expect(&[&message("bob", "still here")]);
    carol.expect(&["MSG bob still here"]);

    // The sender is still in the room.
    alice.send(&say("me too"));
    for client in [&mut alice, &mut bob] {
        client.expect(&[&message("alice", "me too")]);
    }
    carol.expect(&["MSG alice me too"]);

    // And the server still takes newcomers on both listeners.
    let mut dave = psn_client("dave", &server);
    dave.send(&username("dave"));
    dave.expect(&[&welcome("dave"), &players(&["carol", "alice", "bob", "dave"])]);
    let _erin = LineClient::register(&server, "erin", &["carol", "alice", "bob", "dave", "erin"]);
    carol.expect(&["JOIN dave", "JOIN erin"]);
}

#[test]
fn a_podsixnet_frame_longer_than_l_is_refused_and_the_connection_stays_usable() {
    let server = start_server(Config::default());
    let mut alice = psn_client("alice", &server);
    alice.send(&username("alice"));
    alice.expect(&[&welcome("alice"), &players(&["alice"])]);
    // R-PSN-2: the payload is more than L = 1024 bytes.
    alice.send(&say(&"x".repeat(2000)));
    expect_error(&mut alice, "LINE_TOO_LONG");
    // A payload within L but a text over L − 64 is a text too long, as for a line (R-PSN-5).
    alice.send(&say(&"y".repeat(961)));
    expect_error(&mut alice, "TEXT_TOO_LONG");
    alice.send(&say(&"z".repeat(960)));
    alice.expect(&[&message("alice", &"z".repeat(960))]);
}

#[test]
fn podsixnet_frames_that_do_not_fit_get_the_r_psn_5_codes() {
    let server = start_server(Config::default());
    let mut alice = psn_client("alice", &server);
    // Before registering: a message is refused as for a line.
    alice.send(&say("too early"));
    expect_error(&mut alice, "NOT_REGISTERED");
    alice.send(&username("9lives"));
    expect_error(&mut alice, "INVALID_NICK");
    alice.send(&username("alice"));
    alice.expect(&[&welcome("alice"), &players(&["alice"])]);
    let cases = [
        // Another program's action (PodSixNet's whiteboard example).
        (r#"{"action": "draw", "point": [1, 2]}"#, "UNKNOWN_COMMAND"),
        // PodSixNet itself prints values without an action as "OOB data" and ignores them.
        (r#"["not", "a", "dict"]"#, "BAD_ARGUMENTS"),
        (r#"{"message": "no action"}"#, "BAD_ARGUMENTS"),
        (r#"{"action": "message", "message": 42}"#, "BAD_ARGUMENTS"),
        (r#"{"action": "message", "message": ""}"#, "EMPTY_MESSAGE"),
        (r#"{"action": "message", "message": "bell \u0007"}"#, "CONTROL_CHARACTER"),
        (r#"{"action": "username", "username": "bob"}"#, "ALREADY_REGISTERED"),
    ];
    for (frame, code) in cases {
        alice.send(frame);
        expect_error(&mut alice, code);
    }
    // Extra keys are ignored (R-PSN-4): PodSixNet programs add their own.
    alice.send(r#"{"action": "message", "message": "still fine", "expediteur": "alice", "n": 3}"#);
    alice.expect(&[&message("alice", "still fine")]);
    alice.send(r#"{"action": "ping", "token": "barrier-1"}"#);
    alice.expect(&[r#"{"action": "pong", "token": "barrier-1"}"#]);
}

#[test]
fn an_idle_podsixnet_client_is_never_pinged_while_an_idle_line_client_is() {
    // R-PSN-8. The idle line client is the clock: once it has been pinged and timed out, the
    // PodSixNet client has been idle longer than that too.
    let config = Config {
        idle_timeout: Duration::from_millis(200),
        ping_timeout: Duration::from_millis(200),
        ..Config::default()
    };
    let server = start_server(config);
    let mut alice = psn_client("alice", &server);
    alice.send(&username("alice"));
    alice.expect(&[&welcome("alice"), &players(&["alice"])]);
    let mut carol = LineClient::register(&server, "carol", &["alice", "carol"]);
    alice.expect(&[&join("carol"), &players(&["alice", "carol"])]);

    assert!(carol.line().starts_with("PING "), "the idle line client is pinged");
    assert!(carol.line().starts_with("ERROR TIMEOUT "), "and timed out when it does not answer");
    carol.expect(&["BYE"]);

    // alice received no ping in all that time: her next frames are carol's leave.
    alice.expect(&[&leave("carol", "TIMEOUT", None), &players(&["alice"])]);
    alice.send(&say("still here"));
    alice.expect(&[&message("alice", "still here")]);
}
