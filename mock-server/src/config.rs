//! The mock's configuration: the TOML schema of `docs/interfaces.md` section 2.
//!
//! Every table denies unknown fields so that a typo is an error that names the file, the line
//! and the field instead of a silently ignored setting.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::rules::Rule;

/// The whole configuration of a mock server. All fields are optional in TOML; the defaults
/// serve every flow of the reference client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Which product's paths and response shapes the server speaks (fixed at start).
    pub dialect: Dialect,
    /// Issuer identifier (RFC 8414 §2). `None` means the server's own base URL.
    pub issuer: Option<String>,
    /// When true the hosted API needs no authentication and `/api/v1/meta` says so.
    pub zero_auth: bool,
    /// PKCE enforcement at the authorization and token endpoints (RFC 7636).
    pub pkce: PkceConfig,
    /// Token format, signing algorithm and lifetimes.
    pub tokens: TokensConfig,
    /// Refresh-token rotation policy.
    pub rotation: RotationConfig,
    /// Device authorization grant settings (RFC 8628).
    pub device: DeviceConfig,
    /// What `GET /oauth/authorize` answers.
    pub consent: ConsentConfig,
    /// Dynamic client registration (RFC 7591).
    pub registration: RegistrationConfig,
    /// Users; replaces the default users when present.
    pub users: Vec<UserConfig>,
    /// Clients; replaces the default client when present.
    pub clients: Vec<ClientConfig>,
    /// Ordered fault rules; the first match wins.
    pub rules: Vec<Rule>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            dialect: Dialect::Cliauth,
            issuer: None,
            zero_auth: false,
            pkce: PkceConfig::default(),
            tokens: TokensConfig::default(),
            rotation: RotationConfig::default(),
            device: DeviceConfig::default(),
            consent: ConsentConfig::default(),
            registration: RegistrationConfig::default(),
            users: default_users(),
            clients: vec![ClientConfig::default()],
            rules: Vec::new(),
        }
    }
}

/// The product whose paths, client id and response shapes the server speaks.
///
/// A dialect is a thin mapping onto one engine: rotation policies, device scripts, rules,
/// holds, the clock and the journal work the same in every dialect (`../shared/SEED-CLIENTS.md`).
/// Each variant's paths and shapes are one file in `src/dialects/`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Dialect {
    /// cliauth's own API (`docs/interfaces.md` section 3).
    #[default]
    #[serde(rename = "cliauth")]
    Cliauth,
    /// The Spec Kitty SaaS as `spec-kitty-cli` 3.2.7 uses it (client `cli_native`).
    #[serde(rename = "spec-kitty")]
    SpecKitty,
    /// The SkillMeat issuer and API as `skillmeat` 0.74.0 uses them (client `skillmeat-cli`).
    #[serde(rename = "skillmeat")]
    Skillmeat,
}

impl Dialect {
    /// The name used in TOML and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cliauth => "cliauth",
            Self::SpecKitty => "spec-kitty",
            Self::Skillmeat => "skillmeat",
        }
    }
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cliauth" => Ok(Self::Cliauth),
            "spec-kitty" => Ok(Self::SpecKitty),
            "skillmeat" => Ok(Self::Skillmeat),
            other => Err(format!(
                "unknown dialect {other:?}, expected cliauth, spec-kitty or skillmeat"
            )),
        }
    }
}

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
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            fail: false,
        }
    }
}

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
    /// Allowed grant types.
    #[serde(default = "all_grants")]
    pub grants: Vec<String>,
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
        }
    }
}

/// The grant type identifier of the device grant (RFC 8628 §3.4).
pub(crate) const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

