//! Product dialects: the same engine under another product's paths and response shapes.
//!
//! A dialect is a thin mapping (paths, client id, field names, status conventions) onto the
//! engine in `oauth/`, `model` and `hosted`: rotation, device scripts, rules, holds, the clock
//! and the journal are the engine's own. The shapes follow `../shared/SEED-CLIENTS.md` §4.

pub(crate) mod cliauth;
pub(crate) mod skillmeat;
pub(crate) mod spec_kitty;

use crate::config::Dialect;

/// The cliauth path a dialect path stands for, so that a rule written for cliauth's paths
/// (`/api/v1/ingress`, `/oauth/device_authorization`) matches the dialect's equivalent and the
/// journal can be counted the same way. `None` when the path is cliauth's own or has no twin.
pub(crate) fn canonical_path(dialect: Dialect, path: &str) -> Option<&'static str> {
    match (dialect, path) {
        (Dialect::SpecKitty, "/oauth/device") | (Dialect::Skillmeat, "/oauth/device/authorize") => {
            Some("/oauth/device_authorization")
        }
        (Dialect::SpecKitty, "/api/v1/events/batch/") => Some("/api/v1/ingress"),
        (Dialect::SpecKitty, "/api/v1/session-status") => Some("/api/v1/session"),
        (Dialect::Skillmeat, "/api/v1/auth/me") => Some("/api/v1/me"),
        _ => None,
    }
}

/// The session id of a token family, as spec-kitty's `session_id` (not a secret: it names
/// the session, it does not grant anything).
pub(crate) fn session_id(family: u64) -> String {
    format!("sess_{family:08}")
}

/// RFC 3339 UTC time (`2026-12-23T15:32:55Z`) of milliseconds since the Unix epoch.
pub(crate) fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_797_954_775_000), "2026-12-22T15:52:55Z");
    }

    #[test]
    fn only_dialect_paths_have_a_canonical_twin() {
        assert_eq!(
            canonical_path(Dialect::SpecKitty, "/oauth/device"),
            Some("/oauth/device_authorization")
        );
        assert_eq!(canonical_path(Dialect::Cliauth, "/oauth/device"), None);
        assert_eq!(canonical_path(Dialect::Skillmeat, "/oauth/token"), None);
    }
}
