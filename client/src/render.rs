//! The wording of everything the client shows, and its two presentations.
//!
//! [`lines`] words a [`Display`] once; [`plain`] is pipe mode's stable format (no prompts, no
//! escape codes, timestamps only on request) and [`styled`] is the terminal's (a local `HH:MM`
//! on everything from the server, your own messages in bold, problems in red). The clock is a
//! parameter: rendering reads no time.
//!
//! The plain format, one line per item (README.md documents it for scripts):
//!
//! ```text
//! <nick> text                  a message (from a PodSixNet server, the sender may be any name)
//! * you joined as NICK         registration succeeded
//! * present (N): a, b, c       the user list, sorted
//! * NICK joined                someone arrived
//! * NICK quit[: reason]        someone left with QUIT
//! * NICK lost connection       … whose connection ended
//! * NICK left (timed out)      … who timed out
//! * NICK was disconnected: too slow
//! * server said goodbye[: text]
//! ! …                          a problem: a server ERROR, a refused nick or line, a lost connection
//! ```

use crossterm::style::Stylize;
use minichat_protocol::{ErrorCode, FrameError, LeaveCause, PROTOCOL_VERSION, Text};

use crate::command::COMMANDS;
use crate::display::{Display, LostReason, NotSent};
use crate::neutralise::neutralise;
use crate::session::Prompt;

/// How a rendered line is presented on a terminal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A message the user sent.
    Own,
    /// A message someone else sent.
    Message,
    /// Something that happened in the room, or to the session.
    Event,
    /// Something went wrong or was refused.
    Problem,
    /// Help and other local information.
    Info,
}

/// One rendered line: terminal-safe text and how to present it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub tone: Tone,
    pub text: String,
}

/// The longest part of a refused nickname that is repeated back to the user, in characters.
const MAX_ECHOED_NICK_CHARS: usize = 40;

/// Words `display` as one or more lines, every one free of control characters (R-CLIENT-3).
pub fn lines(display: &Display) -> Vec<Line> {
    let line = |tone, text: String| vec![Line { tone, text: neutralise(&text).into_owned() }];
    match display {
        Display::UnknownVersion { version } => line(
            Tone::Problem,
            format!(
                "! warning: the server speaks {version}, this client speaks {PROTOCOL_VERSION}; \
                 lines it does not understand are ignored"
            ),
        ),
        Display::Welcome { nick } => line(Tone::Event, format!("* you joined as {nick}")),
        Display::Present { nicks, names, more } => {
            let total = nicks.len() + names.len() + *more;
            let names = nicks.iter().map(|n| n.as_str()).chain(names.iter().map(|n| n.as_str())).collect::<Vec<_>>();
            let names = names.join(", ");
            let more = if *more > 0 { format!(", and {more} more") } else { String::new() };
            line(Tone::Event, format!("* present ({total}): {names}{more}"))
        }
        Display::Message { from, text, own } => {
            line(if *own { Tone::Own } else { Tone::Message }, format!("<{from}> {text}"))
        }
        Display::NamedMessage { name, text } => line(Tone::Message, format!("<{name}> {text}")),
        Display::Join { nick } => line(Tone::Event, format!("* {nick} joined")),
        Display::Leave { nick, cause, reason } => {
            line(Tone::Event, format!("* {nick} {}", leave_wording(*cause, reason.as_ref())))
        }
        Display::NickRefused { nick, code, text } => {
            line(Tone::Problem, format!("! nick {nick} refused: {text} ({code})"))
        }
        Display::ServerError { code, text } => line(Tone::Problem, server_error(*code, text)),
        Display::LibraryError { text } => line(Tone::Problem, format!("! server error: {text}")),
        Display::Goodbye { text: None } => line(Tone::Event, "* server said goodbye".to_owned()),
        Display::Goodbye { text: Some(text) } => line(Tone::Event, format!("* server said goodbye: {text}")),
        Display::ConnectionLost { reason: LostReason::Closed } => {
            line(Tone::Problem, "! lost connection: the server closed it without saying goodbye".to_owned())
        }
        Display::ConnectionLost { reason: LostReason::Failed(error) } => {
            line(Tone::Problem, format!("! lost connection: {error}"))
        }
        Display::NoGoodbye => {
            line(Tone::Problem, "! the server did not answer QUIT; closing the connection anyway".to_owned())
        }
        Display::NickInvalid { typed, error } => {
            let mut shown: String = typed.chars().take(MAX_ECHOED_NICK_CHARS).collect();
            if shown.len() < typed.len() {
                shown.push('…');
            }
            line(Tone::Problem, format!("! cannot use the nick \"{shown}\": {error}"))
        }
        Display::NotSent(reason) => line(Tone::Problem, format!("! not sent: {}", not_sent(reason))),
        Display::UnknownCommand { command } => line(
            Tone::Problem,
            format!("! unknown command {command}; /help lists the commands (//text sends a message starting with /)"),
        ),
        Display::TakesNoArguments { command } => line(Tone::Problem, format!("! {command} takes no arguments")),
        Display::Help => std::iter::once("commands:".to_owned())
            .chain(COMMANDS.iter().map(|(usage, what)| format!("  {usage:<16}{what}")))
            .map(|text| Line { tone: Tone::Info, text })
            .collect(),
    }
}

