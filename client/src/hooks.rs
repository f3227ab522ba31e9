//! Pause points that make crash and race tests deterministic.
//!
//! The library only names the points and calls [`pause`] at each. What a pause does is a hook
//! that a test build installs with [`install_pause_hook`]: the `cliauth_hooked` example (the
//! client under test of the conformance suite and of the client's own pause-point tests)
//! announces the point on stderr and waits for a release file. The shipped `cliauth` installs
//! no hook, so in it every pause point is one check of an empty cell and no test behaviour (or
//! its variable name) is in the binary, whatever features a workspace build unifies.

use std::sync::OnceLock;

/// After the credentials lock is acquired.
pub(crate) const AFTER_LOCK_ACQUIRED: &str = "after_lock_acquired";
/// Before new tokens are persisted.
pub(crate) const BEFORE_PERSIST: &str = "before_persist";
/// Between writing the temp file and renaming it into place.
pub(crate) const BETWEEN_WRITE_AND_RENAME: &str = "between_write_and_rename";

/// The hook every pause point calls; empty unless a test build installed one.
static PAUSE_HOOK: OnceLock<fn(&str)> = OnceLock::new();

/// Installs the function every pause point calls with its name (one of the constants above).
/// Returns `false`, and keeps the first hook, when a hook was installed before.
pub fn install_pause_hook(hook: fn(&str)) -> bool {
    PAUSE_HOOK.set(hook).is_ok()
}

/// Reaches pause point `point`: calls the installed hook, if any.
#[inline]
pub(crate) fn pause(point: &str) {
    if let Some(hook) = PAUSE_HOOK.get() {
        hook(point);
    }
}
