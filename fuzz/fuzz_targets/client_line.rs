//! Arbitrary bytes into the client line parser, framed and as one `&str`:
//! `minichat_fuzz_checks::client_line` says what is checked.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minichat_fuzz_checks::client_line(data));
