//! The token endpoint: password and refresh grants, rotation policies, revocation,
//! introspection and registration.

use std::time::Duration;

use cliauth_mock::MockServer;
use rstest::rstest;
use serde_json::json;

use crate::support::{get, http, password_login, post_form, refresh, s, server};

#[rstest]
#[case::missing_grant_type(&[("client_id", "cliauth")], 400, "invalid_request")]
#[case::unknown_grant(&[("grant_type", "urn:example:unknown"), ("client_id", "cliauth")], 400, "unsupported_grant_type")]
#[case::client_credentials_for_a_public_client(&[("grant_type", "client_credentials"), ("client_id", "cliauth")], 400, "unauthorized_client")]
#[case::unknown_client(&[("grant_type", "password"), ("client_id", "nope"), ("username", "alice"), ("password", "alice-password")], 401, "invalid_client")]
#[case::wrong_password(&[("grant_type", "password"), ("client_id", "cliauth"), ("username", "alice"), ("password", "x")], 400, "invalid_grant")]
#[case::unknown_user(&[("grant_type", "password"), ("client_id", "cliauth"), ("username", "eve"), ("password", "x")], 400, "invalid_grant")]
#[case::missing_password(&[("grant_type", "password"), ("client_id", "cliauth"), ("username", "alice")], 400, "invalid_request")]
#[case::missing_refresh_token(&[("grant_type", "refresh_token"), ("client_id", "cliauth")], 400, "invalid_request")]
#[case::unknown_refresh_token(&[("grant_type", "refresh_token"), ("refresh_token", "mrt_nope")], 400, "invalid_grant")]
#[case::missing_code(&[("grant_type", "authorization_code"), ("client_id", "cliauth")], 400, "invalid_request")]
#[case::unknown_code(&[("grant_type", "authorization_code"), ("client_id", "cliauth"), ("code", "x")], 400, "invalid_grant")]
#[case::code_without_client(&[("grant_type", "authorization_code"), ("code", "x")], 400, "invalid_request")]
#[case::missing_device_code(&[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("client_id", "cliauth")], 400, "invalid_request")]
#[case::unknown_device_code(&[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("client_id", "cliauth"), ("device_code", "x")], 400, "invalid_grant")]
#[tokio::test]
async fn token_endpoint_errors_follow_rfc6749(
    #[case] form: &[(&str, &str)],
    #[case] status: u16,
    #[case] error: &str,
) {
    let server = MockServer::start().await;
    let (got, body) = post_form(&server, "/oauth/token", form).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"], error);
    assert!(body["error_description"].is_string());
}

