//! SPEC.md §12, timeouts: R-TIME-1 … R-TIME-5, at the reference defaults unless a test says
//! otherwise (T_reg 30 s, T_line 15 s, T_idle 60 s, T_ping 30 s).

use super::*;

#[test]
fn r_time_1_an_unregistered_connection_times_out_after_t_reg() {
    let mut d = Driver::new();
    d.connect("slowpoke");
    d.take("slowpoke");
    d.send("slowpoke", "PING still-here");
    d.advance(secs(30) - ms(1));
    d.expect("slowpoke", &["PONG still-here"]);
    assert!(d.is_open("slowpoke"), "activity does not extend T_reg, but it has not passed yet");
    d.advance(ms(1));
    d.expect_fatal("slowpoke", "TIMEOUT");
}

#[test]
fn r_time_1_a_client_that_registered_in_time_is_not_timed_out() {
    let mut d = Driver::new();
    d.room(&["watcher"]);
    d.connect("alice");
    d.advance(secs(29));
    d.send("alice", "USER alice");
    d.advance(secs(5));
    assert!(d.is_open("alice"));
    d.expect("watcher", &["JOIN alice"]);
}

#[test]
fn r_time_2_trickled_line_times_out_from_its_first_byte() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send_bytes("alice", b"M");
    for b in b"SG slowly".iter() {
        d.advance(secs(1));
        d.send_bytes("alice", &[*b]);
    }
    // 9 s after the first byte; trickling did not restart the clock.
    d.advance(secs(6) - ms(1));
    assert!(d.is_open("alice"));
    d.expect_nothing("alice");
    d.advance(ms(1));
    d.expect_fatal("alice", "TIMEOUT");
    d.expect("bob", &["LEAVE alice TIMEOUT"]);
}

#[test]
fn r_time_2_an_unregistered_trickler_times_out_without_leave() {
    let mut d = Driver::new();
    d.room(&["bob"]);
    d.connect("x");
    d.take("x");
    d.send_bytes("x", b"USER x");
    d.advance(secs(15));
    d.expect_fatal("x", "TIMEOUT");
    d.expect_nothing("bob");
}

#[test]
fn r_time_2_a_line_finished_in_time_does_not_time_out() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send_bytes("alice", b"MSG almost");
    d.advance(secs(15) - ms(1));
    d.send_bytes("alice", b" done\n");
    d.advance(secs(10));
    assert!(d.is_open("alice"));
    d.expect("bob", &["MSG alice almost done"]);
}

#[test]
fn r_time_2_each_line_has_its_own_clock_from_its_own_first_byte() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send_bytes("alice", b"MSG one");
    d.advance(secs(10));
    // The end of one line and the start of the next arrive together, 10 s after the first
    // line started: the second line's clock starts now.
    d.send_bytes("alice", b"\nMSG two");
    d.expect("bob", &["MSG alice one"]);
    d.advance(secs(14));
    assert!(d.is_open("alice"), "the second line has had 14 s, not 24 s");
    d.send_bytes("alice", b"\n");
    d.expect("bob", &["MSG alice two"]);
    d.send_bytes("alice", b"MSG three");
    d.take("alice");
    d.advance(secs(15));
    d.expect_fatal("alice", "TIMEOUT");
}

#[test]
fn r_time_2_an_overlong_line_that_never_ends_times_out() {
    let mut d = Driver::with_config(Config { max_line: 128, ..Config::default() });
    d.room(&["alice"]);
    d.send_bytes("alice", &[b'x'; 1000]);
    d.expect_error("alice", "LINE_TOO_LONG");
    d.advance(secs(15));
    d.expect_fatal("alice", "TIMEOUT");
}

#[test]
fn r_time_3_an_idle_registered_client_gets_ping_after_t_idle() {
    let mut d = Driver::new();
    d.room(&["alice"]);
    d.advance(secs(60) - ms(1));
    d.expect_nothing("alice");
    d.advance(ms(1));
    let got = d.take("alice");
    assert!(got.len() == 1 && got[0].starts_with("PING "), "{got:?}");
}

#[test]
fn r_time_3_every_line_restarts_the_idle_clock() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.advance(secs(50));
    d.send("alice", "MSG still here");
    d.advance(secs(10));
    let pings = |lines: Vec<String>| lines.into_iter().filter(|l| l.starts_with("PING ")).count();
    assert_eq!(pings(d.take("bob")), 1, "bob was silent for 60 s");
    assert_eq!(pings(d.take("alice")), 0, "alice spoke 10 s ago");
    d.advance(secs(50));
    assert_eq!(pings(d.take("alice")), 1);
}

#[test]
fn r_time_3_unregistered_connections_are_not_pinged() {
    let mut d = Driver::with_config(Config { register_timeout: secs(600), ..Config::default() });
    d.connect("x");
    d.take("x");
    d.advance(secs(300));
    d.expect_nothing("x");
}

