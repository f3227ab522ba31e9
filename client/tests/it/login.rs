//! Every login method end to end, plus the "already logged in" and with-token paths.

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::Fixture;

#[tokio::test]
async fn password_login_status_token_and_logout_with_revoke() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let status = f.run(&["auth", "status", "--json"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    let j = status.json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["authenticated"], true);
    assert_eq!(j["method"], "password");
    assert_eq!(j["user"], "alice");
    assert_eq!(j["source"], "stored_session");
    assert_eq!(j["server"], f.server.url());
    assert_eq!(j["fingerprint"].as_str().unwrap().len(), 8);
    assert!(j["access_expires_in"].as_i64().unwrap() > 3000);

    let token = f.run(&["auth", "token"]).await;
    assert_eq!(token.code, 0, "{token:?}");
    let tok = token.stdout.trim();
    assert!(
        f.server.issued_secrets().iter().any(|s| s == tok),
        "prints an issued access token"
    );

    let out = f.run(&["auth", "logout"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("Revoked the session at the server."),
        "{out:?}"
    );
    assert!(out.stderr.contains("Logged out."));
    assert_eq!(f.count(|e| e.path.contains("revoke") && e.status == 200), 1);

    let status = f.run(&["auth", "status"]).await;
    assert_eq!(status.code, 4, "{status:?}");
    assert!(status.stderr.contains("error: not logged in"), "{status:?}");
    assert!(status.stderr.contains("hint: run `cliauth auth login`"));

    let again = f.run(&["auth", "logout"]).await;
    assert_eq!(again.code, 0);
    assert!(again.stderr.contains("No credentials found."), "{again:?}");
}

#[tokio::test]
async fn wrong_password_is_unauthenticated_with_a_hint() {
    let f = Fixture::new("").await;
    let run = f.password_login("alice", "nope").await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr.contains("error: invalid username or password"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("nope"));
}

#[tokio::test]
async fn already_logged_in_makes_no_network_call() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let before = f.journal().len();
    let run = f
        .run(&["auth", "login", "--password", "--username", "alice"])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("Already logged in to"), "{run:?}");
    assert!(run.stderr.contains("as alice"));
    assert_eq!(f.journal().len(), before, "no request");
}

type StderrLines = tokio::io::Lines<BufReader<tokio::process::ChildStderr>>;

/// Reads the login's stderr up to the printed authorize URL.
async fn authorize_url(child: &mut tokio::process::Child) -> (StderrLines, String) {
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines.next_line().await.unwrap().expect("the URL line");
        if let Some(u) = line.strip_prefix("Open this URL to log in: ") {
            return (lines, u.to_owned());
        }
    }
}

#[tokio::test]
async fn browser_login_end_to_end_with_pkce_and_state() {
    let f = Fixture::new("").await;
    let mut child = f
        .cmd(&["auth", "login", "--no-browser", "--timeout", "60"])
        .spawn()
        .unwrap();
    let (mut lines, url) = authorize_url(&mut child).await;
    let parsed = url::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["response_type"], "code");
    assert!(q["redirect_uri"].starts_with("http://127.0.0.1:"));
    assert!(q["state"].len() >= 16);
    // Play the browser: the consent page redirects to the loopback callback; follow it by hand.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let consent = browser.get(&url).send().await.unwrap();
    assert!(consent.status().is_redirection(), "{consent:?}");
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with(&q["redirect_uri"]));
    let page = browser.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("You may close this tab")
    );
    let mut rest = String::new();
    while let Some(l) = lines.next_line().await.unwrap() {
        rest.push_str(&l);
        rest.push('\n');
    }
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{rest}");
    f.assert_no_leak(&rest, "stderr");
    assert!(rest.contains("Logged in to"), "{rest}");
    let s = f.run(&["auth", "status", "--json"]).await.json();
    assert_eq!(s["method"], "browser");
    assert_eq!(s["user"], "alice");
}

#[tokio::test]
async fn browser_callback_with_a_wrong_state_is_refused() {
    let f = Fixture::new("").await;
    let mut child = f
        .cmd(&["auth", "login", "--no-browser", "--timeout", "60"])
        .spawn()
        .unwrap();
    let (mut lines, url) = authorize_url(&mut child).await;
    let q: std::collections::HashMap<_, _> = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    let forged = format!("{}?code=forged&state=not-the-state", q["redirect_uri"]);
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 400);
    let out = child.wait_with_output().await.unwrap();
    let mut rest = String::new();
    while let Some(l) = lines.next_line().await.unwrap() {
        rest.push_str(&l);
    }
    assert_eq!(out.status.code(), Some(11), "{rest}");
    assert!(rest.contains("state mismatch"), "{rest}");
    assert_eq!(f.count(|e| e.path.contains("token")), 0, "no code exchange");
}

