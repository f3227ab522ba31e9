//! Helpers shared by the integration tests.

use cliauth_mock::{Config, MockServer};
use serde_json::Value;

/// A reqwest client that ignores proxy variables and never follows redirects.
pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("build reqwest client")
}

/// Starts a server with this TOML config.
pub(crate) async fn server(toml: &str) -> MockServer {
    MockServer::builder()
        .config(Config::from_toml_str(toml).expect("valid config"))
        .start()
        .await
        .expect("start")
}

/// POSTs a form to `path` and returns status and JSON body.
pub(crate) async fn post_form(
    server: &MockServer,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let resp = http()
        .post(format!("{}{path}", server.url()))
        .form(form)
        .send()
        .await
        .expect("send");
    let status = resp.status().as_u16();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

/// Password grant as the default client; returns the token response.
pub(crate) async fn password_login(server: &MockServer, user: &str) -> Value {
    let password = format!("{user}-password");
    let (status, body) = post_form(
        server,
        "/oauth/token",
        &[
            ("grant_type", "password"),
            ("username", user),
            ("password", &password),
            ("client_id", "cliauth"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Refresh grant; returns status and body.
pub(crate) async fn refresh(server: &MockServer, token: &str) -> (u16, Value) {
    post_form(
        server,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("client_id", "cliauth"),
        ],
    )
    .await
}

/// GET with an optional bearer; returns status, headers and JSON body.
pub(crate) async fn get(
    server: &MockServer,
    path: &str,
    bearer: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http().get(format!("{}{path}", server.url()));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, headers, body)
}

/// The string at `key`.
pub(crate) fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// An RFC 7636 verifier and its S256 challenge.
pub(crate) fn pkce_pair() -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = "dBjftJeZ4CVP-mJ0fbUsmeCTEF2s7h4iRCErcP7ekNY".to_owned();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}