/// Pipe mode's lines for `display`: the wording alone, or after `HH:MM ` when a clock is given
/// and the item comes from the server.
pub fn plain(display: &Display, clock: Option<&str>) -> Vec<String> {
    let stamp = clock.filter(|_| display.is_from_server());
    lines(display)
        .into_iter()
        .map(|line| match stamp {
            Some(clock) => format!("{clock} {}", line.text),
            None => line.text,
        })
        .collect()
}

/// The terminal's lines for `display`, with ANSI styling and `HH:MM` on items from the server.
pub fn styled(display: &Display, clock: &str) -> Vec<String> {
    let stamped = display.is_from_server();
    lines(display)
        .into_iter()
        .map(|line| {
            let text = match line.tone {
                Tone::Own => line.text.bold().to_string(),
                Tone::Message | Tone::Info => line.text,
                Tone::Event => line.text.cyan().to_string(),
                Tone::Problem => line.text.red().to_string(),
            };
            if stamped { format!("{} {text}", clock.dark_grey()) } else { text }
        })
        .collect()
}

/// The prompt in front of the input line.
pub fn prompt(prompt: &Prompt) -> String {
    match prompt {
        Prompt::Nick => "nickname: ".to_owned(),
        Prompt::Message { nick } => format!("{nick}> "),
    }
}

/// The human wording of a `LEAVE` cause (the closed list of R-LEAVE-2).
fn leave_wording(cause: LeaveCause, reason: Option<&Text>) -> String {
    match (cause, reason) {
        (LeaveCause::Quit, None) => "quit".to_owned(),
        (LeaveCause::Quit, Some(reason)) => format!("quit: {reason}"),
        // Only QUIT carries the user's own words (R-LEAVE-2); text after another cause does not
        // conform and is not shown.
        (LeaveCause::Lost, _) => "lost connection".to_owned(),
        (LeaveCause::Timeout, _) => "left (timed out)".to_owned(),
        (LeaveCause::Slow, _) => "was disconnected: too slow".to_owned(),
    }
}

fn server_error(code: ErrorCode, text: &Text) -> String {
    format!("! server error: {text} ({code})")
}

fn not_sent(reason: &NotSent) -> String {
    match reason {
        NotSent::TooLong { len, max } => {
            format!("the message is {len} bytes, and this server accepts at most {max} bytes")
        }
        NotSent::ControlCharacter { ch } => {
            format!("the message contains the control character {}, which no server accepts", ch.escape_unicode())
        }
        NotSent::Unreadable(FrameError::LineTooLong { max }) => {
            format!("the input line is longer than {max} bytes")
        }
        NotSent::Unreadable(FrameError::InvalidUtf8 { offset }) => {
            format!("the input line is not valid UTF-8 (first bad byte at offset {offset})")
        }
        NotSent::Unframeable(error) => {
            format!("the PodSixNet server would cut this message in the wrong place ({error})")
        }
    }
}

#[cfg(test)]
mod tests {
    use minichat_protocol::{Nick, Token};

    use super::*;

    fn nick(s: &str) -> Nick {
        Nick::new(s).unwrap()
    }

    fn text(s: &str) -> Text {
        Text::new(s).unwrap()
    }

