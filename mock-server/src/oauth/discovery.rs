//! Authorization server metadata (RFC 8414), OpenID provider metadata (OIDC Discovery §3) and
//! the JWK Set.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::config::SigningAlgorithm;
use crate::model::{Shared, lock};
use crate::oauth_error::OAuthError;

/// Every scope a client may be allowed (`scopes` on `[[clients]]` defaults to these).
pub(crate) const SCOPES_SUPPORTED: [&str; 5] =
    ["openid", "profile", "email", "offline_access", "sync"];

/// The metadata document; `openid` adds what OIDC Discovery §3 requires of an OpenID provider.
fn metadata(s: &Shared, openid: bool) -> serde_json::Value {
    let (issuer, registration, alg, openid_enabled, grants) = {
        let st = lock(&s.state);
        let issuer = st
            .config
            .issuer
            .clone()
            .unwrap_or_else(|| s.base_url.clone());
        (
            issuer,
            st.config.registration.enabled,
            st.config.tokens.algorithm,
            st.config.openid.enabled,
            st.config.grant_types_supported.clone(),
        )
    };
    let base = &s.base_url;
    let mut m = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "device_authorization_endpoint": format!("{base}/oauth/device_authorization"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "jwks_uri": format!("{base}/jwks.json"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "scopes_supported": SCOPES_SUPPORTED,
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{base}/api/v1/meta"),
    });
    if registration {
        m["registration_endpoint"] = format!("{base}/oauth/register").into();
    }
    if !openid_enabled {
        // Nothing OpenID is advertised when it is off (`[openid] enabled = false`).
        m["scopes_supported"] = SCOPES_SUPPORTED
            .iter()
            .filter(|s| **s != "openid")
            .copied()
            .collect();
    }
    if openid && openid_enabled {
        m["claims_supported"] = serde_json::json!([
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "at_hash",
            "name",
            "email",
        ]);
        m["subject_types_supported"] = serde_json::json!(["public"]);
        m["id_token_signing_alg_values_supported"] = serde_json::json!([match alg {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Es256 => "ES256",
        }]);
        m["userinfo_endpoint"] = format!("{base}/api/v1/me").into();
    }
    m
}

/// `GET /.well-known/oauth-authorization-server`.
pub(crate) async fn oauth_metadata(State(s): State<Arc<Shared>>) -> Response {
    Json(metadata(&s, false)).into_response()
}

/// `GET /.well-known/openid-configuration`: 404 when OpenID is off.
pub(crate) async fn openid_metadata(State(s): State<Arc<Shared>>) -> Result<Response, OAuthError> {
    if !lock(&s.state).config.openid.enabled {
        return Err(OAuthError::new(
            404,
            "not_found",
            "OpenID Connect is off ([openid] enabled = false); use /.well-known/oauth-authorization-server",
        ));
    }
    Ok(Json(metadata(&s, true)).into_response())
}

/// `GET /jwks.json`.
pub(crate) async fn jwks(State(s): State<Arc<Shared>>) -> Result<Response, OAuthError> {
    let alg = lock(&s.state).config.tokens.algorithm;
    let jwks = s
        .signer
        .jwks(alg)
        .map_err(|e| OAuthError::server_error(&format!("failed to {e}")))?;
    Ok(Json(jwks).into_response())
}
