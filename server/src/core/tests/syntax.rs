//! SPEC.md §3, grammar and the classification of client lines: R-SYN-1 … R-SYN-3.

use super::*;

#[test]
fn r_syn_1_command_words_are_accepted_in_any_case() {
    let mut d = Driver::new();
    d.room(&["bob"]);
    d.connect("alice");
    d.send("alice", "uSeR alice");
    d.send("alice", "msg one");
    d.send("alice", "Msg two");
    d.send("alice", "ping a");
    d.send("alice", "pOnG b");
    d.send("alice", "users");
    d.send("alice", "quit");
    let alice = d.take("alice");
    assert_eq!(alice[..2], [HELLO, "WELCOME alice"]);
    assert_eq!(alice[4..8], ["MSG alice one", "MSG alice two", "PONG a", "USERS bob alice"]);
    assert_eq!(alice[8..], ["ENDUSERS 2", "BYE"]);
    d.expect("bob", &["JOIN alice", "MSG alice one", "MSG alice two", "LEAVE alice QUIT"]);
}

#[test]
fn r_syn_2_the_server_spells_every_line_exactly_as_the_grammar_says() {
    // The driver parses every received line with the protocol crate's case-sensitive parser;
    // here a client that writes in lower case gets upper-case lines back.
    let mut d = Driver::new();
    d.connect("alice");
    d.send("alice", "user alice");
    d.send("alice", "ping Token");
    d.send("alice", "help");
    let got = d.take("alice");
    assert_eq!(got[..2], [HELLO, "WELCOME alice"]);
    assert_eq!(got[4], "PONG Token", "the token is echoed as sent, the word as the grammar spells it");
    assert!(got[5].starts_with("ERROR UNKNOWN_COMMAND "), "{got:?}");
}

/// Each line and the error a CONNECTED and a REGISTERED client get for it (§3.1's order).
#[test]
fn r_syn_3_each_line_gets_the_first_error_that_applies() {
    let l = 1024;
    let long_text = text(l - 64 + 1);
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        // 1. framing: length, then UTF-8, then controls.
        (format!("MSG \t{}\u{1b}", text(l)).into_bytes(), "LINE_TOO_LONG", "LINE_TOO_LONG"),
        ([b"BOGUS \xff\t".as_slice(), &[b'x'; 1020]].concat(), "LINE_TOO_LONG", "LINE_TOO_LONG"),
        (b"BOGUS \t\xff".to_vec(), "INVALID_UTF8", "INVALID_UTF8"),
        (b"USER \x01".to_vec(), "CONTROL_CHARACTER", "CONTROL_CHARACTER"),
        (b"HELP \x7f".to_vec(), "CONTROL_CHARACTER", "CONTROL_CHARACTER"),
        // 2. the command word.
        (b"HELP me".to_vec(), "UNKNOWN_COMMAND", "UNKNOWN_COMMAND"),
        (b"USERNAME alice".to_vec(), "UNKNOWN_COMMAND", "UNKNOWN_COMMAND"),
        (b" USER alice".to_vec(), "UNKNOWN_COMMAND", "UNKNOWN_COMMAND"),
        (b"MSG\xc2\xa0hi".to_vec(), "UNKNOWN_COMMAND", "UNKNOWN_COMMAND"),
        // 3. the arguments, before the state.
        (b"USER".to_vec(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (b"USER ".to_vec(), "INVALID_NICK", "INVALID_NICK"),
        (b"USER  alice".to_vec(), "INVALID_NICK", "INVALID_NICK"),
        (b"USER alice bob".to_vec(), "INVALID_NICK", "INVALID_NICK"),
        (b"MSG".to_vec(), "EMPTY_MESSAGE", "EMPTY_MESSAGE"),
        (b"MSG ".to_vec(), "EMPTY_MESSAGE", "EMPTY_MESSAGE"),
        (b"MSG     ".to_vec(), "EMPTY_MESSAGE", "EMPTY_MESSAGE"),
        (format!("MSG {}", " ".repeat(l - 64 + 1)).into_bytes(), "EMPTY_MESSAGE", "EMPTY_MESSAGE"),
        (format!("MSG {long_text}").into_bytes(), "TEXT_TOO_LONG", "TEXT_TOO_LONG"),
        (b"USERS all".to_vec(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (b"USERS ".to_vec(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (b"PING".to_vec(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (b"PING ".to_vec(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (b"PING a b".to_vec(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (b"PING \xc3\xa9".to_vec(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (format!("PING {}", text(33)).into_bytes(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (b"PONG".to_vec(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (b"PONG  x".to_vec(), "BAD_ARGUMENTS", "BAD_ARGUMENTS"),
        (format!("QUIT {long_text}").into_bytes(), "TEXT_TOO_LONG", "TEXT_TOO_LONG"),
        // 4. the state.
        (b"MSG hi".to_vec(), "NOT_REGISTERED", ""),
        (b"USERS".to_vec(), "NOT_REGISTERED", ""),
        (b"USER carol".to_vec(), "", "ALREADY_REGISTERED"),
        (b"USER BOB".to_vec(), "NICK_IN_USE", "ALREADY_REGISTERED"),
    ];
    let mut d = Driver::with_config(no_flood());
    d.room(&["alice", "bob"]);
    d.connect("newcomer");
    d.take("newcomer");
    for (line, connected, registered) in &cases {
        let shown = String::from_utf8_lossy(line).chars().take(40).collect::<String>();
        let mut bytes = line.clone();
        bytes.push(b'\n');
        for (who, code) in [("newcomer", connected), ("alice", registered)] {
            if code.is_empty() {
                continue;
            }
            d.send_bytes(who, &bytes);
            let got = d.take(who);
            assert!(
                got.len() == 1 && got[0].starts_with(&format!("ERROR {code} ")),
                "{who} sent {shown:?}: expected ERROR {code}, got {got:?}"
            );
            // A line with an error has no other effect.
            d.expect_nothing("bob");
        }
    }
    d.send("alice", "USERS");
    assert_eq!(user_list(&d.take("alice")), set(&["alice", "bob"]));
}
