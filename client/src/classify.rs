//! The error taxonomy: one [`ErrorCategory`] per kind of failure, each with a stable
//! snake_case name, a distinct exit code and a `retryable` flag, and the library's [`Error`]
//! whose every variant maps to exactly one category.
//!
//! | category | exit | retryable |
//! |---|---|---|
//! | (success) | 0 | |
//! | internal bug | 1 | no |
//! | usage (clap) | 2 | no |
//! | `unauthenticated` | 4 | no |
//! | `private_teamspace_required` | 5 | no |
//! | `forbidden` | 6 | no |
//! | `retryable_transport` | 7 | yes |
//! | `server_error` | 8 | yes |
//! | `config` | 9 | no |
//! | `local_storage` | 10 | no |
//! | `access_denied` | 11 | no |
//! | `expired_code` | 12 | no |
//! | `cancelled` | 13 | no |
//! | `cancelled` (Ctrl-C) | 130 | no |

use std::path::PathBuf;

use crate::oauth_error::{OAuthErrorBody, OAuthErrorCode};

mod category;
mod id_token_check;

pub use category::ErrorCategory;
pub(crate) use category::{EXIT_INTERRUPTED, EXIT_USAGE};
pub use id_token_check::IdTokenCheck;

/// Every failure the library reports. Messages are lowercase fragments without secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No credentials at all.
    #[error("not logged in")]
    NotLoggedIn,
    /// The access token expired and there is no refresh token.
    #[error("the session has expired")]
    SessionExpired,
    /// The server rejected the refresh token that is still the stored one.
    #[error("refresh token rejected: the session has ended")]
    RefreshRejected,
    /// The username or password was wrong.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// The hosted API answered 401 for the bearer we sent.
    #[error("the server rejected the access token from {source_name}")]
    TokenRejected {
        /// Where the token came from (`--token`, `CLIAUTH_TOKEN`, stored credentials).
        source_name: &'static str,
    },
    /// 403 `private_teamspace_required` from the hosted API.
    #[error("this account has no Private Teamspace{}", opt_detail(.description.as_deref()))]
    PrivateTeamspaceRequired {
        /// The server's description.
        description: Option<String>,
    },
    /// Any other 403.
    #[error("the server refused {what}{}", opt_detail(.description.as_deref()))]
    Forbidden {
        /// The request that was refused.
        what: String,
        /// The server's description.
        description: Option<String>,
    },
    /// The connection failed (DNS, refused, reset, timeout).
    #[error("could not reach {what} at {target}: {kind}")]
    Transport {
        /// The endpoint, e.g. `the token endpoint`.
        what: String,
        /// `host:port` that was tried.
        target: String,
        /// A short description of the transport failure.
        kind: String,
        /// The underlying error.
        #[source]
        source: Option<reqwest::Error>,
    },
    /// 429, 502, 503 or 504.
    #[error("{what} is {} (HTTP {status}){}", if *.status == 429 { "rate-limiting requests" } else { "temporarily unavailable" }, retry_detail(*.retry_after))]
    Unavailable {
        /// The endpoint.
        what: String,
        /// The HTTP status.
        status: u16,
        /// `Retry-After` in seconds, when the server sent one.
        retry_after: Option<u64>,
    },
    /// A peer is rotating the refresh token right now and no newer token is stored yet.
    #[error("the refresh token is being rotated by another client; try again")]
    RefreshInProgress,
    /// 500 or another unexpected status.
    #[error("{what} failed with HTTP {status}{}", opt_detail(.detail.as_deref()))]
    ServerStatus {
        /// The endpoint.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The OAuth error code or similar detail.
        detail: Option<String>,
    },
    /// A response we cannot use: wrong content type, bad JSON, too large, a redirect.
    #[error("{what} returned an unusable response: {detail}")]
    Malformed {
        /// The endpoint.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// An OAuth error code the client cannot act on.
    #[error("{what} returned an OAuth error: {body}")]
    OAuth {
        /// The endpoint.
        what: String,
        /// The error body.
        body: OAuthErrorBody,
    },
    /// The configuration is wrong.
    #[error("{message}")]
    Config {
        /// What is wrong.
        message: String,
        /// The next step.
        hint: String,
    },
    /// Neither `CLIAUTH_SERVER_URL` nor `config.toml` names a server.
    #[error("no server is configured")]
    NoServerConfigured {
        /// The configuration file that was read.
        config_file: PathBuf,
    },
    /// A millisecond variable is not a whole number.
    #[error("{name}={value} is not a number of milliseconds ({reason})")]
    BadMilliseconds {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// Neither `HOME` nor `CLIAUTH_HOME` is set, so there is nowhere to keep state.
    #[error("cannot find a folder for cliauth's state: neither HOME nor CLIAUTH_HOME is set")]
    NoStateFolder,
    /// `config.toml` does not parse: `path:line:col: detail`, the form editors and terminals
    /// turn into links (as the mock's config and the scenarios report theirs).
    #[error("{}{}: {detail}", .path.display(), .line_column.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    InvalidConfigFile {
        /// The file.
        path: PathBuf,
        /// The parser's description.
        detail: String,
        /// The 1-based line and column where the problem starts, when known.
        line_column: Option<(usize, usize)>,
    },
    /// A server or issuer URL does not parse.
    #[error("the {what} {raw:?} is not a valid URL ({reason})")]
    InvalidUrl {
        /// Which URL, e.g. `server URL`.
        what: String,
        /// The text given.
        raw: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A URL whose scheme is neither `https` nor `http`.
    #[error("unsupported URL scheme {scheme:?} in {url}")]
    UnsupportedScheme {
        /// The scheme.
        scheme: String,
        /// The URL.
        url: String,
    },
    /// Neither RFC 8414 nor OpenID Connect discovery has a document for the issuer.
    #[error(
        "no OAuth discovery document at {issuer} (tried RFC 8414 and OpenID Connect discovery)"
    )]
    NoDiscoveryDocument {
        /// The issuer that was tried.
        issuer: String,
    },
    /// The discovery document names another issuer than the one it was fetched for (RFC 8414
    /// §3.3).
    #[error("the discovery document names issuer {reported:?}, not {expected:?}")]
    IssuerMismatch {
        /// The issuer the document names.
        reported: String,
        /// The issuer it was fetched for.
        expected: String,
    },
    /// A plain-HTTP URL that is not on a loopback address.
    #[error("refusing insecure URL {url}: plain http is only allowed for loopback addresses")]
    InsecureUrl {
        /// The URL.
        url: String,
    },
    /// The fixed callback port is taken.
    #[error("port {port} on 127.0.0.1 is already in use")]
    PortInUse {
        /// The port.
        port: u16,
    },
    /// Dynamic client registration failed.
    #[error("client registration failed: {detail}")]
    RegistrationFailed {
        /// What the server said.
        detail: String,
    },
    /// The server does not offer a login method.
    #[error("the server does not support {method} login")]
    MethodUnsupported {
        /// The method.
        method: &'static str,
    },
    /// Group or other users can read or write a credentials path.
    #[error("{} has permissions {mode:o}, which other users can access", .path.display())]
    Permissions {
        /// The path.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
        /// The mode it must have.
        want: u32,
    },
    /// A credentials path (store, lock or key file) is a symbolic link: following it would
    /// read, truncate or lock whatever it points to.
    #[error("{} is a symbolic link; cliauth does not follow links for its credentials files", .path.display())]
    Symlink {
        /// The path.
        path: PathBuf,
    },
    /// A credentials path belongs to another user.
    #[error("{} belongs to another user (uid {owner})", .path.display())]
    ForeignOwner {
        /// The path.
        path: PathBuf,
        /// Its owner.
        owner: u32,
    },
    /// The store cannot be decrypted or parsed.
    #[error("the credentials file {} is corrupted ({reason}); it was moved to {}", .path.display(), .moved_to.display())]
    Corrupted {
        /// The store path.
        path: PathBuf,
        /// Where the unreadable file now is.
        moved_to: PathBuf,
        /// Why it could not be read.
        reason: String,
    },
    /// The key file exists but cannot be used.
    #[error("the key file {} is invalid: {reason}", .path.display())]
    BadKeyFile {
        /// The key file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key is derived from a passphrase and none was given.
    #[error("the credentials are protected by a passphrase and CLIAUTH_PASSPHRASE is not set")]
    PassphraseRequired,
    /// The passphrase does not derive the key the credentials were encrypted with.
    #[error("CLIAUTH_PASSPHRASE does not match the passphrase the credentials were stored with")]
    WrongPassphrase,
    /// A filesystem operation failed.
    #[error("failed to {context}")]
    Io {
        /// What we were doing, e.g. `write /x/y`.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Another process held the credentials lock for longer than the bound.
    #[error("timed out after {waited_ms} ms waiting for the credentials lock {}{}", .path.display(), opt_detail(.holder.as_deref()))]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
        /// How long we waited.
        waited_ms: u64,
        /// The holder record, when readable.
        holder: Option<String>,
    },
    /// The user or the server denied the authorization.
    #[error("authorization denied{}", opt_detail(.detail.as_deref()))]
    AccessDenied {
        /// The server's description.
        detail: Option<String>,
    },
    /// The `state` returned to the callback did not match the one we sent.
    #[error(
        "the authorization response did not match this login attempt (state mismatch); it was refused"
    )]
    StateMismatch,
    /// The authorization response names another issuer than the one the login started with,
    /// or none although the server promises one (RFC 9207 §2.4: a mix-up defence).
    #[error("the authorization response {}; it was refused (RFC 9207)", match .reported {
        Some(r) => format!("came from issuer {r:?}, not {expected:?}"),
        None => format!("names no issuer although {expected} promises one"),
    })]
    AuthorizationIssuerMismatch {
        /// The `iss` the response carried, if any.
        reported: Option<String>,
        /// The issuer of this login.
        expected: String,
    },
    /// An ID token failed a check of OpenID Connect Core §3.1.3.7; the login is not stored.
    #[error("the ID token was refused: its {check} check failed ({detail})")]
    IdTokenRejected {
        /// The check that failed.
        check: IdTokenCheck,
        /// What was wrong (never the token itself).
        detail: String,
    },
    /// The device code or authorization code expired.
    #[error("the {what} expired before the login was approved")]
    ExpiredCode {
        /// `device code` or `authorization code`.
        what: &'static str,
    },
    /// The login was cancelled or ran out of time.
    #[error("{reason}")]
    Cancelled {
        /// Why.
        reason: String,
    },
    /// Ctrl-C (SIGINT) ended a wait; exit code 130.
    #[error("cancelled")]
    Interrupted,
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

