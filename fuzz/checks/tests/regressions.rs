//! One test per bug the fuzzers found, named after what broke. Each replays the fuzzer's own
//! reproducer from `fuzz/regressions/<target>/` and then states the behaviour directly, so the
//! test still means something if the input format of a target changes.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Instant;

use arbitrary::{Arbitrary, Unstructured};
use minichat_fuzz_checks::{roundtrip, server_core};
use minichat_protocol::podsixnet::{self, NickAction, client_value};
use minichat_protocol::{ClientMessage, Limits, ServerMessage, Text, parse_server_line};
use minichat_server::Config;
use minichat_server::core::{ConnId, Profile, Server};

fn reproducer(target: &str, name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../regressions").join(target).join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn output(server: &Server, id: ConnId) -> String {
    let bytes: Vec<u8> = server.output(id).flat_map(|p| p.to_vec()).collect();
    String::from_utf8(bytes).expect("the server queues UTF-8")
}

/// The smallest configuration with room for one client, so its queue fills after a few lines.
fn one_client_tight_queue() -> Config {
    let mut config = Config { max_clients: 1, max_line: 128, msg_rate: 0, max_queue: 0, ..Config::default() };
    config.max_queue = match config.clone().validate() {
        Err(minichat_server::ConfigError::QueueTooSmall { needed, .. }) => needed,
        other => panic!("a queue of 0 bytes validates as {other:?}"),
    };
    config.validate().expect("the minimum queue is accepted");
    config
}

/// `roundtrip` found `ServerMessage::EndUsers(26555958876256)` from the protocol crate's derived
/// `Arbitrary`: 14 digits, where the grammar's `count` has at most 10, so the line did not parse.
#[test]
fn generated_user_list_counts_fit_the_ten_digit_count_grammar() {
    roundtrip(&reproducer("roundtrip", "end-users-count-beyond-ten-digits"));

    let mut seen = 0;
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..20_000 {
        let bytes: Vec<u8> = (0..16)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if let Ok(ServerMessage::EndUsers(count)) = ServerMessage::arbitrary(&mut Unstructured::new(&bytes)) {
            seen += 1;
            let line = ServerMessage::EndUsers(count).to_string();
            assert_eq!(parse_server_line(&line), Ok(ServerMessage::EndUsers(count)), "{line}");
        }
    }
    assert!(seen > 100, "only {seen} ENDUSERS generated: the test no longer exercises the count");
}

/// `roundtrip` found `QUIT` + 64 spaces + `x` from the protocol crate's `Arbitrary` for `Text`: a
/// string of spaces cut to the 64-byte limit (L = 128) then got an `x` appended to make it a text,
/// so it was 65 bytes and the parser refused the line it encoded to as `TEXT_TOO_LONG`.
#[test]
fn generated_texts_fit_the_smallest_text_limit_even_when_made_of_spaces() {
    roundtrip(&reproducer("roundtrip", "all-space-text-grows-past-the-limit"));

    let max = Limits::MIN.max_text();
    let mut longest = 0;
    for n in 0..400 {
        let mut bytes = vec![b' '; n];
        bytes.extend_from_slice(&[0xff, 0xff]);
        let text = Text::arbitrary(&mut Unstructured::new(&bytes)).expect("any input gives some text");
        assert!(text.len() <= max, "{n} spaces give a text of {} bytes, over L - 64 = {max}", text.len());
        longest = longest.max(text.len());
    }
    assert_eq!(longest, max, "no input reached the limit: the test no longer exercises the cut");
}

/// `server_core` found a registered client whose queue was nearly full at shutdown: `ERROR
/// SHUTTING_DOWN` did not fit in *Q*, so neither it nor `BYE` was queued (R-SHUT-1, R-ERR-2).
#[test]
fn every_connection_gets_bye_at_shutdown_even_with_a_nearly_full_queue() {
    server_core(&reproducer("server_core", "shutdown-bye-dropped-by-a-nearly-full-queue"));

    let config = one_client_tight_queue();
    let now = Instant::now();
    let mut server = Server::new(&config).expect("a valid config");
    let id = server.connect(IpAddr::V4(Ipv4Addr::LOCALHOST), now);
    server.receive(id, b"USER a\n", now);
    assert!(output(&server, id).contains("\nENDUSERS 1\n"), "registered: {}", output(&server, id));
    server.shutdown(now);
    let out = output(&server, id);
    assert!(out.ends_with("\nBYE\n"), "the client never learns why it was dropped:\n{out}");
    assert!(out.contains("\nERROR SHUTTING_DOWN "), "{out}");
}

