//! The toy's PodSixNet side (SPEC.md §16), written like the rest of the toy — independently of the
//! protocol crate, the way a student would add it: a small rencode, the frames for the lines the
//! toy would send, and the line each frame it receives stands for. The deliberate flaws that
//! concern PodSixNet are applied here and where the toy sends frames.

use super::{Flaw, Shared, has};

/// What ends every frame (PodSixNet `Channel.endchars`).
pub const TERMINATOR: &[u8] = b"\0---\0";

/// The most containers the toy's decoder nests into.
const MAX_DEPTH: usize = 32;

/// A rencode value, as far as the toy cares.
#[derive(Clone, Debug, PartialEq)]
pub enum V {
    None,
    Bool(bool),
    Int(i64),
    /// Floats are read and ignored: no frame of the profile holds one.
    Float,
    /// A string's bytes (checked for UTF-8 when decoded).
    Str(Vec<u8>),
    List(Vec<V>),
    Dict(Vec<(V, V)>),
}

fn s(text: &str) -> V {
    V::Str(text.as_bytes().to_vec())
}

/// Why a payload is not a value.
#[derive(Debug, PartialEq)]
pub enum Bad {
    NotUtf8,
    Malformed,
}

pub fn encode(v: &V, out: &mut Vec<u8>) {
    match v {
        V::None => out.push(0x45),
        V::Bool(true) => out.push(0x43),
        V::Bool(false) => out.push(0x44),
        V::Int(n) => match *n {
            0..=43 => out.push(*n as u8),
            -32..=-1 => out.push((0x46 - 1 - *n) as u8),
            n if i8::try_from(n).is_ok() => {
                out.push(0x3e);
                out.extend((n as i8).to_be_bytes());
            }
            n if i16::try_from(n).is_ok() => {
                out.push(0x3f);
                out.extend((n as i16).to_be_bytes());
            }
            n if i32::try_from(n).is_ok() => {
                out.push(0x40);
                out.extend((n as i32).to_be_bytes());
            }
            n => {
                out.push(0x41);
                out.extend(n.to_be_bytes());
            }
        },
        V::Float => out.extend([0x42, 0, 0, 0, 0]),
        V::Str(b) if b.len() < 64 => {
            out.push(0x80 + b.len() as u8);
            out.extend(b);
        }
        V::Str(b) => {
            out.extend(format!("{}:", b.len()).bytes());
            out.extend(b);
        }
        V::List(items) if items.len() < 32 => {
            out.push(0xc0 + items.len() as u8);
            items.iter().for_each(|i| encode(i, out));
        }
        V::List(items) => {
            out.push(0x3b);
            items.iter().for_each(|i| encode(i, out));
            out.push(0x7f);
        }
        V::Dict(pairs) if pairs.len() < 25 => {
            out.push(0x66 + pairs.len() as u8);
            for (k, v) in pairs {
                encode(k, out);
                encode(v, out);
            }
        }
        V::Dict(pairs) => {
            out.push(0x3c);
            for (k, v) in pairs {
                encode(k, out);
                encode(v, out);
            }
            out.push(0x7f);
        }
    }
}

/// The whole payload as one value.
pub fn decode(bytes: &[u8]) -> Result<V, Bad> {
    let mut at = 0;
    let v = value(bytes, &mut at, 0)?;
    if at == bytes.len() { Ok(v) } else { Err(Bad::Malformed) }
}

fn take<'a>(bytes: &'a [u8], at: &mut usize, n: usize) -> Result<&'a [u8], Bad> {
    let end = at.checked_add(n).filter(|&e| e <= bytes.len()).ok_or(Bad::Malformed)?;
    let out = &bytes[*at..end];
    *at = end;
    Ok(out)
}

