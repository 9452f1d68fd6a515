//! SPEC.md §4–§6: nicks (R-NICK-*), session states (R-STATE-*) and registration (R-REG-*).

use super::*;

#[test]
fn r_nick_1_a_nick_of_32_bytes_is_accepted_and_33_refused() {
    let mut d = Driver::new();
    let n32 = format!("a{}", "9".repeat(31));
    let n33 = format!("{n32}9");
    d.connect("x");
    d.take("x");
    d.send("x", &format!("USER {n33}"));
    d.expect_error("x", "INVALID_NICK");
    d.send("x", &format!("USER {n32}"));
    let got = d.take("x");
    assert_eq!(got[0], format!("WELCOME {n32}"));
    assert_eq!(user_list(&got[1..]), set(&[&n32]));
}

#[test]
fn r_nick_1_only_the_nick_alphabet_is_accepted() {
    let mut d = Driver::new();
    d.connect("x");
    d.take("x");
    for bad in ["9lives", "-dash", "a.b", "a+b", "caf\u{e9}", "a/b", "\u{391}lpha", "a\u{a0}b", "[x]", "a`"] {
        d.send("x", &format!("USER {bad}"));
        d.expect_error("x", "INVALID_NICK");
    }
    for (i, good) in ["_", "a", "Z", "_9", "a-b_C-9"].iter().enumerate() {
        let name = format!("c{i}");
        d.connect(&name);
        d.send(&name, &format!("USER {good}"));
        assert_eq!(d.take(&name)[1], format!("WELCOME {good}"));
    }
}

#[test]
fn r_nick_2_nick_in_use_is_case_folded() {
    let mut d = Driver::new();
    d.room(&["alice", "a-B_9"]);
    d.connect("x");
    d.take("x");
    for taken in ["alice", "ALICE", "Alice", "aLiCe", "A-b_9", "a-b_9"] {
        d.send("x", &format!("USER {taken}"));
        let got = d.take("x");
        assert!(got.len() == 1 && got[0].starts_with("ERROR NICK_IN_USE "), "{taken}: {got:?}");
    }
    // Folding maps only A–Z: `_` and `-` and digits are themselves.
    d.send("x", "USER a_B-9");
    assert_eq!(d.take("x")[0], "WELCOME a_B-9");
}

#[test]
fn r_nick_2_of_many_simultaneous_requests_for_one_nick_exactly_one_wins() {
    let mut d = Driver::new();
    let names = ["c1", "c2", "c3", "c4", "c5"];
    for name in names {
        d.connect(name);
        d.take(name);
    }
    d.send_together(&[
        ("c1", "USER bob"),
        ("c2", "USER BOB"),
        ("c3", "USER Bob"),
        ("c4", "USER bOb"),
        ("c5", "USER bob"),
    ]);
    let mut winners = 0;
    for name in names {
        let got = d.take(name);
        if got.first().is_some_and(|l| l.starts_with("WELCOME ")) {
            winners += 1;
        } else {
            assert!(got.len() == 1 && got[0].starts_with("ERROR NICK_IN_USE "), "{name}: {got:?}");
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(d.server.member_count(), 1);
}

#[test]
fn r_nick_3_the_nick_is_used_as_registered_in_every_line() {
    let mut d = Driver::new();
    d.room(&["bob"]);
    d.connect("x");
    d.send("x", "user AlIcE");
    let got = d.take("x");
    assert_eq!(got[1], "WELCOME AlIcE");
    assert_eq!(user_list(&got[2..]), set(&["bob", "AlIcE"]));
    d.send("x", "msg hi");
    d.send("bob", "USERS");
    d.send("x", "USER alice");
    d.send("x", "quit");
    let bob = d.take("bob");
    assert_eq!(bob[..2], ["JOIN AlIcE", "MSG AlIcE hi"]);
    assert_eq!(user_list(&bob[2..4]), set(&["bob", "AlIcE"]));
    assert_eq!(bob[4..], ["LEAVE AlIcE QUIT"]);
    let x = d.take("x");
    assert!(x[1].starts_with("ERROR ALREADY_REGISTERED ") && x[1].contains("AlIcE"), "{x:?}");
}

#[test]
fn r_nick_4_a_nick_is_free_at_the_point_its_owner_leaves() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    // alice's BYE cannot be written yet, so her connection is still open — but she has left.
    d.stop_reading("alice");
    d.send("alice", "QUIT");
    assert!(d.is_open("alice"));
    d.expect("bob", &["LEAVE alice QUIT"]);
    d.connect("carol");
    d.send("carol", "USER ALICE");
    assert_eq!(d.take("carol")[1], "WELCOME ALICE");
    d.expect("bob", &["JOIN ALICE"]);
    // The same for a lost connection, a request processed in the same turn.
    d.connect("dave");
    d.take("dave");
    d.send_bytes("bob", b"MSG last\n");
    d.reset("bob");
    d.send("dave", "USER bob");
    assert_eq!(d.take("dave")[0], "WELCOME bob");
}

#[test]
fn r_state_1_connected_clients_get_the_connected_column() {
    let mut d = Driver::new();
    d.room(&["member"]);
    d.connect("x");
    d.take("x");
    d.send("x", "MSG hi");
    d.expect_error("x", "NOT_REGISTERED");
    d.send("x", "USERS");
    d.expect_error("x", "NOT_REGISTERED");
    d.send("x", "PING p");
    d.expect("x", &["PONG p"]);
    d.send("x", "PONG p");
    d.expect_nothing("x");
    d.send("x", "");
    d.expect_nothing("x");
    d.send("x", "BOGUS");
    d.expect_error("x", "UNKNOWN_COMMAND");
    d.send("x", "QUIT bye");
    d.expect("x", &["BYE"]);
    assert!(!d.is_open("x"));
    d.expect_nothing("member");
}

#[test]
fn r_state_1_registered_clients_get_the_registered_column() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send("alice", "USER carol");
    d.expect_error("alice", "ALREADY_REGISTERED");
    d.send("alice", "MSG hi");
    d.expect("alice", &["MSG alice hi"]);
    d.send("alice", "USERS");
    assert_eq!(user_list(&d.take("alice")), set(&["alice", "bob"]));
    d.send("alice", "PING p");
    d.expect("alice", &["PONG p"]);
    d.send("alice", "PONG p");
    d.send("alice", "");
    d.expect_nothing("alice");
    d.send("alice", "MSG");
    d.expect_error("alice", "EMPTY_MESSAGE");
    d.send("alice", "QUIT");
    d.expect("alice", &["BYE"]);
    d.expect("bob", &["MSG alice hi", "LEAVE alice QUIT"]);
}

