//! `cliauth auth login`: browser (default), `--device`, `--password`, `--with-token`.

use std::io::{BufRead, IsTerminal, Read};
use std::time::Duration;

use clap::Args;

use super::super::{Ctx, Report, block_on};
use crate::classify::{Error, Result};
use crate::clock::now_unix;
use crate::config::{ENV_SCOPE, Origin, display_url};
use crate::flows::browser::BrowserOptions;
use crate::flows::device::DeviceOptions;
use crate::flows::{self, OAuthClient, ServerMetadata, Tokens};
use crate::protocol::{AccessToken, Scope};
use crate::secret::Secret;
use crate::session::{Resolved, Session, TokenSource, new_record, session_usable};
use crate::store::{LoginMethod, MeCache};

/// Longest `--timeout` accepted (one day): beyond it a deadline stops meaning anything.
pub(crate) const MAX_LOGIN_TIMEOUT_SECS: u64 = 86_400;

/// `auth login` flags.
#[derive(Debug, Clone, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each bool is one command-line flag"
)]
pub struct LoginArgs {
    /// Use the device authorization flow (RFC 8628).
    #[arg(long, group = "method")]
    pub device: bool,
    /// Log in with a username and password (prompted, or --username with --password-stdin).
    #[arg(long, group = "method")]
    pub password: bool,
    /// Store a personal access token read from stdin.
    #[arg(long, group = "method")]
    pub with_token: bool,
    /// Print the URL instead of opening a browser (also CLIAUTH_NO_BROWSER=1).
    #[arg(long, conflicts_with_all = ["password", "with_token"])]
    pub no_browser: bool,
    /// Fixed port for the browser callback on 127.0.0.1 (default: a random free port).
    #[arg(long, value_name = "N", conflicts_with_all = ["device", "password", "with_token"])]
    pub port: Option<u16>,
    /// Give up waiting for the browser or device approval after this many seconds (at most
    /// 86400, one day).
    #[arg(long, value_name = "SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(0..=MAX_LOGIN_TIMEOUT_SECS),
          conflicts_with_all = ["password", "with_token"])]
    pub timeout: u64,
    /// Log in again although credentials exist (the old ones stay until the new login succeeds).
    #[arg(long)]
    pub force: bool,
    /// Username for --password.
    #[arg(long, value_name = "U", requires = "password", conflicts_with_all = ["device", "with_token"])]
    pub username: Option<String>,
    /// Read the password for --password from stdin (for scripts).
    #[arg(long, requires = "password", conflicts_with_all = ["device", "with_token"])]
    pub password_stdin: bool,
    /// The OAuth scope to ask for, space-separated (RFC 6749 §3.3; also CLIAUTH_SCOPE or
    /// `[auth] scope` in config.toml). Default: `openid` and `offline_access` as far as the
    /// server's discovery lists them, else none.
    #[arg(long, value_name = "SCOPE", conflicts_with = "with_token")]
    pub scope: Option<String>,
    /// Print a JSON document on stdout.
    #[arg(long)]
    pub json: bool,
}

fn done(server: &str, user: Option<&str>, method: &str, message: String) -> Report {
    Report {
        json: serde_json::json!({"ok": true, "server": server, "user": user, "method": method, "message": message}),
        stderr: vec![message],
        ..Report::default()
    }
}

