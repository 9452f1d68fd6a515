//! Pipe mode: lines from standard input, plain lines to standard output.
//!
//! Used whenever standard input or output is not a terminal, so that `minichat` works in
//! scripts: no prompts, no escape codes, one line per item in the format of
//! [`crate::render`], timestamps only with `--timestamps`. Standard input is framed with the
//! protocol's own [`LineFramer`], so an input line is bounded like any other line (a line
//! longer than the largest text any server accepts is reported, not buffered), and a last line
//! without a newline is still sent.

use std::io::{self, Write};

use minichat_protocol::{Limits, LineFramer, MAX_MAX_LINE};
use tokio::io::AsyncReadExt;

use crate::connection::{UserInput, UserInterface};
use crate::display::Display;
use crate::render;
use crate::session::Prompt;

/// How much standard input is read at once.
const READ_CHUNK: usize = 16 * 1024;

/// Standard input and output as a [`UserInterface`].
pub struct Pipe {
    stdin: tokio::io::Stdin,
    framer: LineFramer,
    chunk: Box<[u8]>,
    /// The unconsumed part of `chunk` is `chunk[start..end]`.
    start: usize,
    end: usize,
    at_eof: bool,
    timestamps: bool,
}

impl Pipe {
    /// Pipe mode on this process's standard input and output; `timestamps` prefixes items from
    /// the server with the local time `HH:MM`.
    pub fn new(timestamps: bool) -> Pipe {
        let limits = Limits::new(MAX_MAX_LINE).expect("the largest line limit is valid");
        Pipe {
            stdin: tokio::io::stdin(),
            framer: LineFramer::new(limits),
            chunk: vec![0; READ_CHUNK].into_boxed_slice(),
            start: 0,
            end: 0,
            at_eof: false,
            timestamps,
        }
    }

    /// The next framed line of standard input, or `End`. Cancel-safe: all state lives in `self`
    /// and is updated only after each read completes.
    async fn next_line(&mut self) -> io::Result<UserInput> {
        loop {
            let mut unread = &self.chunk[self.start..self.end];
            let before = unread.len();
            let framed = self.framer.next_line(&mut unread).map(|line| line.map(str::to_owned));
            self.start += before - unread.len();
            match framed {
                Some(Ok(line)) => return Ok(UserInput::Line(line)),
                Some(Err(error)) => return Ok(UserInput::Unreadable(error)),
                None if self.at_eof => return Ok(UserInput::End),
                None => {}
            }
            let n = self.stdin.read(&mut self.chunk).await?;
            (self.start, self.end) = (0, n);
            if n == 0 {
                self.at_eof = true;
                if self.framer.has_partial_line() {
                    // A last line without a newline is still a line.
                    self.chunk[0] = b'\n';
                    self.end = 1;
                }
            }
        }
    }
}

impl UserInterface for Pipe {
    async fn next_input(&mut self, prompt: Option<&Prompt>) -> io::Result<UserInput> {
        if prompt.is_none() {
            // Nothing is read while the session takes no input, so lines wait in the pipe.
            return std::future::pending().await;
        }
        self.next_line().await
    }

    fn show(&mut self, display: &Display) -> io::Result<()> {
        let clock = self.timestamps.then(crate::clock::now_hh_mm);
        let mut stdout = io::stdout().lock();
        for line in render::plain(display, clock.as_deref()) {
            writeln!(stdout, "{line}")?;
        }
        stdout.flush()
    }
}