#[tokio::test]
async fn password_grant_answers_a_bearer_pair_with_no_store() {
    let server = MockServer::start().await;
    let resp = http()
        .post(format!("{}/oauth/token", server.url()))
        .form(&[
            ("grant_type", "password"),
            ("username", "bob"),
            ("password", "bob-password"),
            ("client_id", "cliauth"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let secrets = server.issued_secrets();
    assert!(secrets.contains(&s(&body, "access_token").to_owned()));
    assert!(secrets.contains(&s(&body, "refresh_token").to_owned()));
}

#[tokio::test]
async fn strict_rotation_makes_refresh_tokens_single_use_and_reuse_revokes_the_family() {
    let server = MockServer::start().await;
    let first = password_login(&server, "alice").await;
    let rt1 = s(&first, "refresh_token");
    let (status, second) = refresh(&server, rt1).await;
    assert_eq!(status, 200);
    let rt2 = s(&second, "refresh_token");
    assert_ne!(rt1, rt2);
    let (status, body) = refresh(&server, rt1).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
    // The whole family is gone: the successor and its access token too.
    let (status, _) = refresh(&server, rt2).await;
    assert_eq!(status, 400);
    let (status, headers, _) = get(&server, "/api/v1/me", Some(s(&second, "access_token"))).await;
    assert_eq!(status, 401);
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let outcomes: Vec<_> = server
        .journal()
        .iter()
        .filter_map(|e| e.outcome.clone())
        .collect();
    assert!(
        outcomes.contains(&"rotated".to_owned()) && outcomes.contains(&"reuse_detected".to_owned())
    );
    let lineage = server.lineage();
    assert!(
        lineage
            .iter()
            .any(|l| l.event == "revoked" && l.reason.as_deref() == Some("reuse_detected"))
    );
    assert!(
        lineage
            .iter()
            .any(|l| l.event == "issued" && l.parent.is_some())
    );
}

#[tokio::test]
async fn strict_consume_is_atomic_under_concurrent_refreshes() {
    let server = MockServer::start().await;
    let rt = s(&password_login(&server, "alice").await, "refresh_token").to_owned();
    let attempts = (0..16).map(|_| refresh(&server, &rt));
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    // The one success's successor was revoked by the reuses that followed it, so nothing
    // minted from the contested token survives.
    let winner = results.iter().find(|(st, _)| *st == 200).unwrap();
    assert_eq!(refresh(&server, s(&winner.1, "refresh_token")).await.0, 400);
}

#[tokio::test]
async fn grace_rotation_returns_the_same_successor_within_the_window() {
    let server = server("[rotation]\npolicy = \"grace\"\ngrace_seconds = 10\n").await;
    let rt1 = s(&password_login(&server, "alice").await, "refresh_token").to_owned();
    let (_, a) = refresh(&server, &rt1).await;
    let (status, b) = refresh(&server, &rt1).await;
    assert_eq!(status, 200);
    assert_eq!(a["refresh_token"], b["refresh_token"]);
    server.advance_clock(Duration::from_secs(11));
    let (status, body) = refresh(&server, &rt1).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
}

#[tokio::test]
async fn grace_uses_bounds_how_often_a_rotated_token_may_be_replayed() {
    let server = server("[rotation]\npolicy = \"grace\"\ngrace_uses = 1\n").await;
    let rt1 = s(&password_login(&server, "alice").await, "refresh_token").to_owned();
    assert_eq!(refresh(&server, &rt1).await.0, 200);
    assert_eq!(refresh(&server, &rt1).await.0, 200);
    assert_eq!(refresh(&server, &rt1).await.0, 400);
}

#[tokio::test]
async fn benign_replay_answers_409_with_retry_after_and_keeps_the_family() {
    let server = server("[rotation]\npolicy = \"benign_replay\"\nretry_after = 3\n").await;
    let rt1 = s(&password_login(&server, "alice").await, "refresh_token").to_owned();
    let (_, second) = refresh(&server, &rt1).await;
    let (status, body) = refresh(&server, &rt1).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "refresh_replay_benign_retry");
    assert_eq!(body["retry_after"], 3);
    assert_eq!(refresh(&server, s(&second, "refresh_token")).await.0, 200);
    assert!(
        server
            .journal()
            .iter()
            .any(|e| e.outcome.as_deref() == Some("benign_replay"))
    );
}

#[tokio::test]
async fn no_rotation_keeps_the_refresh_token() {
    let server = server("[rotation]\npolicy = \"none\"\n").await;
    let rt = s(&password_login(&server, "alice").await, "refresh_token").to_owned();
    for _ in 0..3 {
        let (status, body) = refresh(&server, &rt).await;
        assert_eq!(status, 200);
        assert_eq!(s(&body, "refresh_token"), rt);
    }
}

#[rstest]
#[case::access(0, 3600, true)]
#[case::refresh(3600, 0, false)]
#[tokio::test]
async fn zero_lifetimes_are_born_expired(
    #[case] access_ttl: u64,
    #[case] refresh_ttl: u64,
    #[case] access_dead: bool,
) {
    let server = server(&format!(
        "[tokens]\naccess_ttl = {access_ttl}\nrefresh_ttl = {refresh_ttl}\n"
    ))
    .await;
    let pair = password_login(&server, "alice").await;
    let me = get(&server, "/api/v1/me", Some(s(&pair, "access_token")))
        .await
        .0;
    let refreshed = refresh(&server, s(&pair, "refresh_token")).await.0;
    if access_dead {
        assert_eq!((me, refreshed), (401, 200));
    } else {
        assert_eq!((me, refreshed), (200, 400));
    }
}

#[tokio::test]
async fn advancing_the_clock_expires_access_tokens() {
    let server = server("[tokens]\naccess_ttl = 60\n").await;
    let at = s(&password_login(&server, "alice").await, "access_token").to_owned();
    assert_eq!(get(&server, "/api/v1/me", Some(&at)).await.0, 200);
    server.advance_clock(Duration::from_secs(61));
    assert_eq!(get(&server, "/api/v1/me", Some(&at)).await.0, 401);
}

#[tokio::test]
async fn revocation_of_a_refresh_token_revokes_its_family_and_unknown_tokens_get_200() {
    let server = MockServer::start().await;
    let pair = password_login(&server, "alice").await;
    let (status, _) = post_form(
        &server,
        "/oauth/revoke",
        &[
            ("token", s(&pair, "refresh_token")),
            ("client_id", "cliauth"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&server, "/api/v1/me", Some(s(&pair, "access_token")))
            .await
            .0,
        401
    );
    assert_eq!(refresh(&server, s(&pair, "refresh_token")).await.0, 400);
    assert_eq!(
        post_form(&server, "/oauth/revoke", &[("token", "whatever")])
            .await
            .0,
        200
    );
    let (status, body) = post_form(&server, "/oauth/revoke", &[("client_id", "cliauth")]).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_request"));
    let (status, body) = post_form(
        &server,
        "/oauth/revoke",
        &[("token", "x"), ("token_type_hint", "id_token")],
    )
    .await;
    assert_eq!((status, s(&body, "error")), (400, "unsupported_token_type"));
}

#[tokio::test]
async fn introspection_reports_active_and_inactive_tokens() {
    let server = MockServer::start().await;
    let pair = password_login(&server, "alice").await;
    let (status, body) = post_form(
        &server,
        "/oauth/introspect",
        &[("token", s(&pair, "access_token"))],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["active"], true);
    assert_eq!(body["username"], "alice");
    let (_, body) = post_form(
        &server,
        "/oauth/introspect",
        &[("token", s(&pair, "refresh_token"))],
    )
    .await;
    assert_eq!(body["active"], true);
    let (_, body) = post_form(&server, "/oauth/introspect", &[("token", "nope")]).await;
    assert_eq!(body, json!({"active": false}));
    let (status, body) = post_form(&server, "/oauth/introspect", &[("nope", "x")]).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_request"));
}

#[rstest]
#[case::public_client(json!({"redirect_uris": ["http://127.0.0.1/cb"], "client_name": "t"}), 201, None)]
#[case::confidential(json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "client_secret_basic"}), 201, None)]
#[case::bad_uri(json!({"redirect_uris": ["not a url"]}), 400, Some("invalid_redirect_uri"))]
#[case::code_without_uris(json!({"grant_types": ["authorization_code"]}), 400, Some("invalid_redirect_uri"))]
#[case::bad_grant(json!({"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["implicit"]}), 400, Some("invalid_client_metadata"))]
#[case::not_an_object(json!([1, 2]), 400, Some("invalid_client_metadata"))]
#[case::bad_auth_method(json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "private_key_jwt"}), 400, Some("invalid_client_metadata"))]
#[tokio::test]
async fn registration_follows_rfc7591(
    #[case] body: serde_json::Value,
    #[case] status: u16,
    #[case] error: Option<&str>,
) {
    let server = MockServer::start().await;
    let resp = http()
        .post(format!("{}/oauth/register", server.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), status);
    let got: serde_json::Value = resp.json().await.unwrap();
    if let Some(e) = error {
        assert_eq!(got["error"], e);
    } else {
        assert!(got["client_id"].is_string());
        let confidential = body.get("token_endpoint_auth_method").is_some();
        assert_eq!(got.get("client_secret").is_some(), confidential);
        if confidential {
            assert!(
                server
                    .issued_secrets()
                    .contains(&s(&got, "client_secret").to_owned())
            );
        }
    }
}

#[tokio::test]
async fn a_registered_confidential_client_must_authenticate() {
    let server = MockServer::start().await;
    let reg: serde_json::Value = http()
        .post(format!("{}/oauth/register", server.url()))
        .json(&json!({"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": ["password"], "token_endpoint_auth_method": "client_secret_basic"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (s(&reg, "client_id"), s(&reg, "client_secret"));
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice-password"),
    ];
    let url = format!("{}/oauth/token", server.url());
    let bad = http()
        .post(&url)
        .basic_auth(id, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    assert!(bad.headers().contains_key("www-authenticate"));
    let good = http()
        .post(&url)
        .basic_auth(id, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 200);
}

#[tokio::test]
async fn registration_can_be_scripted_to_fail() {
    let server = server("[registration]\nfail = true\n").await;
    let resp = http()
        .post(format!("{}/oauth/register", server.url()))
        .json(&json!({"redirect_uris": ["http://127.0.0.1/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_client_metadata"
    );
}

#[tokio::test]
async fn a_client_without_the_grant_is_unauthorized() {
    let server = server(
        "[[clients]]\nclient_id = \"limited\"\nredirect_uris = [\"http://127.0.0.1/callback\"]\ngrants = [\"authorization_code\"]\n",
    )
    .await;
    let (status, body) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "password"),
            ("client_id", "limited"),
            ("username", "alice"),
            ("password", "alice-password"),
        ],
    )
    .await;
    assert_eq!((status, s(&body, "error")), (400, "unauthorized_client"));
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_client() {
    let server =
        server("[[clients]]\nclient_id = \"cliauth\"\n[[clients]]\nclient_id = \"other\"\n").await;
    let rt = s(&password_login(&server, "alice").await, "refresh_token").to_owned();
    let (status, body) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", "other"),
        ],
    )
    .await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
}

#[tokio::test]
async fn a_refresh_may_narrow_but_not_widen_the_scope() {
    let server = MockServer::start().await;
    let (_, pair) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
            ("scope", "sync profile"),
        ],
    )
    .await;
    let rt = s(&pair, "refresh_token");
    let (status, body) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", "sync admin"),
        ],
    )
    .await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_scope"));
    let (status, body) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("scope", "sync"),
        ],
    )
    .await;
    assert_eq!((status, s(&body, "scope")), (200, "sync"));
}

