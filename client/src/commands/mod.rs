//! The command line: clap types, dispatch, and the uniform rendering of results and errors.

pub(crate) mod auth;
pub(crate) mod completion;
pub(crate) mod help;
pub(crate) mod render;
pub(crate) mod sync;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::classify::{Error, Result};
use crate::config::Config;
use crate::secret::Secret;
use crate::session::Session;
use crate::ui::{Ui, escape_controls, escape_json};

pub(crate) use auth::AuthCommand;

/// `cliauth`: log in to a server and use its hosted API from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "cliauth",
    version,
    about,
    propagate_version = true,
    after_help = help::after_help()
)]
pub(crate) struct Cli {
    /// Use this access token (highest precedence: before CLIAUTH_TOKEN and stored credentials).
    /// Discouraged: other local users can read argv (`ps`); prefer --token-stdin or
    /// CLIAUTH_TOKEN.
    #[arg(long, global = true, value_name = "TOKEN", value_parser = secret_arg)]
    pub token: Option<Secret>,
    /// Read the access token to use from stdin (one line), with --token's precedence.
    #[arg(long, global = true, conflicts_with = "token")]
    pub token_stdin: bool,
    /// The command.
    #[command(subcommand)]
    pub command: TopCommand,
}

/// Parses a secret argument straight into a [`Secret`], so `Debug` of the parsed command line
/// never shows it.
#[expect(
    clippy::unnecessary_wraps,
    reason = "clap's value_parser takes a fallible function"
)]
fn secret_arg(raw: &str) -> std::result::Result<Secret, std::convert::Infallible> {
    Ok(Secret::new(raw))
}

/// The token for `--token-stdin`: the first line of stdin, without its line ending.
fn read_token_stdin() -> std::result::Result<Secret, String> {
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("--token-stdin could not read stdin ({e})"))?;
    let token = line.trim_end_matches(['\r', '\n']);
    if token.trim().is_empty() {
        return Err("--token-stdin read no token from stdin".into());
    }
    Ok(Secret::new(token))
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum TopCommand {
    /// Log in, inspect and manage credentials.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Hosted workflows.
    #[command(subcommand)]
    Sync(sync::SyncCommand),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completion(completion::CompletionArgs),
    /// Write the man pages into a folder (`just man` writes them to target/man).
    #[command(hide = true)]
    Man(completion::ManArgs),
}

/// What a successful command reports.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// The `--json` document (printed on stdout with `--json`).
    pub json: serde_json::Value,
    /// Human data for stdout (without `--json`).
    pub stdout: Vec<String>,
    /// Human messages for stderr (without `--json`; warnings are printed in both modes).
    pub stderr: Vec<String>,
    /// Exit code (0 unless a command reports a non-error state such as "not logged in").
    pub exit: u8,
}

/// Shared invocation context.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Terminal presentation.
    pub ui: Ui,
    /// `--token`.
    pub token_flag: Option<Secret>,
}

impl Ctx {
    /// Loads the configuration and builds the session manager.
    pub(crate) fn session(&self) -> Result<Session> {
        Ok(Session::new(Config::load()?, self.token_flag.clone()))
    }
}

/// A current-thread runtime for the commands that use the network (the hot path never does);
/// Ctrl-C ends the future with [`Error::Interrupted`].
pub(crate) fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("start the async runtime", e))?;
    // Every wait of a command runs in here, so Ctrl-C is handled from here on: dropping `f`
    // drops its spinner (which clears its line) and its open connections.
    crate::interrupt::install();
    rt.block_on(async {
        tokio::select! {
            biased;
            () = crate::interrupt::wait() => Err(Error::Interrupted),
            out = f => Ok(out),
        }
    })
}

/// Prints a report or an error the way the contract says and returns the exit code.
pub(crate) fn finish(json: bool, result: Result<Report>) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let (code, write) = match result {
        Ok(report) => {
            let w = if json {
                writeln!(out, "{}", escape_json(report.json))
            } else {
                for line in &report.stderr {
                    eprintln!("{}", escape_controls(line));
                }
                report
                    .stdout
                    .iter()
                    .try_for_each(|l| writeln!(out, "{}", escape_controls(l)))
            };
            (report.exit, w)
        }
        Err(e) => {
            let w = if json {
                writeln!(out, "{}", render::json(&e))
            } else {
                eprintln!("{}", render::human(&e));
                Ok(())
            };
            (e.exit_code(), w)
        }
    };
    match write.and_then(|()| out.flush()) {
        Ok(()) => ExitCode::from(code),
        // A closed stdout (e.g. `| head`) must not look like success to a script.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(code.max(1)),
        Err(e) => {
            eprintln!("error: cannot write the output: {e}");
            ExitCode::from(1)
        }
    }
}

