//! Spent refresh tokens: benign replay (409) and stale rejections. A credentials file restored
//! from an older copy plays the part of a writer outside the lock protocol (e.g. a second machine
//! sharing the folder), which is how a spent refresh token reaches the client.

use std::time::Duration;

use cliauth_mock::{Action, HoldOrder, Rule, RuleMatch};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::support::Fixture;

/// Logs in, refreshes once, and returns (file before the refresh, file after it).
async fn two_generations(f: &Fixture) -> (Vec<u8>, Vec<u8>) {
    f.login_password("alice").await;
    let p = f.cred_file();
    let old = std::fs::read(&p).unwrap();
    let r = f.run(&["auth", "refresh"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    (old, std::fs::read(&p).unwrap())
}

#[tokio::test]
async fn benign_replay_never_sends_the_spent_token_twice() {
    let f = Fixture::new(
        "[tokens]\naccess_ttl = 0\n[rotation]\npolicy = \"benign_replay\"\nretry_after = 1\n",
    )
    .await;
    let (old, _new) = two_generations(&f).await;
    std::fs::write(f.cred_file(), &old).unwrap();
    let run = f.run(&["auth", "token"]).await;
    assert_eq!(run.code, 7, "{run:?}");
    assert!(
        run.stderr.contains("being rotated by another client"),
        "{run:?}"
    );
    let refreshes = f.count(|e| e.grant_type.as_deref() == Some("refresh_token"));
    assert_eq!(
        refreshes, 2,
        "the first refresh, then the replay once (not twice)"
    );
    assert_eq!(f.count(|e| e.is_grant("refresh_token", 409)), 1);
}

#[tokio::test]
async fn benign_replay_retries_once_with_the_newest_stored_token() {
    let f = Fixture::new(
        "[tokens]\naccess_ttl = 0\n[rotation]\npolicy = \"benign_replay\"\nretry_after = 2\n",
    )
    .await;
    let (old, new) = two_generations(&f).await;
    let p = f.cred_file();
    std::fs::write(&p, &old).unwrap();
    let mut cmd = f.cmd(&["auth", "token"]);
    cmd.env("CLIAUTH_LOG", "debug");
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    while let Some(l) = lines.next_line().await.unwrap() {
        seen.push_str(&l);
        seen.push('\n');
        if l.contains("refresh_replay_wait") {
            // The client released the lock and waits as asked: the newer generation lands now.
            std::fs::write(&p, &new).unwrap();
            break;
        }
    }
    while let Some(l) = lines.next_line().await.unwrap() {
        seen.push_str(&l);
        seen.push('\n');
    }
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{seen}");
    assert!(seen.contains(" refreshed"), "{seen}");
    assert_eq!(f.count(|e| e.is_grant("refresh_token", 409)), 1);
    assert_eq!(f.count(|e| e.is_grant("refresh_token", 200)), 2);
}

/// Runs `auth token` (debug log) and, once the client waits after its first benign replay
/// (lock released), writes `during_wait` over the credentials file. Returns (exit, stderr).
async fn token_writing_during_replay_wait(f: &Fixture, during_wait: &[u8]) -> (i32, String) {
    let p = f.cred_file();
    let mut cmd = f.cmd(&["auth", "token"]);
    cmd.env("CLIAUTH_LOG", "debug");
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let mut written = false;
    while let Some(l) = lines.next_line().await.unwrap() {
        seen.push_str(&l);
        seen.push('\n');
        if !written && l.contains("refresh_replay_wait") {
            std::fs::write(&p, during_wait).unwrap();
            written = true;
        }
    }
    let status = child.wait().await.unwrap();
    assert!(
        written,
        "the client never waited after a benign replay: {seen}"
    );
    f.assert_no_leak(&seen, "stderr");
    (status.code().expect("exited normally"), seen)
}

/// The retry after a benign replay goes out with the newer stored token; when that one is
/// answered with a benign replay too (a peer rotated it meanwhile and has not stored the result
/// yet), the client stops with "being rotated" (retryable, exit 7) instead of waiting again,
/// and sends nothing more.
#[tokio::test]
async fn second_benign_replay_after_a_peer_rotation_is_refresh_in_progress() {
    let f = Fixture::new(
        "[tokens]\naccess_ttl = 0\n[rotation]\npolicy = \"benign_replay\"\nretry_after = 1\n",
    )
    .await;
    // Three generations: login, then two rotations; the first two are spent.
    let (gen0, gen1) = two_generations(&f).await;
    let r = f.run(&["auth", "refresh"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    std::fs::write(f.cred_file(), &gen0).unwrap();
    let (code, seen) = token_writing_during_replay_wait(&f, &gen1).await;
    assert_eq!(code, 7, "{seen}");
    assert!(seen.contains("being rotated by another client"), "{seen}");
    assert_eq!(
        seen.lines()
            .filter(|l| l.contains("refresh_replay_wait"))
            .count(),
        1,
        "waits once only: {seen}"
    );
    assert_eq!(
        f.count(|e| e.is_grant("refresh_token", 409)),
        2,
        "the spent token, then the newer stored one; neither twice"
    );
    assert_eq!(f.count(|e| e.is_grant("refresh_token", 200)), 2);
}

#[tokio::test]
async fn rejection_of_a_token_that_is_no_longer_stored_keeps_the_newer_session() {
    let f = Fixture::new("[tokens]\naccess_ttl = 0\n").await;
    let (old, new) = two_generations(&f).await;
    let p = f.cred_file();
    std::fs::write(&p, &old).unwrap();
    f.server.add_rule(Rule::new(
        "hold",
        RuleMatch::default()
            .path("/oauth/token")
            .grant_type("refresh_token"),
        Action::Hold {
            count: 1000,
            order: HoldOrder::Arrival,
        },
    ));
    let mut cmd = f.cmd(&["auth", "token"]);
    cmd.env("CLIAUTH_LOG", "debug");
    let child = cmd.spawn().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while f.server.held("hold") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the refresh never reached the server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // While the spent token is in flight, a newer generation is written by someone else.
    std::fs::write(&p, &new).unwrap();
    f.server.release_hold("hold");
    let out = child.wait_with_output().await.unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    assert!(err.contains("stale_rejection_preserved"), "{err}");
    assert!(f.cred_file().exists(), "the newer session was kept");
}
