//! Routing, the rule layer and the connection loop.
//!
//! The server runs its own accept loop over hyper so that a rule can act at the connection
//! level (close, reset, truncate) and so that a TLS ClientHello on the plain port is noticed.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt as _;

use crate::admin::{self, AdminState};
use crate::config::Dialect;
use crate::dialect;
use crate::hosted;
use crate::journal::{self, JournalEntry};
use crate::model::{Shared, lock};
use crate::oauth;
use crate::oauth_error::{OAuthError, Outcome, PollGap};
use crate::request::RequestCtx;
use crate::rules::{self, Action, CatalogName, RequestFacts};
use crate::tokens::fingerprint;

/// Largest request body accepted; larger ones get 413 with an RFC 6749 error body.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// The application router (no rule layer, no journal).
pub(crate) fn router(shared: Arc<Shared>, runtime: tokio::runtime::Handle) -> Router {
    let admin = admin::router(AdminState {
        shared: Arc::clone(&shared),
        runtime,
    });
    let routes = match shared.dialect {
        Dialect::SpecKitty => dialect::spec_kitty::routes(),
        Dialect::Skillmeat => dialect::skillmeat::routes(),
        _ => cliauth_routes(),
    };
    routes
        .with_state(shared)
        .nest("/__admin", admin)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

/// cliauth's own endpoints (`docs/interfaces.md` section 3).
fn cliauth_routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::discovery::oauth_metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            get(oauth::discovery::openid_metadata),
        )
        .route("/jwks.json", get(oauth::discovery::jwks))
        .route("/oauth/authorize", get(oauth::authorize::authorize))
        .route("/oauth/token", post(oauth::token::token))
        .route(
            "/oauth/device_authorization",
            post(oauth::device::authorization),
        )
        .route(
            "/device",
            get(oauth::device::page_get).post(oauth::device::page_post),
        )
        .route("/oauth/revoke", post(oauth::revoke::revoke))
        .route("/oauth/introspect", post(oauth::revoke::introspect))
        .route("/oauth/register", post(oauth::register::register))
        .route("/api/v1/meta", get(hosted::meta))
        .route("/api/v1/me", get(hosted::me))
        .route("/api/v1/ingress", post(hosted::ingress))
        .route("/api/v1/session", get(hosted::session))
        .route("/api/v1/auth/login", post(hosted::login))
}

async fn not_found() -> Response {
    OAuthError::new(404, "not_found", "no such endpoint").into_response()
}

async fn method_not_allowed() -> Response {
    OAuthError::new(
        405,
        "invalid_request",
        "method not allowed on this endpoint",
    )
    .into_response()
}

/// How a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Close (FIN) without an answer.
    Close,
    /// Reset (RST).
    Reset,
}

/// The per-server application: state plus router.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) shared: Arc<Shared>,
    pub(crate) router: Router,
    pub(crate) runtime: tokio::runtime::Handle,
}

