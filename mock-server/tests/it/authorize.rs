//! The authorization endpoint and the authorization-code grant (RFC 6749 §4.1, RFC 7636,
//! RFC 8252 §7.3).

use std::collections::HashMap;
use std::time::Duration;

use cliauth_mock::MockServer;
use rstest::rstest;

use crate::support::{http, pkce_pair, post_form, s, server};

const REDIRECT: &str = "http://127.0.0.1:53682/callback";

/// GET /oauth/authorize; returns the status and the redirect's query parameters.
async fn authorize(
    server: &MockServer,
    params: &[(&str, &str)],
) -> (u16, HashMap<String, String>, serde_json::Value) {
    let resp = http()
        .get(format!("{}/oauth/authorize", server.url()))
        .query(params)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    let body = resp
        .json::<serde_json::Value>()
        .await
        .unwrap_or(serde_json::Value::Null);
    let query = location
        .map(|l| {
            url::Url::parse(&l)
                .unwrap()
                .query_pairs()
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    (status, query, body)
}

fn base(challenge: &str) -> Vec<(&str, &str)> {
    vec![
        ("response_type", "code"),
        ("client_id", "cliauth"),
        ("redirect_uri", REDIRECT),
        ("state", "xyz"),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", "sync"),
    ]
}

async fn exchange(
    server: &MockServer,
    code: &str,
    verifier: Option<&str>,
    redirect: &str,
) -> (u16, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("client_id", "cliauth"),
        ("redirect_uri", redirect),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    post_form(server, "/oauth/token", &form).await
}

#[tokio::test]
async fn auth_code_with_pkce_issues_tokens_echoes_state_and_sends_iss() {
    let server = MockServer::start().await;
    let (verifier, challenge) = pkce_pair();
    let (status, q, _) = authorize(&server, &base(&challenge)).await;
    assert_eq!(status, 302);
    assert_eq!(q["state"], "xyz");
    assert_eq!(q["iss"], server.issuer());
    let (status, tokens) = exchange(&server, &q["code"], Some(&verifier), REDIRECT).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "sync");
    assert!(server.issued_secrets().contains(&q["code"]));
}

#[rstest]
#[case::any_loopback_port("http://127.0.0.1:1/callback", true)]
#[case::localhost("http://localhost:9999/callback", true)]
#[case::ipv6("http://[::1]:8080/callback", true)]
#[case::other_path("http://127.0.0.1:53682/other", false)]
#[case::https_loopback("https://127.0.0.1:53682/callback", false)]
#[case::remote("http://evil.example/callback", false)]
#[tokio::test]
async fn loopback_redirect_uris_match_on_any_port_only(
    #[case] redirect: &str,
    #[case] accepted: bool,
) {
    let server = MockServer::start().await;
    let (_, challenge) = pkce_pair();
    let mut params = base(&challenge);
    params[2] = ("redirect_uri", redirect);
    let (status, q, body) = authorize(&server, &params).await;
    if accepted {
        assert_eq!(status, 302);
        assert!(q.contains_key("code"));
    } else {
        // An unregistered redirect URI is never redirected to (RFC 6749 §4.1.2.1).
        assert_eq!(status, 400);
        assert_eq!(body["error"], "invalid_request");
    }
}

#[rstest]
#[case::strict_missing_challenge("strict", &["code_challenge", "code_challenge_method"], None, Some("invalid_request"))]
#[case::strict_plain("strict", &[], Some("plain"), Some("invalid_request"))]
#[case::strict_no_method_means_plain("strict", &["code_challenge_method"], None, Some("invalid_request"))]
#[case::strict_s256("strict", &[], None, None)]
#[case::lenient_plain("lenient", &[], Some("plain"), None)]
#[case::lenient_missing("lenient", &["code_challenge", "code_challenge_method"], None, None)]
#[case::off_missing("off", &["code_challenge", "code_challenge_method"], None, None)]
#[tokio::test]
async fn pkce_modes_decide_what_the_authorization_request_needs(
    #[case] mode: &str,
    #[case] drop_params: &[&str],
    #[case] method: Option<&str>,
    #[case] error: Option<&str>,
) {
    let server = server(&format!("[pkce]\nmode = \"{mode}\"\n")).await;
    let (_, challenge) = pkce_pair();
    let mut params: Vec<_> = base(&challenge)
        .into_iter()
        .filter(|(k, _)| !drop_params.contains(k))
        .collect();
    if let Some(m) = method {
        params.retain(|(k, _)| *k != "code_challenge_method");
        params.push(("code_challenge_method", m));
    }
    let (status, q, _) = authorize(&server, &params).await;
    assert_eq!(status, 302);
    assert_eq!(q.get("error").map(String::as_str), error);
    assert_eq!(q["state"], "xyz");
}

#[rstest]
#[case::strict_missing_verifier("strict", None, 400, Some("invalid_request"))]
#[case::strict_wrong_verifier(
    "strict",
    Some("wrong-verifier-wrong-verifier-wrong-verifier-1"),
    400,
    Some("invalid_grant")
)]
#[case::strict_short_verifier("strict", Some("short"), 400, Some("invalid_grant"))]
#[case::strict_right(
    "strict",
    Some("dBjftJeZ4CVP-mJ0fbUsmeCTEF2s7h4iRCErcP7ekNY"),
    200,
    None
)]
#[case::off_ignores_verifier("off", None, 200, None)]
#[tokio::test]
async fn the_token_endpoint_checks_the_verifier(
    #[case] mode: &str,
    #[case] verifier: Option<&str>,
    #[case] status: u16,
    #[case] error: Option<&str>,
) {
    let server = server(&format!("[pkce]\nmode = \"{mode}\"\n")).await;
    let (_, challenge) = pkce_pair();
    let (_, q, _) = authorize(&server, &base(&challenge)).await;
    let (got, body) = exchange(&server, &q["code"], verifier, REDIRECT).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"].as_str(), error);
}

