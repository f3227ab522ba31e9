//! Login protocols, one per module, over a discovered authorization server.
//!
//! A login asks for the configured scope, else for what a native client with refresh needs and
//! the server advertises (`openid`, `offline_access`; see [`ServerMetadata::default_scope`]),
//! else for none (the server's default). A refresh sends no scope: RFC 6749 §6 keeps the granted
//! one.

pub(crate) mod browser;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod id_token;
pub(crate) mod password;
pub(crate) mod register;

use serde::Deserialize;

use crate::classify::{Error, Result};
use crate::clock::now_unix;
use crate::http::{BasicAuth, Http};
use crate::protocol::{
    AccessToken, ClientAuthMethod, ClientId, RefreshToken, RegisteredSecret, Scope,
};
use crate::secret::Secret;
pub(crate) use discovery::ServerMetadata;
pub(crate) use register::register_client;

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
    /// An OpenID Connect ID token (OIDC Core §3.1.3.3); a login verifies it before using it.
    #[serde(default)]
    pub id_token: Option<Secret>,
    /// The granted scope (RFC 6749 §5.1; absent when it is the requested one). Kept as sent:
    /// it is only shown and stored, never sent back.
    #[serde(default)]
    pub scope: Option<String>,
}

/// Longest token lifetime (`expires_in`, `refresh_token_expires_in`) accepted: ten years.
/// Beyond it the value is a server bug, not a policy.
pub(crate) const MAX_TOKEN_LIFETIME_SECS: u64 = 10 * 366 * 86_400;

impl Tokens {
    /// Refuses a response no session may be built from: an empty or whitespace-only token, a
    /// `token_type` other than `Bearer` (any case; absent is tolerated), a lifetime beyond
    /// [`MAX_TOKEN_LIFETIME_SECS`]. The error is a `server_error` naming the field.
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |detail: String| Error::Malformed {
            what: "the token endpoint".into(),
            detail,
        };
        if self.access_token.expose().trim().is_empty() {
            return Err(bad("`access_token` is empty".into()));
        }
        if self
            .refresh_token
            .as_ref()
            .is_some_and(|r| r.expose().trim().is_empty())
        {
            return Err(bad("`refresh_token` is empty".into()));
        }
        if let Some(t) = self.token_type.as_deref()
            && !t.eq_ignore_ascii_case("bearer")
        {
            return Err(bad(format!(
                "`token_type` is {:?}, not Bearer",
                crate::ui::escape_controls(t)
            )));
        }
        for (field, value) in [
            ("expires_in", self.expires_in),
            ("refresh_token_expires_in", self.refresh_token_expires_in),
        ] {
            if let Some(v) = value.filter(|v| *v > MAX_TOKEN_LIFETIME_SECS) {
                return Err(bad(format!(
                    "`{field}` of {v} s is beyond the {MAX_TOKEN_LIFETIME_SECS} s this client accepts"
                )));
            }
        }
        Ok(())
    }

    /// The granted scope: the response's, else the one asked for (RFC 6749 §5.1 leaves it out
    /// when they are the same).
    pub(crate) fn granted_scope(&self, requested: Option<&Scope>) -> Option<Scope> {
        self.scope
            .as_deref()
            .and_then(Scope::parse)
            .or_else(|| requested.cloned())
    }

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
    /// The secret registration issued, presented as it was registered (none for a public
    /// client).
    pub secret: Option<RegisteredSecret>,
    /// The scope a login asks for.
    pub scope: Option<Scope>,
}

impl OAuthClient<'_> {
    /// Client authentication for a form (RFC 6749 §2.3.1): `client_id` (and with
    /// `client_secret_post` the secret) in the form, or HTTP Basic.
    fn authenticate<'f>(
        &'f self,
        form: &[(&'f str, &'f str)],
    ) -> (Vec<(&'f str, &'f str)>, Option<BasicAuth<'f>>) {
        let mut full: Vec<(&str, &str)> = form.to_vec();
        full.push(("client_id", self.client_id.as_str()));
        let basic = match &self.secret {
            None => None,
            Some(RegisteredSecret {
                secret,
                method: ClientAuthMethod::ClientSecretPost,
            }) => {
                full.push(("client_secret", secret.expose()));
                None
            }
            Some(RegisteredSecret {
                secret,
                method: ClientAuthMethod::ClientSecretBasic,
            }) => Some((&self.client_id, secret)),
        };
        (full, basic)
    }

    /// Calls the token endpoint with a grant (client authentication is added).
    pub(crate) async fn grant(&self, form: &[(&str, &str)]) -> Result<Tokens> {
        let (full, basic) = self.authenticate(form);
        let tokens: Tokens = self
            .http
            .post_form_json_as(
                &self.meta.token_endpoint,
                &full,
                basic,
                "the token endpoint",
            )
            .await?;
        tokens.validate()?;
        Ok(tokens)
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
        let (form, basic) =
            self.authenticate(&[("token", token.expose()), ("token_type_hint", hint)]);
        self.http
            .post_form_as(endpoint, &form, basic, "the revocation endpoint")
            .await?;
        Ok(true)
    }
}

/// Compares secrets (`state`, `nonce`) in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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

    /// RFC 6749 §2.3.1: a `client_secret_basic` client sends HTTP Basic with the
    /// form-urlencoded id and secret, a `client_secret_post` client sends both in the form; a
    /// public client only its id.
    #[rstest::rstest]
    #[case::basic(Some(ClientAuthMethod::ClientSecretBasic))]
    #[case::post(Some(ClientAuthMethod::ClientSecretPost))]
    #[case::public(None)]
    #[tokio::test]
    async fn the_token_request_authenticates_as_registered(
        #[case] method: Option<ClientAuthMethod>,
    ) {
        use base64::Engine;
        use wiremock::matchers::{method as http_method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(http_method("POST"))
            .and(path("/token"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({"access_token": "a", "token_type": "Bearer"}),
                ),
            )
            .mount(&server)
            .await;
        let base = url::Url::parse(&server.uri()).unwrap();
        let meta = ServerMetadata::token_only(&base);
        let http = Http::without_proxy().unwrap();
        let client = OAuthClient {
            http: &http,
            meta: &meta,
            client_id: "my client".into(),
            secret: method.map(|method| RegisteredSecret {
                secret: crate::protocol::ClientSecret::new("s&cret"),
                method,
            }),
            scope: None,
        };
        client.grant(&[("grant_type", "password")]).await.unwrap();
        let request = &server.received_requests().await.unwrap()[0];
        let form = String::from_utf8(request.body.clone()).unwrap();
        let authorization = request
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("my+client:s%26cret")
        );
        match method {
            Some(ClientAuthMethod::ClientSecretBasic) => {
                assert_eq!(authorization.as_deref(), Some(basic.as_str()));
                assert!(!form.contains("client_secret"), "{form}");
            }
            Some(ClientAuthMethod::ClientSecretPost) => {
                assert_eq!(authorization, None);
                assert!(form.contains("client_secret=s%26cret"), "{form}");
            }
            None => {
                assert_eq!(authorization, None);
                assert!(!form.contains("client_secret"), "{form}");
            }
        }
        assert!(form.contains("client_id=my+client"), "{form}");
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
