//! Load mode (`conformance load`): how fast a minichat server delivers, and whether it still
//! delivers everything, once, in order, while loaded.
//!
//! N clients connect and register over the line protocol; once all are in the room, K of them send
//! M messages each, paced by a window of unacknowledged messages (closed by the sender's own copy,
//! SPEC.md R-MSG-1) or by a rate. Every text carries its sender, number and send time, so each of
//! the N × K × M deliveries is attributed and timed. The figures: deliveries per second, latency
//! percentiles, lost deliveries, duplicates, deliveries out of order (per sender, and across
//! clients on a sample, R-ORDER-2), disconnects with their last lines, and flood-control errors.
//!
//! - [`config`]: the parameters and their limits; [`cli`]: the command line and exit statuses.
//! - [`stamp`]: the text of a load message. [`pace`]: when a sender may send.
//! - [`receipts`]: what one client received; [`order`]: the cross-client order check;
//!   [`latency`]: the histogram.
//! - [`client`]: one client as a sans-IO state machine; [`connection`]: its Tokio task.
//! - [`run`]: the phases of a run; [`report`]: the figures, as text or JSON; [`cpu`]: the
//!   generator's own CPU time.

pub mod cli;
pub mod client;
pub mod config;
mod connection;
pub mod cpu;
pub mod latency;
pub mod order;
pub mod pace;
pub mod receipts;
pub mod report;
pub mod run;
pub mod stamp;

pub use config::{ConfigError, LoadParams, LoadPlan};
pub use report::{EXIT_COMPLETE, EXIT_INCOMPLETE, LoadReport};
pub use run::{LoadError, run};
