//! Lines as the frames that stand for them (SPEC.md R-PSN-4's table, read from the line side),
//! and the cases the PodSixNet profile cannot run.
//!
//! A line is translated only when its frame gets the same answer from a conforming server as the
//! line does, so a case written for lines keeps its meaning:
//!
//! | line | frame |
//! |---|---|
//! | `USER x`, `USER` | `{"action": "username", "username": "x"}`, `{"action": "username"}` (missing key: `BAD_ARGUMENTS`, like the line) |
//! | `MSG t`, `MSG` | `{"action": "message", "message": "t"}`, `… "message": ""` (`EMPTY_MESSAGE`, like the line) |
//! | `USERS` | `{"action": "users"}` |
//! | `PING t`, `PONG t` | `{"action": "ping", "token": "t"}`, … (no token: missing key, `BAD_ARGUMENTS`) |
//! | `QUIT r`, `QUIT` | `{"action": "quit", "reason": "r"}`, `{"action": "quit"}` |
//! | `WORD …` (not a command) | `{"action": "WORD"}` (`UNKNOWN_COMMAND`, like the line) |
//!
//! Lines with no such frame are refused with the reason: anything that is line framing (an empty
//! line, a CR, invalid UTF-8), a command word not in upper case (R-SYN-1: an action has one
//! spelling), `USERS` with arguments, an unknown command word that is a PodSixNet action or holds
//! a control character, and a line on whose side of *L* its frame does not fall (a line of
//! exactly *L* bytes is a frame of more).

use minichat_protocol::podsixnet::{Dict, Value, encode, frame};
use minichat_protocol::{Limits, is_control};

use crate::case::{Action, Case, Step};
use crate::template::{NameTpl, Piece};

use super::Profile;

/// Requirements about line framing itself, which §16.1's frames replace: a case that checks
/// nothing else has no meaning over PodSixNet.
pub const LINE_FRAMING: &[&str] =
    &["R-TRANS-2", "R-TRANS-3", "R-TRANS-4", "R-TRANS-5", "R-TRANS-6", "R-TRANS-9", "R-SYN-1", "R-SYN-2"];

const COMMANDS: [&str; 6] = ["USER", "MSG", "USERS", "PING", "PONG", "QUIT"];
const ACTIONS: [&str; 7] = ["username", "nickname", "message", "users", "ping", "pong", "quit"];

fn dict(pairs: &[(&str, &str)]) -> Value {
    let mut d = Dict::new();
    for (k, v) in pairs {
        d.insert_str(*k, *v);
    }
    Value::Dict(d)
}

/// The frame (as a value) that stands for a line's content, or why there is none.
pub fn line_value(content: &[u8]) -> Result<Value, String> {
    let text = std::str::from_utf8(content)
        .map_err(|_| "the line is not UTF-8 (R-TRANS-7 is about line bytes; a frame's strings are text)".to_owned())?;
    if text.is_empty() {
        return Err("an empty line (R-TRANS-9) has no frame".into());
    }
    if text.contains('\r') {
        return Err("a CR in a line is line framing (R-TRANS-2)".into());
    }
    let (word, args) = match text.split_once(' ') {
        Some((w, a)) => (w, Some(a)),
        None => (text, None),
    };
    let with = |action: &str, key: &str| match args {
        Some(a) => dict(&[("action", action), (key, a)]),
        None => dict(&[("action", action)]),
    };
    Ok(match word {
        "USER" => with("username", "username"),
        "MSG" => dict(&[("action", "message"), ("message", args.unwrap_or(""))]),
        "USERS" if args.is_none() => dict(&[("action", "users")]),
        "USERS" => return Err("`USERS` with arguments: a users frame has none".into()),
        "PING" => with("ping", "token"),
        "PONG" => with("pong", "token"),
        "QUIT" => with("quit", "reason"),
        w if COMMANDS.contains(&w.to_ascii_uppercase().as_str()) => {
            return Err(format!(
                "the command word `{w}` is not in upper case: command words in any case (R-SYN-1) are line \
                 grammar, and a PodSixNet action has one spelling"
            ));
        }
        w if ACTIONS.contains(&w) => {
            return Err(format!(
                "`{w}` is no command word but is a PodSixNet action: its frame would mean something else"
            ));
        }
        _ if text.chars().any(is_control) => {
            return Err("an unknown command with a control character: the line's error (CONTROL_CHARACTER) comes \
                        before the command word's, and an action's arguments are keys"
                .into());
        }
        w => dict(&[("action", w)]),
    })
}

