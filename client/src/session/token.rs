//! Which token is in effect and whether a stored one is still good: the precedence of token
//! sources and the validity rules (expiry, the refresh window) the hot path and the refresh
//! transaction decide by.

use crate::clock::now_unix;
use crate::http::Bearer;
use crate::protocol::AccessToken;
use crate::store::SessionRecord;

/// Refresh this long before expiry (capped at half the token's lifetime, so a token that lives
/// shorter than the window is still used for half its life).
pub(super) const REFRESH_SKEW_SECS: u64 = 60;

/// Where the token in effect came from, in precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenSource {
    /// `--token`.
    Flag,
    /// `CLIAUTH_TOKEN`.
    Env,
    /// A personal access token stored with `--with-token`.
    StoredStatic,
    /// The stored OAuth session.
    StoredSession,
}

impl TokenSource {
    /// The name used in `auth status --json`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            TokenSource::Flag => "flag",
            TokenSource::Env => "env",
            TokenSource::StoredStatic => "stored_static",
            TokenSource::StoredSession => "stored_session",
        }
    }

    /// How people read it (`auth status`, `auth doctor`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            TokenSource::Flag => "the --token flag",
            TokenSource::Env => "CLIAUTH_TOKEN",
            TokenSource::StoredStatic => "the stored personal access token",
            TokenSource::StoredSession => "the stored session",
        }
    }

    /// How errors name it.
    pub(crate) fn bearer_name(self) -> &'static str {
        match self {
            TokenSource::Flag => "--token",
            TokenSource::Env => "CLIAUTH_TOKEN",
            TokenSource::StoredStatic | TokenSource::StoredSession => "stored credentials",
        }
    }
}

/// A token ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The access token.
    pub token: AccessToken,
    /// Where it came from.
    pub source: TokenSource,
}

impl Resolved {
    /// As a bearer for the HTTP layer.
    pub(crate) fn bearer(&self) -> Bearer<'_> {
        Bearer {
            token: &self.token,
            source: self.source.bearer_name(),
        }
    }
}

/// The refresh window for a session: [`REFRESH_SKEW_SECS`], at most half the token's lifetime.
fn skew_for(s: &SessionRecord) -> u64 {
    match s.access_expires_at {
        Some(exp) => REFRESH_SKEW_SECS.min(exp.saturating_sub(s.updated_at) / 2),
        None => 0,
    }
}

/// True when the access token is valid for more than `margin` seconds (unknown expiry = valid).
pub(super) fn access_valid(s: &SessionRecord, margin: u64) -> bool {
    access_valid_at(s, margin, now_unix())
}

/// [`access_valid`] at the Unix time `now`.
fn access_valid_at(s: &SessionRecord, margin: u64, now: u64) -> bool {
    s.access_expires_at
        .is_none_or(|exp| now.saturating_add(margin) < exp)
}

/// True when the hot path may use the stored access token at the Unix time `now`: it is valid
/// for longer than the session's refresh window ([`skew_for`]).
pub(super) fn outside_refresh_window(s: &SessionRecord, now: u64) -> bool {
    access_valid_at(s, skew_for(s), now)
}

/// True when the session can still produce a token (valid access or a live refresh token).
pub(crate) fn session_usable(s: &SessionRecord) -> bool {
    access_valid(s, 0)
        || (s.refresh_token.is_some() && s.refresh_expires_at.is_none_or(|e| now_unix() < e))
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::config::DEFAULT_CLIENT_ID;
    use crate::protocol::RefreshToken;
    use crate::store::LoginMethod;

    /// A fixed "login time": the tests never read the clock.
    const T0: u64 = 1_800_000_000;

    /// `auth status` and the login early exit call a session usable while it can still produce
    /// a token: a valid access token, or a refresh token that has not expired.
    #[rstest]
    #[case::valid_access_no_refresh(3600, false, None, true)]
    #[case::expired_access_refresh_without_expiry(-60, true, None, true)]
    #[case::expired_access_live_refresh(-60, true, Some(3600), true)]
    #[case::expired_access_no_refresh(-60, false, None, false)]
    #[case::expired_access_expired_refresh(-60, true, Some(-60), false)]
    fn session_is_usable_while_it_can_produce_a_token(
        #[case] access_in: i64,
        #[case] has_refresh: bool,
        #[case] refresh_in: Option<i64>,
        #[case] usable: bool,
    ) {
        let now = now_unix();
        let mut s = record(None);
        s.access_expires_at = now.checked_add_signed(access_in);
        s.refresh_token = has_refresh.then(|| RefreshToken::new("refresh"));
        s.refresh_expires_at = refresh_in.and_then(|r| now.checked_add_signed(r));
        assert_eq!(session_usable(&s), usable);
    }

    /// A session stored at `T0` whose access token lives `lifetime` seconds (`None`: unknown).
    fn record(lifetime: Option<u64>) -> SessionRecord {
        SessionRecord {
            access_token: AccessToken::new("access"),
            refresh_token: Some(RefreshToken::new("refresh")),
            access_expires_at: lifetime.map(|l| T0 + l),
            refresh_expires_at: None,
            method: LoginMethod::Password,
            user: None,
            client_id: DEFAULT_CLIENT_ID.into(),
            updated_at: T0,
            me: None,
            auth_server: None,
            scope: None,
            subject: None,
            client_secret: None,
        }
    }

    #[rstest]
    #[case::hour(3600, 60)]
    #[case::two_windows(120, 60)]
    #[case::just_under_two_windows(119, 59)]
    #[case::one_window(60, 30)]
    #[case::odd_short(61, 30)]
    #[case::ten_seconds(10, 5)]
    #[case::one_second(1, 0)]
    #[case::already_expired_at_login(0, 0)]
    fn skew_is_the_window_capped_at_half_the_lifetime(
        #[case] lifetime: u64,
        #[case] expected: u64,
    ) {
        assert_eq!(skew_for(&record(Some(lifetime))), expected);
    }

    #[test]
    fn skew_is_zero_when_the_expiry_is_unknown() {
        assert_eq!(skew_for(&record(None)), 0);
    }

    /// (lifetime, seconds left, the hot path uses the stored token): a long-lived token is
    /// refreshed in its last 60 s, a short-lived one in the second half of its life.
    #[rstest]
    #[case::hour_fresh(3600, 3600, true)]
    #[case::hour_before_window(3600, 61, true)]
    #[case::hour_window_starts(3600, 60, false)]
    #[case::hour_inside_window(3600, 30, false)]
    #[case::hour_last_second(3600, 1, false)]
    #[case::hour_expired(3600, 0, false)]
    #[case::two_minutes_before_window(120, 61, true)]
    #[case::two_minutes_in_window(120, 60, false)]
    #[case::minute_first_half(60, 31, true)]
    #[case::minute_second_half(60, 30, false)]
    #[case::minute_inside(60, 10, false)]
    #[case::ten_seconds_first_half(10, 6, true)]
    #[case::ten_seconds_second_half(10, 5, false)]
    #[case::one_second_fresh(1, 1, true)]
    #[case::one_second_expired(1, 0, false)]
    fn hot_path_uses_the_stored_token_only_outside_the_refresh_window(
        #[case] lifetime: u64,
        #[case] left: u64,
        #[case] uses_stored: bool,
    ) {
        let now = T0 + lifetime - left;
        assert_eq!(
            outside_refresh_window(&record(Some(lifetime)), now),
            uses_stored,
            "lifetime {lifetime}s, {left}s left"
        );
    }

    #[test]
    fn unknown_expiry_is_always_outside_the_refresh_window() {
        assert!(outside_refresh_window(&record(None), u64::MAX));
    }
}