/// Logs in.
pub(crate) fn run(args: &LoginArgs, ctx: &Ctx) -> Result<Report> {
    let session = ctx.session()?;
    let server = display_url(&session.config().server_url);
    if args.password_stdin && !args.password {
        return Err(Error::config(
            "--password-stdin only works with --password",
            "run `cliauth auth login --password --username U --password-stdin`",
        ));
    }
    if !args.force
        && let Some(state) = session.store().load(None)?
    {
        let user = state
            .static_token
            .as_ref()
            .map(|t| t.user.clone())
            .or_else(|| {
                state
                    .session
                    .as_ref()
                    .filter(|s| session_usable(s))
                    .map(|s| s.user.clone())
            });
        if let Some(user) = user {
            let who = user
                .as_deref()
                .map_or_else(String::new, |u| format!(" as {u}"));
            return Ok(done(
                &server,
                user.as_deref(),
                "existing",
                format!(
                    "Already logged in to {server}{who}. Use `cliauth auth login --force` to log in again."
                ),
            ));
        }
    }
    if args.with_token {
        let token = read_token(ctx)?;
        session.store_static(token, None)?;
        return Ok(done(
            &server,
            None,
            "token",
            format!("Stored the personal access token for {server}."),
        ));
    }
    // Read the password before any network call so a script fails fast on bad input.
    let password_input = if args.password {
        Some(password_input(args)?)
    } else {
        None
    };
    block_on(login_online(args, ctx, &session, &server, password_input))?
}

async fn login_online(
    args: &LoginArgs,
    ctx: &Ctx,
    session: &Session,
    server: &str,
    password_input: Option<(String, Secret)>,
) -> Result<Report> {
    let api_meta = session.api_meta().await?;
    if api_meta.as_ref().is_some_and(|m| !m.auth_required) {
        return Ok(done(
            server,
            None,
            "none",
            format!(
                "{server} requires no authentication; hosted commands work without logging in."
            ),
        ));
    }
    let auth = session.auth_server_with(api_meta.as_ref()).await?;
    let scope = login_scope(args, session, &auth.meta)?;
    let (client_id, secret) = session.client_for_login(&auth).await?;
    let mut client = auth.client(&client_id, secret.as_ref());
    client.scope = scope;
    let open_browser = !(args.no_browser || session.config().no_browser);
    let timeout = Duration::from_secs(args.timeout);
    // OIDC Core §3.1.3.7: an ID token is verified before anything of the login is stored (the
    // browser flow does it before it answers the browser).
    let (method, (tokens, subject)) = if let Some((username, password)) = password_input {
        let tokens = flows::password::login(&client, &username, &password).await?;
        (
            LoginMethod::Password,
            flows::id_token::verify_response(&client, tokens, None).await?,
        )
    } else if args.device
        || (auth.meta.authorization_endpoint.is_none()
            && auth.meta.device_authorization_endpoint.is_some())
    {
        let opts = DeviceOptions {
            open_browser,
            timeout,
        };
        let tokens = flows::device::login(&client, opts, ctx.ui).await?;
        (
            LoginMethod::Device,
            flows::id_token::verify_response(&client, tokens, None).await?,
        )
    } else {
        let opts = BrowserOptions {
            port: args.port,
            open_browser,
            timeout,
        };
        (
            LoginMethod::Browser,
            flows::browser::login(&client, opts, ctx.ui).await?,
        )
    };
    finish_login(session, &client, (method, tokens, subject), server).await
}

/// The scope to ask for: `--scope`, else `CLIAUTH_SCOPE`, else `[auth] scope`, else what the
/// server advertises of `openid offline_access` (none when it advertises neither).
fn login_scope(
    args: &LoginArgs,
    session: &Session,
    meta: &ServerMetadata,
) -> Result<Option<Scope>> {
    let config = session.config();
    let (raw, origin) = match (&args.scope, &config.scope) {
        (Some(s), _) => (s, "--scope".to_owned()),
        (None, Some((s, Origin::Env))) => (s, ENV_SCOPE.to_owned()),
        (None, Some((s, Origin::File))) => (
            s,
            format!("[auth] scope in {}", config.config_file.display()),
        ),
        (None, None) => return Ok(meta.default_scope()),
    };
    Scope::parse(raw).map(Some).ok_or_else(|| {
        Error::config(
            format!("the scope {raw:?} from {origin} is not a valid OAuth scope"),
            "give space-separated scope tokens of printable ASCII without quotes or backslashes, e.g. `openid offline_access`",
        )
    })
}

