//! The spacebot dialect through the interception proxy: the fixed client, the console's
//! paste page as redirect, JSON bodies at `/v1/oauth/token`.

use base64::Engine as _;
use cliauth_mock::{Dialect, MockServer};
use serde_json::{Value, json};
use sha2::Digest as _;

const CLIENT: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
const REDIRECT: &str = "https://console.anthropic.com/oauth/code/callback";
const TOKEN: &str = "https://console.anthropic.com/v1/oauth/token";

async fn start() -> (MockServer, reqwest::Client) {
    let server = MockServer::builder()
        .dialect(Dialect::Spacebot)
        .intercept(["claude.ai", "console.anthropic.com"])
        .start()
        .await
        .expect("start");
    let ca = reqwest::Certificate::from_pem(server.ca_pem().unwrap().as_bytes()).unwrap();
    let http = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(server.proxy_url().unwrap()).unwrap())
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (server, http)
}

/// Authorizes as the CLI does and returns (code, state) from the paste page's redirect.
async fn authorize(http: &reqwest::Client, verifier: &str) -> (String, String) {
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    let resp = http
        .get("https://claude.ai/oauth/authorize")
        .query(&[
            ("code", "true"),
            ("client_id", CLIENT),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "org:create_api_key user:profile user:inference"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("state", "Qx3v0aZ9k2LmNpRsTuVwXyZ012345678"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    let url = url::Url::parse(&location).unwrap();
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    (get("code"), get("state"))
}

async fn post_json(http: &reqwest::Client, body: &Value) -> (u16, Value) {
    let resp = http.post(TOKEN).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn login_and_refresh_answer_json_with_access_refresh_and_expiry() {
    let (server, http) = start().await;
    let verifier = "a".repeat(86);
    let (code, state) = authorize(&http, &verifier).await;
    let (status, login) = post_json(
        &http,
        &json!({
            "grant_type": "authorization_code", "code": code, "state": state,
            "client_id": CLIENT, "redirect_uri": REDIRECT, "code_verifier": verifier,
        }),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    for field in ["access_token", "refresh_token", "expires_in"] {
        assert!(!login[field].is_null(), "{field} in {login}");
    }
    let (status, refreshed) = post_json(
        &http,
        &json!({
            "grant_type": "refresh_token", "refresh_token": login["refresh_token"],
            "client_id": CLIENT,
        }),
    )
    .await;
    assert_eq!(status, 200, "{refreshed}");
    for field in ["access_token", "refresh_token", "expires_in"] {
        assert!(!refreshed[field].is_null(), "{field} in {refreshed}");
    }
    assert_ne!(refreshed["refresh_token"], login["refresh_token"]);
    let journal = server.journal();
    let grants: Vec<_> = journal
        .iter()
        .filter(|e| e.path == "/v1/oauth/token")
        .map(|e| {
            (
                e.grant_type.as_deref(),
                e.host.as_deref(),
                e.tls,
                e.canonical_path.as_deref(),
            )
        })
        .collect();
    let on_console = (Some("console.anthropic.com"), true, Some("/oauth/token"));
    assert_eq!(
        grants,
        [
            (
                Some("authorization_code"),
                on_console.0,
                on_console.1,
                on_console.2
            ),
            (
                Some("refresh_token"),
                on_console.0,
                on_console.1,
                on_console.2
            ),
        ]
    );
    assert_eq!(journal[0].host.as_deref(), Some("claude.ai"));
    assert_eq!(journal[0].client_id.as_deref(), Some(CLIENT));
}

#[tokio::test]
async fn a_form_body_or_a_non_string_field_is_an_invalid_request() {
    let (_server, http) = start().await;
    let resp = http
        .post(TOKEN)
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("application/json"),
        "{body}"
    );
    let (status, body) = post_json(&http, &json!({"grant_type": ["refresh_token"]})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn the_callback_page_shows_code_hash_state_to_paste() {
    let (_server, http) = start().await;
    let page = http
        .get(format!("{REDIRECT}?code=the%3Ccode&state=s1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("the&lt;code#s1"), "{page}");
}

#[tokio::test]
async fn the_default_client_no_longer_answers_under_its_cliauth_name() {
    let (_server, http) = start().await;
    let resp = http
        .get("https://claude.ai/oauth/authorize?client_id=cliauth&response_type=code")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}
