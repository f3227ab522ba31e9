//! Dynamic client registration (RFC 7591).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;

use crate::config::{AuthMethod, ClientSecret};
use crate::model::state::RegisteredClient;
use crate::model::{Shared, lock};
use crate::oauth_error::OAuthError;
use crate::request::{Ctx, RequestCtx};
use crate::tokens::random_secret;

/// `POST /oauth/register`.
pub(crate) async fn register(
    State(s): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    let body = handle(&s, &ctx)?;
    let mut resp = (StatusCode::CREATED, Json(body)).into_response();
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(resp)
}

fn handle(s: &Shared, ctx: &RequestCtx) -> Result<serde_json::Value, OAuthError> {
    let (enabled, fail) = {
        let st = lock(&s.state);
        (st.config.registration.enabled, st.config.registration.fail)
    };
    if !enabled {
        return Err(OAuthError::new(
            404,
            "not_found",
            "dynamic client registration is disabled",
        ));
    }
    let meta = match &ctx.json {
        Some(Ok(v)) if v.is_object() => v,
        Some(Ok(_)) => {
            return Err(OAuthError::new(
                400,
                "invalid_client_metadata",
                "the body must be a JSON object",
            ));
        }
        Some(Err(e)) => return Err(OAuthError::new(400, "invalid_client_metadata", e)),
        None => {
            return Err(OAuthError::invalid_request(
                "the body must be application/json",
            ));
        }
    };
    if fail {
        return Err(OAuthError::new(
            400,
            "invalid_client_metadata",
            "scripted registration failure",
        ));
    }
    let strings = |key: &str| -> Result<Option<Vec<String>>, OAuthError> {
        match meta.get(key) {
            None => Ok(None),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str().map(str::to_owned).ok_or_else(|| {
                        OAuthError::new(
                            400,
                            "invalid_client_metadata",
                            &format!("{key} must be strings"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(OAuthError::new(
                400,
                "invalid_client_metadata",
                &format!("{key} must be an array"),
            )),
        }
    };
    let redirect_uris = strings("redirect_uris")?.unwrap_or_default();
    for uri in &redirect_uris {
        let parsed = url::Url::parse(uri).map_err(|e| {
            OAuthError::new(
                400,
                "invalid_redirect_uri",
                &format!("{uri} is not a URL: {e}"),
            )
        })?;
        if parsed.fragment().is_some() {
            return Err(OAuthError::new(
                400,
                "invalid_redirect_uri",
                "redirect URIs must not have a fragment",
            ));
        }
    }
    let grants = strings("grant_types")?
        .unwrap_or_else(|| vec!["authorization_code".to_owned(), "refresh_token".to_owned()]);
    let (advertised, forced_method) = {
        let st = lock(&s.state);
        (
            st.config.grant_types_supported.clone(),
            st.config.registration.auth_method,
        )
    };
    if let Some(g) = grants.iter().find(|g| !advertised.contains(g)) {
        // RFC 7591 §3.2.2: metadata the server does not support is refused, naming what it offers.
        return Err(OAuthError::new(
            400,
            "invalid_client_metadata",
            &format!(
                "grant type {g} is not supported; grant_types can only contain {}",
                advertised.join(", ")
            ),
        ));
    }
    if grants.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        return Err(OAuthError::new(
            400,
            "invalid_redirect_uri",
            "the authorization_code grant needs redirect_uris",
        ));
    }
    let auth_method = match meta.get("token_endpoint_auth_method") {
        None => "none".to_owned(),
        Some(serde_json::Value::String(m))
            if ["none", "client_secret_basic", "client_secret_post"].contains(&m.as_str()) =>
        {
            m.clone()
        }
        Some(other) => {
            return Err(OAuthError::new(
                400,
                "invalid_client_metadata",
                &format!("unsupported token_endpoint_auth_method {other}"),
            ));
        }
    };
    // A server may replace the requested method (RFC 7591 §3.2.1): `[registration] auth_method`.
    let auth_method = forced_method.map_or(auth_method, |m| m.name().to_owned());
    let client_id = random_secret("client_");
    let secret = (auth_method != "none").then(|| random_secret("mcs_"));
    let now = s.clock.now_secs();
    let mut st = lock(&s.state);
    if let Some(sec) = &secret {
        st.secrets.push(sec.clone());
    }
    st.registered.insert(
        client_id.clone(),
        RegisteredClient {
            redirect_uris: redirect_uris.clone(),
            grants: grants.clone(),
            secret: secret.clone().map(ClientSecret::new),
            auth_method: match auth_method.as_str() {
                "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
                "client_secret_post" => Some(AuthMethod::ClientSecretPost),
                _ => None,
            },
        },
    );
    let mut body = meta.clone();
    body["client_id"] = client_id.into();
    body["client_id_issued_at"] = now.into();
    body["redirect_uris"] = redirect_uris.into();
    body["grant_types"] = grants.into();
    body["token_endpoint_auth_method"] = auth_method.into();
    if let Some(sec) = secret {
        body["client_secret"] = sec.into();
        body["client_secret_expires_at"] = 0.into();
    }
    Ok(body)
}
