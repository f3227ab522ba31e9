//! `cliauth`: the reference command-line authentication client.
//!
//! The binary is [`run_main`]; the `auth` command group ([`AuthCommand`]) can be mounted in any
//! clap CLI (see `examples/mount.rs`). The library pieces are the session manager
//! ([`session::Session`]), the encrypted credential store ([`store`]), the login flows
//! ([`flows`]) and the error taxonomy ([`classify`]).
//!
//! ```no_run
//! // The whole binary:
//! fn main() -> std::process::ExitCode {
//!     cliauth::run_main()
//! }
//! ```

pub mod classify;
pub mod clock;
pub mod commands;
pub mod config;
pub mod flows;
pub mod hooks;
pub mod http;
pub mod metadata;
pub mod oauth_error;
pub mod secret;
pub mod session;
pub mod store;
pub mod ui;

pub use classify::{Error, ErrorCategory};
pub use commands::auth::{AuthCommand, run as run_auth};
pub use commands::run_main;
