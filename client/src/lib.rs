//! `cliauth`: the reference command-line authentication client.
//!
//! The binary is [`run_main`]; the `auth` command group ([`AuthCommand`]) can be mounted in any
//! clap CLI. The library pieces are the session manager ([`session::Session`]), the encrypted
//! credential store ([`store`]), the login flows ([`flows`]) and the error taxonomy
//! ([`classify`]).

pub mod classify;
pub mod config;
pub mod hooks;
pub mod secret;
pub mod store;

pub use classify::{Error, ErrorCategory};