impl App {
    /// Accepts connections until `shutdown` turns true.
    pub(crate) async fn serve(self, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.changed() => return,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let app = self.clone();
                    let stop = shutdown.clone();
                    // Each connection task ends with its connection or at shutdown.
                    drop(tokio::spawn(app.connection(stream, peer, stop)));
                }
                Err(e) => {
                    // Accept errors (EMFILE, ECONNABORTED) are transient; log and go on.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }

    async fn connection(
        self,
        stream: TcpStream,
        peer: SocketAddr,
        mut shutdown: watch::Receiver<bool>,
    ) {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "set TCP_NODELAY failed");
        }
        let mut first = [0u8; 1];
        match stream.peek(&mut first).await {
            Ok(0) => return,
            Ok(_) if first[0] == 0x16 => {
                // A TLS handshake record: a client speaking HTTPS to the plain port.
                let mut entry = journal::blank("", "", self.shared.clock.now_ms());
                entry.tls_handshake = true;
                lock(&self.shared.journal).push(entry);
                // Consume the ClientHello that already arrived so the close is a FIN, not the
                // RST the kernel sends when unread data is discarded.
                let mut sink = [0u8; 4096];
                while let Ok(n) = stream.try_read(&mut sink) {
                    if n == 0 {
                        break;
                    }
                }
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "peek failed");
                return;
            }
        }
        // A second descriptor of the same socket, to set SO_LINGER 0 for a reset after hyper
        // owns the stream.
        let (stream, twin) = match stream.into_std().and_then(|s| {
            let twin = s.try_clone()?;
            Ok((TcpStream::from_std(s)?, twin))
        }) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "could not duplicate the connection socket");
                return;
            }
        };
        let (cut_tx, mut cut_rx) = mpsc::channel::<Cut>(1);
        let app = self.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let app = app.clone();
            let cut = cut_tx.clone();
            async move { Ok::<_, Infallible>(app.dispatch(req, peer, cut).await) }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service);
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            }
            cut = cut_rx.recv() => {
                if cut == Some(Cut::Reset) {
                    match TcpStream::from_std(twin) {
                        Ok(t) => {
                            if let Err(e) = t.set_zero_linger() {
                                tracing::warn!(error = %e, "SO_LINGER 0 failed; the peer sees a close instead of a reset");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "could not register the socket twin"),
                    }
                }
            }
            _ = shutdown.changed() => {}
        }
    }

    /// Reads the request, applies the first matching rule, routes, journals.
    async fn dispatch(
        &self,
        req: Request<Incoming>,
        peer: SocketAddr,
        cut: mpsc::Sender<Cut>,
    ) -> Response {
        let at = self.shared.clock.now_ms();
        let (parts, body) = req.into_parts();
        let path = parts.uri.path().to_owned();
        let admin = path == "/__admin" || path.starts_with("/__admin/");
        let mut entry = journal::blank(parts.method.as_str(), &path, at);
        let dialect = self.shared.dialect;
        entry.canonical_path = dialect::canonical_path(dialect, &path).map(str::to_owned);
        let bytes = match Limited::new(body, MAX_BODY).collect().await {
            Ok(c) => c.to_bytes(),
            Err(e) => {
                let resp = if e.is::<http_body_util::LengthLimitError>() {
                    OAuthError::new(413, "invalid_request", "the request body exceeds 64 KiB")
                        .into_response()
                } else {
                    OAuthError::invalid_request(&format!("could not read the request body: {e}"))
                        .into_response()
                };
                entry.status = resp.status().as_u16();
                self.record(entry, admin);
                return resp;
            }
        };
        let ctx = Arc::new(RequestCtx::parse(&parts, &bytes, Some(peer)));
        let form = ctx.form.as_ref().and_then(|f| f.as_ref().ok());
        let json = ctx.json.as_ref().and_then(|j| j.as_ref().ok());
        entry.grant_type = form.and_then(|f| f.get("grant_type")).cloned();
        entry.client_id = ctx
            .basic
            .as_ref()
            .and_then(|b| b.as_ref().ok())
            .map(|b| b.0.clone())
            .or_else(|| form.and_then(|f| f.get("client_id")).cloned())
            .or_else(|| {
                ctx.query
                    .as_ref()
                    .ok()
                    .and_then(|q| q.get("client_id"))
                    .cloned()
            })
            .or_else(|| {
                json.and_then(|j| j.get("client_id"))
                    .and_then(|c| c.as_str())
                    .map(str::to_owned)
            });
        entry.bearer_fingerprint = ctx.bearer.as_deref().map(fingerprint);
        let selected = if admin {
            None
        } else {
            let facts = RequestFacts {
                method: parts.method.as_str(),
                path: &path,
                canonical_path: entry.canonical_path.as_deref(),
                grant_type: entry.grant_type.as_deref(),
                client_id: entry.client_id.as_deref(),
                form,
                json,
                headers: &parts.headers,
            };
            rules::select(&mut lock(&self.shared.state).rules, &facts)
        };
        let Some((rule, action)) = selected else {
            let resp = self.route(parts, bytes, ctx).await;
            self.finish(entry, &resp, admin);
            return resp;
        };
        entry.rule = Some(rule.clone());
        let req = (parts, bytes, ctx);
        let resp = match action {
            Action::Status {
                status,
                body,
                headers,
            } => status_response(status, body, &headers),
            Action::Delay { ms } => {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                self.route(req.0, req.1, req.2).await
            }
            Action::SlowFirstByte { ms } => {
                let resp = self.route(req.0, req.1, req.2).await;
                tokio::time::sleep(Duration::from_millis(ms)).await;
                resp
            }
            Action::Drop => return self.cut(entry, cut, Cut::Close).await,
            Action::Reset => return self.cut(entry, cut, Cut::Reset).await,
            Action::CommitThenReset => {
                let resp = self.route(req.0, req.1, req.2).await;
                note_outcome(&mut entry, &resp);
                return self.cut(entry, cut, Cut::Reset).await;
            }
            Action::Truncate => truncate(self.route(req.0, req.1, req.2).await).await,
            Action::MalformedJson => {
                let mut r = Response::new(Body::from(
                    "{\"access_token\": \"mat_malformed\", \"token_type\": \"Bearer\", \"expires_in\": ",
                ));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r
            }
            Action::OauthError200 { error } => axum::Json(serde_json::json!({
                "error": error, "error_description": "scripted OAuth error in a 200 response",
            }))
            .into_response(),
            Action::HtmlLogin => axum::response::Html(HTML_LOGIN).into_response(),
            Action::Catalog {
                name: CatalogName::PrivateTeamspaceRequired,
            } if dialect == Dialect::SpecKitty => dialect::spec_kitty::missing_private_team(),
            Action::Catalog { name } => catalog(name),
            Action::Hold { count, order } => {
                let (go, full) = self.shared.holds.join(&rule, count);
                if let Some(group) = full {
                    // The release task finishes by itself once each held request has run.
                    drop(self.runtime.spawn(rules::release(group, order)));
                }
                match go.await {
                    Ok(done) => {
                        let resp = self.route(req.0, req.1, req.2).await;
                        if done.send(()).is_err() {
                            // The releaser only waits to keep the order; if it is gone there is
                            // nobody left to tell.
                            tracing::debug!("hold releaser gone");
                        }
                        resp
                    }
                    Err(e) => {
                        // The barrier was dropped (server reset): serve normally.
                        tracing::debug!(error = %e, "hold barrier dropped");
                        self.route(req.0, req.1, req.2).await
                    }
                }
            }
        };
        self.finish(entry, &resp, false);
        resp
    }

    async fn route(
        &self,
        parts: http::request::Parts,
        bytes: Bytes,
        ctx: Arc<RequestCtx>,
    ) -> Response {
        let mut req = Request::from_parts(parts, Body::from(bytes));
        req.extensions_mut().insert(ctx);
        match self.router.clone().oneshot(req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        }
    }

    async fn cut(&self, mut entry: JournalEntry, cut: mpsc::Sender<Cut>, how: Cut) -> Response {
        entry.status = 0;
        self.record(entry, false);
        if let Err(e) = cut.send(how).await {
            tracing::debug!(error = %e, "connection already gone");
        }
        // The connection task drops this future together with the connection.
        std::future::pending::<Response>().await
    }

    fn finish(&self, mut entry: JournalEntry, resp: &Response, admin: bool) {
        entry.status = resp.status().as_u16();
        note_outcome(&mut entry, resp);
        self.record(entry, admin);
    }

    fn record(&self, entry: JournalEntry, admin: bool) {
        // Admin calls are the test's own; they stay out of the journal that counts clients.
        if !admin {
            lock(&self.shared.journal).push(entry);
        }
    }
}

