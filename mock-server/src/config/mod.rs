//! The mock's configuration: the TOML schema of `docs/interfaces.md` section 2.
//!
//! This file holds the whole [`Config`], its loading and its cross-field checks; the tables
//! live beside it: [`sections`] (PKCE, tokens, rotation, device, consent, registration),
//! [`accounts`] (users, clients) and [`dialect`].
//!
//! Every table denies unknown fields so that a typo is an error that names the file, the line
//! and the field instead of a silently ignored setting.

use std::collections::BTreeSet;
use std::path::Path;

mod accounts;
mod dialect;
mod openid;
mod sections;

use serde::{Deserialize, Serialize};

pub use self::accounts::{AuthMethod, ClientConfig, ClientSecret, TeamConfig, UserConfig};
pub(crate) use self::accounts::{DEVICE_GRANT, GRANTS_IMPLEMENTED, default_scopes};
pub use self::dialect::Dialect;
pub use self::openid::{IdTokenFault, OpenIdConfig};
pub use self::sections::{
    ConsentAction, ConsentConfig, DeviceConfig, DeviceStep, PkceConfig, PkceMode,
    RegistrationConfig, RotationConfig, RotationPolicy, SigningAlgorithm, TokenFormat,
    TokensConfig,
};
use crate::clock::MAX_SECONDS;
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
    /// The grants discovery advertises (RFC 8414 §2 `grant_types_supported`); a dynamic
    /// registration asking for another is refused with `invalid_client_metadata` (RFC 7591
    /// §3.2.2), as certified providers do. Default: every grant the mock implements.
    pub grant_types_supported: Vec<String>,
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
    /// OpenID Connect: ID tokens, userinfo, OpenID discovery, and broken ID tokens on purpose.
    pub openid: OpenIdConfig,
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
            grant_types_supported: GRANTS_IMPLEMENTED.iter().map(|g| (*g).to_owned()).collect(),
            pkce: PkceConfig::default(),
            tokens: TokensConfig::default(),
            rotation: RotationConfig::default(),
            device: DeviceConfig::default(),
            consent: ConsentConfig::default(),
            registration: RegistrationConfig::default(),
            openid: OpenIdConfig::default(),
            users: accounts::default_users(),
            clients: vec![ClientConfig::default()],
            rules: Vec::new(),
        }
    }
}

/// A configuration that could not be read, parsed or validated: the workspace's one error for
/// a TOML file, so the mock's config, scenarios and profiles report a bad file alike
/// (`file:line:col: what is wrong`).
pub type ConfigError = cliauth_tomlfile::TomlFileError;

impl Config {
    /// Parses a configuration from TOML text.
    pub fn from_toml_str(src: &str) -> Result<Self, ConfigError> {
        Self::parse(src, "<config>")
    }

    /// Reads and parses a configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let src = cliauth_tomlfile::read_text(path, "config file")?;
        Self::parse(&src, &path.display().to_string())
    }

    fn parse(src: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Self = cliauth_tomlfile::parse(src, origin)?;
        config
            .validate()
            .map_err(|message| ConfigError::invalid(origin, message))?;
        Ok(config)
    }

    /// Checks cross-field consistency; the message names the offending field.
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.validate_lifetimes()?;
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
        if let Some(g) = self
            .grant_types_supported
            .iter()
            .find(|g| !GRANTS_IMPLEMENTED.contains(&g.as_str()))
        {
            return Err(format!(
                "grant_types_supported: {g:?} is not a grant the mock implements ({})",
                GRANTS_IMPLEMENTED.join(", ")
            ));
        }
        let mut seen = BTreeSet::new();
        for c in &self.clients {
            if !seen.insert(c.client_id.as_str()) {
                return Err(format!("clients: duplicate client_id {:?}", c.client_id));
            }
            if c.client_secret
                .as_ref()
                .is_some_and(|s| s.expose().is_empty())
            {
                return Err(format!(
                    "clients.client_secret: client {:?} has an empty secret; give it one or remove the key for a public client",
                    c.client_id
                ));
            }
            if c.token_endpoint_auth_method.is_some() && c.client_secret.is_none() {
                return Err(format!(
                    "clients.token_endpoint_auth_method: client {:?} has no client_secret; a public client authenticates with none",
                    c.client_id
                ));
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

impl Config {
    /// Every lifetime, interval and window is at most [`MAX_SECONDS`], so that no expiry
    /// computed from it wraps and no token has its `exp` before its `iat`.
    fn validate_lifetimes(&self) -> Result<(), String> {
        let t = &self.tokens;
        let d = &self.device;
        let r = &self.rotation;
        for (field, value) in [
            ("tokens.access_ttl", Some(t.access_ttl)),
            ("tokens.refresh_ttl", Some(t.refresh_ttl)),
            ("tokens.code_ttl", Some(t.code_ttl)),
            ("tokens.leeway", Some(t.leeway)),
            ("tokens.refreshed_access_ttl", t.refreshed_access_ttl),
            ("device.interval", Some(d.interval)),
            ("device.expires_in", Some(d.expires_in)),
            ("device.approve_after_secs", Some(d.approve_after_secs)),
            ("rotation.grace_seconds", Some(r.grace_seconds)),
            ("rotation.retry_after", Some(r.retry_after)),
        ] {
            if let Some(v) = value.filter(|v| *v > MAX_SECONDS) {
                return Err(format!(
                    "{field}: {v} seconds is out of range, at most {MAX_SECONDS} (100 years)"
                ));
            }
        }
        Ok(())
    }
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
    fn lifetimes_out_of_range_are_config_errors_naming_the_field() {
        let huge = "9223372036854775807";
        for (table, key) in [
            ("tokens", "access_ttl"),
            ("tokens", "refresh_ttl"),
            ("tokens", "code_ttl"),
            ("tokens", "leeway"),
            ("tokens", "refreshed_access_ttl"),
            ("device", "interval"),
            ("device", "expires_in"),
            ("device", "approve_after_secs"),
            ("rotation", "grace_seconds"),
            ("rotation", "retry_after"),
        ] {
            let src = format!("[{table}]\n{key} = {huge}\n");
            let err = Config::from_toml_str(&src).unwrap_err().to_string();
            assert!(err.contains(&format!("{table}.{key}")), "{src}: {err}");
            assert!(err.contains("at most"), "{src}: {err}");
        }
        let at_limit = format!("[tokens]\naccess_ttl = {}\n", crate::clock::MAX_SECONDS);
        assert!(Config::from_toml_str(&at_limit).is_ok());
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
