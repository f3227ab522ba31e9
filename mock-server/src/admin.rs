//! The admin API under `/__admin/` (loopback only) and the operations it shares with the Rust
//! API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;

use crate::admin_token::AdminToken;
use crate::clock::MAX_SECONDS;
use crate::config::Config;
use crate::dialects;
use crate::error::Error;
use crate::model::grants::SignIn;
use crate::model::state::{DeviceDecision, State as ModelState};
use crate::model::{Shared, lock, rule_slots};
use crate::oauth_error::OAuthError;
use crate::request::{Ctx, RequestCtx};
use crate::rules::{Action, HoldOrder, Rule, RuleSlot, release};

/// Lets every request waiting at `name`'s barrier through; returns how many.
pub(crate) fn release_hold(s: &Shared, runtime: &tokio::runtime::Handle, name: &str) -> usize {
    let order = lock(&s.rules)
        .iter()
        .find_map(|slot| match &slot.rule.action {
            Action::Hold { order, .. } if slot.rule.name == name => Some(*order),
            _ => None,
        })
        .unwrap_or(HoldOrder::Arrival);
    let tickets = s.holds.take(name);
    let n = tickets.len();
    // The release task ends by itself once every ticket is processed; nobody needs its result.
    drop(runtime.spawn(release(tickets, order)));
    n
}

/// Mints an access token for `username` as a login would (its own token family, the
/// configured lifetime, the first configured client), so that a scenario can hand a CLI a
/// real issued secret through a flag, the environment, stdin or a file; the token joins
/// [`crate::MockServer::issued_secrets`], so every leak and file invariant knows it.
pub(crate) fn mint_token(s: &Shared, username: &str) -> Result<String, Error> {
    let client_id = {
        let st = lock(&s.state);
        if st.user(username).is_none() {
            return Err(Error::UnknownUser {
                username: username.to_owned(),
            });
        }
        st.config
            .clients
            .first()
            .map_or_else(|| "cliauth".to_owned(), |c| c.client_id.clone())
    };
    s.issue_new(username, &client_id, "", "admin_mint", SignIn::default())
        .map(|pair| pair.access_token)
        .map_err(|e| Error::Mint {
            reason: e.to_string(),
        })
}

/// Replaces the configuration (rules included); issued tokens stay valid.
pub(crate) fn replace_config(s: &Shared, config: Config) {
    // Both locks at once (state first, as everywhere), so that no request sees the new rules
    // with the old configuration.
    let mut st = lock(&s.state);
    *lock(&s.rules) = rule_slots(&config);
    st.config = config;
}

/// Forgets every token, code, rule firing and journal entry, and resets the clock.
pub(crate) fn reset(s: &Shared, runtime: &tokio::runtime::Handle) {
    for group in s.holds.take_all() {
        // See `release_hold`: the task finishes on its own.
        drop(runtime.spawn(release(group, HoldOrder::Arrival)));
    }
    let mut st = lock(&s.state);
    let config = st.config.clone();
    let capacity = st.retention.capacity();
    *lock(&s.rules) = rule_slots(&config);
    *st = ModelState::with_capacity(config, capacity);
    drop(st);
    lock(&s.journal).clear();
    s.clock.reset();
}

/// Everything the admin handlers need.
#[derive(Debug, Clone)]
pub(crate) struct AdminState {
    pub(crate) shared: Arc<Shared>,
    pub(crate) runtime: tokio::runtime::Handle,
}

/// The `/__admin` router; every route answers loopback peers only.
pub(crate) fn router(state: AdminState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/config", post(load_config).put(load_config))
        .route("/rules", post(add_rule).delete(clear_rules))
        .route("/device/approve", post(approve))
        .route("/device/deny", post(deny))
        .route("/tokens/revoke", post(revoke_user))
        .route("/tokens/expire", post(expire))
        .route("/tokens/mint", post(mint))
        .route("/clock/advance", post(advance))
        .route("/journal", get(journal))
        .route("/secrets", get(secrets))
        .route("/holds/{name}/release", post(release_named))
        .route("/reset", post(reset_all))
        .route_layer(axum::middleware::from_fn_with_state(
            state.shared.admin_token.clone(),
            loopback_only,
        ))
        .with_state(state)
}