#[tokio::test]
async fn codes_are_single_use_and_a_replay_revokes_what_they_issued() {
    let server = MockServer::start().await;
    let (verifier, challenge) = pkce_pair();
    let (_, q, _) = authorize(&server, &base(&challenge)).await;
    let (status, tokens) = exchange(&server, &q["code"], Some(&verifier), REDIRECT).await;
    assert_eq!(status, 200);
    let (status, body) = exchange(&server, &q["code"], Some(&verifier), REDIRECT).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
    let (status, _) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", s(&tokens, "refresh_token")),
        ],
    )
    .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn codes_expire_on_the_server_clock() {
    let server = server("[tokens]\ncode_ttl = 30\n").await;
    let (verifier, challenge) = pkce_pair();
    let (_, q, _) = authorize(&server, &base(&challenge)).await;
    server.advance_clock(Duration::from_secs(31));
    let (status, body) = exchange(&server, &q["code"], Some(&verifier), REDIRECT).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
}

#[tokio::test]
async fn the_redirect_uri_must_be_repeated_exactly() {
    let server = MockServer::start().await;
    let (verifier, challenge) = pkce_pair();
    let (_, q, _) = authorize(&server, &base(&challenge)).await;
    let (status, body) = exchange(
        &server,
        &q["code"],
        Some(&verifier),
        "http://127.0.0.1:1/callback",
    )
    .await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
}

#[rstest]
#[case::deny("action = \"deny\"", "access_denied")]
#[case::error(
    "action = \"error\"\nerror = \"temporarily_unavailable\"",
    "temporarily_unavailable"
)]
#[tokio::test]
async fn consent_is_scripted(#[case] consent: &str, #[case] error: &str) {
    let server = server(&format!("[consent]\n{consent}\n")).await;
    let (_, challenge) = pkce_pair();
    let (status, q, _) = authorize(&server, &base(&challenge)).await;
    assert_eq!(status, 302);
    assert_eq!(q["error"], error);
    assert_eq!(q["state"], "xyz");
}

#[rstest]
#[case::unknown_client(&[("client_id", "nope")], 400)]
#[case::missing_client(&[("client_id", "")], 400)]
#[tokio::test]
async fn client_errors_are_not_redirected(#[case] over: &[(&str, &str)], #[case] status: u16) {
    let server = MockServer::start().await;
    let (_, challenge) = pkce_pair();
    let mut params = base(&challenge);
    for (k, v) in over {
        params.retain(|(pk, _)| pk != k);
        if !v.is_empty() {
            params.push((k, v));
        }
    }
    let (got, q, body) = authorize(&server, &params).await;
    assert_eq!(got, status);
    assert!(q.is_empty());
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn unsupported_response_type_is_redirected_with_state() {
    let server = MockServer::start().await;
    let (_, challenge) = pkce_pair();
    let mut params = base(&challenge);
    params[0] = ("response_type", "token");
    let (status, q, _) = authorize(&server, &params).await;
    assert_eq!(status, 302);
    assert_eq!(q["error"], "unsupported_response_type");
}

#[tokio::test]
async fn login_hint_picks_another_configured_user() {
    let server = MockServer::start().await;
    let (verifier, challenge) = pkce_pair();
    let mut params = base(&challenge);
    params.push(("login_hint", "bob"));
    let (_, q, _) = authorize(&server, &params).await;
    let (_, tokens) = exchange(&server, &q["code"], Some(&verifier), REDIRECT).await;
    let (_, _, me) =
        crate::support::get(&server, "/api/v1/me", Some(s(&tokens, "access_token"))).await;
    assert_eq!(me["username"], "bob");
}

#[tokio::test]
async fn a_client_without_the_code_grant_is_refused_by_redirect() {
    let server = server(
        "[[clients]]\nclient_id = \"cliauth\"\nredirect_uris = [\"http://127.0.0.1/callback\"]\ngrants = [\"password\"]\n",
    )
    .await;
    let (_, challenge) = pkce_pair();
    let (status, q, _) = authorize(&server, &base(&challenge)).await;
    assert_eq!(status, 302);
    assert_eq!(q["error"], "unauthorized_client");
}

#[tokio::test]
async fn a_missing_response_type_is_redirected_as_invalid_request() {
    let server = MockServer::start().await;
    let (_, challenge) = pkce_pair();
    let params: Vec<_> = base(&challenge)
        .into_iter()
        .filter(|(k, _)| *k != "response_type")
        .collect();
    let (status, q, _) = authorize(&server, &params).await;
    assert_eq!(status, 302);
    assert_eq!(q["error"], "invalid_request");
}

#[tokio::test]
async fn a_code_is_bound_to_its_client() {
    let server = server(
        "[[clients]]\nclient_id = \"cliauth\"\nredirect_uris = [\"http://127.0.0.1/callback\"]\n\
[[clients]]\nclient_id = \"other\"\nredirect_uris = [\"http://127.0.0.1/callback\"]\n",
    )
    .await;
    let (verifier, challenge) = pkce_pair();
    let (_, q, _) = authorize(&server, &base(&challenge)).await;
    let (status, body) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("client_id", "other"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
}