#[test]
fn r_time_4_any_complete_line_answers_the_ping() {
    let answers = ["PONG wrong-token", "MSG here", "USERS", "BOGUS", "", "PING p"];
    for answer in answers {
        let mut d = Driver::new();
        d.room(&["alice"]);
        d.advance(secs(60));
        assert_eq!(d.take("alice").len(), 1, "the idle PING");
        d.advance(secs(29));
        d.send("alice", answer);
        d.advance(secs(5));
        assert!(d.is_open("alice"), "{answer:?} counts as activity");
    }
}

#[test]
fn r_time_4_the_pong_may_carry_the_servers_token() {
    let mut d = Driver::new();
    d.room(&["alice"]);
    d.advance(secs(60));
    let ping = d.take("alice").remove(0);
    let token = ping.strip_prefix("PING ").unwrap();
    d.send("alice", &format!("PONG {token}"));
    d.expect_nothing("alice");
    d.advance(secs(59));
    assert!(d.is_open("alice"));
    d.expect_nothing("alice");
}

#[test]
fn r_time_5_no_line_within_t_ping_after_the_ping_is_a_timeout_with_leave_timeout() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.advance(secs(50));
    d.send("bob", "PING keep-me");
    d.advance(secs(10));
    assert!(d.take("alice")[0].starts_with("PING "));
    d.advance(secs(30) - ms(1));
    assert!(d.is_open("alice"));
    d.advance(ms(1));
    d.expect_fatal("alice", "TIMEOUT");
    d.expect("bob", &["PONG keep-me", "LEAVE alice TIMEOUT"]);
}

#[test]
fn r_time_5_an_answered_ping_restarts_the_idle_clock_even_when_t_ping_is_longer_than_t_idle() {
    let mut d = Driver::with_config(Config { idle_timeout: secs(10), ping_timeout: secs(100), ..Config::default() });
    d.room(&["alice"]);
    d.advance(secs(10));
    assert!(d.take("alice")[0].starts_with("PING "));
    d.advance(secs(1));
    d.send("alice", "PONG x");
    // Silent again for T_idle after that line: the next PING is due at 21 s, not 110 s.
    d.advance(secs(10) - ms(1));
    d.expect_nothing("alice");
    d.advance(ms(1));
    let got = d.take("alice");
    assert!(got.len() == 1 && got[0].starts_with("PING "), "{got:?}");
}

#[test]
fn r_time_5_a_client_that_stopped_reading_still_gets_timeout_and_bye_when_it_reads_again() {
    let config =
        Config { idle_timeout: secs(10), ping_timeout: secs(5), max_clients: 4, max_queue: 1000, ..Config::default() };
    let mut d = Driver::with_config(config);
    d.room(&["alice", "bob"]);
    d.stop_reading("bob");
    // Fill bob's queue to a few bytes short of Q.
    let line = format!("MSG {}", text(100 - "MSG alice \n".len()));
    for _ in 0..9 {
        d.send("alice", &line);
    }
    d.send("alice", &format!("MSG {}", text(100 - "MSG alice \n".len() - 20)));
    assert_eq!(d.queued("bob"), 980);
    // bob's idle PING fits; alice keeps talking.
    d.advance(secs(9));
    d.send("alice", "PING a");
    d.advance(secs(1));
    assert!(d.queued("bob") > 980);
    d.advance(secs(5));
    // bob left as TIMEOUT, and whatever happens to the rest, his last lines are the error and BYE.
    assert!(d.lines("alice").iter().any(|l| l == "LEAVE bob TIMEOUT"));
    d.start_reading("bob");
    let bob = d.take("bob");
    let n = bob.len();
    assert!(n >= 2 && bob[n - 2].starts_with("ERROR TIMEOUT ") && bob[n - 1] == "BYE", "{bob:#?}");
}

#[test]
fn r_limit_4_lines_started_again_and_again_keep_one_line_deadline_pending() {
    // Every read ends a line and starts the next: each new partial line has its own clock
    // (R-TIME-2), but the timer heap must not grow with the number of reads.
    let mut d = Driver::with_config(no_flood());
    d.room(&["alice"]);
    let before = d.server.deadline_count();
    for i in 0..1000 {
        d.send_bytes("alice", format!("\nPING {i}").as_bytes());
        d.advance(ms(1));
    }
    assert!(d.server.deadline_count() <= before + 1, "{} deadlines pending", d.server.deadline_count());
    // And the clock still runs from the last line's first byte, sent 1 ms before the loop ended.
    d.take("alice");
    d.advance(secs(15) - ms(2));
    assert!(d.is_open("alice"), "{:?}", d.take("alice"));
    d.advance(ms(1));
    d.expect_fatal("alice", "TIMEOUT");
}
