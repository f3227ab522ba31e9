//! The session manager: token precedence, the hot path, the refresh transaction (lock,
//! re-read, decide, refresh, reconcile), login persistence and logout, the `/me` cache.
//!
//! Refresh outcomes are logged (debug) with these words: `adopted_newer`, `refreshed`,
//! `stale_rejection_preserved`, `rejection_cleared`, `lock_timeout_adopted`, `lock_timeout`.

use std::time::Duration;

use url::Url;

use crate::classify::{Error, Result};
use crate::clock::now_unix;
use crate::config::{Config, DEFAULT_CLIENT_ID, display_url, join_url};
use crate::flows::discovery::{self, ApiMeta, ServerMetadata};
use crate::flows::{OAuthClient, Tokens};
use crate::http::{Bearer, Http};
use crate::secret::Secret;
use crate::store::{
    LockGuard, LoginMethod, MeCache, SessionRecord, StaticToken, Store, StoredState,
};

/// Refresh this long before expiry (capped at half the token's lifetime, so a token that lives
/// shorter than the window is still used for half its life).
pub const REFRESH_SKEW_SECS: u64 = 60;
/// How long a cached `/api/v1/me` answer is used.
pub const ME_CACHE_TTL_SECS: u64 = 300;
/// Longest `retry_after` honoured for a benign refresh replay.
const MAX_REPLAY_WAIT_SECS: u64 = 10;

/// Where the token in effect came from, in precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
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
    pub fn name(self) -> &'static str {
        match self {
            TokenSource::Flag => "flag",
            TokenSource::Env => "env",
            TokenSource::StoredStatic => "stored_static",
            TokenSource::StoredSession => "stored_session",
        }
    }

    /// How people read it (`auth status`, `auth doctor`).
    pub fn label(self) -> &'static str {
        match self {
            TokenSource::Flag => "the --token flag",
            TokenSource::Env => "CLIAUTH_TOKEN",
            TokenSource::StoredStatic => "the stored personal access token",
            TokenSource::StoredSession => "the stored session",
        }
    }

    /// How errors name it.
    pub fn bearer_name(self) -> &'static str {
        match self {
            TokenSource::Flag => "--token",
            TokenSource::Env => "CLIAUTH_TOKEN",
            TokenSource::StoredStatic | TokenSource::StoredSession => "stored credentials",
        }
    }
}

/// A token ready to send.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The access token.
    pub token: Secret,
    /// Where it came from.
    pub source: TokenSource,
}

impl Resolved {
    /// As a bearer for the HTTP layer.
    pub fn bearer(&self) -> Bearer<'_> {
        Bearer {
            token: &self.token,
            source: self.source.bearer_name(),
        }
    }
}

/// How a refresh ended (for `auth refresh` and the logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// A new token was obtained and stored.
    Refreshed,
    /// A peer refreshed first; its tokens were used.
    AdoptedNewer,
    /// The server rejected a token that was no longer the stored one; the newer one was kept.
    StaleRejectionPreserved,
    /// The lock stayed busy but the stored token is valid.
    LockTimeoutAdopted,
}

impl RefreshOutcome {
    /// The log word.
    pub fn name(self) -> &'static str {
        match self {
            RefreshOutcome::Refreshed => "refreshed",
            RefreshOutcome::AdoptedNewer => "adopted_newer",
            RefreshOutcome::StaleRejectionPreserved => "stale_rejection_preserved",
            RefreshOutcome::LockTimeoutAdopted => "lock_timeout_adopted",
        }
    }
}

/// What `logout` did.
#[derive(Debug, Default)]
pub struct LogoutReport {
    /// A session was removed.
    pub removed_session: bool,
    /// A static token was removed.
    pub removed_static: bool,
    /// A static token was kept (no `--all`).
    pub kept_static: bool,
    /// `Some(true)` revoked, `Some(false)` the server has no revocation endpoint, `None` not tried.
    pub revoked: Option<bool>,
    /// Why revocation failed, when it did.
    pub revoke_error: Option<Error>,
}

