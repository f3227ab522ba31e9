//! The session manager: token precedence and validity (`token.rs`), the hot path, the refresh
//! transaction (`refresh.rs`: lock, re-read, decide, refresh, reconcile), login persistence and
//! logout, the `/me` cache.

mod refresh;
mod token;

use std::time::Duration;

use url::Url;

use crate::classify::{Error, Result};
use crate::clock::now_unix;
use crate::config::{Config, DEFAULT_CLIENT_ID, display_url, join_url};
use crate::flows::discovery::{self, ApiMeta, ServerMetadata};
use crate::flows::{OAuthClient, Tokens};
use crate::http::Http;
use crate::protocol::{AccessToken, ClientId, RefreshToken, RegisteredSecret};
use crate::secret::Secret;
use crate::store::{
    LockGuard, LoginMethod, MeCache, SessionRecord, StaticToken, Store, StoredState,
};

pub(crate) use refresh::RefreshOutcome;
use token::outside_refresh_window;
pub(crate) use token::{Resolved, TokenSource, session_usable};

/// How long a cached `/api/v1/me` answer is used.
pub(crate) const ME_CACHE_TTL_SECS: u64 = 300;

/// What `logout` did.
#[derive(Debug, Default)]
pub(crate) struct LogoutReport {
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

/// What the hot path found.
#[derive(Debug)]
pub(crate) enum HotToken {
    /// A token to use as it is (an override, a personal token, or a stored session outside its
    /// refresh window).
    Ready(Resolved),
    /// The stored session, as this process read it, needs a refresh first (see
    /// [`Session::refreshed_token`]).
    NeedsRefresh(Box<SessionRecord>),
}

/// An authorization server ready for OAuth calls.
#[derive(Debug)]
pub(crate) struct AuthServer {
    /// The HTTP client.
    pub http: Http,
    /// The discovered metadata.
    pub meta: ServerMetadata,
}

impl AuthServer {
    /// An OAuth client for `client_id`, authenticating with `secret` when it has one.
    pub(crate) fn client(
        &self,
        client_id: &ClientId,
        secret: Option<&RegisteredSecret>,
    ) -> OAuthClient<'_> {
        OAuthClient {
            http: &self.http,
            meta: &self.meta,
            client_id: client_id.clone(),
            secret: secret.cloned(),
            scope: None,
        }
    }
}

/// The session manager of one invocation.
#[derive(Debug)]
pub(crate) struct Session {
    cfg: Config,
    store: Store,
    flag_token: Option<Secret>,
    http: std::sync::OnceLock<Http>,
}