/// The commands that use no access token: there `--token`/`--token-stdin` would be silently
/// ignored (or, for `auth login`, mistaken for `--with-token`), so the parser's usage error
/// refuses them. `global = true` flags cannot name the subcommands they conflict with, hence
/// this check after parsing.
fn token_flag_conflict(cli: &Cli) -> Option<clap::Error> {
    let (command, hint) = match &cli.command {
        TopCommand::Auth(AuthCommand::Login(_)) => (
            "auth login",
            "to store a personal access token, pipe it to `cliauth auth login --with-token`",
        ),
        TopCommand::Auth(AuthCommand::Logout(_)) => (
            "auth logout",
            "logout forgets stored credentials; a --token is never stored",
        ),
        TopCommand::Auth(AuthCommand::Refresh(_)) => (
            "auth refresh",
            "refresh renews the stored session; a --token cannot be refreshed",
        ),
        TopCommand::Completion(_) => ("completion", "completion needs no token"),
        TopCommand::Man(_) => ("man", "man needs no token"),
        TopCommand::Auth(AuthCommand::Status(_) | AuthCommand::Token | AuthCommand::Doctor(_))
        | TopCommand::Sync(_) => return None,
    };
    let flag = if cli.token_stdin {
        "--token-stdin"
    } else if cli.token.is_some() {
        "--token <TOKEN>"
    } else {
        return None;
    };
    Some(<Cli as clap::CommandFactory>::command().error(
        clap::error::ErrorKind::ArgumentConflict,
        format!("the argument '{flag}' cannot be used with '{command}'\n\n  tip: {hint}"),
    ))
}

fn init_logging() {
    let Some(level) = crate::config::env_var(crate::config::ENV_LOG) else {
        return;
    };
    // A bare level applies to cliauth only: dependency debug logs are noise and could include
    // request details we do not control.
    let directive = if level.contains('=') || level.contains(',') {
        level
    } else {
        format!("cliauth={level}")
    };
    let filter = tracing_subscriber::EnvFilter::new(directive);
    if let Err(e) = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .try_init()
    {
        eprintln!("warning: cannot start the debug log: {e}");
    }
}

/// Runs the whole `cliauth` binary from `std::env::args_os()`.
pub fn run_main() -> ExitCode {
    // The hot path skips building clap's command tree: `cliauth auth token` with nothing else
    // is by far the most frequent invocation (scripts and credential helpers call it per
    // request), and the parse would be a large share of its run time.
    let mut args = std::env::args_os().skip(1);
    if let (Some(a), Some(b), None) = (args.next(), args.next(), args.next())
        && a == "auth"
        && b == "token"
    {
        init_logging();
        return auth::token::run(&Ctx {
            ui: Ui::detect(),
            token_flag: None,
        });
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                crate::classify::EXIT_USAGE
            } else {
                0
            };
            if let Err(pe) = e.print() {
                eprintln!("error: cannot print the usage message: {pe}");
            }
            return ExitCode::from(code);
        }
    };
    if let Some(err) = token_flag_conflict(&cli) {
        if let Err(pe) = err.print() {
            eprintln!("error: cannot print the usage message: {pe}");
        }
        return ExitCode::from(crate::classify::EXIT_USAGE);
    }
    init_logging();
    let token_flag = if cli.token_stdin {
        match read_token_stdin() {
            Ok(t) => Some(t),
            Err(msg) => {
                eprintln!(
                    "error: {msg}\nhint: pipe the token in: `printf %s \"$TOKEN\" | cliauth --token-stdin ...`"
                );
                return ExitCode::from(crate::classify::EXIT_USAGE);
            }
        }
    } else {
        if cli.token.is_some() {
            eprintln!(
                "warning: --token puts the token in this process's arguments, which other local users can read (ps); use --token-stdin or CLIAUTH_TOKEN instead"
            );
        }
        cli.token
    };
    match cli.command {
        TopCommand::Auth(cmd) => auth::run(cmd, token_flag),
        TopCommand::Sync(cmd) => sync::run(&cmd, token_flag),
        TopCommand::Completion(args) => completion::completion(&args),
        TopCommand::Man(args) => completion::man(&args),
    }
}