#[tokio::test]
async fn fixed_port_in_use_is_a_clear_config_error() {
    let f = Fixture::new("").await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let run = f
        .run(&["auth", "login", "--no-browser", "--port", &port])
        .await;
    assert_eq!(run.code, 9, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "error: port {port} on 127.0.0.1 is already in use"
        )),
        "{run:?}"
    );
    assert!(run.stderr.contains("hint: "));
}

#[tokio::test]
async fn device_login_end_to_end() {
    let f = Fixture::new("[device]\ninterval = 0\napprove_after_polls = 2\n").await;
    let run = f
        .run(&["auth", "login", "--device", "--no-browser", "--json"])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("Code: "), "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("Open: {}/device", f.server.url()))
    );
    let j = run.json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["method"], "device");
    assert_eq!(j["user"], "alice");
}

#[tokio::test]
async fn device_login_reports_denial_and_expiry_distinctly() {
    let f = Fixture::new("[device]\ninterval = 0\nscript = [\"pending\", \"denied\"]\n").await;
    let run = f.run(&["auth", "login", "--device", "--no-browser"]).await;
    assert_eq!(run.code, 11, "{run:?}");
    let f = Fixture::new("[device]\ninterval = 0\nscript = [\"pending\", \"expired\"]\n").await;
    let run = f
        .run(&["auth", "login", "--device", "--no-browser", "--json"])
        .await;
    assert_eq!(run.code, 12, "{run:?}");
    assert_eq!(run.json()["category"], "expired_code");
}

#[tokio::test]
async fn with_token_stores_a_static_token_that_takes_precedence() {
    let f = Fixture::new("").await;
    let run = f
        .run_stdin(&["auth", "login", "--with-token"], "pat-1234567890\n")
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    let tok = f.run(&["auth", "token"]).await;
    assert_eq!(tok.stdout.trim(), "pat-1234567890");
    let s = f.run(&["auth", "status", "--json"]).await.json();
    assert_eq!(s["source"], "stored_static");
    assert_eq!(s["method"], "token");
    // The flag beats the environment, which beats stored credentials (with a warning). Status
    // checks an override token with the server (#16), so this one is real.
    let valid = f.issued_token().await;
    let mut cmd = f.cmd(&["auth", "status", "--json"]);
    cmd.env("CLIAUTH_TOKEN", &valid);
    let env = f.run_cmd(cmd, None).await;
    let j = env.json();
    assert_eq!(j["source"], "env");
    assert!(
        j["warnings"][0].as_str().unwrap().contains("CLIAUTH_TOKEN"),
        "{j}"
    );
    let mut cmd = f.cmd(&["--token", "flag-token", "auth", "token"]);
    cmd.env("CLIAUTH_TOKEN", "env-token-abc");
    assert_eq!(f.run_cmd(cmd, None).await.stdout.trim(), "flag-token");
    // logout keeps the static token unless --all.
    let out = f.run(&["auth", "logout"]).await;
    assert_eq!(out.code, 0);
    assert_eq!(
        f.run(&["auth", "token"]).await.stdout.trim(),
        "pat-1234567890"
    );
    assert_eq!(f.run(&["auth", "logout", "--all"]).await.code, 0);
    assert_eq!(f.run(&["auth", "token"]).await.code, 4);
}

#[tokio::test]
async fn dynamic_registration_is_used_once_and_failure_is_named() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    assert_eq!(
        f.count(|e| e.path.contains("register") && e.status / 100 == 2),
        1
    );
    let f = Fixture::new("[registration]\nfail = true\n").await;
    let run = f.password_login("alice", "alice-password").await;
    assert_eq!(run.code, 9, "{run:?}");
    assert!(run.stderr.contains("client registration failed"), "{run:?}");
    assert!(run.stderr.contains("hint: set [auth] client_id"), "{run:?}");
}

#[tokio::test]
async fn logout_of_a_corrupted_store_reports_the_session_removed() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let p = f.cred_file();
    let mut bytes = std::fs::read(&p).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&p, &bytes).unwrap();
    let out = f.run(&["auth", "logout", "--json"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["removed_session"], true, "{out:?}");
    assert!(out.stderr.contains("corrupt"), "{}", out.stderr);
    // The damaged file was moved aside, so nothing is left to log in with.
    assert_eq!(f.run(&["auth", "status"]).await.code, 4);
}