impl Session {
    /// A session manager over `cfg`; `flag_token` is `--token`.
    pub(crate) fn new(cfg: Config, flag_token: Option<Secret>) -> Session {
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
    pub(crate) fn config(&self) -> &Config {
        &self.cfg
    }

    /// The credential store.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The HTTP client (built on first use: the hot path never builds one).
    pub(crate) fn http(&self) -> Result<&Http> {
        if let Some(h) = self.http.get() {
            return Ok(h);
        }
        let h = Http::new(self.cfg.http_timeout)?;
        Ok(self.http.get_or_init(|| h))
    }

    /// The token from `--token` or `CLIAUTH_TOKEN`, which shadow stored credentials.
    pub(crate) fn override_token(&self) -> Option<Resolved> {
        if let Some(t) = &self.flag_token {
            return Some(Resolved {
                token: AccessToken::from(t.clone()),
                source: TokenSource::Flag,
            });
        }
        self.cfg.env_token.as_ref().map(|t| Resolved {
            token: AccessToken::from(t.clone()),
            source: TokenSource::Env,
        })
    }

    /// The hot path: a token without network, lock or refresh. [`HotToken::NeedsRefresh`] when
    /// the stored session is inside its refresh window; `Err(NotLoggedIn)` when nothing is
    /// stored.
    pub(crate) fn hot_token(&self) -> Result<HotToken> {
        if let Some(r) = self.override_token() {
            return Ok(HotToken::Ready(r));
        }
        let state = self.store.load(None)?.ok_or(Error::NotLoggedIn)?;
        if let Some(s) = state.static_token {
            return Ok(HotToken::Ready(Resolved {
                token: s.token,
                source: TokenSource::StoredStatic,
            }));
        }
        let session = state.session.ok_or(Error::NotLoggedIn)?;
        if outside_refresh_window(&session, now_unix()) {
            tracing::debug!(event = "hot_path_hit", "hot_path_hit");
            return Ok(HotToken::Ready(Resolved {
                token: session.access_token,
                source: TokenSource::StoredSession,
            }));
        }
        Ok(HotToken::NeedsRefresh(Box::new(session)))
    }

    /// A valid access token, refreshing first when the stored one is (nearly) expired. A
    /// refresh that fails transiently falls back to a not-yet-expired access token.
    pub(crate) async fn access_token(&self) -> Result<Resolved> {
        match self.hot_token()? {
            HotToken::Ready(r) => Ok(r),
            HotToken::NeedsRefresh(observed) => self.refreshed_token(*observed).await,
        }
    }

    /// Reads `/api/v1/meta` and discovers the authorization server.
    pub(crate) async fn auth_server(&self) -> Result<AuthServer> {
        let api_meta = self.api_meta().await?;
        self.auth_server_with(api_meta.as_ref()).await
    }

    /// Discovers the authorization server given an already fetched `/api/v1/meta`.
    pub(crate) async fn auth_server_with(&self, api_meta: Option<&ApiMeta>) -> Result<AuthServer> {
        let http = self.http()?.clone();
        let issuer =
            discovery::choose_issuer(self.cfg.issuer.as_ref(), api_meta, &self.cfg.server_url)?;
        let meta = discovery::discover(&http, &issuer).await?;
        Ok(AuthServer { http, meta })
    }

    /// The `/api/v1/meta` answer (`None` when the server has none).
    pub(crate) async fn api_meta(&self) -> Result<Option<ApiMeta>> {
        discovery::fetch_api_meta(self.http()?, &self.cfg.server_url).await
    }

    /// The client for a new login: configured, registered earlier, registered now (RFC 7591)
    /// when the server offers registration, else the default id. A registered client comes with
    /// the secret the server issued, if any (stored encrypted with it).
    pub(crate) async fn client_for_login(
        &self,
        server: &AuthServer,
    ) -> Result<(ClientId, Option<RegisteredSecret>)> {
        if let Some(c) = &self.cfg.client_id {
            return Ok((ClientId::new(c.clone()), None));
        }
        let state = self.load_for_update(None)?;
        if let Some(c) = state.registered_client_id {
            return Ok((c, state.registered_client_secret));
        }
        if server.meta.registration_endpoint.is_none() {
            return Ok((ClientId::new(DEFAULT_CLIENT_ID), None));
        }
        let registered = crate::flows::register_client(&server.http, &server.meta).await?;
        let guard = self.store.lock(self.cfg.lock_timeout)?;
        let mut state = self.load_for_update(Some(&guard))?;
        state.server = display_url(&self.cfg.server_url);
        state.registered_client_id = Some(registered.client_id.clone());
        state
            .registered_client_secret
            .clone_from(&registered.secret);
        self.store.save(&state, &guard)?;
        Ok((registered.client_id, registered.secret))
    }

    /// Loads for a write; a corrupted file (already moved aside and reported) starts afresh.
    fn load_for_update(&self, guard: Option<&LockGuard>) -> Result<StoredState> {
        match self.store.load(guard) {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Ok(StoredState::default()),
            Err(e @ Error::Corrupted { .. }) => {
                eprintln!("warning: {}", crate::ui::escape_controls(&e.to_string()));
                Ok(StoredState::default())
            }
            Err(e) => Err(e),
        }
    }

    /// Stores a new session under the lock; returns the replaced session's refresh token (for
    /// the caller to revoke now that the new one is safely stored).
    pub(crate) fn store_session(&self, record: SessionRecord) -> Result<Option<RefreshToken>> {
        let guard = self.store.lock(self.cfg.lock_timeout)?;
        let mut state = self.load_for_update(Some(&guard))?;
        state.server = display_url(&self.cfg.server_url);
        let old = state.session.replace(record);
        self.store.save(&state, &guard)?;
        Ok(old.and_then(|o| o.refresh_token))
    }

    /// Stores a personal access token.
    pub(crate) fn store_static(&self, token: AccessToken, user: Option<String>) -> Result<()> {
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
    pub(crate) async fn logout(&self, all: bool) -> Result<LogoutReport> {
        let mut report = LogoutReport::default();
        let removed = {
            let guard = self.store.lock(self.cfg.lock_timeout)?;
            let mut state = match self.store.load(Some(&guard)) {
                Ok(Some(s)) => s,
                Ok(None) => return Ok(report),
                Err(e @ Error::Corrupted { .. }) => {
                    eprintln!("warning: {}", crate::ui::escape_controls(&e.to_string()));
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
                state.registered_client_secret = None;
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
                .map_or((session.access_token.as_secret(), "access_token"), |r| {
                    (r.as_secret(), "refresh_token")
                });
            let revoked = async {
                let server = self.auth_server().await?;
                server
                    .client(&session.client_id, session.client_secret.as_ref())
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
    pub(crate) async fn me(&self, resolved: Option<&Resolved>) -> Result<serde_json::Value> {
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

    fn cache_me(&self, token: &AccessToken, body: &serde_json::Value) {
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
    pub(crate) fn api_url(&self, path: &str) -> Url {
        join_url(&self.cfg.server_url, path)
    }
}

/// A session record for tokens from a new login by `client` (which knows the server, the client
/// and the scope asked for); `subject` is the verified ID token's `sub`.
pub(crate) fn new_record(
    tokens: Tokens,
    method: LoginMethod,
    client: &OAuthClient<'_>,
    user: Option<String>,
    subject: Option<String>,
) -> SessionRecord {
    SessionRecord {
        scope: tokens.granted_scope(client.scope.as_ref()),
        subject,
        client_secret: client.secret.clone(),
        access_expires_at: tokens.access_expires_at(),
        refresh_expires_at: tokens.refresh_expires_at(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        method,
        user,
        client_id: client.client_id.clone(),
        updated_at: now_unix(),
        me: None,
        auth_server: Some(Box::new(client.meta.clone())),
    }
}