/// The refresh window for a session: [`REFRESH_SKEW_SECS`], at most half the token's lifetime.
fn skew_for(s: &SessionRecord) -> u64 {
    match s.access_expires_at {
        Some(exp) => REFRESH_SKEW_SECS.min(exp.saturating_sub(s.updated_at) / 2),
        None => 0,
    }
}

/// True when the access token is valid for more than `margin` seconds (unknown expiry = valid).
pub fn access_valid(s: &SessionRecord, margin: u64) -> bool {
    access_valid_at(s, margin, now_unix())
}

/// [`access_valid`] at the Unix time `now`.
fn access_valid_at(s: &SessionRecord, margin: u64, now: u64) -> bool {
    s.access_expires_at
        .is_none_or(|exp| now.saturating_add(margin) < exp)
}

/// True when the hot path may use the stored access token at the Unix time `now`: it is valid
/// for longer than the session's refresh window ([`skew_for`]).
fn outside_refresh_window(s: &SessionRecord, now: u64) -> bool {
    access_valid_at(s, skew_for(s), now)
}

/// True when the session can still produce a token (valid access or a live refresh token).
pub fn session_usable(s: &SessionRecord) -> bool {
    access_valid(s, 0)
        || (s.refresh_token.is_some() && s.refresh_expires_at.is_none_or(|e| now_unix() < e))
}

/// An authorization server ready for OAuth calls.
#[derive(Debug)]
pub struct AuthServer {
    /// The HTTP client.
    pub http: Http,
    /// The discovered metadata.
    pub meta: ServerMetadata,
    /// `/api/v1/meta`, when the server has one.
    pub api_meta: Option<ApiMeta>,
}

impl AuthServer {
    /// An OAuth client for `client_id`.
    pub fn client(&self, client_id: &str) -> OAuthClient<'_> {
        OAuthClient {
            http: &self.http,
            meta: &self.meta,
            client_id: client_id.to_owned(),
        }
    }
}

/// The session manager of one invocation.
#[derive(Debug)]
pub struct Session {
    cfg: Config,
    store: Store,
    flag_token: Option<Secret>,
    http: std::sync::OnceLock<Http>,
}

