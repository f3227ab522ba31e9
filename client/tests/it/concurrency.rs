//! Many processes at once: one refresh grant for 32 processes holding an expired access token.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::support::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_processes_share_one_refresh_under_strict_rotation() {
    // The refresh grant is held at the server until every process has read the store, so all
    // 32 decide on the same expired token; the hold is released by the test, not by a timer.
    let f = Fixture::new(
        "[tokens]\naccess_ttl = 0\n[rotation]\npolicy = \"strict\"\n[[rules]]\nname = \"hold-refresh\"\nmatch = { path = \"/oauth/token\", grant_type = \"refresh_token\" }\naction = { kind = \"hold\", count = 1000 }\n",
    )
    .await;
    f.login_password("alice").await;
    let mut children = Vec::new();
    let mut ready = Vec::new();
    for _ in 0..32 {
        let mut cmd = f.cmd(&["auth", "token"]);
        cmd.env("CLIAUTH_LOG", "debug")
            .env("CLIAUTH_LOCK_TIMEOUT_MS", "120000");
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let reader = tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            let mut all = String::new();
            let mut tx = Some(tx);
            while let Some(l) = lines.next_line().await.unwrap() {
                if l.contains("store_read")
                    && let Some(tx) = tx.take()
                {
                    tx.send(()).unwrap();
                }
                all.push_str(&l);
                all.push('\n');
            }
            all
        });
        ready.push(rx);
        children.push((child, reader));
    }
    for rx in ready {
        rx.await.expect("every process reads the store");
    }
    // Wait (bounded) for the one refresh request to reach the hold, then release it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while f.server.held("hold-refresh") == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no refresh reached the server"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    f.server.release_hold("hold-refresh");
    let mut stderr_all = String::new();
    let mut tokens = Vec::new();
    for (mut child, reader) in children {
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .await
            .unwrap();
        let status = child.wait().await.unwrap();
        let err = reader.await.unwrap();
        assert!(status.success(), "{status:?} {out:?} {err}");
        tokens.push(out.trim().to_owned());
        f.assert_no_leak(&err, "stderr");
        stderr_all.push_str(&err);
    }
    assert_eq!(
        f.count(|e| e.grant_type.as_deref() == Some("refresh_token")),
        1,
        "exactly one refresh grant"
    );
    assert_eq!(f.count(|e| e.is_grant("refresh_token", 200)), 1);
    assert_eq!(
        f.count(|e| e.outcome.as_deref() == Some("reuse_detected")),
        0
    );
    let lines_with = |w: &str| stderr_all.lines().filter(|l| l.contains(w)).count();
    assert_eq!(lines_with(" refreshed"), 1, "{stderr_all}");
    assert_eq!(lines_with("adopted_newer"), 31, "{stderr_all}");
    // Each process reads the store exactly twice: once to decide, once under the lock.
    assert_eq!(lines_with("store_read"), 64, "{stderr_all}");
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "every process printed the one new token");
}
