//! The `spec-kitty` dialect: every endpoint and shape of `../shared/SEED-CLIENTS.md` §4.1.

use cliauth_mock::{Action, CatalogName, Config, Dialect, MockServer, Rule, RuleMatch};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{get, http, pkce_pair, post_form, s};

const CLIENT: &str = "cli_native";

async fn server(toml: &str) -> MockServer {
    let config = Config::from_toml_str(&format!("dialect = \"spec-kitty\"\n{toml}")).unwrap();
    MockServer::builder().config(config).start().await.unwrap()
}

/// The browser leg as spec-kitty's `BROWSER` hook does it: returns the `Location` query.
async fn authorize(server: &MockServer, client: &str) -> (u16, url::Url) {
    let (_, challenge) = pkce_pair();
    let resp = http()
        .get(format!("{}/oauth/authorize", server.url()))
        .query(&[
            ("client_id", client),
            ("response_type", "code"),
            ("redirect_uri", "http://127.0.0.1:28888/callback"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "st-123"),
            ("scope", "offline_access"),
        ])
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").map_or_else(
        || "http://invalid/".to_owned(),
        |l| l.to_str().unwrap().to_owned(),
    );
    (status, url::Url::parse(&location).unwrap())
}

fn param(u: &url::Url, key: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// A full browser login; returns the token response.
async fn browser_login(server: &MockServer) -> Value {
    let (status, location) = authorize(server, CLIENT).await;
    assert_eq!(status, 302);
    let code = param(&location, "code").expect("a code");
    let (verifier, _) = pkce_pair();
    let (status, body) = post_form(
        server,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:28888/callback"),
            ("client_id", CLIENT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn refresh(server: &MockServer, token: &str) -> (u16, Value) {
    post_form(
        server,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", CLIENT),
        ],
    )
    .await
}

async fn post_json(server: &MockServer, path: &str, bearer: &str, body: &Value) -> (u16, Value) {
    let resp = http()
        .post(format!("{}{path}", server.url()))
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn browser_login_redirects_with_code_and_state_and_answers_the_session_fields() {
    let server = server("").await;
    assert_eq!(server.dialect(), Dialect::SpecKitty);
    let (_, location) = authorize(&server, CLIENT).await;
    assert_eq!(location.port(), Some(28888));
    assert_eq!(location.path(), "/callback");
    assert_eq!(param(&location, "state").as_deref(), Some("st-123"));
    let body = browser_login(&server).await;
    for field in ["access_token", "refresh_token", "session_id"] {
        assert!(!s(&body, field).is_empty(), "{field} in {body}");
    }
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["refresh_token_expires_in"], 2_592_000);
    let at = s(&body, "refresh_token_expires_at");
    assert!(
        at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T',
        "{at}"
    );
}

#[tokio::test]
async fn the_native_client_replaces_cliauth_and_a_denial_redirects_with_state() {
    let server = server("").await;
    let (status, _) = authorize(&server, "cliauth").await;
    assert_eq!(
        status, 400,
        "cliauth is not a client of the spec-kitty dialect"
    );
    let denying = self::server("[consent]\naction = \"deny\"\n").await;
    let (status, location) = authorize(&denying, CLIENT).await;
    assert_eq!(status, 302);
    assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
    assert!(param(&location, "error_description").is_some());
    assert_eq!(param(&location, "state").as_deref(), Some("st-123"));
}

#[tokio::test]
async fn device_flow_lives_at_oauth_device_and_answers_only_200_or_400() {
    let server =
        server("[device]\ninterval = 0\nscript = [\"pending\", \"slow_down\", \"approved\"]\n")
            .await;
    let (status, start) = post_form(
        &server,
        "/oauth/device",
        &[("client_id", CLIENT), ("scope", "offline_access")],
    )
    .await;
    assert_eq!(status, 200, "{start}");
    let uri = s(&start, "verification_uri");
    assert_eq!(uri, format!("{}/device", server.url()));
    assert_eq!(
        s(&start, "verification_uri_complete"),
        format!("{uri}?user_code={}", s(&start, "user_code"))
    );
    assert_eq!(start["interval"], 0);
    assert_eq!(start["expires_in"], 600);
    let device_code = s(&start, "device_code").to_owned();
    let poll = || {
        let device_code = device_code.clone();
        let server = &server;
        async move {
            post_form(
                server,
                "/oauth/token",
                &[
                    ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                    ("device_code", &device_code),
                    ("client_id", CLIENT),
                ],
            )
            .await
        }
    };
    let (status, body) = poll().await;
    assert_eq!((status, s(&body, "error")), (400, "authorization_pending"));
    let (status, body) = poll().await;
    assert_eq!((status, s(&body, "error")), (400, "slow_down"));
    let (status, body) = poll().await;
    assert_eq!(status, 200, "{body}");
    assert!(!s(&body, "session_id").is_empty());
    let journal = server.journal();
    assert_eq!(journal[0].path, "/oauth/device");
    assert_eq!(
        journal[0].canonical_path.as_deref(),
        Some("/oauth/device_authorization")
    );
    let (status, _) = post_form(
        &server,
        "/oauth/device_authorization",
        &[("client_id", CLIENT)],
    )
    .await;
    assert_eq!(status, 404, "cliauth's path is not served in the dialect");
}

#[tokio::test]
async fn device_denial_and_expiry_are_400_json() {
    for (step, error) in [("denied", "access_denied"), ("expired", "expired_token")] {
        let server = server(&format!("[device]\ninterval = 0\nscript = [\"{step}\"]\n")).await;
        let (_, start) = post_form(&server, "/oauth/device", &[("client_id", CLIENT)]).await;
        let (status, body) = post_form(
            &server,
            "/oauth/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", s(&start, "device_code")),
                ("client_id", CLIENT),
            ],
        )
        .await;
        assert_eq!((status, s(&body, "error")), (400, error));
    }
}

#[tokio::test]
async fn refresh_rotates_within_the_same_session() {
    let server = server("").await;
    let login = browser_login(&server).await;
    let (status, next) = refresh(&server, s(&login, "refresh_token")).await;
    assert_eq!(status, 200, "{next}");
    assert_ne!(s(&next, "refresh_token"), s(&login, "refresh_token"));
    assert_eq!(s(&next, "session_id"), s(&login, "session_id"));
    let (status, body) = refresh(&server, s(&login, "refresh_token")).await;
    assert_eq!(
        (status, s(&body, "error")),
        (400, "invalid_grant"),
        "strict by default"
    );
}

#[tokio::test]
async fn a_just_rotated_token_is_a_benign_409_within_the_window_then_invalid_grant() {
    let server =
        server("[rotation]\npolicy = \"benign_replay\"\ngrace_seconds = 10\nretry_after = 1\n")
            .await;
    let login = browser_login(&server).await;
    let old = s(&login, "refresh_token");
    assert_eq!(refresh(&server, old).await.0, 200);
    let (status, body) = refresh(&server, old).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "refresh_replay_benign_retry");
    assert_eq!(body["retry_after"], 1);
    server.advance_clock(std::time::Duration::from_secs(11));
    let (status, body) = refresh(&server, old).await;
    assert_eq!((status, s(&body, "error")), (400, "invalid_grant"));
    let outcomes: Vec<_> = server
        .journal()
        .iter()
        .filter_map(|e| e.outcome.clone())
        .collect();
    assert!(
        outcomes.contains(&"benign_replay".to_owned()),
        "{outcomes:?}"
    );
    assert!(
        outcomes.contains(&"reuse_detected".to_owned()),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn me_lists_the_user_with_non_empty_teams_and_the_session() {
    let server = server("").await;
    let login = browser_login(&server).await;
    let (status, _, me) = get(&server, "/api/v1/me", Some(s(&login, "access_token"))).await;
    assert_eq!(status, 200, "{me}");
    assert!(!s(&me, "user_id").is_empty());
    assert_eq!(me["email"], "alice@example.test");
    assert_eq!(me["name"], "Alice Example");
    let teams = me["teams"].as_array().unwrap();
    assert!(
        teams.iter().any(|t| t["is_private_teamspace"] == true),
        "{me}"
    );
    assert!(
        teams
            .iter()
            .all(|t| t["id"].is_string() && t["slug"].is_string() && t["role"].is_string())
    );
    assert_eq!(me["session_id"], login["session_id"]);
    assert_eq!(me["auth_flow"], "authorization_code");
    for field in [
        "authenticated_at",
        "access_token_expires_at",
        "refresh_token_expires_at",
    ] {
        assert!(s(&me, field).ends_with('Z'), "{field}");
    }
    let (status, _, _) = get(&server, "/api/v1/me", Some("nope")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn revoke_confirms_with_revoked_true_and_ends_the_session() {
    let server = server("").await;
    let login = browser_login(&server).await;
    let (status, body) = post_form(
        &server,
        "/oauth/revoke",
        &[
            ("token", s(&login, "refresh_token")),
            ("token_type_hint", "refresh_token"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({ "revoked": true }));
    let (status, _, _) = get(&server, "/api/v1/me", Some(s(&login, "access_token"))).await;
    assert_eq!(status, 401);
    assert_eq!(refresh(&server, s(&login, "refresh_token")).await.0, 400);
}

#[tokio::test]
async fn session_status_and_sync_health_need_a_valid_bearer() {
    let server = server("").await;
    let login = browser_login(&server).await;
    let token = s(&login, "access_token");
    let (status, _, body) = get(&server, "/api/v1/session-status", Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(body["session_id"], login["session_id"]);
    assert_eq!(body["active"], true);
    assert_eq!(
        get(&server, "/api/v1/session-status", Some("bad")).await.0,
        401
    );
    assert_eq!(
        get(&server, "/api/v1/sync/health/", Some(token)).await.0,
        200
    );
    assert_eq!(get(&server, "/api/v1/sync/health/", None).await.0, 401);
    server.advance_clock(std::time::Duration::from_secs(3601));
    assert_eq!(
        get(&server, "/api/v1/session-status", Some(token)).await.0,
        401,
        "the clock expires access tokens in the dialect too"
    );
}

#[tokio::test]
async fn events_batch_answers_results_rejects_empty_lists_and_needs_a_private_teamspace() {
    let server = server("[consent]\nuser = \"bob\"\n").await;
    let bob = browser_login(&server).await;
    let events = serde_json::json!({ "events": [{ "event_id": "e1" }, { "event_id": "e2" }] });
    let (status, body) = post_json(
        &server,
        "/api/v1/events/batch/",
        s(&bob, "access_token"),
        &events,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(body["error_code"], "direct_ingress_missing_private_team");
    assert_eq!(body["category"], "direct_ingress_missing_private_team");
    assert_eq!(
        body["message"],
        "Private Teamspace required for direct ingress"
    );
    let alice_server = self::server("").await;
    let alice = browser_login(&alice_server).await;
    let token = s(&alice, "access_token");
    let (status, body) = post_json(&alice_server, "/api/v1/events/batch/", token, &events).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"][1],
        serde_json::json!({ "event_id": "e2", "status": "success" })
    );
    let empty = serde_json::json!({ "events": [] });
    let (status, body) = post_json(&alice_server, "/api/v1/events/batch/", token, &empty).await;
    assert_eq!((status, s(&body, "error")), (400, "No events provided"));
}

#[tokio::test]
async fn ws_token_is_issued_for_member_teams_only_and_counts_as_a_secret() {
    let server = server("").await;
    let login = browser_login(&server).await;
    let token = s(&login, "access_token");
    let (status, body) = post_json(
        &server,
        "/api/v1/ws-token",
        token,
        &serde_json::json!({ "team_id": "acme" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(s(&body, "ws_url").starts_with("ws://127.0.0.1:"));
    assert!(body["expires_in"].as_u64().unwrap() > 0);
    assert_eq!(body["session_id"], login["session_id"]);
    assert!(
        server
            .issued_secrets()
            .contains(&s(&body, "ws_token").to_owned())
    );
    let (status, body) = post_json(
        &server,
        "/api/v1/ws-token",
        token,
        &serde_json::json!({ "team_id": "other" }),
    )
    .await;
    assert_eq!((status, s(&body, "error")), (403, "not_a_team_member"));
}

#[tokio::test]
async fn rules_written_for_cliauth_paths_match_the_dialect_twins() {
    let server = server("").await;
    let login = browser_login(&server).await;
    server.add_rule(Rule::new(
        "no-private",
        RuleMatch::default().path("/api/v1/ingress"),
        Action::Catalog {
            name: CatalogName::PrivateTeamspaceRequired,
        },
    ));
    let events = serde_json::json!({ "events": [{ "event_id": "e1" }] });
    let (status, body) = post_json(
        &server,
        "/api/v1/events/batch/",
        s(&login, "access_token"),
        &events,
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error_code"], "direct_ingress_missing_private_team",
        "the dialect's shape"
    );
    let last = server.journal().pop().unwrap();
    assert_eq!(last.rule.as_deref(), Some("no-private"));
    assert_eq!(last.canonical_path.as_deref(), Some("/api/v1/ingress"));
}

#[tokio::test]
async fn a_refresh_reset_then_tls_retry_is_survived_and_counted_apart() {
    let server = server("").await;
    let login = browser_login(&server).await;
    server.add_rule(
        Rule::new(
            "reset",
            RuleMatch::default()
                .path("/oauth/token")
                .grant_type("refresh_token"),
            Action::Reset,
        )
        .times(1),
    );
    let sent = http()
        .post(format!("{}/oauth/token", server.url()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", s(&login, "refresh_token")),
            ("client_id", CLIENT),
        ])
        .send()
        .await;
    assert!(sent.is_err(), "the rule resets the connection");
    // What spec-kitty's httpx does next: a TLS ClientHello on the same plain port.
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .unwrap();
    sock.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(sock.read_to_end(&mut buf).await.expect("a clean close"), 0);
    let (status, _) = refresh(&server, s(&login, "refresh_token")).await;
    assert_eq!(status, 200, "the reset did not process the grant");
    let journal = server.journal();
    let tls = journal.iter().filter(|e| e.tls_handshake).count();
    let refreshes = journal
        .iter()
        .filter(|e| !e.tls_handshake && e.grant_type.as_deref() == Some("refresh_token"))
        .count();
    assert_eq!((tls, refreshes), (1, 2));
    assert!(
        journal
            .iter()
            .filter(|e| e.tls_handshake)
            .all(|e| e.path.is_empty())
    );
}

#[tokio::test]
async fn the_dialect_is_fixed_at_start_and_kept_by_config_reloads() {
    let server = server("").await;
    let put = |body: &'static str| {
        http()
            .put(format!("{}/config", server.admin_url()))
            .header("content-type", "application/toml")
            .body(body)
            .send()
    };
    let resp = put("dialect = \"skillmeat\"\n").await.unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap().contains("dialect"));
    let resp = put("dialect = \"spec-kitty\"\n[tokens]\naccess_ttl = 5\n")
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = browser_login(&server).await;
    assert_eq!(
        body["expires_in"], 5,
        "the reloaded config still has cli_native"
    );
}

#[tokio::test]
async fn leeway_lets_a_born_expired_token_pass_the_login_check_until_it_runs_out() {
    let server = server("[tokens]\naccess_ttl = 0\nleeway = 5\n").await;
    let login = browser_login(&server).await;
    assert_eq!(
        login["expires_in"], 0,
        "the client is told the token is expired"
    );
    let token = s(&login, "access_token");
    assert_eq!(get(&server, "/api/v1/me", Some(token)).await.0, 200);
    server.advance_clock(std::time::Duration::from_secs(6));
    assert_eq!(get(&server, "/api/v1/me", Some(token)).await.0, 401);
}

#[tokio::test]
async fn refreshed_access_ttl_gives_refreshed_tokens_their_own_lifetime() {
    let server =
        server("[tokens]\naccess_ttl = 0\nleeway = 5\nrefreshed_access_ttl = 3600\n").await;
    let login = browser_login(&server).await;
    assert_eq!(login["expires_in"], 0);
    let (status, next) = refresh(&server, s(&login, "refresh_token")).await;
    assert_eq!(status, 200);
    assert_eq!(next["expires_in"], 3600);
}
