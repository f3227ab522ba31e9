//! Test-only pause points (`test-hooks` feature) that make crash and race tests deterministic.
//!
//! With `CLIAUTH_TEST_PAUSE=<point>` the process writes `cliauth-test-pause: <point>` to stderr
//! when it reaches the point and waits until `$CLIAUTH_HOME/release-<point>` exists.

/// After the credentials lock is acquired.
pub const AFTER_LOCK_ACQUIRED: &str = "after_lock_acquired";
/// Before new tokens are persisted.
pub const BEFORE_PERSIST: &str = "before_persist";
/// Between writing the temp file and renaming it into place.
pub const BETWEEN_WRITE_AND_RENAME: &str = "between_write_and_rename";

/// Stops at `point` when the `test-hooks` feature is on and `CLIAUTH_TEST_PAUSE` names it.
#[cfg(feature = "test-hooks")]
pub fn pause(point: &str) {
    use crate::config::{ENV_HOME, ENV_TEST_PAUSE, env_var};
    use std::io::Write;
    if env_var(ENV_TEST_PAUSE).as_deref() != Some(point) {
        return;
    }
    let release = env_var(ENV_HOME).map_or_else(
        || std::path::PathBuf::from(format!("release-{point}")),
        |h| std::path::Path::new(&h).join(format!("release-{point}")),
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

/// Without the `test-hooks` feature pause points compile to nothing.
#[cfg(not(feature = "test-hooks"))]
#[inline]
pub fn pause(_point: &str) {}
