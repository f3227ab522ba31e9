//! Confidential clients (RFC 6749 §2.3, §3.2.1, §6): `client_secret_basic` and
//! `client_secret_post` at the token, device authorization, revocation and introspection
//! endpoints; a confidential client that omits or fails authentication gets 401
//! `invalid_client` on every grant. Public clients are unchanged.

use cliauth_mock::{Config, MockServer};
use rstest::rstest;
use serde_json::Value;

use crate::support::{http, password_login, s, server};

pub(crate) const CONFIG: &str = r#"
[[clients]]
client_id = "cliauth"
redirect_uris = ["http://127.0.0.1/callback"]

[[clients]]
client_id = "svc-basic"
client_secret = "basic-secret"
token_endpoint_auth_method = "client_secret_basic"
redirect_uris = ["http://127.0.0.1/callback"]

[[clients]]
client_id = "svc-post"
client_secret = "post-secret"
token_endpoint_auth_method = "client_secret_post"

[[clients]]
client_id = "svc-any"
client_secret = "any-secret"
"#;

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// Names no client at all.
    Nothing,
    /// `client_id` in the body, no secret.
    IdOnly(&'a str),
    /// HTTP Basic.
    Basic(&'a str, &'a str),
    /// `client_id` and `client_secret` in the body.
    Post(&'a str, &'a str),
}

/// POSTs a form with this authentication; returns status, whether a `WWW-Authenticate: Basic`
/// challenge came back, and the JSON body.
pub(crate) async fn post(
    server: &MockServer,
    path: &str,
    form: &[(&str, &str)],
    auth: Auth<'_>,
) -> (u16, bool, Value) {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut req = http().post(format!("{}{path}", server.url()));
    match auth {
        Auth::Nothing => {}
        Auth::IdOnly(id) => form.push(("client_id", id)),
        Auth::Basic(id, secret) => req = req.basic_auth(id, Some(secret)),
        Auth::Post(id, secret) => {
            form.push(("client_id", id));
            form.push(("client_secret", secret));
        }
    }
    let resp = req.form(&form).send().await.unwrap();
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .is_some_and(|v| v.to_str().unwrap().starts_with("Basic"));
    (status, challenge, resp.json().await.unwrap_or(Value::Null))
}

const PASSWORD: [(&str, &str); 3] = [
    ("grant_type", "password"),
    ("username", "alice"),
    ("password", "alice-password"),
];

#[rstest]
#[case::basic_right(Auth::Basic("svc-basic", "basic-secret"), 200, None)]
#[case::basic_wrong(Auth::Basic("svc-basic", "nope"), 401, Some("invalid_client"))]
#[case::basic_client_posting(Auth::Post("svc-basic", "basic-secret"), 401, Some("invalid_client"))]
#[case::basic_client_silent(Auth::IdOnly("svc-basic"), 401, Some("invalid_client"))]
#[case::post_right(Auth::Post("svc-post", "post-secret"), 200, None)]
#[case::post_wrong(Auth::Post("svc-post", "nope"), 401, Some("invalid_client"))]
#[case::post_client_using_basic(
    Auth::Basic("svc-post", "post-secret"),
    401,
    Some("invalid_client")
)]
#[case::any_basic(Auth::Basic("svc-any", "any-secret"), 200, None)]
#[case::any_post(Auth::Post("svc-any", "any-secret"), 200, None)]
#[case::any_silent(Auth::IdOnly("svc-any"), 401, Some("invalid_client"))]
#[case::unknown_client(Auth::Basic("nobody", "x"), 401, Some("invalid_client"))]
#[case::public_client(Auth::IdOnly("cliauth"), 200, None)]
#[tokio::test]
async fn the_token_endpoint_authenticates_confidential_clients(
    #[case] auth: Auth<'_>,
    #[case] status: u16,
    #[case] error: Option<&str>,
) {
    let server = server(CONFIG).await;
    let (got, challenge, body) = post(&server, "/oauth/token", &PASSWORD, auth).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"].as_str(), error, "{body}");
    if status == 401 {
        // RFC 6749 §5.2 and RFC 9110 §15.5.2: a 401 carries the Basic challenge.
        assert!(challenge, "no WWW-Authenticate: Basic");
    }
}