/// Refuses a peer that is not on loopback before any admin handler runs, so no route can
/// forget the check; with an admin token configured, another peer that presents it as its
/// bearer is let in. A request without its context (which the fault layer always attaches) or
/// without a known peer (a mounted router served without connect info) is refused too.
async fn loopback_only(
    State(token): State<Option<AdminToken>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let ctx = req.extensions().get::<Arc<RequestCtx>>();
    let peer = ctx.and_then(|ctx| ctx.peer);
    let bearer = ctx.and_then(|ctx| ctx.bearer.as_deref());
    match admin_allowed(peer, bearer, token.as_ref()) {
        Ok(()) => next.run(req).await,
        Err(why) => OAuthError::new(403, "access_denied", why).into_response(),
    }
}

/// The admin API's access rule: loopback peers always; another peer only with the configured
/// admin token as its bearer.
pub(crate) fn admin_allowed(
    peer: Option<SocketAddr>,
    bearer: Option<&str>,
    token: Option<&AdminToken>,
) -> Result<(), &'static str> {
    let Some(peer) = peer else {
        return Err("the admin API answers loopback peers only (the peer is unknown)");
    };
    // An IPv4 peer on a dual-stack socket arrives as ::ffff:a.b.c.d.
    if peer.ip().to_canonical().is_loopback() {
        return Ok(());
    }
    match (token, bearer) {
        (None, _) => Err(
            "the admin API answers loopback peers only; start the server with --admin-token to open it to other hosts",
        ),
        (Some(_), None) => Err("the admin API needs the admin token as a bearer from this peer"),
        (Some(t), Some(b)) if t.matches(b) => Ok(()),
        (Some(_), Some(_)) => Err("the bearer is not the admin token"),
    }
}

fn json_body(ctx: &RequestCtx) -> Result<serde_json::Value, OAuthError> {
    match &ctx.json {
        Some(Ok(v)) => Ok(v.clone()),
        Some(Err(e)) => Err(OAuthError::invalid_request(e)),
        None => Ok(serde_json::json!({})),
    }
}

fn ok(body: serde_json::Value) -> Response {
    Json(body).into_response()
}

async fn health(State(a): State<AdminState>) -> Response {
    ok(serde_json::json!({
        "status": "ok", "url": a.shared.base_url, "issuer": a.shared.issuer(),
        "pid": std::process::id(), "clock_offset_ms": a.shared.clock.offset_ms(),
    }))
}

async fn load_config(State(a): State<AdminState>, ctx: Ctx, body: String) -> Response {
    let parsed = match &ctx.json {
        Some(Ok(v)) => serde_json::from_value::<Config>(v.clone())
            .map_err(|e| e.to_string())
            .and_then(|c| c.validate().map(|()| c)),
        Some(Err(e)) => Err(e.clone()),
        None => Config::from_toml_str(&body).map_err(|e| e.to_string()),
    };
    let running = a.shared.dialect;
    let parsed = parsed.and_then(|mut c: Config| {
        if c.dialect == running {
            dialects::spec(running).apply_config_defaults(&mut c);
            Ok(c)
        } else {
            Err(format!(
                "dialect: the server speaks {running}; the dialect is fixed at start (got {})",
                c.dialect
            ))
        }
    });
    match parsed {
        Ok(config) => {
            replace_config(&a.shared, config);
            ok(serde_json::json!({ "ok": true }))
        }
        Err(e) => OAuthError::new(400, "invalid_config", &e).into_response(),
    }
}

async fn add_rule(State(a): State<AdminState>, ctx: Ctx, body: String) -> Response {
    let rule = match &ctx.json {
        Some(Ok(v)) => serde_json::from_value::<Rule>(v.clone()).map_err(|e| e.to_string()),
        Some(Err(e)) => Err(e.clone()),
        None => toml::from_str::<Rule>(&body).map_err(|e| e.to_string()),
    };
    match rule.and_then(|r| r.validate().map(|()| r)) {
        Ok(rule) => {
            lock(&a.shared.rules).push(RuleSlot::new(rule));
            ok(serde_json::json!({ "ok": true }))
        }
        Err(e) => OAuthError::new(400, "invalid_rule", &e).into_response(),
    }
}

async fn clear_rules(State(a): State<AdminState>) -> Response {
    lock(&a.shared.rules).clear();
    ok(serde_json::json!({ "ok": true }))
}

fn decide_device(a: &AdminState, ctx: &RequestCtx, approve: bool) -> Result<Response, OAuthError> {
    let body = json_body(ctx)?;
    let user_code = body.get("user_code").and_then(serde_json::Value::as_str);
    let decision = if approve {
        let default_user = lock(&a.shared.state).config.device.user.clone();
        let user = body
            .get("username")
            .and_then(serde_json::Value::as_str)
            .map_or(default_user, str::to_owned);
        DeviceDecision::Approved(user)
    } else {
        DeviceDecision::Denied
    };
    let code = a
        .shared
        .decide_device(user_code, decision)
        .map_err(|e| OAuthError::new(404, "unknown_device_code", &format!("failed to {e}")))?;
    Ok(ok(serde_json::json!({ "ok": true, "user_code": code })))
}

