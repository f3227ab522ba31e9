//! The OAuth 2.0 endpoints and the wire shapes they share (token responses).

pub(crate) mod authorize;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod register;
pub(crate) mod revoke;
pub(crate) mod token;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use crate::config::Dialect;
use crate::model::grants::{GrantError, TokenPair};
use crate::oauth_error::{OAuthError, Outcome};

impl From<GrantError> for OAuthError {
    fn from(e: GrantError) -> Self {
        match e {
            GrantError::UnknownRefreshToken
            | GrantError::OtherClient
            | GrantError::Expired
            | GrantError::Revoked { .. } => Self::invalid_grant(&e.to_string()),
            GrantError::ScopeExceeded => Self::new(400, "invalid_scope", &e.to_string()),
            GrantError::BenignReplay { retry_after } => Self::benign_replay(retry_after),
            GrantError::ReuseDetected => {
                Self::invalid_grant(&e.to_string()).with_outcome("reuse_detected")
            }
            GrantError::Signing(e) => Self::server_error(&format!("failed to {e}")),
        }
    }
}

/// The token response body of an issued pair (RFC 6749 §5.1) in the server's dialect.
pub(crate) fn token_json(pair: &TokenPair, dialect: Dialect) -> serde_json::Value {
    let mut body = serde_json::json!({
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "scope": pair.scope,
    });
    if dialect == Dialect::SpecKitty {
        // spec-kitty requires `session_id` and reads the refresh token's expiry.
        body["session_id"] = crate::dialect::session_id(pair.family).into();
        body["refresh_token_expires_in"] = pair.refresh_expires_in.into();
        body["refresh_token_expires_at"] =
            crate::dialect::rfc3339(pair.issued_ms + pair.refresh_expires_in * 1000).into();
    }
    body
}

/// A token-endpoint success (RFC 6749 §5.1): JSON with `no-store`.
pub(crate) fn token_response(body: serde_json::Value, outcome: Option<&'static str>) -> Response {
    let mut resp = Json(body).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(o) = outcome {
        resp.extensions_mut().insert(Outcome(o));
    }
    resp
}
