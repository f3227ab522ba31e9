//! Automatic refresh, rejection, transient failures, force login.

use crate::support::Fixture;

#[tokio::test]
async fn expired_access_token_is_refreshed_automatically_once() {
    let f = Fixture::new("[tokens]\naccess_ttl = 0\n").await;
    f.login_password("alice").await;
    let mut cmd = f.cmd(&["auth", "token"]);
    cmd.env("CLIAUTH_LOG", "debug");
    let run = f.run_cmd(cmd, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("refreshed"), "{}", run.stderr);
    assert!(run.stderr.contains("lock_acquired"));
    assert_eq!(f.count(|e| e.is_grant("refresh_token", 200)), 1);
}

#[tokio::test]
async fn a_valid_token_takes_the_hot_path_without_network() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let before = f.journal().len();
    let mut cmd = f.cmd(&["auth", "token"]);
    cmd.env("CLIAUTH_LOG", "debug");
    let run = f.run_cmd(cmd, None).await;
    assert_eq!(run.code, 0);
    assert!(run.stderr.contains("hot_path_hit"), "{}", run.stderr);
    assert!(!run.stderr.contains("lock_acquired"));
    assert!(!run.stderr.contains("http_request"));
    assert_eq!(f.journal().len(), before);
}

#[tokio::test]
async fn rejected_refresh_token_ends_the_session_with_a_login_hint() {
    let f = Fixture::new("[tokens]\naccess_ttl = 0\n").await;
    f.login_password("alice").await;
    f.server.revoke_all("alice");
    let mut cmd = f.cmd(&["auth", "token"]);
    cmd.env("CLIAUTH_LOG", "debug");
    let run = f.run_cmd(cmd, None).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(run.stderr.contains("rejection_cleared"), "{}", run.stderr);
    assert!(
        run.stderr.contains("error: refresh token rejected"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: run `cliauth auth login`"));
    assert_eq!(f.run(&["auth", "status"]).await.code, 4);
}

#[tokio::test]
async fn transient_refresh_failure_keeps_the_credentials() {
    let f = Fixture::new(
        "[tokens]\naccess_ttl = 0\n[[rules]]\nname = \"refresh-503\"\ntimes = 1\nmatch = { path = \"/oauth/token\", grant_type = \"refresh_token\" }\naction = { kind = \"status\", status = 503, headers = { \"Retry-After\" = \"2\" }, body = \"{}\" }\n",
    )
    .await;
    f.login_password("alice").await;
    let run = f.run(&["auth", "refresh", "--json"]).await;
    assert_eq!(run.code, 7, "{run:?}");
    let j = run.json();
    assert_eq!(j["category"], "retryable_transport");
    assert_eq!(j["retryable"], true);
    let run = f.run(&["auth", "refresh", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["outcome"], "refreshed");
}

#[tokio::test]
async fn force_login_replaces_then_revokes_the_old_session() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let run = f
        .run_stdin(
            &[
                "auth",
                "login",
                "--force",
                "--password",
                "--username",
                "bob",
                "--password-stdin",
            ],
            "bob-password\n",
        )
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        f.run(&["auth", "status", "--json"]).await.json()["user"],
        "bob"
    );
    assert_eq!(f.count(|e| e.path.contains("revoke") && e.status == 200), 1);
}
