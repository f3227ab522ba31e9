//! Interoperability with a standard client library: the `oauth2` crate completes the
//! authorization-code + PKCE flow and the device flow against the mock.

use std::future::Future;

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, DeviceAuthorizationUrl, PkceCodeChallenge,
    RedirectUrl, Scope, StandardDeviceAuthorizationResponse, TokenResponse as _, TokenUrl,
};

use crate::support::{get, http, server};

/// The adapter oauth2 needs: send its `http::Request` through our reqwest 0.13 client.
fn adapter() -> impl Fn(
    oauth2::HttpRequest,
) -> std::pin::Pin<
    Box<dyn Future<Output = Result<oauth2::HttpResponse, reqwest::Error>> + Send>,
> {
    let client = http();
    move |req: oauth2::HttpRequest| {
        let client = client.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let resp = client
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let status = resp.status();
            let headers = resp.headers().clone();
            let body = resp.bytes().await?.to_vec();
            let mut out = oauth2::HttpResponse::new(body);
            *out.status_mut() = status;
            *out.headers_mut() = headers;
            Ok(out)
        })
    }
}

#[tokio::test]
async fn oauth2_crate_completes_auth_code_with_pkce() {
    let server = server("").await;
    let base = server.url();
    let client = BasicClient::new(ClientId::new("cliauth".to_owned()))
        .set_auth_uri(AuthUrl::new(format!("{base}/oauth/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{base}/oauth/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new("http://127.0.0.1:49152/callback".to_owned()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("sync".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    // The browser step: the mock answers with a redirect to the loopback listener.
    let resp = http().get(url.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(&params["state"], csrf.secret());
    let token = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .set_pkce_verifier(verifier)
        .request_async(&adapter())
        .await
        .unwrap();
    assert!(token.refresh_token().is_some());
    let me = get(&server, "/api/v1/me", Some(token.access_token().secret())).await;
    assert_eq!(me.2["username"], "alice");
    let refreshed = client
        .exchange_refresh_token(token.refresh_token().unwrap())
        .request_async(&adapter())
        .await
        .unwrap();
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        token.refresh_token().unwrap().secret()
    );
}

#[tokio::test]
async fn oauth2_crate_completes_the_device_flow_respecting_the_interval() {
    let server = server("[device]\napprove_after_polls = 3\n").await;
    let base = server.url();
    let client = BasicClient::new(ClientId::new("cliauth".to_owned()))
        .set_token_uri(TokenUrl::new(format!("{base}/oauth/token")).unwrap())
        .set_device_authorization_url(
            DeviceAuthorizationUrl::new(format!("{base}/oauth/device_authorization")).unwrap(),
        );
    let details: StandardDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("sync".to_owned()))
        .request_async(&adapter())
        .await
        .unwrap();
    assert_eq!(
        details.verification_uri().as_str(),
        format!("{base}/device")
    );
    // oauth2 sleeps `interval` between polls; the sleep moves the mock's clock instead of
    // waiting, so the test is instant and the server still measures the gaps.
    let sleep = |d: std::time::Duration| {
        server.advance_clock(d);
        std::future::ready(())
    };
    let token = client
        .exchange_device_access_token(&details)
        .request_async(&adapter(), sleep, None)
        .await
        .unwrap();
    assert_eq!(
        get(&server, "/api/v1/me", Some(token.access_token().secret()))
            .await
            .2["username"],
        "alice"
    );
    let polls: Vec<_> = server
        .journal()
        .into_iter()
        .filter(|e| e.grant_type.as_deref() == Some("urn:ietf:params:oauth:grant-type:device_code"))
        .collect();
    assert_eq!(polls.len(), 3);
    assert_eq!(polls.last().unwrap().status, 200);
    assert!(
        polls.iter().skip(1).all(|p| p.poll_gap_ms.unwrap() >= 5000),
        "{polls:?}"
    );
}
