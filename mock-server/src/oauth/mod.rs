//! The OAuth 2.0 endpoints and what they share: the RFC 6749 §5.2 error type and the parsed
//! request context.

pub(crate) mod authorize;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod register;
pub(crate) mod revoke;
pub(crate) mod token;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::config::Dialect;
use crate::model::grants::{GrantError, TokenPair};

/// An RFC 6749 §5.2 error response.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
    pub(crate) retry_after: Option<u32>,
    pub(crate) www_authenticate: Option<String>,
    pub(crate) outcome: Option<&'static str>,
    pub(crate) poll_gap: Option<u64>,
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

impl OAuthError {
    pub(crate) fn new(status: u16, error: &'static str, description: &str) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            error,
            description: description.to_owned(),
            retry_after: None,
            www_authenticate: None,
            outcome: None,
            poll_gap: None,
        }
    }
    pub(crate) fn invalid_request(description: &str) -> Self {
        Self::new(400, "invalid_request", description)
    }
    pub(crate) fn invalid_grant(description: &str) -> Self {
        Self::new(400, "invalid_grant", description)
    }
    pub(crate) fn server_error(description: &str) -> Self {
        Self::new(500, "server_error", description)
    }
    pub(crate) fn invalid_client(description: &str) -> Self {
        let mut e = Self::new(401, "invalid_client", description);
        e.www_authenticate = Some("Basic realm=\"cliauth-mock\"".to_owned());
        e
    }
    pub(crate) fn benign_replay(retry_after: u64) -> Self {
        let retry_after = u32::try_from(retry_after).unwrap_or(u32::MAX);
        let mut e = Self::new(
            409,
            "refresh_replay_benign_retry",
            "refresh token already rotated; retry with the newer token",
        );
        e.retry_after = Some(retry_after);
        e.outcome = Some("benign_replay");
        e
    }
    /// The RFC 6750 §3.1 answer for a missing or bad bearer token.
    pub(crate) fn invalid_token(description: &str) -> Self {
        let mut e = Self::new(401, "invalid_token", description);
        e.www_authenticate = Some(format!(
            "Bearer realm=\"cliauth-mock\", error=\"invalid_token\", error_description=\"{description}\""
        ));
        e
    }
    pub(crate) fn with_outcome(mut self, outcome: &'static str) -> Self {
        self.outcome = Some(outcome);
        self
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut body =
            serde_json::json!({ "error": self.error, "error_description": self.description });
        if let Some(r) = self.retry_after {
            body["retry_after"] = r.into();
        }
        let mut resp = (self.status, Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(w) = self
            .www_authenticate
            .and_then(|w| HeaderValue::from_str(&w).ok())
        {
            h.insert(header::WWW_AUTHENTICATE, w);
        }
        if let Some(o) = self.outcome {
            resp.extensions_mut().insert(Outcome(o));
        }
        if let Some(g) = self.poll_gap {
            resp.extensions_mut().insert(PollGap(g));
        }
        resp
    }
}

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

/// An outcome a handler reports for the journal, carried in response extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome(pub(crate) &'static str);

/// A device poll's gap, carried in response extensions for the journal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PollGap(pub(crate) u64);

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

/// What the server parsed from a request before routing it.
#[derive(Debug)]
pub(crate) struct RequestCtx {
    /// Form fields when the body is `application/x-www-form-urlencoded`.
    pub(crate) form: Option<Result<HashMap<String, String>, String>>,
    /// The JSON body when the content type is JSON.
    pub(crate) json: Option<Result<serde_json::Value, String>>,
    /// Query parameters (a repeated parameter is an error, kept as `Err`).
    pub(crate) query: Result<HashMap<String, String>, String>,
    /// HTTP Basic credentials (RFC 6749 §2.3.1); `Err` says why the header is malformed.
    pub(crate) basic: Option<Result<(String, String), String>>,
    /// The bearer token sent, if any.
    pub(crate) bearer: Option<String>,
    /// The peer address.
    pub(crate) peer: SocketAddr,
}

impl RequestCtx {
    /// The form, or the RFC error for a wrong content type or a bad body.
    pub(crate) fn form(&self) -> Result<&HashMap<String, String>, OAuthError> {
        match &self.form {
            Some(Ok(f)) => Ok(f),
            Some(Err(e)) => Err(OAuthError::invalid_request(e)),
            None => Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            )),
        }
    }

    /// The client identified by Basic auth or the `client_id` field, with its secret if any.
    pub(crate) fn client_credentials(
        &self,
    ) -> Result<Option<(String, Option<String>)>, OAuthError> {
        let form = self.form()?;
        let basic = match &self.basic {
            Some(Err(why)) => {
                return Err(OAuthError::invalid_client(&format!(
                    "malformed Basic credentials: {why}"
                )));
            }
            Some(Ok(b)) => Some(b),
            None => None,
        };
        match (basic, form.get("client_id")) {
            (Some((id, _)), Some(f)) if id != f => Err(OAuthError::invalid_request(
                "client_id differs between Basic auth and the body",
            )),
            (Some((id, secret)), _) => Ok(Some((id.clone(), Some(secret.clone())))),
            (None, Some(id)) => Ok(Some((id.clone(), form.get("client_secret").cloned()))),
            (None, None) => Ok(None),
        }
    }
}

/// Parses `application/x-www-form-urlencoded`; a repeated parameter is an error (RFC 6749 §3.1).
pub(crate) fn parse_form(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        if out.insert(k.clone().into_owned(), v.into_owned()).is_some() {
            return Err(format!("parameter {k} is repeated"));
        }
    }
    Ok(out)
}

/// Required form field, or `invalid_request` naming it.
pub(crate) fn required<'a>(
    form: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, OAuthError> {
    match form.get(name).map(String::as_str) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(OAuthError::invalid_request(&format!(
            "missing parameter {name}"
        ))),
    }
}
