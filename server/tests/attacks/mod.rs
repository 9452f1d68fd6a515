//! The machinery of `tests/attacks.rs`: the server as a child process, honest and fresh clients,
//! the attackers, the measurements and the run every test shares.

pub mod botnet;
pub mod honest;
pub mod hostile;
pub mod measure;
pub mod process;
pub mod scale;
pub mod scenario;
