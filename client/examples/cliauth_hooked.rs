//! The reference client with its pause points switched on: the client under test of the
//! conformance suite and of the client's own pause-point tests. Never shipped; the shipped
//! `cliauth` installs no pause hook.
//!
//! With `CLIAUTH_TEST_PAUSE=<point>` the process writes `cliauth-test-pause: <point>` to stderr
//! when it reaches the point and waits until `$CLIAUTH_HOME/release-<point>` exists.
//!
//! ```sh
//! cargo build -p cliauth --example cliauth_hooked
//! CLIAUTH_TEST_PAUSE=before_persist target/debug/examples/cliauth_hooked auth refresh
//! ```

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The pause point to stop at. Only this test build reads it, so the name is in no shipped
/// binary.
const ENV_TEST_PAUSE: &str = "CLIAUTH_TEST_PAUSE";
/// The client's state folder (the library's `config::ENV_HOME`), where release files appear.
const ENV_HOME: &str = "CLIAUTH_HOME";

fn main() -> ExitCode {
    if !cliauth::install_pause_hook(pause) {
        eprintln!("cliauth_hooked: a pause hook was already installed");
        return ExitCode::FAILURE;
    }
    cliauth::run_main()
}

/// An environment variable's value; empty counts as unset, as in the client.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Stops at `point` when `CLIAUTH_TEST_PAUSE` names it, until the release file exists.
fn pause(point: &str) {
    if env_var(ENV_TEST_PAUSE).as_deref() != Some(point) {
        return;
    }
    let release = env_var(ENV_HOME).map_or_else(
        || PathBuf::from(format!("release-{point}")),
        |h| Path::new(&h).join(format!("release-{point}")),
    );
    let mut err = std::io::stderr().lock();
    if let Err(e) = writeln!(err, "cliauth-test-pause: {point}").and_then(|()| err.flush()) {
        // The test reads this line; without it the test would wait forever, so stop loudly.
        panic!("cannot announce pause point {point}: {e}");
    }
    drop(err);
    // A test hook, not product behaviour: polling keeps it dependency-free.
    while !release.exists() {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
