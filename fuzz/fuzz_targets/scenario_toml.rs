//! Fuzz target: scenario TOML through the runner's public parser (read-only use).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let parsed =
            cliauth_conformance::Scenario::from_toml_str(text, std::path::Path::new("fuzz.toml"));
        std::hint::black_box(parsed.is_ok());
    }
});
