//! SPEC.md §2, transport and framing: R-TRANS-1 … R-TRANS-11.

use super::*;
use crate::core::{MAX_READ, Server};

#[test]
fn r_trans_1_connections_are_independent() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    // Half a line on alice's connection and an error on bob's do not mix.
    d.send_bytes("alice", b"MSG half");
    d.send_bytes("bob", b"BOGUS\xff\n");
    d.send("bob", "MSG whole");
    d.send_bytes("alice", b" and more\n");
    let bob = d.take("bob");
    assert!(bob[0].starts_with("ERROR INVALID_UTF8 "), "{bob:?}");
    assert_eq!(bob[1..], ["MSG bob whole", "MSG alice half and more"]);
    d.expect("alice", &["MSG bob whole", "MSG alice half and more"]);
}

#[test]
fn r_trans_2_lf_and_cr_lf_terminators_mix_freely() {
    let mut d = Driver::new();
    d.room(&["bob"]);
    d.connect("alice");
    d.send_bytes("alice", b"USER alice\r\nMSG one\nMSG two\r\nMSG three\n");
    d.expect("bob", &["JOIN alice", "MSG alice one", "MSG alice two", "MSG alice three"]);
}

#[test]
fn r_trans_2_only_the_one_cr_before_lf_is_a_terminator() {
    let mut d = Driver::new();
    d.room(&["alice"]);
    d.send_bytes("alice", b"MSG x\r\r\n");
    d.expect_error("alice", "CONTROL_CHARACTER");
    d.send_bytes("alice", b"MSG a\rb\n");
    d.expect_error("alice", "CONTROL_CHARACTER");
}

#[test]
fn r_trans_3_every_line_the_server_sends_ends_with_a_single_lf() {
    let mut d = Driver::new();
    d.room(&["alice"]);
    // Read the core's raw output, not the driver's lines.
    d.stop_reading("alice");
    d.send_bytes("alice", b"MSG hi\r\nPING x\r\nUSERS\r\nBOGUS\r\n");
    let raw: Vec<u8> = d.server.output(d.id("alice")).flat_map(|p| p.to_vec()).collect();
    assert!(!raw.contains(&b'\r'), "{:?}", String::from_utf8_lossy(&raw));
    assert!(raw.ends_with(b"\n"));
    assert_eq!(raw.iter().filter(|&&b| b == b'\n').count(), 5, "{:?}", String::from_utf8_lossy(&raw));
}

#[test]
fn r_trans_4_hello_announces_l_and_l_is_configurable_between_128_and_65536() {
    for l in [128, 1024, 65536] {
        let mut d = Driver::with_config(Config { max_line: l, max_queue: 1 << 20, ..Config::default() });
        d.connect("alice");
        let hello = d.take("alice");
        assert_eq!(hello.len(), 1);
        assert!(hello[0].starts_with(&format!("HELLO minichat/1 {l} ")), "{hello:?}");
    }
    for l in [127, 65537] {
        assert!(Server::new(&Config { max_line: l, ..Config::default() }).is_err(), "L = {l} must be refused");
    }
}

#[test]
fn r_trans_4_a_line_of_exactly_l_bytes_is_acted_on_and_one_more_byte_is_overlong() {
    for l in [128, 1024] {
        let mut d = Driver::with_config(Config { max_line: l, ..Config::default() });
        d.room(&["alice"]);
        // "PING " + token + spaces: L bytes, parsed, refused for its arguments (not its length).
        let at_l = format!("PING x{}", " ".repeat(l - 6));
        assert_eq!(at_l.len(), l);
        d.send("alice", &at_l);
        d.expect_error("alice", "BAD_ARGUMENTS");
        d.send_bytes("alice", format!("{at_l}\r\n").as_bytes());
        d.expect_error("alice", "BAD_ARGUMENTS");
        d.send("alice", &format!("{at_l} "));
        d.expect_error("alice", "LINE_TOO_LONG");
        // A MSG line of L bytes is parsed too: its text is then over L − 64.
        d.send("alice", &format!("MSG {}", text(l - 4)));
        d.expect_error("alice", "TEXT_TOO_LONG");
    }
}

