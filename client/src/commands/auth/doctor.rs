//! `cliauth auth doctor [--json] [--unstick-lock]`: a checklist with one next step per failure.

use clap::Args;

use super::super::{Ctx, Report, block_on};
use crate::classify::{Error, Result};
use crate::clock::secs_until;
use crate::config::{Config, Origin, display_url};
use crate::session::{HotToken, Session};
use crate::store::{LockState, lock};

/// `auth doctor` flags.
#[derive(Debug, Clone, Copy, Args)]
pub struct DoctorArgs {
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Clear a lock holder record left by a crashed process (only when no process holds the lock).
    #[arg(long)]
    pub unstick_lock: bool,
}

struct Check {
    name: &'static str,
    status: &'static str,
    detail: String,
    next: Option<String>,
    error: Option<Error>,
}

fn ok(name: &'static str, detail: String) -> Check {
    Check {
        name,
        status: "ok",
        detail,
        next: None,
        error: None,
    }
}

fn warn(name: &'static str, detail: String, next: String) -> Check {
    Check {
        name,
        status: "warn",
        detail,
        next: Some(next),
        error: None,
    }
}

fn fail(name: &'static str, e: Error) -> Check {
    Check {
        name,
        status: "fail",
        detail: e.to_string(),
        next: Some(crate::commands::render::hint(&e)),
        error: Some(e),
    }
}

/// Runs every check.
pub(crate) fn run(args: DoctorArgs, ctx: &Ctx) -> Result<Report> {
    let mut checks = Vec::new();
    match Config::load() {
        Ok(cfg) => {
            let origin = match cfg.server_origin {
                Origin::Env => "CLIAUTH_SERVER_URL",
                Origin::File => "config.toml",
            };
            let issuer = cfg
                .issuer
                .as_ref()
                .map_or_else(|| "from discovery".to_owned(), display_url);
            checks.push(ok(
                "config",
                format!(
                    "server {} (from {origin}); issuer {issuer}; config file {}",
                    display_url(&cfg.server_url),
                    cfg.config_file.display()
                ),
            ));
            let session = Session::new(cfg, ctx.token_flag.clone());
            block_on(online_checks(&session, &mut checks))?;
            local_checks(&session, args.unstick_lock, &mut checks);
            block_on(server_view(&session, &mut checks))?;
        }
        Err(e) => checks.push(fail("config", e)),
    }
    let all_ok = checks.iter().all(|c| c.status != "fail");
    let exit = checks
        .iter()
        .find_map(|c| c.error.as_ref().map(Error::exit_code))
        .unwrap_or(0);
    let mut stdout = Vec::new();
    for c in &checks {
        let mark = match c.status {
            "ok" => "[ok]  ",
            "warn" => "[warn]",
            _ => "[FAIL]",
        };
        stdout.push(format!("{mark} {}: {}", c.name, c.detail));
        if let Some(n) = &c.next {
            stdout.push(format!("       next: {n}"));
        }
    }
    Ok(Report {
        json: serde_json::json!({
            "ok": all_ok,
            "checks": checks.iter().map(|c| serde_json::json!({
                "name": c.name, "status": c.status, "detail": c.detail, "next": c.next,
                "category": c.error.as_ref().map(|e| e.category().name()),
            })).collect::<Vec<_>>(),
        }),
        stdout,
        stderr: Vec::new(),
        exit,
    })
}

async fn online_checks(session: &Session, checks: &mut Vec<Check>) {
    let meta = match session.api_meta().await {
        Ok(m) => {
            checks.push(ok(
                "server",
                match &m {
                    Some(m) => format!(
                        "reachable; authentication {}",
                        if m.auth_required {
                            "required"
                        } else {
                            "not required"
                        }
                    ),
                    None => "reachable (no /api/v1/meta)".to_owned(),
                },
            ));
            m
        }
        Err(e) => {
            checks.push(fail("server", e));
            return;
        }
    };
    match session.auth_server_with(meta.as_ref()).await {
        Ok(a) => checks.push(ok(
            "discovery",
            format!(
                "issuer {}; token endpoint {}; browser {}, device {}, revocation {}, registration {}",
                display_url(a.meta.issuer.url()),
                a.meta.token_endpoint,
                yes(a.meta.authorization_endpoint.is_some()),
                yes(a.meta.device_authorization_endpoint.is_some()),
                yes(a.meta.revocation_endpoint.is_some()),
                yes(a.meta.registration_endpoint.is_some()),
            ),
        )),
        Err(e) => checks.push(fail("discovery", e)),
    }
}

