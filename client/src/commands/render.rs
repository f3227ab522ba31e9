//! How the command layer presents a library [`Error`]: the next step (`hint:`) for the person
//! at the terminal, the two-line human form for stderr and the `--json` document for stdout.
//! The library's errors only say what happened; what to do about it is decided here.

use crate::classify::{Error, ErrorCategory};
use crate::config::{ENV_HOME, ENV_SERVER_URL};
use crate::ui::escape_controls;

/// The next step for the person at the terminal.
pub(crate) fn hint(e: &Error) -> String {
    const LOGIN: &str = "run `cliauth auth login`";
    match e {
        Error::NotLoggedIn | Error::SessionExpired | Error::RefreshRejected => LOGIN.into(),
        Error::InvalidCredentials => {
            "check the username and password, then run `cliauth auth login --password` again"
                .into()
        }
        Error::TokenRejected { source_name } => match *source_name {
            "CLIAUTH_TOKEN" => "unset CLIAUTH_TOKEN or set it to a valid token".into(),
            "--token" => "pass a valid token with --token".into(),
            _ => LOGIN.into(),
        },
        Error::PrivateTeamspaceRequired { .. } => {
            "create a Private Teamspace for this account, or log in as a user that has one"
                .into()
        }
        Error::Forbidden { .. } => {
            "ask an administrator for access, or log in as another user".into()
        }
        Error::Transport { .. } => {
            "check the network and the server URL (`cliauth auth doctor`), then try again"
                .into()
        }
        Error::Unavailable { retry_after, .. } => match retry_after {
            Some(s) => format!("try again in {s} s"),
            None => "try again in a moment".into(),
        },
        Error::RefreshInProgress => "run the command again".into(),
        Error::ServerStatus { .. } | Error::Malformed { .. } => {
            "try again later; if it persists, run `cliauth auth doctor` and report the output"
                .into()
        }
        Error::OAuth { body, .. } => match e.category() {
            ErrorCategory::Unauthenticated => LOGIN.into(),
            ErrorCategory::Config => format!(
                "the server rejected this client ({}); check [auth] client_id in config.toml or CLIAUTH_CLIENT_ID",
                body.error
            ),
            ErrorCategory::AccessDenied => "approve the request, or log in as another user".into(),
            ErrorCategory::ExpiredCode => "run `cliauth auth login` again and approve sooner".into(),
            // The remaining categories an OAuth code can fall into are the server's trouble.
            ErrorCategory::RetryableTransport
            | ErrorCategory::ServerError
            | ErrorCategory::Internal
            | ErrorCategory::PrivateTeamspaceRequired
            | ErrorCategory::Forbidden
            | ErrorCategory::LocalStorage
            | ErrorCategory::Cancelled => "try again later".into(),
        },
        Error::Config { hint, .. } => hint.clone(),
        // Real lines (indented under `hint:` by `human`), so the snippet pastes as valid TOML.
        Error::NoServerConfigured { config_file } => format!(
            "set {ENV_SERVER_URL}, or add these lines to {}:\n[server]\nurl = \"https://api.example.com\"",
            config_file.display()
        ),
        Error::BadMilliseconds { name, .. } => {
            format!("set {name} to a whole number such as 10000")
        }
        Error::NoStateFolder => format!("set {ENV_HOME} to a private folder"),
        Error::InvalidConfigFile { path, .. } => format!(
            "fix {} (known keys: [server] url, [auth] issuer, [auth] client_id, [auth] scope)",
            path.display(),
        ),
        Error::InvalidUrl { .. } => "use a full URL such as https://auth.example.com".into(),
        Error::NoDiscoveryDocument { .. } => {
            "set [auth] issuer in config.toml or CLIAUTH_ISSUER to the authorization server's issuer URL"
                .into()
        }
        Error::IssuerMismatch { .. } => {
            "set [auth] issuer or CLIAUTH_ISSUER to the issuer the server reports".into()
        }
        Error::InsecureUrl { .. } | Error::UnsupportedScheme { .. } => "use an https:// URL".into(),
        Error::PortInUse { port } => format!(
            "stop the program listening on port {port}, choose another with --port, or omit --port to use a random free port"
        ),
        Error::RegistrationFailed { .. } => {
            "set [auth] client_id in config.toml or CLIAUTH_CLIENT_ID to a registered client id"
                .into()
        }
        Error::MethodUnsupported { .. } => {
            "use another method: `cliauth auth login`, `--device`, `--password` or `--with-token`"
                .into()
        }
        Error::Permissions { path, want, .. } => {
            format!("run: chmod {want:o} {}", path.display())
        }
        Error::Symlink { path } => format!(
            "look at where {} points, then remove the link (`rm {}`); cliauth recreates the file",
            path.display(),
            path.display()
        ),
        Error::ForeignOwner { path, .. } => format!(
            "make sure {} belongs to you (e.g. `chown $(id -u) {}`) or set CLIAUTH_HOME to a folder of your own",
            path.display(),
            path.display()
        ),
        Error::Corrupted { .. } => {
            format!("{LOGIN} to create fresh credentials; the moved file can be deleted")
        }
        Error::BadKeyFile { path, .. } => format!(
            "move {} aside and run `cliauth auth login` to create a new key and fresh credentials",
            path.display()
        ),
        Error::PassphraseRequired => {
            "set CLIAUTH_PASSPHRASE to the passphrase used when logging in".into()
        }
        Error::WrongPassphrase => {
            "set CLIAUTH_PASSPHRASE to the passphrase used when logging in; to start over, delete the credentials folder (`cliauth auth doctor` shows it) and run `cliauth auth login`"
                .into()
        }
        Error::Io { .. } => {
            "check that the credentials folder exists, is writable and the disk is not full (`cliauth auth doctor`)"
                .into()
        }
        Error::LockTimeout { .. } => {
            "another cliauth process is busy; try again, or inspect it with `cliauth auth doctor`"
                .into()
        }
        Error::AccessDenied { .. } => "run `cliauth auth login` again and approve the request".into(),
        Error::StateMismatch => {
            "run `cliauth auth login` again and only use the URL it prints".into()
        }
        Error::AuthorizationIssuerMismatch { .. } => {
            "run `cliauth auth login` again and only use the URL it prints; check that [auth] issuer or CLIAUTH_ISSUER names the server you mean"
                .into()
        }
        Error::IdTokenRejected { .. } => {
            "run `cliauth auth login` again; if it fails the same way, the authorization server's ID tokens do not match its discovery document: report this to its operator"
                .into()
        }
        Error::ExpiredCode { .. } => "run `cliauth auth login` again and approve sooner".into(),
        Error::Cancelled { .. } => "run `cliauth auth login` again (use --timeout SECS for more time)".into(),
        Error::Interrupted => "run the command again when you are ready".into(),
        Error::Internal(_) => {
            "this is a bug in cliauth; please report it with the output of `cliauth auth doctor`"
                .into()
        }
    }
}