#[test]
fn r_trans_4_no_line_the_server_builds_is_longer_than_l() {
    // The driver checks every received line against L; this fills every line to its maximum at
    // the smallest L: 32-byte nicks, L − 64-byte texts and reasons, a room of long nicks.
    let l = 128;
    let mut d = Driver::with_config(Config { max_line: l, ..Config::default() });
    let nicks: Vec<String> = (0..12).map(|i| format!("N{i:031}")).collect();
    for nick in &nicks {
        d.connect(nick);
        d.send(nick, &format!("USER {nick}"));
    }
    let last = &nicks[11];
    let list: Vec<String> = d.take(last).into_iter().skip(2).collect();
    assert!(list.len() > 2, "12 nicks of 32 bytes need several USERS lines at L = 128: {list:?}");
    assert_eq!(user_list(&list).len(), 12);
    let longest = text(l - 64);
    d.send(&nicks[0], &format!("MSG {longest}"));
    d.send(&nicks[1], &format!("QUIT {longest}"));
    d.send(&nicks[2], "USERS");
    let leave = format!("LEAVE {} QUIT {longest}", nicks[1]);
    assert!(d.lines(last).contains(&leave), "{leave}");
}

#[test]
fn r_trans_5_an_overlong_line_gets_one_error_is_discarded_and_the_next_line_works() {
    let l = 128;
    let mut d = Driver::with_config(Config { max_line: l, ..Config::default() });
    d.room(&["alice", "bob"]);
    // 10 kB of one MSG line, in pieces, then a normal line.
    d.send_bytes("alice", b"MSG ");
    for _ in 0..10 {
        d.send_bytes("alice", &[b'x'; 1000]);
    }
    d.send_bytes("alice", b"\nMSG after\n");
    let alice = d.take("alice");
    assert!(alice[0].starts_with("ERROR LINE_TOO_LONG "), "{alice:?}");
    assert_eq!(alice[1..], ["MSG alice after"]);
    d.expect("bob", &["MSG alice after"]);
    // No part of an overlong line is acted on, even a command that would close the connection.
    d.send("alice", &format!("QUIT {}", text(l)));
    d.expect_error("alice", "LINE_TOO_LONG");
    assert!(d.is_open("alice"));
    d.expect_nothing("bob");
}

#[test]
fn r_trans_5_a_line_one_byte_over_l_sent_byte_by_byte_gets_one_error() {
    let l = 128;
    let mut d = Driver::with_config(Config { max_line: l, msg_rate: 0, ..Config::default() });
    d.room(&["alice"]);
    for b in format!("{}\nPING ok\n", text(l + 1)).bytes() {
        d.send_bytes("alice", &[b]);
    }
    let got = d.take("alice");
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(got[0].starts_with("ERROR LINE_TOO_LONG "));
    assert_eq!(got[1], "PONG ok");
}

#[test]
fn r_trans_6_an_endless_line_costs_no_more_than_l_plus_1_bytes() {
    let l = 128;
    let mut d = Driver::with_config(Config { max_line: l, ..Config::default() });
    d.room(&["alice"]);
    // The driver checks after every read that the core holds at most L + 1 bytes of input.
    d.send_bytes("alice", &text(l).into_bytes());
    d.send_bytes("alice", b"\r");
    d.expect_nothing("alice");
    for _ in 0..100 {
        d.send_bytes("alice", &vec![b'y'; MAX_READ]);
    }
    d.expect_error("alice", "LINE_TOO_LONG");
    d.send_bytes("alice", b"\nPING alive\n");
    d.expect("alice", &["PONG alive"]);
}

