//! The protocol tables of the configuration: PKCE, tokens, rotation, device flow, consent and
//! registration.

use serde::{Deserialize, Serialize};

use super::accounts::AuthMethod;

/// PKCE settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PkceConfig {
    /// How strictly PKCE is enforced.
    pub mode: PkceMode,
}

/// PKCE enforcement mode (RFC 7636).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PkceMode {
    /// `code_challenge` required, `S256` only, verifier required at the token endpoint.
    #[default]
    Strict,
    /// PKCE optional; `plain` and `S256` accepted; verified when a challenge was sent.
    Lenient,
    /// PKCE ignored entirely.
    Off,
}

/// Token settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {
    /// Access-token format.
    pub format: TokenFormat,
    /// JWS algorithm for JWT access tokens.
    pub algorithm: SigningAlgorithm,
    /// Access-token lifetime in seconds (0 allowed: born expired).
    pub access_ttl: u64,
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl: u64,
    /// Authorization-code lifetime in seconds.
    pub code_ttl: u64,
    /// The `aud` claim of access tokens.
    pub audience: String,
    /// Seconds past `exp` for which the hosted API still accepts an access token (the clock-skew
    /// leeway of RFC 7519 §4.1.4). With `access_ttl = 0` it lets a client that checks its fresh
    /// token at login (spec-kitty calls `/api/v1/me`) log in and still hold an expired token.
    pub leeway: u64,
    /// Lifetime of access tokens minted by the refresh grant; `None` = `access_ttl`. With
    /// `access_ttl = 0` it makes a session whose first token is born expired and whose
    /// refreshed tokens live, so a race among processes has exactly one right answer.
    pub refreshed_access_ttl: Option<u64>,
}

impl Default for TokensConfig {
    fn default() -> Self {
        Self {
            format: TokenFormat::Jwt,
            algorithm: SigningAlgorithm::Es256,
            access_ttl: 3600,
            refresh_ttl: 2_592_000,
            code_ttl: 60,
            audience: "cliauth".to_owned(),
            leeway: 0,
            refreshed_access_ttl: None,
        }
    }
}

/// Access-token format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TokenFormat {
    /// A signed JWT (RFC 9068-like claims).
    #[default]
    Jwt,
    /// A random opaque string.
    Opaque,
}

/// JWS signing algorithm.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SigningAlgorithm {
    /// ECDSA P-256 with SHA-256.
    #[default]
    #[serde(rename = "ES256")]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit key).
    #[serde(rename = "RS256")]
    Rs256,
}

/// Refresh-token rotation settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RotationConfig {
    /// The policy.
    pub policy: RotationPolicy,
    /// `grace`: a reuse within this many seconds of the rotation returns the same successor.
    pub grace_seconds: u64,
    /// `grace`: or within this many reuses.
    pub grace_uses: u32,
    /// `benign_replay`: the `retry_after` value of the 409 body.
    pub retry_after: u64,
}

impl Default for RotationConfig {
    fn default() -> Self {
        Self {
            policy: RotationPolicy::Strict,
            grace_seconds: 0,
            grace_uses: 0,
            retry_after: 1,
        }
    }
}

/// Refresh-token rotation policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RotationPolicy {
    /// Single use; presenting a rotated token revokes the whole family.
    #[default]
    Strict,
    /// A reuse within the grace window returns the same successor.
    Grace,
    /// A reuse answers 409 `refresh_replay_benign_retry`.
    BenignReplay,
    /// No rotation: the same refresh token stays valid.
    None,
}

/// Device authorization grant settings (RFC 8628).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeviceConfig {
    /// Seconds a client must wait between polls (RFC 8628 §3.2 `interval`).
    pub interval: u64,
    /// Device-code lifetime in seconds.
    pub expires_in: u64,
    /// Scripted answers, one per poll; the last one repeats and must be terminal.
    pub script: Vec<DeviceStep>,
    /// Approve automatically after this many polls (0 = not scripted).
    pub approve_after_polls: u32,
    /// Approve automatically once this many seconds of server time have passed (0 = off).
    pub approve_after_secs: u64,
    /// The user a scripted approval logs in as.
    pub user: String,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            interval: 5,
            expires_in: 600,
            script: Vec::new(),
            approve_after_polls: 0,
            approve_after_secs: 0,
            user: "alice".to_owned(),
        }
    }
}

/// One scripted answer to a device-code poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DeviceStep {
    /// `authorization_pending`.
    Pending,
    /// `slow_down` (and the interval grows by 5 s).
    SlowDown,
    /// The user approved: tokens are issued.
    Approved,
    /// The user denied: `access_denied`.
    Denied,
    /// The code expired: `expired_token`.
    Expired,
}

/// What the authorization endpoint does once the request is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsentConfig {
    /// Approve, deny or answer an error.
    pub action: ConsentAction,
    /// The error code when `action = "error"`.
    pub error: String,
    /// The user who approves.
    pub user: String,
}

impl Default for ConsentConfig {
    fn default() -> Self {
        Self {
            action: ConsentAction::Approve,
            error: "server_error".to_owned(),
            user: "alice".to_owned(),
        }
    }
}

/// Scripted consent outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ConsentAction {
    /// Redirect with a code.
    #[default]
    Approve,
    /// Redirect with `error=access_denied`.
    Deny,
    /// Redirect with the configured error code.
    Error,
}

/// Dynamic client registration settings (RFC 7591).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrationConfig {
    /// Whether `POST /oauth/register` exists.
    pub enabled: bool,
    /// Answer every registration with 400 `invalid_client_metadata`.
    pub fail: bool,
    /// Register every client as confidential with this method and a fresh `client_secret`,
    /// whatever it asked for (RFC 7591 §3.2.1 lets a server replace requested metadata).
    /// `None`: as requested.
    pub auth_method: Option<AuthMethod>,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            fail: false,
            auth_method: None,
        }
    }
}
