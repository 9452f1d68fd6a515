//! minichat's conformance suite: scripted multi-client sessions, replayed against any server that
//! claims to speak SPEC.md, reporting case by case where it departs from the specification.
//!
//! - [`case`], [`syntax`], [`template`], [`expr`]: the case files (format in README.md) and what
//!   they parse into.
//! - [`catalog`]: the built-in cases and selections of them.
//! - [`spec`]: SPEC.md's requirements, so failures quote them and a test proves coverage.
//! - [`session`]: runs one case; [`connection`] is one of its TCP connections; [`observer`]
//!   holds the checks every received line passes; [`transcript`] records everything.
//! - [`podsixnet`]: PodSixNet connections (SPEC.md §16), and the profile that runs every case
//!   over PodSixNet.
//! - [`target`], [`spawn`]: the server under test and where it comes from.
//! - [`suite`], [`report`], [`outcome`]: running many cases and reporting them (text, JSON,
//!   JUnit XML).
//! - [`load`]: the load mode (`conformance load`), which measures a server's speed.
//!
//! The suite checks servers only: it never depends on the reference server, so it can judge it.

pub mod case;
pub mod catalog;
pub mod connection;
pub mod escape;
pub mod expr;
pub mod load;
pub mod observer;
pub mod outcome;
pub mod podsixnet;
pub mod report;
pub mod session;
pub mod spawn;
pub mod spec;
pub mod suite;
pub mod syntax;
pub mod target;
pub mod template;
pub mod transcript;

pub use case::{Case, Param};
pub use outcome::{CaseResult, Failure, Verdict};
pub use podsixnet::Profile;
pub use session::{DEFAULT_STEP_TIMEOUT, RunConfig, run_case};
pub use spec::Level;
pub use suite::{SuiteOptions, Summary, run_one, run_suite};
pub use target::{FixedServer, ServerControl, ServerParams, ServerSource, ServerUnderTest};