/// A refresh token of `svc-any`, obtained with proper authentication.
async fn confidential_refresh_token(server: &MockServer) -> String {
    let (status, _, body) = post(
        server,
        "/oauth/token",
        &PASSWORD,
        Auth::Basic("svc-any", "any-secret"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    s(&body, "refresh_token").to_owned()
}

#[rstest]
#[case::names_no_client(Auth::Nothing, 401)]
#[case::names_itself_without_secret(Auth::IdOnly("svc-any"), 401)]
#[case::wrong_secret(Auth::Post("svc-any", "nope"), 401)]
#[case::basic(Auth::Basic("svc-any", "any-secret"), 200)]
#[case::post(Auth::Post("svc-any", "any-secret"), 200)]
#[tokio::test]
async fn a_confidential_clients_refresh_token_needs_its_authentication(
    #[case] auth: Auth<'_>,
    #[case] status: u16,
) {
    // The bug of issue #11: with no client named, the first configured client stood in and the
    // refresh succeeded without any authentication.
    let server = server(CONFIG).await;
    let rt = confidential_refresh_token(&server).await;
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
    ];
    let (got, _, body) = post(&server, "/oauth/token", &form, auth).await;
    assert_eq!(got, status, "{body}");
    if status == 401 {
        assert_eq!(s(&body, "error"), "invalid_client");
    }
}

#[tokio::test]
async fn the_code_and_device_grants_need_authentication_too() {
    let server = server(CONFIG).await;
    let code = [
        ("grant_type", "authorization_code"),
        ("code", "any"),
        ("redirect_uri", "http://127.0.0.1:1/callback"),
    ];
    let (status, _, body) = post(&server, "/oauth/token", &code, Auth::IdOnly("svc-basic")).await;
    assert_eq!((status, s(&body, "error")), (401, "invalid_client"));
    let device = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", "any"),
    ];
    let (status, _, body) = post(&server, "/oauth/token", &device, Auth::IdOnly("svc-any")).await;
    assert_eq!((status, s(&body, "error")), (401, "invalid_client"));
    let (status, _, body) = post(
        &server,
        "/oauth/device_authorization",
        &[],
        Auth::IdOnly("svc-any"),
    )
    .await;
    assert_eq!((status, s(&body, "error")), (401, "invalid_client"));
    let (status, _, body) = post(
        &server,
        "/oauth/device_authorization",
        &[],
        Auth::Basic("svc-any", "any-secret"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[rstest]
#[case::revoke_unauthenticated("/oauth/revoke", Auth::Nothing, 401)]
#[case::revoke_without_secret("/oauth/revoke", Auth::IdOnly("svc-any"), 401)]
#[case::revoke_basic("/oauth/revoke", Auth::Basic("svc-any", "any-secret"), 200)]
#[case::introspect_unauthenticated("/oauth/introspect", Auth::Nothing, 401)]
#[case::introspect_wrong_secret("/oauth/introspect", Auth::Basic("svc-any", "x"), 401)]
#[case::introspect_post("/oauth/introspect", Auth::Post("svc-any", "any-secret"), 200)]
#[tokio::test]
async fn revocation_and_introspection_authenticate_confidential_clients(
    #[case] path: &str,
    #[case] auth: Auth<'_>,
    #[case] status: u16,
) {
    let server = server(CONFIG).await;
    let rt = confidential_refresh_token(&server).await;
    let (got, _, body) = post(&server, path, &[("token", rt.as_str())], auth).await;
    assert_eq!(got, status, "{body}");
}

#[tokio::test]
async fn public_clients_are_unchanged() {
    let server = server(CONFIG).await;
    let tokens = password_login(&server, "alice").await;
    let rt = s(&tokens, "refresh_token");
    // RFC 6749 §6: a public client need not name itself to refresh, revoke or introspect.
    let (status, _, body) = post(
        &server,
        "/oauth/token",
        &[("grant_type", "refresh_token"), ("refresh_token", rt)],
        Auth::Nothing,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _, info) = post(
        &server,
        "/oauth/introspect",
        &[("token", s(&body, "refresh_token"))],
        Auth::Nothing,
    )
    .await;
    assert_eq!((status, info["active"].as_bool()), (200, Some(true)));
}

#[tokio::test]
async fn an_unnamed_password_grant_goes_to_the_first_public_client() {
    let toml = format!(
        "[[clients]]\nclient_id = \"svc\"\nclient_secret = \"s\"\n{}",
        CONFIG.replace(
            "[[clients]]\nclient_id = \"cliauth\"",
            "[[clients]]\nclient_id = \"cli\""
        )
    );
    let server = server(&toml).await;
    let (status, _, body) = post(&server, "/oauth/token", &PASSWORD, Auth::Nothing).await;
    assert_eq!(status, 200, "{body}");
    let (_, _, info) = post(
        &server,
        "/oauth/introspect",
        &[("token", s(&body, "access_token"))],
        Auth::Nothing,
    )
    .await;
    assert_eq!(s(&info, "client_id"), "cli");
    let only_confidential = server_only_confidential().await;
    let (status, _, body) =
        post(&only_confidential, "/oauth/token", &PASSWORD, Auth::Nothing).await;
    assert_eq!((status, s(&body, "error")), (401, "invalid_client"));
}

async fn server_only_confidential() -> MockServer {
    server("[[clients]]\nclient_id = \"svc\"\nclient_secret = \"s\"\n").await
}

#[tokio::test]
async fn client_secrets_never_reach_the_journal_or_debug_text() {
    let server = server(CONFIG).await;
    post(
        &server,
        "/oauth/token",
        &PASSWORD,
        Auth::Basic("svc-basic", "basic-secret"),
    )
    .await;
    post(
        &server,
        "/oauth/token",
        &PASSWORD,
        Auth::Post("svc-post", "post-secret"),
    )
    .await;
    let journal = format!("{:?}", server.journal());
    let config = format!("{:?}", Config::from_toml_str(CONFIG).unwrap());
    for text in [journal, config, format!("{server:?}")] {
        for secret in ["basic-secret", "post-secret", "any-secret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

#[rstest]
#[case::empty_secret("client_secret = \"\"\n", "clients.client_secret")]
#[case::method_without_secret(
    "token_endpoint_auth_method = \"client_secret_post\"\n",
    "clients.token_endpoint_auth_method"
)]
#[case::unknown_method(
    "client_secret = \"s\"\ntoken_endpoint_auth_method = \"private_key_jwt\"\n",
    "private_key_jwt"
)]
fn bad_confidential_client_configs_name_the_field(#[case] extra: &str, #[case] named: &str) {
    let err = Config::from_toml_str(&format!("[[clients]]\nclient_id = \"c\"\n{extra}"))
        .unwrap_err()
        .to_string();
    assert!(err.contains(named), "{err}");
}

#[rstest]
#[case::names_a_confidential_client(Some("svc-any"), 401)]
#[case::names_no_client(None, 200)]
#[tokio::test]
async fn the_json_login_never_issues_to_a_confidential_client(
    #[case] client_id: Option<&str>,
    #[case] status: u16,
) {
    // Confidential first: an unnamed login must not fall back to it.
    let toml = format!("[[clients]]\nclient_id = \"svc\"\nclient_secret = \"s\"\n{CONFIG}");
    let server = server(&toml).await;
    let mut body = serde_json::json!({"username": "alice", "password": "alice-password"});
    if let Some(id) = client_id {
        body["client_id"] = id.into();
    }
    let resp = http()
        .post(format!("{}/api/v1/auth/login", server.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), status);
    let got: Value = resp.json().await.unwrap();
    if status == 200 {
        let (_, _, info) = post(
            &server,
            "/oauth/introspect",
            &[("token", s(&got, "access_token"))],
            Auth::Nothing,
        )
        .await;
        assert_eq!(s(&info, "client_id"), "cliauth");
    } else {
        assert_eq!(s(&got, "error"), "invalid_client");
    }
}
