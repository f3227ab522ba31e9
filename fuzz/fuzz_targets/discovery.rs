//! Fuzz target: `cliauth::fuzz_entry::discovery` (never panics on any input).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cliauth::fuzz_entry::discovery(data));
