//! Configuration: environment names (all of them, in one place), `config.toml`, state paths and
//! the URL checks every server and issuer URL passes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use url::Url;

use crate::classify::{Error, Result};
use crate::secret::Secret;

/// Moves all state (config, credentials, locks) under one folder.
pub(crate) const ENV_HOME: &str = "CLIAUTH_HOME";
/// The hosted API's base URL; overrides `[server] url`.
pub(crate) const ENV_SERVER_URL: &str = "CLIAUTH_SERVER_URL";
/// The authorization server's issuer; overrides `[auth] issuer`.
pub(crate) const ENV_ISSUER: &str = "CLIAUTH_ISSUER";
/// The OAuth client id; overrides `[auth] client_id`.
pub(crate) const ENV_CLIENT_ID: &str = "CLIAUTH_CLIENT_ID";
/// The OAuth scope to ask for at login; overrides `[auth] scope`, `--scope` overrides it.
pub(crate) const ENV_SCOPE: &str = "CLIAUTH_SCOPE";
/// An access token that takes precedence over stored credentials.
pub(crate) const ENV_TOKEN: &str = "CLIAUTH_TOKEN";
/// Derives the store key from this passphrase with Argon2id instead of a random key file.
pub(crate) const ENV_PASSPHRASE: &str = "CLIAUTH_PASSPHRASE";
/// `debug` logs (redacted) which path each process took, to stderr.
pub(crate) const ENV_LOG: &str = "CLIAUTH_LOG";
/// `1` is the twin of `--no-browser`.
pub(crate) const ENV_NO_BROWSER: &str = "CLIAUTH_NO_BROWSER";
/// How long to wait for the credentials lock, in milliseconds.
pub(crate) const ENV_LOCK_TIMEOUT_MS: &str = "CLIAUTH_LOCK_TIMEOUT_MS";
/// Bound on each whole HTTP request, in milliseconds.
pub(crate) const ENV_HTTP_TIMEOUT_MS: &str = "CLIAUTH_HTTP_TIMEOUT_MS";
/// Where the passphrase-derived key may be handed to peers.
pub(crate) const ENV_XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";

/// Every variable the client reads and what it does, for the end of `--help` (the README's
/// table is checked against it).
pub(crate) const ENV_HELP: &[(&str, &str)] = &[
    (
        ENV_SERVER_URL,
        "the hosted API's base URL (overrides [server] url in config.toml)",
    ),
    (
        ENV_ISSUER,
        "the authorization server's issuer (overrides [auth] issuer)",
    ),
    (
        ENV_CLIENT_ID,
        "the OAuth client id (overrides [auth] client_id)",
    ),
    (
        ENV_SCOPE,
        "the scope to ask for at login (overrides [auth] scope; --scope overrides it)",
    ),
    (
        ENV_TOKEN,
        "an access token used before stored credentials (--token overrides it)",
    ),
    (
        ENV_HOME,
        "one folder for config.toml and credentials/ (default: the XDG folders)",
    ),
    (
        ENV_PASSPHRASE,
        "derive the store key from this passphrase (Argon2id) instead of a key file",
    ),
    (
        ENV_NO_BROWSER,
        "1: print the login URL instead of opening a browser (--no-browser)",
    ),
    (
        ENV_LOCK_TIMEOUT_MS,
        "how long to wait for the credentials lock (default 10000)",
    ),
    (
        ENV_HTTP_TIMEOUT_MS,
        "bound on each HTTP request (default 20000)",
    ),
    (
        ENV_LOG,
        "debug: log which path each process took, redacted, on stderr",
    ),
    (
        "XDG_CONFIG_HOME",
        "config.toml is $XDG_CONFIG_HOME/cliauth/ (default ~/.config)",
    ),
    (
        "XDG_STATE_HOME",
        "credentials/ is $XDG_STATE_HOME/cliauth/ (default ~/.local/state)",
    ),
    (
        ENV_XDG_RUNTIME_DIR,
        "where a passphrase-derived key is shared with concurrent processes",
    ),
];

/// Default bound on waiting for the credentials lock.
pub(crate) const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// Default bound on each whole HTTP request (connect, send, wait, read the body).
pub(crate) const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The OAuth client id used when none is configured and the server offers no registration.
pub(crate) const DEFAULT_CLIENT_ID: &str = "cliauth";

