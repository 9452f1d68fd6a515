//! SPEC.md §11, limits: R-LIMIT-1 … R-LIMIT-6.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use super::*;
use crate::core::{CloseMode, MAX_READ, Server};

fn ip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

#[test]
fn r_limit_1_at_m_connections_one_more_gets_server_full_and_bye_without_hello() {
    let mut d = Driver::with_config(Config { max_clients: 3, max_per_address: 0, ..Config::default() });
    d.room(&["a", "b"]);
    d.connect("c");
    d.expect("c", &[HELLO]);
    d.connect("refused");
    d.expect_fatal("refused", "SERVER_FULL");
    assert_eq!(d.server.connection_count(), 3);
    // The others are not affected.
    d.send("c", "USER c");
    d.send("a", "MSG still fine");
    d.expect("b", &["JOIN c", "MSG a still fine"]);
    // A slot is free again once a connection is gone.
    d.send("b", "QUIT");
    d.connect("next");
    d.expect("next", &[HELLO]);
    d.connect("refused");
    d.expect_fatal("refused", "SERVER_FULL");
}

#[test]
fn r_limit_1_refused_connections_do_not_take_a_slot() {
    let mut d = Driver::with_config(Config { max_clients: 1, ..Config::default() });
    d.register("a");
    d.stop_reading("a");
    for i in 0..5 {
        let name = format!("r{i}");
        d.connect(&name);
        d.expect_fatal(&name, "SERVER_FULL");
    }
    d.start_reading("a");
    d.send("a", "QUIT");
    d.connect("b");
    d.expect("b", &[HELLO]);
}

#[test]
fn r_limit_2_at_a_connections_from_one_address_one_more_gets_too_many_connections() {
    let mut d = Driver::with_config(Config { max_per_address: 2, ..Config::default() });
    d.connect_from("a1", ip(1));
    d.connect_from("a2", ip(1));
    d.connect_from("a3", ip(1));
    d.expect_fatal("a3", "TOO_MANY_CONNECTIONS");
    d.connect_from("b1", ip(2));
    d.expect("b1", &[HELLO]);
    d.expect("a1", &[HELLO]);
    d.send("a1", "QUIT");
    d.connect_from("a4", ip(1));
    d.expect("a4", &[HELLO]);
}

#[test]
fn r_limit_2_zero_means_no_per_address_limit() {
    let mut d = Driver::with_config(Config { max_per_address: 0, max_clients: 200, ..Config::default() });
    for i in 0..200 {
        let name = format!("c{i}");
        d.connect(&name);
        d.expect(&name, &[HELLO]);
    }
}

/// A room where `bob` stopped reading and `alice` sends lines of exactly 100 bytes.
fn stalled_bob(q: usize) -> (Driver, String) {
    let mut d = Driver::with_config(Config { max_queue: q, max_clients: 4, ..Config::default() });
    d.room(&["alice", "bob", "carol"]);
    d.stop_reading("bob");
    let line = format!("MSG {}", text(100 - "MSG alice \n".len()));
    assert_eq!(format!("MSG alice {}\n", &line[4..]).len(), 100);
    (d, line)
}

#[test]
fn r_limit_3_output_of_exactly_q_bytes_is_held() {
    let (mut d, line) = stalled_bob(1000);
    for _ in 0..10 {
        d.send("alice", &line);
    }
    assert_eq!(d.queued("bob"), 1000);
    assert!(d.is_open("bob"));
    assert_eq!(d.server.member_count(), 3);
    d.start_reading("bob");
    assert_eq!(d.take("bob").len(), 10);
}

