//! The SkillMeat issuer and API as `skillmeat` 0.74.0 uses them (`../shared/SEED-CLIENTS.md`
//! §4.2). The API answers errors FastAPI's way (`{"detail": ...}`).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{HeaderValue, StatusCode, header};

use crate::clock::rfc3339;
use crate::dialect::DialectSpec;
use crate::hosted::{self, Caller};
use crate::model::{Shared, lock};
use crate::oauth;
use crate::oauth_error::OAuthError;
use crate::request::{Ctx, RequestCtx};
use crate::tokens::random_secret;

/// The SkillMeat dialect.
#[derive(Debug)]
pub(crate) struct Skillmeat;

impl DialectSpec for Skillmeat {
    fn routes(&self) -> Router<Arc<Shared>> {
        routes()
    }

    fn native_client_id(&self) -> &'static str {
        "skillmeat-cli"
    }

    fn canonical_paths(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("/oauth/device/authorize", "/oauth/device_authorization"),
            ("/api/v1/auth/me", "/api/v1/me"),
        ]
    }
}

/// The routes of the SkillMeat dialect (issuer and API on one origin).
fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/oauth/device/authorize",
            post(oauth::device::authorization),
        )
        .route(
            "/device",
            get(oauth::device::page_get).post(oauth::device::page_post),
        )
        .route("/oauth/token", post(oauth::token::token))
        .route("/api/v1/auth/me", get(me))
        .route("/api/v1/api-keys", get(list_keys).post(create_key))
}

/// FastAPI's 401 `{"detail":"Not authenticated"}`, with the engine's Bearer challenge.
struct NotAuthenticated(OAuthError);

impl IntoResponse for NotAuthenticated {
    fn into_response(self) -> Response {
        let mut resp = (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({ "detail": "Not authenticated" })),
        )
            .into_response();
        let challenge = self
            .0
            .www_authenticate
            .as_deref()
            .and_then(|w| HeaderValue::from_str(w).ok())
            .unwrap_or(HeaderValue::from_static("Bearer"));
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
        resp
    }
}

/// The caller, or FastAPI's 401.
fn authenticated(s: &Shared, ctx: &RequestCtx) -> Result<Caller, NotAuthenticated> {
    hosted::caller(s, ctx).map_err(NotAuthenticated)
}

/// `GET /api/v1/auth/me`: any valid access token of the engine works as a PAT.
async fn me(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, NotAuthenticated> {
    let c = authenticated(&s, &ctx)?;
    let user = hosted::user_json(&c.user);
    let scopes: Vec<&str> = c
        .token
        .as_ref()
        .map(|t| t.scope.split(' ').filter(|w| !w.is_empty()).collect())
        .unwrap_or_default();
    Ok(Json(serde_json::json!({
        "user_id": user["user_id"],
        "tenant_id": "tenant-default",
        "roles": ["member"],
        "scopes": scopes,
        "display_name": user["name"],
        "email": user["email"],
        "teams": user["teams"],
        "edition": "enterprise",
    }))
    .into_response())
}

/// `GET /api/v1/api-keys`: `{"items": []}`, a Bearer-protected route that proves refresh.
async fn list_keys(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, NotAuthenticated> {
    authenticated(&s, &ctx)?;
    Ok(Json(serde_json::json!({ "items": [] })).into_response())
}

/// `POST /api/v1/api-keys` (JSON `{"name"}`): 201 with a new key, shown once.
async fn create_key(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, NotAuthenticated> {
    authenticated(&s, &ctx)?;
    let name = match &ctx.json {
        Some(Ok(v)) => v
            .get("name")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
    .unwrap_or_else(|| "cli".to_owned());
    let key = random_secret("smk_");
    lock(&s.state).secrets.push(key.clone());
    let expires = rfc3339(s.clock.now_ms() + 90 * 86_400_000);
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({
            "key_prefix": key.chars().take(8).collect::<String>(),
            "key": key,
            "name": name,
            "expires_at": expires,
        })),
    )
        .into_response())
}
