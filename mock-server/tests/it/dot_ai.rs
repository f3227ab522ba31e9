//! The `dot-ai` dialect: `../shared/SEED-CLIENTS.md` §5 (root OAuth paths, a client registered
//! per login, no refresh token, the hosted calls and their 401 shape).

use cliauth_mock::{Config, MockServer};
use serde_json::Value;

use crate::support::{http, pkce_pair, post_form, s};

async fn server() -> MockServer {
    let config = Config::from_toml_str("dialect = \"dot-ai\"\n").unwrap();
    MockServer::builder().config(config).start().await.unwrap()
}

/// The login as the CLI does it; returns the token response.
async fn login(server: &MockServer) -> Value {
    let redirect = "http://127.0.0.1:41234/callback";
    let resp = http()
        .post(format!("{}/register", server.url()))
        .json(&serde_json::json!({
            "client_name": "dot-ai-cli",
            "redirect_uris": [redirect],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "client_secret_post",
        }))
        .send()
        .await
        .unwrap();
    assert!(matches!(resp.status().as_u16(), 200 | 201));
    let client: Value = resp.json().await.unwrap();
    let (client_id, secret) = (s(&client, "client_id"), s(&client, "client_secret"));
    let (verifier, challenge) = pkce_pair();
    // No state and no scope: dot-ai sends neither.
    let resp = http()
        .get(format!("{}/authorize", server.url()))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let (status, body) = post_form(
        server,
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", &verifier),
            ("client_id", client_id),
            ("client_secret", secret),
            ("requested_expiry", "2592000"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn login_at_the_root_paths_issues_an_access_token_and_no_refresh_token() {
    let server = server().await;
    let body = login(&server).await;
    assert!(!s(&body, "access_token").is_empty());
    assert_eq!(s(&body, "token_type"), "Bearer");
    assert!(body["expires_in"].as_u64().is_some(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let journal = server.journal();
    let canonical: Vec<Option<&str>> = journal
        .iter()
        .map(|e| e.canonical_path.as_deref())
        .collect();
    assert_eq!(
        canonical,
        [
            Some("/oauth/register"),
            Some("/oauth/authorize"),
            Some("/oauth/token")
        ]
    );
}

#[tokio::test]
async fn hosted_calls_answer_success_with_the_token_and_dot_ais_401_without() {
    let server = server().await;
    let token = s(&login(&server).await, "access_token").to_owned();
    for path in ["/api/v1/tools", "/api/v1/namespaces"] {
        let resp = http()
            .get(format!("{}{path}", server.url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["success"], true, "{body}");
        assert!(body["data"].is_object(), "{body}");

        let resp = http()
            .get(format!("{}{path}", server.url()))
            .bearer_auth("not-a-token")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{path}");
        let challenge = resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            challenge,
            format!(
                "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource\"",
                server.issuer()
            )
        );
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], "UNAUTHORIZED");
    }
}

#[tokio::test]
async fn cliauth_paths_are_not_served_in_the_dot_ai_dialect() {
    let server = server().await;
    let (status, _) = post_form(&server, "/oauth/token", &[("grant_type", "password")]).await;
    assert_eq!(status, 404);
}
