//! `cliauth`: the reference command-line authentication client, as a binary and a library.
//!
//! The binary logs in to an OAuth 2.0 authorization server (browser + PKCE, device code,
//! password, or a personal access token), keeps the session in an encrypted file, refreshes it
//! safely when many processes run at once, and uses it for the hosted API. The library gives
//! you the same pieces:
//!
//! - **The command line**, whole ([`run_main`]) or as an `auth` group you mount in your own clap
//!   CLI ([`AuthCommand`] + [`run_auth`], see `examples/mount.rs`).
//! - **The credential store** ([`Store`]): one AES-256-GCM encrypted file per server, private
//!   permissions checked on every read, atomic replacement, and an OS lock ([`LockGuard`]) that
//!   every writer holds. What it keeps is a [`StoredState`]: a [`SessionRecord`] (tokens, their
//!   expiry, the [`ServerMetadata`] they were issued by), a [`StaticToken`], a registered
//!   client id.
//! - **Protocol values as types**: [`AccessToken`], [`RefreshToken`], [`ClientId`],
//!   [`IssuerUrl`]. Tokens, like every [`Secret`], have a redacted `Debug`, no `Display`, are
//!   zeroized on drop, and their value only leaves through `expose()`.
//! - **The error taxonomy** ([`Error`], [`ErrorCategory`]): every failure has one category, and
//!   every category a stable name, a distinct exit code and a `retryable` bit. OAuth error
//!   codes arrive typed ([`OAuthErrorCode`]).
//!
//! # Example: store a session and read it back
//!
//! ```
//! use std::time::Duration;
//!
//! use cliauth::{AccessToken, LoginMethod, RefreshToken, SessionRecord, Store, StoredState, now_unix};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let home = tempfile::tempdir()?;
//! let server = url::Url::parse("https://api.example.com")?;
//! // No passphrase: the key is 32 random bytes in a 0600 key file beside the store.
//! let store = Store::new(&home.path().join("credentials"), &server, None, None);
//!
//! // Writers hold the lock, so a concurrent refresh cannot interleave with this write.
//! let guard = store.lock(Duration::from_secs(5))?;
//! let state = StoredState {
//!     server: server.to_string(),
//!     session: Some(SessionRecord {
//!         access_token: AccessToken::new("at-123"),
//!         refresh_token: Some(RefreshToken::new("rt-456")),
//!         access_expires_at: Some(now_unix() + 3600),
//!         refresh_expires_at: None,
//!         method: LoginMethod::Password,
//!         user: Some("alice".into()),
//!         client_id: "cliauth".into(),
//!         updated_at: now_unix(),
//!         me: None,
//!         auth_server: None,
//!         scope: None,
//!         subject: None,
//!         client_secret: None,
//!     }),
//!     ..StoredState::default()
//! };
//! store.save(&state, &guard)?;
//! drop(guard);
//!
//! // Nothing readable is on disk, and nothing secret is in `Debug` output.
//! assert!(!String::from_utf8_lossy(&std::fs::read(store.path())?).contains("at-123"));
//! let session = store.load(None)?.and_then(|s| s.session).expect("a stored session");
//! assert!(session.access_token.same_as(&AccessToken::new("at-123")));
//! assert!(!format!("{session:?}").contains("at-123"));
//! # Ok(())
//! # }
//! ```
//!
//! # Example: what an error means for a script
//!
//! ```
//! use cliauth::{Error, ErrorCategory, OAuthErrorBody, OAuthErrorCode};
//!
//! // The token endpoint said `invalid_grant`: the refresh token is spent or revoked.
//! let body: OAuthErrorBody = serde_json::from_str(r#"{"error": "invalid_grant"}"#).unwrap();
//! assert_eq!(body.error, OAuthErrorCode::InvalidGrant);
//!
//! let err = Error::RefreshRejected;
//! assert_eq!(err.to_string(), "refresh token rejected: the session has ended");
//! assert_eq!(err.category(), ErrorCategory::Unauthenticated);
//! assert_eq!((err.category().name(), err.exit_code()), ("unauthenticated", 4));
//! assert!(!err.category().retryable());
//! ```
//!
//! # The whole binary
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     cliauth::run_main()
//! }
//! ```
//!
//! Inside, the modules are floors, each using only the ones below it: `commands/` (one module per
//! subcommand, and all presentation: hints, `--json`), `session/` (token precedence, the hot
//! path, the refresh transaction), `flows/` (one login protocol each), `store/`, `http`, and on
//! the ground floor `classify`, `oauth_error`, `protocol`, `metadata`, `secret`, `clock` and
//! `config`.

mod classify;
mod clock;
mod commands;
mod config;
mod flows;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzz_entry;
mod hooks;
mod http;
mod interrupt;
mod metadata;
mod oauth_error;
mod protocol;
mod secret;
mod session;
mod store;
mod ui;

pub use classify::{Error, ErrorCategory, IdTokenCheck, Result};
pub use clock::now_unix;
pub use commands::auth::{AuthCommand, run as run_auth};
pub use commands::run_main;
pub use hooks::install_pause_hook;
pub use metadata::ServerMetadata;
pub use oauth_error::{OAuthErrorBody, OAuthErrorCode};
pub use protocol::{
    AccessToken, ClientAuthMethod, ClientId, ClientSecret, IssuerUrl, RefreshToken,
    RegisteredSecret, Scope,
};
pub use secret::Secret;
pub use store::{LockGuard, LoginMethod, MeCache, SessionRecord, StaticToken, Store, StoredState};