async fn finish_login(
    session: &Session,
    client: &OAuthClient<'_>,
    (method, tokens, subject): (LoginMethod, Tokens, Option<String>),
    server: &str,
) -> Result<Report> {
    let mut record = new_record(tokens, method, client, None, subject);
    // Who logged in: one /me call, which also seeds the session's /me cache.
    let probe = Resolved {
        token: record.access_token.clone(),
        source: TokenSource::StoredSession,
    };
    match session
        .http()?
        .api_json::<serde_json::Value>(
            reqwest::Method::GET,
            &session.api_url("/api/v1/me"),
            Some(probe.bearer()),
            None,
            "the /api/v1/me API",
        )
        .await
    {
        Ok(me) => {
            record.user = me
                .get("username")
                .and_then(|u| u.as_str())
                .map(str::to_owned);
            record.me = Some(MeCache {
                fetched_at: now_unix(),
                body: me,
            });
        }
        Err(e) => tracing::debug!(error = %e, "logged in, but /api/v1/me did not say who"),
    }
    let user = record.user.clone();
    let old_refresh = session.store_session(record)?;
    // Only now that the new session is stored is the old one revoked.
    if let Some(old) = old_refresh {
        match client.revoke(old.as_secret(), "refresh_token").await {
            Ok(_) => tracing::debug!("revoked the replaced session"),
            Err(e) => eprintln!(
                "warning: could not revoke the previous session ({}); it expires on its own.",
                crate::ui::escape_controls(&e.to_string())
            ),
        }
    }
    let who = user
        .as_deref()
        .map_or_else(String::new, |u| format!(" as {u}"));
    Ok(done(
        server,
        user.as_deref(),
        method.name(),
        format!("Logged in to {server}{who}."),
    ))
}

fn read_token(ctx: &Ctx) -> Result<AccessToken> {
    let stdin = std::io::stdin();
    let raw = if stdin.is_terminal() {
        ctx.ui
            .say("Paste the token and press Enter (input is hidden):");
        Secret::new(
            rpassword::read_password()
                .map_err(|e| Error::io("read the token from the terminal", e))?,
        )
    } else {
        let mut s = String::new();
        stdin
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut s)
            .map_err(|e| Error::io("read the token from stdin", e))?;
        Secret::new(s)
    };
    let token = raw.expose().trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(Error::config(
            "no token on stdin (expected one token without spaces)",
            "pipe the token in: `printf %s \"$TOKEN\" | cliauth auth login --with-token`",
        ));
    }
    Ok(AccessToken::new(token))
}

fn password_input(args: &LoginArgs) -> Result<(String, Secret)> {
    let interactive = std::io::stdin().is_terminal();
    let username = match &args.username {
        Some(u) => u.clone(),
        None if interactive && !args.password_stdin => {
            eprint!("Username: ");
            let mut u = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut u)
                .map_err(|e| Error::io("read the username", e))?;
            u.trim().to_owned()
        }
        None => {
            return Err(Error::config(
                "no username given",
                "pass --username U (with --password-stdin for scripts)",
            ));
        }
    };
    if username.is_empty() {
        return Err(Error::config("the username is empty", "pass --username U"));
    }
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::io("read the password from stdin", e))?;
        let p = Secret::new(line.trim_end_matches(['\r', '\n']));
        line.clear();
        zeroize::Zeroize::zeroize(&mut line);
        p
    } else if interactive {
        Secret::new(
            rpassword::prompt_password(format!("Password for {username}: "))
                .map_err(|e| Error::io("read the password from the terminal", e))?,
        )
    } else {
        return Err(Error::config(
            "no password: stdin is not a terminal",
            "pipe the password in with --password-stdin (passwords are never accepted as arguments)",
        ));
    };
    if password.expose().is_empty() {
        return Err(Error::config(
            "the password is empty",
            "provide the password on stdin or at the prompt",
        ));
    }
    Ok((username, password))
}
