//! Interactive mode: a line editor at the bottom of the terminal, incoming items printed above it.
//!
//! The terminal is in raw mode and this type owns it: keys come from crossterm's
//! [`EventStream`] (an async stream, so the connection loop can wait on keys and the socket in
//! one `select!`), the line being typed is a [`tui_input::Input`] (editing keys, Unicode widths),
//! and printing an item is: clear the input row, print the item's lines, redraw the prompt and
//! the input. Incoming messages therefore never garble a half-written line.
//!
//! The input row never wraps: it scrolls sideways within the terminal's width, so "the input
//! row" is always exactly one row to clear. Characters that could drive the terminal are not
//! accepted into the input at all (R-CLIENT-3 applies to what we echo, too).

use std::future::poll_fn;
use std::io::{self, Stdout, Write};
use std::pin::Pin;

use crossterm::cursor::MoveToColumn;
use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::style::Print;
use crossterm::terminal::{self, BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate};
use crossterm::{QueueableCommand, queue};
use futures_core::Stream as _;
use tui_input::backend::crossterm::EventHandler;
use tui_input::{Input, InputRequest};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::connection::{UserInput, UserInterface};
use crate::display::Display;
use crate::neutralise::is_unsafe;
use crate::render;
use crate::session::Prompt;

/// The width assumed when the terminal does not report one.
const FALLBACK_WIDTH: u16 = 80;

/// The terminal as a [`UserInterface`]. Creating one enters raw mode; dropping it clears the
/// input row and restores the terminal.
pub struct Terminal {
    events: EventStream,
    input: Input,
    /// The prompt shown in front of the input, while the session takes input.
    prompt: Option<String>,
    width: u16,
    out: Stdout,
}

impl Terminal {
    /// Takes over the terminal (raw mode).
    pub fn enter() -> io::Result<Terminal> {
        terminal::enable_raw_mode()?;
        let width = terminal::size().map(|(cols, _)| cols).unwrap_or(0);
        Ok(Terminal {
            events: EventStream::new(),
            input: Input::default(),
            prompt: None,
            width: if width == 0 { FALLBACK_WIDTH } else { width },
            out: io::stdout(),
        })
    }

    /// Redraws the input row: prompt, the visible part of the input, cursor in place.
    fn draw_input(&mut self) -> io::Result<()> {
        queue!(self.out, MoveToColumn(0), Clear(ClearType::CurrentLine))?;
        if let Some(prompt) = &self.prompt {
            let width = usize::from(self.width);
            // Keep the prompt to half the row so there is always room to type.
            let prompt: String = prompt.chars().take((width / 2).max(1)).collect();
            let prompt_width = prompt.width();
            // One column is kept free for the cursor after the last character.
            let room = width.saturating_sub(prompt_width + 1).max(1);
            let scroll = self.input.visual_scroll(room);
            let mut visible = String::new();
            let mut column = 0;
            for ch in self.input.value().chars() {
                let ch_width = ch.width().unwrap_or(0);
                if column + ch_width > scroll + room {
                    break;
                }
                if column >= scroll {
                    visible.push(ch);
                }
                column += ch_width;
            }
            let cursor = prompt_width + self.input.visual_cursor().saturating_sub(scroll);
            queue!(self.out, Print(prompt), Print(visible), MoveToColumn(u16::try_from(cursor).unwrap_or(u16::MAX)))?;
        }
        self.out.flush()
    }
}

impl UserInterface for Terminal {
    async fn next_input(&mut self, prompt: Option<&Prompt>) -> io::Result<UserInput> {
        let prompt = prompt.map(render::prompt);
        if prompt != self.prompt {
            self.prompt = prompt;
            self.draw_input()?;
        }
        loop {
            let Some(event) = poll_fn(|cx| Pin::new(&mut self.events).poll_next(cx)).await else {
                return Ok(UserInput::End);
            };
            let event = event?;
            match &event {
                TermEvent::Key(key) if key.kind != KeyEventKind::Release => match (key.code, key.modifiers) {
                    (KeyCode::Enter, _) if self.prompt.is_some() => {
                        let line = self.input.value_and_reset();
                        self.draw_input()?;
                        return Ok(UserInput::Line(line));
                    }
                    (KeyCode::Char('c'), KeyModifiers::CONTROL) => return Ok(UserInput::End),
                    (KeyCode::Char('d'), KeyModifiers::CONTROL) if self.input.value().is_empty() => {
                        return Ok(UserInput::End);
                    }
                    (KeyCode::Char('d'), KeyModifiers::CONTROL) => {
                        self.input.handle(InputRequest::DeleteNextChar);
                    }
                    (KeyCode::Char(ch), _) if is_unsafe(ch) => {}
                    _ => {
                        self.input.handle_event(&event);
                    }
                },
                TermEvent::Resize(cols, _) => self.width = if *cols == 0 { FALLBACK_WIDTH } else { *cols },
                _ => continue,
            }
            self.draw_input()?;
        }
    }

    fn show(&mut self, display: &Display) -> io::Result<()> {
        let clock = crate::clock::now_hh_mm();
        // Terminals that support synchronized output show the new lines and the redrawn input
        // row at once; the others ignore the request.
        self.out.queue(BeginSynchronizedUpdate)?.queue(MoveToColumn(0))?.queue(Clear(ClearType::CurrentLine))?;
        for line in render::styled(display, &clock) {
            // Raw mode: a line feed does not return the carriage.
            write!(self.out, "{line}\r\n")?;
        }
        self.draw_input()?;
        self.out.queue(EndSynchronizedUpdate)?;
        self.out.flush()
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Best effort: leave the cursor at the start of an empty row in a cooked terminal.
        let _ = queue!(self.out, MoveToColumn(0), Clear(ClearType::CurrentLine));
        let _ = self.out.flush();
        let _ = terminal::disable_raw_mode();
    }
}
