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

#[tokio::test]
async fn busy_lock_adopts_a_still_valid_token_but_an_explicit_refresh_times_out() {
    use cliauth::{
        AccessToken, LoginMethod, RefreshToken, SessionRecord, Store, StoredState, now_unix,
    };
    let f = Fixture::new("").await;
    // A session inside its refresh window (expires in 30 s) but still valid, and the lock held
    // by this test process for the whole test.
    let store = Store::new(
        &f.credentials_dir(),
        &url::Url::parse(&f.server.url()).unwrap(),
        None,
        None,
    );
    let guard = store.lock(std::time::Duration::from_secs(5)).unwrap();
    let state = StoredState {
        server: f.server.url(),
        registered_client_id: None,
        registered_client_secret: None,
        static_token: None,
        session: Some(SessionRecord {
            access_token: AccessToken::new("still-valid-access-token"),
            refresh_token: Some(RefreshToken::new("some-refresh-token")),
            access_expires_at: Some(now_unix() + 30),
            refresh_expires_at: None,
            method: LoginMethod::Password,
            user: Some("alice".into()),
            client_id: "cliauth".into(),
            updated_at: now_unix() - 3600,
            me: None,
            auth_server: None,
            scope: None,
            subject: None,
            client_secret: None,
        }),
    };
    store.save(&state, &guard).unwrap();
    let mut cmd = f.cmd(&["auth", "token"]);
    cmd.env("CLIAUTH_LOCK_TIMEOUT_MS", "100")
        .env("CLIAUTH_LOG", "debug");
    let run = f.run_cmd(cmd, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.trim(), "still-valid-access-token");
    assert!(
        run.stderr.contains("lock_timeout_adopted"),
        "{}",
        run.stderr
    );
    let mut cmd = f.cmd(&["auth", "refresh", "--json"]);
    cmd.env("CLIAUTH_LOCK_TIMEOUT_MS", "100");
    let run = f.run_cmd(cmd, None).await;
    assert_eq!(run.code, 10, "{run:?}");
    assert_eq!(run.json()["category"], "local_storage");
    assert_eq!(f.journal().len(), 0, "no request while the lock is busy");
    drop(guard);
}

#[tokio::test]
async fn transient_refresh_failure_inside_the_window_uses_the_still_valid_access_token() {
    use cliauth::{Store, now_unix};
    let f = Fixture::new(
        "[[rules]]\nname = \"refresh-503\"\nmatch = { path = \"/oauth/token\", grant_type = \"refresh_token\" }\naction = { kind = \"status\", status = 503, body = \"{}\" }\n",
    )
    .await;
    f.login_password("alice").await;
    // Move the stored access token into its refresh window (30 s left of 3600): the client must
    // try to refresh, and when that fails transiently, keep using the token until it expires.
    let store = Store::new(
        &f.credentials_dir(),
        &url::Url::parse(&f.server.url()).unwrap(),
        None,
        None,
    );
    let guard = store.lock(std::time::Duration::from_secs(5)).unwrap();
    let mut state = store.load(Some(&guard)).unwrap().unwrap();
    let session = state.session.as_mut().unwrap();
    session.access_expires_at = Some(now_unix() + 30);
    session.updated_at = now_unix() - 3570;
    let stored = session.access_token.expose().to_owned();
    store.save(&state, &guard).unwrap();
    drop(guard);

    let mut cmd = f.cmd(&["auth", "token"]);
    cmd.env("CLIAUTH_LOG", "debug");
    let run = f.run_cmd(cmd, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.trim(), stored);
    assert!(
        run.stderr
            .contains("refresh failed; using the stored access token"),
        "{}",
        run.stderr
    );
    assert_eq!(f.count(|e| e.is_grant("refresh_token", 503)), 1);
    // Nothing was lost: the session is still there for the next attempt.
    assert_eq!(f.run(&["auth", "status"]).await.code, 0);
}

/// The paths the server saw from the `from`-th request on.
fn paths_since(f: &Fixture, from: usize) -> Vec<String> {
    f.journal()[from..].iter().map(|e| e.path.clone()).collect()
}

#[tokio::test]
async fn a_refresh_is_one_request_with_the_server_metadata_cached_at_login() {
    let f = Fixture::new("[tokens]\naccess_ttl = 0\n").await;
    f.login_password("alice").await;
    let before = f.journal().len();
    let run = f.run(&["auth", "refresh"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(paths_since(&f, before), ["/oauth/token"]);
}

#[tokio::test]
async fn a_session_stored_without_server_metadata_discovers_once_then_caches_it() {
    use cliauth::Store;
    let f = Fixture::new("[tokens]\naccess_ttl = 0\n").await;
    f.login_password("alice").await;
    // A session as an older cliauth stored it: no cached metadata.
    let store = Store::new(
        &f.credentials_dir(),
        &url::Url::parse(&f.server.url()).unwrap(),
        None,
        None,
    );
    let guard = store.lock(std::time::Duration::from_secs(5)).unwrap();
    let mut state = store.load(Some(&guard)).unwrap().unwrap();
    state.session.as_mut().unwrap().auth_server = None;
    store.save(&state, &guard).unwrap();
    drop(guard);

    let before = f.journal().len();
    assert_eq!(f.run(&["auth", "refresh"]).await.code, 0);
    let first = paths_since(&f, before);
    assert_eq!(first.last().map(String::as_str), Some("/oauth/token"));
    assert!(
        first.iter().any(|p| p.starts_with("/.well-known/")),
        "{first:?}"
    );
    let before = f.journal().len();
    assert_eq!(f.run(&["auth", "refresh"]).await.code, 0);
    assert_eq!(paths_since(&f, before), ["/oauth/token"]);
}