fn value(bytes: &[u8], at: &mut usize, depth: usize) -> Result<V, Bad> {
    if depth > MAX_DEPTH {
        return Err(Bad::Malformed);
    }
    let code = take(bytes, at, 1)?[0];
    let items = |n: usize, at: &mut usize| (0..n).map(|_| value(bytes, at, depth + 1)).collect::<Result<Vec<_>, _>>();
    let until_end = |at: &mut usize| {
        let mut out = Vec::new();
        while bytes.get(*at) != Some(&0x7f) {
            out.push(value(bytes, at, depth + 1)?);
        }
        *at += 1;
        Ok(out)
    };
    let string = |b: &[u8]| std::str::from_utf8(b).map(|_| V::Str(b.to_vec())).map_err(|_| Bad::NotUtf8);
    Ok(match code {
        0x00..=0x2b => V::Int(i64::from(code)),
        0x46..=0x65 => V::Int(0x46 - 1 - i64::from(code)),
        0x3e => V::Int(i64::from(i8::from_be_bytes([take(bytes, at, 1)?[0]]))),
        0x3f => V::Int(i64::from(i16::from_be_bytes(take(bytes, at, 2)?.try_into().map_err(|_| Bad::Malformed)?))),
        0x40 => V::Int(i64::from(i32::from_be_bytes(take(bytes, at, 4)?.try_into().map_err(|_| Bad::Malformed)?))),
        0x41 => V::Int(i64::from_be_bytes(take(bytes, at, 8)?.try_into().map_err(|_| Bad::Malformed)?)),
        0x3d => {
            let len = bytes[*at..].iter().position(|&b| b == 0x7f).ok_or(Bad::Malformed)?;
            let digits = take(bytes, at, len)?;
            *at += 1;
            V::Int(std::str::from_utf8(digits).ok().and_then(|d| d.parse().ok()).ok_or(Bad::Malformed)?)
        }
        0x42 => {
            take(bytes, at, 4)?;
            V::Float
        }
        0x2c => {
            take(bytes, at, 8)?;
            V::Float
        }
        0x43 => V::Bool(true),
        0x44 => V::Bool(false),
        0x45 => V::None,
        0x80..=0xbf => string(take(bytes, at, usize::from(code - 0x80))?)?,
        b'0'..=b'9' => {
            let colon = bytes[*at - 1..].iter().take(64).position(|&b| b == b':').ok_or(Bad::Malformed)?;
            let len: usize = std::str::from_utf8(&bytes[*at - 1..*at - 1 + colon])
                .ok()
                .and_then(|d| d.parse().ok())
                .ok_or(Bad::Malformed)?;
            *at += colon;
            string(take(bytes, at, len)?)?
        }
        0xc0..=0xdf => V::List(items(usize::from(code - 0xc0), at)?),
        0xe0..=0xff => V::List(items(usize::from(code - 0xe0), at)?),
        0x3b | 0x3a => V::List(until_end(at)?),
        0x66..=0x7e => {
            let flat = items(2 * usize::from(code - 0x66), at)?;
            V::Dict(flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect())
        }
        0x3c => {
            let flat = until_end(at)?;
            if flat.len() % 2 != 0 {
                return Err(Bad::Malformed);
            }
            V::Dict(flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect())
        }
        _ => return Err(Bad::Malformed),
    })
}

fn get<'a>(pairs: &'a [(V, V)], key: &str) -> Option<&'a V> {
    pairs.iter().find(|(k, _)| *k == s(key)).map(|(_, v)| v)
}

fn frame(pairs: Vec<(&str, V)>) -> Vec<u8> {
    let mut out = Vec::new();
    encode(&V::Dict(pairs.into_iter().map(|(k, v)| (s(k), v)).collect()), &mut out);
    out.extend_from_slice(TERMINATOR);
    out
}

/// `{"action": "connected"}`.
pub fn connected() -> Vec<u8> {
    frame(vec![("action", s("connected"))])
}

/// `{"action": "players", "players": [...]}`.
pub fn players(nicks: &[String]) -> Vec<u8> {
    frame(vec![("action", s("players")), ("players", V::List(nicks.iter().map(|n| s(n)).collect()))])
}

