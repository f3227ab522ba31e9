//! ID tokens signed in the test with a freshly generated ES256 key, the JWKS served by wiremock.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rstest::rstest;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::flows::ServerMetadata;
use crate::http::Http;

const CLIENT: &str = "cliauth-test";
const NONCE: &str = "n-0123456789abcdef0123456789abcdef";

/// A signing key and its public JWK.
struct Key {
    pair: EcdsaKeyPair,
    kid: String,
}

impl Key {
    fn new(kid: &str) -> Key {
        Key {
            pair: EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
            kid: kid.to_owned(),
        }
    }

    fn jwk(&self) -> Value {
        // An uncompressed P-256 point is 0x04 || x (32 bytes) || y (32 bytes).
        let point = self.pair.public_key().as_ref();
        json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        })
    }

    /// A compact JWS of `claims` with `header` (its `kid` is this key's unless it names one).
    fn sign(&self, mut header: Value, claims: &Value) -> String {
        if header.get("kid").is_none() {
            header["kid"] = self.kid.clone().into();
        }
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }
}

/// A server whose JWKS holds `key`; returns it and its metadata (issuer = its URL).
async fn server_with(key: &Key) -> (MockServer, ServerMetadata) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"keys": [key.jwk()]})))
        .mount(&server)
        .await;
    let base = url::Url::parse(&server.uri()).unwrap();
    let meta = ServerMetadata {
        jwks_uri: Some(base.join("/jwks").unwrap()),
        ..ServerMetadata::token_only(&base)
    };
    (server, meta)
}

fn good_claims(issuer: &str) -> Value {
    let now = now_unix();
    json!({
        "iss": issuer, "sub": "user-42", "aud": CLIENT, "exp": now + 300, "iat": now,
        "nonce": NONCE,
    })
}

async fn verify_with(
    meta: &ServerMetadata,
    token: &str,
    nonce: Option<&str>,
) -> Result<VerifiedIdToken> {
    let http = Http::without_proxy().unwrap();
    let client = OAuthClient {
        http: &http,
        meta,
        client_id: CLIENT.into(),
        secret: None,
        scope: None,
    };
    let nonce = nonce.map(Secret::new);
    verify(&client, &Secret::new(token), nonce.as_ref()).await
}

/// A well-formed ID token verifies and gives its subject, with or without a nonce check, and
/// with the issuer's trailing slash either way.
#[rstest]
#[case::with_nonce(Some(NONCE), "")]
#[case::without_nonce(None, "")]
#[case::issuer_with_slash(Some(NONCE), "/")]
#[tokio::test]
async fn a_good_id_token_gives_its_subject(#[case] nonce: Option<&str>, #[case] slash: &str) {
    let key = Key::new("k1");
    let (_server, meta) = server_with(&key).await;
    let issuer = format!("{}{slash}", display_url(meta.issuer.url()));
    let token = key.sign(json!({"alg": "ES256"}), &good_claims(&issuer));
    let verified = verify_with(&meta, &token, nonce).await.unwrap();
    assert_eq!(verified.sub, "user-42");
}

