//! `minichat`, the reference client of the minichat protocol (SPEC.md), for people at a terminal
//! and for scripts.
//!
//! # Shape
//!
//! - [`session`]: the whole client as a sans-IO state machine. Events in (bytes from the server,
//!   a typed line, end of input, the connection closing), actions out (a [`ClientMessage`] to
//!   send, a [`Display`] to show, an [`ExitStatus`]). No sockets, no terminal, no clock: every
//!   behaviour is tested there.
//! - [`command`]: what a typed line means (`/users`, `/quit`, `//text`, …).
//! - [`display`] and [`render`]: what to show, typed; and its wording, once, in two
//!   presentations — plain lines for pipes, styled lines with `HH:MM` for terminals.
//! - [`neutralise`]: terminal safety for everything received (R-CLIENT-3).
//! - [`connection`]: the Tokio glue, one `select!` loop over the socket, the user interface and
//!   the `BYE` timer.
//! - [`wire`] and [`podsixnet`]: lines or PodSixNet frames (`--podsixnet`, SPEC.md §16). The
//!   session is the same over both; the PodSixNet edge turns frames into the messages it knows.
//! - [`terminal`] and [`pipe`]: the two user interfaces.
//!
//! # Why crossterm and tui-input for the terminal
//!
//! Incoming messages must appear above the line being typed without garbling it, and the client
//! must be able to stop at any moment — when the server says `BYE` or the connection drops —
//! with the terminal restored. The usual readline crates (rustyline, reedline) run a *blocking*
//! `readline()` that owns the terminal until the user presses Enter; printing above it goes
//! through a side channel to that thread, and there is no way to make a pending `readline()`
//! return when the server closes the connection, so the process would have to exit with the
//! terminal still in raw mode or wait for a key press.
//!
//! crossterm (the standard terminal crate under ratatui) provides raw mode and an *async* key
//! [`EventStream`](crossterm::event::EventStream), so one task waits on keys and the socket in
//! the same `select!`: printing, editing and exiting are ordered by construction, with no
//! threads and no races. tui-input (a small, maintained crate built on crossterm events) does the
//! line editing — cursor movement, word deletion, grapheme-aware backspace, display widths — so
//! the client only draws one row: clear it, print the new lines, redraw prompt and input. A full
//! ratatui inline viewport would add a layout engine for what is a single row.
//!
//! [`ClientMessage`]: minichat_protocol::ClientMessage
//! [`Display`]: display::Display
//! [`ExitStatus`]: exit::ExitStatus

pub mod clock;
pub mod command;
pub mod connection;
pub mod display;
pub mod exit;
pub mod neutralise;
pub mod pipe;
pub mod podsixnet;
pub mod render;
pub mod session;
pub mod terminal;
pub mod wire;

pub use display::Display;
pub use exit::ExitStatus;
pub use session::{Action, Event, Mode, Prompt, Session};
