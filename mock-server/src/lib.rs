//! A scriptable mock OAuth 2.0 authorization server and hosted API, for testing command-line
//! clients.
//!
//! It follows the RFCs (6749, 7636, 8252 §7.3, 8414, 8628, 7009, 7662, 7591), listens on
//! 127.0.0.1 only, and lands every request in a redacted journal. A test starts a
//! [`MockServer`], points the client under test at [`MockServer::url`], and afterwards asks the
//! server what the client did, the way [wiremock](https://docs.rs/wiremock) does for plain HTTP.
//!
//! # Start a server, make a request, read the journal
//!
//! ```
//! use cliauth_mock::MockServer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Defaults: users alice and bob, the public client `cliauth`, ES256 JWTs, strict rotation.
//! let server = MockServer::start().await;
//!
//! // What the client under test would do: the password grant for the default user.
//! let http = reqwest::Client::builder().no_proxy().build()?;
//! let response = http
//!     .post(format!("{}/oauth/token", server.url()))
//!     .form(&[
//!         ("grant_type", "password"),
//!         ("username", "alice"),
//!         ("password", "alice-password"),
//!     ])
//!     .send()
//!     .await?;
//! assert_eq!(response.status(), 200);
//!
//! // The journal says what clients did, with secrets only as fingerprints.
//! let journal = server.journal();
//! assert_eq!(journal.len(), 1);
//! assert!(journal[0].is_grant("password", 200));
//! assert_eq!(journal[0].outcome.as_deref(), Some("issued"));
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Script faults
//!
//! A [`Rule`] matches requests ([`RuleMatch`]) and does something to them ([`Action`]): answer
//! a status, delay, hold a group of requests at a barrier, cut the connection, or answer a
//! ready-made failure from the catalogue ([`CatalogName`]). Rules are checked in order before
//! routing; the first match wins.
//!
//! ```
//! use cliauth_mock::{Action, CatalogName, MockServer, Rule, RuleMatch};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start().await;
//! server.add_rule(
//!     Rule::new(
//!         "meta-down-once",
//!         RuleMatch::default().path("/api/v1/meta"),
//!         Action::Catalog { name: CatalogName::Unavailable },
//!     )
//!     .times(1),
//! );
//! let http = reqwest::Client::builder().no_proxy().build()?;
//! let meta = format!("{}/api/v1/meta", server.url());
//! assert_eq!(http.get(&meta).send().await?.status(), 503);
//! assert_eq!(http.get(&meta).send().await?.status(), 200);
//! let journal = server.journal();
//! assert_eq!(journal[0].rule.as_deref(), Some("meta-down-once"));
//! assert_eq!(journal[1].rule, None);
//! # Ok(())
//! # }
//! ```
//!
//! # Three ways to script it
//!
//! - a TOML [`Config`] ([`Config::from_toml_str`], [`Config::from_file`]): users, clients,
//!   rotation policy, device-flow script, token lifetimes, rules;
//! - this Rust API: [`MockServer::add_rule`], [`MockServer::advance_clock`],
//!   [`MockServer::approve_device`], [`MockServer::revoke_all`], ...;
//! - the admin API under [`MockServer::admin_url`] (`/__admin/...`), for tests in other
//!   languages that run the `cliauth-mock` binary.
//!
//! A [`Dialect`] serves the same engine under another product's paths and shapes
//! ([`MockServerBuilder::dialect`]). To serve the mock from your own axum application, mount
//! [`MockServer::router`].

mod admin;
mod admin_token;
mod clock;
mod config;
mod dialect;
mod dialects;
mod error;
mod hosted;
mod journal;
mod model;
mod oauth;
mod oauth_error;
mod request;
mod rules;
mod server;
pub mod tls;
mod tokens;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::admin_token::AdminToken;
pub use crate::clock::MAX_SECONDS;
pub use crate::config::{
    AuthMethod, ClientConfig, ClientSecret, Config, ConfigError, ConsentAction, ConsentConfig,
    DeviceConfig, DeviceStep, Dialect, IdTokenFault, OpenIdConfig, PkceConfig, PkceMode,
    RegistrationConfig, RotationConfig, RotationPolicy, SigningAlgorithm, TeamConfig, TokenFormat,
    TokensConfig, UserConfig,
};
pub use crate::error::Error;
pub use crate::journal::{DEFAULT_JOURNAL_CAPACITY, JournalEntry, LineageEntry};
pub use crate::model::retention::DEFAULT_RECORD_CAPACITY;
pub use crate::rules::{Action, CatalogName, HoldOrder, Rule, RuleMatch};

use crate::model::state::DeviceDecision;
use crate::model::{Shared, lock};
use crate::server::connections::Limits;
pub use crate::server::connections::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_CONNECTIONS};
use crate::server::listener::App;

