//! The interception proxy: `CONNECT` to a listed host opens a TLS tunnel to the same engine;
//! anything else is refused and journaled.

use std::process::Stdio;

use cliauth_mock::{Dialect, MockServer};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};

const HOSTS: [&str; 2] = ["claude.ai", "console.anthropic.com"];

async fn intercepting(dialect: Dialect) -> MockServer {
    MockServer::builder()
        .dialect(dialect)
        .intercept(HOSTS)
        .start()
        .await
        .expect("start")
}

/// A client that goes through the proxy and trusts only `ca_pem`.
fn through(server: &MockServer, ca_pem: &str) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(server.proxy_url().unwrap()).unwrap())
        .tls_certs_only([ca])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Sends `head` to the proxy on a raw socket and returns everything it answers.
async fn raw(server: &MockServer, head: &str) -> String {
    let addr = server.proxy_url().unwrap().replace("http://", "");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn a_listed_host_is_served_by_the_same_engine_over_tls_and_journaled_with_its_host() {
    let server = intercepting(Dialect::Cliauth).await;
    assert!(server.proxy_url().unwrap().starts_with("http://127.0.0.1:"));
    let http = through(&server, server.ca_pem().unwrap());
    let meta = http
        .get("https://console.anthropic.com/api/v1/meta")
        .send()
        .await
        .unwrap();
    assert_eq!(meta.status(), 200);
    // The plain listener serves the same state: a token got in the tunnel works there.
    let token: serde_json::Value = http
        .post("https://claude.ai/oauth/token")
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = crate::support::http()
        .get(format!("{}/api/v1/me", server.url()))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let journal = server.journal();
    assert_eq!(journal.len(), 3, "{journal:#?}");
    assert_eq!(journal[0].host.as_deref(), Some("console.anthropic.com"));
    assert!(journal[0].tls);
    assert_eq!(journal[1].host.as_deref(), Some("claude.ai"));
    assert!(journal[1].is_grant("password", 200) && journal[1].tls);
    let plain_host = server.url().replace("http://", "");
    assert_eq!(journal[2].host.as_deref(), Some(plain_host.as_str()));
    assert!(!journal[2].tls);
}

#[tokio::test]
async fn connect_to_an_unlisted_host_is_refused_with_a_reason_and_journaled() {
    let server = intercepting(Dialect::Cliauth).await;
    let answer = raw(
        &server,
        "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
    assert!(
        answer.contains("intercepts only claude.ai, console.anthropic.com")
            && answer.contains("CONNECT to example.com refused"),
        "{answer}"
    );
    let journal = server.journal();
    assert_eq!(journal.len(), 1);
    let entry = &journal[0];
    assert_eq!(
        (entry.method.as_str(), entry.path.as_str(), entry.status),
        ("CONNECT", "example.com:443", 403)
    );
    assert_eq!(entry.host.as_deref(), Some("example.com"));
    assert_eq!(entry.outcome.as_deref(), Some("connect_refused"));
    // And a client going there through the proxy fails instead of reaching the internet.
    let http = through(&server, server.ca_pem().unwrap());
    assert!(http.get("https://example.com/").send().await.is_err());
}

#[tokio::test]
async fn the_proxy_answers_connect_only() {
    let server = intercepting(Dialect::Cliauth).await;
    let answer = raw(
        &server,
        "GET http://claude.ai/ HTTP/1.1\r\nHost: claude.ai\r\n\r\n",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");
    assert!(answer.contains("answers CONNECT only, not GET"), "{answer}");
    let no_port = raw(&server, "CONNECT claude.ai HTTP/1.1\r\n\r\n").await;
    assert!(no_port.starts_with("HTTP/1.1 400 "), "{no_port}");
    assert_eq!(server.journal().len(), 2);
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_runs_ca_cannot_talk_to_the_tunnel() {
    let server = intercepting(Dialect::Cliauth).await;
    let other = cliauth_mock::tls::CertificateAuthority::generate().unwrap();
    let http = through(&server, other.pem());
    let err = http
        .get("https://claude.ai/api/v1/meta")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(server.journal().is_empty(), "no request reached the engine");
}

#[tokio::test]
async fn bad_intercept_hosts_are_refused_at_start_naming_the_host() {
    let err = MockServer::builder()
        .intercept(["https://claude.ai"])
        .start()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("https://claude.ai"), "{err}");
}

#[tokio::test]
async fn serve_intercept_prints_the_proxy_and_the_ca_that_curl_trusts() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_cliauth-mock"))
        .args([
            "serve",
            "--dialect",
            "spacebot",
            "--intercept",
            "claude.ai,console.anthropic.com",
            "--exit-with-parent",
        ])
        .env_remove("CLIAUTH_MOCK_PORT")
        .env_remove("CLIAUTH_MOCK_CONFIG")
        .env_remove("CLIAUTH_MOCK_TLS")
        .env_remove("CLIAUTH_MOCK_DIALECT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("a readiness line");
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let proxy = ready["proxy_url"].as_str().unwrap().to_owned();
    let ca = ready["ca_pem"].as_str().unwrap().to_owned();
    assert!(proxy.starts_with("http://127.0.0.1:"), "{proxy}");
    assert!(ready["url"].as_str().unwrap().starts_with("http://"));
    let out = tokio::process::Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "--proxy",
            &proxy,
            "--cacert",
            &ca,
        ])
        .arg("https://console.anthropic.com/oauth/code/callback?code=abc&state=xyz")
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await
        .unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(page.contains("abc#xyz"), "{page}");
    drop(child.stdin.take());
    assert!(child.wait().await.unwrap().success());
    assert!(
        !std::path::Path::new(&ca).exists(),
        "the CA file is removed"
    );
}
