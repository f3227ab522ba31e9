//! Fuzz target: the mock server's configuration TOML (read-only use of its public parser).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        std::hint::black_box(cliauth_mock::Config::from_toml_str(text).is_ok());
    }
});
