//! OAuth error codes and error bodies, on the ground floor: the HTTP layer parses them, the
//! flows and the refresh transaction decide by them, and the taxonomy ([`crate::classify`])
//! files them into categories, all without comparing strings.

use std::fmt;

/// An OAuth error code: RFC 6749 §4.1.2.1 and §5.2, RFC 8628 §3.5, and the one server extension
/// cliauth acts on. Any other code is kept verbatim in [`OAuthErrorCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OAuthErrorCode {
    /// `invalid_request` (RFC 6749 §5.2).
    InvalidRequest,
    /// `invalid_client` (RFC 6749 §5.2).
    InvalidClient,
    /// `invalid_grant` (RFC 6749 §5.2): the grant or refresh token is invalid, expired or spent.
    InvalidGrant,
    /// `unauthorized_client` (RFC 6749 §5.2).
    UnauthorizedClient,
    /// `unsupported_grant_type` (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// `invalid_scope` (RFC 6749 §5.2).
    InvalidScope,
    /// `unsupported_response_type` (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// `access_denied` (RFC 6749 §4.1.2.1, RFC 8628 §3.5): the person or the server said no.
    AccessDenied,
    /// `server_error` (RFC 6749 §4.1.2.1).
    ServerError,
    /// `temporarily_unavailable` (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable,
    /// `authorization_pending` (RFC 8628 §3.5): keep polling.
    AuthorizationPending,
    /// `slow_down` (RFC 8628 §3.5): keep polling, 5 s slower.
    SlowDown,
    /// `expired_token` (RFC 8628 §3.5): the device code expired.
    ExpiredToken,
    /// `refresh_replay_benign_retry` (server extension): a peer's rotation of this refresh
    /// token is in flight; retry after `retry_after` with the newer token.
    RefreshReplayBenignRetry,
    /// Any other code, as the server sent it.
    Other(String),
}

impl OAuthErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::UnsupportedResponseType => "unsupported_response_type",
            OAuthErrorCode::AccessDenied => "access_denied",
            OAuthErrorCode::ServerError => "server_error",
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthErrorCode::AuthorizationPending => "authorization_pending",
            OAuthErrorCode::SlowDown => "slow_down",
            OAuthErrorCode::ExpiredToken => "expired_token",
            OAuthErrorCode::RefreshReplayBenignRetry => "refresh_replay_benign_retry",
            OAuthErrorCode::Other(code) => code,
        }
    }
}

impl From<&str> for OAuthErrorCode {
    fn from(code: &str) -> Self {
        match code {
            "invalid_request" => OAuthErrorCode::InvalidRequest,
            "invalid_client" => OAuthErrorCode::InvalidClient,
            "invalid_grant" => OAuthErrorCode::InvalidGrant,
            "unauthorized_client" => OAuthErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => OAuthErrorCode::UnsupportedGrantType,
            "invalid_scope" => OAuthErrorCode::InvalidScope,
            "unsupported_response_type" => OAuthErrorCode::UnsupportedResponseType,
            "access_denied" => OAuthErrorCode::AccessDenied,
            "server_error" => OAuthErrorCode::ServerError,
            "temporarily_unavailable" => OAuthErrorCode::TemporarilyUnavailable,
            "authorization_pending" => OAuthErrorCode::AuthorizationPending,
            "slow_down" => OAuthErrorCode::SlowDown,
            "expired_token" => OAuthErrorCode::ExpiredToken,
            "refresh_replay_benign_retry" => OAuthErrorCode::RefreshReplayBenignRetry,
            other => OAuthErrorCode::Other(other.to_owned()),
        }
    }
}

impl From<String> for OAuthErrorCode {
    fn from(code: String) -> Self {
        match OAuthErrorCode::from(code.as_str()) {
            // Keep the allocation the caller already made.
            OAuthErrorCode::Other(_) => OAuthErrorCode::Other(code),
            known => known,
        }
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for OAuthErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(OAuthErrorCode::from)
    }
}

/// An RFC 6749 §5.2 error body (`error`, `error_description`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct OAuthErrorBody {
    /// The error code, e.g. `invalid_grant`.
    pub error: OAuthErrorCode,
    /// Human-readable detail chosen by the server.
    #[serde(default)]
    pub error_description: Option<String>,
    /// Seconds to wait, sent with `refresh_replay_benign_retry`.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

impl fmt::Display for OAuthErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_description {
            Some(d) if !d.is_empty() => write!(f, "{} ({})", self.error, d),
            _ => fmt::Display::fmt(&self.error, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every named code reads back as itself, and an unknown code is kept verbatim.
    #[rstest::rstest]
    #[case("invalid_request")]
    #[case("invalid_client")]
    #[case("invalid_grant")]
    #[case("unauthorized_client")]
    #[case("unsupported_grant_type")]
    #[case("invalid_scope")]
    #[case("unsupported_response_type")]
    #[case("access_denied")]
    #[case("server_error")]
    #[case("temporarily_unavailable")]
    #[case("authorization_pending")]
    #[case("slow_down")]
    #[case("expired_token")]
    #[case("refresh_replay_benign_retry")]
    #[case("something_new")]
    fn codes_round_trip_through_their_wire_names(#[case] wire: &str) {
        let code = OAuthErrorCode::from(wire);
        assert_eq!(code.as_str(), wire);
        assert_eq!(code.to_string(), wire);
        assert_eq!(OAuthErrorCode::from(wire.to_owned()), code);
        assert_eq!(
            matches!(code, OAuthErrorCode::Other(_)),
            wire == "something_new"
        );
    }

    #[test]
    fn a_body_parses_its_code_into_the_enum() {
        let body: OAuthErrorBody =
            serde_json::from_str(r#"{"error":"slow_down","error_description":"wait"}"#).unwrap();
        assert_eq!(body.error, OAuthErrorCode::SlowDown);
        assert_eq!(body.to_string(), "slow_down (wait)");
    }
}
