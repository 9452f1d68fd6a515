//! The reference server's human-readable texts: `HELLO`'s greeting and each `ERROR`'s explanation,
//! as messages; `wire` writes them in each client's form.
//!
//! SPEC.md lets a server word these freely (only the codes are normative); ours name the problem
//! and the fix. SPEC.md §17's transcripts quote some of them, and a test replays those transcripts
//! against the core, so edit both together.

use std::time::Duration;

use minichat_protocol::{ErrorCode, Limits, ServerMessage, Text};

use super::timers::TimerKind;

pub const GREETING: &str = "welcome to minichat; register with: USER <nick>";
/// The greeting for PodSixNet programs, which register with a dict, not a line (SPEC.md §16).
pub const PODSIXNET_GREETING: &str =
    "welcome to minichat; register with {\"action\": \"username\", \"username\": <nick>}";

/// `ERROR <code> <text>`.
pub fn error(code: ErrorCode, text: &str) -> ServerMessage {
    // Every text below is non-empty and free of control characters; the only variable parts
    // are nicks, numbers and at most 32 bytes of an already-validated command word.
    let text = Text::new(text).unwrap_or_else(|_| Text::new(code.as_str()).expect("codes are valid text"));
    ServerMessage::Error { code, text }
}

pub fn hello(limits: Limits) -> ServerMessage {
    ServerMessage::hello(limits, Text::new(GREETING).expect("the greeting is valid text"))
}

pub fn podsixnet_hello(limits: Limits) -> ServerMessage {
    ServerMessage::hello(limits, Text::new(PODSIXNET_GREETING).expect("the greeting is valid text"))
}

pub fn nick_in_use(nick: &str) -> ServerMessage {
    error(ErrorCode::NickInUse, &format!("the nick {nick} is taken; choose another"))
}

pub fn invalid_nick() -> ServerMessage {
    error(ErrorCode::InvalidNick, "a nick is 1-32 letters, digits, _ or -, starting with a letter or _")
}

pub fn not_registered() -> ServerMessage {
    error(ErrorCode::NotRegistered, "register first with: USER <nick>")
}

pub fn already_registered(nick: &str) -> ServerMessage {
    error(ErrorCode::AlreadyRegistered, &format!("you are already registered as {nick}"))
}

/// `word` is the client's command word: echo at most 32 bytes of it so the reply stays short.
pub fn unknown_command(word: &str) -> ServerMessage {
    let mut end = word.len().min(32);
    while !word.is_char_boundary(end) {
        end -= 1;
    }
    let shown = if end < word.len() { format!("{}...", &word[..end]) } else { word.to_owned() };
    error(ErrorCode::UnknownCommand, &format!("unknown command {shown}; commands: USER MSG USERS PING PONG QUIT"))
}

/// `word` is the command whose arguments were wrong, as the client spelled it.
pub fn bad_arguments(word: &str) -> ServerMessage {
    let usage = match word.to_ascii_uppercase().as_str() {
        "USER" => "usage: USER <nick>",
        "USERS" => "USERS takes no arguments",
        "PING" => "usage: PING <token> (1-32 visible ASCII characters)",
        "PONG" => "usage: PONG <token> (1-32 visible ASCII characters)",
        _ => "the arguments do not fit the command",
    };
    error(ErrorCode::BadArguments, usage)
}

pub fn empty_message() -> ServerMessage {
    error(ErrorCode::EmptyMessage, "a message needs some text: MSG <text>")
}

pub fn text_too_long(max: usize) -> ServerMessage {
    error(ErrorCode::TextTooLong, &format!("a message or reason is at most {max} bytes; nothing was sent"))
}

pub fn line_too_long(limits: Limits) -> ServerMessage {
    error(ErrorCode::LineTooLong, &format!("a line is at most {} bytes; this one was discarded", limits.max_line()))
}

pub fn invalid_utf8() -> ServerMessage {
    error(ErrorCode::InvalidUtf8, "a line must be valid UTF-8; this one was discarded")
}

pub fn control_character(offset: usize) -> ServerMessage {
    error(ErrorCode::ControlCharacter, &format!("control character at byte {offset}; the line was discarded"))
}

pub fn flood(rate: u32) -> ServerMessage {
    error(ErrorCode::Flood, &format!("you are sending too fast; your lines are now delayed to {rate} per second"))
}

pub fn server_full(max: usize) -> ServerMessage {
    error(ErrorCode::ServerFull, &format!("the server is full ({max} connections); try again later"))
}

pub fn too_many_connections(max: usize) -> ServerMessage {
    error(ErrorCode::TooManyConnections, &format!("too many connections from your address (at most {max})"))
}

pub fn slow_consumer(max_queue: usize) -> ServerMessage {
    error(
        ErrorCode::SlowConsumer,
        &format!("you are not reading fast enough (more than {max_queue} bytes waiting); disconnected"),
    )
}

pub fn timeout(kind: TimerKind, after: Duration) -> ServerMessage {
    let secs = humanize(after);
    let text = match kind {
        TimerKind::Register => format!("no USER within {secs}"),
        TimerKind::Line => format!("line not finished within {secs}"),
        _ => format!("no reply to PING within {secs}"),
    };
    error(ErrorCode::Timeout, &text)
}

pub fn shutting_down() -> ServerMessage {
    error(ErrorCode::ShuttingDown, "the server is shutting down")
}

pub fn bye() -> ServerMessage {
    ServerMessage::Bye(None)
}

/// `30 s`, `1.5 s`, `250 ms`.
fn humanize(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minichat_protocol::parse_server_line;

    #[test]
    fn every_reply_is_a_valid_server_line() {
        let long_word = "é".repeat(100);
        let replies = [
            hello(Limits::DEFAULT),
            nick_in_use("Bob"),
            invalid_nick(),
            not_registered(),
            already_registered("bob"),
            unknown_command("HELP"),
            unknown_command(&long_word),
            bad_arguments("users"),
            empty_message(),
            text_too_long(960),
            line_too_long(Limits::DEFAULT),
            invalid_utf8(),
            control_character(3),
            flood(10),
            server_full(1024),
            too_many_connections(64),
            slow_consumer(262144),
            timeout(TimerKind::Register, Duration::from_secs(30)),
            timeout(TimerKind::Line, Duration::from_millis(1500)),
            timeout(TimerKind::PingReply, Duration::from_millis(200)),
            shutting_down(),
            bye(),
        ];
        for reply in replies {
            let reply = reply.to_bytes();
            let line = std::str::from_utf8(&reply).unwrap();
            assert!(line.ends_with('\n') && line.len() <= 128, "{line:?}");
            parse_server_line(&line[..line.len() - 1]).unwrap_or_else(|e| panic!("{line:?}: {e}"));
        }
    }
}