/// `config.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileConfig {
    /// `[server]`.
    #[serde(default)]
    pub(crate) server: ServerSection,
    /// `[auth]`.
    #[serde(default)]
    pub(crate) auth: AuthSection,
}

/// `[server]` in `config.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerSection {
    /// The hosted API's base URL.
    pub(crate) url: Option<String>,
}

/// `[auth]` in `config.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuthSection {
    /// The authorization server, when it is not the hosted API's host.
    pub(crate) issuer: Option<String>,
    /// A pre-registered OAuth client id.
    pub(crate) client_id: Option<String>,
    /// The OAuth scope to ask for at login (RFC 6749 §3.3).
    pub(crate) scope: Option<String>,
}

/// Where a setting came from, for `auth doctor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// An environment variable.
    Env,
    /// `config.toml`.
    File,
}

/// The resolved configuration of one invocation.
#[derive(Debug)]
pub(crate) struct Config {
    /// `config.toml`'s path (it may not exist).
    #[expect(
        clippy::struct_field_names,
        reason = "`file` alone would not say which file; this is config.toml's path"
    )]
    pub(crate) config_file: PathBuf,
    /// The `credentials/` folder.
    pub(crate) credentials_dir: PathBuf,
    /// The runtime folder for the passphrase hand-off, if any.
    pub(crate) runtime_dir: Option<PathBuf>,
    /// The hosted API's base URL, without a trailing slash.
    pub(crate) server_url: Url,
    /// Where the server URL came from.
    pub(crate) server_origin: Origin,
    /// The configured issuer, if any.
    pub(crate) issuer: Option<Url>,
    /// The configured client id, if any.
    pub(crate) client_id: Option<String>,
    /// The configured scope (`CLIAUTH_SCOPE`, else `[auth] scope`) as written, and where it came
    /// from; checked at login.
    pub(crate) scope: Option<(String, Origin)>,
    /// The environment token, if any.
    pub(crate) env_token: Option<Secret>,
    /// The store passphrase, if any.
    pub(crate) passphrase: Option<Secret>,
    /// `CLIAUTH_NO_BROWSER=1`.
    pub(crate) no_browser: bool,
    /// Bound on waiting for the credentials lock.
    pub(crate) lock_timeout: Duration,
    /// Bound on each whole HTTP request.
    pub(crate) http_timeout: Duration,
}

/// Reads a variable, treating an empty value as unset.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Resolves the configuration from the environment and `config.toml`.
    pub(crate) fn load() -> Result<Config> {
        let (config_file, credentials_dir) = state_paths()?;
        let file = read_file_config(&config_file)?;
        let (server_raw, server_origin) = match env_var(ENV_SERVER_URL) {
            Some(v) => (v, Origin::Env),
            None => match file.server.url {
                Some(v) => (v, Origin::File),
                None => return Err(Error::NoServerConfigured { config_file }),
            },
        };
        let server_url = parse_server_url(&server_raw, "server URL")?;
        let issuer = match env_var(ENV_ISSUER).or(file.auth.issuer) {
            Some(v) => Some(parse_server_url(&v, "issuer")?),
            None => None,
        };
        let client_id = env_var(ENV_CLIENT_ID).or(file.auth.client_id);
        let scope = match env_var(ENV_SCOPE) {
            Some(v) => Some((v, Origin::Env)),
            None => file.auth.scope.map(|v| (v, Origin::File)),
        };
        let lock_timeout = millis_var(ENV_LOCK_TIMEOUT_MS, DEFAULT_LOCK_TIMEOUT)?;
        let http_timeout = millis_var(ENV_HTTP_TIMEOUT_MS, DEFAULT_HTTP_TIMEOUT)?;
        Ok(Config {
            config_file,
            credentials_dir,
            runtime_dir: env_var(ENV_XDG_RUNTIME_DIR).map(PathBuf::from),
            server_url,
            server_origin,
            issuer,
            client_id,
            scope,
            env_token: env_var(ENV_TOKEN).map(Secret::new),
            passphrase: env_var(ENV_PASSPHRASE).map(Secret::new),
            no_browser: env_var(ENV_NO_BROWSER).is_some_and(|v| v != "0"),
            lock_timeout,
            http_timeout,
        })
    }
}