/// `server_core` found a slow consumer whose `HELLO` was half written when its queue was
/// discarded: the client read `HELLO minichat/1 … regisERROR SLOW_CONSUMER …`, one garbled line.
#[test]
fn a_slow_consumer_is_never_sent_half_a_line() {
    server_core(&reproducer("server_core", "slow-consumer-discard-cuts-a-half-written-line"));
    // The first fix kept the rest of the half-written chunk's first line even when the write
    // had stopped exactly at a line's end, sending one line of a discarded user list.
    server_core(&reproducer("server_core", "slow-consumer-discard-keeps-a-whole-line-after-a-written-one"));

    let config = one_client_tight_queue();
    let now = Instant::now();
    let mut server = Server::new(&config).expect("a valid config");
    let id = server.connect(IpAddr::V4(Ipv4Addr::LOCALHOST), now);
    let hello = output(&server, id);
    let written = 20;
    server.written(id, written);
    // Errors the client does not read, until one no longer fits in Q.
    for _ in 0..100 {
        if server.io(id).is_some_and(|io| io.close.is_some()) {
            break;
        }
        server.receive(id, b"MSG hi\n", now);
    }
    assert!(server.io(id).is_some_and(|io| io.close.is_some()), "never a slow consumer: the test needs a smaller Q");
    let out = output(&server, id);
    let (rest_of_hello, after) = out.split_at(hello.len() - written);
    assert_eq!(rest_of_hello, &hello[written..], "the half-written HELLO is not finished first");
    let lines: Vec<&str> = after.lines().collect();
    assert!(lines.len() == 2 && lines[0].starts_with("ERROR SLOW_CONSUMER ") && lines[1] == "BYE", "{after}");
}

/// `server_core` found a PodSixNet client disconnected as a slow consumer on accept: with the
/// smallest *Q* the configuration accepted, its `connected` and `hello` frames did not fit, so its
/// first frame was `SLOW_CONSUMER` instead of `hello` (R-REG-1, R-PSN-6).
#[test]
fn a_podsixnet_client_is_greeted_even_with_the_smallest_queue() {
    server_core(&reproducer("server_core", "podsixnet-greeting-over-the-smallest-queue"));

    for max_line in [128, 1024, 65536] {
        let config = Config { max_line, ..one_client_tight_queue() };
        let config = Config { max_queue: 0, ..config };
        let needed = match config.validate() {
            Err(minichat_server::ConfigError::QueueTooSmall { needed, .. }) => needed,
            other => panic!("a queue of 0 bytes validates as {other:?}"),
        };
        let config = Config { max_queue: needed, ..config };
        let now = Instant::now();
        let mut server = Server::new(&config).expect("the smallest accepted queue");
        let id = server.connect_with(Profile::PodSixNet, IpAddr::V4(Ipv4Addr::LOCALHOST), now);
        let bytes: Vec<u8> = server.output(id).flat_map(|p| p.to_vec()).collect();
        let mut framer = podsixnet::Framer::default();
        let mut input = &bytes[..];
        let mut actions = Vec::new();
        while let Some(Ok(payload)) = framer.next_frame(&mut input) {
            let value = podsixnet::decode(&payload).expect("the server sends valid rencode");
            actions.push(value.action().unwrap_or_default().to_owned());
        }
        assert_eq!(actions, ["connected", "hello"], "L = {max_line}, Q = {needed}");
        // And the list at registration, unread greeting and all, fits too (R-REG-2).
        server.receive(
            id,
            &podsixnet::frame(
                &podsixnet::encode(&client_value(&ClientMessage::User("a".parse().unwrap()), NickAction::Username))
                    .unwrap(),
            )
            .unwrap(),
            now,
        );
        assert!(server.io(id).is_some_and(|io| io.close.is_none()), "registering made it a slow consumer");
    }
}
