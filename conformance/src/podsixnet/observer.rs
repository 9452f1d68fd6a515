//! The checks every frame a server sends to a PodSixNet connection passes, and the lines it
//! stands for.
//!
//! Each payload is decoded and read strictly as R-PSN-6 gives it ([`ServerFrame::from_value`]:
//! the action's keys, in order, and nothing else), then handed on as the line(s) it stands for,
//! which pass the line protocol's own always-on checks ([`crate::observer`]). What only frames
//! have is checked here:
//!
//! - a payload is rencode (R-PSN-1) and was not cut at a terminator inside it (R-PSN-3);
//! - `connected` comes first, before anything else, and only then (R-PSN-6) — except on a
//!   connection the server refuses at once (`SERVER_FULL`, …), which gets an error and `bye`;
//! - after every `join` and `leave` comes a `players` frame, next, holding the membership right
//!   after that event (R-PSN-7) — checked against the connection's view of the room by
//!   [`check_membership`]; such a frame is not a user list for the case and yields no line;
//! - no `ping` frame ever (R-PSN-8), and errors are `minichat_error`, never `error` (R-PSN-6).

use std::collections::BTreeSet;

use minichat_protocol::podsixnet::{DecodeErrorKind, ServerFrame, TERMINATOR, Value, decode};
use minichat_protocol::{Limits, MAX_MAX_LINE, Nick, ServerMessage, encode_user_list};

use super::show::show;
use crate::escape::escape_bytes_short;
use crate::observer::{Observer, Violation};

/// A `join` or `leave` whose `players` frame is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub nick: String,
    pub joined: bool,
}

/// What a frame stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken {
    /// The lines, each with its LF: one for most frames, a whole user list for `players`, none
    /// for `connected`.
    Lines(Vec<Vec<u8>>),
    /// The `players` frame right after a `join` or `leave`: the membership after that event, to
    /// check with [`check_membership`] (R-PSN-7).
    Membership { event: Event, players: Vec<String> },
}

/// The per-connection state of the frame checks.
#[derive(Clone, Debug)]
pub struct FrameObserver {
    frames: usize,
    due: Option<Event>,
    /// *L* from the `hello` frame, to write user lists as lines of at most *L* bytes.
    limits: Limits,
}

impl Default for FrameObserver {
    fn default() -> Self {
        FrameObserver::new()
    }
}

fn violation(requirement: &'static str, expected: impl Into<String>, got: impl Into<String>) -> Violation {
    Violation { requirement, expected: expected.into(), got: got.into() }
}

/// The keys R-PSN-6 gives an action's frame, as SPEC.md's table writes them.
fn expected_keys(action: &str) -> Option<&'static str> {
    Some(match action {
        "connected" => r#"{"action": "connected"}"#,
        "hello" => r#"{"action": "hello", "version", "max_line" (an integer), "text"}"#,
        "welcome" => r#"{"action": "welcome", "nick"}"#,
        "players" => r#"{"action": "players", "players": [<nick>, …]}"#,
        "join" => r#"{"action": "join", "nick"}"#,
        "message" => r#"{"action": "message", "message", "who", "expediteur"} (who and expediteur the same nick)"#,
        "leave" => r#"{"action": "leave", "nick", "cause"[, "reason"]}"#,
        "pong" => r#"{"action": "pong", "token"}"#,
        "minichat_error" => r#"{"action": "minichat_error", "code", "text"}"#,
        "bye" => r#"{"action": "bye"[, "text"]}"#,
        _ => return None,
    })
}

impl FrameObserver {
    pub fn new() -> FrameObserver {
        FrameObserver { frames: 0, due: None, limits: Limits::new(MAX_MAX_LINE).expect("the largest limit is valid") }
    }

