//! The real `minichat` binary at a (pseudo-)terminal, its output rendered by a terminal emulator
//! (vt100) so that the test asserts on the screen a person would see.

mod common;

use std::io::Read;
use std::process::Command;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Instant;

use common::{LIMIT, PipeClient, start_server};
use expectrl::Expect;
use expectrl::process::unix::WaitStatus;

const ROWS: u16 = 24;
const COLS: u16 = 80;

/// What the emulated terminal was told to do besides drawing text.
#[derive(Default)]
struct Obeyed {
    titles: Vec<Vec<u8>>,
    bells: usize,
}

impl vt100::Callbacks for Obeyed {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.titles.push(title.to_vec());
    }

    fn audible_bell(&mut self, _: &mut vt100::Screen) {
        self.bells += 1;
    }
}

/// `minichat` running in a pseudo-terminal, and the screen it has drawn so far.
struct Terminal {
    session: expectrl::session::OsSession,
    output: Receiver<Vec<u8>>,
    screen: vt100::Parser<Obeyed>,
    closed: bool,
}

impl Terminal {
    fn start(args: &[&str]) -> Terminal {
        let mut command = Command::new(env!("CARGO_BIN_EXE_minichat"));
        command.args(args).env_remove("RUST_LOG");
        let mut session = expectrl::Session::spawn(command).expect("minichat starts in a pty");
        session.get_process_mut().set_window_size(COLS, ROWS).unwrap();
        let mut pty = session.get_process().get_raw_handle().unwrap();
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            // The read fails (EIO) or ends once the program has exited and the pty is closed.
            while let Ok(n @ 1..) = pty.read(&mut buf) {
                if tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let size = |n| std::num::NonZeroU16::new(n).unwrap();
        let screen = vt100::Parser::new_with_callbacks(size(ROWS), size(COLS), 0, Obeyed::default());
        Terminal { session, output, screen, closed: false }
    }

    /// Types `keys` as a person would (Enter is `\r`).
    fn type_keys(&mut self, keys: &str) {
        self.session.send(keys).unwrap();
    }

    /// Feeds output to the screen until `ready` holds for it.
    fn wait_for(&mut self, what: &str, ready: impl Fn(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + LIMIT;
        while !ready(self.screen.screen()) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.screen.process(&bytes),
                Err(RecvTimeoutError::Timeout) => panic!("timed out waiting for {what}; screen:\n{}", self.dump()),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("minichat exited while waiting for {what}; screen:\n{}", self.dump())
                }
            }
        }
    }

    /// Waits until the program has exited and returns its exit code.
    fn exit_code(&mut self) -> i32 {
        let deadline = Instant::now() + LIMIT;
        while !self.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.screen.process(&bytes),
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
                Err(RecvTimeoutError::Timeout) => panic!("minichat did not exit; screen:\n{}", self.dump()),
            }
        }
        match self.session.get_process().wait().unwrap() {
            WaitStatus::Exited(_, code) => code,
            other => panic!("minichat ended with {other:?}"),
        }
    }

    fn dump(&self) -> String {
        rows(self.screen.screen()).join("\n")
    }
}

/// The screen's rows, trailing blanks removed.
fn rows(screen: &vt100::Screen) -> Vec<String> {
    screen.rows(0, COLS).map(|row| row.trim_end().to_owned()).collect()
}

/// The row the cursor is on: the input row.
fn input_row(screen: &vt100::Screen) -> String {
    rows(screen).swap_remove(usize::from(screen.cursor_position().0))
}

/// The row showing `text` after an `HH:MM ` stamp, if any.
fn stamped_row(screen: &vt100::Screen, text: &str) -> Option<u16> {
    rows(screen).iter().position(|row| is_stamped(row, text)).map(|i| u16::try_from(i).unwrap())
}

/// The rest of `row` after an `HH:MM ` stamp, if it starts with one.
fn after_clock(row: &str) -> Option<&str> {
    let b = row.as_bytes();
    let stamped = b.len() >= 6 && b[..2].iter().chain(&b[3..5]).all(u8::is_ascii_digit) && b[2] == b':' && b[5] == b' ';
    stamped.then(|| &row[6..])
}