/// A running mock server. Dropping it stops the server.
#[derive(Debug)]
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    runtime: tokio::runtime::Handle,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    proxy_addr: Option<SocketAddr>,
    ca_pem: Option<String>,
}

/// Configures a [`MockServer`] before it starts.
#[derive(Debug, Default)]
pub struct MockServerBuilder {
    config: Option<Config>,
    port: u16,
    dialect: Option<Dialect>,
    journal_capacity: Option<usize>,
    record_capacity: Option<usize>,
    limits: Limits,
    host: Option<IpAddr>,
    admin_token: Option<AdminToken>,
    tls: Option<Arc<rustls::ServerConfig>>,
    intercept: Vec<String>,
    ca: Option<Arc<tls::CertificateAuthority>>,
}

impl MockServerBuilder {
    /// Uses this configuration instead of the defaults.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// Speaks this product's dialect (overrides the config's `dialect`).
    #[must_use]
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.dialect = Some(dialect);
        self
    }

    /// Listens on this port of 127.0.0.1 (0, the default, picks a free one).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Keeps at most this many journal entries (default [`DEFAULT_JOURNAL_CAPACITY`]); older
    /// ones are dropped and counted (`dropped` in `GET /__admin/journal`).
    #[must_use]
    pub fn journal_capacity(mut self, capacity: usize) -> Self {
        self.journal_capacity = Some(capacity);
        self
    }

    /// Keeps at most this many access-token records, spent (rotated or revoked) refresh-token
    /// records and issued secrets (default [`DEFAULT_RECORD_CAPACITY`]); the oldest are
    /// forgotten, so memory stays flat over millions of grants. A forgotten access token is
    /// unknown to the hosted API, a forgotten spent refresh token is `invalid_grant` without
    /// reuse detection; active refresh tokens are always kept.
    #[must_use]
    pub fn record_capacity(mut self, capacity: usize) -> Self {
        self.record_capacity = Some(capacity);
        self
    }

    /// Keeps at most this many connections open (default [`DEFAULT_MAX_CONNECTIONS`]); at the
    /// cap the oldest idle connection is closed to serve a new one.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.limits.max_connections = max.max(1);
        self
    }

    /// Closes a connection that sends no complete request head for this long: before its
    /// first request, while sending headers, or between keep-alive requests (default
    /// [`DEFAULT_IDLE_TIMEOUT`]).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout;
        self
    }

    /// Listens on this address instead of 127.0.0.1 (`0.0.0.0` or `::` for every interface,
    /// e.g. in a container). The URLs the server prints and issues use loopback when the
    /// address is unspecified. The admin API still answers loopback peers only, unless
    /// [`admin_token`](Self::admin_token) is set.
    #[must_use]
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = Some(host);
        self
    }

    /// Lets a non-loopback peer use the admin API when it sends this token as its bearer.
    #[must_use]
    pub fn admin_token(mut self, token: AdminToken) -> Self {
        self.admin_token = Some(token);
        self
    }

    /// Serves HTTPS with this rustls configuration (see [`tls`](crate::tls) for a per-run CA);
    /// the URLs become `https://`.
    #[must_use]
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Binds 127.0.0.1 (or [`host`](Self::host)) and starts serving on the current Tokio runtime.
    pub async fn start(self) -> Result<MockServer, Error> {
        let mut config = self.config.unwrap_or_default();
        if let Some(dialect) = self.dialect {
            config.dialect = dialect;
        }
        dialects::spec(config.dialect).apply_config_defaults(&mut config);
        config
            .validate()
            .map_err(|message| ConfigError::invalid("<config>", message))?;
        let host = self.host.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let bind_error = |source| Error::Bind {
            host,
            port: self.port,
            source,
        };
        let listener = tokio::net::TcpListener::bind((host, self.port))
            .await
            .map_err(bind_error)?;
        // An unspecified address is not one a client can reach; loopback of its family is.
        let addr = server::listener::reachable(listener.local_addr().map_err(bind_error)?);
        let proxy = if self.intercept.is_empty() {
            None
        } else {
            Some(server::intercept::bind(host, &self.intercept, self.ca).await?)
        };
        let rsa = config.tokens.algorithm == SigningAlgorithm::Rs256;
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(
            Shared::new(config, tokens::Signer::new(), format!("{scheme}://{addr}"))
                .with_journal_capacity(self.journal_capacity.unwrap_or(DEFAULT_JOURNAL_CAPACITY))
                .with_record_capacity(self.record_capacity.unwrap_or(DEFAULT_RECORD_CAPACITY))
                .with_admin_token(self.admin_token),
        );
        // Key generation seeds AWS-LC's RNG (about 25 ms of CPU); do it beside serving so
        // that the server answers discovery at once. A token request that comes sooner
        // blocks on the same `OnceLock` until the keys exist.
        let warm = Arc::clone(&shared);
        let warmer = std::thread::Builder::new().name("cliauth-mock-keys".to_owned()).spawn(move || {
            if let Err(e) = warm.signer.warm(rsa) {
                tracing::error!(error = %e, "signing keys unavailable; token requests will fail with server_error");
            }
        });
        // The thread ends by itself; its only product is the keys in `shared`.
        drop(warmer.map_err(Error::Spawn)?);
        let runtime = tokio::runtime::Handle::current();
        let app = App {
            router: server::routes::router(Arc::clone(&shared), runtime.clone()),
            shared: Arc::clone(&shared),
            limits: self.limits,
            registry: Arc::default(),
            tls: self.tls.map(tokio_rustls::TlsAcceptor::from),
        };
        let (stop, stopped) = watch::channel(false);
        let proxy_addr = proxy.as_ref().map(|p| p.addr);
        let ca_pem = proxy.as_ref().map(|p| p.ca_pem.clone());
        let task = match proxy {
            None => tokio::spawn(app.serve(listener, stopped, None)),
            Some(p) => {
                let plain = app.clone().serve(listener, stopped.clone(), None);
                let tunnels = app.serve(p.listener, stopped, Some(p.interception));
                tokio::spawn(async move {
                    tokio::join!(plain, tunnels);
                })
            }
        };
        tracing::debug!(%addr, ?proxy_addr, "mock server listening");
        Ok(MockServer {
            shared,
            addr,
            runtime,
            stop,
            task: Some(task),
            proxy_addr,
            ca_pem,
        })
    }
}

