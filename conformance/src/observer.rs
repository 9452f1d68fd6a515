//! Checks that hold for every line a server sends, whatever the case: applied to each line as it
//! is taken from a connection, so every case checks them all the time.
//!
//! - Framing and spelling: LF alone as terminator (R-TRANS-3), at most *L* bytes (R-TRANS-4),
//!   exactly the grammar (R-SYN-2), fatal errors followed by `BYE` (R-ERR-2).
//! - The room as this connection sees it: `WELCOME` followed at once by a user list holding the
//!   new client (R-REG-2); list lines consecutive, counted right, no nick twice (R-LIST-1,
//!   R-LIST-2); no `JOIN` for someone listed or `LEAVE` for someone not (R-ORDER-4); no `JOIN` or
//!   `LEAVE` for oneself (R-REG-3, R-LEAVE-3); no text after a server-generated cause (R-LEAVE-2);
//!   no room events before registering (R-STATE-2).
//!
//! A PodSixNet connection's frames pass the checks of [`crate::podsixnet::observer`] first, and
//! then these, as the lines they stand for.
//!
//! On a shared server, other cases' clients are in the same room. Their events are recognised by
//! the nick (every nick of a case run ends in that run's tag) and set aside; the membership model
//! tracks only this case's nicks, while counts and duplicates are checked over whole lists.

use std::collections::BTreeSet;

use minichat_protocol::{ErrorCode, LeaveCause, PROTOCOL_VERSION, ServerMessage, parse_server_line};

/// A requirement an automatic check found broken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub requirement: &'static str,
    pub expected: String,
    pub got: String,
}

/// The sentence each always-on check enforces, quoted from SPEC.md (a test checks the quotes).
pub const AUTOMATIC_CHECKS: &[(&str, &str)] = &[
    ("R-TRANS-3", "A server terminates every line it sends with a single LF, without CR."),
    ("R-TRANS-4", "MUST NOT send a line whose content is longer than *L* bytes."),
    ("R-SYN-2", "Everything a server sends is case-sensitive and uses exactly the spelling below"),
    (
        "R-REG-2",
        "sends it, in this order and with no other line in between: `WELCOME <nick>`, then the user list (§8), which includes the new client itself.",
    ),
    ("R-REG-3", "The new client does not receive a `JOIN` for itself: its user list already contains it."),
    ("R-LIST-1", "The lines of one list are consecutive: no other line is sent to that client between them."),
    (
        "R-LIST-2",
        "Every nick registered at the list's point in the global order (§10) appears in exactly one `USERS` line of the list, exactly once, and no other nick appears. `<count>` is the number of nicks in the list.",
    ),
    ("R-ORDER-4", "There is never a `JOIN` for someone already listed or a `LEAVE` for someone who is not."),
    ("R-STATE-2", "It never receives `JOIN`, `MSG` or `LEAVE`, and it is not listed in anyone's user list."),
    ("R-LEAVE-3", "The leaving client itself receives no `LEAVE` for itself."),
    (
        "R-LEAVE-2",
        "A server-generated `LEAVE` carries no text after the cause; only `QUIT` carries the client's own words.",
    ),
    ("R-ERR-2", "after a fatal error the server sends `BYE` next and closes the connection."),
    ("R-REG-1", "The first line a server sends on a new connection is `HELLO minichat/1 <L> <text>`"),
    // Not checked per line, but charged by the session when they fail: connecting, the barriers
    // every `quiet` relies on, and the common order `unordered` compares.
    ("R-TRANS-1", "A server accepts TCP connections and speaks this protocol on each of them independently."),
    (
        "R-ORDER-6",
        "`PING` is a barrier: when a client receives `PONG <token>`, every line it sent before the `PING` has been fully processed",
    ),
    ("R-ORDER-2", "Any two clients therefore see the events they both receive in the same relative order"),
    // Charged by the checks of every frame a PodSixNet connection receives (podsixnet/observer.rs).
    ("R-PSN-1", "A PodSixNet connection carries *frames*: a payload encoded with rencode"),
    ("R-PSN-3", "A server never sends a payload that contains the terminator or ends with `00 2d 2d 2d`"),
    (
        "R-PSN-6",
        "A server sends these frames, each a dict whose first key is `\"action\"`, with the keys in the order shown",
    ),
    (
        "R-PSN-7",
        "The `players` frame sent after a `join` or `leave` frame is the membership right after that event; a `players` frame is consecutive with its event frame (nothing comes between them)",
    ),
    ("R-PSN-8", "A server sends no idle `PING` to a PodSixNet connection"),
];

