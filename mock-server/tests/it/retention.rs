//! Bounded records (`record_capacity`): a long chain of refresh grants keeps memory flat by
//! forgetting the oldest access tokens, spent refresh tokens and issued secrets, and nothing
//! a short test can see is forgotten.

use cliauth_mock::MockServer;

use crate::support::{get, http, password_login, refresh, s};

async fn admin_get(server: &MockServer, path: &str) -> serde_json::Value {
    let resp = http()
        .get(format!("{}{path}", server.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Logs in and refreshes `n` times; returns every token response, oldest first.
async fn chain(server: &MockServer, n: usize) -> Vec<serde_json::Value> {
    let mut responses = vec![password_login(server, "alice").await];
    for _ in 0..n {
        let last = responses.last().expect("at least the login");
        let (status, next) = refresh(server, s(last, "refresh_token")).await;
        assert_eq!(status, 200, "{next}");
        responses.push(next);
    }
    responses
}

#[tokio::test]
async fn the_oldest_records_and_secrets_are_forgotten_beyond_the_capacity() {
    let server = MockServer::builder()
        .record_capacity(3)
        .start()
        .await
        .unwrap();
    let responses = chain(&server, 5).await;
    // Each grant mints an access and a refresh token (no ID token: openid is not asked for).
    let secrets = server.issued_secrets();
    assert_eq!(secrets.len(), 3);
    let newest = responses.last().unwrap();
    assert!(secrets.iter().any(|x| x == s(newest, "access_token")));
    assert!(server.issued_secrets_dropped() > 0);
    let listed = admin_get(&server, "/secrets").await;
    assert_eq!(listed["secrets"].as_array().unwrap().len(), 3);
    assert_eq!(listed["dropped"], server.issued_secrets_dropped());
    // The oldest access token is forgotten (unknown: 401); the newest still works.
    let (status, _, _) = get(
        &server,
        "/api/v1/me",
        Some(s(&responses[0], "access_token")),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _, _) = get(&server, "/api/v1/me", Some(s(newest, "access_token"))).await;
    assert_eq!(status, 200);
    // The first refresh token's record is forgotten: presenting it again is an unknown token,
    // not a detected reuse, so the family (and its live refresh token) survive.
    let (status, body) = refresh(&server, s(&responses[0], "refresh_token")).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
    let (status, body) = refresh(&server, s(newest, "refresh_token")).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn within_the_default_capacity_reuse_of_an_old_token_is_still_detected() {
    let server = MockServer::start().await;
    let responses = chain(&server, 50).await;
    assert_eq!(server.issued_secrets_dropped(), 0);
    assert_eq!(server.issued_secrets().len(), 2 * 51);
    let (status, _) = refresh(&server, s(&responses[0], "refresh_token")).await;
    assert_eq!(status, 400);
    // Reuse detection revoked the family: the live refresh token is dead too.
    let (status, _) = refresh(&server, s(responses.last().unwrap(), "refresh_token")).await;
    assert_eq!(status, 400);
    assert!(
        server
            .lineage()
            .iter()
            .any(|l| l.reason.as_deref() == Some("reuse_detected"))
    );
}
