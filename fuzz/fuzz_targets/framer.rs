//! A byte stream cut into arbitrary reads through the line framer: `minichat_fuzz_checks::framer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minichat_fuzz_checks::framer(data));
