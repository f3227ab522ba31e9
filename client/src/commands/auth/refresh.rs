//! `cliauth auth refresh`.

use super::super::{Ctx, Report, block_on};
use crate::classify::{Error, Result};
use crate::clock::secs_until;

/// Refreshes the stored session now.
pub(crate) fn run(ctx: &Ctx) -> Result<Report> {
    let session = ctx.session()?;
    let (record, outcome) = match block_on(session.refresh_now())? {
        Ok(r) => r,
        Err(Error::SessionExpired) => return Err(Error::RefreshRejected),
        Err(e) => return Err(e),
    };
    let expires_in = record.access_expires_at.map(secs_until);
    let msg = match outcome {
        crate::session::RefreshOutcome::Refreshed => "Token refreshed.".to_owned(),
        other => format!("Token already fresh ({}).", other.name()),
    };
    Ok(Report {
        json: serde_json::json!({
            "ok": true,
            "outcome": outcome.name(),
            "access_expires_in": expires_in,
        }),
        stderr: vec![msg],
        ..Report::default()
    })
}