async fn approve(State(a): State<AdminState>, ctx: Ctx) -> Result<Response, OAuthError> {
    decide_device(&a, &ctx, true)
}

async fn deny(State(a): State<AdminState>, ctx: Ctx) -> Result<Response, OAuthError> {
    decide_device(&a, &ctx, false)
}

async fn revoke_user(State(a): State<AdminState>, ctx: Ctx) -> Result<Response, OAuthError> {
    let body = json_body(&ctx)?;
    if let Some(token) = body.get("token").and_then(serde_json::Value::as_str) {
        a.shared.revoke_token(token, "admin");
        return Ok(ok(serde_json::json!({ "ok": true })));
    }
    let Some(username) = body.get("username").and_then(serde_json::Value::as_str) else {
        return Err(OAuthError::invalid_request(
            "send {\"username\": ...} or {\"token\": ...}",
        ));
    };
    let families = a.shared.revoke_user(username);
    Ok(ok(
        serde_json::json!({ "ok": true, "families_revoked": families }),
    ))
}

async fn mint(State(a): State<AdminState>, ctx: Ctx) -> Result<Response, OAuthError> {
    let body = json_body(&ctx)?;
    let Some(username) = body.get("username").and_then(serde_json::Value::as_str) else {
        return Err(OAuthError::invalid_request("send {\"username\": ...}"));
    };
    match mint_token(&a.shared, username) {
        Ok(token) => Ok(ok(serde_json::json!({ "access_token": token }))),
        Err(e) => Err(OAuthError::invalid_request(&format!("failed to {e}"))),
    }
}

async fn expire(State(a): State<AdminState>) -> Response {
    let n = a.shared.expire_access_tokens();
    ok(serde_json::json!({ "ok": true, "expired": n }))
}

async fn advance(State(a): State<AdminState>, ctx: Ctx) -> Result<Response, OAuthError> {
    let body = json_body(&ctx)?;
    let (field, step, max, per_unit) = match (body.get("ms"), body.get("seconds")) {
        (Some(v), _) => ("ms", v.as_u64(), MAX_SECONDS * 1000, 1),
        (None, Some(v)) => ("seconds", v.as_u64(), MAX_SECONDS, 1000),
        (None, None) => ("seconds", None, MAX_SECONDS, 1000),
    };
    let Some(step) = step else {
        return Err(OAuthError::invalid_request(
            "send {\"seconds\": N} or {\"ms\": N} with N a whole number",
        ));
    };
    if step > max {
        return Err(OAuthError::invalid_request(&format!(
            "{field}: {step} is out of range, at most {max} (the clock runs at most {MAX_SECONDS} seconds, 100 years, ahead of real time)"
        )));
    }
    let offset_ms = a
        .shared
        .clock
        .try_advance(Duration::from_millis(step * per_unit))
        .map_err(|e| {
            OAuthError::invalid_request(&format!(
                "{field}: {step} is out of range, at most the rest of the range: {e}; POST /__admin/reset puts the clock back"
            ))
        })?;
    Ok(ok(
        serde_json::json!({ "ok": true, "offset_ms": offset_ms, "now_ms": a.shared.clock.now_ms() }),
    ))
}

async fn journal(State(a): State<AdminState>, ctx: Ctx) -> Result<Response, OAuthError> {
    let query = ctx
        .query
        .as_ref()
        .map_err(|e| OAuthError::invalid_request(e))?;
    let number = |name: &str| -> Result<Option<u64>, OAuthError> {
        query
            .get(name)
            .map(|v| {
                v.parse::<u64>().map_err(|e| {
                    OAuthError::invalid_request(&format!(
                        "{name}: {v:?} is not a whole number ({e}); send ?since=SEQ&limit=N"
                    ))
                })
            })
            .transpose()
    };
    let since = number("since")?.unwrap_or(0);
    let limit = number("limit")?.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    // Pointer copies under the lock; the JSON is built after it is released, so requests
    // journaling meanwhile do not wait for the serializer, and on a blocking thread: a full
    // journal is megabytes of JSON (hundreds of ms on a busy machine), which on a runtime
    // worker would stall the requests that worker serves (discovery answered in 300 ms
    // instead of 1 ms in `just bench-mock`).
    let snapshot = lock(&a.shared.journal).snapshot(since, limit);
    let body = tokio::task::spawn_blocking(move || serde_json::to_vec(&snapshot))
        .await
        .map_err(|e| OAuthError::server_error(&format!("the journal serializer stopped: {e}")))?
        .map_err(|e| OAuthError::server_error(&format!("the journal does not serialize: {e}")))?;
    Ok(([(http::header::CONTENT_TYPE, "application/json")], body).into_response())
}

