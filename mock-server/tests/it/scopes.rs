//! Scopes (RFC 6749 §3.3): requests are checked against the client's allowed `scopes`, the
//! granted scope is returned and introspected, and the journal records what was asked for.

use cliauth_mock::MockServer;
use rstest::rstest;

use crate::openid::code_flow;
use crate::support::{http, pkce_pair, post_form, s, server};

const NARROW: &str = r#"
[device]
interval = 0
approve_after_polls = 1

[[clients]]
client_id = "narrow"
redirect_uris = ["http://127.0.0.1/callback"]
scopes = ["sync", "openid"]
"#;

/// Asks for `scope` through `endpoint` as client `narrow`; returns the error code, if any.
async fn ask(server: &MockServer, endpoint: &str, scope: &str) -> Option<String> {
    match endpoint {
        "authorize" => {
            let (_, challenge) = pkce_pair();
            let resp = http()
                .get(format!("{}/oauth/authorize", server.url()))
                .query(&[
                    ("response_type", "code"),
                    ("client_id", "narrow"),
                    ("redirect_uri", "http://127.0.0.1:5000/callback"),
                    ("scope", scope),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 302);
            let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
            location
                .query_pairs()
                .find(|(k, _)| k == "error")
                .map(|(_, v)| v.into_owned())
        }
        "device" => {
            let (status, body) = post_form(
                server,
                "/oauth/device_authorization",
                &[("client_id", "narrow"), ("scope", scope)],
            )
            .await;
            (status != 200).then(|| s(&body, "error").to_owned())
        }
        _ => {
            let (status, body) = post_form(
                server,
                "/oauth/token",
                &[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", "alice-password"),
                    ("client_id", "narrow"),
                    ("scope", scope),
                ],
            )
            .await;
            (status != 200).then(|| s(&body, "error").to_owned())
        }
    }
}

#[rstest]
#[case::authorize_allowed("authorize", "sync openid", None)]
#[case::authorize_refused("authorize", "sync admin", Some("invalid_scope"))]
#[case::device_allowed("device", "openid", None)]
#[case::device_refused("device", "offline_access", Some("invalid_scope"))]
#[case::password_allowed("password", "sync", None)]
#[case::password_refused("password", "email", Some("invalid_scope"))]
#[case::no_scope_is_fine("password", "", None)]
#[tokio::test]
async fn requested_scopes_are_checked_against_the_clients_scopes(
    #[case] endpoint: &str,
    #[case] scope: &str,
    #[case] error: Option<&str>,
) {
    let server = server(NARROW).await;
    assert_eq!(ask(&server, endpoint, scope).await.as_deref(), error);
}

#[tokio::test]
async fn the_default_client_may_ask_for_openid_offline_access_profile_email_and_sync() {
    let server = MockServer::start().await;
    let tokens = code_flow(
        &server,
        "openid offline_access profile email sync",
        "cliauth",
    )
    .await;
    assert_eq!(
        s(&tokens, "scope"),
        "openid offline_access profile email sync"
    );
}

#[tokio::test]
async fn the_granted_scope_is_returned_and_introspected() {
    let server = MockServer::start().await;
    let tokens = code_flow(&server, "openid sync", "cliauth").await;
    assert_eq!(s(&tokens, "scope"), "openid sync");
    for token in ["access_token", "refresh_token"] {
        let (status, info) = post_form(
            &server,
            "/oauth/introspect",
            &[("token", s(&tokens, token)), ("client_id", "cliauth")],
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            (info["active"].as_bool(), s(&info, "scope")),
            (Some(true), "openid sync"),
            "{token}"
        );
    }
}

#[tokio::test]
async fn a_refresh_token_does_not_need_offline_access() {
    // Existing configs and clients send no scope: whether a refresh token comes must not change.
    let server = MockServer::start().await;
    let tokens = code_flow(&server, "openid", "cliauth").await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
}

#[tokio::test]
async fn the_journal_records_the_requested_scope() {
    let server = server(NARROW).await;
    ask(&server, "authorize", "sync openid").await;
    ask(&server, "password", "sync admin").await;
    let scopes: Vec<_> = server
        .journal()
        .iter()
        .map(|e| (e.path.clone(), e.scope.clone()))
        .collect();
    assert_eq!(
        scopes,
        [
            (
                "/oauth/authorize".to_owned(),
                Some("sync openid".to_owned())
            ),
            ("/oauth/token".to_owned(), Some("sync admin".to_owned())),
        ]
    );
}