#[test]
fn r_limit_3_slow_consumer_is_dropped_and_others_get_leave_slow() {
    let (mut d, line) = stalled_bob(1000);
    for _ in 0..11 {
        d.send("alice", &line);
    }
    assert!(!d.is_open("bob"), "one byte over Q: bob is a slow consumer");
    let relayed = format!("MSG alice {}", &line[4..]);
    let mut expected = vec![relayed.as_str(); 11];
    expected.push("LEAVE bob SLOW");
    d.expect("alice", &expected);
    d.expect("carol", &expected);
    // Nobody waited for bob, and the room goes on.
    d.send("carol", "USERS");
    assert_eq!(user_list(&d.take("carol")), set(&["alice", "carol"]));
    d.start_reading("bob");
    d.expect_nothing("bob");
}

#[test]
fn r_limit_3_a_slow_consumers_queue_is_replaced_by_error_and_bye_and_abandoned() {
    // The core's contract, without the driver: what the adapter is asked to try once.
    let config = Config { max_queue: 1000, max_clients: 4, ..Config::default() };
    let mut core = Server::new(&config).unwrap();
    let t = Instant::now();
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let alice = core.connect(local, t);
    let bob = core.connect(local, t);
    core.receive(alice, b"USER alice\n", t);
    core.receive(bob, b"USER bob\n", t);
    for id in [alice, bob] {
        let n = core.output(id).map(|p| p.len()).sum();
        core.written(id, n);
    }
    let line = format!("MSG {}\n", text(89));
    for _ in 0..11 {
        core.receive(alice, line.as_bytes(), t);
        let n = core.output(alice).map(|p| p.len()).sum();
        core.written(alice, n);
    }
    let io = core.io(bob).unwrap();
    assert_eq!(io.close, Some(CloseMode::Abandon));
    assert!(!io.read);
    let out: Vec<u8> = core.output(bob).flat_map(|p| p.to_vec()).collect();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("ERROR SLOW_CONSUMER ") && out.ends_with("\nBYE\n") && out.lines().count() == 2, "{out}");
    core.check_invariants().unwrap();
    core.closed(bob, t);
    assert_eq!(core.connection_count(), 1);
}

#[test]
fn r_limit_3_a_slow_consumer_gets_the_rest_of_a_half_written_line_before_its_notice() {
    let config = Config { max_queue: 1000, max_clients: 4, ..Config::default() };
    let mut core = Server::new(&config).unwrap();
    let t = Instant::now();
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let alice = core.connect(local, t);
    let bob = core.connect(local, t);
    core.receive(alice, b"USER alice\n", t);
    core.receive(bob, b"USER bob\n", t);
    for id in [alice, bob] {
        let n = core.output(id).map(|p| p.len()).sum();
        core.written(id, n);
    }
    let line = format!("MSG {}\n", text(89));
    core.receive(alice, line.as_bytes(), t);
    core.written(bob, 3); // "MSG" reached bob, the rest of the line did not
    for _ in 0..10 {
        core.receive(alice, line.as_bytes(), t);
        let n = core.output(alice).map(|p| p.len()).sum();
        core.written(alice, n);
    }
    assert_eq!(core.io(bob).unwrap().close, Some(CloseMode::Abandon));
    let out = String::from_utf8(core.output(bob).flat_map(|p| p.to_vec()).collect()).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(&*format!(" alice {}", text(89))), "the started line is finished");
    assert!(lines.next().unwrap().starts_with("ERROR SLOW_CONSUMER "));
    assert_eq!(lines.next(), Some("BYE"));
    assert_eq!(lines.next(), None);
}

#[test]
fn r_limit_3_a_consumer_that_catches_up_in_time_stays() {
    let (mut d, line) = stalled_bob(1000);
    for _ in 0..10 {
        d.send("alice", &line);
    }
    d.drain("bob", 1);
    d.send("alice", &line);
    assert!(!d.is_open("bob"), "one byte read is not enough for 100 more");
    let (mut d, line) = stalled_bob(1000);
    for _ in 0..10 {
        d.send("alice", &line);
    }
    d.drain("bob", 100);
    d.send("alice", &line);
    assert!(d.is_open("bob"));
    assert_eq!(d.queued("bob"), 1000);
}

