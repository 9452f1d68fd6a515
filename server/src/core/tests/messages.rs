//! SPEC.md §7–§9: messages (R-MSG-*), user lists (R-LIST-*) and leaving (R-QUIT-*, R-LEAVE-*).

use super::*;

#[test]
fn r_msg_1_a_message_reaches_everyone_including_the_sender_byte_for_byte() {
    let mut d = Driver::new();
    d.room(&["alice", "bob", "carol"]);
    for text in ["hi", " leading", "trailing  ", "a  b   c", "ça va ? 日本語 🦀", "MSG bob fake", "~!@#$%^&*()"] {
        d.send("bob", &format!("MSG {text}"));
        let relayed = format!("MSG bob {text}");
        for who in ["alice", "bob", "carol"] {
            d.expect(who, &[&relayed]);
        }
    }
}

#[test]
fn r_msg_2_an_empty_or_all_space_message_is_refused_and_relays_nothing() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    for line in ["MSG", "MSG ", "MSG  ", "MSG          "] {
        d.send("alice", line);
        d.expect_error("alice", "EMPTY_MESSAGE");
    }
    d.expect_nothing("bob");
}

#[test]
fn r_msg_3_a_text_of_l_minus_64_bytes_is_relayed_and_one_more_byte_is_too_long() {
    for l in [128, 1024, 4096] {
        let mut d = Driver::with_config(Config { max_line: l, ..Config::default() });
        d.room(&["alice", "bob"]);
        let max = l - 64;
        d.send("alice", &format!("MSG {}", text(max)));
        d.expect("bob", &[&format!("MSG alice {}", text(max))]);
        d.take("alice");
        d.send("alice", &format!("MSG {}", text(max + 1)));
        d.expect_error("alice", "TEXT_TOO_LONG");
        d.expect_nothing("bob");
        // Counted in bytes: two-byte characters fill it at half the characters.
        let e = "é".repeat(max / 2);
        d.send("alice", &format!("MSG {e}"));
        d.expect("bob", &[&format!("MSG alice {e}")]);
        d.take("alice");
        d.send("alice", &format!("MSG {e}é"));
        d.expect_error("alice", "TEXT_TOO_LONG");
    }
}

#[test]
fn r_msg_3_a_quit_reason_of_l_minus_64_bytes_is_relayed_and_one_more_byte_is_too_long() {
    let l = 1024;
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send("alice", &format!("QUIT {}", text(l - 64 + 1)));
    d.expect_error("alice", "TEXT_TOO_LONG");
    assert!(d.is_open("alice"), "a refused QUIT has no other effect");
    d.expect_nothing("bob");
    d.send("alice", &format!("QUIT {}", text(l - 64)));
    d.expect("alice", &["BYE"]);
    d.expect("bob", &[&format!("LEAVE alice QUIT {}", text(l - 64))]);
}

#[test]
fn r_list_1_a_long_user_list_is_several_consecutive_users_lines_then_endusers() {
    let l = 128;
    let mut d = Driver::with_config(Config { max_line: l, max_clients: 64, ..Config::default() });
    let nicks: Vec<String> = (0..40).map(|i| format!("user_{i:02}_{}", "x".repeat(24))).collect();
    for nick in &nicks {
        d.connect(nick);
        d.send(nick, &format!("USER {nick}"));
    }
    // The first member meanwhile received 39 JOINs; its list request is answered in one block.
    let first = &nicks[0];
    d.take(first);
    d.send(first, "MSG before");
    d.send(first, "USERS");
    d.send(first, "MSG after");
    let got = d.take(first);
    assert_eq!(got.first().map(String::as_str), Some(&*format!("MSG {first} before")));
    assert_eq!(got.last().map(String::as_str), Some(&*format!("MSG {first} after")));
    let list = &got[1..got.len() - 1];
    assert!(list.len() >= 14, "40 nicks of 32 bytes at L = 128 take at least 14 lines: {list:#?}");
    assert_eq!(user_list(list), nicks.iter().cloned().collect());
}

#[test]
fn r_list_2_every_member_is_listed_exactly_once_and_endusers_counts_them() {
    let mut d = Driver::new();
    d.room(&["a", "B", "c_3", "d-4"]);
    d.send("B", "QUIT");
    d.register("e");
    d.send("a", "USERS");
    let got = d.take("a");
    assert_eq!(got[..2], ["LEAVE B QUIT", "JOIN e"]);
    assert_eq!(user_list(&got[2..]), set(&["a", "c_3", "d-4", "e"]));
    assert_eq!(got.last().unwrap(), "ENDUSERS 4");
    assert!(got[2..got.len() - 1].iter().all(|l| l.len() > "USERS ".len()), "each USERS line has a nick");
}

