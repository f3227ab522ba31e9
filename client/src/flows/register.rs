//! Dynamic client registration (RFC 7591): cliauth registers itself as a public native client,
//! asking only for the grants it will use and the server advertises (finding I3), and keeps a
//! secret the server issues anyway, to present it as registered.

use serde::Deserialize;

use super::ServerMetadata;
use crate::classify::{Error, Result};
use crate::http::Http;
use crate::protocol::{ClientAuthMethod, ClientId, ClientSecret, RegisteredSecret};

/// The grants cliauth can use, and when it would use each.
const GRANTS: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "password",
];

/// What registration gave: the client id, and a secret when the server issued one.
#[derive(Debug)]
pub(crate) struct Registration {
    /// The assigned client id.
    pub client_id: ClientId,
    /// The issued secret and how to present it.
    pub secret: Option<RegisteredSecret>,
}

/// The grants to register for: those cliauth will use with this server (a grant whose endpoint
/// the server lacks is of no use) and that the server advertises (RFC 8414 §2, with its default
/// when it lists none).
pub(crate) fn grants_to_register(meta: &ServerMetadata) -> Vec<&'static str> {
    GRANTS
        .into_iter()
        .filter(|g| match *g {
            "authorization_code" => meta.authorization_endpoint.is_some(),
            "urn:ietf:params:oauth:grant-type:device_code" => {
                meta.device_authorization_endpoint.is_some()
            }
            _ => true,
        })
        .filter(|g| meta.advertises_grant(g))
        .collect()
}

