//! The conformance suite: every file in `scenarios/` is one test (`harness = false`).
//! `CLIAUTH_CONFORMANCE_PROFILE=path` runs it against another client's profile.

use std::path::Path;

use cliauth_conformance::harness::HarnessConfig;
use cliauth_conformance::reference_client::ClientBin;

fn main() -> std::process::ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    cliauth_conformance::harness::main(&HarnessConfig {
        scenarios_dir: root.join("../scenarios"),
        default_profile: root.join("profiles/cliauth.toml"),
        client_bin: ClientBin::BuildReference,
        base_dir: root.join(".."),
    })
}
