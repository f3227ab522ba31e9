//! Discovery (RFC 8414), JWKS and the JWT access tokens they let a client verify.

use cliauth_mock::MockServer;
use rstest::rstest;

use crate::support::{get, password_login, s, server};

#[rstest]
#[case::oauth("/.well-known/oauth-authorization-server")]
#[case::openid("/.well-known/openid-configuration")]
#[tokio::test]
async fn discovery_lists_every_endpoint_grant_and_only_s256(#[case] path: &str) {
    let server = MockServer::start().await;
    let (status, _, m) = get(&server, path, None).await;
    assert_eq!(status, 200);
    let base = server.url();
    assert_eq!(s(&m, "issuer"), server.issuer());
    for (key, suffix) in [
        ("authorization_endpoint", "/oauth/authorize"),
        ("token_endpoint", "/oauth/token"),
        (
            "device_authorization_endpoint",
            "/oauth/device_authorization",
        ),
        ("revocation_endpoint", "/oauth/revoke"),
        ("introspection_endpoint", "/oauth/introspect"),
        ("registration_endpoint", "/oauth/register"),
        ("jwks_uri", "/jwks.json"),
    ] {
        assert_eq!(s(&m, key), format!("{base}{suffix}"), "{key}");
    }
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    let grants = m["grant_types_supported"].as_array().unwrap();
    for g in [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
        "password",
    ] {
        assert!(grants.iter().any(|x| x == g), "{g}");
    }
}

#[tokio::test]
async fn configured_issuer_is_advertised_and_used_in_tokens() {
    let server = server("issuer = \"http://127.0.0.1/tenant\"\n").await;
    assert_eq!(server.issuer(), "http://127.0.0.1/tenant");
    let (_, _, m) = get(&server, "/.well-known/oauth-authorization-server", None).await;
    assert_eq!(s(&m, "issuer"), "http://127.0.0.1/tenant");
}

#[tokio::test]
async fn registration_endpoint_is_not_advertised_when_disabled() {
    let server = server("[registration]\nenabled = false\n").await;
    let (_, _, m) = get(&server, "/.well-known/oauth-authorization-server", None).await;
    assert!(m.get("registration_endpoint").is_none());
}

#[rstest]
#[case::es256("ES256", jsonwebtoken::Algorithm::ES256)]
#[case::rs256("RS256", jsonwebtoken::Algorithm::RS256)]
#[tokio::test]
async fn access_tokens_verify_against_the_published_jwks(
    #[case] alg: &str,
    #[case] expected: jsonwebtoken::Algorithm,
) {
    let server = server(&format!(
        "[tokens]\nalgorithm = \"{alg}\"\naudience = \"sync-api\"\n"
    ))
    .await;
    let tokens = password_login(&server, "alice").await;
    let jwt = s(&tokens, "access_token");
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, expected);
    let (_, _, jwks) = get(&server, "/jwks.json", None).await;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(expected);
    validation.set_audience(&["sync-api"]);
    validation.set_issuer(&[server.issuer()]);
    let data = jsonwebtoken::decode::<serde_json::Value>(jwt, &key, &validation).unwrap();
    let claims = data.claims;
    assert_eq!(claims["sub"], "alice");
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "scope"] {
        assert!(claims.get(claim).is_some(), "{claim} missing");
    }
}

#[tokio::test]
async fn opaque_tokens_are_not_jwts_but_still_work() {
    let server = server("[tokens]\nformat = \"opaque\"\n").await;
    let tokens = password_login(&server, "alice").await;
    let at = s(&tokens, "access_token");
    assert!(at.starts_with("mat_") && !at.contains('.'));
    let (status, _, me) = get(&server, "/api/v1/me", Some(at)).await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "alice");
}