fn opt_detail(d: Option<&str>) -> String {
    match d {
        Some(d) if !d.is_empty() => format!(": {d}"),
        _ => String::new(),
    }
}

fn retry_detail(r: Option<u64>) -> String {
    r.map_or_else(String::new, |s| {
        format!("; the server asked to retry after {s} s")
    })
}

impl Error {
    /// Builds a [`Error::Config`].
    pub fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Builds an [`Error::Io`] with the operation and path it concerned.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The category this error belongs to.
    pub fn category(&self) -> ErrorCategory {
        use ErrorCategory as C;
        match self {
            Error::NotLoggedIn
            | Error::SessionExpired
            | Error::RefreshRejected
            | Error::InvalidCredentials
            | Error::TokenRejected { .. } => C::Unauthenticated,
            Error::PrivateTeamspaceRequired { .. } => C::PrivateTeamspaceRequired,
            Error::Forbidden { .. } => C::Forbidden,
            Error::Transport { .. } | Error::Unavailable { .. } | Error::RefreshInProgress => {
                C::RetryableTransport
            }
            Error::ServerStatus { .. } | Error::Malformed { .. } => C::ServerError,
            Error::OAuth { body, .. } => match body.error {
                OAuthErrorCode::InvalidGrant => C::Unauthenticated,
                OAuthErrorCode::AccessDenied => C::AccessDenied,
                OAuthErrorCode::ExpiredToken => C::ExpiredCode,
                OAuthErrorCode::TemporarilyUnavailable => C::RetryableTransport,
                OAuthErrorCode::InvalidClient
                | OAuthErrorCode::UnauthorizedClient
                | OAuthErrorCode::InvalidScope
                | OAuthErrorCode::UnsupportedGrantType
                | OAuthErrorCode::InvalidRequest
                | OAuthErrorCode::UnsupportedResponseType => C::Config,
                // A benign replay only reaches the user when the refresh transaction gave up
                // on it (it then reports `RefreshInProgress`); anything else is the server's.
                OAuthErrorCode::ServerError
                | OAuthErrorCode::AuthorizationPending
                | OAuthErrorCode::SlowDown
                | OAuthErrorCode::RefreshReplayBenignRetry
                | OAuthErrorCode::Other(_) => C::ServerError,
            },
            Error::Config { .. }
            | Error::NoServerConfigured { .. }
            | Error::BadMilliseconds { .. }
            | Error::NoStateFolder
            | Error::InvalidConfigFile { .. }
            | Error::InvalidUrl { .. }
            | Error::UnsupportedScheme { .. }
            | Error::NoDiscoveryDocument { .. }
            | Error::IssuerMismatch { .. }
            | Error::InsecureUrl { .. }
            | Error::PortInUse { .. }
            | Error::RegistrationFailed { .. }
            | Error::MethodUnsupported { .. }
            | Error::PassphraseRequired
            | Error::WrongPassphrase => C::Config,
            Error::Permissions { .. }
            | Error::Symlink { .. }
            | Error::ForeignOwner { .. }
            | Error::Corrupted { .. }
            | Error::BadKeyFile { .. }
            | Error::Io { .. }
            | Error::LockTimeout { .. } => C::LocalStorage,
            // A response that cannot be trusted as the answer to this login is refused like a
            // state mismatch: not retryable, and the server denied nothing the user can fix.
            Error::AccessDenied { .. }
            | Error::StateMismatch
            | Error::AuthorizationIssuerMismatch { .. }
            | Error::IdTokenRejected { .. } => C::AccessDenied,
            Error::ExpiredCode { .. } => C::ExpiredCode,
            Error::Cancelled { .. } | Error::Interrupted => C::Cancelled,
            Error::Internal(_) => C::Internal,
        }
    }

