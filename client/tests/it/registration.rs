//! Self-registration (RFC 7591) against a wiremock server that issues a client secret anyway:
//! the secret is stored encrypted, presented as registered at the token endpoint on login and
//! refresh, and never printed.

use std::process::Stdio;

use serde_json::json;
use tokio::process::Command;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Run, clean_env};

const SECRET: &str = "reg-secret-0123456789";

async fn cliauth(server: &MockServer, home: &std::path::Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cliauth"));
    clean_env(&mut cmd);
    let mut child = cmd
        .args(args)
        .env("CLIAUTH_HOME", home)
        .env("CLIAUTH_SERVER_URL", server.uri())
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    if args.contains(&"--password-stdin") {
        let mut stdin = stdin;
        tokio::io::AsyncWriteExt::write_all(&mut stdin, b"pw\n")
            .await
            .unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    let run = Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "the client secret is printed: {run:?}"
    );
    run
}

/// The registration asks for the advertised grants only; the issued `client_secret_post`
/// secret goes into the form of the login's and the refresh's token requests (a request
/// without it is not answered), and the credentials folder holds it only encrypted.
#[tokio::test]
async fn a_registered_secret_is_stored_encrypted_and_used_as_registered() {
    let server = MockServer::start().await;
    let issuer = server.uri();
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "issuer": issuer, "token_endpoint": format!("{issuer}/token"),
            "registration_endpoint": format!("{issuer}/register"),
            "grant_types_supported": ["password", "refresh_token"],
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/register"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "client_id": "reg-1", "client_secret": SECRET,
            "token_endpoint_auth_method": "client_secret_post",
        })))
        .mount(&server)
        .await;
    for (grant, access) in [
        ("grant_type=password", "at-1"),
        ("grant_type=refresh_token", "at-2"),
    ] {
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains(grant))
            .and(body_string_contains(format!("client_secret={SECRET}")))
            .and(body_string_contains("client_id=reg-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": access, "token_type": "Bearer", "expires_in": 3600,
                "refresh_token": format!("rt-{access}"),
            })))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/api/v1/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"username": "alice"})))
        .mount(&server)
        .await;
    let home = tempfile::tempdir().unwrap();
    let login = cliauth(
        &server,
        home.path(),
        &[
            "auth",
            "login",
            "--password",
            "--username",
            "alice",
            "--password-stdin",
        ],
    )
    .await;
    assert_eq!(login.code, 0, "{login:?}");
    let requests = server.received_requests().await.unwrap();
    let registration: serde_json::Value = requests
        .iter()
        .find(|r| r.url.path() == "/register")
        .unwrap()
        .body_json()
        .unwrap();
    assert_eq!(
        registration["grant_types"],
        json!(["refresh_token", "password"])
    );
    assert_eq!(registration["token_endpoint_auth_method"], "none");

    let refresh = cliauth(&server, home.path(), &["auth", "refresh", "--json"]).await;
    assert_eq!(refresh.code, 0, "{refresh:?}");
    let token = cliauth(&server, home.path(), &["auth", "token"]).await;
    assert_eq!(token.stdout.trim(), "at-2", "{token:?}");

    for entry in walk(&home.path().join("credentials")) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "{} holds the secret in the clear",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