#[test]
fn r_limit_3_replies_count_against_q_too() {
    let mut d = Driver::with_config(Config { max_queue: 1000, max_clients: 4, msg_rate: 0, ..Config::default() });
    d.room(&["alice", "bob"]);
    d.stop_reading("bob");
    // "PONG " + 32 + LF = 38 bytes; 26 fit in 1000, the 27th does not.
    let ping = format!("PING {}\n", text(32));
    d.send_bytes("bob", ping.repeat(26).as_bytes());
    assert_eq!(d.queued("bob"), 26 * 38);
    d.send_bytes("bob", ping.as_bytes());
    assert!(!d.is_open("bob"));
    d.expect("alice", &["LEAVE bob SLOW"]);
}

#[test]
fn r_limit_4_memory_per_connection_is_bounded_whatever_the_peer_does() {
    // The driver checks after every event that no connection holds more than L + 1 bytes of
    // input, Q bytes of output or one read of held-back input.
    let config =
        Config { max_line: 128, max_queue: 2000, max_clients: 8, msg_rate: 10, msg_burst: 5, ..Config::default() };
    let mut d = Driver::with_config(config);
    d.room(&["sender", "sink", "endless", "flooder"]);
    d.stop_reading("sink");
    d.stop_reading("flooder");
    for _ in 0..50 {
        d.send_bytes("endless", &[b'x'; MAX_READ]);
        d.send_bytes("flooder", "PING p\n".repeat(MAX_READ / 7).as_bytes());
        d.send("sender", &format!("MSG {}", text(64)));
        d.advance(ms(50));
    }
    assert!(!d.is_open("sink"), "the sink was cut at Q");
    assert!(d.is_open("endless"), "an endless line costs nothing until its line timeout");
}

#[test]
fn r_limit_5_lines_over_the_rate_are_delayed_never_dropped() {
    let mut d = Driver::new(); // burst 20, then 10 lines/s
    d.room(&["alice", "bob"]);
    d.advance(secs(5));
    let lines: String = (0..50).map(|i| format!("MSG {i}\n")).collect();
    d.send_bytes("alice", lines.as_bytes());
    let first: Vec<String> = d.take("bob");
    assert_eq!(first.len(), 20, "the burst passes at once");
    assert!(!d.server.io(d.id("alice")).unwrap().read, "flood control stops reading alice");
    let mut bob = first;
    for _ in 0..30 {
        d.advance(ms(100));
        let got = d.take("bob");
        assert_eq!(got.len(), 1, "one line per 100 ms: {got:?}");
        bob.extend(got);
    }
    let expected: Vec<String> = (0..50).map(|i| format!("MSG alice {i}")).collect();
    assert_eq!(bob, expected);
    assert!(d.is_open("alice"));
    assert!(d.server.io(d.id("alice")).unwrap().read);
}

#[test]
fn r_limit_5_the_burst_boundary_is_exact() {
    let mut d = Driver::with_config(Config { msg_rate: 10, msg_burst: 20, ..Config::default() });
    d.connect("alice");
    d.advance(secs(5));
    d.take("alice");
    // 20 lines at once pass; the 21st waits exactly one interval.
    d.send_bytes("alice", "PING a\n".repeat(20).as_bytes());
    assert_eq!(d.take("alice").len(), 20);
    d.send_bytes("alice", b"PING b\n");
    let got = d.take("alice");
    assert!(got.len() == 1 && got[0].starts_with("ERROR FLOOD "), "{got:?}");
    d.advance(ms(99));
    d.expect_nothing("alice");
    d.advance(ms(1));
    d.expect("alice", &["PONG b"]);
}

#[test]
fn r_limit_5_eof_after_delayed_lines_processes_them_all_first() {
    let mut d = Driver::with_config(Config { msg_rate: 10, msg_burst: 1, ..Config::default() });
    d.room(&["alice", "bob"]);
    d.advance(secs(1));
    d.send_bytes("alice", b"MSG 1\nMSG 2\nMSG 3\nMSG 4");
    d.eof("alice");
    d.advance(secs(1));
    d.expect("bob", &["MSG alice 1", "MSG alice 2", "MSG alice 3", "LEAVE alice LOST"]);
}

