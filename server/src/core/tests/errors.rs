//! SPEC.md §15, error codes: R-ERR-1, R-ERR-2.
//!
//! Every test in this module tree checks R-ERR-1's closed list of codes on every line received
//! (the driver parses each with the protocol crate, which knows only those codes). Here: each
//! code appears only where §15 says, non-fatal errors change nothing, fatal ones end with BYE.

use super::*;

/// `ERROR` codes in `lines`.
fn codes(lines: &[String]) -> Vec<String> {
    lines.iter().filter_map(|l| l.strip_prefix("ERROR ")).map(|r| r.split(' ').next().unwrap().to_owned()).collect()
}

#[test]
fn r_err_1_each_code_is_sent_only_in_its_situation() {
    // A busy, well-behaved session provokes no ERROR at all.
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    for line in ["MSG hi", "USERS", "PING 1", "PONG 1", "", "msg lower"] {
        d.send("alice", line);
        d.send("bob", line);
    }
    d.advance(secs(60));
    d.send("alice", "PONG idle");
    d.send("bob", "PONG idle");
    d.send("bob", "QUIT");
    assert_eq!(codes(&d.lines("alice")), Vec::<String>::new());
    assert_eq!(codes(&d.lines("bob")), Vec::<String>::new());
}

#[test]
fn r_err_2_after_a_non_fatal_error_the_state_is_exactly_as_before() {
    let mut d = Driver::with_config(Config { max_line: 128, ..no_flood() });
    d.room(&["alice", "bob"]);
    d.connect("guest");
    d.take("guest");
    let non_fatal: [&[u8]; 12] = [
        b"USER 9",
        b"USER alice",
        b"USER",
        b"MSG",
        b"USERS x",
        b"PING",
        b"HELP",
        b"MSG \xff",
        b"MSG \x1b",
        &[b'x'; 200],
        b"QUIT \x07",
        b"USER bob",
    ];
    for line in non_fatal {
        let mut bytes = line.to_vec();
        bytes.push(b'\n');
        d.send_bytes("alice", &bytes);
        d.send_bytes("guest", &bytes);
        assert!(d.is_open("alice") && d.is_open("guest"));
        assert_eq!(codes(&d.take("alice")).len(), 1);
        assert_eq!(codes(&d.take("guest")).len(), 1);
    }
    // alice is still registered as alice, guest still unregistered, bob saw nothing.
    d.expect_nothing("bob");
    d.send("alice", "MSG same");
    d.expect("bob", &["MSG alice same"]);
    d.send("guest", "MSG hi");
    d.expect_error("guest", "NOT_REGISTERED");
    d.send("bob", "USERS");
    assert_eq!(user_list(&d.take("bob")), set(&["alice", "bob"]));
}

#[test]
fn r_err_2_every_fatal_error_is_followed_by_bye_and_the_close() {
    let config = Config {
        max_clients: 3,
        max_per_address: 2,
        max_queue: 1000,
        register_timeout: secs(5),
        msg_rate: 0,
        ..Config::default()
    };
    let mut d = Driver::with_config(config);
    d.room(&["a"]);
    d.connect("unregistered");
    d.connect("too_many");
    d.expect_fatal("too_many", "TOO_MANY_CONNECTIONS");
    d.connect_from("full", "10.0.0.1".parse().unwrap());
    d.take("full");
    d.connect_from("refused", "10.0.0.2".parse().unwrap());
    d.expect_fatal("refused", "SERVER_FULL");
    d.take("unregistered");
    d.advance(secs(5));
    d.expect_fatal("unregistered", "TIMEOUT");
    d.expect_fatal("full", "TIMEOUT");
    d.send_bytes("a", format!("PING {}\n", text(32)).repeat(30).as_bytes());
    d.expect_fatal("a", "SLOW_CONSUMER");
    d.connect("last");
    d.take("last");
    d.shutdown();
    d.expect_fatal("last", "SHUTTING_DOWN");
}