    /// The process exit code: the category's, except 130 for Ctrl-C (what a shell reports for
    /// a process SIGINT killed, so scripts see the same code either way).
    pub fn exit_code(&self) -> u8 {
        if matches!(self, Error::Interrupted) {
            EXIT_INTERRUPTED
        } else {
            self.category().exit_code()
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// Discovery failures read as they did when they were generic configuration errors.
    #[test]
    fn discovery_failures_name_the_issuers_involved() {
        assert_eq!(
            Error::NoDiscoveryDocument {
                issuer: "https://id.example".into()
            }
            .to_string(),
            "no OAuth discovery document at https://id.example (tried RFC 8414 and OpenID Connect discovery)"
        );
        assert_eq!(
            Error::IssuerMismatch {
                reported: "https://a/".into(),
                expected: "https://b".into()
            }
            .to_string(),
            r#"the discovery document names issuer "https://a/", not "https://b""#
        );
    }

    /// The server's own words reach the user, and an empty description adds no stray
    /// punctuation.
    #[rstest]
    #[case::code_and_description(
        Some("scope admin is not allowed"),
        "the token endpoint returned an OAuth error: invalid_scope (scope admin is not allowed)"
    )]
    #[case::empty_description(
        Some(""),
        "the token endpoint returned an OAuth error: invalid_scope"
    )]
    #[case::no_description(None, "the token endpoint returned an OAuth error: invalid_scope")]
    fn oauth_error_message_names_the_code_and_the_servers_description(
        #[case] description: Option<&str>,
        #[case] message: &str,
    ) {
        let err = Error::OAuth {
            what: "the token endpoint".into(),
            body: OAuthErrorBody {
                error: "invalid_scope".into(),
                error_description: description.map(Into::into),
                retry_after: None,
            },
        };
        assert_eq!(err.to_string(), message);
    }

    #[rstest]
    #[case::description(
        Some("ask an owner for access"),
        "the server refused the ingress: ask an owner for access"
    )]
    #[case::empty_description(Some(""), "the server refused the ingress")]
    #[case::no_description(None, "the server refused the ingress")]
    fn optional_server_detail_is_appended_only_when_present(
        #[case] description: Option<&str>,
        #[case] message: &str,
    ) {
        let err = Error::Forbidden {
            what: "the ingress".into(),
            description: description.map(Into::into),
        };
        assert_eq!(err.to_string(), message);
    }
}