#[test]
fn r_state_1_a_closing_connection_ignores_every_line() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.stop_reading("alice");
    d.send("alice", "QUIT");
    assert!(d.is_open("alice"), "BYE is still queued");
    let closing = d.server.io(d.id("alice")).unwrap();
    assert!(closing.close.is_some() && !closing.read, "{closing:?}");
    // Even lines handed over by an adapter that reads anyway.
    d.receive_anyway("alice", b"MSG ghost\nUSER zed\nPING p\nUSERS\nBOGUS\nQUIT\n");
    d.start_reading("alice");
    d.expect("alice", &["BYE"]);
    d.expect("bob", &["LEAVE alice QUIT"]);
    assert!(!d.is_open("alice"));
    assert_eq!(d.server.member_count(), 1);
}

#[test]
fn r_state_2_an_unregistered_connection_gets_no_room_events_and_is_not_listed() {
    let mut d = Driver::new();
    d.connect("lurker");
    d.room(&["alice", "bob"]);
    d.send("alice", "MSG hi");
    d.send("bob", "QUIT");
    d.send("alice", "USERS");
    let alice = d.take("alice");
    assert_eq!(alice[..2], ["MSG alice hi", "LEAVE bob QUIT"]);
    assert_eq!(user_list(&alice[2..]), set(&["alice"]));
    d.send("lurker", "PING p");
    d.expect("lurker", &[HELLO, "PONG p"]);
    // At the moment it registers it gets WELCOME and the list, and no JOIN for anyone before.
    d.send("lurker", "USER lurker");
    let got = d.take("lurker");
    assert_eq!(got[0], "WELCOME lurker");
    assert_eq!(user_list(&got[1..]), set(&["alice", "lurker"]));
}

#[test]
fn r_reg_1_the_first_line_is_hello_with_l_and_how_to_register() {
    let mut d = Driver::new();
    d.connect("alice");
    d.expect("alice", &[HELLO]);
    let mut d = Driver::with_config(Config { max_line: 200, ..Config::default() });
    d.connect("alice");
    d.expect("alice", &["HELLO minichat/1 200 welcome to minichat; register with: USER <nick>"]);
}

#[test]
fn r_reg_2_welcome_then_user_list_including_self() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.connect("carol");
    d.send("carol", "USER carol");
    let got = d.take("carol");
    assert_eq!(got[..2], [HELLO, "WELCOME carol"]);
    assert_eq!(user_list(&got[2..]), set(&["alice", "bob", "carol"]));
    // carol is REGISTERED: she may send MSG.
    d.send("carol", "MSG hi");
    d.expect("carol", &["MSG carol hi"]);
}

#[test]
fn r_reg_3_others_get_join_and_the_new_client_does_not() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.register("carol");
    d.expect("alice", &["JOIN carol"]);
    d.expect("bob", &["JOIN carol"]);
    assert!(!d.lines("carol").iter().any(|l| l.starts_with("JOIN")));
}

#[test]
fn r_reg_4_a_refused_user_changes_nothing_and_may_be_retried_any_number_of_times() {
    let mut d = Driver::with_config(no_flood());
    d.room(&["alice"]);
    d.connect("x");
    d.take("x");
    for _ in 0..30 {
        for (line, code) in [("USER 9", "INVALID_NICK"), ("USER ALICE", "NICK_IN_USE"), ("USER", "BAD_ARGUMENTS")] {
            d.send("x", line);
            d.expect_error("x", code);
        }
    }
    d.send("x", "MSG still connected");
    d.expect_error("x", "NOT_REGISTERED");
    d.expect_nothing("alice");
    d.send("x", "USER x");
    assert_eq!(d.take("x")[0], "WELCOME x");
}

#[test]
fn r_reg_5_user_after_registration_is_already_registered_and_keeps_the_nick() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send("alice", "USER alice2");
    d.expect_error("alice", "ALREADY_REGISTERED");
    d.send("alice", "USER alice");
    d.expect_error("alice", "ALREADY_REGISTERED");
    d.send("alice", "MSG same me");
    d.expect("bob", &["MSG alice same me"]);
    d.connect("x");
    d.send("x", "USER alice2");
    assert_eq!(d.take("x")[1], "WELCOME alice2", "alice2 was never taken");
}

#[test]
fn r_reg_6_msg_and_users_before_registration_are_not_registered() {
    let mut d = Driver::new();
    d.room(&["alice"]);
    d.connect("x");
    d.take("x");
    d.send("x", "MSG hello?");
    d.expect_error("x", "NOT_REGISTERED");
    d.send("x", "users");
    d.expect_error("x", "NOT_REGISTERED");
    d.expect_nothing("alice");
}