/// The quote of an automatic check's requirement.
pub fn automatic_quote(requirement: &str) -> &'static str {
    AUTOMATIC_CHECKS.iter().find(|(id, _)| *id == requirement).map_or("", |(_, q)| q)
}

/// The case's nicks in a room as one connection sees it, with an order-independent fingerprint so
/// that two views compare in constant time: `register` compares the newcomer's list with every
/// other client's view, which must stay cheap in a room of thousands.
#[derive(Clone, Debug, Default)]
pub struct NickSet {
    nicks: BTreeSet<String>,
    fingerprint: u64,
}

fn nick_hash(nick: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: the same nick always gives the same hash.
    let mut h = std::hash::DefaultHasher::new();
    nick.hash(&mut h);
    h.finish()
}

impl NickSet {
    /// Adds a nick; false if it was there already.
    pub fn insert(&mut self, nick: &str) -> bool {
        let added = self.nicks.insert(nick.to_owned());
        if added {
            self.fingerprint = self.fingerprint.wrapping_add(nick_hash(nick));
        }
        added
    }

    /// Removes a nick; false if it was not there.
    pub fn remove(&mut self, nick: &str) -> bool {
        let removed = self.nicks.remove(nick);
        if removed {
            self.fingerprint = self.fingerprint.wrapping_sub(nick_hash(nick));
        }
        removed
    }

    pub fn as_set(&self) -> &BTreeSet<String> {
        &self.nicks
    }

    /// Whether two sets are equal, in constant time: equal sets always agree; different ones
    /// agree only if 64-bit hashes collide.
    pub fn same_as(&self, other: &NickSet) -> bool {
        self.nicks.len() == other.nicks.len() && self.fingerprint == other.fingerprint
    }
}

impl FromIterator<String> for NickSet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> NickSet {
        let mut set = NickSet::default();
        for n in iter {
            set.insert(&n);
        }
        set
    }
}

/// How the session should treat a line that passed the checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A line for the case to expect.
    Own,
    /// A room event about another case's client: set aside.
    Foreign,
    /// `ERROR FLOOD …`: flood control may send it at any time (R-LIMIT-6); tolerated.
    Flood,
}

/// The per-connection state the checks need.
#[derive(Clone, Debug)]
pub struct Observer {
    /// `_<tag>`: the end of every nick of this case run.
    own_suffix: String,
    /// The *L* to check line lengths against: this connection's `HELLO`, else the server's.
    max_line: usize,
    lines_seen: usize,
    nick: Option<String>,
    /// Registered: the case's nicks in the room as this connection was told.
    members: Option<NickSet>,
    /// Between `WELCOME` and the end of its user list.
    awaiting_list: bool,
    /// A user list in progress: every nick so far (own and others').
    list: Option<Vec<String>>,
    /// The last complete list's nicks from this case, for `userlist`.
    last_list: Option<NickSet>,
    fatal_error: bool,
    bye: bool,
}

fn violation(requirement: &'static str, expected: impl Into<String>, got: impl Into<String>) -> Violation {
    Violation { requirement, expected: expected.into(), got: got.into() }
}

impl Observer {
    pub fn new(own_suffix: &str, max_line: usize) -> Observer {
        Observer {
            own_suffix: own_suffix.to_owned(),
            max_line,
            lines_seen: 0,
            nick: None,
            members: None,
            awaiting_list: false,
            list: None,
            last_list: None,
            fatal_error: false,
            bye: false,
        }
    }

    pub fn is_own(&self, nick: &str) -> bool {
        nick.ends_with(&self.own_suffix)
    }

    /// The case's nicks in the room as this connection knows it (None before its user list).
    pub fn members(&self) -> Option<&NickSet> {
        self.members.as_ref()
    }

    pub fn is_registered(&self) -> bool {
        self.members.is_some()
    }

    pub fn nick(&self) -> Option<&str> {
        self.nick.as_deref()
    }

    /// The case's nicks in the last complete user list this connection received.
    pub fn last_list(&self) -> Option<&NickSet> {
        self.last_list.as_ref()
    }