    fn one(display: Display) -> String {
        let mut lines = plain(&display, None);
        assert_eq!(lines.len(), 1, "{lines:?}");
        lines.remove(0)
    }

    #[test]
    fn messages_read_nick_then_text() {
        assert_eq!(
            one(Display::Message { from: nick("bob"), text: text(" hi  there"), own: false }),
            "<bob>  hi  there"
        );
    }

    #[test]
    fn each_leave_cause_has_its_own_wording() {
        let leave =
            |cause, reason: Option<&str>| one(Display::Leave { nick: nick("bob"), cause, reason: reason.map(text) });
        assert_eq!(leave(LeaveCause::Quit, None), "* bob quit");
        assert_eq!(leave(LeaveCause::Quit, Some("see you")), "* bob quit: see you");
        assert_eq!(leave(LeaveCause::Lost, None), "* bob lost connection");
        assert_eq!(leave(LeaveCause::Timeout, None), "* bob left (timed out)");
        assert_eq!(leave(LeaveCause::Slow, None), "* bob was disconnected: too slow");
    }

    #[test]
    fn a_reason_after_a_server_cause_cannot_impersonate_a_quit() {
        let shown = one(Display::Leave { nick: nick("bob"), cause: LeaveCause::Timeout, reason: Some(text("quit")) });
        assert_eq!(shown, "* bob left (timed out)");
    }

    #[test]
    fn user_list_names_count_and_overflow() {
        let present = Display::Present { nicks: vec![nick("alice"), nick("Bob")], names: vec![], more: 0 };
        assert_eq!(one(present), "* present (2): alice, Bob");
        let overflow = Display::Present { nicks: vec![nick("a")], names: vec![], more: 3 };
        assert_eq!(one(overflow), "* present (4): a, and 3 more");
    }

    #[test]
    fn server_errors_show_text_and_code() {
        let shown = one(Display::ServerError { code: ErrorCode::Flood, text: text("slow down") });
        assert_eq!(shown, "! server error: slow down (FLOOD)");
    }

    #[test]
    fn timestamps_only_on_request_and_only_on_server_items() {
        let message = Display::Message { from: nick("bob"), text: text("hi"), own: false };
        assert_eq!(plain(&message, Some("09:05")), ["09:05 <bob> hi"]);
        assert_eq!(plain(&Display::Help, Some("09:05"))[0], "commands:");
    }

    #[test]
    fn plain_output_never_contains_escape_codes() {
        let hostile = Display::UnknownCommand { command: "/\u{1b}]0;owned\u{7}".to_owned() };
        let shown = one(hostile);
        assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'), "{shown:?}");
        assert!(shown.contains("/^[]0;owned^G"), "{shown:?}");
        let nick_error =
            Display::NickInvalid { typed: "a\u{202e}b".to_owned(), error: Nick::new("a\u{202e}b").unwrap_err() };
        assert!(!one(nick_error).contains('\u{202e}'));
    }

    #[test]
    fn a_refused_nick_is_echoed_only_in_part() {
        let typed = "x".repeat(1000);
        let shown = one(Display::NickInvalid { typed: typed.clone(), error: Nick::new(&typed).unwrap_err() });
        assert!(shown.contains(&format!("\"{}…\"", "x".repeat(MAX_ECHOED_NICK_CHARS))), "{shown}");
    }

    #[test]
    fn own_messages_are_bold_on_the_terminal_and_others_not() {
        let own = Display::Message { from: nick("me"), text: text("hi"), own: true };
        let other = Display::Message { from: nick("bob"), text: text("hi"), own: false };
        assert!(styled(&own, "10:00")[0].contains("\u{1b}[1m"));
        assert!(!styled(&other, "10:00")[0].contains("\u{1b}[1m"));
        assert!(styled(&other, "10:00")[0].contains("10:00"));
    }

    #[test]
    fn help_lists_every_command() {
        let help = plain(&Display::Help, None);
        for (usage, _) in COMMANDS {
            assert!(help.iter().any(|l| l.contains(usage)), "{usage} missing from {help:?}");
        }
    }

    #[test]
    fn unknown_version_warning_names_both_versions() {
        let shown = one(Display::UnknownVersion { version: Token::new("minichat/2").unwrap() });
        assert!(shown.contains("minichat/2") && shown.contains("minichat/1"), "{shown}");
    }
}
