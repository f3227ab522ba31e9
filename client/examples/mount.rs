//! Mounting cliauth's `auth` command group in another clap CLI: `mycli auth login`, `mycli auth
//! token`, ... next to the CLI's own commands.
//!
//! Run: `cargo run -p cliauth --example mount -- auth status`

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// A CLI of your own.
#[derive(Parser)]
#[command(name = "mycli")]
struct MyCli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Everything about logging in, from cliauth.
    #[command(subcommand)]
    Auth(cliauth::AuthCommand),
    /// One of your own commands.
    Hello,
}

fn main() -> ExitCode {
    match MyCli::parse().command {
        Command::Auth(cmd) => cliauth::run_auth(cmd, None),
        Command::Hello => {
            println!("hello");
            ExitCode::SUCCESS
        }
    }
}
