//! `encode_user_list` (SPEC.md §8): however many nicks, every `USERS` line respects *L*, every nick
//! appears exactly once, and `ENDUSERS` carries the right count (R-LIST-1, R-LIST-2).

use std::collections::BTreeMap;

use minichat_protocol::{Limits, MAX_NICK_LEN, Nick, ServerMessage, encode_user_list, parse_server_line};

/// `n` distinct nicks of exactly 32 bytes.
fn long_nicks(n: usize) -> Vec<Nick> {
    (0..n).map(|i| Nick::new(&format!("n{i:0>31}")).unwrap()).collect()
}

/// A decoded user list: the nicks of each `USERS` line, and the `ENDUSERS` count.
struct Decoded {
    lines: Vec<Vec<Nick>>,
    count: usize,
}

/// Encodes a user list and checks its shape on the way back: LF-terminated lines, each within
/// *L* and valid per the grammar, `USERS` lines first and exactly one `ENDUSERS` last.
fn encode_and_decode(nicks: &[Nick], l: usize) -> Decoded {
    let limits = Limits::new(l).unwrap();
    let mut wire = Vec::new();
    let returned = encode_user_list(nicks, limits, &mut wire);
    assert!(wire.ends_with(b"\n") && !wire.contains(&b'\r'), "lines end with a single LF (R-TRANS-3)");
    let text = std::str::from_utf8(&wire).unwrap();
    let mut content: Vec<&str> = text.split('\n').collect();
    assert_eq!(content.pop(), Some(""));
    let last = content.pop().expect("at least ENDUSERS");
    for line in &content {
        assert!(line.len() <= l, "a USERS line of {} bytes exceeds L = {l}", line.len());
    }
    let Ok(ServerMessage::EndUsers(count)) = parse_server_line(last) else { panic!("the list must end with ENDUSERS") };
    assert_eq!(returned, count, "the returned count is the one on the wire");
    let lines = content
        .iter()
        .map(|line| match parse_server_line(line) {
            Ok(ServerMessage::Users(list)) => list.into_vec(),
            other => panic!("{line:?} should be a USERS line, got {other:?}"),
        })
        .collect();
    Decoded { lines, count }
}

/// Every nick exactly once: the decoded multiset equals the input's.
fn assert_each_nick_exactly_once(nicks: &[Nick], decoded: &Decoded) {
    let mut want: BTreeMap<&Nick, usize> = BTreeMap::new();
    for n in nicks {
        *want.entry(n).or_default() += 1;
    }
    let mut got: BTreeMap<&Nick, usize> = BTreeMap::new();
    for n in decoded.lines.iter().flatten() {
        *got.entry(n).or_default() += 1;
    }
    assert_eq!(got, want);
}

#[test]
fn every_line_fits_l_and_every_nick_appears_exactly_once() {
    for l in [128, 1024] {
        for n in [0, 1, 30, 31, 5000] {
            let nicks = long_nicks(n);
            let decoded = encode_and_decode(&nicks, l);
            assert_each_nick_exactly_once(&nicks, &decoded);
            assert_eq!(decoded.count, n, "L = {l}, {n} nicks");
            assert!(decoded.lines.iter().all(|line| !line.is_empty()), "every USERS line holds a nick");
        }
    }
}

#[test]
fn thirty_nicks_of_32_bytes_fill_one_line_at_l_1024_and_the_31st_opens_another() {
    // SPEC.md §8: "with L = 1024 and 32-byte nicks only 30 nicks fit on one line".
    let line_counts = |n| encode_and_decode(&long_nicks(n), 1024).lines.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(line_counts(30), vec![30]);
    assert_eq!(line_counts(31), vec![30, 1]);
}

#[test]
fn at_l_128_three_nicks_of_32_bytes_fit_a_line() {
    // "USERS" + 3 × 33 = 104 ≤ 128 < 137.
    let decoded = encode_and_decode(&long_nicks(5000), 128);
    assert_eq!(decoded.lines.len(), 5000usize.div_ceil(3));
    assert!(decoded.lines[..decoded.lines.len() - 1].iter().all(|line| line.len() == 3));
}

#[test]
fn an_empty_list_is_only_endusers_0() {
    let mut wire = Vec::new();
    assert_eq!(encode_user_list(&[], Limits::DEFAULT, &mut wire), 0);
    assert_eq!(wire, b"ENDUSERS 0\n");
}

#[test]
fn one_nick_is_one_users_line_and_endusers_1() {
    let mut wire = Vec::new();
    encode_user_list(&[Nick::new("alice").unwrap()], Limits::DEFAULT, &mut wire);
    assert_eq!(wire, b"USERS alice\nENDUSERS 1\n");
}

#[test]
fn lines_are_filled_as_far_as_l_allows() {
    // Distinct nicks of lengths from 2 to 32 in a repeating pattern: no line could have taken the first
    // nick of the next line without passing L.
    let nicks: Vec<Nick> = (0..2000)
        .map(|i| {
            let base = format!("u{i}");
            let len = base.len().max(1 + (i * 7) % MAX_NICK_LEN);
            Nick::new(&format!("{base:x<len$}")).unwrap()
        })
        .collect();
    for l in [128, 129, 1024, 65536] {
        let decoded = encode_and_decode(&nicks, l);
        assert_each_nick_exactly_once(&nicks, &decoded);
        for pair in decoded.lines.windows(2) {
            let used: usize = "USERS".len() + pair[0].iter().map(|n| 1 + n.as_str().len()).sum::<usize>();
            let next = 1 + pair[1][0].as_str().len();
            assert!(used + next > l, "L = {l}: a line of {used} bytes had room for {next} more");
        }
    }
}

#[test]
fn nicks_keep_their_order_and_their_case() {
    let nicks: Vec<Nick> = ["zed", "Alice", "bob", "ALICE_2"].into_iter().map(|s| Nick::new(s).unwrap()).collect();
    let decoded = encode_and_decode(&nicks, 128);
    assert_eq!(decoded.lines.concat(), nicks);
}
