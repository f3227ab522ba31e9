//! Finding the authorization server: the issuer (config, `/api/v1/meta`, or the server URL) and
//! its metadata (RFC 8414, falling back to OpenID Connect discovery). No OAuth path is ever
//! hard-coded.

use serde::Deserialize;
use url::Url;

use crate::classify::{Error, Result};
use crate::config::{check_url_security, display_url, join_url};
use crate::http::Http;
pub(crate) use crate::metadata::ServerMetadata;
use crate::protocol::IssuerUrl;

/// `GET /api/v1/meta` of the hosted API.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ApiMeta {
    /// False on zero-auth servers.
    #[serde(default = "default_true")]
    pub auth_required: bool,
    /// The issuer the hosted API trusts.
    #[serde(default)]
    pub issuer: Option<String>,
}

fn default_true() -> bool {
    true
}

#[derive(Deserialize)]
pub(crate) struct RawMetadata {
    issuer: String,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    registration_endpoint: Option<String>,
    grant_types_supported: Option<Vec<String>>,
    scopes_supported: Option<Vec<String>>,
    jwks_uri: Option<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

/// Reads `/api/v1/meta`; `None` when the server has none (404) or it is not JSON.
pub(crate) async fn fetch_api_meta(http: &Http, server: &Url) -> Result<Option<ApiMeta>> {
    match http
        .get_json::<ApiMeta>(
            &join_url(server, "/api/v1/meta"),
            "the server's /api/v1/meta",
        )
        .await
    {
        Ok(m) => Ok(Some(m)),
        Err(Error::ServerStatus { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The issuer: configured, else `/api/v1/meta`'s, else the server URL.
pub(crate) fn choose_issuer(
    configured: Option<&Url>,
    meta: Option<&ApiMeta>,
    server: &Url,
) -> Result<IssuerUrl> {
    if let Some(i) = configured {
        return Ok(IssuerUrl::new(i.clone()));
    }
    if let Some(raw) = meta.and_then(|m| m.issuer.as_deref()) {
        return crate::config::parse_server_url(raw, "issuer advertised by /api/v1/meta")
            .map(IssuerUrl::new);
    }
    Ok(IssuerUrl::new(server.clone()))
}

/// RFC 8414 §3: the well-known suffix goes between the host and the issuer's path.
fn well_known(issuer: &Url, suffix: &str) -> Url {
    let mut url = issuer.clone();
    let path = issuer.path().trim_end_matches('/');
    url.set_path(&format!("/.well-known/{suffix}{path}"));
    url.set_query(None);
    url
}

/// Fetches and validates the issuer's metadata.
pub(crate) async fn discover(http: &Http, issuer: &IssuerUrl) -> Result<ServerMetadata> {
    let primary = well_known(issuer.url(), "oauth-authorization-server");
    let raw: RawMetadata = match http
        .get_json(&primary, "the authorization server's discovery document")
        .await
    {
        Ok(m) => m,
        Err(Error::ServerStatus { status: 404, .. }) => {
            // OpenID Connect Discovery appends the suffix to the issuer's path.
            let oidc = join_url(issuer.url(), "/.well-known/openid-configuration");
            match http
                .get_json(&oidc, "the authorization server's discovery document")
                .await
            {
                Ok(m) => m,
                Err(Error::ServerStatus { status: 404, .. }) => {
                    return Err(Error::NoDiscoveryDocument {
                        issuer: display_url(issuer.url()),
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    validate(issuer, raw)
}

pub(crate) fn validate(issuer: &IssuerUrl, raw: RawMetadata) -> Result<ServerMetadata> {
    let want = display_url(issuer.url());
    if raw.issuer.trim_end_matches('/') != want {
        return Err(Error::IssuerMismatch {
            reported: raw.issuer,
            expected: want,
        });
    }
    let endpoint = |name: &str, v: Option<String>| -> Result<Option<Url>> {
        match v {
            None => Ok(None),
            Some(s) => {
                let url = Url::parse(&s).map_err(|e| Error::Malformed {
                    what: "the discovery document".into(),
                    detail: format!("{name} is not a URL ({e})"),
                })?;
                check_url_security(&url)?;
                Ok(Some(url))
            }
        }
    };
    let token_endpoint =
        endpoint("token_endpoint", raw.token_endpoint)?.ok_or_else(|| Error::Malformed {
            what: "the discovery document".into(),
            detail: "it has no token_endpoint".into(),
        })?;
    Ok(ServerMetadata {
        issuer: issuer.clone(),
        authorization_endpoint: endpoint("authorization_endpoint", raw.authorization_endpoint)?,
        token_endpoint,
        device_authorization_endpoint: endpoint(
            "device_authorization_endpoint",
            raw.device_authorization_endpoint,
        )?,
        revocation_endpoint: endpoint("revocation_endpoint", raw.revocation_endpoint)?,
        registration_endpoint: endpoint("registration_endpoint", raw.registration_endpoint)?,
        grant_types_supported: raw.grant_types_supported,
        scopes_supported: raw.scopes_supported,
        jwks_uri: endpoint("jwks_uri", raw.jwks_uri)?,
        authorization_response_iss_parameter_supported: raw
            .authorization_response_iss_parameter_supported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[test]
    fn well_known_inserts_before_the_issuer_path() {
        let i = Url::parse("https://h/tenant1").unwrap();
        assert_eq!(
            well_known(&i, "oauth-authorization-server").as_str(),
            "https://h/.well-known/oauth-authorization-server/tenant1"
        );
        let i = Url::parse("https://h").unwrap();
        assert_eq!(
            well_known(&i, "oauth-authorization-server").as_str(),
            "https://h/.well-known/oauth-authorization-server"
        );
    }

    #[tokio::test]
    async fn falls_back_to_openid_configuration() {
        let server = MockServer::start().await;
        let base = server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/openid-configuration"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "issuer": base, "token_endpoint": format!("{base}/t"),
                "revocation_endpoint": format!("{base}/r")
            })))
            .mount(&server)
            .await;
        let m = discover(
            &Http::without_proxy().unwrap(),
            &IssuerUrl::new(Url::parse(&base).unwrap()),
        )
        .await
        .unwrap();
        assert_eq!(m.token_endpoint.path(), "/t");
        assert!(m.device_authorization_endpoint.is_none());
    }

    #[tokio::test]
    async fn insecure_endpoints_are_refused() {
        let server = MockServer::start().await;
        let base = server.uri();
        Mock::given(method("GET"))
            .and(path("/.well-known/oauth-authorization-server"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "issuer": base, "token_endpoint": "http://evil.example/t"
            })))
            .mount(&server)
            .await;
        let err = discover(
            &Http::without_proxy().unwrap(),
            &IssuerUrl::new(Url::parse(&base).unwrap()),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::InsecureUrl { .. }), "{err:?}");
    }

    /// A server must opt out of authentication explicitly: a `/api/v1/meta` that does not
    /// mention `auth_required` (an older server, one that only names its issuer) means logging in
    /// is required.
    #[rstest]
    #[case::not_mentioned("{}", true)]
    #[case::only_the_issuer(r#"{"issuer": "https://id.example"}"#, true)]
    #[case::required(r#"{"auth_required": true}"#, true)]
    #[case::zero_auth(r#"{"auth_required": false}"#, false)]
    fn auth_is_required_unless_the_server_says_otherwise(
        #[case] json: &str,
        #[case] required: bool,
    ) {
        let meta: ApiMeta = serde_json::from_str(json).unwrap();
        assert_eq!(meta.auth_required, required);
    }

    /// A grant is offered when the server lists it, or when it lists nothing at all (RFC 8414
    /// makes the list optional); a listed set without it means the server does not offer it.
    #[rstest]
    #[case::not_listed_at_all(None, "password", true)]
    #[case::listed(Some(&["authorization_code", "password"][..]), "password", true)]
    #[case::listed_alone(Some(&["password"][..]), "password", true)]
    #[case::missing_from_the_list(Some(&["authorization_code", "refresh_token"][..]), "password", false)]
    #[case::empty_list(Some(&[][..]), "password", false)]
    fn grant_support_follows_the_advertised_list(
        #[case] listed: Option<&[&str]>,
        #[case] grant: &str,
        #[case] supported: bool,
    ) {
        let base = Url::parse("https://id.example").unwrap();
        let meta = ServerMetadata {
            grant_types_supported: listed.map(|l| l.iter().map(|g| (*g).to_owned()).collect()),
            ..ServerMetadata::token_only(&base)
        };
        assert_eq!(meta.supports_grant(grant), supported);
    }
}
