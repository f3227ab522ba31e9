//! The end of `cliauth --help`: every environment variable the client reads and the exit-code
//! table, built from the same constants the code uses, so the help cannot drift from them (and
//! a test holds the README's tables to this text).

use crate::classify::{EXIT_INTERRUPTED, EXIT_USAGE, ErrorCategory};
use crate::config::ENV_HELP;

/// What a category means to a person reading `--help`: the usual causes.
fn category_causes(c: ErrorCategory) -> &'static str {
    match c {
        ErrorCategory::Internal => "a bug in cliauth",
        ErrorCategory::Unauthenticated => {
            "not logged in, session expired, token or refresh token rejected, wrong password"
        }
        ErrorCategory::PrivateTeamspaceRequired => "the account has no Private Teamspace",
        ErrorCategory::Forbidden => "the server refused the request for this user",
        ErrorCategory::RetryableTransport => {
            "network failure, timeout, HTTP 429/502/503/504 (try again)"
        }
        ErrorCategory::ServerError => "HTTP 500 or an unusable answer from the server",
        ErrorCategory::Config => "bad configuration, URL or flag value; port in use",
        ErrorCategory::LocalStorage => "credentials file permissions, corruption, lock timeout",
        ErrorCategory::AccessDenied => "authorization denied, or a response that was refused",
        ErrorCategory::ExpiredCode => "the device or authorization code expired",
        ErrorCategory::Cancelled => "--timeout reached while waiting for the login",
    }
}

/// The `Environment:` and `Exit codes:` sections printed after the options.
pub(crate) fn after_help() -> String {
    let width = ENV_HELP.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut lines = vec!["Environment:".to_owned()];
    lines.extend(
        ENV_HELP
            .iter()
            .map(|(name, what)| format!("  {name:<width$}  {what}")),
    );
    lines.extend([String::new(), "Exit codes:".to_owned()]);
    let mut rows = vec![
        (0, "success".to_owned(), String::new()),
        (
            EXIT_USAGE,
            "usage".to_owned(),
            "unknown or conflicting flags".to_owned(),
        ),
    ];
    rows.extend(ErrorCategory::ALL.iter().map(|c| {
        (
            c.exit_code(),
            c.name().to_owned(),
            category_causes(*c).to_owned(),
        )
    }));
    rows.push((
        EXIT_INTERRUPTED,
        ErrorCategory::Cancelled.name().to_owned(),
        "interrupted (Ctrl-C, SIGINT)".to_owned(),
    ));
    rows.sort_by_key(|r| r.0);
    lines.extend(rows.into_iter().map(|(code, name, causes)| {
        if causes.is_empty() {
            format!("  {code:<3}  {name}")
        } else {
            format!("  {code:<3}  {name}: {causes}")
        }
    }));
    lines.push(String::new());
    lines.push(
        "With --json an error is {\"ok\":false,\"category\":...,\"message\":...,\"retryable\":...} on stdout."
            .to_owned(),
    );
    lines.join("\n")
}
