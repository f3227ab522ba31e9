//! What the server parses from a request before routing it: form, JSON, query, credentials and
//! the peer. The fault layer parses it once; handlers take it as the [`Ctx`] extractor.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use base64::Engine as _;
use bytes::Bytes;
use http::header;
use http::request::Parts;

use crate::oauth_error::OAuthError;
use crate::tokens::fingerprint;

/// What the server parsed from a request before routing it. Its `Debug` shows field names,
/// the Basic client id and the bearer's fingerprint, never a value that may be a secret.
pub(crate) struct RequestCtx {
    /// Form fields when the body is `application/x-www-form-urlencoded`.
    pub(crate) form: Option<Result<HashMap<String, String>, String>>,
    /// The JSON body when the content type is JSON.
    pub(crate) json: Option<Result<serde_json::Value, String>>,
    /// Query parameters (a repeated parameter is an error, kept as `Err`).
    pub(crate) query: Result<HashMap<String, String>, String>,
    /// HTTP Basic credentials (RFC 6749 §2.3.1); `Err` says why the header is malformed.
    pub(crate) basic: Option<Result<(String, String), String>>,
    /// The bearer token sent, if any.
    pub(crate) bearer: Option<String>,
    /// The peer address; `None` when the router is served without connect info.
    pub(crate) peer: Option<SocketAddr>,
}

impl std::fmt::Debug for RequestCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn keys(map: &HashMap<String, String>) -> Vec<&str> {
            let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
            keys.sort_unstable();
            keys
        }
        f.debug_struct("RequestCtx")
            .field(
                "form_fields",
                &self.form.as_ref().map(|f| f.as_ref().map(keys)),
            )
            .field("json_ok", &self.json.as_ref().map(Result::is_ok))
            .field("query_fields", &self.query.as_ref().map(keys))
            .field(
                "basic_client_id",
                &self
                    .basic
                    .as_ref()
                    .map(|b| b.as_ref().map(|(id, _)| id.as_str())),
            )
            .field(
                "bearer_fingerprint",
                &self.bearer.as_deref().map(fingerprint),
            )
            .field("peer", &self.peer)
            .finish()
    }
}

/// The request context as an axum extractor: handlers take `ctx: Ctx` and read the parsed
/// request through it. The fault layer (part of every router the crate builds) attaches the
/// context before routing, so a handler never parses the body twice.
#[derive(Debug, Clone)]
pub(crate) struct Ctx(pub(crate) Arc<RequestCtx>);

impl std::ops::Deref for Ctx {
    type Target = RequestCtx;

    fn deref(&self) -> &RequestCtx {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = OAuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, OAuthError> {
        parts
            .extensions
            .get::<Arc<RequestCtx>>()
            .map(|ctx| Self(Arc::clone(ctx)))
            .ok_or_else(|| OAuthError::server_error("the request context is missing"))
    }
}

impl RequestCtx {
    /// Parses what every handler and the rule layer read from a request.
    pub(crate) fn parse(parts: &Parts, bytes: &Bytes, peer: Option<SocketAddr>) -> Self {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let form = (content_type.as_deref() == Some("application/x-www-form-urlencoded"))
            .then(|| parse_form(bytes));
        let json = content_type
            .as_deref()
            .filter(|c| *c == "application/json" || c.ends_with("+json"))
            .map(|_| {
                serde_json::from_slice::<serde_json::Value>(bytes)
                    .map_err(|e| format!("the body is not valid JSON: {e}"))
            });
        let query = parse_form(parts.uri.query().unwrap_or("").as_bytes());
        let auth = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let (scheme, value) = auth.and_then(|a| a.split_once(' ')).unwrap_or(("", ""));
        let bearer = scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| value.trim().to_owned())
            .filter(|t| !t.is_empty());
        let basic = scheme
            .eq_ignore_ascii_case("basic")
            .then(|| decode_basic(value.trim()));
        Self {
            form,
            json,
            query,
            basic,
            bearer,
            peer,
        }
    }

