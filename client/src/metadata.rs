//! The authorization server's metadata (RFC 8414 §2), on the ground floor: discovery
//! (`flows::discovery`) produces it, the flows use it, and the store keeps a copy with the
//! session so a refresh needs no discovery.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::protocol::IssuerUrl;

/// RFC 8414 §2 authorization server metadata (the fields cliauth uses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerMetadata {
    /// The issuer.
    pub issuer: IssuerUrl,
    /// Authorization endpoint (browser login).
    #[serde(default)]
    pub authorization_endpoint: Option<Url>,
    /// Token endpoint.
    pub token_endpoint: Url,
    /// RFC 8628 device authorization endpoint.
    #[serde(default)]
    pub device_authorization_endpoint: Option<Url>,
    /// RFC 7009 revocation endpoint.
    #[serde(default)]
    pub revocation_endpoint: Option<Url>,
    /// RFC 7591 registration endpoint.
    #[serde(default)]
    pub registration_endpoint: Option<Url>,
    /// Grant types the server says it supports, when it says.
    #[serde(default)]
    pub grant_types_supported: Option<Vec<String>>,
}

impl ServerMetadata {
    /// True when the server supports `grant` (or does not say).
    pub fn supports_grant(&self, grant: &str) -> bool {
        self.grant_types_supported
            .as_ref()
            .is_none_or(|g| g.iter().any(|x| x == grant))
    }
}

#[cfg(test)]
impl ServerMetadata {
    /// A server at `base` with only a token endpoint (`/token`); tests add what they need with
    /// struct update syntax.
    pub(crate) fn token_only(base: &Url) -> ServerMetadata {
        ServerMetadata {
            issuer: IssuerUrl::new(base.clone()),
            authorization_endpoint: None,
            token_endpoint: base.join("/token").unwrap(),
            device_authorization_endpoint: None,
            revocation_endpoint: None,
            registration_endpoint: None,
            grant_types_supported: None,
        }
    }
}
