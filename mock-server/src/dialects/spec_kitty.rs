//! The Spec Kitty SaaS as `spec-kitty-cli` 3.2.7 uses it (`../shared/SEED-CLIENTS.md` §4.1).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;

use crate::clock::rfc3339;
use crate::dialect::DialectSpec;
use crate::hosted::{self, Caller};
use crate::model::grants::TokenPair;
use crate::model::{Shared, lock};
use crate::oauth;
use crate::oauth_error::OAuthError;
use crate::request::Ctx;
use crate::rules::CatalogName;
use crate::tokens::random_secret;

/// The Spec Kitty dialect.
#[derive(Debug)]
pub(crate) struct SpecKitty;

impl DialectSpec for SpecKitty {
    fn routes(&self) -> Router<Arc<Shared>> {
        routes()
    }

    fn native_client_id(&self) -> &'static str {
        "cli_native"
    }

    fn canonical_paths(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("/oauth/device", "/oauth/device_authorization"),
            ("/api/v1/events/batch/", "/api/v1/ingress"),
            ("/api/v1/session-status", "/api/v1/session"),
        ]
    }

    /// spec-kitty requires `session_id` and reads the refresh token's expiry.
    fn token_extras(
        &self,
        pair: &TokenPair,
        body: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        body.insert("session_id".to_owned(), session_id(pair.family).into());
        body.insert(
            "refresh_token_expires_in".to_owned(),
            pair.refresh_expires_in.into(),
        );
        body.insert(
            "refresh_token_expires_at".to_owned(),
            rfc3339(pair.issued_ms + pair.refresh_expires_in * 1000).into(),
        );
    }

    /// The service confirms with `{"revoked": true}`.
    fn revoke_body(&self) -> serde_json::Value {
        serde_json::json!({ "revoked": true })
    }

    fn catalog(&self, name: CatalogName) -> Option<Response> {
        (name == CatalogName::PrivateTeamspaceRequired).then(missing_private_team)
    }
}

/// The session id of a token family, as spec-kitty's `session_id` (not a secret: it names
/// the session, it does not grant anything).
fn session_id(family: u64) -> String {
    format!("sess_{family:08}")
}

/// The routes of the Spec Kitty dialect.
fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth/authorize", get(oauth::authorize::authorize))
        .route("/oauth/device", post(oauth::device::authorization))
        .route(
            "/device",
            get(oauth::device::page_get).post(oauth::device::page_post),
        )
        .route("/oauth/token", post(oauth::token::token))
        .route("/oauth/revoke", post(oauth::revoke::revoke))
        .route("/api/v1/me", get(me))
        .route("/api/v1/session-status", get(session_status))
        .route("/api/v1/sync/health/", get(sync_health))
        .route("/api/v1/events/batch/", post(events_batch))
        .route("/api/v1/ws-token", post(ws_token))
}

/// The caller with a bearer token (spec-kitty has no zero-auth mode of its own; the engine's
/// zero-auth anonymous user has no session).
fn session_of(s: &Shared, c: &Caller) -> serde_json::Value {
    let Some(token) = &c.token else {
        return serde_json::Value::Null;
    };
    let st = lock(&s.state);
    let family = st.families.get(&token.family);
    let refresh_ttl = st.config.tokens.refresh_ttl;
    serde_json::json!({
        "session_id": session_id(token.family),
        "authenticated_at": family.map(|f| rfc3339(f.started_ms)),
        "access_token_expires_at": rfc3339(token.exp_ms),
        "refresh_token_expires_at": rfc3339(token.iat_ms + refresh_ttl * 1000),
        "auth_flow": family.map(|f| f.flow),
    })
}

/// `GET /api/v1/me`: the user, non-empty `teams[]` with `is_private_teamspace`, and the session.
async fn me(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, OAuthError> {
    let c = hosted::caller(&s, &ctx)?;
    let mut body = hosted::user_json(&c.user);
    if let (Some(obj), serde_json::Value::Object(session)) =
        (body.as_object_mut(), session_of(&s, &c))
    {
        obj.extend(session);
    }
    Ok(Json(body).into_response())
}

/// `GET /api/v1/session-status`: `{"session_id","active":true}`; 401 for a bad token.
async fn session_status(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, OAuthError> {
    let c = hosted::caller(&s, &ctx)?;
    Ok(Json(serde_json::json!({
        "session_id": c.token.as_ref().map(|t| session_id(t.family)),
        "active": true,
    }))
    .into_response())
}

/// `GET /api/v1/sync/health/`: 200 for a valid bearer, 401 otherwise.
async fn sync_health(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, OAuthError> {
    hosted::caller(&s, &ctx)?;
    Ok(Json(serde_json::json!({ "status": "ok" })).into_response())
}

/// The 403 of direct ingress without a Private Teamspace, in the service's own shape.
fn missing_private_team() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(serde_json::json!({
            "error_code": "direct_ingress_missing_private_team",
            "category": "direct_ingress_missing_private_team",
            "message": "Private Teamspace required for direct ingress",
        })),
    )
        .into_response()
}

/// `POST /api/v1/events/batch/` (JSON `{"events":[{"event_id",...}]}`): the ingress of the
/// engine under the service's shapes. A gzip body is refused with 415: the mock has no
/// decompressor (no such crate in this workspace), which `SEED-CLIENTS.md` lists as optional.
async fn events_batch(
    State(s): State<Arc<Shared>>,
    ctx: Ctx,
    headers: http::HeaderMap,
) -> Result<Response, OAuthError> {
    let c = hosted::caller(&s, &ctx)?;
    if !hosted::has_private_teamspace(&c.user) {
        return Ok(missing_private_team());
    }
    if headers
        .get(http::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"))
    {
        return Ok((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Json(serde_json::json!({ "error": "cliauth-mock cannot read gzip bodies" })),
        )
            .into_response());
    }
    let events = match &ctx.json {
        Some(Ok(v)) => v.get("events").and_then(serde_json::Value::as_array),
        Some(Err(e)) => return Err(OAuthError::invalid_request(e)),
        None => None,
    };
    let Some(events) = events.filter(|e| !e.is_empty()) else {
        return Ok((
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({ "error": "No events provided" })),
        )
            .into_response());
    };
    let results: Vec<serde_json::Value> = events
        .iter()
        .map(|e| serde_json::json!({ "event_id": e.get("event_id"), "status": "success" }))
        .collect();
    Ok(Json(serde_json::json!({ "results": results })).into_response())
}

/// `POST /api/v1/ws-token` (JSON `{"team_id"}`): a short-lived WebSocket token for a team the
/// caller belongs to, else 403 `not_a_team_member`.
async fn ws_token(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, OAuthError> {
    let c = hosted::caller(&s, &ctx)?;
    let team = match &ctx.json {
        Some(Ok(v)) => v.get("team_id").and_then(serde_json::Value::as_str),
        _ => None,
    };
    let member = team.is_some_and(|id| {
        hosted::user_json(&c.user)["teams"]
            .as_array()
            .is_some_and(|teams| teams.iter().any(|t| t["id"] == id))
    });
    if !member {
        return Ok((
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({ "error": "not_a_team_member" })),
        )
            .into_response());
    }
    let token = random_secret("wst_");
    lock(&s.state).secrets.push(token.clone());
    let ws_url = format!("{}/ws", s.base_url.replacen("http://", "ws://", 1));
    Ok(Json(serde_json::json!({
        "ws_token": token,
        "ws_url": ws_url,
        "expires_in": 300,
        "session_id": c.token.as_ref().map(|t| session_id(t.family)),
    }))
    .into_response())
}