    /// The form, or the RFC error for a wrong content type or a bad body.
    pub(crate) fn form(&self) -> Result<&HashMap<String, String>, OAuthError> {
        match &self.form {
            Some(Ok(f)) => Ok(f),
            Some(Err(e)) => Err(OAuthError::invalid_request(e)),
            None => Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            )),
        }
    }

    /// The client a request names and how it tried to authenticate (RFC 6749 §2.3.1).
    pub(crate) fn presented_client(&self) -> Result<Option<PresentedClient>, OAuthError> {
        let form = self.form()?;
        let basic = match &self.basic {
            Some(Err(why)) => {
                return Err(OAuthError::invalid_client(&format!(
                    "malformed Basic credentials: {why}"
                )));
            }
            Some(Ok(b)) => Some(b),
            None => None,
        };
        match (basic, form.get("client_id")) {
            (Some((id, _)), Some(f)) if id != f => Err(OAuthError::invalid_request(
                "client_id differs between Basic auth and the body",
            )),
            (Some((id, secret)), _) => Ok(Some(PresentedClient {
                client_id: id.clone(),
                secret: Some(secret.clone()),
                basic: true,
            })),
            (None, Some(id)) => Ok(Some(PresentedClient {
                client_id: id.clone(),
                secret: form.get("client_secret").cloned(),
                basic: false,
            })),
            (None, None) => Ok(None),
        }
    }
}

/// The client a request names, with the secret it presented. Its `Debug` hides the secret.
pub(crate) struct PresentedClient {
    pub(crate) client_id: String,
    pub(crate) secret: Option<String>,
    /// Whether the credentials came as HTTP Basic (else the form body).
    pub(crate) basic: bool,
}

impl std::fmt::Debug for PresentedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedClient")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("basic", &self.basic)
            .finish()
    }
}

/// Parses `application/x-www-form-urlencoded`; a repeated parameter is an error (RFC 6749 §3.1).
pub(crate) fn parse_form(bytes: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(bytes) {
        if out.insert(k.clone().into_owned(), v.into_owned()).is_some() {
            return Err(format!("parameter {k} is repeated"));
        }
    }
    Ok(out)
}

/// Required form field, or `invalid_request` naming it.
pub(crate) fn required<'a>(
    form: &'a HashMap<String, String>,
    name: &str,
) -> Result<&'a str, OAuthError> {
    match form.get(name).map(String::as_str) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(OAuthError::invalid_request(&format!(
            "missing parameter {name}"
        ))),
    }
}

/// RFC 6749 §2.3.1: Basic credentials are form-urlencoded before base64.
fn decode_basic(value: &str) -> Result<(String, String), String> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value)
        .map_err(|e| format!("not base64: {e}"))?;
    let text = String::from_utf8(raw).map_err(|e| format!("not UTF-8: {e}"))?;
    let (id, secret) = text
        .split_once(':')
        .ok_or("no colon between client id and secret")?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map_or_else(String::new, |(_, v)| v.into_owned())
    };
    Ok((decode(id), decode(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_secrets() {
        let basic = base64::engine::general_purpose::STANDARD.encode("cliauth:client-secret");
        let req = http::Request::post("/oauth/token?code=the-code")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, format!("Basic {basic}"))
            .body(())
            .expect("a valid request");
        let (parts, ()) = req.into_parts();
        let body = Bytes::from_static(b"grant_type=password&password=hunter2");
        let text = format!("{:?}", RequestCtx::parse(&parts, &body, None));
        for secret in ["hunter2", "the-code", "client-secret"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(
            text.contains("password") && text.contains("cliauth"),
            "{text}"
        );
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let value = base64::engine::general_purpose::STANDARD.encode("my%20client:s%3Acret");
        assert_eq!(
            decode_basic(&value),
            Ok(("my client".to_owned(), "s:cret".to_owned()))
        );
    }
}
