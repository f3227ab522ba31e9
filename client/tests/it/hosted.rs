//! Hosted commands and zero-auth.

use crate::support::Fixture;

#[tokio::test]
async fn sync_now_posts_a_batch_and_caches_me() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let run = f.run(&["sync", "now", "--json"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json()["ok"], true);
    assert_eq!(run.json()["user"], "alice");
    let mut cmd = f.cmd(&["sync", "now"]);
    cmd.env("CLIAUTH_LOG", "debug");
    let run = f.run_cmd(cmd, None).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("me_cache_hit"), "{}", run.stderr);
    // Login fetched /me once (seeding the cache); both syncs used the cache.
    assert_eq!(f.count(|e| e.path == "/api/v1/me"), 1);
    assert_eq!(
        f.count(|e| e.path == "/api/v1/ingress" && e.status == 202),
        2
    );
}

/// A refresh drops the cached `/me` (it belonged to the old access token); the next hosted
/// command fetches it once and caches it again for the new token.
#[tokio::test]
async fn me_is_fetched_once_per_access_token_after_a_refresh() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let refresh = f.run(&["auth", "refresh"]).await;
    assert_eq!(refresh.code, 0, "{refresh:?}");
    for _ in 0..2 {
        let run = f.run(&["sync", "now"]).await;
        assert_eq!(run.code, 0, "{run:?}");
    }
    // One /me at login, one by the first sync after the refresh, none by the second.
    assert_eq!(f.count(|e| e.path == "/api/v1/me"), 2);
}

#[tokio::test]
async fn sync_without_private_teamspace_is_its_own_category() {
    let f = Fixture::new("").await;
    f.login_password("bob").await;
    let run = f.run(&["sync", "now", "--json"]).await;
    assert_eq!(run.code, 5, "{run:?}");
    assert_eq!(run.json()["category"], "private_teamspace_required");
}

#[tokio::test]
async fn logged_out_sync_is_told_to_log_in() {
    let f = Fixture::new("").await;
    let run = f.run(&["sync", "now"]).await;
    assert_eq!(run.code, 4, "{run:?}");
    assert!(
        run.stderr
            .starts_with("error: not logged in\nhint: run `cliauth auth login`"),
        "{run:?}"
    );
    let run = f.run(&["sync", "now", "--json"]).await;
    let j = run.json();
    assert_eq!(j["ok"], false);
    assert_eq!(j["category"], "unauthenticated");
    assert_eq!(j["retryable"], false);
}

#[tokio::test]
async fn zero_auth_server_needs_no_login() {
    let f = Fixture::new("zero_auth = true\n").await;
    let status = f.run(&["auth", "status", "--json"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(status.json()["auth_required"], false);
    let login = f.run(&["auth", "login"]).await;
    assert_eq!(login.code, 0, "{login:?}");
    assert!(
        login.stderr.contains("requires no authentication"),
        "{login:?}"
    );
    let sync = f.run(&["sync", "now", "--json"]).await;
    assert_eq!(sync.code, 0, "{sync:?}");
}
