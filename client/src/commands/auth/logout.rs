//! `cliauth auth logout [--all]`.

use clap::Args;

use super::super::{Ctx, Report, block_on};
use crate::classify::Result;
use crate::config::ENV_TOKEN;

/// `auth logout` flags.
#[derive(Debug, Clone, Copy, Args)]
pub struct LogoutArgs {
    /// Also remove a stored personal access token.
    #[arg(long)]
    pub all: bool,
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Revokes (when possible) and deletes the stored session. Idempotent.
pub(crate) fn run(args: LogoutArgs, ctx: &Ctx) -> Result<Report> {
    let session = ctx.session()?;
    let report = block_on(session.logout(args.all))??;
    let mut lines = Vec::new();
    if !report.removed_session && !report.removed_static {
        lines.push(if report.kept_static {
            "No session found.".to_owned()
        } else {
            "No credentials found.".to_owned()
        });
    } else {
        match (&report.revoked, &report.revoke_error) {
            (Some(true), _) => lines.push("Revoked the session at the server.".into()),
            (Some(false), _) => lines.push("The server offers no revocation; the tokens expire on their own.".into()),
            (None, Some(e)) => lines.push(format!(
                "warning: could not revoke the session at the server ({e}); it was still removed here and expires on its own."
            )),
            (None, None) => {}
        }
        lines.push("Logged out.".into());
    }
    if session.config().env_token.is_some() {
        lines.push(format!(
            "note: {ENV_TOKEN} is set and still authenticates cliauth commands; unset it to stop using that token."
        ));
    }
    if report.kept_static {
        lines.push("A stored personal access token was kept; use `cliauth auth logout --all` to remove it.".into());
    }
    Ok(Report {
        json: serde_json::json!({
            "ok": true,
            "removed_session": report.removed_session,
            "removed_static": report.removed_static,
            "kept_static": report.kept_static,
            "revoked": report.revoked,
            "revoke_error": report.revoke_error.as_ref().map(ToString::to_string),
        }),
        stderr: lines,
        ..Report::default()
    })
}
