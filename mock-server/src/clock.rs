//! The controllable clock: server time is real time plus an offset that tests can advance.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The largest lifetime, interval or clock step the mock accepts, in seconds: 100 years
/// (365.25 days each). Anything larger is a configuration error or a 400 naming the field, so
/// that every expiry (`now + lifetime`) fits a `u64` of milliseconds with room to spare and a
/// token's `exp` is never before its `iat`.
pub const MAX_SECONDS: u64 = 3_155_760_000;

/// The largest offset the clock may be advanced to in total, in milliseconds (`MAX_SECONDS`).
const MAX_OFFSET_MS: u64 = MAX_SECONDS * 1000;

/// A clock step that would take the server clock past [`MAX_SECONDS`] ahead of real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the clock may run at most {MAX_SECONDS} seconds (100 years) ahead of real time; it is {offset_ms} ms ahead and the step is {step_ms} ms"
)]
pub(crate) struct ClockRange {
    offset_ms: u64,
    step_ms: u64,
}

/// Milliseconds `secs` seconds after `now_ms`, saturating instead of wrapping (the inputs are
/// bounded by [`MAX_SECONDS`] and [`MAX_OFFSET_MS`], so saturation never happens in practice).
pub(crate) fn ms_after(now_ms: u64, secs: u64) -> u64 {
    now_ms.saturating_add(secs.saturating_mul(1000))
}

/// Server clock. Every expiry (codes, tokens, device codes, poll gaps) is measured with it.
#[derive(Debug, Default)]
pub(crate) struct Clock {
    offset_ms: AtomicU64,
}

impl Clock {
    /// Milliseconds since the Unix epoch, server time.
    pub(crate) fn now_ms(&self) -> u64 {
        let real = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
            // A u64 of milliseconds lasts 584 million years, so the truncation cannot happen.
            u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
        });
        real.saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Seconds since the Unix epoch, server time.
    pub(crate) fn now_secs(&self) -> u64 {
        self.now_ms() / 1000
    }

    /// Moves the clock forward, or leaves it alone and says why when the total offset would
    /// pass [`MAX_SECONDS`]. Returns the new offset in milliseconds.
    pub(crate) fn try_advance(&self, by: Duration) -> Result<u64, ClockRange> {
        let step_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let next = |offset: u64| {
            offset
                .checked_add(step_ms)
                .filter(|total| *total <= MAX_OFFSET_MS)
        };
        self.offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, next)
            .map(|before| before.saturating_add(step_ms))
            .map_err(|offset_ms| ClockRange { offset_ms, step_ms })
    }

    /// Moves the clock forward, stopping at [`MAX_SECONDS`] ahead of real time.
    pub(crate) fn advance_saturating(&self, by: Duration) {
        let step_ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        let mut current = self.offset_ms.load(Ordering::Relaxed);
        loop {
            let next = current.saturating_add(step_ms).min(MAX_OFFSET_MS);
            match self.offset_ms.compare_exchange_weak(
                current,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Puts the clock back to real time.
    pub(crate) fn reset(&self) {
        self.offset_ms.store(0, Ordering::Relaxed);
    }

    /// The current offset from real time.
    pub(crate) fn offset_ms(&self) -> u64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// RFC 3339 UTC time (`2026-12-23T15:32:55Z`) of milliseconds since the Unix epoch, the way
/// the dialects print expiry times.
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
    fn advancing_moves_server_time_forward() {
        let clock = Clock::default();
        let before = clock.now_ms();
        assert_eq!(clock.try_advance(Duration::from_secs(3600)), Ok(3_600_000));
        assert!(clock.now_ms() >= before + 3_600_000);
        assert!(clock.try_advance(Duration::from_secs(MAX_SECONDS)).is_err());
        assert_eq!(clock.offset_ms(), 3_600_000, "a refused step moves nothing");
        clock.advance_saturating(Duration::MAX);
        assert_eq!(clock.offset_ms(), MAX_OFFSET_MS);
        clock.reset();
        assert_eq!(clock.offset_ms(), 0);
    }
}
