//! Framing over real TCP: bytes split anyhow, pipelined commands, overlong lines, invalid
//! UTF-8, and connections that end mid-line (R-TRANS-*, R-LEAVE-1).

use std::io::Write;

use minichat_server::Config;
use socket2::{Domain, Socket, Type};

use crate::support::{Client, config, start};

#[test]
fn a_line_written_one_byte_at_a_time_is_one_line() {
    let server = start(config());
    let mut alice = Client::register(server.local_addr(), "alice");
    let mut bob = Client::register(server.local_addr(), "bob");
    alice.expect("JOIN bob");
    for b in "MSG slow ünïcödé\r\n".bytes() {
        bob.send_bytes(&[b]);
        bob.stream().flush().unwrap();
    }
    alice.expect("MSG bob slow ünïcödé");
    bob.expect("MSG bob slow ünïcödé");
}

#[test]
fn several_commands_pipelined_in_one_write_are_answered_in_order() {
    let server = start(config());
    let mut alice = Client::hello(server.local_addr(), "alice");
    alice.send_bytes(b"USER alice\r\nMSG one\nUSERS\nBOGUS\nPING p\nMSG two\nQUIT bye\n");
    for expected in ["WELCOME alice", "USERS alice", "ENDUSERS 1", "MSG alice one", "USERS alice", "ENDUSERS 1"] {
        alice.expect(expected);
    }
    alice.expect_error("UNKNOWN_COMMAND");
    for expected in ["PONG p", "MSG alice two", "BYE"] {
        alice.expect(expected);
    }
    assert_eq!(alice.until_closed(), Vec::<String>::new(), "closed after BYE");
}

#[test]
fn an_overlong_line_and_invalid_utf8_get_their_errors_and_the_connection_stays_usable() {
    let server = start(Config { max_line: 128, ..config() });
    let mut alice = Client::register(server.local_addr(), "alice");
    let mut huge = b"MSG ".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 100_000));
    huge.push(b'\n');
    alice.send_bytes(&huge);
    alice.expect_error("LINE_TOO_LONG");
    alice.send_bytes(b"MSG caf\xe9\n");
    alice.expect_error("INVALID_UTF8");
    alice.send_bytes(b"MSG \x1b[2J\n");
    alice.expect_error("CONTROL_CHARACTER");
    alice.send("MSG still here");
    alice.expect("MSG alice still here");
}

/// A connection ended by the client (FIN) or reset (RST) in the middle of a line.
fn dropped_mid_line(reset: bool) {
    let server = start(config());
    let mut alice = Client::register(server.local_addr(), "alice");
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.connect(&server.local_addr().into()).unwrap();
    let mut bob = Client::from_stream(socket.into(), "bob");
    bob.line();
    bob.send("USER bob");
    bob.expect("WELCOME bob");
    while !bob.line().starts_with("ENDUSERS") {}
    alice.expect("JOIN bob");
    bob.send("MSG complete");
    bob.expect("MSG bob complete");
    bob.send_bytes(b"MSG never finish");
    let socket = Socket::from(bob.stream().try_clone().unwrap());
    if reset {
        socket.set_linger(Some(std::time::Duration::ZERO)).unwrap();
    }
    drop(socket);
    drop(bob);
    alice.expect("MSG bob complete");
    alice.expect("LEAVE bob LOST");
    assert!(alice.barrier().is_empty(), "the incomplete line is discarded (R-TRANS-11)");
}

#[test]
fn a_client_that_closes_mid_line_leaves_as_lost() {
    dropped_mid_line(false);
}

#[test]
fn a_client_whose_connection_is_reset_mid_line_leaves_as_lost() {
    dropped_mid_line(true);
}

#[test]
fn a_client_that_keeps_sending_after_quit_still_gets_bye() {
    let server = start(config());
    let mut alice = Client::register(server.local_addr(), "alice");
    let mut burst = b"QUIT\n".to_vec();
    burst.extend("MSG ignored\n".repeat(20_000).as_bytes());
    alice.send_bytes(&burst);
    let _ = alice.stream().write_all(&"MSG more\n".repeat(20_000).into_bytes());
    assert_eq!(alice.until_closed(), ["BYE"]);
}
