//! Arbitrary valid messages serialize and parse back equal: `minichat_fuzz_checks::roundtrip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minichat_fuzz_checks::roundtrip(data));