    /// Whether a user list is being received.
    pub fn in_list(&self) -> bool {
        self.list.is_some() || self.awaiting_list
    }

    pub fn bye_seen(&self) -> bool {
        self.bye
    }

    /// Checks one raw line (LF included) and parses it.
    pub fn check_line(&mut self, raw: &[u8]) -> Result<(ServerMessage, Kind), Violation> {
        let shown = || crate::escape::escape_bytes_short(raw, 200);
        let content = raw.strip_suffix(b"\n").unwrap_or(raw);
        if content.ends_with(b"\r") {
            return Err(violation("R-TRANS-3", "a line ending in LF alone", format!("{} (ends in CR LF)", shown())));
        }
        if content.len() > self.max_line {
            return Err(violation(
                "R-TRANS-4",
                format!("a line of at most L = {} bytes", self.max_line),
                format!("a line of {} bytes: {}", content.len(), crate::escape::escape_bytes_short(content, 120)),
            ));
        }
        let text = std::str::from_utf8(content).map_err(|e| {
            violation(
                "R-SYN-2",
                "a line of UTF-8 text",
                format!("{} (invalid UTF-8 at byte {})", shown(), e.valid_up_to()),
            )
        })?;
        let msg = parse_server_line(text).map_err(|e| {
            violation(
                "R-SYN-2",
                "a line that follows SPEC.md §3's server grammar exactly",
                format!("{} ({e})", shown()),
            )
        })?;
        let first = self.lines_seen == 0;
        self.lines_seen += 1;
        self.observe(&msg, first, text)
    }

    fn observe(&mut self, msg: &ServerMessage, first: bool, text: &str) -> Result<(ServerMessage, Kind), Violation> {
        use ServerMessage as M;
        if self.fatal_error && !matches!(msg, M::Bye(_)) {
            return Err(violation("R-ERR-2", "BYE right after a fatal ERROR", text));
        }
        if let M::Hello { version, limits, .. } = msg {
            if !first {
                return Err(violation("R-REG-1", "HELLO only as the first line of a connection", text));
            }
            if version.as_str() != PROTOCOL_VERSION {
                return Err(violation("R-REG-1", format!("HELLO {PROTOCOL_VERSION} <L> <text>"), text));
            }
            self.max_line = limits.max_line();
        }
        // A user list in progress admits only its own lines (R-LIST-1).
        if self.list.is_some() && !matches!(msg, M::Users(_) | M::EndUsers(_)) {
            return Err(violation("R-LIST-1", "the user list's next USERS or ENDUSERS line", text));
        }
        if self.awaiting_list && self.list.is_none() && !matches!(msg, M::Users(_) | M::EndUsers(_)) {
            return Err(violation("R-REG-2", "the user list right after WELCOME", text));
        }
        let kind = match msg {
            M::Welcome(nick) => {
                if self.nick.is_none() {
                    self.nick = Some(nick.as_str().to_owned());
                    self.awaiting_list = true;
                }
                Kind::Own
            }
            M::Users(nicks) => {
                self.list.get_or_insert_with(Vec::new).extend(nicks.iter().map(|n| n.as_str().to_owned()));
                Kind::Own
            }
            M::EndUsers(count) => {
                let list = self.list.take().unwrap_or_default();
                self.end_list(list, *count, text)?;
                Kind::Own
            }
            M::Join(nick) | M::Msg { from: nick, .. } | M::Leave { nick, .. } => {
                self.room_event(msg, nick.as_str(), text)?
            }
            M::Error { code, .. } if *code == ErrorCode::Flood => Kind::Flood,
            M::Error { code, .. } => {
                self.fatal_error = code.is_fatal();
                Kind::Own
            }
            M::Bye(_) => {
                self.bye = true;
                self.fatal_error = false;
                Kind::Own
            }
            M::Hello { .. } | M::Ping(_) | M::Pong(_) => Kind::Own,
        };
        Ok((msg.clone(), kind))
    }

