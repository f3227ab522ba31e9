//! OpenID Connect: ID tokens from the code, device and refresh grants (OIDC Core §3.1.3.6,
//! §12.2), userinfo's `sub`, OpenID discovery, the switch that turns it off, and the fault knob
//! that mints broken ID tokens.

use base64::Engine as _;
use cliauth_mock::MockServer;
use rstest::rstest;
use serde_json::Value;
use sha2::Digest as _;

use crate::support::{get, http, pkce_pair, post_form, refresh, s, server};

const REDIRECT: &str = "http://127.0.0.1:53682/callback";
const NONCE: &str = "n-0S6_WzA2Mj";

/// The code flow with PKCE, `scope` and `nonce`; returns the token response.
pub(crate) async fn code_flow(server: &MockServer, scope: &str, client_id: &str) -> Value {
    let (verifier, challenge) = pkce_pair();
    let resp = http()
        .get(format!("{}/oauth/authorize", server.url()))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("state", "st"),
            ("nonce", NONCE),
            ("scope", scope),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = url::Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map_or_else(|| panic!("no code in {location}"), |(_, v)| v.into_owned());
    let (status, body) = post_form(
        server,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Verifies an ID token against the JWKS as a relying party would (OIDC Core §3.1.3.7, steps
/// 2, 3, 6, 9); returns its claims or the verifier's error.
async fn verify(
    server: &MockServer,
    id_token: &str,
    audience: &str,
) -> Result<Value, jsonwebtoken::errors::ErrorKind> {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let (_, _, jwks) = get(server, "/jwks.json", None).await;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks).unwrap();
    let key =
        jsonwebtoken::DecodingKey::from_jwk(set.find(header.kid.as_deref().unwrap()).unwrap())
            .unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[server.issuer()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(id_token, &key, &validation)
        .map(|d| d.claims)
        .map_err(jsonwebtoken::errors::Error::into_kind)
}

fn at_hash(access_token: &str) -> String {
    let digest = sha2::Sha256::digest(access_token.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

#[rstest]
#[case::es256("ES256")]
#[case::rs256("RS256")]
#[tokio::test]
async fn the_openid_code_flow_returns_a_verifiable_id_token(#[case] alg: &str) {
    let server = server(&format!("[tokens]\nalgorithm = \"{alg}\"\n")).await;
    let tokens = code_flow(&server, "openid profile", "cliauth").await;
    let claims = verify(&server, s(&tokens, "id_token"), "cliauth")
        .await
        .unwrap();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], NONCE);
    assert_eq!(claims["at_hash"], at_hash(s(&tokens, "access_token")));
    let (iat, auth_time) = (
        claims["iat"].as_u64().unwrap(),
        claims["auth_time"].as_u64().unwrap(),
    );
    assert!(auth_time <= iat && iat < claims["exp"].as_u64().unwrap());
    assert!(
        server
            .issued_secrets()
            .iter()
            .any(|t| t == s(&tokens, "id_token"))
    );
}

#[tokio::test]
async fn the_device_grant_returns_an_id_token_for_openid() {
    let server = server("[device]\ninterval = 0\napprove_after_polls = 1\n").await;
    let (_, started) = post_form(
        &server,
        "/oauth/device_authorization",
        &[("client_id", "cliauth"), ("scope", "openid")],
    )
    .await;
    let (status, tokens) = post_form(
        &server,
        "/oauth/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", s(&started, "device_code")),
            ("client_id", "cliauth"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verify(&server, s(&tokens, "id_token"), "cliauth")
        .await
        .unwrap();
    assert_eq!(claims["sub"], "alice");
    assert!(claims.get("nonce").is_none(), "{claims}");
}

#[tokio::test]
async fn a_refreshed_id_token_keeps_auth_time_and_drops_the_nonce() {
    let server = MockServer::start().await;
    let tokens = code_flow(&server, "openid", "cliauth").await;
    let first = verify(&server, s(&tokens, "id_token"), "cliauth")
        .await
        .unwrap();
    server.advance_clock(std::time::Duration::from_secs(120));
    let (status, refreshed) = refresh(&server, s(&tokens, "refresh_token")).await;
    assert_eq!(status, 200, "{refreshed}");
    let again = verify(&server, s(&refreshed, "id_token"), "cliauth")
        .await
        .unwrap();
    // OIDC Core §12.2: same iss, sub, aud and auth_time; a new iat; no nonce.
    for claim in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(first[claim], again[claim], "{claim}");
    }
    assert!(again["iat"].as_u64() > first["iat"].as_u64());
    assert!(again.get("nonce").is_none(), "{again}");
    assert_eq!(again["at_hash"], at_hash(s(&refreshed, "access_token")));
}

#[tokio::test]
async fn no_id_token_without_the_openid_scope() {
    let server = MockServer::start().await;
    let tokens = code_flow(&server, "sync", "cliauth").await;
    assert!(tokens.get("id_token").is_none(), "{tokens}");
}

#[tokio::test]
async fn userinfo_has_sub_and_keeps_its_fields() {
    let server = MockServer::start().await;
    let tokens = code_flow(&server, "openid", "cliauth").await;
    let (status, _, me) = get(&server, "/api/v1/me", Some(s(&tokens, "access_token"))).await;
    assert_eq!(status, 200);
    assert_eq!(me["sub"], "alice");
    for field in ["user_id", "username", "email", "name", "teams"] {
        assert!(me.get(field).is_some(), "{field} missing in {me}");
    }
}

#[tokio::test]
async fn openid_discovery_has_what_oidc_discovery_requires() {
    let server = MockServer::start().await;
    let (status, _, m) = get(&server, "/.well-known/openid-configuration", None).await;
    assert_eq!(status, 200);
    for field in [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "scopes_supported",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "claims_supported",
    ] {
        assert!(m.get(field).is_some(), "{field} missing");
    }
    let scopes = m["scopes_supported"].as_array().unwrap();
    assert!(scopes.iter().any(|x| x == "openid"));
}

#[tokio::test]
async fn with_openid_off_nothing_openid_is_advertised_or_issued() {
    let server = server("[openid]\nenabled = false\n").await;
    let (status, _, body) = get(&server, "/.well-known/openid-configuration", None).await;
    assert_eq!((status, s(&body, "error")), (404, "not_found"));
    let (_, _, m) = get(&server, "/.well-known/oauth-authorization-server", None).await;
    let scopes = m["scopes_supported"].as_array().unwrap();
    assert!(!scopes.iter().any(|x| x == "openid"), "{m}");
    assert!(m.get("userinfo_endpoint").is_none());
    let tokens = code_flow(&server, "openid", "cliauth").await;
    assert!(tokens.get("id_token").is_none(), "{tokens}");
}

#[rstest]
#[case::wrong_nonce("wrong_nonce", None)]
#[case::wrong_aud("wrong_aud", Some(jsonwebtoken::errors::ErrorKind::InvalidAudience))]
#[case::wrong_iss("wrong_iss", Some(jsonwebtoken::errors::ErrorKind::InvalidIssuer))]
#[case::expired("expired", Some(jsonwebtoken::errors::ErrorKind::ExpiredSignature))]
#[case::bad_signature(
    "bad_signature",
    Some(jsonwebtoken::errors::ErrorKind::InvalidSignature)
)]
#[tokio::test]
async fn id_token_faults_mint_tokens_a_relying_party_refuses(
    #[case] fault: &str,
    #[case] refused_with: Option<jsonwebtoken::errors::ErrorKind>,
) {
    let server = server(&format!("[openid]\nid_token_fault = \"{fault}\"\n")).await;
    let tokens = code_flow(&server, "openid", "cliauth").await;
    let verified = verify(&server, s(&tokens, "id_token"), "cliauth").await;
    if let Some(kind) = refused_with {
        assert_eq!(verified.unwrap_err(), kind);
    } else {
        let claims = verified.unwrap();
        assert!(claims["nonce"].is_string());
        assert_ne!(claims["nonce"], NONCE);
    }
    // The access token stays good: only the ID token is broken.
    let (status, _, _) = get(&server, "/api/v1/me", Some(s(&tokens, "access_token"))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_unknown_id_token_fault_is_a_config_error_naming_it() {
    let err = cliauth_mock::Config::from_toml_str("[openid]\nid_token_fault = \"wrong_sub\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("wrong_sub") && err.contains("wrong_nonce"),
        "{err}"
    );
}
