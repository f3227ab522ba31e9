//! Authorization server metadata (RFC 8414) and the JWK Set.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::config::{DEVICE_GRANT, SigningAlgorithm};
use crate::model::{Shared, lock};
use crate::oauth_error::OAuthError;

fn metadata(s: &Shared, openid: bool) -> serde_json::Value {
    let (issuer, registration, alg) = {
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
        "grant_types_supported": ["authorization_code", "refresh_token", DEVICE_GRANT, "password"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
        "scopes_supported": ["openid", "profile", "email", "offline_access", "sync"],
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{base}/api/v1/meta"),
    });
    if registration {
        m["registration_endpoint"] = format!("{base}/oauth/register").into();
    }
    if openid {
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

/// `GET /.well-known/openid-configuration`.
pub(crate) async fn openid_metadata(State(s): State<Arc<Shared>>) -> Response {
    Json(metadata(&s, true)).into_response()
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
