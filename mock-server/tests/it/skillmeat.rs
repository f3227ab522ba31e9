//! The `skillmeat` dialect: every endpoint and shape of `../shared/SEED-CLIENTS.md` §4.2.

use cliauth_mock::{Config, Dialect, MockServer};
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{get, http, post_form, s};

const CLIENT: &str = "skillmeat-cli";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

async fn server(toml: &str) -> MockServer {
    let config = Config::from_toml_str(toml).unwrap();
    MockServer::builder()
        .dialect(Dialect::Skillmeat)
        .config(config)
        .start()
        .await
        .unwrap()
}

async fn start_device(server: &MockServer) -> Value {
    let (status, body) = post_form(
        server,
        "/oauth/device/authorize",
        &[
            ("client_id", CLIENT),
            ("scope", "openid profile email"),
            ("audience", "skillmeat"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn poll(server: &MockServer, device_code: &str) -> (u16, Value) {
    post_form(
        server,
        "/oauth/token",
        &[
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
            ("client_id", CLIENT),
        ],
    )
    .await
}

/// A device login approved after one pending poll; returns the token response.
async fn login(server: &MockServer) -> Value {
    let start = start_device(server).await;
    let (status, body) = poll(server, s(&start, "device_code")).await;
    assert_eq!((status, s(&body, "error")), (400, "authorization_pending"));
    server.approve_device(Some(s(&start, "user_code"))).unwrap();
    let (status, body) = poll(server, s(&start, "device_code")).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn device_authorize_answers_the_rfc_8628_fields_at_the_skillmeat_path() {
    let server = server("[device]\ninterval = 1\n").await;
    let start = start_device(&server).await;
    for field in [
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
    ] {
        assert!(!s(&start, field).is_empty(), "{field}");
    }
    assert_eq!(start["interval"], 1);
    assert_eq!(start["expires_in"], 600);
    let entry = &server.journal()[0];
    assert_eq!(entry.path, "/oauth/device/authorize");
    assert_eq!(entry.client_id.as_deref(), Some(CLIENT));
    assert_eq!(
        entry.canonical_path.as_deref(),
        Some("/oauth/device_authorization")
    );
    let (status, body) = post_form(
        &server,
        "/oauth/device/authorize",
        &[("client_id", "cliauth")],
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"], "invalid_client", "every error body is JSON");
}

#[tokio::test]
async fn device_login_then_refresh_rotates() {
    let server = server("[device]\ninterval = 0\n").await;
    let tokens = login(&server).await;
    assert!(!s(&tokens, "access_token").is_empty());
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(
        tokens.get("session_id").is_none(),
        "spec-kitty's fields stay in its dialect"
    );
    let (status, next) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", s(&tokens, "refresh_token")),
            ("client_id", CLIENT),
        ],
    )
    .await;
    assert_eq!(status, 200, "{next}");
    assert_ne!(s(&next, "refresh_token"), s(&tokens, "refresh_token"));
}

#[tokio::test]
async fn device_errors_are_400_json() {
    for (step, error) in [
        ("denied", "access_denied"),
        ("expired", "expired_token"),
        ("slow_down\", \"approved", "slow_down"),
    ] {
        let server = server(&format!("[device]\ninterval = 0\nscript = [\"{step}\"]\n")).await;
        let start = start_device(&server).await;
        let (status, body) = poll(&server, s(&start, "device_code")).await;
        assert_eq!((status, s(&body, "error")), (400, error));
    }
}

#[tokio::test]
async fn auth_me_accepts_a_valid_token_as_pat_and_answers_fastapi_401_otherwise() {
    let server = server("[device]\ninterval = 0\n").await;
    let tokens = login(&server).await;
    let (status, _, me) = get(&server, "/api/v1/auth/me", Some(s(&tokens, "access_token"))).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["email"], "alice@example.test");
    assert_eq!(me["edition"], "enterprise");
    for field in ["user_id", "tenant_id", "display_name"] {
        assert!(!s(&me, field).is_empty(), "{field}");
    }
    for field in ["roles", "scopes", "teams"] {
        assert!(me[field].is_array(), "{field}");
    }
    assert_eq!(
        me["scopes"],
        serde_json::json!(["openid", "profile", "email"])
    );
    let (status, headers, body) = get(&server, "/api/v1/auth/me", Some("not-a-pat")).await;
    assert_eq!(status, 401);
    assert_eq!(body, serde_json::json!({ "detail": "Not authenticated" }));
    assert!(
        headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
}

#[tokio::test]
async fn api_keys_list_and_create_need_a_bearer() {
    let server = server("[device]\ninterval = 0\n").await;
    let tokens = login(&server).await;
    let token = s(&tokens, "access_token");
    let (status, _, body) = get(&server, "/api/v1/api-keys", Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({ "items": [] }));
    let (status, _, body) = get(&server, "/api/v1/api-keys", None).await;
    assert_eq!((status, s(&body, "detail")), (401, "Not authenticated"));
    let resp = http()
        .post(format!("{}/api/v1/api-keys", server.url()))
        .bearer_auth(token)
        .json(&serde_json::json!({ "name": "ci" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["name"], "ci");
    assert!(s(&created, "key").starts_with(s(&created, "key_prefix")));
    assert!(s(&created, "expires_at").ends_with('Z'));
    assert!(
        server
            .issued_secrets()
            .contains(&s(&created, "key").to_owned())
    );
}

#[tokio::test]
async fn cliauth_only_endpoints_are_absent() {
    let server = server("").await;
    for path in [
        "/api/v1/me",
        "/api/v1/meta",
        "/.well-known/oauth-authorization-server",
        "/jwks.json",
    ] {
        assert_eq!(get(&server, path, None).await.0, 404, "{path}");
    }
    let (status, _) = post_form(&server, "/oauth/revoke", &[("token", "x")]).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_tls_client_hello_is_journaled_apart_under_the_dialect() {
    let server = server("").await;
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .unwrap();
    sock.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00])
        .await
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(sock.read_to_end(&mut buf).await.expect("a clean close"), 0);
    assert_eq!(get(&server, "/api/v1/api-keys", None).await.0, 401);
    let journal = server.journal();
    assert!(journal[0].tls_handshake);
    assert_eq!(journal[1].path, "/api/v1/api-keys");
    assert!(!journal[1].tls_handshake);
}