#[test]
fn r_trans_7_invalid_utf8_is_refused_and_the_connection_stays_usable() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    let invalid: [&[u8]; 7] = [
        b"MSG \xff",             // never valid
        b"MSG \xc0\xaf",         // overlong form of '/'
        b"MSG \xe0\x80\xaf",     // overlong three-byte form
        b"MSG \xed\xa0\x80",     // a surrogate
        b"MSG \xf4\x90\x80\x80", // above U+10FFFF
        b"MSG \xe2\x82",         // truncated, then the line ends
        b"USER \x80lice",        // a lone continuation byte
    ];
    for line in invalid {
        let mut bytes = line.to_vec();
        bytes.push(b'\n');
        d.send_bytes("alice", &bytes);
        d.expect_error("alice", "INVALID_UTF8");
    }
    d.expect_nothing("bob");
    d.send("alice", "MSG still here: \u{10FFFF} \u{FFFD} é 日本");
    d.expect("bob", &["MSG alice still here: \u{10FFFF} \u{FFFD} é 日本"]);
}

#[test]
fn r_trans_8_control_characters_are_refused_and_the_connection_stays_usable() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    for control in ['\0', '\t', '\x1b', '\x07', '\r', '\x1f', '\x7f', '\u{80}', '\u{9f}'] {
        d.send("alice", &format!("MSG a{control}b"));
        d.expect_error("alice", "CONTROL_CHARACTER");
    }
    d.send("alice", "USER \x1b[31m");
    d.expect_error("alice", "CONTROL_CHARACTER");
    d.expect_nothing("bob");
    // U+00A0 is the first character after the C1 controls: it is text.
    d.send("alice", "MSG a\u{a0}b");
    d.expect("bob", &["MSG alice a\u{a0}b"]);
}

#[test]
fn r_trans_9_empty_lines_are_ignored_in_every_state() {
    let mut d = Driver::new();
    d.connect("alice");
    d.take("alice");
    d.send_bytes("alice", b"\n\r\n\n");
    d.expect_nothing("alice");
    d.send("alice", "USER alice");
    d.take("alice");
    d.send_bytes("alice", b"\r\n\n");
    d.expect_nothing("alice");
    d.send("alice", "USERS");
    assert_eq!(user_list(&d.take("alice")), set(&["alice"]));
}

#[test]
fn r_trans_10_the_outcome_does_not_depend_on_how_bytes_are_split() {
    let script: &[u8] = b"USER alice\r\nMSG h\xc3\xa9llo\nPING 1\nBOGUS\n\nUSERS\r\nMSG bye\n";
    let run = |chunks: &[usize]| {
        let mut d = Driver::new();
        d.room(&["bob"]);
        d.connect("alice");
        let mut rest = script;
        let mut sizes = chunks.iter().cycle();
        while !rest.is_empty() {
            let n = (*sizes.next().unwrap()).min(rest.len());
            d.send_bytes("alice", &rest[..n]);
            rest = &rest[n..];
        }
        (d.lines("alice"), d.lines("bob"))
    };
    let whole = run(&[script.len()]);
    assert_eq!(whole.1[whole.1.len() - 3..], ["JOIN alice", "MSG alice héllo", "MSG alice bye"]);
    for chunks in [&[1][..], &[2], &[3, 1], &[7, 5, 11], &[13]] {
        assert_eq!(run(chunks), whole, "split into {chunks:?}");
    }
}

#[test]
fn r_trans_10_a_line_is_acted_on_only_once_its_lf_arrives() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send_bytes("alice", b"MSG hi");
    d.send_bytes("alice", b" there\r");
    d.expect_nothing("bob");
    d.send_bytes("alice", b"\n");
    d.expect("bob", &["MSG alice hi there"]);
}

#[test]
fn r_trans_11_eof_processes_complete_lines_and_discards_an_incomplete_one() {
    let mut d = Driver::new();
    d.room(&["alice", "bob"]);
    d.send_bytes("alice", b"MSG one\nMSG two\nMSG thr");
    d.eof("alice");
    d.expect("bob", &["MSG alice one", "MSG alice two", "LEAVE alice LOST"]);
    assert!(!d.is_open("alice"));
}
