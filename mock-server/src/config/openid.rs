//! The `[openid]` table: whether the server is an OpenID provider, and the fault knob that mints
//! broken ID tokens so scenarios can check that clients refuse them.

use serde::{Deserialize, Serialize};

/// OpenID Connect settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenIdConfig {
    /// When false nothing OpenID is advertised or issued: no `/.well-known/openid-configuration`
    /// (404), no `openid` in `scopes_supported`, no `id_token` in token responses.
    pub enabled: bool,
    /// Mint every ID token broken this way (`None`: correct ID tokens).
    pub id_token_fault: Option<IdTokenFault>,
}

impl Default for OpenIdConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            id_token_fault: None,
        }
    }
}

/// How an ID token is broken on purpose; each one is a check of OIDC Core §3.1.3.7 a client
/// must make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdTokenFault {
    /// `nonce` is not the one the authorization request sent (step 11).
    WrongNonce,
    /// `aud` is another client's id (step 3).
    WrongAud,
    /// `iss` is not the issuer (step 2).
    WrongIss,
    /// `exp` is ten minutes in the past, `iat` an hour (step 9).
    Expired,
    /// The signature does not verify against the JWKS key (step 6).
    BadSignature,
}