#[tokio::test]
async fn introspection_of_a_revoked_token_is_inactive() {
    let server = MockServer::start().await;
    let pair = password_login(&server, "alice").await;
    post_form(
        &server,
        "/oauth/revoke",
        &[("token", s(&pair, "access_token"))],
    )
    .await;
    let (_, body) = post_form(
        &server,
        "/oauth/introspect",
        &[("token", s(&pair, "access_token"))],
    )
    .await;
    assert_eq!(body, json!({"active": false}));
    // Revoking only the access token leaves the refresh token usable.
    assert_eq!(refresh(&server, s(&pair, "refresh_token")).await.0, 200);
}

#[tokio::test]
async fn registration_is_404_when_disabled() {
    let server = server("[registration]\nenabled = false\n").await;
    let resp = http()
        .post(format!("{}/oauth/register", server.url()))
        .json(&json!({"redirect_uris": ["http://127.0.0.1/cb"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn the_journal_counts_grants_by_status_without_secrets() {
    let server = MockServer::start().await;
    let pair = password_login(&server, "alice").await;
    refresh(&server, s(&pair, "refresh_token")).await;
    refresh(&server, s(&pair, "refresh_token")).await;
    let journal = server.journal();
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.is_grant("refresh_token", 200))
            .count(),
        1
    );
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.is_grant("refresh_token", 400))
            .count(),
        1
    );
    assert_eq!(
        journal
            .iter()
            .filter(|e| e.is_grant("password", 200))
            .count(),
        1
    );
    let text = serde_json::to_string(&journal).unwrap() + &format!("{:?}", server.lineage());
    for secret in server.issued_secrets() {
        assert!(!text.contains(&secret), "journal or lineage leaks a secret");
    }
}

#[tokio::test]
async fn a_registration_asking_for_an_unadvertised_grant_is_refused_naming_what_is_offered() {
    let server = server(
        "grant_types_supported = [\"authorization_code\", \"refresh_token\", \"urn:ietf:params:oauth:grant-type:device_code\"]\n",
    )
    .await;
    let (_, _, m) =
        crate::support::get(&server, "/.well-known/oauth-authorization-server", None).await;
    assert_eq!(
        m["grant_types_supported"],
        json!([
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ])
    );
    let register = |grants: serde_json::Value| {
        http()
            .post(format!("{}/oauth/register", server.url()))
            .json(&json!({"redirect_uris": ["http://127.0.0.1/cb"], "grant_types": grants}))
            .send()
    };
    let refused = register(json!(["authorization_code", "password"]))
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client_metadata");
    assert!(
        s(&body, "error_description").contains("password")
            && s(&body, "error_description").contains("refresh_token"),
        "{body}"
    );
    let accepted = register(json!(["authorization_code", "refresh_token"]))
        .await
        .unwrap();
    assert_eq!(accepted.status(), 201);
}

#[tokio::test]
async fn registration_auth_method_makes_every_registered_client_confidential() {
    let server = server("[registration]\nauth_method = \"client_secret_post\"\n").await;
    let reg: serde_json::Value = http()
        .post(format!("{}/oauth/register", server.url()))
        .json(&json!({"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_post");
    let secret = s(&reg, "client_secret");
    assert!(server.issued_secrets().contains(&secret.to_owned()));
}

#[tokio::test]
async fn grant_types_supported_names_only_implemented_grants() {
    let err = cliauth_mock::Config::from_toml_str("grant_types_supported = [\"implicit\"]\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("grant_types_supported") && err.contains("implicit"),
        "{err}"
    );
}
