//! `minichat --podsixnet` against real PodSixNet programs (SPEC.md §16): the real `minichat`
//! binary in pipe mode, chat servers and clients written with the PodSixNet 0.11.0 library itself
//! (the Python programs in the workspace's `tests/podsixnet/`, run in an environment made once
//! under `target/`, see `python.rs` there), and minichat-server's PodSixNet listener.
//!
//! Every wait reads until an expected line, bounded in time; nothing sleeps.

mod common;
#[path = "../../tests/podsixnet/python.rs"]
mod python;

use common::PipeClient;
use python::{chat_client, course_server, json_str};

/// Exit codes, as documented in `minichat --help` and README.md.
const LEFT: i32 = 0;
const NICK_REFUSED: i32 = 4;

/// `course_server.py`'s user list, as a PodSixNet client prints it.
fn players_frame(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| json_str(n)).collect();
    format!(r#"{{"action": "players", "players": [{}]}}"#, names.join(", "))
}

/// A frame for `chat_client.py` to send.
fn message_frame(text: &str) -> String {
    format!(r#"{{"action": "message", "message": {}}}"#, json_str(text))
}

#[test]
fn minichat_converses_with_a_course_server_written_with_podsixnet() {
    let (mut server, addr) = course_server();

    let mut alice = PipeClient::podsixnet("alice", &addr, &["--nick", "alice"]);
    // No hello, no welcome: minichat counts itself in once its username is sent. The course's own
    // "bienvenue" frame means nothing to minichat and is skipped.
    alice.expect(&["* you joined as alice", "* present (1): alice"]);
    server.read_until("alice's registration", |l| l == "username alice");

    // A PodSixNet client in the course's design.
    let mut bob = chat_client("bob", &addr);
    bob.send(r#"{"action": "username", "username": "bob"}"#);
    bob.expect(&[r#"{"action": "bienvenue", "texte": "Bienvenue bob"}"#, &players_frame(&["alice", "bob"])]);
    alice.expect(&["* present (2): alice, bob"]);

    // The course relays with the sender in "expediteur" only.
    bob.send(&message_frame("salut alice, ça va ?"));
    let relayed = r#"{"action": "message", "expediteur": "bob", "message": "salut alice, ça va ?"}"#;
    bob.expect(&[relayed]);
    alice.expect(&["<bob> salut alice, ça va ?"]);

    alice.send("très bien — et toi ?");
    alice.expect(&["<alice> très bien — et toi ?"]);
    // The course knows no users action: /users shows the last list the server sent.
    alice.send("/users");
    alice.expect(&["* present (2): alice, bob"]);
    bob.expect(&[r#"{"action": "message", "expediteur": "alice", "message": "très bien — et toi ?"}"#]);

    // A PodSixNet program leaves by closing its connection.
    bob.close_input();
    alice.expect(&["* present (1): alice"]);
    let bob = bob.finish();
    assert_eq!(bob.code, Some(0), "{bob:?}");

    // Leaving: minichat sends its quit frame and closes; the server, which knows no quit, sees
    // the connection close.
    alice.send("/quit à plus");
    let alice = alice.finish();
    assert_eq!(alice.code, Some(LEFT), "{alice:?}");
    assert_eq!(alice.rest, Vec::<String>::new());
    assert_eq!(alice.stderr, "");
    server.read_until("alice's connection closing", |l| l == "closed alice");
}

#[test]
fn a_course_user_whose_name_is_not_a_nick_is_heard() {
    // The course server takes any string as a name; minichat cannot make it a nick, but must not
    // drop what that user says.
    let (mut server, addr) = course_server();
    let mut alice = PipeClient::podsixnet("alice", &addr, &["--nick", "alice"]);
    alice.expect(&["* you joined as alice", "* present (1): alice"]);
    server.read_until("alice's registration", |l| l == "username alice");

    let mut elodie = chat_client("élodie", &addr);
    elodie.send(r#"{"action": "username", "username": "élodie"}"#);
    elodie.expect(&[r#"{"action": "bienvenue", "texte": "Bienvenue élodie"}"#, &players_frame(&["alice", "élodie"])]);
    alice.expect(&["* present (2): alice, élodie"]);
    elodie.send(&message_frame("bonjour alice"));
    alice.expect(&["<élodie> bonjour alice"]);

    elodie.close_input();
    alice.expect(&["* present (1): alice"]);
    elodie.finish();
    alice.send("/quit");
    let alice = alice.finish();
    assert_eq!(alice.code, Some(LEFT), "{alice:?}");
}

#[test]
fn a_line_holding_u0000_is_refused_and_never_reaches_a_podsixnet_server() {
    let (mut server, addr) = course_server();
    let mut alice = PipeClient::podsixnet("alice", &addr, &["--nick", "alice"]);
    alice.expect(&["* you joined as alice", "* present (1): alice"]);
    let mut bob = chat_client("bob", &addr);
    bob.send(r#"{"action": "username", "username": "bob"}"#);
    bob.expect(&[r#"{"action": "bienvenue", "texte": "Bienvenue bob"}"#, &players_frame(&["alice", "bob"])]);
    alice.expect(&["* present (2): alice, bob"]);

    // PodSixNet's own Send would put the terminator inside this frame (R-PSN-3).
    alice.send("x\0---\0y");
    alice.expect(&["! not sent: the message contains the control character \\u{0}, which no server accepts"]);
    alice.send("after");
    alice.expect(&["<alice> after"]);
    // The next thing bob and the server hear from alice is "after": nothing was sent before it.
    bob.expect(&[r#"{"action": "message", "expediteur": "alice", "message": "after"}"#]);
    assert_eq!(server.read_until("a message", |l| l.starts_with("message ")), "message alice 'after'");
}

#[test]
fn a_podsixnet_example_style_nickname_registers_on_request() {
    // minichat-server accepts both registration actions (R-PSN-4).
    let server = start_server_with_podsixnet();
    let addr = podsixnet_addr(&server);
    let mut bob = PipeClient::podsixnet("bob", &addr, &["--podsixnet-nick-action", "nickname", "--nick", "bob"]);
    bob.expect(&["* you joined as bob", "* present (1): bob"]);
    bob.send("hi");
    bob.expect(&["<bob> hi"]);
    bob.close_input();
    let bob = bob.finish();
    assert_eq!(bob.code, Some(LEFT), "{bob:?}");
    assert_eq!(bob.rest, ["* server said goodbye"]);
}

#[test]
fn minichat_over_podsixnet_and_over_lines_share_minichat_servers_room() {
    let server = start_server_with_podsixnet();
    let lines_addr = server.local_addr().to_string();
    let psn_addr = podsixnet_addr(&server);

    let mut alice = PipeClient::start("alice", &lines_addr, &["--nick", "alice"]);
    alice.expect(&["* you joined as alice", "* present (1): alice"]);

    let mut bob = PipeClient::podsixnet("bob", &psn_addr, &["--nick", "bob"]);
    bob.expect(&["* you joined as bob", "* present (2): alice, bob"]);
    alice.expect(&["* bob joined"]);

    // And a PodSixNet program in the same room.
    let mut carol = chat_client("carol", &psn_addr);
    carol.read_until("the server's hello", |l| l.starts_with(r#"{"action": "hello", "#));
    carol.send(r#"{"action": "username", "username": "carol"}"#);
    carol.expect(&[r#"{"action": "welcome", "nick": "carol"}"#, &players_frame(&["alice", "bob", "carol"])]);
    // A join over PodSixNet is a join frame and the user list right after it (R-PSN-7).
    bob.expect(&["* carol joined", "* present (3): alice, bob, carol"]);
    alice.expect(&["* carol joined"]);

    bob.send("bonjour à tous");
    for client in [&mut bob, &mut alice] {
        client.expect(&["<bob> bonjour à tous"]);
    }
    carol.expect(&[r#"{"action": "message", "message": "bonjour à tous", "who": "bob", "expediteur": "bob"}"#]);

    alice.send("salut bob");
    for client in [&mut alice, &mut bob] {
        client.expect(&["<alice> salut bob"]);
    }
    carol.expect(&[r#"{"action": "message", "message": "salut bob", "who": "alice", "expediteur": "alice"}"#]);

    // bob leaves over PodSixNet: QUIT, then the server's bye.
    bob.send("/quit à plus");
    bob.expect(&["* server said goodbye"]);
    alice.expect(&["* bob quit: à plus"]);
    carol.expect(&[
        r#"{"action": "leave", "nick": "bob", "cause": "QUIT", "reason": "à plus"}"#,
        &players_frame(&["alice", "carol"]),
    ]);
    let bob = bob.finish();
    assert_eq!(bob.code, Some(LEFT), "{bob:?}");
    assert_eq!(bob.stderr, "");

    alice.close_input();
    assert_eq!(alice.finish().code, Some(LEFT));
}

#[test]
fn a_nick_taken_on_minichat_server_is_refused_over_podsixnet_too() {
    let server = start_server_with_podsixnet();
    let alice = PipeClient::start("alice", &server.local_addr().to_string(), &["--nick", "alice"]);
    alice.expect(&["* you joined as alice", "* present (1): alice"]);
    let mut other = PipeClient::podsixnet("other", &podsixnet_addr(&server), &["--nick", "ALICE"]);
    let refused = other.next_line();
    assert!(refused.starts_with("! nick ALICE refused: ") && refused.ends_with("(NICK_IN_USE)"), "{refused}");
    other.close_input();
    let other = other.finish();
    assert_eq!(other.code, Some(NICK_REFUSED), "{other:?}");
}

fn start_server_with_podsixnet() -> minichat_server::ServerHandle {
    let config = minichat_server::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        podsixnet: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    minichat_server::spawn(config).expect("the reference server starts")
}

fn podsixnet_addr(server: &minichat_server::ServerHandle) -> String {
    server.podsixnet_addr().expect("the PodSixNet listener is on").to_string()
}
