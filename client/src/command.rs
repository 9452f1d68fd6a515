//! What a line the user typed means: a message, or one of the client's commands.
//!
//! Commands start with `/`, so that a slip of the keyboard is never sent to everyone: any
//! `/word` the client does not know is refused locally. A message that really starts with `/`
//! is typed with the slash doubled (`//shrug` sends `/shrug`). The course this protocol comes
//! from ends a session with the bare word `quit`, so that word quits too.

/// The meaning of one typed line (its terminator already removed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    /// Send this text to everyone, exactly as typed (leading spaces included, SPEC.md §3).
    Say(&'a str),
    /// `/users`: ask the server who is here.
    Users,
    /// `/help`: list the commands.
    Help,
    /// `quit`, `/quit` or `/quit <reason>`: leave the room.
    Quit(Option<&'a str>),
    /// An empty line or one made only of spaces: nothing to send (R-MSG-2).
    Nothing,
    /// `/word …` where `word` is not a command; holds `/word`.
    Unknown(&'a str),
    /// A command that takes no arguments was given some; holds the command's name.
    TakesNoArguments(&'static str),
}

/// The commands, as `/help` lists them.
pub const COMMANDS: [(&str, &str); 5] = [
    ("<text>", "send a message to everyone"),
    ("//<text>", "send a message that starts with /"),
    ("/users", "list who is here"),
    ("/help", "show this help"),
    ("/quit [reason]", "leave (also: quit, Ctrl-D)"),
];

impl<'a> Command<'a> {
    /// Interprets a typed line.
    pub fn parse(line: &'a str) -> Command<'a> {
        if line.trim() == "quit" {
            return Command::Quit(None);
        }
        if line.starts_with("//") {
            // The first slash escapes the second.
            return Command::Say(&line[1..]).or_nothing();
        }
        let Some(after_slash) = line.strip_prefix('/') else {
            return Command::Say(line).or_nothing();
        };
        let (word, args) = match after_slash.split_once(' ') {
            Some((word, args)) => (word, args.trim_matches(' ')),
            None => (after_slash, ""),
        };
        let named = |name: &str| word.eq_ignore_ascii_case(name);
        let no_arguments = |command, name| if args.is_empty() { command } else { Command::TakesNoArguments(name) };
        if named("quit") {
            Command::Quit(Some(args).filter(|a| !a.is_empty()))
        } else if named("users") {
            no_arguments(Command::Users, "/users")
        } else if named("help") {
            no_arguments(Command::Help, "/help")
        } else {
            Command::Unknown(&line[..1 + word.len()])
        }
    }

    /// Whether the line asks to leave; used where only leaving is possible (the nick prompt).
    pub fn is_quit(line: &str) -> Option<Option<&str>> {
        match Command::parse(line) {
            Command::Quit(reason) => Some(reason),
            _ => None,
        }
    }

    /// `Say` of an empty or all-space text is `Nothing`: such a text is not a message (R-MSG-2).
    fn or_nothing(self) -> Command<'a> {
        match self {
            Command::Say(text) if text.bytes().all(|b| b == b' ') => Command::Nothing,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_a_message_verbatim() {
        assert_eq!(Command::parse("hello"), Command::Say("hello"));
        assert_eq!(Command::parse("  indented "), Command::Say("  indented "));
        assert_eq!(Command::parse("quitting time"), Command::Say("quitting time"));
        assert_eq!(Command::parse("Quit"), Command::Say("Quit"));
    }

    #[test]
    fn double_slash_sends_a_message_starting_with_slash() {
        assert_eq!(Command::parse("//shrug"), Command::Say("/shrug"));
        assert_eq!(Command::parse("//"), Command::Say("/"));
        assert_eq!(Command::parse("///"), Command::Say("//"));
        assert_eq!(Command::parse("//quit"), Command::Say("/quit"));
    }

    #[test]
    fn empty_and_all_space_lines_are_nothing() {
        assert_eq!(Command::parse(""), Command::Nothing);
        assert_eq!(Command::parse("   "), Command::Nothing);
    }

    #[test]
    fn quit_word_and_slash_quit_leave() {
        assert_eq!(Command::parse("quit"), Command::Quit(None));
        assert_eq!(Command::parse(" quit "), Command::Quit(None));
        assert_eq!(Command::parse("/quit"), Command::Quit(None));
        assert_eq!(Command::parse("/QUIT"), Command::Quit(None));
        assert_eq!(Command::parse("/quit see you"), Command::Quit(Some("see you")));
        assert_eq!(Command::parse("/quit   "), Command::Quit(None));
    }

    #[test]
    fn users_and_help_take_no_arguments() {
        assert_eq!(Command::parse("/users"), Command::Users);
        assert_eq!(Command::parse("/Help"), Command::Help);
        assert_eq!(Command::parse("/users all"), Command::TakesNoArguments("/users"));
        assert_eq!(Command::parse("/help me"), Command::TakesNoArguments("/help"));
    }

    #[test]
    fn unknown_slash_words_are_never_messages() {
        assert_eq!(Command::parse("/nick bob"), Command::Unknown("/nick"));
        assert_eq!(Command::parse("/"), Command::Unknown("/"));
        assert_eq!(Command::parse("/ hello"), Command::Unknown("/"));
        assert_eq!(Command::parse("/me waves"), Command::Unknown("/me"));
    }
}
