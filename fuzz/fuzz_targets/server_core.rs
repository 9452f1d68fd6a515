//! Arbitrary event sequences from several connections into the sans-IO server core:
//! `minichat_fuzz_checks::server_core`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minichat_fuzz_checks::server_core(data));
