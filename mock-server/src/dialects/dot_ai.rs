//! The dot-ai MCP server's OAuth and REST API as the `dot-ai` Go CLI uses them
//! (`../shared/SEED-CLIENTS.md` §5): every OAuth path at the root (`/register`, `/authorize`,
//! `/token`, no discovery), a new confidential client per login, no refresh token (its server
//! issues none), and the hosted calls every command makes (`GET /api/v1/tools`) or a `use`
//! action needs (`GET /api/v1/namespaces`), answered `{"success":true,"data":...}`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{HeaderValue, StatusCode, header};

use crate::dialect::DialectSpec;
use crate::hosted;
use crate::model::Shared;
use crate::model::grants::TokenPair;
use crate::oauth;
use crate::request::Ctx;

/// The dot-ai dialect.
#[derive(Debug)]
pub(crate) struct DotAi;

impl DialectSpec for DotAi {
    fn routes(&self) -> Router<Arc<Shared>> {
        routes()
    }

    /// dot-ai registers a new client on every login; this one serves scenarios that script a
    /// fixed client.
    fn native_client_id(&self) -> &'static str {
        "dot-ai-cli"
    }

    fn canonical_paths(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("/register", "/oauth/register"),
            ("/authorize", "/oauth/authorize"),
            ("/token", "/oauth/token"),
        ]
    }

    /// Its server issues no refresh token (the CLI never refreshes: it logs in again).
    fn token_extras(
        &self,
        _pair: &TokenPair,
        body: &mut serde_json::Map<String, serde_json::Value>,
    ) {
        body.remove("refresh_token");
        body.remove("refresh_token_expires_in");
    }
}

/// The routes of the dot-ai dialect.
fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/register", post(oauth::register::register))
        .route("/authorize", get(oauth::authorize::authorize))
        .route("/token", post(oauth::token::token))
        .route("/api/v1/tools", get(tools))
        .route("/api/v1/namespaces", get(namespaces))
}

/// dot-ai's 401: `{"success":false,"error":{"code":"UNAUTHORIZED",...}}` with a Bearer
/// challenge naming the protected-resource metadata (RFC 9728 §5.1).
struct Unauthorized(String);

impl IntoResponse for Unauthorized {
    fn into_response(self) -> Response {
        let mut resp = (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({
                "success": false,
                "error": { "code": "UNAUTHORIZED", "message": "Authentication required" },
            })),
        )
            .into_response();
        let challenge = format!(
            "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource\"",
            self.0
        );
        let value = HeaderValue::from_str(&challenge)
            // The issuer is the mock's own URL; should it hold a byte a header cannot, the
            // plain challenge still tells the client to authenticate.
            .unwrap_or(HeaderValue::from_static("Bearer"));
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        resp
    }
}

/// `{"success":true,"data":data}` for a valid access token, else dot-ai's 401.
fn hosted_ok(s: &Shared, ctx: &Ctx, data: &serde_json::Value) -> Result<Response, Unauthorized> {
    match hosted::caller(s, ctx) {
        Ok(_) => {}
        // The engine's reason (missing, expired, revoked) is in the journal's status; the
        // product's body names none.
        Err(_reason) => return Err(Unauthorized(s.issuer())),
    }
    Ok(Json(serde_json::json!({ "success": true, "data": data })).into_response())
}

/// `GET /api/v1/tools`: sent first by every command, `auth status` and `auth logout` too.
async fn tools(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, Unauthorized> {
    hosted_ok(&s, &ctx, &serde_json::json!({ "tools": [] }))
}

/// `GET /api/v1/namespaces`: the hosted call of `dot-ai namespaces`.
async fn namespaces(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, Unauthorized> {
    hosted_ok(&s, &ctx, &serde_json::json!({ "namespaces": ["default"] }))
}
