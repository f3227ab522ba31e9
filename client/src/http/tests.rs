use super::*;
use crate::classify::ErrorCategory;
use crate::oauth_error::OAuthErrorCode;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server_with(resp: ResponseTemplate) -> (MockServer, Url) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(resp.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/doc"))
        .respond_with(resp)
        .mount(&server)
        .await;
    let url = Url::parse(&server.uri()).unwrap();
    (server, url)
}

async fn token_call(resp: ResponseTemplate) -> Result<serde_json::Value> {
    let (_s, base) = server_with(resp).await;
    Http::without_proxy()
        .unwrap()
        .post_form_json(
            &base.join("/token").unwrap(),
            &[("grant_type", "x")],
            "the token endpoint",
        )
        .await
}

#[tokio::test]
async fn malformed_json_is_a_server_error() {
    let err = token_call(ResponseTemplate::new(200).set_body_raw("{not json", "application/json"))
        .await
        .unwrap_err();
    assert_eq!(err.category(), ErrorCategory::ServerError, "{err}");
    assert!(err.to_string().contains("invalid JSON"), "{err}");
}

#[tokio::test]
async fn a_json_shape_error_never_quotes_the_body() {
    let (_s, base) = server_with(
        ResponseTemplate::new(200).set_body_raw("\"secret-token-value\"", "application/json"),
    )
    .await;
    let err = Http::without_proxy()
        .unwrap()
        .post_form_json::<crate::flows::Tokens>(
            &base.join("/token").unwrap(),
            &[("grant_type", "x")],
            "the token endpoint",
        )
        .await
        .unwrap_err();
    assert!(!err.to_string().contains("secret-token-value"), "{err}");
    assert!(
        !format!("{err:?}").contains("secret-token-value"),
        "{err:?}"
    );
    assert!(err.to_string().contains("wrong shape"), "{err}");
}

#[tokio::test]
async fn wrong_content_type_is_a_server_error() {
    let err =
        token_call(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"))
            .await
            .unwrap_err();
    assert_eq!(err.category(), ErrorCategory::ServerError);
    assert!(
        err.to_string().contains("expected JSON but got text/html"),
        "{err}"
    );
}

#[tokio::test]
async fn too_many_requests_carries_retry_after() {
    let err = token_call(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .await
        .unwrap_err();
    assert_eq!(err.category(), ErrorCategory::RetryableTransport);
    assert!(
        matches!(
            err,
            Error::Unavailable {
                status: 429,
                retry_after: Some(7),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(crate::commands::render::hint(&err), "try again in 7 s");
}

#[tokio::test]
async fn redirect_on_the_token_endpoint_is_refused_not_followed() {
    let (server, base) = server_with(
        ResponseTemplate::new(307).insert_header("Location", "http://127.0.0.1:1/elsewhere?code=x"),
    )
    .await;
    let err = Http::without_proxy()
        .unwrap()
        .post_form_json::<serde_json::Value>(
            &base.join("/token").unwrap(),
            &[("a", "b")],
            "the token endpoint",
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("redirect to http://127.0.0.1:1/elsewhere refused"),
        "{err}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let big = "x".repeat(MAX_BODY_BYTES + 1);
    let err = token_call(ResponseTemplate::new(200).set_body_raw(big, "application/json"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
    assert_eq!(err.category(), ErrorCategory::ServerError);
}

#[tokio::test]
async fn oauth_error_body_is_typed_even_in_a_200() {
    let err =
        token_call(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"error":"invalid_grant","error_description":"spent"}),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::OAuth { body, .. } if body.error == OAuthErrorCode::InvalidGrant)
    );
    assert_eq!(err.category(), ErrorCategory::Unauthenticated);
}

#[tokio::test]
async fn connection_refused_is_retryable_transport() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let err = Http::without_proxy()
        .unwrap()
        .get_json::<serde_json::Value>(
            &Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap(),
            "the server",
        )
        .await
        .unwrap_err();
    assert_eq!(err.category(), ErrorCategory::RetryableTransport, "{err}");
}

#[tokio::test]
async fn hosted_call_retries_once_after_a_short_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": 1})))
        .mount(&server)
        .await;
    let v: serde_json::Value = Http::without_proxy()
        .unwrap()
        .api_json(
            reqwest::Method::GET,
            &Url::parse(&server.uri()).unwrap(),
            None,
            None,
            "the API",
        )
        .await
        .unwrap();
    assert_eq!(v["ok"], 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn hosted_403_private_teamspace_is_its_own_category() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "error": "private_teamspace_required", "error_description": "create one"
        })))
        .mount(&server)
        .await;
    let t = AccessToken::new("t");
    let err = Http::without_proxy()
        .unwrap()
        .api_json::<serde_json::Value>(
            reqwest::Method::POST,
            &Url::parse(&server.uri()).unwrap(),
            Some(Bearer {
                token: &t,
                source: "stored credentials",
            }),
            Some(&serde_json::json!({"events": []})),
            "the ingress API",
        )
        .await
        .unwrap_err();
    assert_eq!(err.category(), ErrorCategory::PrivateTeamspaceRequired);
}
