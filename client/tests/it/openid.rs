//! OpenID Connect against a wiremock authorization server that signs ID tokens with a key made
//! in the test: a verified ID token's `sub` is shown by `auth status`; a refused one leaves no
//! session behind.

use std::process::Stdio;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use tokio::process::Command;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Run, clean_env};

const CLIENT: &str = "cliauth-oidc-test";

/// A server with discovery, a JWKS and a password grant answering with an ID token whose
/// claims are `claims(issuer)`.
async fn oidc_server(claims: impl Fn(&str) -> Value) -> MockServer {
    let server = MockServer::start().await;
    let issuer = server.uri();
    let key = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let point = key.public_key().as_ref().to_vec();
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": "k1",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..]),
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": "k1"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims(&issuer).to_string())
    );
    let sig = key.sign(&SystemRandom::new(), input.as_bytes()).unwrap();
    let id_token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
    let mounts = [
        (
            "GET",
            "/.well-known/oauth-authorization-server",
            json!({
                "issuer": issuer, "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/jwks"), "grant_types_supported": ["password"],
                "scopes_supported": ["openid"],
            }),
        ),
        ("GET", "/jwks", json!({"keys": [jwk]})),
        (
            "POST",
            "/token",
            json!({"access_token": "at-oidc", "token_type": "Bearer", "expires_in": 3600,
                   "id_token": id_token, "scope": "openid"}),
        ),
        ("GET", "/api/v1/me", json!({"username": "alice"})),
    ];
    for (m, p, body) in mounts {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    server
}

async fn cliauth(server: &MockServer, home: &std::path::Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cliauth"));
    clean_env(&mut cmd);
    let mut child = cmd
        .args(args)
        .env("CLIAUTH_HOME", home)
        .env("CLIAUTH_SERVER_URL", server.uri())
        .env("CLIAUTH_CLIENT_ID", CLIENT)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Only the login reads stdin (the password); the other commands may exit before a write.
    let stdin = child.stdin.take().unwrap();
    if args.contains(&"--password-stdin") {
        let mut stdin = stdin;
        tokio::io::AsyncWriteExt::write_all(&mut stdin, b"pw\n")
            .await
            .unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const LOGIN: [&str; 6] = [
    "auth",
    "login",
    "--password",
    "--username",
    "alice",
    "--password-stdin",
];

fn claims(issuer: &str, aud: &str) -> Value {
    let now = cliauth::now_unix();
    json!({"iss": issuer, "sub": "user-42", "aud": aud, "exp": now + 300, "iat": now})
}

/// A verified ID token's subject is kept with the session and shown by `auth status`.
#[tokio::test]
async fn status_shows_the_subject_of_a_verified_id_token() {
    let server = oidc_server(|iss| claims(iss, CLIENT)).await;
    let home = tempfile::tempdir().unwrap();
    let login = cliauth(&server, home.path(), &LOGIN).await;
    assert_eq!(login.code, 0, "{login:?}");
    let status = cliauth(&server, home.path(), &["auth", "status", "--json"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    let j = status.json();
    assert_eq!(j["sub"], "user-42");
    assert_eq!(j["scope"], "openid");
    let human = cliauth(&server, home.path(), &["auth", "status"]).await;
    assert!(
        human.stdout.contains("  Subject (ID token sub): user-42\n"),
        "{human:?}"
    );
}

/// An ID token for another audience refuses the login with `access_denied` (11), names the
/// failed check, and stores no session.
#[tokio::test]
async fn a_refused_id_token_stores_no_session() {
    let server = oidc_server(|iss| claims(iss, "someone-else")).await;
    let home = tempfile::tempdir().unwrap();
    let login = cliauth(&server, home.path(), &LOGIN).await;
    assert_eq!(login.code, 11, "{login:?}");
    assert!(
        login
            .stderr
            .contains("error: the ID token was refused: its aud check failed"),
        "{login:?}"
    );
    assert!(login.stderr.contains("hint: "), "{login:?}");
    assert!(!login.stderr.contains("at-oidc"), "{login:?}");
    let status = cliauth(&server, home.path(), &["auth", "status"]).await;
    assert_eq!(status.code, 4, "not logged in: {status:?}");
}

/// Against the mock minting ID tokens with a wrong nonce: the browser tab is told the login
/// failed (not "Logged in") and why, the terminal says which check failed, and nothing is
/// stored.
#[tokio::test]
async fn a_browser_login_with_a_wrong_nonce_fails_in_the_tab_too() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let f = crate::support::Fixture::new("[openid]\nid_token_fault = \"wrong_nonce\"\n").await;
    let mut child = f
        .cmd(&["auth", "login", "--no-browser", "--timeout", "60"])
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next_line().await.unwrap().expect("the URL line");
        if let Some(u) = line.strip_prefix("Open this URL to log in: ") {
            break u.to_owned();
        }
    };
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let consent = browser.get(&url).send().await.unwrap();
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    let page = browser.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), 400);
    let text = page.text().await.unwrap();
    assert!(
        text.contains("the ID token was refused: its nonce check failed"),
        "{text}"
    );
    let mut rest = String::new();
    while let Some(l) = lines.next_line().await.unwrap() {
        rest.push_str(&l);
        rest.push('\n');
    }
    assert_eq!(child.wait().await.unwrap().code(), Some(11), "{rest}");
    assert!(
        rest.contains("error: the ID token was refused: its nonce check failed"),
        "{rest}"
    );
    f.assert_no_leak(&rest, "stderr");
    assert_eq!(f.run(&["auth", "status"]).await.code, 4);
}
