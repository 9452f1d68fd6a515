//! minichat's reference server.
//!
//! - [`core`]: the server as a sans-IO state machine — every rule of SPEC.md, no sockets, no clock.
//! - [`net`]: the thin Tokio adapter that feeds it real sockets and real time.
//! - [`Config`]: every limit and timeout, with the reference defaults.

pub mod config;
pub mod core;
pub mod net;

pub use config::{Config, ConfigError};
pub use net::{ServerHandle, spawn};
