//! Protocol values as types, on the ground floor: tokens (secret, with a redacted `Debug`),
//! client ids, device user codes and issuer URLs. A function that takes a [`RefreshToken`] cannot
//! be handed an access token or a password by mistake, and the store's file format does not
//! change: each type serializes as the string it wraps.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::Secret;

/// A token type over [`Secret`]: redacted `Debug`, no `Display`, zeroized on drop.
macro_rules! secret_token {
    ($(#[$doc:meta])* $name:ident, $debug:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Secret);

        impl $name {
            /// Wraps a token value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(Secret::new(value))
            }

            /// The token value; every call site is a place where the secret leaves its wrapper.
            pub fn expose(&self) -> &str {
                self.0.expose()
            }

            /// True when both tokens hold the same value.
            pub fn same_as(&self, other: &$name) -> bool {
                self.0.same_as(&other.0)
            }

            /// At most 8 hex characters of the SHA-256 of the value (tells tokens apart, reveals
            /// nothing).
            pub fn fingerprint(&self) -> String {
                self.0.fingerprint()
            }

            /// The token as a plain [`Secret`] (revocation takes either kind).
            pub fn as_secret(&self) -> &Secret {
                &self.0
            }
        }

        impl From<Secret> for $name {
            fn from(secret: Secret) -> Self {
                $name(secret)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str($debug)
            }
        }
    };
}

secret_token!(
    /// An OAuth access token (RFC 6749 §1.4), or a personal access token used the same way.
    AccessToken,
    "AccessToken([redacted])"
);

secret_token!(
    /// An OAuth refresh token (RFC 6749 §1.5).
    RefreshToken,
    "RefreshToken([redacted])"
);

secret_token!(
    /// A client secret the server issued at registration (RFC 7591 §3.2.1).
    ClientSecret,
    "ClientSecret([redacted])"
);

/// How a registered client authenticates at the token and revocation endpoints (RFC 7591 §2
/// `token_endpoint_auth_method`, RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret.
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl ClientAuthMethod {
    /// The method's registered name (RFC 7591 §2); `None` for a name cliauth cannot use.
    pub fn from_name(name: &str) -> Option<ClientAuthMethod> {
        match name {
            "client_secret_basic" => Some(ClientAuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(ClientAuthMethod::ClientSecretPost),
            _ => None,
        }
    }
}

/// A client secret from registration and the method it was registered to be used with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredSecret {
    /// The secret.
    pub secret: ClientSecret,
    /// How to present it.
    pub method: ClientAuthMethod,
}

/// An OAuth scope (RFC 6749 §3.3): space-separated scope tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scope(String);

impl Scope {
    /// Parses a scope: one or more scope tokens separated by spaces, each printable ASCII
    /// without `"` or `\` (RFC 6749 §3.3). Extra spaces are dropped. `None` when it is empty or
    /// has a character a scope token may not have.
    pub fn parse(raw: &str) -> Option<Scope> {
        let tokens: Vec<&str> = raw.split(' ').filter(|t| !t.is_empty()).collect();
        let valid = |t: &&str| {
            t.bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
        };
        if tokens.is_empty() || !tokens.iter().all(valid) {
            return None;
        }
        Some(Scope(tokens.join(" ")))
    }

    /// Builds a scope from tokens; `None` when there are none.
    pub(crate) fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Option<Scope> {
        let joined = tokens.into_iter().collect::<Vec<_>>().join(" ");
        Scope::parse(&joined)
    }

    /// The scope as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `token` is one of the scope's tokens.
    pub fn contains(&self, token: &str) -> bool {
        self.0.split(' ').any(|t| t == token)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An OAuth client identifier (RFC 6749 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    /// Wraps a client id.
    pub fn new(id: impl Into<String>) -> Self {
        ClientId(id.into())
    }

    /// The client id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ClientId {
    fn from(id: &str) -> Self {
        ClientId(id.to_owned())
    }
}

impl From<String> for ClientId {
    fn from(id: String) -> Self {
        ClientId(id)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The code a person types on the verification page (RFC 8628 §3.2 `user_code`). Short-lived
/// and shown on purpose, so not a secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub(crate) struct UserCode(String);

impl fmt::Display for UserCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An authorization server's issuer identifier (RFC 8414 §2): the URL its metadata is found
/// under and that the metadata must name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IssuerUrl(Url);

impl IssuerUrl {
    /// Wraps an issuer URL (its security is checked where it is chosen).
    pub fn new(url: Url) -> Self {
        IssuerUrl(url)
    }

    /// The URL.
    pub fn url(&self) -> &Url {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store's file format is unchanged: each type is the bare string it wraps.
    #[test]
    fn protocol_values_serialize_as_the_strings_they_wrap() {
        let json = serde_json::to_string(&(
            AccessToken::new("a"),
            RefreshToken::new("r"),
            ClientId::new("c"),
            IssuerUrl::new(Url::parse("https://id.example/").unwrap()),
        ))
        .unwrap();
        assert_eq!(json, r#"["a","r","c","https://id.example/"]"#);
        let code: UserCode = serde_json::from_str(r#""WDJB-MJHT""#).unwrap();
        assert_eq!(code.to_string(), "WDJB-MJHT");
    }

    /// RFC 6749 §3.3: scope tokens are printable ASCII without space, `"` or `\`; extra
    /// spaces are not part of any token.
    #[test]
    fn scopes_are_parsed_as_space_separated_tokens() {
        let s = Scope::parse("  openid   offline_access ").unwrap();
        assert_eq!(s.as_str(), "openid offline_access");
        assert!(s.contains("openid") && s.contains("offline_access") && !s.contains("open"));
        assert_eq!(Scope::parse(" "), None);
        assert_eq!(Scope::parse("a\"b"), None);
        assert_eq!(Scope::parse("caf\u{e9}"), None);
        assert_eq!(Scope::parse("a\tb"), None);
    }

    #[test]
    fn token_debug_is_redacted() {
        let debug = format!(
            "{:?} {:?}",
            AccessToken::new("at-1"),
            RefreshToken::new("rt-1")
        );
        assert_eq!(debug, "AccessToken([redacted]) RefreshToken([redacted])");
    }
}
