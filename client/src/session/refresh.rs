//! The refresh transaction: lock, re-read, decide, refresh, reconcile. One process refreshes;
//! its peers adopt the stored result. A spent refresh token is never sent twice, and a
//! rejection of a token that is no longer the stored one never ends the newer session.
//!
//! Outcomes are logged (debug) with these words: `adopted_newer`, `refreshed`,
//! `stale_rejection_preserved`, `rejection_cleared`, `lock_timeout_adopted`, `lock_timeout`.

use std::time::Duration;

use super::token::{Resolved, TokenSource, access_valid};
use super::{AuthServer, Session};
use crate::classify::{Error, Result};
use crate::clock::now_unix;
use crate::flows::Tokens;
use crate::metadata::ServerMetadata;
use crate::oauth_error::OAuthErrorCode;
use crate::store::{LockGuard, SessionRecord};

/// Longest `retry_after` honoured for a benign refresh replay.
const MAX_REPLAY_WAIT_SECS: u64 = 10;

/// How a refresh ended (for `auth refresh` and the logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshOutcome {
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
    pub(crate) fn name(self) -> &'static str {
        match self {
            RefreshOutcome::Refreshed => "refreshed",
            RefreshOutcome::AdoptedNewer => "adopted_newer",
            RefreshOutcome::StaleRejectionPreserved => "stale_rejection_preserved",
            RefreshOutcome::LockTimeoutAdopted => "lock_timeout_adopted",
        }
    }
}

/// How [`Session::lock_or_adopt`] ended.
enum Locked {
    /// The lock is ours.
    Held(LockGuard),
    /// The lock stayed busy, but this stored session is still valid.
    Adopted(Box<SessionRecord>),
}

impl Session {
    /// The second half of [`Session::access_token`]: `observed` is the stored session as this
    /// process read it (the refresh decision compares against exactly this read).
    pub(crate) async fn refreshed_token(&self, observed: SessionRecord) -> Result<Resolved> {
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
    pub(crate) async fn refresh_now(&self) -> Result<(SessionRecord, RefreshOutcome)> {
        let state = self.store.load(None)?.ok_or(Error::NotLoggedIn)?;
        let observed = state.session.ok_or(Error::NotLoggedIn)?;
        self.refresh_transaction(&observed, true).await
    }

    /// token is good enough (unless the person asked for a refresh explicitly).
    fn lock_or_adopt(&self, force: bool) -> Result<Locked> {
        match self.store.lock(self.cfg.lock_timeout) {
            Ok(g) => Ok(Locked::Held(g)),
            Err(e @ Error::LockTimeout { .. }) => {
                // Read without the lock: atomic renames make any file we see complete.
                let stored = self.store.load(None)?.and_then(|s| s.session);
                match stored {
                    Some(s) if !force && access_valid(&s, 0) => {
                        tracing::debug!(event = "lock_timeout_adopted", "lock_timeout_adopted");
                        Ok(Locked::Adopted(Box::new(s)))
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

    /// The authorization server for refreshing `current`: its cached metadata when it has some
    /// (and no configured issuer says otherwise), so the refresh is one request inside the lock;
    /// else `/api/v1/meta` and discovery, once (the refreshed record then caches the result).
    async fn refresh_server(&self, current: &SessionRecord) -> Result<AuthServer> {
        match &current.auth_server {
            Some(meta)
                if self
                    .cfg
                    .issuer
                    .as_ref()
                    .is_none_or(|i| i == meta.issuer.url()) =>
            {
                Ok(AuthServer {
                    http: self.http()?.clone(),
                    meta: (**meta).clone(),
                })
            }
            _ => self.auth_server().await,
        }
    }

    /// The refresh transaction: lock, re-read, decide, refresh, reconcile.
    async fn refresh_transaction(
        &self,
        observed: &SessionRecord,
        force: bool,
    ) -> Result<(SessionRecord, RefreshOutcome)> {
        let mut guard = match self.lock_or_adopt(force)? {
            Locked::Held(g) => g,
            Locked::Adopted(adopted) => return Ok((*adopted, RefreshOutcome::LockTimeoutAdopted)),
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
        let server = self.refresh_server(&current).await?;
        let client = server.client(&current.client_id, current.client_secret.as_ref());
        let mut replay_retried = false;
        loop {
            match client.refresh(&sent).await {
                Ok(tokens) => {
                    crate::hooks::pause(crate::hooks::BEFORE_PERSIST);
                    let new = refreshed_record(&current, tokens, &server.meta);
                    state.session = Some(new.clone());
                    self.store.save(&state, &guard)?;
                    tracing::debug!(event = "refreshed", "refreshed");
                    return Ok((new, RefreshOutcome::Refreshed));
                }
                Err(Error::OAuth { body, .. }) if body.error == OAuthErrorCode::InvalidGrant => {
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
                    if body.error == OAuthErrorCode::RefreshReplayBenignRetry
                        && !replay_retried =>
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
                Err(Error::OAuth { body, .. })
                    if body.error == OAuthErrorCode::RefreshReplayBenignRetry =>
                {
                    return Err(Error::RefreshInProgress);
                }
                // Transport failures, 5xx, anything else: the stored credentials stay intact.
                Err(e) => return Err(e),
            }
        }
    }
}

/// The record after a refresh: a refresh token the server did not rotate is kept, and the
/// server metadata the refresh used is cached (again) with it. The granted scope is the
/// response's, else the old one (RFC 6749 §6: unchanged unless the server says). An ID token in
/// a refresh response is not used (the subject stays the login's), so it is not verified either:
/// verifying would cost a JWKS request inside the lock, where a refresh is one request.
fn refreshed_record(
    old: &SessionRecord,
    tokens: Tokens,
    auth_server: &ServerMetadata,
) -> SessionRecord {
    SessionRecord {
        scope: tokens.granted_scope(old.scope.as_ref()),
        subject: old.subject.clone(),
        client_secret: old.client_secret.clone(),
        access_expires_at: tokens.access_expires_at(),
        refresh_expires_at: tokens.refresh_expires_at().or(old.refresh_expires_at),
        refresh_token: tokens.refresh_token.or_else(|| old.refresh_token.clone()),
        access_token: tokens.access_token,
        method: old.method,
        user: old.user.clone(),
        client_id: old.client_id.clone(),
        updated_at: now_unix(),
        me: None,
        auth_server: Some(Box::new(auth_server.clone())),
    }
}