/// Each check of OIDC Core §3.1.3.7 refuses its own kind of bad token and says which check
/// failed; nothing of the token appears in the message.
#[rstest]
#[case::wrong_nonce("nonce", |c: &mut Value| c["nonce"] = "another".into())]
#[case::missing_nonce("nonce", |c: &mut Value| { c.as_object_mut().unwrap().remove("nonce"); })]
#[case::wrong_audience("aud", |c: &mut Value| c["aud"] = "someone-else".into())]
#[case::audience_list_without_us("aud", |c: &mut Value| c["aud"] = json!(["a", "b"]))]
#[case::several_audiences_no_azp("azp", |c: &mut Value| c["aud"] = json!([CLIENT, "b"]))]
#[case::azp_of_another("azp", |c: &mut Value| c["azp"] = "b".into())]
#[case::wrong_issuer("iss", |c: &mut Value| c["iss"] = "https://evil.example".into())]
#[case::no_issuer("iss", |c: &mut Value| { c.as_object_mut().unwrap().remove("iss"); })]
#[case::expired_past_the_leeway("exp", |c: &mut Value| c["exp"] = (now_unix() - ID_TOKEN_LEEWAY_SECS - 5).into())]
#[case::no_expiry("exp", |c: &mut Value| { c.as_object_mut().unwrap().remove("exp"); })]
#[case::no_subject("sub", |c: &mut Value| { c.as_object_mut().unwrap().remove("sub"); })]
#[tokio::test]
async fn a_bad_claim_is_refused_naming_the_check(
    #[case] check: &str,
    #[case] spoil: fn(&mut Value),
) {
    let key = Key::new("k1");
    let (_server, meta) = server_with(&key).await;
    let mut claims = good_claims(&display_url(meta.issuer.url()));
    spoil(&mut claims);
    let token = key.sign(json!({"alg": "ES256"}), &claims);
    let err = verify_with(&meta, &token, Some(NONCE)).await.unwrap_err();
    match &err {
        Error::IdTokenRejected { check: got, .. } => assert_eq!(got.name(), check, "{err}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(err.category().name(), "access_denied");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(&token) && !shown.contains(NONCE), "{shown}");
}

/// An expiry inside the leeway is clock skew, not an expired token.
#[tokio::test]
async fn an_expiry_within_the_leeway_is_accepted() {
    let key = Key::new("k1");
    let (_server, meta) = server_with(&key).await;
    let mut claims = good_claims(&display_url(meta.issuer.url()));
    claims["exp"] = (now_unix() - ID_TOKEN_LEEWAY_SECS / 2).into();
    let token = key.sign(json!({"alg": "ES256"}), &claims);
    assert!(verify_with(&meta, &token, Some(NONCE)).await.is_ok());
}

/// The signature must verify with the server's published key: a token signed by another key
/// (under the server's kid, or a kid the server does not have), a tampered payload, a
/// shared-secret algorithm, or no `jwks_uri` at all are refused as `signature`; a token that is
/// not a JWT as `format`.
/// Ways a token can fail to be the server's.
#[derive(Debug, Clone, Copy)]
enum Forgery {
    AnotherKeySameKid,
    UnknownKid,
    TamperedPayload,
    Hmac,
    NoJwksUri,
    NotAJwt,
}

/// The signature must verify with the server's published key: a token signed by another key
/// (under the server's kid, or a kid the server does not have), a tampered payload, a
/// shared-secret algorithm, or no `jwks_uri` at all are refused as `signature`; a token that is
/// not a JWT as `format`.
#[rstest]
#[case(Forgery::AnotherKeySameKid, "signature")]
#[case(Forgery::UnknownKid, "signature")]
#[case(Forgery::TamperedPayload, "signature")]
#[case(Forgery::Hmac, "signature")]
#[case(Forgery::NoJwksUri, "signature")]
#[case(Forgery::NotAJwt, "format")]
#[tokio::test]
async fn a_token_not_signed_by_the_server_is_refused(
    #[case] forgery: Forgery,
    #[case] check: &str,
) {
    let key = Key::new("k1");
    let (_server, mut meta) = server_with(&key).await;
    let claims = good_claims(&display_url(meta.issuer.url()));
    let header = json!({"alg": "ES256"});
    let token = match forgery {
        Forgery::AnotherKeySameKid => Key::new("k1").sign(header, &claims),
        Forgery::UnknownKid => Key::new("k2").sign(header, &claims),
        Forgery::TamperedPayload => {
            let good = key.sign(header, &claims);
            let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
            let mut evil = claims.clone();
            evil["sub"] = "admin".into();
            parts[1] = URL_SAFE_NO_PAD.encode(evil.to_string());
            parts.join(".")
        }
        Forgery::Hmac => key.sign(json!({"alg": "HS256"}), &claims),
        Forgery::NoJwksUri => {
            meta.jwks_uri = None;
            key.sign(header, &claims)
        }
        Forgery::NotAJwt => "not-a-jwt".to_owned(),
    };
    let err = verify_with(&meta, &token, Some(NONCE)).await.unwrap_err();
    match &err {
        Error::IdTokenRejected { check: got, .. } => {
            assert_eq!(got.name(), check, "{forgery:?}: {err}");
        }
        other => panic!("{forgery:?}: unexpected {other:?}"),
    }
}
