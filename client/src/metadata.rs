//! The authorization server's metadata (RFC 8414 §2), on the ground floor: discovery
//! (`flows::discovery`) produces it, the flows use it, and the store keeps a copy with the
//! session so a refresh needs no discovery.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::protocol::{IssuerUrl, Scope};

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
    /// Scopes the server says it supports, when it says (RFC 8414 §2 `scopes_supported`).
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    /// Where the keys that sign ID tokens are (RFC 8414 §2 `jwks_uri`).
    #[serde(default)]
    pub jwks_uri: Option<Url>,
    /// RFC 9207 §3: the server puts `iss` in every authorization response.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl ServerMetadata {
    /// True when the server supports `grant` (or does not say).
    pub fn supports_grant(&self, grant: &str) -> bool {
        self.grant_types_supported
            .as_ref()
            .is_none_or(|g| g.iter().any(|x| x == grant))
    }

    /// True when the server advertises `grant`, with RFC 8414 §2's default
    /// (`authorization_code` and `implicit`) when it lists none: what a registration may ask for.
    pub fn advertises_grant(&self, grant: &str) -> bool {
        match &self.grant_types_supported {
            Some(g) => g.iter().any(|x| x == grant),
            None => matches!(grant, "authorization_code" | "implicit"),
        }
    }

    /// The scope to ask for when none is configured: what a native client with refresh needs
    /// (`openid`, `offline_access`), as far as `scopes_supported` lists it; `None` (no scope
    /// sent, the server's default applies) when it lists neither or nothing.
    pub fn default_scope(&self) -> Option<Scope> {
        let listed = self.scopes_supported.as_deref().unwrap_or_default();
        Scope::from_tokens(
            ["openid", "offline_access"]
                .into_iter()
                .filter(|want| listed.iter().any(|s| s == want)),
        )
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
            scopes_supported: None,
            jwks_uri: None,
            authorization_response_iss_parameter_supported: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Without a configured scope, cliauth asks for `openid` and `offline_access` as far as the
    /// server lists them, and for no scope when it lists neither (or nothing).
    #[rstest]
    #[case::both(Some(&["openid", "profile", "offline_access"][..]), Some("openid offline_access"))]
    #[case::openid_only(Some(&["openid", "email"][..]), Some("openid"))]
    #[case::offline_only(Some(&["offline_access"][..]), Some("offline_access"))]
    #[case::neither(Some(&["sync"][..]), None)]
    #[case::not_listed(None, None)]
    fn the_default_scope_follows_scopes_supported(
        #[case] listed: Option<&[&str]>,
        #[case] want: Option<&str>,
    ) {
        let base = Url::parse("https://id.example").unwrap();
        let meta = ServerMetadata {
            scopes_supported: listed.map(|l| l.iter().map(|s| (*s).to_owned()).collect()),
            ..ServerMetadata::token_only(&base)
        };
        assert_eq!(meta.default_scope().as_ref().map(Scope::as_str), want);
    }

    /// RFC 8414 §2: a server that lists no grant types offers `authorization_code` and
    /// `implicit`; one that lists them offers exactly those.
    #[rstest]
    #[case::default_code(None, "authorization_code", true)]
    #[case::default_no_refresh(None, "refresh_token", false)]
    #[case::default_no_password(None, "password", false)]
    #[case::listed(Some(&["refresh_token"][..]), "refresh_token", true)]
    #[case::not_listed(Some(&["authorization_code"][..]), "password", false)]
    fn advertised_grants_default_to_rfc_8414(
        #[case] listed: Option<&[&str]>,
        #[case] grant: &str,
        #[case] advertised: bool,
    ) {
        let base = Url::parse("https://id.example").unwrap();
        let meta = ServerMetadata {
            grant_types_supported: listed.map(|l| l.iter().map(|s| (*s).to_owned()).collect()),
            ..ServerMetadata::token_only(&base)
        };
        assert_eq!(meta.advertises_grant(grant), advertised);
    }
}
