//! The mock's configuration: the TOML schema of `docs/interfaces.md` section 2.
//!
//! This file holds the whole [`Config`], its loading and its cross-field checks; the tables
//! live beside it: [`sections`] (PKCE, tokens, rotation, device, consent, registration),
//! [`accounts`] (users, clients) and [`dialect`].
//!
//! Every table denies unknown fields so that a typo is an error that names the file, the line
//! and the field instead of a silently ignored setting.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

mod accounts;
mod dialect;
mod sections;

use serde::{Deserialize, Serialize};

pub(crate) use self::accounts::DEVICE_GRANT;
pub use self::accounts::{ClientConfig, TeamConfig, UserConfig};
pub use self::dialect::Dialect;
pub use self::sections::{
    ConsentAction, ConsentConfig, DeviceConfig, DeviceStep, PkceConfig, PkceMode,
    RegistrationConfig, RotationConfig, RotationPolicy, SigningAlgorithm, TokenFormat,
    TokensConfig,
};
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
            users: accounts::default_users(),
            clients: vec![ClientConfig::default()],
            rules: Vec::new(),
        }
    }
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