/// The frame for a line the toy would send a line client (user-list lines have none: a list is
/// one `players` frame).
pub fn frame_of_line(sh: &Shared, text: &str) -> Vec<u8> {
    let (word, rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut args = rest.splitn(2, ' ');
    let (a, b) = (args.next().unwrap_or(""), args.next());
    match word {
        "HELLO" => {
            let mut rest = rest.splitn(3, ' ');
            let (version, max_line, greeting) = (rest.next(), rest.next(), rest.next());
            let mut greeting = greeting.unwrap_or("").to_owned();
            if has(sh, Flaw::PsnTerminatorInGreeting) {
                greeting.push_str(" (frames end with \0---\0)");
            }
            frame(vec![
                ("action", s("hello")),
                ("version", s(version.unwrap_or(""))),
                ("max_line", V::Int(max_line.and_then(|l| l.parse().ok()).unwrap_or(0))),
                ("text", s(&greeting)),
            ])
        }
        "WELCOME" => frame(vec![("action", s("welcome")), ("nick", s(rest))]),
        "JOIN" => frame(vec![("action", s("join")), ("nick", s(rest))]),
        "MSG" => {
            let text = b.unwrap_or("");
            if has(sh, Flaw::PsnNoExpediteur) {
                frame(vec![("action", s("message")), ("message", s(text)), ("who", s(a))])
            } else if has(sh, Flaw::PsnKeysOutOfOrder) {
                frame(vec![("action", s("message")), ("who", s(a)), ("expediteur", s(a)), ("message", s(text))])
            } else {
                frame(vec![("action", s("message")), ("message", s(text)), ("who", s(a)), ("expediteur", s(a))])
            }
        }
        "LEAVE" => {
            let mut parts = rest.splitn(3, ' ');
            let (nick, cause, reason) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next());
            let mut pairs = vec![("action", s("leave")), ("nick", s(nick)), ("cause", s(cause))];
            if let Some(reason) = reason {
                pairs.push(("reason", s(reason)));
            }
            frame(pairs)
        }
        "PING" => frame(vec![("action", s("ping")), ("token", s(rest))]),
        "PONG" => frame(vec![("action", s("pong")), ("token", s(rest))]),
        "ERROR" => {
            let action = if has(sh, Flaw::PsnPlainError) { "error" } else { "minichat_error" };
            frame(vec![("action", s(action)), ("code", s(a)), ("text", s(b.unwrap_or(a)))])
        }
        "BYE" if rest.is_empty() => frame(vec![("action", s("bye"))]),
        "BYE" => frame(vec![("action", s("bye")), ("text", s(rest))]),
        _ => Vec::new(),
    }
}

/// The line a received payload stands for (R-PSN-4), or the `ERROR` it gets (`CODE text`,
/// R-PSN-5).
pub fn line_of_frame(sh: &Shared, payload: &[u8]) -> Result<String, String> {
    let value = decode(payload).map_err(|bad| match bad {
        Bad::NotUtf8 => "INVALID_UTF8 a string in the frame is not UTF-8".to_owned(),
        Bad::Malformed => "BAD_ARGUMENTS the frame is not rencode".to_owned(),
    })?;
    let bad = |what: &str| format!("BAD_ARGUMENTS {what}");
    let V::Dict(pairs) = value else { return Err(bad("a frame is a dict")) };
    let Some(V::Str(action)) = get(&pairs, "action") else { return Err(bad("a frame needs a string \"action\"")) };
    let action = String::from_utf8_lossy(action).into_owned();
    let text = |key: &str| match get(&pairs, key) {
        Some(V::Str(b)) => Ok(String::from_utf8_lossy(b).into_owned()),
        _ => Err(bad(&format!("\"{key}\" must be a string"))),
    };
    let known: &[&str] = match action.as_str() {
        "username" | "nickname" if !(action == "nickname" && has(sh, Flaw::PsnNicknameUnknown)) => {
            &["action", action.as_str()]
        }
        "message" => &["action", "message"],
        "users" => &["action"],
        "ping" | "pong" => &["action", "token"],
        "quit" => &["action", "reason"],
        _ => return Err(format!("UNKNOWN_COMMAND no action {action}")),
    };
    if has(sh, Flaw::PsnExtraKeysRefused) && pairs.iter().any(|(k, _)| !known.iter().any(|key| *k == s(key))) {
        return Err(bad("unexpected keys"));
    }
    Ok(match action.as_str() {
        "username" | "nickname" => format!("USER {}", text(&action)?),
        "message" => format!("MSG {}", text("message")?),
        "users" => "USERS".to_owned(),
        "ping" => format!("PING {}", text("token")?),
        "pong" => format!("PONG {}", text("token")?),
        _ => match get(&pairs, "reason") {
            Some(V::None) if has(sh, Flaw::PsnQuitReasonNone) => "QUIT None".to_owned(),
            None | Some(V::None) => "QUIT".to_owned(),
            Some(_) => format!("QUIT {}", text("reason")?),
        },
    })
}

/// Where the first terminator in `bytes` starts.
pub fn find_terminator(bytes: &[u8]) -> Option<usize> {
    bytes.windows(TERMINATOR.len()).position(|w| w == TERMINATOR)
}