/// What happened, with the OS reason of a filesystem failure (permission denied, a folder, ...),
/// which the library keeps as the error's source.
fn message(e: &Error) -> String {
    if let Error::Io { source, .. } = e {
        format!("{e}: {source}")
    } else {
        e.to_string()
    }
}

/// `error: <message>` and `hint: <next step>`, for stderr; a hint's further lines (a snippet to
/// paste) are indented under it.
pub(crate) fn human(e: &Error) -> String {
    // Each part escaped on its own: the message may quote a server (`error_description`).
    let hint = hint(e)
        .lines()
        .map(|l| escape_controls(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n      ");
    format!("error: {}\nhint: {hint}", escape_controls(&message(e)))
}

/// `{"ok":false,"category":...,"message":...,"retryable":...}` for stdout under `--json`.
pub(crate) fn json(e: &Error) -> serde_json::Value {
    let category = e.category();
    serde_json::json!({
        "ok": false,
        "category": category.name(),
        "message": escape_controls(&format!("{}. Hint: {}", message(e), hint(e).replace('\n', " "))),
        "retryable": category.retryable(),
    })
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;
    use crate::oauth_error::OAuthErrorBody;

    fn oauth(code: &str) -> Error {
        Error::OAuth {
            what: "the token endpoint".into(),
            body: OAuthErrorBody {
                error: code.into(),
                error_description: None,
                retry_after: None,
            },
        }
    }

    #[rstest]
    #[case::not_logged_in(Error::NotLoggedIn, "unauthenticated", 4, false, "cliauth auth login")]
    #[case::refresh_rejected(
        Error::RefreshRejected,
        "unauthenticated",
        4,
        false,
        "cliauth auth login"
    )]
    #[case::invalid_grant(
        oauth("invalid_grant"),
        "unauthenticated",
        4,
        false,
        "cliauth auth login"
    )]
    #[case::env_token(Error::TokenRejected { source_name: "CLIAUTH_TOKEN" }, "unauthenticated", 4, false, "unset CLIAUTH_TOKEN")]
    #[case::flag_token(Error::TokenRejected { source_name: "--token" }, "unauthenticated", 4, false, "pass a valid token with --token")]
    #[case::teamspace(Error::PrivateTeamspaceRequired { description: None }, "private_teamspace_required", 5, false, "Private Teamspace")]
    #[case::forbidden(Error::Forbidden { what: "the ingress".into(), description: None }, "forbidden", 6, false, "access")]
    #[case::transport(Error::Transport { what: "the server".into(), target: "127.0.0.1:9".into(), kind: "connection refused".into(), source: None }, "retryable_transport", 7, true, "try again")]
    #[case::rate_limited(Error::Unavailable { what: "the server".into(), status: 429, retry_after: Some(3) }, "retryable_transport", 7, true, "3 s")]
    #[case::benign_replay(Error::RefreshInProgress, "retryable_transport", 7, true, "again")]
    #[case::server_500(Error::ServerStatus { what: "the server".into(), status: 500, detail: None }, "server_error", 8, true, "try again later")]
    #[case::malformed(Error::Malformed { what: "the server".into(), detail: "bad json".into() }, "server_error", 8, true, "try again later")]
    #[case::config(
        Error::config("no server configured", "set CLIAUTH_SERVER_URL"),
        "config",
        9,
        false,
        "CLIAUTH_SERVER_URL"
    )]
    #[case::no_discovery(Error::NoDiscoveryDocument { issuer: "https://id.example".into() }, "config", 9, false, "[auth] issuer")]
    #[case::issuer_mismatch(Error::IssuerMismatch { reported: "https://a".into(), expected: "https://b".into() }, "config", 9, false, "the issuer the server reports")]
    #[case::no_server(Error::NoServerConfigured { config_file: "/h/config.toml".into() }, "config", 9, false, "CLIAUTH_SERVER_URL, or add these lines to /h/config.toml:")]
    #[case::bad_millis(Error::BadMilliseconds { name: "CLIAUTH_LOCK_TIMEOUT_MS".into(), value: "x".into(), reason: "invalid digit found in string".into() }, "config", 9, false, "set CLIAUTH_LOCK_TIMEOUT_MS to a whole number")]
    #[case::no_state_folder(
        Error::NoStateFolder,
        "config",
        9,
        false,
        "set CLIAUTH_HOME to a private folder"
    )]
    #[case::invalid_config_file(Error::InvalidConfigFile { path: "/h/config.toml".into(), detail: "x".into(), line_column: Some((2, 5)) }, "config", 9, false, "(known keys: [server] url, [auth] issuer, [auth] client_id, [auth] scope)")]
    #[case::invalid_url(Error::InvalidUrl { what: "server URL".into(), raw: "x".into(), reason: "y".into() }, "config", 9, false, "https://auth.example.com")]
    #[case::unsupported_scheme(Error::UnsupportedScheme { scheme: "ftp".into(), url: "ftp://x".into() }, "config", 9, false, "https://")]
    #[case::insecure(Error::InsecureUrl { url: "http://example.com".into() }, "config", 9, false, "https")]
    #[case::port(Error::PortInUse { port: 8080 }, "config", 9, false, "--port")]
    #[case::registration(Error::RegistrationFailed { detail: "400".into() }, "config", 9, false, "client_id")]
    #[case::invalid_client(oauth("invalid_client"), "config", 9, false, "client_id")]
    #[case::permissions(Error::Permissions { path: "/h/credentials".into(), mode: 0o755, want: 0o700 }, "local_storage", 10, false, "chmod 700 /h/credentials")]
    #[case::corrupted(Error::Corrupted { path: "/h/s".into(), moved_to: "/h/s.corrupt".into(), reason: "x".into() }, "local_storage", 10, false, "cliauth auth login")]
    #[case::wrong_passphrase(Error::WrongPassphrase, "config", 9, false, "CLIAUTH_PASSPHRASE")]
    #[case::lock_timeout(Error::LockTimeout { path: "/h/l".into(), waited_ms: 10, holder: None }, "local_storage", 10, false, "try again")]
    #[case::access_denied(Error::AccessDenied { detail: None }, "access_denied", 11, false, "approve")]
    #[case::state_mismatch(Error::StateMismatch, "access_denied", 11, false, "cliauth auth login")]
    #[case::issuer_mismatch(Error::AuthorizationIssuerMismatch { reported: Some("https://evil".into()), expected: "https://id".into() }, "access_denied", 11, false, "CLIAUTH_ISSUER")]
    #[case::id_token(Error::IdTokenRejected { check: crate::classify::IdTokenCheck::Nonce, detail: "x".into() }, "access_denied", 11, false, "report this to its operator")]
    #[case::expired(Error::ExpiredCode { what: "device code" }, "expired_code", 12, false, "sooner")]
    #[case::cancelled(Error::Cancelled { reason: "login timed out after 300 s".into() }, "cancelled", 13, false, "--timeout")]
    #[case::interrupted(Error::Interrupted, "cancelled", 130, false, "run the command again")]
    #[case::internal(Error::Internal("x".into()), "internal", 1, false, "bug")]
    fn every_category_renders_human_and_json(
        #[case] err: Error,
        #[case] name: &str,
        #[case] exit: u8,
        #[case] retryable: bool,
        #[case] hint_part: &str,
    ) {
        assert_eq!(err.category().name(), name);
        assert_eq!(err.exit_code(), exit);
        let human = human(&err);
        let mut lines = human.lines();
        assert_eq!(lines.next().unwrap(), format!("error: {err}"));
        let hint = lines.next().unwrap();
        assert!(hint.starts_with("hint: "), "{hint}");
        assert!(hint.contains(hint_part), "{hint} lacks {hint_part}");
        // Further lines only continue the hint (a snippet), indented under it.
        assert!(lines.all(|l| l.starts_with("      ")), "{human}");
        let json = json(&err);
        assert_eq!(json["ok"], false);
        assert_eq!(json["category"], name);
        assert_eq!(json["retryable"], retryable);
        assert!(json["message"].as_str().unwrap().contains(&err.to_string()));
        assert_eq!(json.as_object().unwrap().len(), 4);
    }

    /// The snippet in the missing-server hint is real TOML: pasted into config.toml it sets
    /// `[server] url` (it used to contain a literal `\n`).
    #[test]
    fn missing_server_hint_pastes_as_valid_toml() {
        let err = Error::NoServerConfigured {
            config_file: "/h/config.toml".into(),
        };
        let text = human(&err);
        let snippet = text
            .lines()
            .skip(2)
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n");
        assert!(!text.contains("\\n"), "{text}");
        let parsed: crate::config::FileConfig = toml::from_str(&snippet).expect(&snippet);
        assert_eq!(
            parsed.server.url.as_deref(),
            Some("https://api.example.com")
        );
    }

    /// A filesystem failure names the OS reason, not only the operation.
    #[test]
    fn io_errors_name_the_os_reason() {
        let err = Error::io(
            "read /h/config.toml",
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        let text = human(&err);
        assert!(
            text.starts_with("error: failed to read /h/config.toml: permission denied"),
            "{text}"
        );
        assert!(
            json(&err)["message"]
                .as_str()
                .unwrap()
                .contains("permission denied")
        );
    }
}
