//! The hosted API (`/api/v1/...`).

use cliauth_mock::MockServer;
use rstest::rstest;
use serde_json::json;

use crate::support::{get, http, password_login, s, server};

async fn ingress(
    server: &MockServer,
    bearer: Option<&str>,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut req = http()
        .post(format!("{}/api/v1/ingress", server.url()))
        .json(body);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn meta_says_whether_auth_is_required() {
    let server = MockServer::start().await;
    let (status, _, meta) = get(&server, "/api/v1/meta", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        meta,
        json!({"auth_required": true, "issuer": server.issuer()})
    );
    let open = crate::support::server("zero_auth = true\n").await;
    assert_eq!(
        get(&open, "/api/v1/meta", None).await.2["auth_required"],
        false
    );
}

#[tokio::test]
async fn me_lists_user_and_teamspaces() {
    let server = MockServer::start().await;
    let at = s(&password_login(&server, "alice").await, "access_token").to_owned();
    let (status, _, me) = get(&server, "/api/v1/me", Some(&at)).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.test");
    let teams = me["teams"].as_array().unwrap();
    assert!(teams.iter().any(|t| t["is_private_teamspace"] == true));
    for t in teams {
        for k in ["id", "slug", "name", "role", "is_private_teamspace"] {
            assert!(t.get(k).is_some(), "{k}");
        }
    }
    assert_eq!(
        server
            .journal()
            .last()
            .unwrap()
            .bearer_fingerprint
            .as_deref()
            .map(str::len),
        Some(8)
    );
}

#[rstest]
#[case::no_bearer(None, false)]
#[case::garbage_bearer(Some("garbage"), true)]
#[tokio::test]
async fn me_without_a_valid_bearer_is_401_with_a_challenge(
    #[case] bearer: Option<&str>,
    #[case] invalid_token: bool,
) {
    let server = MockServer::start().await;
    let (status, headers, body) = get(&server, "/api/v1/me", bearer).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"));
    assert_eq!(challenge.contains("error=\"invalid_token\""), invalid_token);
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn ingress_accepts_a_batch_for_a_user_with_a_private_teamspace() {
    let server = MockServer::start().await;
    let at = s(&password_login(&server, "alice").await, "access_token").to_owned();
    let (status, body) =
        ingress(&server, Some(&at), &json!({"events": [{"k": 1}, {"k": 2}]})).await;
    assert_eq!((status, body), (202, json!({"accepted": 2})));
}

#[tokio::test]
async fn ingress_needs_a_private_teamspace() {
    let server = MockServer::start().await;
    let at = s(&password_login(&server, "bob").await, "access_token").to_owned();
    let (status, body) = ingress(&server, Some(&at), &json!({"events": []})).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"], "private_teamspace_required");
    assert!(body["error_description"].is_string());
}

#[rstest]
#[case::unauthenticated(None, json!({"events": []}), 401)]
#[case::not_a_batch(Some(()), json!({"nope": 1}), 400)]
#[tokio::test]
async fn ingress_rejects_bad_requests(
    #[case] auth: Option<()>,
    #[case] body: serde_json::Value,
    #[case] status: u16,
) {
    let server = MockServer::start().await;
    let at = s(&password_login(&server, "alice").await, "access_token").to_owned();
    let bearer = auth.map(|()| at.as_str());
    assert_eq!(ingress(&server, bearer, &body).await.0, status);
}

#[tokio::test]
async fn zero_auth_serves_me_and_ingress_without_a_bearer() {
    let server = server("zero_auth = true\n").await;
    let (status, _, me) = get(&server, "/api/v1/me", None).await;
    assert_eq!((status, me["username"].as_str()), (200, Some("anonymous")));
    assert_eq!(ingress(&server, None, &json!({"events": [1]})).await.0, 202);
}

#[tokio::test]
async fn session_describes_the_token() {
    let server = MockServer::start().await;
    let at = s(&password_login(&server, "alice").await, "access_token").to_owned();
    let (status, _, session) = get(&server, "/api/v1/session", Some(&at)).await;
    assert_eq!(status, 200);
    assert_eq!(session["active"], true);
    assert_eq!(session["username"], "alice");
    assert_eq!(session["client_id"], "cliauth");
    assert!(session["expires_at"].as_u64().unwrap() > session["issued_at"].as_u64().unwrap());
    assert!(session["server_time"].is_u64());
    assert_eq!(get(&server, "/api/v1/session", None).await.0, 401);
}

#[rstest]
#[case::ok(json!({"username": "alice", "password": "alice-password"}), 200, None)]
#[case::bad_password(json!({"username": "alice", "password": "x"}), 401, Some("invalid_grant"))]
#[case::missing_fields(json!({"username": "alice"}), 400, Some("invalid_request"))]
#[case::unknown_client(json!({"username": "alice", "password": "alice-password", "client_id": "nope"}), 401, Some("invalid_client"))]
#[tokio::test]
async fn json_login_answers_the_token_pair(
    #[case] body: serde_json::Value,
    #[case] status: u16,
    #[case] error: Option<&str>,
) {
    let server = MockServer::start().await;
    let resp = http()
        .post(format!("{}/api/v1/auth/login", server.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), status);
    let got: serde_json::Value = resp.json().await.unwrap();
    if let Some(e) = error {
        assert_eq!(got["error"], e);
    } else {
        assert_eq!(got["token_type"], "Bearer");
        assert!(got["refresh_token"].is_string());
    }
}