impl Session {
    /// A session manager over `cfg`; `flag_token` is `--token`.
    pub fn new(cfg: Config, flag_token: Option<Secret>) -> Session {
        let store = Store::new(
            &cfg.credentials_dir,
            &cfg.server_url,
            cfg.passphrase.clone(),
            cfg.runtime_dir.clone(),
        );
        Session {
            cfg,
            store,
            flag_token,
            http: std::sync::OnceLock::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The credential store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The HTTP client (built on first use: the hot path never builds one).
    pub fn http(&self) -> Result<&Http> {
        if let Some(h) = self.http.get() {
            return Ok(h);
        }
        let h = Http::new(self.cfg.http_timeout)?;
        Ok(self.http.get_or_init(|| h))
    }

    /// The token from `--token` or `CLIAUTH_TOKEN`, which shadow stored credentials.
    pub fn override_token(&self) -> Option<Resolved> {
        if let Some(t) = &self.flag_token {
            return Some(Resolved {
                token: t.clone(),
                source: TokenSource::Flag,
            });
        }
        self.cfg.env_token.as_ref().map(|t| Resolved {
            token: t.clone(),
            source: TokenSource::Env,
        })
    }

    /// The hot path: a token without network, lock or refresh. `Ok(Err(record))` when the
    /// stored session needs a refresh; `Err(NotLoggedIn)` when nothing is stored.
    pub fn hot_token(&self) -> Result<std::result::Result<Resolved, SessionRecord>> {
        if let Some(r) = self.override_token() {
            return Ok(Ok(r));
        }
        let state = self.store.load(None)?.ok_or(Error::NotLoggedIn)?;
        if let Some(s) = state.static_token {
            return Ok(Ok(Resolved {
                token: s.token,
                source: TokenSource::StoredStatic,
            }));
        }
        let session = state.session.ok_or(Error::NotLoggedIn)?;
        if outside_refresh_window(&session, now_unix()) {
            tracing::debug!(event = "hot_path_hit", "hot_path_hit");
            return Ok(Ok(Resolved {
                token: session.access_token,
                source: TokenSource::StoredSession,
            }));
        }
        Ok(Err(session))
    }

    /// A valid access token, refreshing first when the stored one is (nearly) expired. A
    /// refresh that fails transiently falls back to a not-yet-expired access token.
    pub async fn access_token(&self) -> Result<Resolved> {
        match self.hot_token()? {
            Ok(r) => Ok(r),
            Err(observed) => self.refreshed_token(observed).await,
        }
    }

    /// The second half of [`Session::access_token`]: `observed` is the stored session as this
    /// process read it (the refresh decision compares against exactly this read).
    pub async fn refreshed_token(&self, observed: SessionRecord) -> Result<Resolved> {
        match self.refresh_transaction(&observed, false).await {
            Ok((s, _)) => Ok(Resolved {
                token: s.access_token,
                source: TokenSource::StoredSession,
            }),
            Err(e) if e.category().retryable() && access_valid(&observed, 0) => {
                tracing::warn!(error = %e, "refresh failed; using the stored access token until it expires");
                Ok(Resolved {
                    token: observed.access_token,
                    source: TokenSource::StoredSession,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// `auth refresh`: refreshes now (unless a peer just did).
    pub async fn refresh_now(&self) -> Result<(SessionRecord, RefreshOutcome)> {
        let state = self.store.load(None)?.ok_or(Error::NotLoggedIn)?;
        let observed = state.session.ok_or(Error::NotLoggedIn)?;
        self.refresh_transaction(&observed, true).await
    }

    /// Reads `/api/v1/meta` and discovers the authorization server.
    pub async fn auth_server(&self) -> Result<AuthServer> {
        let api_meta = self.api_meta().await?;
        self.auth_server_with(api_meta).await
    }

    /// Discovers the authorization server given an already fetched `/api/v1/meta`.
    pub async fn auth_server_with(&self, api_meta: Option<ApiMeta>) -> Result<AuthServer> {
        let http = self.http()?.clone();
        let issuer = discovery::choose_issuer(
            self.cfg.issuer.as_ref(),
            api_meta.as_ref(),
            &self.cfg.server_url,
        )?;
        let meta = discovery::discover(&http, &issuer).await?;
        Ok(AuthServer {
            http,
            meta,
            api_meta,
        })
    }

    /// The `/api/v1/meta` answer (`None` when the server has none).
    pub async fn api_meta(&self) -> Result<Option<ApiMeta>> {
        discovery::fetch_api_meta(self.http()?, &self.cfg.server_url).await
    }

    /// Takes the lock for a refresh; when it stays busy past the bound, a still-valid stored
    /// token is good enough (unless the person asked for a refresh explicitly).
    fn lock_or_adopt(&self, force: bool) -> Result<std::result::Result<LockGuard, SessionRecord>> {
        match self.store.lock(self.cfg.lock_timeout) {
            Ok(g) => Ok(Ok(g)),
            Err(e @ Error::LockTimeout { .. }) => {
                // Read without the lock: atomic renames make any file we see complete.
                let stored = self.store.load(None)?.and_then(|s| s.session);
                match stored {
                    Some(s) if !force && access_valid(&s, 0) => {
                        tracing::debug!(event = "lock_timeout_adopted", "lock_timeout_adopted");
                        Ok(Err(s))
                    }
                    _ => {
                        tracing::debug!(event = "lock_timeout", "lock_timeout");
                        Err(e)
                    }
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The refresh transaction: lock, re-read, decide, refresh, reconcile.
    async fn refresh_transaction(
        &self,
        observed: &SessionRecord,
        force: bool,
    ) -> Result<(SessionRecord, RefreshOutcome)> {
        let mut guard = match self.lock_or_adopt(force)? {
            Ok(g) => g,
            Err(adopted) => return Ok((adopted, RefreshOutcome::LockTimeoutAdopted)),
        };
        let mut state = self.store.load(Some(&guard))?.ok_or(Error::NotLoggedIn)?;
        // Logged out (or logged in as someone else) while we waited.
        let mut current = state.session.clone().ok_or(Error::NotLoggedIn)?;
        if !force && !current.access_token.same_as(&observed.access_token) {
            tracing::debug!(event = "adopted_newer", "adopted_newer");
            return Ok((current, RefreshOutcome::AdoptedNewer));
        }
        let Some(mut sent) = current.refresh_token.clone() else {
            return if access_valid(&current, 0) {
                Ok((current, RefreshOutcome::AdoptedNewer))
            } else {
                Err(Error::SessionExpired)
            };
        };
        let server = self.auth_server().await?;
        let client = server.client(&current.client_id);
        let mut replay_retried = false;
        loop {
            match client.refresh(&sent).await {
                Ok(tokens) => {
                    crate::hooks::pause(crate::hooks::BEFORE_PERSIST);
                    let new = refreshed_record(&current, tokens);
                    state.session = Some(new.clone());
                    self.store.save(&state, &guard)?;
                    tracing::debug!(event = "refreshed", "refreshed");
                    return Ok((new, RefreshOutcome::Refreshed));
                }
                Err(Error::OAuth { body, .. }) if body.error == "invalid_grant" => {
                    let Some(mut latest) = self.store.load(Some(&guard))? else {
                        // Nothing is stored any more (removed outside the lock protocol).
                        tracing::debug!(event = "rejection_cleared", "rejection_cleared");
                        return Err(Error::RefreshRejected);
                    };
                    match latest.session.take() {
                        Some(s) if s.refresh_token.as_ref().is_some_and(|r| !r.same_as(&sent)) => {
                            tracing::debug!(
                                event = "stale_rejection_preserved",
                                "stale_rejection_preserved"
                            );
                            return Ok((s, RefreshOutcome::StaleRejectionPreserved));
                        }
                        _ => {
                            // The rejected token is still the stored one: the session is over.
                            // The static token and the registered client id stay.
                            self.store.save(&latest, &guard)?;
                            tracing::debug!(event = "rejection_cleared", "rejection_cleared");
                            return Err(Error::RefreshRejected);
                        }
                    }
                }
                Err(Error::OAuth { body, .. })
                    if body.error == "refresh_replay_benign_retry" && !replay_retried =>
                {
                    replay_retried = true;
                    // A peer's rotation of this token is in flight: let it persist (release the
                    // lock), wait as asked, then continue only with a newer stored token.
                    drop(guard);
                    let wait = body.retry_after.unwrap_or(1).min(MAX_REPLAY_WAIT_SECS);
                    tracing::debug!(
                        event = "refresh_replay_wait",
                        wait_s = wait,
                        "refresh_replay_wait"
                    );
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                    guard = self.store.lock(self.cfg.lock_timeout)?;
                    state = self.store.load(Some(&guard))?.ok_or(Error::NotLoggedIn)?;
                    current = state.session.clone().ok_or(Error::NotLoggedIn)?;
                    match current.refresh_token.clone() {
                        Some(newer) if !newer.same_as(&sent) => {
                            if access_valid(&current, 0) {
                                tracing::debug!(event = "adopted_newer", "adopted_newer");
                                return Ok((current, RefreshOutcome::AdoptedNewer));
                            }
                            sent = newer;
                        }
                        // Never send a spent refresh token twice.
                        _ => return Err(Error::RefreshInProgress),
                    }
                }
                Err(Error::OAuth { body, .. }) if body.error == "refresh_replay_benign_retry" => {
                    return Err(Error::RefreshInProgress);
                }
                // Transport failures, 5xx, anything else: the stored credentials stay intact.
                Err(e) => return Err(e),
            }
        }
    }

    /// The client id for a new login: configured, registered earlier, registered now (RFC 7591)
    /// when the server offers registration, else the default.
    pub async fn client_id_for_login(&self, server: &AuthServer) -> Result<String> {
        if let Some(c) = &self.cfg.client_id {
            return Ok(c.clone());
        }
        let state = self.load_for_update(None)?;
        if let Some(c) = state.registered_client_id {
            return Ok(c);
        }
        if server.meta.registration_endpoint.is_none() {
            return Ok(DEFAULT_CLIENT_ID.to_owned());
        }
        let id = crate::flows::register_client(&server.http, &server.meta).await?;
        let guard = self.store.lock(self.cfg.lock_timeout)?;
        let mut state = self.load_for_update(Some(&guard))?;
        state.server = display_url(&self.cfg.server_url);
        state.registered_client_id = Some(id.clone());
        self.store.save(&state, &guard)?;
        Ok(id)
    }

    /// Loads for a write; a corrupted file (already moved aside and reported) starts afresh.
    fn load_for_update(&self, guard: Option<&LockGuard>) -> Result<StoredState> {
        match self.store.load(guard) {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Ok(StoredState::default()),
            Err(e @ Error::Corrupted { .. }) => {
                eprintln!("warning: {e}");
                Ok(StoredState::default())
            }
            Err(e) => Err(e),
        }
    }

    /// Stores a new session under the lock; returns the replaced session's refresh token (for
    /// the caller to revoke now that the new one is safely stored).
    pub fn store_session(&self, record: SessionRecord) -> Result<Option<Secret>> {
        let guard = self.store.lock(self.cfg.lock_timeout)?;
        let mut state = self.load_for_update(Some(&guard))?;
        state.server = display_url(&self.cfg.server_url);
        let old = state.session.replace(record);
        self.store.save(&state, &guard)?;
        Ok(old.and_then(|o| o.refresh_token))
    }

    /// Stores a personal access token.
    pub fn store_static(&self, token: Secret, user: Option<String>) -> Result<()> {
        let guard = self.store.lock(self.cfg.lock_timeout)?;
        let mut state = self.load_for_update(Some(&guard))?;
        state.server = display_url(&self.cfg.server_url);
        state.static_token = Some(StaticToken {
            token,
            user,
            created_at: now_unix(),
        });
        self.store.save(&state, &guard)
    }

    /// Logs out: under the lock, removes the session (and with `all` the static token), then
    /// revokes the removed refresh token at the server (RFC 7009) when it can.
    pub async fn logout(&self, all: bool) -> Result<LogoutReport> {
        let mut report = LogoutReport::default();
        let removed = {
            let guard = self.store.lock(self.cfg.lock_timeout)?;
            let mut state = match self.store.load(Some(&guard)) {
                Ok(Some(s)) => s,
                Ok(None) => return Ok(report),
                Err(e @ Error::Corrupted { .. }) => {
                    eprintln!("warning: {e}");
                    return Ok(LogoutReport {
                        removed_session: true,
                        ..report
                    });
                }
                Err(e) => return Err(e),
            };
            let removed = state.session.take();
            report.removed_session = removed.is_some();
            if all {
                report.removed_static = state.static_token.take().is_some();
                state.registered_client_id = None;
            } else {
                report.kept_static = state.static_token.is_some();
            }
            self.store.save(&state, &guard)?;
            removed
        };
        if let Some(session) = removed {
            let token = session
                .refresh_token
                .as_ref()
                .map_or((&session.access_token, "access_token"), |r| {
                    (r, "refresh_token")
                });
            let revoked = async {
                let server = self.auth_server().await?;
                server
                    .client(&session.client_id)
                    .revoke(token.0, token.1)
                    .await
            }
            .await;
            match revoked {
                Ok(r) => report.revoked = Some(r),
                Err(e) => report.revoke_error = Some(e),
            }
        }
        Ok(report)
    }

    /// `/api/v1/me` with the session's cache (at most one call per TTL window across processes).
    pub async fn me(&self, resolved: Option<&Resolved>) -> Result<serde_json::Value> {
        if let Some(r) = resolved
            && r.source == TokenSource::StoredSession
            && let Some(s) = self.store.load(None)?.and_then(|s| s.session)
            && s.access_token.same_as(&r.token)
            && let Some(me) = s.me
            && now_unix() < me.fetched_at.saturating_add(ME_CACHE_TTL_SECS)
        {
            tracing::debug!(event = "me_cache_hit", "me_cache_hit");
            return Ok(me.body);
        }
        let url = join_url(&self.cfg.server_url, "/api/v1/me");
        let body: serde_json::Value = self
            .http()?
            .api_json(
                reqwest::Method::GET,
                &url,
                resolved.map(Resolved::bearer),
                None,
                "the /api/v1/me API",
            )
            .await?;
        if let Some(r) = resolved
            && r.source == TokenSource::StoredSession
        {
            self.cache_me(&r.token, &body);
        }
        Ok(body)
    }

    fn cache_me(&self, token: &Secret, body: &serde_json::Value) {
        let result = (|| -> Result<()> {
            let guard = self.store.lock(Duration::from_millis(500))?;
            let mut state = self.store.load(Some(&guard))?.ok_or(Error::NotLoggedIn)?;
            if let Some(s) = state.session.as_mut()
                && s.access_token.same_as(token)
            {
                s.me = Some(MeCache {
                    fetched_at: now_unix(),
                    body: body.clone(),
                });
                if s.user.is_none() {
                    s.user = body
                        .get("username")
                        .and_then(|u| u.as_str())
                        .map(str::to_owned);
                }
                self.store.save(&state, &guard)?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            // The cache only saves a request; the command already has its answer.
            tracing::debug!(error = %e, "could not cache /api/v1/me");
        }
    }

    /// The hosted API's URL for `path`.
    pub fn api_url(&self, path: &str) -> Url {
        join_url(&self.cfg.server_url, path)
    }
}

/// A session record for tokens from a new login.
pub fn new_record(
    tokens: Tokens,
    method: LoginMethod,
    client_id: &str,
    user: Option<String>,
) -> SessionRecord {
    SessionRecord {
        access_expires_at: tokens.access_expires_at(),
        refresh_expires_at: tokens.refresh_expires_at(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        method,
        user,
        client_id: client_id.to_owned(),
        updated_at: now_unix(),
        me: None,
    }
}

/// The record after a refresh: a refresh token the server did not rotate is kept.
fn refreshed_record(old: &SessionRecord, tokens: Tokens) -> SessionRecord {
    SessionRecord {
        access_expires_at: tokens.access_expires_at(),
        refresh_expires_at: tokens.refresh_expires_at().or(old.refresh_expires_at),
        refresh_token: tokens.refresh_token.or_else(|| old.refresh_token.clone()),
        access_token: tokens.access_token,
        method: old.method,
        user: old.user.clone(),
        client_id: old.client_id.clone(),
        updated_at: now_unix(),
        me: None,
    }
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

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
        s.refresh_token = has_refresh.then(|| Secret::new("refresh"));
        s.refresh_expires_at = refresh_in.and_then(|r| now.checked_add_signed(r));
        assert_eq!(session_usable(&s), usable);
    }

    /// A session stored at `T0` whose access token lives `lifetime` seconds (`None`: unknown).
    fn record(lifetime: Option<u64>) -> SessionRecord {
        SessionRecord {
            access_token: Secret::new("access"),
            refresh_token: Some(Secret::new("refresh")),
            access_expires_at: lifetime.map(|l| T0 + l),
            refresh_expires_at: None,
            method: LoginMethod::Password,
            user: None,
            client_id: DEFAULT_CLIENT_ID.to_owned(),
            updated_at: T0,
            me: None,
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
