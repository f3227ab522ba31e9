//! The admin API under `/__admin/`.

use base64::Engine as _;
use cliauth_mock::MockServer;
use serde_json::{Value, json};

use crate::support::{get, http, password_login, post_form, refresh, s};

async fn admin(
    server: &MockServer,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http().request(method, format!("{}{path}", server.admin_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn health_answers_ok_and_admin_calls_stay_out_of_the_journal() {
    let server = MockServer::start().await;
    let (status, body) = admin(&server, reqwest::Method::GET, "/health", None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    assert_eq!(body["url"], server.url());
    assert!(server.journal().is_empty());
}

#[tokio::test]
async fn rules_are_added_and_cleared_over_http() {
    let server = MockServer::start().await;
    let rule = json!({"name": "m", "match": {"path": "/api/v1/meta"}, "action": {"kind": "catalog", "name": "rate_limited"}});
    assert_eq!(
        admin(&server, reqwest::Method::POST, "/rules", Some(rule))
            .await
            .0,
        200
    );
    assert_eq!(get(&server, "/api/v1/meta", None).await.0, 429);
    assert_eq!(
        admin(&server, reqwest::Method::DELETE, "/rules", None)
            .await
            .0,
        200
    );
    assert_eq!(get(&server, "/api/v1/meta", None).await.0, 200);
    let bad = json!({"name": "m", "action": {"kind": "explode"}});
    let (status, body) = admin(&server, reqwest::Method::POST, "/rules", Some(bad)).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_rule"));
}

#[tokio::test]
async fn config_is_replaced_from_toml_and_bad_config_is_refused() {
    let server = MockServer::start().await;
    let resp = http()
        .put(format!("{}/config", server.admin_url()))
        .body("zero_auth = true\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        get(&server, "/api/v1/meta", None).await.2["auth_required"],
        false
    );
    let resp = http()
        .put(format!("{}/config", server.admin_url()))
        .body("zero_auth = 3\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        s(&body, "error_description").contains("<config>:1:"),
        "{body}"
    );
}

#[tokio::test]
async fn device_codes_are_approved_and_denied_over_http() {
    let server = MockServer::start().await;
    let (_, d) = post_form(
        &server,
        "/oauth/device_authorization",
        &[("client_id", "cliauth")],
    )
    .await;
    let (status, body) = admin(
        &server,
        reqwest::Method::POST,
        "/device/approve",
        Some(json!({"user_code": s(&d, "user_code"), "username": "bob"})),
    )
    .await;
    assert_eq!(
        (status, body["user_code"].as_str()),
        (200, Some(s(&d, "user_code")))
    );
    let (status, tokens) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", s(&d, "device_code")),
            ("client_id", "cliauth"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&server, "/api/v1/me", Some(s(&tokens, "access_token")))
            .await
            .2["username"],
        "bob"
    );
    assert_eq!(
        admin(
            &server,
            reqwest::Method::POST,
            "/device/deny",
            Some(json!({}))
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn tokens_are_revoked_and_expired_over_http() {
    let server = MockServer::start().await;
    let alice = password_login(&server, "alice").await;
    let bob = password_login(&server, "bob").await;
    let (_, body) = admin(
        &server,
        reqwest::Method::POST,
        "/tokens/revoke",
        Some(json!({"username": "alice"})),
    )
    .await;
    assert_eq!(body["families_revoked"], 1);
    assert_eq!(refresh(&server, s(&alice, "refresh_token")).await.0, 400);
    assert_eq!(
        get(&server, "/api/v1/me", Some(s(&bob, "access_token")))
            .await
            .0,
        200
    );
    let (_, body) = admin(&server, reqwest::Method::POST, "/tokens/expire", None).await;
    assert_eq!(body["expired"], 1);
    assert_eq!(
        get(&server, "/api/v1/me", Some(s(&bob, "access_token")))
            .await
            .0,
        401
    );
    assert_eq!(refresh(&server, s(&bob, "refresh_token")).await.0, 200);
}

/// A scenario that hands a CLI a token through a flag, the environment, stdin or a file needs
/// a real issued secret: one the API accepts and the invariants know.
#[tokio::test]
async fn a_minted_token_works_at_the_api_and_counts_as_issued() {
    let server = MockServer::start().await;
    let token = server.mint_token("alice").unwrap();
    let (status, _, me) = get(&server, "/api/v1/me", Some(&token)).await;
    assert_eq!(
        (status, me["username"].as_str()),
        (200, Some("alice")),
        "{me}"
    );
    assert!(server.issued_secrets().contains(&token));
    // The journal keeps a fingerprint, and answers whether a request carried a given token.
    let call = server.journal().pop().unwrap();
    assert!(call.bearer_is(&token));
    assert!(!call.bearer_is("some-other-token"));
    let (status, body) = admin(
        &server,
        reqwest::Method::POST,
        "/tokens/mint",
        Some(json!({"username": "bob"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let over_http = s(&body, "access_token");
    assert_eq!(get(&server, "/api/v1/me", Some(over_http)).await.0, 200);
    let err = server.mint_token("mallory").unwrap_err().to_string();
    assert!(
        err.contains("\"mallory\"") && err.contains("[[users]]"),
        "{err}"
    );
    let (status, body) = admin(
        &server,
        reqwest::Method::POST,
        "/tokens/mint",
        Some(json!({"username": "mallory"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_clock_advances_over_http() {
    let server = MockServer::start().await;
    let (status, body) = admin(
        &server,
        reqwest::Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 7200})),
    )
    .await;
    assert_eq!((status, body["offset_ms"].as_u64()), (200, Some(7_200_000)));
    assert_eq!(
        admin(
            &server,
            reqwest::Method::POST,
            "/clock/advance",
            Some(json!({}))
        )
        .await
        .0,
        400
    );
}

#[tokio::test]
async fn a_clock_step_out_of_range_is_a_400_naming_the_field_and_moves_nothing() {
    let server = MockServer::start().await;
    for (field, value) in [
        ("seconds", json!(u64::MAX)),
        ("seconds", json!(u64::MAX / 1000 + 1)),
        ("ms", json!(u64::MAX)),
        ("seconds", json!(cliauth_mock::MAX_SECONDS + 1)),
    ] {
        let (status, body) = admin(
            &server,
            reqwest::Method::POST,
            "/clock/advance",
            Some(json!({ field: value })),
        )
        .await;
        assert_eq!(status, 400, "{field}={value}: {body}");
        let text = body["error_description"].as_str().unwrap_or_default();
        assert!(text.contains(field) && text.contains("at most"), "{text}");
    }
    // Steps that fit one by one but not together: the second is refused, the first stays.
    let step = json!({"seconds": cliauth_mock::MAX_SECONDS / 2 + 1});
    let (status, body) = admin(
        &server,
        reqwest::Method::POST,
        "/clock/advance",
        Some(step.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let offset = body["offset_ms"].as_u64();
    let (status, _) = admin(&server, reqwest::Method::POST, "/clock/advance", Some(step)).await;
    assert_eq!(status, 400);
    let (_, health) = admin(&server, reqwest::Method::GET, "/health", None).await;
    assert_eq!(health["clock_offset_ms"].as_u64(), offset);
}

#[tokio::test]
async fn a_config_with_a_lifetime_out_of_range_is_a_400_naming_the_field() {
    let server = MockServer::start().await;
    let resp = http()
        .put(format!("{}/config", server.admin_url()))
        .header("content-type", "application/toml")
        .body("[tokens]\naccess_ttl = 9223372036854775807\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let text = resp.text().await.unwrap();
    assert!(text.contains("tokens.access_ttl"), "{text}");
}

#[tokio::test]
async fn tokens_never_expire_before_they_are_issued_at_the_largest_lifetimes() {
    let config = cliauth_mock::Config::from_toml_str(&format!(
        "[tokens]\naccess_ttl = {max}\nrefresh_ttl = {max}\n",
        max = cliauth_mock::MAX_SECONDS
    ))
    .unwrap();
    let server = MockServer::builder().config(config).start().await.unwrap();
    server.advance_clock(std::time::Duration::from_secs(cliauth_mock::MAX_SECONDS));
    let pair = password_login(&server, "alice").await;
    let access = s(&pair, "access_token");
    let payload = access.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    let (iat, exp) = (
        claims["iat"].as_u64().unwrap(),
        claims["exp"].as_u64().unwrap(),
    );
    assert!(exp > iat, "iat {iat} exp {exp}");
    assert_eq!(exp - iat, cliauth_mock::MAX_SECONDS);
    assert_eq!(refresh(&server, s(&pair, "refresh_token")).await.0, 200);
}

#[tokio::test]
async fn a_full_journal_drops_the_oldest_and_pages_by_sequence_number() {
    let server = MockServer::builder()
        .journal_capacity(3)
        .start()
        .await
        .unwrap();
    for _ in 0..5 {
        get(&server, "/api/v1/meta", None).await;
    }
    assert_eq!(server.journal().len(), 3);
    assert_eq!(server.journal_dropped(), 2);
    let (status, page) = admin(
        &server,
        reqwest::Method::GET,
        "/journal?since=3&limit=1",
        None,
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let seqs: Vec<u64> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [4]);
    assert_eq!(
        (page["dropped"].as_u64(), page["next_seq"].as_u64()),
        (Some(2), Some(6))
    );
    assert_eq!(
        page["counters"]["GET /api/v1/meta 200"], 5,
        "counters count dropped entries too"
    );
    let (_, all) = admin(&server, reqwest::Method::GET, "/journal", None).await;
    assert_eq!(all["entries"].as_array().unwrap().len(), 3);
    let (status, bad) = admin(&server, reqwest::Method::GET, "/journal?since=-1", None).await;
    assert_eq!(status, 400);
    assert!(
        bad["error_description"].as_str().unwrap().contains("since"),
        "{bad}"
    );
    admin(&server, reqwest::Method::POST, "/reset", None).await;
    let (_, after) = admin(&server, reqwest::Method::GET, "/journal", None).await;
    assert_eq!(
        (after["dropped"].as_u64(), after["next_seq"].as_u64()),
        (Some(0), Some(1))
    );
}

#[tokio::test]
async fn journal_counters_lineage_and_secrets_are_served_and_redacted() {
    let server = MockServer::start().await;
    let pair = password_login(&server, "alice").await;
    refresh(&server, s(&pair, "refresh_token")).await;
    get(&server, "/api/v1/me", Some(s(&pair, "access_token"))).await;
    let (_, journal) = admin(&server, reqwest::Method::GET, "/journal", None).await;
    assert_eq!(
        journal["counters"]["POST /oauth/token refresh_token 200"],
        1
    );
    assert_eq!(journal["entries"].as_array().unwrap().len(), 3);
    assert!(journal["lineage"].as_array().unwrap().len() >= 3);
    let (_, secrets) = admin(&server, reqwest::Method::GET, "/secrets", None).await;
    let secrets: Vec<String> = serde_json::from_value(secrets["secrets"].clone()).unwrap();
    assert_eq!(secrets.len(), 4);
    let text = journal.to_string();
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "journal leaks a secret");
    }
}

#[tokio::test]
async fn reset_forgets_tokens_and_journal() {
    let server = MockServer::start().await;
    let pair = password_login(&server, "alice").await;
    assert_eq!(
        admin(&server, reqwest::Method::POST, "/reset", None)
            .await
            .0,
        200
    );
    assert!(server.journal().is_empty());
    assert!(server.issued_secrets().is_empty());
    assert_eq!(
        get(&server, "/api/v1/me", Some(s(&pair, "access_token")))
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn a_hold_is_released_over_http() {
    let server = MockServer::start().await;
    let rule = json!({"name": "gate", "match": {"path": "/api/v1/meta"}, "action": {"kind": "hold", "count": 50}});
    admin(&server, reqwest::Method::POST, "/rules", Some(rule)).await;
    let pending = tokio::spawn({
        let url = server.url();
        async move {
            http()
                .get(format!("{url}/api/v1/meta"))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.held("gate") == 0 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    let (_, body) = admin(&server, reqwest::Method::POST, "/holds/gate/release", None).await;
    assert_eq!(body["released"], 1);
    assert_eq!(pending.await.unwrap(), 200);
}