/// A duration variable in milliseconds, or `default` when unset.
fn millis_var(name: &str, default: Duration) -> Result<Duration> {
    match env_var(name) {
        Some(v) => v
            .parse()
            .map(Duration::from_millis)
            .map_err(|e: std::num::ParseIntError| Error::BadMilliseconds {
                name: name.to_owned(),
                value: v.clone(),
                reason: e.to_string(),
            }),
        None => Ok(default),
    }
}

/// `config.toml` and `credentials/`: under `CLIAUTH_HOME` when set, else the XDG folders.
pub(crate) fn state_paths() -> Result<(PathBuf, PathBuf)> {
    if let Some(home) = env_var(ENV_HOME) {
        let home = PathBuf::from(home);
        return Ok((home.join("config.toml"), home.join("credentials")));
    }
    let user_home = env_var("HOME").map(PathBuf::from);
    let xdg = |var: &str, fallback: &str| -> Result<PathBuf> {
        match (env_var(var), &user_home) {
            (Some(v), _) => Ok(PathBuf::from(v)),
            (None, Some(h)) => Ok(h.join(fallback)),
            (None, None) => Err(Error::NoStateFolder),
        }
    };
    Ok((
        xdg("XDG_CONFIG_HOME", ".config")?
            .join("cliauth")
            .join("config.toml"),
        xdg("XDG_STATE_HOME", ".local/state")?
            .join("cliauth")
            .join("credentials"),
    ))
}

fn read_file_config(path: &Path) -> Result<FileConfig> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileConfig::default()),
        Err(e) => return Err(Error::io(format!("read {}", path.display()), e)),
    };
    toml::from_str(&text).map_err(|e| Error::InvalidConfigFile {
        path: path.to_owned(),
        detail: e.message().trim().to_owned(),
        line_column: e
            .span()
            .map(|s| cliauth_tomlfile::line_column(&text, s.start)),
    })
}

/// Parses a server or issuer URL: `https://`, or `http://` on a loopback address only.
pub(crate) fn parse_server_url(raw: &str, what: &str) -> Result<Url> {
    let url = Url::parse(raw.trim()).map_err(|e| Error::InvalidUrl {
        what: what.to_owned(),
        raw: raw.to_owned(),
        reason: e.to_string(),
    })?;
    check_url_security(&url)?;
    Ok(url)
}

/// Refuses anything but `https://` and loopback `http://`.
pub(crate) fn check_url_security(url: &Url) -> Result<()> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::InsecureUrl {
            url: url.as_str().trim_end_matches('/').to_owned(),
        }),
        other => Err(Error::UnsupportedScheme {
            scheme: other.to_owned(),
            url: url.to_string(),
        }),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Joins a path onto a base URL, keeping the base's own path (`https://h/api` + `v1/me`).
pub(crate) fn join_url(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!(
        "{}/{}",
        base.path().trim_end_matches('/'),
        path.trim_start_matches('/')
    );
    url.set_path(&joined);
    url
}

/// Display form of a URL without a trailing slash on a bare origin.
pub(crate) fn display_url(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("https://auth.example.com", true)]
    #[case("http://127.0.0.1:8080", true)]
    #[case("http://localhost:1", true)]
    #[case("http://[::1]:1", true)]
    #[case("http://auth.example.com", false)]
    #[case("http://10.0.0.1", false)]
    #[case("ftp://x", false)]
    fn only_https_or_loopback_http_is_accepted(#[case] raw: &str, #[case] ok: bool) {
        assert_eq!(parse_server_url(raw, "server URL").is_ok(), ok, "{raw}");
    }

    #[test]
    fn join_keeps_base_path() {
        let base = Url::parse("https://h/prefix/").unwrap();
        assert_eq!(
            join_url(&base, "/api/v1/me").as_str(),
            "https://h/prefix/api/v1/me"
        );
        let base = Url::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(
            join_url(&base, "api/v1/me").as_str(),
            "http://127.0.0.1:9/api/v1/me"
        );
    }

    /// A bad config.toml is reported as `path:line:col: what` (it used to be a byte offset).
    #[test]
    fn a_bad_config_file_names_path_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[server]\nurl = \"https://x\"\n[auth]\nclient = \"c\"\n",
        )
        .unwrap();
        let err = read_file_config(&path).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("{}:4:1: unknown field `client`", path.display())),
            "{text}"
        );
    }
}
