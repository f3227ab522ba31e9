//! The library's error type.

use crate::config::ConfigError;

/// Why starting or driving a mock server failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid.
    #[error("load the mock configuration")]
    Config(#[from] ConfigError),
    /// The listening socket could not be bound.
    #[error("bind {}", std::net::SocketAddr::from((*.host, *.port)))]
    Bind {
        /// The address asked for.
        host: std::net::IpAddr,
        /// The requested port (0 = any).
        port: u16,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A signing key could not be generated.
    #[error("generate the {algorithm} signing key")]
    KeyGeneration {
        /// The JWS algorithm.
        algorithm: &'static str,
    },
    /// The thread that generates the signing keys could not be started.
    #[error("start the key generation thread")]
    Spawn(#[source] std::io::Error),
    /// A JWT could not be signed.
    #[error("sign an access token")]
    Signing,
    /// No pending device authorization matches.
    #[error("find a pending device authorization{}", .user_code.as_deref().map(|c| format!(" with user code {c}")).unwrap_or_default())]
    UnknownDeviceCode {
        /// The user code asked for, `None` for "the most recent".
        user_code: Option<String>,
    },
    /// A token was to be minted for a user the configuration does not have.
    #[error("mint a token for user {username:?}: no such user in [[users]]")]
    UnknownUser {
        /// The user asked for.
        username: String,
    },
    /// A token could not be minted.
    #[error("mint a token: {reason}")]
    Mint {
        /// What went wrong.
        reason: String,
    },
    /// A host given to intercept is not one (`serve --intercept`).
    #[error("intercept host {host:?}: {reason}")]
    Intercept {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The interception proxy's certificate could not be made or used.
    #[error("make the interception certificate")]
    Tls(#[from] crate::tls::TlsError),
    /// The server task ended abnormally.
    #[error("join the server task")]
    Join(#[source] tokio::task::JoinError),
}