/// A line's frame: the value, and its bytes with the terminator; or why the line has none.
pub fn line_frame(content: &[u8], limits: Limits) -> Result<(Value, Vec<u8>), String> {
    let value = line_value(content)?;
    let payload = encode(&value).map_err(|e| e.to_string())?;
    let l = limits.max_line();
    if (content.len() > l) != (payload.len() > l) {
        return Err(format!(
            "a line of {} bytes is a frame of {} bytes, and L = {l} lies between them: line-length boundaries \
             (R-TRANS-4) have no frame",
            content.len(),
            payload.len()
        ));
    }
    let bytes = frame(&payload).map_err(|_| "the line holds \\0---\\0, which would cut its frame in two".to_owned())?;
    Ok((value, bytes.to_vec()))
}

/// Bytes written as complete lines (a `pump`'s data) as the frames of those lines.
pub fn lines_frames(data: &[u8], limits: Limits) -> Result<Vec<(Value, Vec<u8>)>, String> {
    let Some(body) = data.strip_suffix(b"\n") else {
        return Err("it sends a partial line, which is line framing (R-TRANS-10)".into());
    };
    body.split(|&b| b == b'\n').map(|line| line_frame(line, limits)).collect()
}

/// Why `case` cannot run in `profile`, if it cannot. Static: what depends on values (a line's
/// length, its command word) is found when the step runs.
pub fn profile_skip(case: &Case, profile: Profile) -> Option<String> {
    if profile == Profile::Line {
        return None;
    }
    if case.checks.iter().all(|c| LINE_FRAMING.contains(&c.requirement.as_str())) {
        let mut reqs: Vec<&str> = case.checks.iter().map(|c| c.requirement.as_str()).collect();
        reqs.dedup();
        return Some(format!(
            "over PodSixNet: it checks line framing only ({}), which PodSixNet's frames replace (SPEC.md §16.1)",
            reqs.join(", ")
        ));
    }
    let mut podsixnet: Vec<&NameTpl> = Vec::new();
    line_only_step(&case.steps, &mut podsixnet).map(|why| format!("over PodSixNet: {why}"))
}