fn all_grants() -> Vec<String> {
    [
        "authorization_code",
        "refresh_token",
        DEVICE_GRANT,
        "password",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect()
}

fn default_users() -> Vec<UserConfig> {
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

/// A configuration that could not be read, parsed or validated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax error, unknown field or invalid value.
    #[error("{origin}:{line}:{column}: {message}")]
    Parse {
        /// The file name, or `<config>` for a string.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The values parse but contradict each other.
    #[error("{origin}: {message}")]
    Invalid {
        /// The file name, or `<config>` for a string.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Parses a configuration from TOML text.
    pub fn from_toml_str(src: &str) -> Result<Self, ConfigError> {
        Self::parse(src, "<config>")
    }

    /// Reads and parses a configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let src = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&src, &path.display().to_string())
    }

    fn parse(src: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(src).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |span| line_column(src, span.start));
            ConfigError::Parse {
                origin: origin.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        config.validate().map_err(|message| ConfigError::Invalid {
            origin: origin.to_owned(),
            message,
        })?;
        Ok(config)
    }

    /// Checks cross-field consistency; the message names the offending field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.clients.is_empty() {
            return Err("clients: at least one client is required".to_owned());
        }
        let has_user = |name: &str| self.users.iter().any(|u| u.username == name);
        if !self.users.is_empty() && !has_user(&self.consent.user) {
            return Err(format!(
                "consent.user: no user named {:?}",
                self.consent.user
            ));
        }
        if !self.users.is_empty() && !has_user(&self.device.user) {
            return Err(format!("device.user: no user named {:?}", self.device.user));
        }
        for (i, step) in self.device.script.iter().enumerate() {
            let last = i + 1 == self.device.script.len();
            if last && matches!(step, DeviceStep::Pending | DeviceStep::SlowDown) {
                return Err(
                    "device.script: the last step must be approved, denied or expired".to_owned(),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for c in &self.clients {
            if !seen.insert(c.client_id.as_str()) {
                return Err(format!("clients: duplicate client_id {:?}", c.client_id));
            }
            for uri in &c.redirect_uris {
                url::Url::parse(uri)
                    .map_err(|e| format!("clients.redirect_uris: {uri:?} is not a URL: {e}"))?;
            }
        }
        if let Some(issuer) = &self.issuer {
            url::Url::parse(issuer).map_err(|e| format!("issuer: {issuer:?} is not a URL: {e}"))?;
        }
        for rule in &self.rules {
            rule.validate()
                .map_err(|m| format!("rules.{}: {m}", rule.name))?;
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_toml_is_the_default() {
        assert_eq!(Config::from_toml_str("").unwrap(), Config::default());
    }

    #[test]
    fn unknown_field_names_line_and_field() {
        let err =
            Config::from_toml_str("zero_auth = true\n[tokens]\naccess_tll = 5\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("<config>:3:"), "{text}");
        assert!(text.contains("access_tll"), "{text}");
    }

    #[test]
    fn inconsistent_values_are_rejected_naming_the_field() {
        for (src, field) in [
            ("[consent]\nuser = \"carol\"\n", "consent.user"),
            ("[device]\nuser = \"carol\"\n", "device.user"),
            (
                "[[clients]]\nclient_id = \"a\"\n[[clients]]\nclient_id = \"a\"\n",
                "duplicate client_id",
            ),
            (
                "[[clients]]\nclient_id = \"a\"\nredirect_uris = [\"not a url\"]\n",
                "clients.redirect_uris",
            ),
            ("issuer = \"nope\"\n", "issuer"),
            (
                "[[rules]]\nname = \"h\"\naction = { kind = \"hold\", count = 0 }\n",
                "rules.h",
            ),
            (
                "[[rules]]\nname = \"s\"\naction = { kind = \"status\", status = 1000 }\n",
                "rules.s",
            ),
        ] {
            let err = Config::from_toml_str(src).unwrap_err().to_string();
            assert!(err.contains(field), "{src}: {err}");
        }
    }

    #[test]
    fn from_file_names_the_file() {
        let path =
            std::env::temp_dir().join(format!("cliauth-mock-config-{}.toml", std::process::id()));
        std::fs::write(&path, "[pkce]\nmode = \"sloppy\"\n").unwrap();
        let err = Config::from_file(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.starts_with(&format!("{}:2:", path.display())), "{err}");
        assert!(err.contains("sloppy"), "{err}");
        let missing = Config::from_file("/nonexistent/cliauth-mock.toml").unwrap_err();
        assert!(matches!(missing, ConfigError::Read { .. }));
    }

    #[test]
    fn non_terminal_last_script_step_is_rejected() {
        let err = Config::from_toml_str("[device]\nscript = [\"pending\"]\n").unwrap_err();
        assert!(err.to_string().contains("device.script"), "{err}");
    }
}
