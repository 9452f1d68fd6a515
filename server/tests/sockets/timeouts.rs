//! The timeouts with short values over real sockets (R-TIME-1 … R-TIME-5). Each test waits for
//! the lines the timeouts cause, never for a fixed time; the timeouts a client must beat are
//! long, the ones that must expire short.

use std::time::Duration;

use minichat_server::Config;

use crate::support::{Client, config, start};

#[test]
fn an_idle_client_gets_ping_and_one_that_does_not_answer_times_out() {
    let server =
        start(Config { idle_timeout: Duration::from_millis(200), ping_timeout: Duration::from_secs(2), ..config() });
    let addr = server.local_addr();
    let mut answers = Client::register(addr, "answers");
    let mut silent = Client::register(addr, "silent");
    assert_eq!(answers.line(), "JOIN silent");
    // The answering client replies to each PING; the silent one never does.
    let ping = silent.line();
    assert!(ping.starts_with("PING "), "{ping}");
    loop {
        let line = answers.line();
        if let Some(token) = line.strip_prefix("PING ") {
            answers.send(&format!("PONG {token}"));
            continue;
        }
        assert_eq!(line, "LEAVE silent TIMEOUT");
        break;
    }
    silent.expect_error("TIMEOUT");
    silent.expect("BYE");
    assert_eq!(silent.until_closed(), Vec::<String>::new());
}

#[test]
fn an_unregistered_connection_times_out() {
    let server = start(Config { register_timeout: Duration::from_millis(200), ..config() });
    let mut c = Client::hello(server.local_addr(), "c");
    c.expect_error("TIMEOUT");
    c.expect("BYE");
    assert_eq!(c.until_closed(), Vec::<String>::new());
}

#[test]
fn an_unfinished_line_times_out_and_the_others_get_leave_timeout() {
    let server = start(Config { line_timeout: Duration::from_millis(200), ..config() });
    let addr = server.local_addr();
    let mut watcher = Client::register(addr, "watcher");
    let mut trickler = Client::register(addr, "trickler");
    watcher.expect("JOIN trickler");
    trickler.send_bytes(b"MSG never end");
    trickler.expect_error("TIMEOUT");
    trickler.expect("BYE");
    watcher.expect("LEAVE trickler TIMEOUT");
}
