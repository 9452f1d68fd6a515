//! The properties minichat's fuzz targets check, as plain functions of the fuzzer's input bytes.
//!
//! Each function takes the raw `&[u8]` libFuzzer hands a target and panics, with a message that
//! names the violated rule, when the code under test breaks a property. The fuzz targets in
//! `fuzz/fuzz_targets/` are one-line wrappers around these functions; this crate's tests replay
//! every committed corpus and regression file through the same functions on the stable toolchain.
//! Keeping the checks here, in a normal member of the main workspace, is what lets `cargo test`
//! catch a regression without cargo-fuzz, a nightly compiler or a sanitizer (`fuzz/README.md`).
//!
//! Inputs the functions cannot use (too short, or not decodable as the structured input a target
//! wants) are ignored, never reported: a fuzzer's input is anything.

mod client_view;
mod conformance_script;
mod framing;
mod lines;
mod podsixnet;
mod roundtrip;
mod server_core;
mod stream_plan;

pub use conformance_script::conformance_script;
pub use framing::framer;
pub use lines::{client_line, server_line};
pub use podsixnet::podsixnet_decode;
pub use roundtrip::roundtrip;
pub use server_core::server_core;

/// A check: the fuzz target of the same name calls it with each input.
pub type Check = fn(&[u8]);

/// Every target, by the name of its fuzz target, its corpus directory (`fuzz/corpus/<name>/`) and
/// its regression directory (`fuzz/regressions/<name>/`).
pub const TARGETS: &[(&str, Check)] = &[
    ("client_line", client_line),
    ("server_line", server_line),
    ("roundtrip", roundtrip),
    ("framer", framer),
    ("server_core", server_core),
    ("podsixnet_decode", podsixnet_decode),
    ("conformance_script", conformance_script),
];
