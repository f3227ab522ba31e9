//! `cliauth auth status [--json]`: exit 0 when authenticated, 4 when not (with or without
//! `--json`). A `--token`/`CLIAUTH_TOKEN` is checked with `/api/v1/me`; stored credentials are
//! reported without a network call unless nothing is stored (then `/api/v1/meta` tells whether
//! the server needs authentication at all).

use super::super::{Ctx, Report, block_on};
use crate::classify::{Error, Result};
use crate::clock::secs_until;
use crate::config::display_url;
use crate::protocol::{AccessToken, Scope};
use crate::session::{Resolved, Session, TokenSource, session_usable};
use crate::store::StoredState;

fn human_duration(secs: i64) -> String {
    if secs <= 0 {
        return "expired".to_owned();
    }
    let s = secs.unsigned_abs();
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    let left = if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {}s", s % 60)
    } else {
        format!("{s}s")
    };
    format!("expires in {left}")
}

/// Reports the credentials in effect.
pub(crate) fn run(ctx: &Ctx) -> Result<Report> {
    let session = ctx.session()?;
    let server = display_url(&session.config().server_url);
    let stored: Option<StoredState> = session.store().load(None)?;
    let has_stored = stored
        .as_ref()
        .is_some_and(|s| s.static_token.is_some() || s.session.is_some());
    let mut warnings = Vec::new();
    let mut scope = None;
    let mut subject = None;
    // For a --token/CLIAUTH_TOKEN: what the server said of it (stored credentials are not asked).
    let mut server_check: Option<String> = None;
    let (source, token, method, user, access_exp, refresh_exp): (
        TokenSource,
        AccessToken,
        &str,
        Option<String>,
        Option<u64>,
        Option<u64>,
    ) = if let Some(r) = session.override_token() {
        if has_stored {
            warnings.push(format!(
                "{} is set and takes precedence over the credentials stored for {server}",
                r.source.bearer_name()
            ));
        }
        let user = match check_with_server(&session, &r)? {
            Checked::Accepted(user) => {
                server_check = Some("accepted by the server".to_owned());
                user
            }
            Checked::Unknown(reason) => {
                warnings.push(format!(
                    "could not check the token with the server: {reason}"
                ));
                server_check = Some(format!("could not check: {reason}"));
                None
            }
        };
        (r.source, r.token, "token", user, None, None)
    } else {
        match stored {
            Some(StoredState {
                static_token: Some(t),
                ..
            }) => (
                TokenSource::StoredStatic,
                t.token,
                "token",
                t.user,
                None,
                None,
            ),
            Some(StoredState {
                session: Some(s), ..
            }) if session_usable(&s) => {
                scope = s.scope;
                subject = s.subject;
                (
                    TokenSource::StoredSession,
                    s.access_token,
                    s.method.name(),
                    s.user,
                    s.access_expires_at,
                    s.refresh_expires_at,
                )
            }
            Some(StoredState {
                session: Some(_), ..
            }) => return Err(Error::SessionExpired),
            _ => return not_authenticated(&session, &server),
        }
    };
    let access_in = access_exp.map(secs_until);
    let refresh_in = refresh_exp.map(secs_until);
    let path = session.store().path().display().to_string();
    let fingerprint = token.fingerprint();
    let mut stdout = vec![format!(
        "Logged in to {server}{} ({method})",
        user.as_deref()
            .map(|u| format!(" as {u}"))
            .unwrap_or_default()
    )];
    stdout.push(format!("  Token source: {}", source.label()));
    if let Some(check) = &server_check {
        stdout.push(format!("  Server check: {check}"));
    }
    stdout.push(format!(
        "  Access token: {}",
        access_in.map_or_else(|| "no expiry known".to_owned(), human_duration)
    ));
    if source == TokenSource::StoredSession {
        stdout.push(format!(
            "  Refresh token: {}",
            refresh_in.map_or_else(|| "no expiry known".to_owned(), human_duration)
        ));
    }
    if let Some(scope) = &scope {
        stdout.push(format!("  Scope: {scope}"));
    }
    if let Some(sub) = &subject {
        stdout.push(format!("  Subject (ID token sub): {sub}"));
    }
    stdout.push(format!("  Fingerprint: {fingerprint}"));
    stdout.push(format!("  Credentials: {path}"));
    Ok(Report {
        json: serde_json::json!({
            "ok": true,
            "authenticated": true,
            "method": method,
            "user": user,
            "server": server,
            "source": source.name(),
            "access_expires_in": access_in,
            "refresh_expires_in": refresh_in,
            "scope": scope.as_ref().map(Scope::as_str),
            "sub": subject,
            "fingerprint": fingerprint,
            "credentials_path": path,
            "server_check": server_check,
            "warnings": warnings,
        }),
        stdout,
        stderr: warnings.iter().map(|w| format!("warning: {w}")).collect(),
        exit: 0,
    })
}

/// What the server said of a `--token`/`CLIAUTH_TOKEN`.
enum Checked {
    /// `/api/v1/me` accepted it (with the user name, when the server gave one).
    Accepted(Option<String>),
    /// The server could not be asked (unreachable, failing, refusing `/me` itself).
    Unknown(String),
}

/// Asks `/api/v1/me` whether the override token works (as `gh auth status` does): a 401 is the
/// error (`unauthenticated`, exit 4); any other failure only means it could not be checked.
fn check_with_server(session: &Session, token: &Resolved) -> Result<Checked> {
    let http = session.http()?;
    let url = session.api_url("/api/v1/me");
    let answer = block_on(http.api_json::<serde_json::Value>(
        reqwest::Method::GET,
        &url,
        Some(token.bearer()),
        None,
        "the /api/v1/me API",
    ))?;
    match answer {
        Ok(me) => Ok(Checked::Accepted(
            me.get("username")
                .and_then(|u| u.as_str())
                .map(str::to_owned),
        )),
        Err(e @ Error::TokenRejected { .. }) => Err(e),
        Err(e) => Ok(Checked::Unknown(e.to_string())),
    }
}

fn not_authenticated(session: &crate::session::Session, server: &str) -> Result<Report> {
    match block_on(session.api_meta())? {
        Ok(Some(meta)) if !meta.auth_required => Ok(Report {
            json: serde_json::json!({
                "ok": true,
                "authenticated": false,
                "auth_required": false,
                "server": server,
            }),
            stdout: vec![format!(
                "{server} requires no authentication; hosted commands work without logging in."
            )],
            ..Report::default()
        }),
        Ok(_) => Err(Error::NotLoggedIn),
        Err(e) => {
            // Logged out is the answer; the server's reachability is `auth doctor`'s business.
            tracing::debug!(error = %e, "cannot ask the server whether it needs authentication");
            Err(Error::NotLoggedIn)
        }
    }
}
