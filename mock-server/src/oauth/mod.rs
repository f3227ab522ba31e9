//! The OAuth 2.0 endpoints and the wire shapes they share (token responses).

pub(crate) mod authorize;
pub(crate) mod client_auth;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod register;
pub(crate) mod revoke;
pub(crate) mod token;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};

use crate::dialect::Spec;
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

/// The token response body of an issued pair (RFC 6749 §5.1) with the dialect's extras.
pub(crate) fn token_json(pair: &TokenPair, spec: Spec) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert("access_token".to_owned(), pair.access_token.clone().into());
    body.insert("token_type".to_owned(), "Bearer".into());
    body.insert("expires_in".to_owned(), pair.expires_in.into());
    if let Some(refresh) = &pair.refresh_token {
        body.insert("refresh_token".to_owned(), refresh.clone().into());
    }
    body.insert("scope".to_owned(), pair.scope.clone().into());
    if let Some(id_token) = &pair.id_token {
        body.insert("id_token".to_owned(), id_token.clone().into());
    }
    spec.token_extras(pair, &mut body);
    serde_json::Value::Object(body)
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
