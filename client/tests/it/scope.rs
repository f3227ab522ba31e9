//! The scope a login asks for (`--scope` > `CLIAUTH_SCOPE` > `[auth] scope` > what discovery
//! advertises of `openid offline_access`), and the granted scope kept with the session.

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::Fixture;

const PASSWORD_LOGIN: [&str; 6] = [
    "auth",
    "login",
    "--password",
    "--username",
    "alice",
    "--password-stdin",
];

/// A password login with `extra` arguments and `env`; returns the stored session's scope as
/// `auth status --json` reports it, after checking the human status line says the same.
async fn login_scope(f: &Fixture, extra: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let args: Vec<&str> = PASSWORD_LOGIN.iter().chain(extra).copied().collect();
    let mut cmd = f.cmd(&args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = f.run_cmd(cmd, Some("alice-password\n")).await;
    assert_eq!(run.code, 0, "{run:?}");
    let status = f.run(&["auth", "status", "--json"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    let scope = status.json()["scope"].clone();
    let human = f.run(&["auth", "status"]).await;
    match scope.as_str() {
        Some(s) => assert!(
            human.stdout.contains(&format!("  Scope: {s}\n")),
            "{human:?}"
        ),
        None => assert!(!human.stdout.contains("Scope:"), "{human:?}"),
    }
    let out = f.run(&["auth", "logout"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    scope
}

/// Finding I1: with no scope configured, the login asks for what the mock's discovery lists of
/// `openid offline_access`, and status shows the granted scope.
#[tokio::test]
async fn the_default_scope_is_what_discovery_advertises() {
    let f = Fixture::new("").await;
    assert_eq!(login_scope(&f, &[], &[]).await, "openid offline_access");
}

/// Flag over environment over file, like every other setting.
#[tokio::test]
async fn scope_precedence_is_flag_then_env_then_file() {
    let f = Fixture::new("").await;
    std::fs::write(
        f.home.path().join("config.toml"),
        "[auth]\nscope = \"openid email\"\n",
    )
    .unwrap();
    let env = [("CLIAUTH_SCOPE", "openid  profile")];
    assert_eq!(
        login_scope(&f, &["--scope", "sync"], &env).await,
        "sync",
        "--scope wins"
    );
    assert_eq!(
        login_scope(&f, &[], &env).await,
        "openid profile",
        "CLIAUTH_SCOPE over the file"
    );
    assert_eq!(login_scope(&f, &[], &[]).await, "openid email", "the file");
}

/// A scope no server could accept is refused before any request, naming where it came from.
#[tokio::test]
async fn an_invalid_scope_is_a_config_error() {
    let f = Fixture::new("").await;
    let mut cmd = f.cmd(&PASSWORD_LOGIN);
    cmd.env("CLIAUTH_SCOPE", "openid \"x\"");
    let run = f.run_cmd(cmd, Some("alice-password\n")).await;
    assert_eq!(run.code, 9, "{run:?}");
    assert!(
        run.stderr.contains(
            "error: the scope \"openid \\\"x\\\"\" from CLIAUTH_SCOPE is not a valid OAuth scope"
        ),
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("hint: give space-separated scope tokens"),
        "{run:?}"
    );
    assert_eq!(f.count(|e| e.path.contains("token")), 0, "no token request");
}

/// An invalid scope in config.toml is named with the file it is in.
#[tokio::test]
async fn an_invalid_scope_in_the_file_names_the_file() {
    let f = Fixture::new("").await;
    let file = f.home.path().join("config.toml");
    std::fs::write(&file, "[auth]\nscope = \"caf\u{e9}\"\n").unwrap();
    let run = f
        .run_cmd(f.cmd(&PASSWORD_LOGIN), Some("alice-password\n"))
        .await;
    assert_eq!(run.code, 9, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "from [auth] scope in {} is not a valid OAuth scope",
            file.display()
        )),
        "{run:?}"
    );
}

/// The browser flow puts the scope in the authorization request, and with `openid` a fresh
/// nonce of at least 128 bits (OIDC Core §3.1.2.1); without `openid` no nonce.
#[rstest::rstest]
#[case::openid("openid sync", true)]
#[case::plain_oauth("sync", false)]
#[tokio::test]
async fn the_browser_login_sends_the_scope_and_an_openid_nonce(
    #[case] scope: &str,
    #[case] nonce: bool,
) {
    let f = Fixture::new("").await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let query = authorize_query(&f, scope).await;
        assert_eq!(
            query.get("scope").map(String::as_str),
            Some(scope),
            "{query:?}"
        );
        assert_eq!(query.contains_key("nonce"), nonce, "{query:?}");
        assert_eq!(
            query.get("prompt"),
            None,
            "no offline_access, no consent prompt"
        );
        if let Some(n) = query.get("nonce") {
            // 128 bits are 22 base64url characters.
            assert!(n.len() >= 22, "{n}");
            nonces.push(n.clone());
        }
    }
    if nonce {
        assert_ne!(nonces[0], nonces[1], "a fresh nonce per login");
    }
}

/// OIDC Core §11 (finding I4): asking an OpenID provider for `offline_access` in the browser
/// takes `prompt=consent`, or the provider ignores it and issues no refresh token.
#[tokio::test]
async fn an_openid_offline_access_request_asks_for_consent() {
    let f = Fixture::new("").await;
    let query = authorize_query(&f, "openid offline_access").await;
    assert_eq!(
        query.get("prompt").map(String::as_str),
        Some("consent"),
        "{query:?}"
    );
}

/// Starts a browser login asking for `scope` and returns its authorization request's query.
async fn authorize_query(f: &Fixture, scope: &str) -> std::collections::HashMap<String, String> {
    let mut child = f
        .cmd(&[
            "auth",
            "login",
            "--no-browser",
            "--timeout",
            "60",
            "--scope",
            scope,
        ])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next_line().await.unwrap().expect("the URL line");
        if let Some(u) = line.strip_prefix("Open this URL to log in: ") {
            break url::Url::parse(u).unwrap();
        }
    };
    child.kill().await.unwrap();
    url.query_pairs().into_owned().collect()
}
