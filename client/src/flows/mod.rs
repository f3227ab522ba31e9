//! Login protocols, one per module, over a discovered authorization server.
//!
//! cliauth asks for no scope beyond the server's default: many servers reject unknown scopes,
//! and the hosted API needs no special one.

pub(crate) mod browser;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod password;

use serde::Deserialize;

use crate::classify::{Error, Result};
use crate::clock::now_unix;
use crate::http::Http;
use crate::protocol::{AccessToken, ClientId, RefreshToken};
use crate::secret::Secret;
pub(crate) use discovery::ServerMetadata;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Deserialize)]
pub(crate) struct Tokens {
    /// The access token.
    pub access_token: AccessToken,
    /// `Bearer` (anything else is refused).
    #[serde(default)]
    pub token_type: Option<String>,
    /// Lifetime of the access token in seconds.
    #[serde(default)]
    pub expires_in: Option<u64>,
    /// The refresh token.
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// Lifetime of the refresh token in seconds (a common extension; Keycloak spells it
    /// `refresh_expires_in`).
    #[serde(default, alias = "refresh_expires_in")]
    pub refresh_token_expires_in: Option<u64>,
}

impl Tokens {
    /// Absolute expiry of the access token.
    pub(crate) fn access_expires_at(&self) -> Option<u64> {
        self.expires_in.map(|s| now_unix().saturating_add(s))
    }

    /// Absolute expiry of the refresh token.
    pub(crate) fn refresh_expires_at(&self) -> Option<u64> {
        self.refresh_token_expires_in
            .map(|s| now_unix().saturating_add(s))
    }
}

/// An OAuth client talking to one authorization server.
#[derive(Debug)]
pub(crate) struct OAuthClient<'a> {
    /// The HTTP client.
    pub http: &'a Http,
    /// The server's metadata.
    pub meta: &'a ServerMetadata,
    /// Our client id.
    pub client_id: ClientId,
}

impl OAuthClient<'_> {
    /// Calls the token endpoint with a grant (the client id is added).
    pub(crate) async fn grant(&self, form: &[(&str, &str)]) -> Result<Tokens> {
        let mut full: Vec<(&str, &str)> = form.to_vec();
        full.push(("client_id", self.client_id.as_str()));
        let tokens: Tokens = self
            .http
            .post_form_json(&self.meta.token_endpoint, &full, "the token endpoint")
            .await?;
        match tokens.token_type.as_deref() {
            None => Ok(tokens),
            Some(t) if t.eq_ignore_ascii_case("bearer") => Ok(tokens),
            Some(t) => Err(Error::Malformed {
                what: "the token endpoint".into(),
                detail: format!("unsupported token type {t:?}"),
            }),
        }
    }

    /// Refreshes with `refresh_token` (RFC 6749 §6).
    pub(crate) async fn refresh(&self, refresh_token: &RefreshToken) -> Result<Tokens> {
        self.grant(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ])
        .await
    }

    /// Revokes a token (RFC 7009). `Ok(false)` when the server has no revocation endpoint.
    pub(crate) async fn revoke(&self, token: &Secret, hint: &str) -> Result<bool> {
        let Some(endpoint) = &self.meta.revocation_endpoint else {
            return Ok(false);
        };
        self.http
            .post_form(
                endpoint,
                &[
                    ("token", token.expose()),
                    ("token_type_hint", hint),
                    ("client_id", self.client_id.as_str()),
                ],
                "the revocation endpoint",
            )
            .await?;
        Ok(true)
    }
}

/// Registers cliauth as a public native client (RFC 7591) and returns the client id.
pub(crate) async fn register_client(http: &Http, meta: &ServerMetadata) -> Result<ClientId> {
    #[derive(Deserialize)]
    struct Registered {
        client_id: String,
    }
    let Some(endpoint) = &meta.registration_endpoint else {
        return Err(Error::RegistrationFailed {
            detail: "the server has no registration endpoint".into(),
        });
    };
    let body = serde_json::json!({
        "client_name": "cliauth",
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "response_types": ["code"],
        "grant_types": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code",
            "password"
        ],
    });
    match http
        .post_json::<Registered>(endpoint, &body, "the registration endpoint")
        .await
    {
        Ok(r) if !r.client_id.is_empty() => Ok(ClientId::new(r.client_id)),
        Ok(_) => Err(Error::RegistrationFailed {
            detail: "the server returned an empty client_id".into(),
        }),
        Err(e @ (Error::Transport { .. } | Error::Unavailable { .. })) => Err(e),
        Err(e) => Err(Error::RegistrationFailed {
            detail: e.to_string(),
        }),
    }
}

/// Random URL-safe string of `bytes` random bytes (PKCE verifier, `state`).
pub(crate) fn random_urlsafe(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::fill(buf.as_mut_slice());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lifetimes in a token response become absolute times when the response arrives; both
    /// spellings of the refresh token's lifetime are understood.
    #[rstest::rstest]
    #[case::standard_name(r#"{"access_token":"a","token_type":"Bearer","expires_in":300,"refresh_token":"r","refresh_token_expires_in":86400}"#)]
    #[case::keycloak_name(r#"{"access_token":"a","token_type":"Bearer","expires_in":300,"refresh_token":"r","refresh_expires_in":86400}"#)]
    fn token_lifetimes_become_absolute_expiry_times(#[case] body: &str) {
        let tokens: Tokens = serde_json::from_str(body).unwrap();
        let before = now_unix();
        let access = tokens.access_expires_at().unwrap();
        let refresh = tokens.refresh_expires_at().unwrap();
        let after = now_unix();
        assert!((before + 300..=after + 300).contains(&access), "{access}");
        assert!(
            (before + 86_400..=after + 86_400).contains(&refresh),
            "{refresh}"
        );
    }

    /// RFC 7591: the client id the server assigns is the one used; an empty one is no
    /// registration at all and must not be stored as if it were.
    #[rstest::rstest]
    #[case::assigned("cli-42", Some("cli-42"))]
    #[case::empty("", None)]
    #[tokio::test]
    async fn registration_returns_the_assigned_client_id_and_refuses_an_empty_one(
        #[case] assigned: &str,
        #[case] expected: Option<&str>,
    ) {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/register"))
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(serde_json::json!({ "client_id": assigned })),
            )
            .mount(&server)
            .await;
        let base = url::Url::parse(&server.uri()).unwrap();
        let meta = ServerMetadata {
            registration_endpoint: Some(base.join("/register").unwrap()),
            ..ServerMetadata::token_only(&base)
        };
        let http = Http::without_proxy().unwrap();
        match (register_client(&http, &meta).await, expected) {
            (Ok(id), Some(want)) => assert_eq!(id.as_str(), want),
            (Err(e @ Error::RegistrationFailed { .. }), None) => {
                assert!(e.to_string().contains("empty client_id"), "{e}");
            }
            (other, _) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_refresh_token_without_a_lifetime_has_no_expiry() {
        let tokens: Tokens = serde_json::from_str(
            r#"{"access_token":"a","token_type":"Bearer","refresh_token":"r"}"#,
        )
        .unwrap();
        assert_eq!(tokens.access_expires_at(), None);
        assert_eq!(tokens.refresh_expires_at(), None);
    }
}