    /// Checks one payload (without its terminator) and says what it stands for.
    pub fn take(&mut self, payload: &[u8]) -> Result<Taken, Violation> {
        let value = decode(payload).map_err(|e| undecodable(payload, e.kind()))?;
        let frame = ServerFrame::from_value(&value).map_err(|r| misshapen(&value, r.reason))?;
        let first = self.frames == 0;
        self.frames += 1;
        if let Some(event) = self.due.take() {
            return match frame {
                ServerFrame::Players(nicks) => {
                    Ok(Taken::Membership { event, players: nicks.iter().map(|n| n.as_str().to_owned()).collect() })
                }
                _ => Err(violation(
                    "R-PSN-7",
                    format!(
                        "a players frame right after the {} frame for {}",
                        if event.joined { "join" } else { "leave" },
                        event.nick
                    ),
                    show(&value),
                )),
            };
        }
        if first && !matches!(frame, ServerFrame::Connected | ServerFrame::Error { .. }) {
            return Err(violation(
                "R-PSN-6",
                r#"{"action": "connected"} first, on accept, before anything else"#,
                show(&value),
            ));
        }
        let message = match frame {
            ServerFrame::Connected if first => return Ok(Taken::Lines(Vec::new())),
            ServerFrame::Connected => {
                return Err(violation("R-PSN-6", r#"{"action": "connected"} only as the first frame"#, show(&value)));
            }
            ServerFrame::Players(nicks) => return Ok(Taken::Lines(user_list_lines(&nicks, self.limits))),
            ServerFrame::Hello { version, limits, text } => {
                self.limits = limits;
                ServerMessage::Hello { version, limits, text }
            }
            ServerFrame::Welcome(nick) => ServerMessage::Welcome(nick),
            ServerFrame::Join(nick) => {
                self.due = Some(Event { nick: nick.as_str().to_owned(), joined: true });
                ServerMessage::Join(nick)
            }
            ServerFrame::Leave { nick, cause, reason } => {
                self.due = Some(Event { nick: nick.as_str().to_owned(), joined: false });
                ServerMessage::Leave { nick, cause, reason }
            }
            ServerFrame::Message { from, text } => ServerMessage::Msg { from, text },
            ServerFrame::Pong(token) => ServerMessage::Pong(token),
            ServerFrame::Error { code, text } => ServerMessage::Error { code, text },
            ServerFrame::Bye(text) => ServerMessage::Bye(text),
        };
        Ok(Taken::Lines(vec![message.to_bytes().to_vec()]))
    }
}

/// A user list as lines of at most *L* bytes (the frame itself is not limited by *L*, R-PSN-2).
fn user_list_lines(nicks: &[Nick], limits: Limits) -> Vec<Vec<u8>> {
    let mut bytes = Vec::new();
    encode_user_list(nicks, limits, &mut bytes);
    bytes.split_inclusive(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

/// Why a payload that is not rencode was refused: cut at a terminator inside it (R-PSN-3), or
/// never rencode at all (R-PSN-1).
fn undecodable(payload: &[u8], kind: DecodeErrorKind) -> Violation {
    let shown = escape_bytes_short(payload, 160);
    let mut whole = payload.to_vec();
    whole.extend_from_slice(&TERMINATOR[..4]);
    if let Ok(value) = decode(&whole) {
        return violation(
            "R-PSN-3",
            "a payload that does not end with 00 2d 2d 2d",
            format!("{}, which ends with 00 2d 2d 2d, so the receiver cut it there, one byte early", show(&value)),
        );
    }
    if kind == DecodeErrorKind::Truncated {
        return violation(
            "R-PSN-3",
            "a payload without the terminator inside it",
            format!(
                "{shown}\\0---\\0, which ends inside a value: the frame held \\0---\\0 and was cut there (or the \
                 server sent an incomplete payload)"
            ),
        );
    }
    violation("R-PSN-1", "a rencode payload before each \\0---\\0", format!("{shown}\\0---\\0 ({kind})"))
}

/// Why a decoded frame is not one of R-PSN-6's.
fn misshapen(value: &Value, reason: &str) -> Violation {
    let got = format!("{} ({reason})", show(value));
    match value.action() {
        Some("ping") => violation("R-PSN-8", "no PING: a server sends no idle PING to a PodSixNet connection", got),
        Some("error") => violation(
            "R-PSN-6",
            r#"errors as {"action": "minichat_error", "code", "text"}: PodSixNet clients use "error" for their own socket errors"#,
            got,
        ),
        Some(action) if expected_keys(action).is_some() => {
            let keys = expected_keys(action).unwrap_or_default();
            violation("R-PSN-6", format!("{keys}: exactly these keys, in this order"), got)
        }
        _ => violation(
            "R-PSN-6",
            "one of R-PSN-6's frames: a dict whose first key is \"action\", one of connected, hello, welcome, \
             players, join, message, leave, pong, minichat_error, bye",
            got,
        ),
    }
}

/// Checks the `players` frame after `event` against the connection's view of the room, which
/// already includes the event (R-PSN-7): every member once, the receiver itself in it, the nick
/// that joined in it or the one that left gone, and exactly the case's own clients it knows of.
pub fn check_membership(observer: &Observer, event: &Event, players: &[String]) -> Result<(), Violation> {
    let what = if event.joined { "join" } else { "leave" };
    let shown = || format!("players [{}]", players.join(", "));
    let mut seen = BTreeSet::new();
    if let Some(dup) = players.iter().find(|n| !seen.insert(n.to_ascii_lowercase())) {
        return Err(violation("R-PSN-7", "every member once in a players frame", format!("{dup} twice: {}", shown())));
    }
    if let Some(me) = observer.nick()
        && !players.iter().any(|n| n == me)
    {
        return Err(violation("R-PSN-7", format!("a players frame that includes {me} itself"), shown()));
    }
    let present = players.contains(&event.nick);
    if present != event.joined {
        let expected = if event.joined {
            format!("{} in the players frame after its join", event.nick)
        } else {
            format!("{} no longer in the players frame after its leave", event.nick)
        };
        return Err(violation("R-PSN-7", expected, shown()));
    }
    if let Some(view) = observer.members() {
        let own: BTreeSet<String> = players.iter().filter(|n| observer.is_own(n)).cloned().collect();
        if &own != view.as_set() {
            let view: Vec<&str> = view.as_set().iter().map(String::as_str).collect();
            return Err(violation(
                "R-PSN-7",
                format!("the membership right after the {what} of {}: {}", event.nick, view.join(" ")),
                shown(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use minichat_protocol::podsixnet::{Dict, encode};
    use minichat_protocol::{LeaveCause, Text, Token};

    use super::*;

    fn payload(frame: &ServerFrame) -> Vec<u8> {
        encode(&frame.to_value()).unwrap()
    }

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }

    fn greeted() -> FrameObserver {
        let mut o = FrameObserver::new();
        let hello = ServerFrame::Hello {
            version: Token::new("minichat/1").unwrap(),
            limits: Limits::new(128).unwrap(),
            text: Text::new("hi").unwrap(),
        };
        assert_eq!(o.take(&payload(&ServerFrame::Connected)), Ok(Taken::Lines(vec![])));
        assert_eq!(o.take(&payload(&hello)), Ok(Taken::Lines(vec![b"HELLO minichat/1 128 hi\n".to_vec()])));
        o
    }

    fn lines(t: Taken) -> Vec<String> {
        match t {
            Taken::Lines(l) => l.into_iter().map(|l| String::from_utf8(l).unwrap()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn frames_stand_for_their_lines_and_a_players_list_for_a_user_list_within_l() {
        let mut o = greeted();
        let nicks: Vec<Nick> = (0..5).map(|i| nick(&format!("n{i:031}"))).collect();
        let list = lines(o.take(&payload(&ServerFrame::Players(nicks))).unwrap());
        assert_eq!(list.len(), 3, "{list:?}");
        assert!(list.iter().all(|l| l.len() <= 129));
        assert_eq!(list[2], "ENDUSERS 5\n");
        let msg = ServerFrame::Message { from: nick("a"), text: Text::new("hi there").unwrap() };
        assert_eq!(lines(o.take(&payload(&msg)).unwrap()), ["MSG a hi there\n"]);
    }

    #[test]
    fn connected_comes_first_and_only_first_except_before_a_refusal() {
        let mut o = FrameObserver::new();
        assert_eq!(o.take(&payload(&ServerFrame::Welcome(nick("a")))).unwrap_err().requirement, "R-PSN-6");
        let mut o = greeted();
        assert_eq!(o.take(&payload(&ServerFrame::Connected)).unwrap_err().requirement, "R-PSN-6");
        let mut refused = FrameObserver::new();
        let full =
            ServerFrame::Error { code: minichat_protocol::ErrorCode::ServerFull, text: Text::new("full").unwrap() };
        assert!(refused.take(&payload(&full)).is_ok());
    }

    #[test]
    fn a_players_frame_must_follow_each_join_and_leave_at_once() {
        let mut o = greeted();
        assert!(o.take(&payload(&ServerFrame::Join(nick("b")))).is_ok());
        let players = ServerFrame::Players(vec![nick("a"), nick("b")]);
        assert_eq!(
            o.take(&payload(&players)),
            Ok(Taken::Membership {
                event: Event { nick: "b".into(), joined: true },
                players: vec!["a".into(), "b".into()]
            })
        );
        let leave = ServerFrame::Leave { nick: nick("b"), cause: LeaveCause::Lost, reason: None };
        assert!(o.take(&payload(&leave)).is_ok());
        let pong = ServerFrame::Pong(Token::new("t").unwrap());
        assert_eq!(o.take(&payload(&pong)).unwrap_err().requirement, "R-PSN-7");
    }

    #[test]
    fn frames_off_the_table_are_charged_to_the_requirement_they_break() {
        let mut o = greeted();
        let mut d = Dict::new();
        d.insert_str("action", "message");
        d.insert_str("message", "hi");
        d.insert_str("who", "a");
        let e = o.take(&encode(&Value::Dict(d)).unwrap()).unwrap_err();
        assert_eq!(e.requirement, "R-PSN-6");
        assert!(e.expected.contains("expediteur"), "{e:?}");
        let mut ping = Dict::new();
        ping.insert_str("action", "ping");
        ping.insert_str("token", "idle-1");
        assert_eq!(o.take(&encode(&Value::Dict(ping)).unwrap()).unwrap_err().requirement, "R-PSN-8");
        let mut error = Dict::new();
        error.insert_str("action", "error");
        error.insert_str("code", "BAD_ARGUMENTS");
        let e = o.take(&encode(&Value::Dict(error)).unwrap()).unwrap_err();
        assert!(e.expected.contains("minichat_error"), "{e:?}");
        assert_eq!(o.take(b"\x2d").unwrap_err().requirement, "R-PSN-1");
    }

    #[test]
    fn a_payload_cut_at_a_terminator_inside_it_is_an_r_psn_3_failure() {
        // What a receiver sees of {"action": "message", "message": "a\0---\0b", …}: the first piece.
        let msg = ServerFrame::Message { from: nick("a"), text: Text::new("x").unwrap() }.to_value();
        let mut d = msg.as_dict().unwrap().clone();
        d.insert_str("message", "a\0---\0b");
        let whole = encode(&Value::Dict(d)).unwrap();
        let cut = whole.windows(5).position(|w| w == TERMINATOR).unwrap();
        let mut o = greeted();
        assert_eq!(o.take(&whole[..cut]).unwrap_err().requirement, "R-PSN-3");
        // A payload ending in 00 2d 2d 2d is cut one byte early.
        let mut text = Dict::new();
        text.insert_str("action", "bye");
        text.insert_str("text", "x\0---");
        let whole = encode(&Value::Dict(text)).unwrap();
        let e = greeted().take(&whole[..whole.len() - 4]).unwrap_err();
        assert_eq!(e.requirement, "R-PSN-3");
        assert!(e.got.contains("one byte early"), "{e:?}");
    }

    #[test]
    fn the_players_after_an_event_must_be_the_room_as_the_receiver_knows_it() {
        let mut obs = Observer::new("_t", 1024);
        for l in ["HELLO minichat/1 1024 hi", "WELCOME a_t", "USERS a_t x_other", "ENDUSERS 2", "JOIN b_t"] {
            obs.check_line(format!("{l}\n").as_bytes()).unwrap();
        }
        let players = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let join = Event { nick: "b_t".into(), joined: true };
        assert_eq!(check_membership(&obs, &join, &players("a_t x_other b_t")), Ok(()));
        for wrong in ["a_t x_other", "x_other b_t", "a_t b_t B_T", "a_t b_t c_t"] {
            assert_eq!(check_membership(&obs, &join, &players(wrong)).unwrap_err().requirement, "R-PSN-7", "{wrong}");
        }
        obs.check_line(b"LEAVE b_t LOST\n").unwrap();
        let leave = Event { nick: "b_t".into(), joined: false };
        assert_eq!(check_membership(&obs, &leave, &players("a_t x_other")), Ok(()));
        let e = check_membership(&obs, &leave, &players("a_t x_other b_t")).unwrap_err();
        assert!(e.expected.contains("no longer"), "{e:?}");
    }
}