/// Temp files a killed writer left in the credentials folder (`.store.tmp-*`).
fn temp_files(dir: &std::path::Path) -> Check {
    let mut found: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|e| match e {
                Ok(e) => Some(e.file_name().to_string_lossy().into_owned()),
                Err(err) => {
                    tracing::debug!(reason = %err.kind(), "folder entry skipped");
                    None
                }
            })
            .filter(|n| n.starts_with(".store.tmp-"))
            .collect(),
        Err(e) => {
            tracing::debug!(reason = %e.kind(), "credentials folder not listed");
            Vec::new()
        }
    };
    found.sort();
    if found.is_empty() {
        return ok("temp_files", "no leftover temp files".to_owned());
    }
    warn(
        "temp_files",
        format!(
            "{} leftover temp file(s) from an interrupted write in {}: {}",
            found.len(),
            dir.display(),
            found.join(", ")
        ),
        "run `cliauth auth status`: it recovers a complete newer session from them and removes the rest (a `.store.tmp-<pid>-<hex>` from an older cliauth can be deleted)".into(),
    )
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn local_checks(session: &Session, unstick: bool, checks: &mut Vec<Check>) {
    let store = session.store();
    checks.push(temp_files(store.dir()));
    if store.dir().exists() {
        for (path, r) in store.check_permissions() {
            match r {
                Ok(()) => checks.push(ok("permissions", format!("{} is private", path.display()))),
                Err(e) => checks.push(fail("permissions", e)),
            }
        }
    } else {
        checks.push(ok(
            "permissions",
            format!("{} does not exist yet", store.dir().display()),
        ));
    }
    match lock::inspect(store.lock_path(), unstick) {
        Ok(LockState::Absent | LockState::Free) => checks.push(ok("lock", "free".to_owned())),
        Ok(LockState::Held(rec)) => checks.push(warn(
            "lock",
            format!(
                "held by a running process ({})",
                rec.unwrap_or_else(|| "no record".into())
            ),
            "wait for it to finish; --unstick-lock never breaks a lock held by a live process"
                .into(),
        )),
        Ok(LockState::StaleRecord(rec)) if unstick => {
            checks.push(ok(
                "lock",
                format!("cleared a stale holder record ({rec}); no process held the lock"),
            ));
        }
        Ok(LockState::StaleRecord(rec)) => checks.push(warn(
            "lock",
            format!("free, but a crashed process left a holder record ({rec})"),
            "run `cliauth auth doctor --unstick-lock` to clear it".into(),
        )),
        Err(e) => checks.push(fail("lock", e)),
    }
    match store.load(None) {
        Ok(Some(state)) => {
            let what = match (&state.session, &state.static_token) {
                (Some(s), _) => format!(
                    "session ({}{}), access token {}",
                    s.method.name(),
                    s.user
                        .as_deref()
                        .map(|u| format!(", {u}"))
                        .unwrap_or_default(),
                    s.access_expires_at.map_or_else(
                        || "without expiry".to_owned(),
                        |e| format!("expires in {} s", secs_until(e))
                    ),
                ),
                (None, Some(_)) => "personal access token".to_owned(),
                (None, None) => "no credentials (registered client id only)".to_owned(),
            };
            checks.push(ok(
                "credentials",
                format!("{what} in {}", store.path().display()),
            ));
        }
        Ok(None) => checks.push(warn(
            "credentials",
            "none stored".into(),
            "run `cliauth auth login`".into(),
        )),
        Err(e) => checks.push(fail("credentials", e)),
    }
}

#[derive(serde::Deserialize)]
struct ServerSession {
    #[serde(default)]
    active: bool,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    server_time: Option<serde_json::Value>,
}

async fn server_view(session: &Session, checks: &mut Vec<Check>) {
    let resolved = match session.hot_token() {
        Ok(HotToken::Ready(r)) => r,
        Ok(HotToken::NeedsRefresh(_expiring)) => {
            checks.push(warn(
                "session",
                "the access token is expired or about to expire".into(),
                "run `cliauth auth refresh`".into(),
            ));
            return;
        }
        Err(Error::NotLoggedIn) => return,
        Err(e) => {
            checks.push(fail("session", e));
            return;
        }
    };
    let http = match session.http() {
        Ok(h) => h,
        Err(e) => return checks.push(fail("session", e)),
    };
    let started = crate::clock::now_unix();
    match http
        .api_json::<ServerSession>(
            reqwest::Method::GET,
            &session.api_url("/api/v1/session"),
            Some(resolved.bearer()),
            None,
            "the /api/v1/session API",
        )
        .await
    {
        Ok(s) if s.active => {
            checks.push(ok(
                "session",
                format!(
                    "the server accepts the token from {}{}",
                    resolved.source.label(),
                    s.username
                        .map(|u| format!(" (user {u})"))
                        .unwrap_or_default()
                ),
            ));
            clock_check(s.server_time.as_ref(), started, checks);
        }
        Ok(_) => checks.push(fail(
            "session",
            Error::TokenRejected {
                source_name: resolved.source.bearer_name(),
            },
        )),
        Err(e) => checks.push(fail("session", e)),
    }
}

fn clock_check(server_time: Option<&serde_json::Value>, local: u64, checks: &mut Vec<Check>) {
    let Some(server) = server_time.and_then(serde_json::Value::as_u64) else {
        checks.push(ok(
            "clock",
            "the server does not report its time in seconds; skipped".into(),
        ));
        return;
    };
    let skew = i64::try_from(server).map_or(0, |s| s - i64::try_from(local).map_or(0, |l| l));
    if skew.abs() > 30 {
        checks.push(warn(
            "clock",
            format!(
                "this machine's clock is {} s {} the server's",
                skew.abs(),
                if skew > 0 { "behind" } else { "ahead of" }
            ),
            "synchronise the clock (e.g. enable NTP); token expiry checks depend on it".into(),
        ));
    } else {
        checks.push(ok(
            "clock",
            format!("within {} s of the server", skew.abs()),
        ));
    }
}