fn note_outcome(entry: &mut JournalEntry, resp: &Response) {
    entry.outcome = resp.extensions().get::<Outcome>().map(|o| o.0.to_owned());
    entry.poll_gap_ms = resp.extensions().get::<PollGap>().map(|g| g.0);
}

fn status_response(
    status: u16,
    body: String,
    headers: &std::collections::BTreeMap<String, String>,
) -> Response {
    let json = body.trim_start().starts_with('{') || body.trim_start().starts_with('[');
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let content_type = if json {
        "application/json"
    } else {
        "text/plain; charset=utf-8"
    };
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (k, v) in headers {
        match (
            HeaderName::try_from(k.as_str()),
            HeaderValue::try_from(v.as_str()),
        ) {
            (Ok(k), Ok(v)) => {
                resp.headers_mut().insert(k, v);
            }
            (Err(e), _) => {
                tracing::warn!(error = %e, header = %k, "rule header name is invalid; skipped");
            }
            (_, Err(e)) => {
                tracing::warn!(error = %e, header = %k, "rule header value is invalid; skipped");
            }
        }
    }
    resp
}

fn catalog(name: CatalogName) -> Response {
    let (status, error, description, extra): (u16, &str, &str, Option<(HeaderName, &str)>) =
        match name {
            CatalogName::InvalidToken => (
                401,
                "invalid_token",
                "the access token is invalid",
                Some((
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"cliauth-mock\", error=\"invalid_token\"",
                )),
            ),
            CatalogName::InsufficientScope => (
                403,
                "insufficient_scope",
                "the access token lacks the required scope",
                Some((
                    header::WWW_AUTHENTICATE,
                    "Bearer realm=\"cliauth-mock\", error=\"insufficient_scope\"",
                )),
            ),
            CatalogName::PrivateTeamspaceRequired => (
                403,
                "private_teamspace_required",
                "direct ingress needs a Private Teamspace",
                None,
            ),
            CatalogName::RateLimited => (
                429,
                "rate_limited",
                "too many requests",
                Some((header::RETRY_AFTER, "1")),
            ),
            _ => (
                503,
                "temporarily_unavailable",
                "the service is unavailable",
                Some((header::RETRY_AFTER, "1")),
            ),
        };
    let mut resp = OAuthError::new(status, error, description).into_response();
    if let Some((k, v)) = extra {
        resp.headers_mut().insert(k, HeaderValue::from_static(v));
    }
    resp
}

/// Announces the whole body's length, sends half of it and then fails the body, which makes
/// hyper close the connection mid-body.
async fn truncate(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let full = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            return OAuthError::server_error(&format!("could not buffer the response: {e}"))
                .into_response();
        }
    };
    let half = full.slice(..full.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(full.len()));
    // The error comes after one `Pending`, so hyper flushes the headers and the first half
    // before it sees the failure and aborts the connection.
    let failure = futures_util::stream::once(async {
        tokio::task::yield_now().await;
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "truncated by rule",
        ))
    });
    let body = futures_util::StreamExt::chain(futures_util::stream::iter([Ok(half)]), failure);
    Response::from_parts(parts, Body::from_stream(body))
}

const HTML_LOGIN: &str = "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in</title></head>\
<body><h1>Sign in to continue</h1><form method=\"post\" action=\"/login\"><label>Email <input name=\"email\"></label>\
<label>Password <input name=\"password\" type=\"password\"></label><button>Sign in</button></form></body></html>";
