//! SPEC.md §14, server shutdown: R-SHUT-1, R-SHUT-2.

use super::*;

#[test]
fn r_shut_1_every_connection_gets_shutting_down_and_bye_and_nobody_gets_leave() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.connect("newcomer");
    d.take("newcomer");
    d.send_bytes("bob", b"MSG half a li");
    d.shutdown();
    for who in ["alice", "bob", "newcomer"] {
        d.expect_fatal(who, "SHUTTING_DOWN");
    }
    assert_eq!(d.server.connection_count(), 0);
    assert_eq!(d.server.member_count(), 0);
}

#[test]
fn r_shut_1_a_connection_during_shutdown_is_refused() {
    let mut d = Driver::new();
    d.shutdown();
    d.connect("late");
    d.expect_fatal("late", "SHUTTING_DOWN");
}

#[test]
fn r_shut_1_a_client_with_a_nearly_full_queue_still_gets_shutting_down_and_bye() {
    let mut d = Driver::with_config(Config { max_queue: 1000, max_clients: 4, ..Config::default() });
    d.room(&["alice", "bob"]);
    d.stop_reading("bob");
    for _ in 0..10 {
        d.send("alice", &format!("MSG {}", text(100 - "MSG alice \n".len())));
    }
    assert_eq!(d.queued("bob"), 1000);
    d.shutdown();
    d.start_reading("bob");
    let bob = d.take("bob");
    assert_eq!(bob.len(), 12, "{bob:#?}");
    assert!(bob[10].starts_with("ERROR SHUTTING_DOWN "), "{bob:#?}");
    assert_eq!(bob[11], "BYE");
    assert!(!d.lines("alice").iter().any(|l| l.starts_with("LEAVE")));
}

#[test]
fn r_shut_2_a_client_that_never_reads_is_abandoned_after_the_grace_period() {
    let mut d = Driver::new(); // shutdown_grace 5 s
    d.room(&["alice", "stuck"]);
    d.stop_reading("stuck");
    d.send("alice", "MSG unread");
    d.shutdown();
    assert!(!d.is_open("alice"));
    assert!(d.is_open("stuck"));
    d.advance(secs(5) - ms(1));
    assert!(d.is_open("stuck"));
    d.advance(ms(1));
    assert!(!d.is_open("stuck"), "abandoned at the end of the grace period");
    assert_eq!(d.server.connection_count(), 0);
}

#[test]
fn r_shut_2_a_quitting_client_that_never_reads_is_dropped_after_the_grace_period() {
    let mut d = Driver::new();
    d.room(&["alice"]);
    d.stop_reading("alice");
    d.send("alice", "QUIT");
    d.advance(secs(5));
    assert!(!d.is_open("alice"));
}