fn is_stamped(row: &str, text: &str) -> bool {
    after_clock(row) == Some(text)
}

#[test]
fn messages_appear_above_a_half_written_line_which_stays_intact() {
    let server = start_server();
    let addr = server.local_addr().to_string();
    let mut bob = PipeClient::start("bob", &addr, &["--nick", "bob"]);
    bob.expect(&["* you joined as bob", "* present (1): bob"]);

    let mut term = Terminal::start(&[&addr]);
    term.wait_for("the nickname prompt", |s| input_row(s) == "nickname:");

    // A nick that breaks the rules is explained at once, and asked again.
    term.type_keys("9lives\r");
    term.wait_for("the local refusal", |s| {
        rows(s).iter().any(|r| r.starts_with("! cannot use the nick \"9lives\": a nick starts with"))
            && input_row(s) == "nickname:"
    });
    // A nick the server refuses is explained with the server's reason, and asked again.
    term.type_keys("BOB\r");
    term.wait_for("the server's refusal", |s| {
        rows(s).iter().any(|r| {
            after_clock(r).is_some_and(|t| t.starts_with("! nick BOB refused: ") && t.ends_with("(NICK_IN_USE)"))
        }) && input_row(s) == "nickname:"
    });
    term.type_keys("alice\r");
    term.wait_for("the room", |s| {
        stamped_row(s, "* you joined as alice").is_some()
            && stamped_row(s, "* present (2): alice, bob").is_some()
            && input_row(s) == "alice>"
    });
    bob.expect(&["* alice joined"]);

    // Half a line, then messages arrive while it is being typed.
    term.type_keys("half-writ");
    term.wait_for("the half-written line", |s| input_row(s) == "alice> half-writ");
    bob.send("hello alice");
    bob.send("are you there?");
    bob.expect(&["<bob> hello alice", "<bob> are you there?"]);
    term.wait_for("both messages above the intact half-written line", |s| {
        let (first, second) = (stamped_row(s, "<bob> hello alice"), stamped_row(s, "<bob> are you there?"));
        let input = s.cursor_position().0;
        matches!((first, second), (Some(a), Some(b)) if a < b && b < input) && input_row(s) == "alice> half-writ"
    });
    assert_eq!(term.screen.screen().cursor_position().1, 16, "the cursor is after the typed text");

    // Finishing the line sends it; our own message is shown in bold.
    term.type_keys("ten\r");
    bob.expect(&["<alice> half-written"]);
    term.wait_for("our own message", |s| stamped_row(s, "<alice> half-written").is_some() && input_row(s) == "alice>");
    let screen = term.screen.screen();
    let own = stamped_row(screen, "<alice> half-written").unwrap();
    assert!(screen.cell(own, 6).unwrap().bold(), "own messages are bold");
    let other = stamped_row(screen, "<bob> hello alice").unwrap();
    assert!(!screen.cell(other, 6).unwrap().bold(), "others' messages are not");

    term.type_keys("quit\r");
    assert_eq!(term.exit_code(), 0);
    bob.expect(&["* alice quit"]);
}

#[test]
fn hostile_escape_sequences_are_shown_not_obeyed() {
    let fake = common::FakeServer::start(|mut conn| {
        conn.register(1024);
        // Clear the screen, move home and set the title, then an RTL override: all must show as text.
        conn.send("MSG mallory \x1b[2J\x1b[H\x1b]0;pwned\x07\u{202e}olleh\n");
        assert_eq!(conn.line(), "QUIT");
        conn.send("BYE\n");
        conn.expect_close();
    });
    let mut term = Terminal::start(&[&fake.addr.to_string(), "--nick", "alice"]);
    term.wait_for("the message, neutralised", |s| {
        stamped_row(s, "<mallory> ^[[2J^[[H^[]0;pwned^G\\u{202e}olleh").is_some()
            && stamped_row(s, "* you joined as alice").is_some()
    });
    assert_eq!(term.screen.callbacks().titles, Vec::<Vec<u8>>::new(), "the window title is unchanged");
    assert_eq!(term.screen.callbacks().bells, 0, "no bell rang");
    // Ctrl-D on an empty line quits.
    term.type_keys("\x04");
    assert_eq!(term.exit_code(), 0);
    fake.join();
}
