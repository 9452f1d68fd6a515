//! Terminal safety (SPEC.md R-CLIENT-3): turning received text into text that cannot drive the
//! terminal.
//!
//! Everything another user writes ends up on this user's screen. A conforming server refuses
//! control characters (R-TRANS-8), but the client cannot rely on that, so before anything
//! received is parsed or printed, every character that a terminal would *act on* instead of
//! *show* is replaced by a visible spelling of itself:
//!
//! - C0 controls U+0000–U+001F and DEL become caret notation (`ESC` → `^[`, `BEL` → `^G`,
//!   `DEL` → `^?`), the form terminals and `cat -v` use;
//! - C1 controls U+0080–U+009F (`CSI` is U+009B) become `\u{9b}`;
//! - the bidirectional formatting characters — ALM U+061C, LRM/RLM U+200E–U+200F, the embeddings
//!   and overrides U+202A–U+202E and the isolates U+2066–U+2069 — become `\u{202e}` as well:
//!   they move no cursor, but they reorder what follows on the line, so a message could appear
//!   to say something else or hide who wrote what ("Trojan Source", CVE-2021-42574).
//!
//! The output is plain printable text, and applying the function twice changes nothing more.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` would be acted on by a terminal or reorder the line instead of being shown.
pub fn is_unsafe(c: char) -> bool {
    minichat_protocol::is_control(c) || is_bidi_control(c)
}

/// The bidirectional formatting characters that can reorder a line of text.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every unsafe character replaced by its visible spelling; borrowed when nothing had
/// to change, which is the case for everything a conforming server sends.
pub fn neutralise(s: &str) -> Cow<'_, str> {
    let Some(first) = s.find(is_unsafe) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len() + 8);
    out.push_str(&s[..first]);
    for c in s[first..].chars() {
        match c {
            '\u{0}'..='\u{1f}' => {
                out.push('^');
                out.push(char::from(c as u8 + 0x40));
            }
            '\u{7f}' => out.push_str("^?"),
            c if is_unsafe(c) => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_ordinary_text_untouched_and_borrowed() {
        for s in ["", "hello", "ça va ? — 你好 🎉", "tab-free\u{a0}text", "^[ already visible"] {
            assert!(matches!(neutralise(s), Cow::Borrowed(b) if b == s), "{s:?}");
        }
    }

    #[test]
    fn shows_c0_controls_and_del_in_caret_notation() {
        assert_eq!(neutralise("a\u{1b}[2Jb"), "a^[[2Jb");
        assert_eq!(neutralise("\u{0}\u{7}\t\r\n\u{7f}"), "^@^G^I^M^J^?");
    }

    #[test]
    fn shows_c1_controls_as_escapes() {
        assert_eq!(neutralise("x\u{9b}31mred"), "x\\u{9b}31mred");
        assert_eq!(neutralise("\u{85}\u{80}\u{9f}"), "\\u{85}\\u{80}\\u{9f}");
    }

    #[test]
    fn shows_every_bidi_override_and_isolate_as_an_escape() {
        for c in ['\u{061C}', '\u{200E}', '\u{200F}']
            .into_iter()
            .chain('\u{202A}'..='\u{202E}')
            .chain('\u{2066}'..='\u{2069}')
        {
            let shown = neutralise(&format!("a{c}b")).into_owned();
            assert_eq!(shown, format!("a\\u{{{:x}}}b", u32::from(c)));
        }
    }

    #[test]
    fn output_is_free_of_unsafe_characters_and_stable() {
        let hostile = "\u{1b}]0;pwned\u{7}\u{202e}txt.exe\u{2066}\u{9b}2J";
        let once = neutralise(hostile).into_owned();
        assert!(!once.chars().any(is_unsafe), "{once:?}");
        assert_eq!(neutralise(&once), once.as_str());
    }
}