#[test]
fn r_list_3_users_reflects_the_membership_when_the_request_is_processed() {
    let mut d = Driver::new();
    d.room(&["alice"]);
    d.send("alice", "USERS");
    assert_eq!(user_list(&d.take("alice")), set(&["alice"]));
    d.register("bob");
    d.register("carol");
    d.send("alice", "USERS");
    assert_eq!(user_list(&d.take("alice")[2..]), set(&["alice", "bob", "carol"]));
    d.eof("bob");
    d.send("alice", "USERS");
    assert_eq!(user_list(&d.take("alice")[1..]), set(&["alice", "carol"]));
}

#[test]
fn r_quit_1_quit_sends_leave_with_the_reason_to_the_others_then_bye() {
    let mut d = Driver::new();
    d.room(&["alice", "bob", "carol"]);
    d.send("bob", "QUIT see you");
    d.expect("bob", &["BYE"]);
    assert!(!d.is_open("bob"));
    d.expect("alice", &["LEAVE bob QUIT see you"]);
    d.expect("carol", &["LEAVE bob QUIT see you"]);
    // Without a reason, with an empty or all-space one: no text after the cause.
    for (name, line) in [("d1", "QUIT"), ("d2", "QUIT "), ("d3", "QUIT    ")] {
        d.register(name);
        d.take("alice");
        d.send(name, line);
        d.expect("alice", &[&format!("LEAVE {name} QUIT")]);
    }
    // The reason is verbatim, leading spaces included.
    d.register("e");
    d.take("alice");
    d.send("e", "QUIT   spaced  out ");
    d.expect("alice", &["LEAVE e QUIT   spaced  out "]);
}

#[test]
fn r_quit_2_an_unregistered_quit_gets_bye_and_no_leave() {
    let mut d = Driver::new();
    d.room(&["alice"]);
    d.connect("x");
    d.take("x");
    d.send("x", "QUIT bye all");
    d.expect("x", &["BYE"]);
    assert!(!d.is_open("x"));
    d.expect_nothing("alice");
}

#[test]
fn r_leave_1_a_connection_that_ends_without_quit_is_lost() {
    let mut d = Driver::new();
    d.room(&["alice", "eofer", "resetter"]);
    d.eof("eofer");
    d.expect("alice", &["LEAVE eofer LOST"]);
    d.send_bytes("resetter", b"MSG half a li");
    d.reset("resetter");
    d.expect("alice", &["LEAVE resetter LOST"]);
    // An unregistered connection that goes away is nobody's business.
    d.connect("x");
    d.reset("x");
    d.expect_nothing("alice");
}

#[test]
fn r_leave_2_every_departure_gives_exactly_one_leave_with_its_cause() {
    let config = Config {
        idle_timeout: secs(10),
        ping_timeout: secs(5),
        line_timeout: secs(7),
        max_clients: 8,
        max_queue: 2000,
        ..Config::default()
    };
    let mut d = Driver::with_config(config);
    d.room(&["watcher", "quitter", "lost", "slow", "trickler", "sleeper"]);
    d.send("quitter", "QUIT timeout");
    d.eof("lost");
    d.stop_reading("slow");
    d.send("watcher", &format!("MSG {}", text(900)));
    d.send("watcher", &format!("MSG {}", text(900)));
    d.send("watcher", &format!("MSG {}", text(900)));
    d.send_bytes("trickler", b"MSG never end");
    d.advance(secs(7));
    d.send("watcher", "PONG keepalive");
    d.advance(secs(9));
    let watcher: Vec<String> = d.take("watcher").into_iter().filter(|l| l.starts_with("LEAVE")).collect();
    assert_eq!(
        watcher,
        [
            "LEAVE quitter QUIT timeout",
            "LEAVE lost LOST",
            "LEAVE slow SLOW",
            "LEAVE trickler TIMEOUT",
            "LEAVE sleeper TIMEOUT"
        ],
        "a client's own words cannot forge a cause; server causes carry no text"
    );
}

#[test]
fn r_leave_3_the_leaving_client_gets_no_leave_for_itself() {
    let mut d = Driver::with_config(Config { max_queue: 2000, max_clients: 8, msg_rate: 0, ..Config::default() });
    d.room(&["alice", "quitter", "slow"]);
    d.send("quitter", "QUIT");
    assert!(!d.lines("quitter").iter().any(|l| l.starts_with("LEAVE quitter")));
    d.expect("slow", &["LEAVE quitter QUIT"]);
    // A slow consumer that reads gets ERROR and BYE, never its own LEAVE: here its own PONGs,
    // queued in one turn, pass Q.
    let pings = "PING 0123456789012345678901234567890\n".repeat(60);
    d.send_bytes("slow", pings.as_bytes());
    let slow = d.take("slow");
    assert!(slow.len() == 2 && slow[0].starts_with("ERROR SLOW_CONSUMER ") && slow[1] == "BYE", "{slow:?}");
    d.expect("alice", &["LEAVE quitter QUIT", "LEAVE slow SLOW"]);
}
