//! SPEC.md §10, ordering and membership guarantees: R-ORDER-1 … R-ORDER-6.

use std::collections::BTreeSet;

use super::*;

/// The room events (JOIN, MSG, LEAVE) among `lines`.
fn room_events(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.starts_with("JOIN ") || l.starts_with("MSG ") || l.starts_with("LEAVE "))
        .cloned()
        .collect()
}

#[test]
fn r_order_1_a_member_gets_exactly_the_events_between_its_registration_and_departure() {
    let mut d = Driver::new();
    d.register("alice");
    d.send("alice", "MSG 1");
    d.register("bob");
    d.send("bob", "MSG 2");
    d.register("carol");
    d.send("alice", "MSG 3");
    d.send("bob", "QUIT");
    d.send("carol", "MSG 4");
    d.eof("alice");
    d.send("carol", "MSG 5");
    let global = [
        "MSG alice 1",
        "JOIN bob",
        "MSG bob 2",
        "JOIN carol",
        "MSG alice 3",
        "LEAVE bob QUIT",
        "MSG carol 4",
        "LEAVE alice LOST",
        "MSG carol 5",
    ];
    assert_eq!(room_events(&d.lines("alice")), global[..7]);
    assert_eq!(room_events(&d.lines("bob")), global[2..5]);
    assert_eq!(room_events(&d.lines("carol")), global[4..]);
}

#[test]
fn r_order_1_a_connection_that_ends_early_received_a_prefix() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.stop_reading("bob");
    for i in 0..10 {
        d.send("alice", &format!("MSG {i}"));
    }
    // Part of bob's queue reaches him, then his connection fails.
    d.drain("bob", 40);
    d.reset("bob");
    let all: Vec<String> = (0..10).map(|i| format!("MSG alice {i}")).collect();
    let bob = d.lines("bob");
    let got = room_events(&bob[bob.len() - 3..]);
    assert_eq!(got, all[..3], "40 bytes hold three whole lines");
    d.expect("alice", &all.iter().map(String::as_str).chain(["LEAVE bob LOST"]).collect::<Vec<_>>());
}

#[test]
fn r_order_2_all_clients_see_the_events_they_share_in_one_order() {
    let mut d = Driver::new();
    let names = ["a", "b", "c", "d"];
    d.room(&names);
    for round in 0..5 {
        let lines: Vec<String> = names.iter().map(|n| format!("MSG {n}{round}")).collect();
        let sends: Vec<(&str, &str)> = names.iter().zip(&lines).map(|(n, l)| (*n, l.as_str())).collect();
        d.send_together(&sends);
    }
    d.connect("e");
    d.send_together(&[("b", "QUIT"), ("e", "USER e"), ("a", "MSG after")]);
    let a = room_events(&d.take("a"));
    assert_eq!(a.len(), 20 + 3);
    for other in ["c", "d"] {
        assert_eq!(room_events(&d.take(other)), a, "{other} and a disagree on the order");
    }
    let b = room_events(&d.take("b"));
    assert_eq!(b, a[..20], "b left at its point: it saw the prefix");
    let e = room_events(&d.take("e"));
    assert_eq!(e, a[a.len() - 1..]);
}

#[test]
fn r_order_3_a_sender_gets_its_own_message_at_its_point_in_the_order() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send_together(&[("bob", "MSG first"), ("alice", "MSG second")]);
    d.send_together(&[("alice", "MSG third"), ("bob", "MSG fourth")]);
    let expected = ["MSG bob first", "MSG alice second", "MSG alice third", "MSG bob fourth"];
    d.expect("alice", &expected);
    d.expect("bob", &expected);
}

#[test]
fn r_order_4_a_user_list_plus_later_joins_and_leaves_is_the_membership_at_every_point() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    for name in ["carol", "dave", "eve"] {
        d.connect(name);
    }
    // carol's registration lands between other departures and arrivals.
    d.send_together(&[("dave", "USER dave"), ("bob", "QUIT"), ("carol", "USER carol"), ("eve", "USER eve")]);
    d.eof("dave");
    d.register("frank");
    let carol = d.take("carol");
    let end = carol.iter().position(|l| l.starts_with("ENDUSERS")).unwrap();
    let mut members = user_list(&carol[2..=end]);
    assert_eq!(members, set(&["alice", "dave", "carol"]));
    for line in &carol[end + 1..] {
        if let Some(nick) = line.strip_prefix("JOIN ") {
            assert!(members.insert(nick.to_owned()), "JOIN for {nick}, who is listed already");
        } else if let Some(rest) = line.strip_prefix("LEAVE ") {
            let nick = rest.split(' ').next().unwrap();
            assert!(members.remove(nick), "LEAVE for {nick}, who is not listed");
        }
    }
    d.send("alice", "USERS");
    let now: BTreeSet<String> = user_list(&d.take("alice")[6..]);
    assert_eq!(members, now);
    assert_eq!(now, set(&["alice", "carol", "eve", "frank"]));
}

#[test]
fn r_order_5_replies_are_placed_where_the_line_is_processed() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send_bytes("alice", b"PING 1\nMSG x\nUSERS\nBOGUS\nPING 2\n");
    let got = d.take("alice");
    assert_eq!(got[..2], ["PONG 1", "MSG alice x"]);
    assert_eq!(user_list(&got[2..4]), set(&["alice", "bob"]));
    assert!(got[4].starts_with("ERROR UNKNOWN_COMMAND "));
    assert_eq!(got[5..], ["PONG 2"]);
    // Whatever was queued to alice before her line comes before its reply.
    d.send_together(&[("bob", "MSG from bob"), ("alice", "PING 3"), ("bob", "MSG again")]);
    d.expect("alice", &["MSG bob from bob", "PONG 3", "MSG bob again"]);
}

#[test]
fn r_order_6_pong_means_every_earlier_line_is_processed_and_its_events_are_queued_to_everyone() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.stop_reading("bob");
    d.send_bytes("alice", b"MSG 1\nMSG 2\nPING t\n");
    d.expect("alice", &["MSG alice 1", "MSG alice 2", "PONG t"]);
    let bob: Vec<u8> = d.server.output(d.id("bob")).flat_map(|p| p.to_vec()).collect();
    assert_eq!(bob, b"MSG alice 1\nMSG alice 2\n");
}

#[test]
fn r_order_6_pong_waits_for_lines_that_flood_control_delays() {
    let mut d = Driver::with_config(Config { msg_rate: 10, msg_burst: 2, ..Config::default() });
    d.room(&["alice", "bob"]);
    d.advance(secs(1)); // the registrations' budget is back
    d.send_bytes("alice", b"MSG 1\nMSG 2\nMSG 3\nMSG 4\nMSG 5\nPING t\n");
    let mut alice = d.take("alice");
    for _ in 0..10 {
        d.advance(ms(100));
        alice.extend(d.take("alice"));
    }
    // The FLOOD notice comes where the delaying starts (R-LIMIT-6); the PONG after every line.
    assert_eq!(alice[..2], ["MSG alice 1", "MSG alice 2"]);
    assert!(alice[2].starts_with("ERROR FLOOD "), "{alice:?}");
    assert_eq!(alice[3..], ["MSG alice 3", "MSG alice 4", "MSG alice 5", "PONG t"]);
    d.expect("bob", &["MSG alice 1", "MSG alice 2", "MSG alice 3", "MSG alice 4", "MSG alice 5"]);
}
