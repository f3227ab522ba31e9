//! `cliauth auth token`: the one command that prints a secret.

use std::io::Write;
use std::process::ExitCode;

use super::super::{Ctx, block_on, finish};
use crate::session::HotToken;

/// Prints a valid access token. The hot path (valid stored token) needs no runtime, network,
/// lock or HTTP client.
pub(crate) fn run(ctx: &Ctx) -> ExitCode {
    let resolved = ctx
        .session()
        .and_then(|session| match session.hot_token()? {
            HotToken::Ready(r) => Ok(r),
            HotToken::NeedsRefresh(observed) => block_on(session.refreshed_token(*observed))?,
        });
    match resolved {
        Ok(r) => {
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{}", r.token.expose()).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: cannot write the token to stdout: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(e) => finish(false, Err(e)),
    }
}