impl MockServer {
    /// A builder for a configured server.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// Starts a server with the default configuration on a random loopback port.
    ///
    /// # Panics
    /// When 127.0.0.1 cannot be bound, as wiremock's `MockServer::start` does: a test cannot
    /// go on without its server. Use [`MockServer::builder`] to handle the error.
    pub async fn start() -> Self {
        match Self::builder().start().await {
            Ok(server) => server,
            Err(e) => panic!("failed to start the mock server: {e}"),
        }
    }

    /// Base URL of the hosted API and the server, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The issuer identifier (the base URL unless configured).
    pub fn issuer(&self) -> String {
        self.shared.issuer()
    }

    /// `http://127.0.0.1:PORT/__admin`.
    pub fn admin_url(&self) -> String {
        format!("{}/__admin", self.shared.base_url)
    }

    /// The dialect the server speaks.
    pub fn dialect(&self) -> Dialect {
        self.shared.dialect
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The mock's axum router over this server's state, to mount in your own axum app.
    ///
    /// Requests through it share this server's tokens, clock, rules and journal, and pass the
    /// same fault layer. Three things need the mock's own listener: discovery and the issuer
    /// still name [`MockServer::url`]; the connection-level actions (`drop`, `reset`,
    /// `commit_then_reset`) answer 502 instead of cutting a connection; and the admin API
    /// answers only when the app is served with connect info (it checks for a loopback peer).
    ///
    /// ```
    /// use std::net::SocketAddr;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = cliauth_mock::MockServer::start().await;
    /// let app = axum::Router::new()
    ///     .route("/healthz", axum::routing::get(|| async { "ok" }))
    ///     .merge(mock.router());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let url = format!("http://{}", listener.local_addr()?);
    /// let serving = tokio::spawn(async move {
    ///     axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
    /// });
    ///
    /// let http = reqwest::Client::builder().no_proxy().build()?;
    /// let meta: serde_json::Value = http.get(format!("{url}/api/v1/meta")).send().await?.json().await?;
    /// assert_eq!(meta["auth_required"], true);
    /// assert_eq!(http.get(format!("{url}/healthz")).send().await?.text().await?, "ok");
    /// // The mock's routes are journaled; the app's own are not.
    /// assert_eq!(mock.journal().len(), 1);
    /// serving.abort();
    /// # Ok(())
    /// # }
    /// ```
    pub fn router(&self) -> axum::Router {
        server::routes::router(Arc::clone(&self.shared), self.runtime.clone())
    }

    /// A snapshot of the journal, in arrival order: the newest entries up to the journal's
    /// capacity ([`MockServerBuilder::journal_capacity`]).
    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.shared.journal).entries()
    }

    /// The refresh-token lineage: issued, rotated, reused and revoked tokens by fingerprint.
    pub fn lineage(&self) -> Vec<LineageEntry> {
        lock(&self.shared.journal).lineage()
    }

    /// Every secret the server minted: access and refresh tokens, authorization codes, device
    /// codes and client secrets (not user codes, which people read aloud).
    /// The newest [`MockServerBuilder::record_capacity`] of them (10,000 by default; a test
    /// scenario mints a handful): check [`issued_secrets_dropped`](Self::issued_secrets_dropped)
    /// is 0 when a scan must see every one.
    pub fn issued_secrets(&self) -> Vec<String> {
        lock(&self.shared.state).secrets.to_vec()
    }

    /// How many older issued secrets were dropped to keep the record capacity.
    pub fn issued_secrets_dropped(&self) -> u64 {
        lock(&self.shared.state).secrets.dropped()
    }

    /// Moves the server clock forward.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance_saturating(by);
    }

    /// How many journal entries were dropped because the journal was full.
    pub fn journal_dropped(&self) -> u64 {
        lock(&self.shared.journal).dropped()
    }

    /// Approves a device authorization as `[device] user`; `None` = the most recent pending one.
    pub fn approve_device(&self, user_code: Option<&str>) -> Result<(), Error> {
        let user = lock(&self.shared.state).config.device.user.clone();
        self.shared
            .decide_device(user_code, DeviceDecision::Approved(user))
            .map(drop)
    }

    /// Denies a device authorization; `None` = the most recent pending one.
    pub fn deny_device(&self, user_code: Option<&str>) -> Result<(), Error> {
        self.shared
            .decide_device(user_code, DeviceDecision::Denied)
            .map(drop)
    }

    /// Appends a rule after the configured ones.
    pub fn add_rule(&self, rule: Rule) {
        lock(&self.shared.rules).push(rules::RuleSlot::new(rule));
    }

    /// Removes every rule, configured ones included.
    pub fn clear_rules(&self) {
        lock(&self.shared.rules).clear();
    }

    /// Releases the requests held by the `hold` rule named `rule_name`; returns how many.
    pub fn release_hold(&self, rule_name: &str) -> usize {
        admin::release_hold(&self.shared, &self.runtime, rule_name)
    }

    /// How many requests wait at the barrier of `rule_name` now.
    pub fn held(&self, rule_name: &str) -> usize {
        self.shared.holds.waiting(rule_name)
    }

    /// Revokes every token of `username`; returns how many token families were revoked.
    pub fn revoke_all(&self, username: &str) -> usize {
        self.shared.revoke_user(username)
    }

    /// Mints an access token for `username` as a login would (its own token family, the
    /// configured lifetime): a real issued secret for a scenario to give a CLI through a flag,
    /// the environment, stdin or a file. It joins [`MockServer::issued_secrets`].
    ///
    /// # Errors
    /// [`Error::UnknownUser`] when `[[users]]` has no such user; [`Error::Mint`] when the
    /// token cannot be signed.
    pub fn mint_token(&self, username: &str) -> Result<String, Error> {
        admin::mint_token(&self.shared, username)
    }

    /// Makes every access token expired now; returns how many were live.
    pub fn expire_access_tokens(&self) -> usize {
        self.shared.expire_access_tokens()
    }

    /// Stops accepting connections, closes open ones and waits for the server task.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %Error::Join(e), "mock server task failed");
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::grants::SignIn;

    fn assert_send_sync<T: Send + Sync>() {}

    #[tokio::test]
    async fn debug_output_shows_no_secrets() {
        let server = MockServer::start().await;
        let shared = Arc::clone(&server.shared);
        let pair = shared
            .issue_new("alice", "cliauth", "openid", "password", SignIn::default())
            .unwrap();
        let text = format!("{server:?}");
        assert!(text.contains(&server.url()));
        assert!(
            !text.contains(&pair.access_token)
                && pair
                    .refresh_token
                    .iter()
                    .all(|r| !text.contains(r.as_str()))
                && pair.id_token.iter().all(|i| !text.contains(i.as_str())),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_mounted_router_answers_502_for_a_connection_cut_it_cannot_make() {
        let server = MockServer::start().await;
        server.add_rule(Rule::new(
            "cut",
            RuleMatch::default().path("/api/v1/meta"),
            Action::Drop,
        ));
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = server.router();
        let serving = tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let resp = http.get(format!("{url}/api/v1/meta")).send().await.unwrap();
        assert_eq!(resp.status(), 502);
        let journal = server.journal();
        assert_eq!(journal.len(), 1);
        assert_eq!(journal[0].rule.as_deref(), Some("cut"));
        assert_eq!(journal[0].status, 0);
        serving.abort();
    }

    #[test]
    fn the_public_types_can_cross_tasks() {
        assert_send_sync::<MockServer>();
        assert_send_sync::<Config>();
        assert_send_sync::<Rule>();
        assert_send_sync::<JournalEntry>();
        assert_send_sync::<Error>();
    }
}