    fn end_list(&mut self, list: Vec<String>, count: usize, text: &str) -> Result<(), Violation> {
        if list.len() != count {
            return Err(violation(
                "R-LIST-2",
                format!("ENDUSERS {} (the list held {} nicks)", list.len(), list.len()),
                text,
            ));
        }
        let mut seen = BTreeSet::new();
        if let Some(dup) = list.iter().find(|n| !seen.insert(n.to_ascii_lowercase())) {
            return Err(violation("R-LIST-2", "every nick once in a user list", format!("{dup} listed twice")));
        }
        let own: NickSet = list.iter().filter(|n| self.is_own(n)).cloned().collect();
        if let Some(me) = &self.nick {
            if !list.contains(me) {
                let req = if self.awaiting_list { "R-REG-2" } else { "R-LIST-2" };
                return Err(violation(
                    req,
                    format!("a user list that includes {me} itself"),
                    format!("a list without {me}"),
                ));
            }
        } else {
            return Err(violation("R-STATE-2", "no user list before registering", text));
        }
        self.awaiting_list = false;
        self.members = Some(own.clone());
        self.last_list = Some(own);
        Ok(())
    }

    fn room_event(&mut self, msg: &ServerMessage, nick: &str, text: &str) -> Result<Kind, Violation> {
        let Some(members) = self.members.as_mut() else {
            return Err(violation("R-STATE-2", "no JOIN, MSG or LEAVE before registering", text));
        };
        if !nick.ends_with(&self.own_suffix) {
            return Ok(Kind::Foreign);
        }
        let me = self.nick.as_deref() == Some(nick);
        match msg {
            ServerMessage::Join(_) if me => {
                return Err(violation("R-REG-3", "no JOIN for oneself", text));
            }
            ServerMessage::Join(_) if !members.insert(nick) => {
                return Err(violation("R-ORDER-4", format!("no JOIN for {nick}, who is already in the room"), text));
            }
            ServerMessage::Leave { .. } if me => {
                return Err(violation("R-LEAVE-3", "no LEAVE for oneself", text));
            }
            ServerMessage::Leave { cause, reason, .. } => {
                if !members.remove(nick) {
                    return Err(violation("R-ORDER-4", format!("no LEAVE for {nick}, who is not in the room"), text));
                }
                if *cause != LeaveCause::Quit && reason.is_some() {
                    return Err(violation("R-LEAVE-2", "a server-generated LEAVE without text after the cause", text));
                }
            }
            _ => {}
        }
        Ok(Kind::Own)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs() -> Observer {
        Observer::new("_t1", 1024)
    }

    fn feed(o: &mut Observer, lines: &[&str]) -> Result<Vec<Kind>, Violation> {
        lines.iter().map(|l| o.check_line(format!("{l}\n").as_bytes()).map(|(_, k)| k)).collect()
    }

    fn registered() -> Observer {
        let mut o = obs();
        feed(&mut o, &["HELLO minichat/1 1024 hi", "WELCOME a_t1", "USERS a_t1 x_other", "ENDUSERS 2"]).unwrap();
        o
    }

    #[test]
    fn a_normal_registration_passes_and_tracks_the_room() {
        let mut o = registered();
        assert_eq!(o.members().unwrap().as_set().iter().collect::<Vec<_>>(), ["a_t1"]);
        assert_eq!(
            feed(&mut o, &["JOIN b_t1", "MSG b_t1 hi", "JOIN y_other", "LEAVE b_t1 LOST"]).unwrap(),
            [Kind::Own, Kind::Own, Kind::Foreign, Kind::Own]
        );
        assert_eq!(o.members().unwrap().as_set().len(), 1);
    }

    #[test]
    fn nick_sets_compare_by_content_whatever_the_order_of_changes() {
        let a: NickSet = ["x".to_owned(), "y".to_owned()].into_iter().collect();
        let mut b = NickSet::default();
        assert!(b.insert("y") && b.insert("z") && b.insert("x") && !b.insert("x"));
        assert!(!a.same_as(&b));
        assert!(b.remove("z") && !b.remove("z"));
        assert!(a.same_as(&b));
        assert_eq!(a.as_set(), b.as_set());
    }

    #[test]
    fn framing_and_spelling_are_checked() {
        let mut o = obs();
        assert_eq!(o.check_line(b"HELLO minichat/1 1024 hi\r\n").unwrap_err().requirement, "R-TRANS-3");
        let mut o = obs();
        o.check_line(b"HELLO minichat/1 128 hi\n").unwrap();
        let long = format!("PONG {}\n", "x".repeat(200));
        assert_eq!(o.check_line(long.as_bytes()).unwrap_err().requirement, "R-TRANS-4");
        assert_eq!(o.check_line(b"welcome a\n").unwrap_err().requirement, "R-SYN-2");
        assert_eq!(o.check_line(b"PONG \xff\n").unwrap_err().requirement, "R-SYN-2");
        assert_eq!(o.check_line(b"ERROR NOPE x\n").unwrap_err().requirement, "R-SYN-2");
    }

    #[test]
    fn hello_must_come_first_and_name_version_1() {
        let mut o = obs();
        assert_eq!(feed(&mut o, &["HELLO minichat/2 1024 hi"]).unwrap_err().requirement, "R-REG-1");
        let mut o = obs();
        assert_eq!(feed(&mut o, &["PONG x", "HELLO minichat/1 1024 hi"]).unwrap_err().requirement, "R-REG-1");
    }

    #[test]
    fn user_lists_must_be_consecutive_counted_and_include_oneself() {
        let mut o = obs();
        let e = feed(&mut o, &["WELCOME a_t1", "USERS a_t1", "PONG x"]).unwrap_err();
        assert_eq!(e.requirement, "R-LIST-1");
        let mut o = obs();
        assert_eq!(feed(&mut o, &["WELCOME a_t1", "PONG x"]).unwrap_err().requirement, "R-REG-2");
        let mut o = obs();
        assert_eq!(
            feed(&mut o, &["WELCOME a_t1", "USERS a_t1 b_t1", "ENDUSERS 3"]).unwrap_err().requirement,
            "R-LIST-2"
        );
        let mut o = obs();
        assert_eq!(
            feed(&mut o, &["WELCOME a_t1", "USERS a_t1 A_T1", "ENDUSERS 2"]).unwrap_err().requirement,
            "R-LIST-2"
        );
        let mut o = obs();
        assert_eq!(feed(&mut o, &["WELCOME a_t1", "USERS b_t1", "ENDUSERS 1"]).unwrap_err().requirement, "R-REG-2");
        let mut o = registered();
        assert_eq!(feed(&mut o, &["USERS b_t1", "ENDUSERS 1"]).unwrap_err().requirement, "R-LIST-2");
    }

    #[test]
    fn joins_and_leaves_must_agree_with_the_list() {
        let mut o = registered();
        assert_eq!(feed(&mut o, &["JOIN a_t1"]).unwrap_err().requirement, "R-REG-3");
        let mut o = registered();
        assert_eq!(feed(&mut o, &["JOIN b_t1", "JOIN b_t1"]).unwrap_err().requirement, "R-ORDER-4");
        let mut o = registered();
        assert_eq!(feed(&mut o, &["LEAVE b_t1 QUIT"]).unwrap_err().requirement, "R-ORDER-4");
        let mut o = registered();
        assert_eq!(feed(&mut o, &["LEAVE a_t1 QUIT"]).unwrap_err().requirement, "R-LEAVE-3");
        let mut o = registered();
        assert_eq!(feed(&mut o, &["JOIN b_t1", "LEAVE b_t1 LOST oops"]).unwrap_err().requirement, "R-LEAVE-2");
    }

    #[test]
    fn an_unregistered_connection_gets_no_room_events() {
        let mut o = obs();
        assert_eq!(feed(&mut o, &["HELLO minichat/1 1024 hi", "MSG x_other hi"]).unwrap_err().requirement, "R-STATE-2");
        let mut o = obs();
        assert_eq!(feed(&mut o, &["USERS x_other", "ENDUSERS 1"]).unwrap_err().requirement, "R-STATE-2");
    }

    #[test]
    fn a_fatal_error_must_be_followed_by_bye_and_flood_is_tolerated() {
        let mut o = registered();
        assert_eq!(feed(&mut o, &["ERROR FLOOD slow down"]).unwrap(), [Kind::Flood]);
        assert_eq!(feed(&mut o, &["ERROR TIMEOUT idle", "BYE"]).unwrap().len(), 2);
        assert!(o.bye_seen());
        let mut o = registered();
        assert_eq!(feed(&mut o, &["ERROR SLOW_CONSUMER x", "MSG a_t1 hi"]).unwrap_err().requirement, "R-ERR-2");
    }
}
