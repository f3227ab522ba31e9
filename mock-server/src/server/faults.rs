//! The fault layer: the first middleware of every router the crate builds. It reads the body
//! once, parses the request context, picks the first matching rule, carries out its action and
//! journals the request with what the handler reported.
//!
//! Adding a fault action: a variant of [`Action`] (with its wire kind in `rules::action`) and
//! one arm in [`execute`] below; the compiler points at both.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode, header};
use http_body_util::{BodyExt as _, Limited};
use tokio::sync::mpsc;

use crate::dialect::Spec;
use crate::dialects;
use crate::journal::{self, JournalEntry};
use crate::model::{Shared, lock};
use crate::oauth_error::{OAuthError, Outcome, PollGap};
use crate::request::RequestCtx;
use crate::rules::{self, Action, CatalogName, RequestFacts};
use crate::tokens::fingerprint;

/// Largest request body accepted; larger ones get 413 with an RFC 6749 error body.
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// How a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Close (FIN) without an answer.
    Close,
    /// Reset (RST).
    Reset,
}

/// The listener's handle to cut the connection a request came on, in its extensions.
#[derive(Debug, Clone)]
pub(crate) struct CutSender(pub(crate) mpsc::Sender<Cut>);

/// How the connection a request came on was reached, in its extensions (for the journal).
#[derive(Debug, Clone, Default)]
pub(crate) struct Transport {
    /// The connection speaks TLS.
    pub(crate) tls: bool,
    /// The host of the `CONNECT` that opened the tunnel (interception proxy).
    pub(crate) tunnel_host: Option<Arc<str>>,
}

/// Reads the request, applies the first matching rule, routes, journals.
pub(crate) async fn layer(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let at = shared.clock.now_ms();
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let admin = path == "/__admin" || path.starts_with("/__admin/");
    let mut entry = journal::blank(parts.method.as_str(), &path, at);
    let spec = dialects::spec(shared.dialect);
    entry.canonical_path = spec.canonical_path(&path).map(str::to_owned);
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
            record(&shared, entry, admin);
            return resp;
        }
    };
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ctx = Arc::new(RequestCtx::parse(&parts, &bytes, peer));
    let form = ctx.form.as_ref().and_then(|f| f.as_ref().ok());
    let json = ctx.json.as_ref().and_then(|j| j.as_ref().ok());
    let transport = parts
        .extensions
        .get::<Transport>()
        .cloned()
        .unwrap_or_default();
    entry.tls = transport.tls;
    entry.host = transport.tunnel_host.map(|h| h.to_string()).or_else(|| {
        parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
            .or_else(|| parts.uri.authority().map(ToString::to_string))
    });
    // A JSON token body (the spacebot dialect) names its grant the same way a form does.
    entry.grant_type = form.and_then(|f| f.get("grant_type")).cloned().or_else(|| {
        json.and_then(|j| j.get("grant_type"))
            .and_then(|g| g.as_str())
            .map(str::to_owned)
    });
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
    entry.scope = form.and_then(|f| f.get("scope")).cloned().or_else(|| {
        ctx.query
            .as_ref()
            .ok()
            .and_then(|q| q.get("scope"))
            .cloned()
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
        rules::select(&mut lock(&shared.rules), &facts)
    };
    let cut = parts.extensions.remove::<CutSender>();
    parts.extensions.insert(Arc::clone(&ctx));
    let req = Request::from_parts(parts, Body::from(bytes));
    let Some((rule, action)) = selected else {
        let resp = next.run(req).await;
        finish(&shared, entry, &resp, admin);
        return resp;
    };
    entry.rule = Some(rule.clone());
    let downstream = Downstream { req, next };
    let resp = match execute(&shared, spec, &rule, action, downstream).await {
        Executed::Answer(resp) => resp,
        Executed::Cut(how, committed) => {
            if let Some(resp) = &committed {
                note_outcome(&mut entry, resp);
            }
            return cut_connection(&shared, entry, cut, how).await;
        }
    };
    finish(&shared, entry, &resp, false);
    resp
}

/// The request and the rest of the router, run at most once by an action.
struct Downstream {
    req: Request,
    next: Next,
}

impl Downstream {
    async fn run(self) -> Response {
        self.next.run(self.req).await
    }
}

/// What an action produced: a response to send, or a connection to cut (with the response
/// the handler committed first, for `commit_then_reset`).
enum Executed {
    Answer(Response),
    Cut(Cut, Option<Response>),
}

/// Carries out one rule's action.
async fn execute(
    shared: &Shared,
    spec: Spec,
    rule: &str,
    action: Action,
    downstream: Downstream,
) -> Executed {
    let resp = match action {
        Action::Status {
            status,
            body,
            headers,
        } => status_response(status, body, &headers),
        Action::Delay { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            downstream.run().await
        }
        Action::SlowFirstByte { ms } => {
            let resp = downstream.run().await;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            resp
        }
        Action::Drop => return Executed::Cut(Cut::Close, None),
        Action::Reset => return Executed::Cut(Cut::Reset, None),
        Action::CommitThenReset => {
            let resp = downstream.run().await;
            return Executed::Cut(Cut::Reset, Some(resp));
        }
        Action::Truncate => truncate(downstream.run().await).await,
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
        Action::Catalog { name } => spec.catalog(name).unwrap_or_else(|| catalog(name)),
        Action::Hold { count, order } => {
            let (go, full) = shared.holds.join(rule, count);
            if let Some(group) = full {
                // The release task finishes by itself once each held request has run.
                drop(tokio::spawn(rules::release(group, order)));
            }
            match go.await {
                Ok(done) => {
                    let resp = downstream.run().await;
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
                    downstream.run().await
                }
            }
        }
    };
    Executed::Answer(resp)
}

/// Journals the request, then has the listener cut its connection and never answers. Under a
/// server other than the mock's own listener (a mounted [`MockServer::router`](crate::MockServer::router)) there is no
/// connection to cut; the request then gets a 502 that says so.
async fn cut_connection(
    shared: &Shared,
    mut entry: JournalEntry,
    cut: Option<CutSender>,
    how: Cut,
) -> Response {
    entry.status = 0;
    record(shared, entry, false);
    let Some(CutSender(cut)) = cut else {
        return OAuthError::new(
            502,
            "connection_fault_unsupported",
            "this fault cuts the connection, which only the mock's own listener can do",
        )
        .into_response();
    };
    if let Err(e) = cut.send(how).await {
        tracing::debug!(error = %e, "connection already gone");
    }
    // The connection task drops this future together with the connection.
    std::future::pending::<Response>().await
}

fn finish(shared: &Shared, mut entry: JournalEntry, resp: &Response, admin: bool) {
    entry.status = resp.status().as_u16();
    note_outcome(&mut entry, resp);
    record(shared, entry, admin);
}

fn record(shared: &Shared, entry: JournalEntry, admin: bool) {
    // Admin calls are the test's own; they stay out of the journal that counts clients.
    if !admin {
        shared.journal_request(entry);
    }
}

fn note_outcome(entry: &mut JournalEntry, resp: &Response) {
    entry.outcome = resp.extensions().get::<Outcome>().map(|o| o.0.to_owned());
    let gap = resp.extensions().get::<PollGap>();
    entry.poll_gap_ms = gap.map(|g| g.gap_ms);
    entry.poll_interval_ms = gap.map(|g| g.interval_ms);
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
            CatalogName::Unavailable => (
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
