//! Malformed requests get an RFC 6749 §5.2 error, never a panic or a 500.

use cliauth_mock::MockServer;
use rstest::rstest;

use crate::support::http;

#[rstest]
#[case::json_to_token(
    "/oauth/token",
    "application/json",
    "{\"grant_type\":\"password\"}",
    400,
    "invalid_request"
)]
#[case::no_content_type("/oauth/token", "", "grant_type=password", 400, "invalid_request")]
#[case::text_to_revoke("/oauth/revoke", "text/plain", "token=x", 400, "invalid_request")]
#[case::repeated_param(
    "/oauth/token",
    "application/x-www-form-urlencoded",
    "grant_type=password&grant_type=password",
    400,
    "invalid_request"
)]
#[case::binary_garbage(
    "/oauth/token",
    "application/x-www-form-urlencoded",
    "\u{1}\u{2}%ZZ",
    400,
    "invalid_request"
)]
#[case::bad_json_login(
    "/api/v1/auth/login",
    "application/json",
    "{not json",
    400,
    "invalid_request"
)]
#[case::form_to_login(
    "/api/v1/auth/login",
    "application/x-www-form-urlencoded",
    "username=a",
    400,
    "invalid_request"
)]
#[case::bad_json_register(
    "/oauth/register",
    "application/json",
    "{",
    400,
    "invalid_client_metadata"
)]
#[case::form_to_register(
    "/oauth/register",
    "application/x-www-form-urlencoded",
    "a=b",
    400,
    "invalid_request"
)]
#[case::bad_json_ingress("/api/v1/ingress", "application/json", "[", 401, "invalid_token")]
#[case::device_without_form(
    "/oauth/device_authorization",
    "application/json",
    "{}",
    400,
    "invalid_request"
)]
#[case::unknown_path(
    "/oauth/nope",
    "application/x-www-form-urlencoded",
    "a=b",
    404,
    "not_found"
)]
#[tokio::test]
async fn malformed_bodies_get_rfc_errors(
    #[case] path: &str,
    #[case] content_type: &str,
    #[case] body: &'static str,
    #[case] status: u16,
    #[case] error: &str,
) {
    let server = MockServer::start().await;
    let mut req = http().post(format!("{}{path}", server.url())).body(body);
    if !content_type.is_empty() {
        req = req.header("content-type", content_type);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), status);
    let json: serde_json::Value = resp.json().await.expect("an RFC 6749 JSON error body");
    assert_eq!(json["error"], error);
}

#[tokio::test]
async fn an_oversized_body_gets_413_with_an_rfc_error() {
    let server = MockServer::start().await;
    let body = format!("grant_type=password&pad={}", "a".repeat(70 * 1024));
    let resp = http()
        .post(format!("{}/oauth/token", server.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
    assert_eq!(server.journal().last().unwrap().status, 413);
}

#[tokio::test]
async fn a_wrong_method_gets_405_with_an_rfc_error() {
    let server = MockServer::start().await;
    let resp = http()
        .get(format!("{}/oauth/token", server.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn a_repeated_query_parameter_at_authorize_is_invalid_request() {
    let server = MockServer::start().await;
    let resp = http()
        .get(format!(
            "{}/oauth/authorize?client_id=cliauth&client_id=cliauth",
            server.url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
}

#[tokio::test]
async fn garbage_on_the_socket_does_not_take_the_server_down() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let server = MockServer::start().await;
    let mut sock = tokio::net::TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .unwrap();
    sock.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    sock.read_to_end(&mut buf).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 400"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    let (status, _, _) = crate::support::get(&server, "/api/v1/meta", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn malformed_basic_credentials_are_invalid_client() {
    let server = MockServer::start().await;
    let resp = http()
        .post(format!("{}/oauth/token", server.url()))
        .header("authorization", "Basic %%%not-base64")
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_client"
    );
}