/// The first step that needs line framing on a connection the case opened as a line connection.
fn line_only_step<'a>(steps: &'a [Step], podsixnet: &mut Vec<&'a NameTpl>) -> Option<String> {
    for step in steps {
        let on_line = |conn: &NameTpl, podsixnet: &Vec<&NameTpl>| !podsixnet.contains(&conn);
        let why = match &step.action {
            Action::Connect { conn, options } if options.podsixnet => {
                podsixnet.push(conn);
                None
            }
            Action::Register { conn, podsixnet: true, .. } => {
                podsixnet.push(conn);
                None
            }
            Action::Connect { options, .. } if !options.autopong => Some(format!(
                "it watches the server's PING (`{}`), which a server never sends a PodSixNet client (R-PSN-8)",
                step.source
            )),
            Action::SendRaw { conn, .. } if on_line(conn, podsixnet) => Some(format!(
                "it writes raw bytes on a line connection (`{}`): terminators, split or partial lines and bytes \
                 that only line framing has",
                step.source
            )),
            Action::Pump { conn, data, .. }
                if on_line(conn, podsixnet)
                    && !matches!(data.0.last(), Some(Piece::Lit(bytes)) if bytes.ends_with(b"\n")) =>
            {
                Some(format!("it sends a partial line (`{}`), which is line framing (R-TRANS-10)", step.source))
            }
            Action::SendLine { conn, line } if on_line(conn, podsixnet) && line.0.is_empty() => {
                Some(format!("it sends an empty line (`{}`), which has no frame (R-TRANS-9)", step.source))
            }
            Action::Repeat { body, .. } => line_only_step(body, podsixnet),
            _ => None,
        };
        if why.is_some() {
            return why;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use minichat_protocol::parse_client_line;
    use minichat_protocol::podsixnet::client_message;

    use super::*;
    use crate::podsixnet::show::show;

    fn shown(line: &str) -> String {
        show(&line_value(line.as_bytes()).unwrap())
    }

    fn refused(line: &str) -> String {
        line_value(line.as_bytes()).unwrap_err()
    }

    #[test]
    fn each_command_becomes_the_frame_of_r_psn_4() {
        assert_eq!(shown("USER alice"), r#"{"action": "username", "username": "alice"}"#);
        assert_eq!(shown("MSG  two  spaces "), r#"{"action": "message", "message": " two  spaces "}"#);
        assert_eq!(shown("USERS"), r#"{"action": "users"}"#);
        assert_eq!(shown("PING t-1"), r#"{"action": "ping", "token": "t-1"}"#);
        assert_eq!(shown("PONG t-1"), r#"{"action": "pong", "token": "t-1"}"#);
        assert_eq!(shown("QUIT see you"), r#"{"action": "quit", "reason": "see you"}"#);
        assert_eq!(shown("QUIT"), r#"{"action": "quit"}"#);
        assert_eq!(shown("HELP me"), r#"{"action": "HELP"}"#);
    }

    #[test]
    fn a_translated_line_gets_the_answer_the_line_gets() {
        // How the protocol crate reads the frame (R-PSN-5) against how it reads the line (§3.1).
        let limits = Limits::DEFAULT;
        for line in [
            "USER",
            "USER 9lives",
            "USER ",
            "USER two words",
            "MSG",
            "MSG    ",
            "MSG a\tb",
            "PING",
            "PING two tokens",
            "PONG",
            "NICK bob",
            " MSG leading space",
        ] {
            let as_line = parse_client_line(line, limits).unwrap_err().kind.error_code();
            let as_frame = client_message(&line_value(line.as_bytes()).unwrap(), limits).unwrap_err().code;
            assert_eq!(as_frame, as_line, "{line:?}");
        }
        for line in ["USER alice", "MSG hi", "USERS", "PING t", "PONG t", "QUIT", "QUIT bye"] {
            let as_line = parse_client_line(line, limits).unwrap();
            assert_eq!(client_message(&line_value(line.as_bytes()).unwrap(), limits), Ok(as_line), "{line:?}");
        }
    }

    #[test]
    fn lines_that_only_line_framing_has_are_refused_with_the_reason() {
        assert!(refused("").contains("empty line"));
        assert!(refused("MSG a\rb").contains("CR"));
        assert!(line_value(b"MSG \xff").unwrap_err().contains("UTF-8"));
        assert!(refused("user alice").contains("upper case"));
        assert!(refused("USERS now").contains("arguments"));
        assert!(refused("message hi").contains("PodSixNet action"));
        assert!(refused("FOO \u{1}").contains("control character"));
    }

    #[test]
    fn a_line_and_its_frame_must_fall_on_the_same_side_of_l() {
        let limits = Limits::new(200).unwrap();
        let at = |n: usize| format!("MSG {}", "x".repeat(n - 4));
        // Exactly L as a line is more than L as a frame.
        assert!(line_frame(at(200).as_bytes(), limits).unwrap_err().contains("L = 200"));
        assert!(line_frame(at(150).as_bytes(), limits).is_ok());
        assert!(line_frame(at(300).as_bytes(), limits).is_ok());
        assert!(line_frame(b"MSG cut \0---\0 here", limits).unwrap_err().contains("cut its frame"));
    }

    #[test]
    fn pumped_data_must_be_complete_lines() {
        let limits = Limits::DEFAULT;
        assert_eq!(lines_frames(b"MSG 1\nMSG 2\n", limits).unwrap().len(), 2);
        assert!(lines_frames(b"x", limits).unwrap_err().contains("partial line"));
    }

    #[test]
    fn the_profile_skips_cases_about_line_framing_and_raw_line_bytes() {
        let case = |body: &str, checks: &str| {
            let text = format!("case MC-T-001\ntitle t\nlevel MUST\nchecks {checks} \"q\"\n{body}");
            crate::syntax::parse_file("t.cases", &text).unwrap().remove(0)
        };
        let skip = |c: &Case| profile_skip(c, Profile::PodSixNet);
        assert!(skip(&case("register a\n", "R-TRANS-3")).unwrap().contains("line framing only (R-TRANS-3)"));
        assert!(skip(&case("register a\nsend a \"MSG x\\r\\n\"\n", "R-MSG-1")).unwrap().contains("raw bytes"));
        assert!(skip(&case("connect a no-autopong\n", "R-MSG-1")).unwrap().contains("R-PSN-8"));
        assert!(skip(&case("register a\nrepeat 2\n  a>\nend\n", "R-MSG-1")).unwrap().contains("empty line"));
        assert!(skip(&case("register a\npump a \"x\" times 3\n", "R-MSG-1")).unwrap().contains("partial line"));
        assert_eq!(skip(&case("register a\npump a \"MSG $n\\n\" times 3\na> MSG hi\n", "R-MSG-1")), None);
        let native = case("requires podsixnet\nconnect p podsixnet\nsend p \"\\x2d\\0---\\0\"\n", "R-PSN-5");
        assert_eq!(skip(&native), None, "raw bytes on a PodSixNet connection are frames");
        assert_eq!(profile_skip(&case("connect a no-autopong\n", "R-MSG-1"), Profile::Line), None);
    }
}
