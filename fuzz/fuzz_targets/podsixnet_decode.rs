//! Arbitrary bytes into the PodSixNet rencode decoder and `\0---\0` framer:
//! `minichat_fuzz_checks::podsixnet_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| minichat_fuzz_checks::podsixnet_decode(data));
