//! `cliauth sync now [--json]`: a hosted workflow. Reads `/api/v1/me`, posts a batch to
//! `/api/v1/ingress`. A logged-out user is told to log in, never shown a sync or server error.

use std::process::ExitCode;

use clap::Subcommand;

use super::auth::JsonArg;
use super::{Ctx, Report, block_on, finish};
use crate::classify::{Error, Result};
use crate::clock::now_unix;
use crate::secret::Secret;
use crate::session::{Resolved, Session, TokenSource};
use crate::ui::Ui;

/// Hosted workflows.
#[derive(Debug, Subcommand)]
pub(crate) enum SyncCommand {
    /// Send pending events to the server now.
    Now(JsonArg),
}

/// Runs a `sync` command.
pub(crate) fn run(cmd: &SyncCommand, token_flag: Option<Secret>) -> ExitCode {
    let SyncCommand::Now(a) = *cmd;
    let ctx = Ctx {
        ui: Ui::detect(),
        token_flag,
    };
    let result = ctx.session().and_then(|s| block_on(sync_now(&s))?);
    finish(a.json, result)
}

async fn credentials(session: &Session) -> Result<Option<Resolved>> {
    match session.access_token().await {
        Ok(r) => Ok(Some(r)),
        Err(Error::NotLoggedIn) => match session.api_meta().await {
            Ok(Some(m)) if !m.auth_required => Ok(None),
            Ok(_) => Err(Error::NotLoggedIn),
            Err(e) => {
                tracing::debug!(error = %e, "cannot tell whether the server needs authentication");
                Err(Error::NotLoggedIn)
            }
        },
        Err(e) => Err(e),
    }
}

#[derive(serde::Deserialize)]
struct Accepted {
    accepted: u64,
}

async fn sync_now(session: &Session) -> Result<Report> {
    let mut resolved = credentials(session).await?;
    let me = match session.me(resolved.as_ref()).await {
        // The server no longer accepts a stored access token it issued (revoked, clock skew):
        // refresh once and retry, so the user only hears about it when the session is over.
        Err(Error::TokenRejected { .. })
            if resolved
                .as_ref()
                .is_some_and(|r| r.source == TokenSource::StoredSession) =>
        {
            let (record, _) = session.refresh_now().await?;
            let r = Resolved {
                token: record.access_token,
                source: TokenSource::StoredSession,
            };
            let me = session.me(Some(&r)).await?;
            resolved = Some(r);
            me
        }
        other => other?,
    };
    let user = me
        .get("username")
        .and_then(|u| u.as_str())
        .map(str::to_owned);
    let batch = serde_json::json!({
        "events": [{"type": "sync", "at": now_unix(), "client": concat!("cliauth/", env!("CARGO_PKG_VERSION"))}]
    });
    let accepted: Accepted = session
        .http()?
        .api_json(
            reqwest::Method::POST,
            &session.api_url("/api/v1/ingress"),
            resolved.as_ref().map(Resolved::bearer),
            Some(&batch),
            "the ingress API",
        )
        .await?;
    let who = user
        .as_deref()
        .map_or_else(String::new, |u| format!(" as {u}"));
    Ok(Report {
        json: serde_json::json!({"ok": true, "accepted": accepted.accepted, "user": user}),
        stderr: vec![format!("Synced {} event(s){who}.", accepted.accepted)],
        ..Report::default()
    })
}
