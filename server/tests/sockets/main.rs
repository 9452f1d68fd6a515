//! The reference server over real loopback sockets: the Tokio adapter (`net`) and the binary.
//!
//! Every test starts its own server on `127.0.0.1:0` with the limits it does not exercise
//! lifted, talks to it with blocking std sockets, and bounds every wait by [`support::WAIT`].
//! Nothing sleeps to synchronise: tests read until an expected line, or use a `PING`/`PONG`
//! barrier (R-ORDER-6).

mod support;

mod binary;
mod chat;
mod limits;
mod lines;
mod shutdown;
mod timeouts;
