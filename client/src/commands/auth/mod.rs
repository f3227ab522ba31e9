//! The `auth` command group. Another clap CLI can mount it: add `AuthCommand` as a subcommand
//! and call [`run`] (see `examples/mount.rs`).

pub(crate) mod doctor;
pub(crate) mod login;
pub(crate) mod logout;
pub(crate) mod refresh;
pub(crate) mod status;
pub(crate) mod token;

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{Ctx, finish};
use crate::secret::Secret;
use crate::ui::Ui;

/// `--json` for commands that report.
#[derive(Debug, Clone, Copy, Args)]
pub struct JsonArg {
    /// Print a JSON document on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Log in, inspect and manage credentials.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Log in (browser by default; --device, --password or --with-token).
    Login(login::LoginArgs),
    /// Show whether you are logged in, as whom, and where the token comes from.
    Status(JsonArg),
    /// Print a valid access token on stdout (refreshing first if needed).
    Token,
    /// Refresh the access token now.
    Refresh(JsonArg),
    /// Revoke and delete the stored session (--all also removes a stored personal token).
    Logout(logout::LogoutArgs),
    /// Check configuration, connectivity, discovery, credential files and the session.
    Doctor(doctor::DoctorArgs),
}

/// Runs an `auth` command; `token_flag` is the global `--token`.
pub fn run(cmd: AuthCommand, token_flag: Option<Secret>) -> ExitCode {
    let json = match &cmd {
        AuthCommand::Login(a) => a.json,
        AuthCommand::Status(a) | AuthCommand::Refresh(a) => a.json,
        AuthCommand::Logout(a) => a.json,
        AuthCommand::Doctor(a) => a.json,
        AuthCommand::Token => false,
    };
    let ctx = Ctx {
        ui: Ui::detect(),
        token_flag,
    };
    let result = match cmd {
        AuthCommand::Login(a) => login::run(&a, &ctx),
        AuthCommand::Status(_) => status::run(&ctx),
        AuthCommand::Token => return token::run(&ctx),
        AuthCommand::Refresh(_) => refresh::run(&ctx),
        AuthCommand::Logout(a) => logout::run(a, &ctx),
        AuthCommand::Doctor(a) => doctor::run(a, &ctx),
    };
    finish(json, result)
}