/// Registers cliauth as a public native client (RFC 7591), asking for `token_endpoint_auth_method
/// = none` and only the grants of [`grants_to_register`]. A secret in the answer is kept and
/// used as the answer says (`client_secret_basic` when it names no method, RFC 7591 §2).
pub(crate) async fn register_client(http: &Http, meta: &ServerMetadata) -> Result<Registration> {
    #[derive(Deserialize)]
    struct Registered {
        client_id: String,
        #[serde(default)]
        client_secret: Option<ClientSecret>,
        #[serde(default)]
        token_endpoint_auth_method: Option<String>,
    }
    let Some(endpoint) = &meta.registration_endpoint else {
        return Err(Error::RegistrationFailed {
            detail: "the server has no registration endpoint".into(),
        });
    };
    let grants = grants_to_register(meta);
    if grants.is_empty() {
        return Err(Error::RegistrationFailed {
            detail: "the server advertises no grant type cliauth can use".into(),
        });
    }
    let mut body = serde_json::json!({
        "client_name": "cliauth",
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "grant_types": grants,
    });
    if grants.contains(&"authorization_code") {
        body["redirect_uris"] = serde_json::json!(["http://127.0.0.1/callback"]);
        body["response_types"] = serde_json::json!(["code"]);
    } else {
        body["response_types"] = serde_json::json!([]);
    }
    let registered = match http
        .post_json::<Registered>(endpoint, &body, "the registration endpoint")
        .await
    {
        Ok(r) if !r.client_id.is_empty() => r,
        Ok(_) => {
            return Err(Error::RegistrationFailed {
                detail: "the server returned an empty client_id".into(),
            });
        }
        Err(e @ (Error::Transport { .. } | Error::Unavailable { .. })) => return Err(e),
        Err(e) => {
            return Err(Error::RegistrationFailed {
                detail: e.to_string(),
            });
        }
    };
    let secret = match (
        registered.client_secret,
        registered.token_endpoint_auth_method.as_deref(),
    ) {
        (None, _) | (Some(_), Some("none")) => None,
        (Some(secret), None) => Some(RegisteredSecret {
            secret,
            method: ClientAuthMethod::ClientSecretBasic,
        }),
        (Some(secret), Some(name)) => match ClientAuthMethod::from_name(name) {
            Some(method) => Some(RegisteredSecret { secret, method }),
            None => {
                return Err(Error::RegistrationFailed {
                    detail: format!(
                        "the server registered token_endpoint_auth_method {name:?}, which cliauth cannot use"
                    ),
                });
            }
        },
    };
    Ok(Registration {
        client_id: ClientId::new(registered.client_id),
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            authorization_endpoint: Some(base.join("/authorize").unwrap()),
            registration_endpoint: Some(base.join("/register").unwrap()),
            ..ServerMetadata::token_only(&base)
        };
        let http = Http::without_proxy().unwrap();
        match (register_client(&http, &meta).await, expected) {
            (Ok(r), Some(want)) => assert_eq!(r.client_id.as_str(), want),
            (Err(e @ Error::RegistrationFailed { .. }), None) => {
                assert!(e.to_string().contains("empty client_id"), "{e}");
            }
            (other, _) => panic!("unexpected {other:?}"),
        }
    }

    /// A registration at `/register` answered with `answer`, for a server with browser and
    /// device endpoints that advertises `grants`; returns the outcome and the request body.
    async fn register_with(
        grants: Option<&[&str]>,
        answer: serde_json::Value,
    ) -> (Result<Registration>, serde_json::Value) {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/register"))
            .respond_with(ResponseTemplate::new(201).set_body_json(answer))
            .mount(&server)
            .await;
        let base = url::Url::parse(&server.uri()).unwrap();
        let meta = ServerMetadata {
            authorization_endpoint: Some(base.join("/authorize").unwrap()),
            device_authorization_endpoint: Some(base.join("/device").unwrap()),
            registration_endpoint: Some(base.join("/register").unwrap()),
            grant_types_supported: grants.map(|g| g.iter().map(|s| (*s).to_owned()).collect()),
            ..ServerMetadata::token_only(&base)
        };
        let result = register_client(&Http::without_proxy().unwrap(), &meta).await;
        let requests = server.received_requests().await.unwrap();
        let body = requests
            .first()
            .map_or(serde_json::Value::Null, |r| r.body_json().unwrap());
        (result, body)
    }

    /// Finding I3: registration asks only for grants the server advertises (RFC 8414 §2's
    /// default `authorization_code`/`implicit` when it lists none), always as a public client.
    #[rstest::rstest]
    #[case::provider_without_password(
        Some(&["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "implicit"][..]),
        &["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"][..]
    )]
    #[case::everything(
        Some(&["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "password"][..]),
        &["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "password"][..]
    )]
    #[case::nothing_listed(None, &["authorization_code"][..])]
    #[tokio::test]
    async fn registration_asks_only_for_advertised_grants(
        #[case] advertised: Option<&[&str]>,
        #[case] asked: &[&str],
    ) {
        let (result, body) =
            register_with(advertised, serde_json::json!({"client_id": "c1"})).await;
        assert!(result.unwrap().secret.is_none());
        assert_eq!(body["grant_types"], serde_json::json!(asked));
        assert_eq!(body["token_endpoint_auth_method"], "none");
    }

    /// RFC 7591 §3.2.1: a secret in the answer is kept with the method the answer names
    /// (`client_secret_basic` when it names none); a method cliauth cannot use is refused
    /// without showing the secret.
    #[rstest::rstest]
    #[case::basic(
        Some("client_secret_basic"),
        Ok(Some(ClientAuthMethod::ClientSecretBasic))
    )]
    #[case::post(
        Some("client_secret_post"),
        Ok(Some(ClientAuthMethod::ClientSecretPost))
    )]
    #[case::unnamed(None, Ok(Some(ClientAuthMethod::ClientSecretBasic)))]
    #[case::none(Some("none"), Ok(None))]
    #[case::unusable(
        Some("private_key_jwt"),
        Err("\"private_key_jwt\", which cliauth cannot use")
    )]
    #[tokio::test]
    async fn a_registered_secret_is_kept_with_its_method(
        #[case] method: Option<&str>,
        #[case] want: std::result::Result<Option<ClientAuthMethod>, &str>,
    ) {
        let mut answer = serde_json::json!({"client_id": "c1", "client_secret": "s3cret-value"});
        if let Some(m) = method {
            answer["token_endpoint_auth_method"] = m.into();
        }
        let (result, _) = register_with(None, answer).await;
        match (result, want) {
            (Ok(r), Ok(m)) => {
                assert_eq!(r.secret.as_ref().map(|s| s.method), m);
                if let Some(s) = r.secret {
                    assert_eq!(s.secret.expose(), "s3cret-value");
                }
            }
            (Err(e), Err(text)) => {
                let shown = format!("{e} {e:?}");
                assert!(shown.contains(text), "{shown}");
                assert!(!shown.contains("s3cret-value"), "{shown}");
            }
            (other, want) => panic!("unexpected {other:?}, wanted {want:?}"),
        }
    }
}