async fn secrets(State(a): State<AdminState>) -> Response {
    let (secrets, dropped) = {
        let st = lock(&a.shared.state);
        (st.secrets.to_vec(), st.secrets.dropped())
    };
    ok(serde_json::json!({ "secrets": secrets, "dropped": dropped }))
}

async fn release_named(State(a): State<AdminState>, Path(name): Path<String>) -> Response {
    let n = release_hold(&a.shared, &a.runtime, &name);
    ok(serde_json::json!({ "ok": true, "released": n }))
}

async fn reset_all(State(a): State<AdminState>) -> Response {
    reset(&a.shared, &a.runtime);
    (StatusCode::OK, Json(serde_json::json!({ "ok": true }))).into_response()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use axum::body::Body;
    use tower::ServiceExt;

    use super::*;

    fn ctx(peer: &str) -> Arc<RequestCtx> {
        Arc::new(RequestCtx {
            form: None,
            json: None,
            query: Ok(HashMap::new()),
            basic: None,
            bearer: None,
            peer: Some(
                peer.parse::<SocketAddr>()
                    .expect("a literal socket address"),
            ),
        })
    }

    async fn status_for(ctx: Option<Arc<RequestCtx>>) -> StatusCode {
        let app: Router = Router::new()
            .route("/health", get(|| async { "ok" }))
            .route_layer(axum::middleware::from_fn_with_state(None, loopback_only));
        let mut req = http::Request::get("/health")
            .body(Body::empty())
            .expect("a valid request");
        if let Some(ctx) = ctx {
            req.extensions_mut().insert(ctx);
        }
        app.oneshot(req).await.expect("infallible").status()
    }

    #[test]
    fn a_non_loopback_peer_needs_the_admin_token_as_its_bearer() {
        let peer = |s: &str| Some(s.parse::<SocketAddr>().expect("a literal socket address"));
        let token = AdminToken::new("s3cret-admin");
        let lan = peer("192.0.2.7:5000");
        assert!(admin_allowed(lan, None, None).is_err());
        assert!(
            admin_allowed(lan, Some("s3cret-admin"), None).is_err(),
            "no token configured"
        );
        assert!(admin_allowed(lan, None, token.as_ref()).is_err());
        assert!(admin_allowed(lan, Some("s3cret-admiN"), token.as_ref()).is_err());
        assert!(admin_allowed(lan, Some("s3cret"), token.as_ref()).is_err());
        assert_eq!(
            admin_allowed(lan, Some("s3cret-admin"), token.as_ref()),
            Ok(())
        );
        for local in ["127.0.0.1:1", "[::1]:1", "[::ffff:127.0.0.1]:1"] {
            assert_eq!(
                admin_allowed(peer(local), None, token.as_ref()),
                Ok(()),
                "{local}"
            );
            assert_eq!(admin_allowed(peer(local), None, None), Ok(()), "{local}");
        }
        assert!(admin_allowed(peer("[::ffff:192.0.2.7]:1"), None, None).is_err());
        assert!(admin_allowed(None, Some("s3cret-admin"), token.as_ref()).is_err());
        assert!(AdminToken::new("").is_none());
        assert!(!format!("{token:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn admin_routes_answer_loopback_peers_only() {
        assert_eq!(
            status_for(Some(ctx("127.0.0.1:5000"))).await,
            StatusCode::OK
        );
        assert_eq!(status_for(Some(ctx("[::1]:5000"))).await, StatusCode::OK);
        assert_eq!(
            status_for(Some(ctx("192.0.2.7:5000"))).await,
            StatusCode::FORBIDDEN
        );
        assert_eq!(status_for(None).await, StatusCode::FORBIDDEN);
    }

    #[tokio::test]
    async fn admin_routes_refuse_a_peer_they_cannot_see() {
        // A mounted router served without connect info knows no peer.
        let unknown = Arc::new(RequestCtx {
            form: None,
            json: None,
            query: Ok(HashMap::new()),
            basic: None,
            bearer: None,
            peer: None,
        });
        assert_eq!(status_for(Some(unknown)).await, StatusCode::FORBIDDEN);
    }
}