#[test]
fn r_limit_6_one_flood_error_per_episode_of_delaying() {
    let mut d = Driver::with_config(Config { msg_rate: 10, msg_burst: 3, ..Config::default() });
    d.room(&["alice"]);
    d.advance(secs(1));
    // 3 pass, 7 are delayed to one per 100 ms: one notice.
    d.send_bytes("alice", "PING x\n".repeat(10).as_bytes());
    d.advance(ms(750));
    let got = d.take("alice");
    assert_eq!(got.iter().filter(|l| l.starts_with("ERROR FLOOD ")).count(), 1, "{got:?}");
    assert_eq!(got.iter().filter(|l| *l == "PONG x").count(), 10);
    // Still over the rate (the budget is not back yet): delayed again, no second notice.
    d.send_bytes("alice", "PING y\n".repeat(3).as_bytes());
    d.advance(secs(1));
    let got = d.take("alice");
    assert_eq!(got, ["PONG y", "PONG y", "PONG y"]);
    // Under the rate for a while, then over it again: a new episode, a new notice.
    d.advance(secs(5));
    d.send_bytes("alice", "PING w\n".repeat(5).as_bytes());
    d.advance(secs(1));
    let got = d.take("alice");
    assert_eq!(got.iter().filter(|l| l.starts_with("ERROR FLOOD ")).count(), 1, "{got:?}");
    assert!(d.is_open("alice"));
}

#[test]
fn r_limit_5_rate_zero_turns_flood_control_off() {
    let mut d = Driver::with_config(no_flood());
    d.room(&["alice"]);
    d.send_bytes("alice", "PING x\n".repeat(1000).as_bytes());
    assert_eq!(d.take("alice").len(), 1000);
}

mod flood_properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// R-LIMIT-5: whatever the rate, the burst, and however the lines are split and spaced,
        /// every line is processed exactly once, in order, and the connection stays open.
        /// R-LIMIT-6: at most one FLOOD notice per write that starts delaying.
        #[test]
        fn r_limit_5_every_line_is_eventually_processed_in_order(
            rate in 1u32..30,
            burst in 1u32..10,
            lines in 1usize..120,
            cuts in prop::collection::vec((1usize..200, 0u64..400), 1..40),
        ) {
            let config = Config { msg_rate: rate, msg_burst: burst, idle_timeout: secs(3600), ..Config::default() };
            let mut d = Driver::with_config(config);
            d.room(&["alice", "bob"]);
            let script: String = (0..lines).map(|i| format!("MSG {i}\n")).collect();
            let mut rest = script.as_bytes();
            let mut writes = 0;
            for (n, pause) in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let n = (*n).min(rest.len());
                d.send_bytes("alice", &rest[..n]);
                rest = &rest[n..];
                writes += 1;
                d.advance(ms(*pause));
            }
            let mut bob = d.take("bob");
            for _ in 0..1000 {
                if bob.len() >= lines {
                    break;
                }
                d.advance(secs(1));
                bob.extend(d.take("bob"));
            }
            let expected: Vec<String> = (0..lines).map(|i| format!("MSG alice {i}")).collect();
            prop_assert_eq!(bob, expected.clone());
            prop_assert!(d.is_open("alice"));
            let alice = d.take("alice");
            let floods = alice.iter().filter(|l| l.starts_with("ERROR FLOOD ")).count();
            prop_assert!(floods <= writes, "{} notices for {} writes", floods, writes);
            let relayed: Vec<String> = alice.into_iter().filter(|l| !l.starts_with("ERROR FLOOD ")).collect();
            prop_assert_eq!(relayed, expected);
        }
    }
}
