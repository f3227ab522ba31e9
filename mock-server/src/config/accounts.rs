//! Who can log in: users, their Teamspaces, and OAuth clients, with the defaults.

use serde::{Deserialize, Serialize};

/// A user who can log in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// Login name, also the `sub` claim.
    pub username: String,
    /// Password for the password grant, the JSON login and the device page.
    pub password: String,
    /// E-mail address shown by `/api/v1/me`.
    #[serde(default)]
    pub email: Option<String>,
    /// Display name shown by `/api/v1/me`.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether the user owns a Private Teamspace.
    #[serde(default)]
    pub private_teamspace: bool,
    /// Further Teamspace memberships.
    #[serde(default)]
    pub teams: Vec<TeamConfig>,
}

/// A Teamspace membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamConfig {
    /// Teamspace id (also its slug).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether it is a Private Teamspace.
    #[serde(default)]
    pub private: bool,
}

/// An OAuth client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The `client_id`.
    pub client_id: String,
    /// Registered redirect URIs; loopback ones match on any port (RFC 8252 §7.3).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Allowed grant types (default: all; `client_credentials` works for confidential clients
    /// only).
    #[serde(default = "all_grants")]
    pub grants: Vec<String>,
    /// Scopes the client may ask for; a request for any other is `invalid_scope` (RFC 6749
    /// §4.1.2.1, §5.2). Defaults to every scope discovery lists.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// Makes it a confidential client (RFC 6749 §2.1): every token, revocation and
    /// introspection request must then authenticate with this secret (§2.3.1).
    #[serde(default)]
    pub client_secret: Option<ClientSecret>,
    /// How a confidential client authenticates; `None` accepts both methods.
    #[serde(default)]
    pub token_endpoint_auth_method: Option<AuthMethod>,
}

/// A client secret. Its `Debug` is redacted so a logged config never shows it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, to compare with what a client presents.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

/// How a confidential client authenticates at the token endpoint (RFC 7591 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// HTTP Basic with the form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
}

impl AuthMethod {
    /// Its RFC 7591 name.
    pub fn name(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            client_id: "cliauth".to_owned(),
            redirect_uris: vec![
                "http://127.0.0.1/callback".to_owned(),
                "http://localhost/callback".to_owned(),
                "http://[::1]/callback".to_owned(),
            ],
            grants: all_grants(),
            scopes: default_scopes(),
            client_secret: None,
            token_endpoint_auth_method: None,
        }
    }
}

/// Every scope `scopes_supported` lists: `openid`, `profile`, `email`, `offline_access`, `sync`.
pub(crate) fn default_scopes() -> Vec<String> {
    ["openid", "profile", "email", "offline_access", "sync"]
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The grant type identifier of the device grant (RFC 8628 §3.4).
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Every grant the token endpoint implements, in the order discovery lists them.
pub(crate) const GRANTS_IMPLEMENTED: [&str; 5] = [
    "authorization_code",
    "refresh_token",
    DEVICE_GRANT,
    "password",
    "client_credentials",
];

fn all_grants() -> Vec<String> {
    [
        "authorization_code",
        "refresh_token",
        DEVICE_GRANT,
        "password",
        "client_credentials",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

pub(super) fn default_users() -> Vec<UserConfig> {
    vec![
        UserConfig {
            username: "alice".to_owned(),
            password: "alice-password".to_owned(),
            email: Some("alice@example.test".to_owned()),
            name: Some("Alice Example".to_owned()),
            private_teamspace: true,
            teams: vec![TeamConfig {
                id: "acme".to_owned(),
                name: "Acme".to_owned(),
                private: false,
            }],
        },
        UserConfig {
            username: "bob".to_owned(),
            password: "bob-password".to_owned(),
            email: Some("bob@example.test".to_owned()),
            name: Some("Bob Example".to_owned()),
            private_teamspace: false,
            teams: vec![TeamConfig {
                id: "acme".to_owned(),
                name: "Acme".to_owned(),
                private: false,
            }],
        },
    ]
}
