//! Arbitrary text into the conformance suite's case-file parser:
//! `minichat_fuzz_checks::conformance_script`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minichat_fuzz_checks::conformance_script(data));
