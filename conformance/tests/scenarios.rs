//! The conformance suite: every file in `scenarios/` is one test (`harness = false`).
//! `CLIAUTH_CONFORMANCE_PROFILE=path` runs it against another client's profile.

use std::path::Path;

fn main() -> std::process::ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    cliauth_conformance::harness::main(&cliauth_conformance::harness::HarnessConfig {
        scenarios_dir: root.join("../scenarios"),
        default_profile: root.join("profiles/cliauth.toml"),
        client_bin: Some(env!("CARGO_BIN_EXE_cliauth-conformance-client").into()),
        base_dir: root.join(".."),
    })
}
