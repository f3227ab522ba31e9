//! The wall clock, on the ground floor: the store, the flows and the session manager all read
//! Unix seconds from here, so none of them imports another for the time.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 if the system clock is before 1970).
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seconds until `at`, negative when past.
pub(crate) fn secs_until(at: u64) -> i64 {
    let now = now_unix();
    if at >= now {
        i64::try_from(at - now).map_or(i64::MAX, |v| v)
    } else {
        -i64::try_from(now - at).map_or(i64::MAX, |v| v)
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    /// `auth status` and `auth refresh` print these: positive ahead, negative behind, and the
    /// distance (not the sum or quotient of the two times). The clock is read on both sides.
    #[rstest]
    #[case::ahead(100)]
    #[case::behind(-100)]
    #[case::now(0)]
    fn secs_until_is_the_signed_distance_from_now(#[case] offset: i64) {
        let before = now_unix();
        let at = before.checked_add_signed(offset).unwrap();
        let got = secs_until(at);
        let elapsed = i64::try_from(now_unix() - before).unwrap();
        assert!(
            (offset - elapsed..=offset).contains(&got),
            "{got} for {offset} ({elapsed} s elapsed)"
        );
    }
}
