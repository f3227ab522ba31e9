//! Fuzz target: `cliauth::fuzz_entry::token_response` (never panics on any input).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cliauth::fuzz_entry::token_response(data));
