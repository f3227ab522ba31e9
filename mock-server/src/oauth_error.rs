//! The RFC 6749 §5.2 error response every layer answers with, and the response extensions the
//! journal reads (what a handler did, a device poll's gap).
//!
//! It sits on the ground floor: the model's callers, the oauth and hosted handlers, the admin
//! API, the dialects and the fault layer all build these.

use std::fmt;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// An RFC 6749 §5.2 error response.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    pub(crate) status: StatusCode,
    pub(crate) error: &'static str,
    pub(crate) description: String,
    pub(crate) retry_after: Option<u32>,
    pub(crate) www_authenticate: Option<String>,
    pub(crate) outcome: Option<&'static str>,
    pub(crate) poll_gap: Option<PollGap>,
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
    /// RFC 6749 §5.2 `invalid_scope`.
    pub(crate) fn invalid_scope(description: &str) -> Self {
        Self::new(400, "invalid_scope", description)
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
            resp.extensions_mut().insert(g);
        }
        resp
    }
}

/// An outcome a handler reports for the journal, carried in response extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome(pub(crate) &'static str);

/// A device poll's gap since the previous poll of the same code, and the interval that was
/// in force for it (RFC 8628 §3.5: the last `interval`, plus 5 s for every `slow_down` so
/// far), carried in response extensions for the journal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PollGap {
    pub(crate) gap_ms: u64,
    pub(crate) interval_ms: u64,
}
