//! One configured HTTP client: timeouts, no redirects, a response size limit, and the
//! classification of transport and status failures into [`Error`]s.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use serde::de::DeserializeOwned;
use url::Url;

use crate::classify::{Error, Result};
use crate::config::display_url;
use crate::oauth_error::OAuthErrorBody;
use crate::protocol::{AccessToken, ClientId, ClientSecret};
use crate::secret::RedactedUrl;

/// Largest response body read (discovery documents and token responses are a few KiB).
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest `Retry-After` the hosted API calls wait for before their single retry.
const MAX_AUTO_RETRY_AFTER: u64 = 5;

/// HTTP Basic client credentials (RFC 6749 §2.3.1).
pub(crate) type BasicAuth<'a> = (&'a ClientId, &'a ClientSecret);

/// A bearer token and where it came from (named in the error when the server rejects it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bearer<'a> {
    /// The token.
    pub token: &'a AccessToken,
    /// `--token`, `CLIAUTH_TOKEN` or `stored credentials`.
    pub source: &'static str,
}

/// A response that passed transport and size checks.
#[derive(Debug)]
pub(crate) struct RawResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// The body, at most [`MAX_BODY_BYTES`].
    pub body: Vec<u8>,
}

/// The HTTP client. Redirects are never followed: a token or credential must not be replayed
/// to another location, and a redirect from an API endpoint is a misconfiguration to report.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
}

impl Http {
    /// Builds the client with a bound on each whole request. Proxy environment variables are
    /// honoured for real use.
    pub(crate) fn new(timeout: Duration) -> Result<Http> {
        Self::build(reqwest::Client::builder().timeout(timeout))
    }

    /// A client that ignores proxy variables: unit tests talk only to their own loopback
    /// servers, whatever the caller's shell has set.
    #[cfg(test)]
    pub(crate) fn without_proxy() -> Result<Http> {
        Self::build(
            reqwest::Client::builder()
                .no_proxy()
                .timeout(crate::config::DEFAULT_HTTP_TIMEOUT),
        )
    }

    fn build(builder: reqwest::ClientBuilder) -> Result<Http> {
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("cliauth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http { client })
    }

    /// Sends a request and reads at most [`MAX_BODY_BYTES`] of the body.
    pub(crate) async fn send(
        &self,
        req: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<RawResponse> {
        let req = req
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the request to {what}: {e}")))?;
        tracing::debug!(
            event = "http_request",
            method = %req.method(),
            url = %RedactedUrl(req.url()),
            "http_request"
        );
        let target = authority(req.url());
        let mut resp = self
            .client
            .execute(req)
            .await
            .map_err(|e| transport(what, &target, e))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(too_large(what));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| transport(what, &target, e))?
        {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(too_large(what));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse {
            status,
            headers,
            body,
        })
    }

    /// GET a JSON document (no authentication), e.g. discovery.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, url: &Url, what: &str) -> Result<T> {
        let raw = self.send(self.client.get(url.clone()), what).await?;
        expect_json(what, &raw, None)
    }

    /// A hosted API call with an optional bearer; 429/503 with a short `Retry-After` is retried
    /// once after the requested wait.
    pub(crate) async fn api_json<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: &Url,
        bearer: Option<Bearer<'_>>,
        json: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<T> {
        let build = || {
            let mut req = self.client.request(method.clone(), url.clone());
            if let Some(b) = bearer {
                req = req.bearer_auth(b.token.expose());
            }
            if let Some(j) = json {
                req = req.json(j);
            }
            req
        };
        let raw = self.send(build(), what).await?;
        let raw = match retry_after_of(&raw) {
            Some(secs) if matches!(raw.status, 429 | 503) && secs <= MAX_AUTO_RETRY_AFTER => {
                tracing::debug!(status = raw.status, secs, "retrying after Retry-After");
                tokio::time::sleep(Duration::from_secs(secs)).await;
                self.send(build(), what).await?
            }
            _ => raw,
        };
        expect_json(what, &raw, bearer)
    }

    /// POST a form to an OAuth endpoint (token, device authorization, revocation), with
    /// optional HTTP Basic client authentication (RFC 6749 §2.3.1: the id and secret are
    /// form-urlencoded before they are joined and base64-encoded). OAuth error bodies become
    /// [`Error::OAuth`], including an `error` member in a 200 answer.
    pub(crate) async fn post_form_as(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<BasicAuth<'_>>,
        what: &str,
    ) -> Result<RawResponse> {
        let mut req = self
            .client
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(form);
        if let Some((id, secret)) = basic {
            req = req.header(reqwest::header::AUTHORIZATION, basic_header(id, secret)?);
        }
        let raw = self.send(req, what).await?;
        if !(200..300).contains(&raw.status) {
            return Err(oauth_status_error(what, &raw));
        }
        Ok(raw)
    }

    /// POST a form to an OAuth endpoint and parse the JSON success body.
    pub(crate) async fn post_form_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        what: &str,
    ) -> Result<T> {
        self.post_form_json_as(url, form, None, what).await
    }

    /// [`Http::post_form_json`] with optional HTTP Basic client authentication.
    pub(crate) async fn post_form_json_as<T: DeserializeOwned>(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        basic: Option<BasicAuth<'_>>,
        what: &str,
    ) -> Result<T> {
        let raw = self.post_form_as(url, form, basic, what).await?;
        check_json_content_type(what, &raw)?;
        let value: serde_json::Value = parse_json(what, &raw.body)?;
        if value.get("error").is_some_and(serde_json::Value::is_string) {
            let body: OAuthErrorBody =
                serde_json::from_value(value).map_err(|e| malformed(what, &e))?;
            return Err(Error::OAuth {
                what: what.to_owned(),
                body,
            });
        }
        serde_json::from_value(value).map_err(|e| malformed(what, &e))
    }

    /// POST JSON (RFC 7591 registration) and parse the JSON answer.
    pub(crate) async fn post_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        json: &serde_json::Value,
        what: &str,
    ) -> Result<T> {
        let raw = self
            .send(self.client.post(url.clone()).json(json), what)
            .await?;
        if !(200..300).contains(&raw.status) {
            return Err(oauth_status_error(what, &raw));
        }
        expect_json(what, &raw, None)
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`, marked sensitive so no log shows it.
fn basic_header(id: &ClientId, secret: &ClientSecret) -> Result<reqwest::header::HeaderValue> {
    use base64::Engine;
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let joined = zeroize::Zeroizing::new(format!("{}:{}", enc(id.as_str()), enc(secret.expose())));
    let value = zeroize::Zeroizing::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(joined.as_bytes())
    ));
    let mut header = reqwest::header::HeaderValue::from_str(&value).map_err(|e| {
        Error::Internal(format!(
            "a Basic authorization header is not a header value: {e}"
        ))
    })?;
    header.set_sensitive(true);
    Ok(header)
}

fn strip_query(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_query(None);
    u
}

fn too_large(what: &str) -> Error {
    Error::Malformed {
        what: what.to_owned(),
        detail: format!("the response is larger than {MAX_BODY_BYTES} bytes"),
    }
}

/// Describes a JSON failure by kind and position only: serde's message can quote a value from
/// the body, and a token endpoint's body may hold a secret.
fn malformed(what: &str, e: &serde_json::Error) -> Error {
    let kind = match e.classify() {
        serde_json::error::Category::Data => "a JSON document of the wrong shape",
        serde_json::error::Category::Eof => "truncated JSON",
        serde_json::error::Category::Syntax | serde_json::error::Category::Io => "invalid JSON",
    };
    Error::Malformed {
        what: what.to_owned(),
        detail: if e.line() == 0 {
            kind.to_owned()
        } else {
            format!("{kind} (line {}, column {})", e.line(), e.column())
        },
    }
}

/// `host:port` of a URL, for naming the server a connection failed to reach.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

fn transport(what: &str, target: &str, e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        "the request timed out"
    } else if e.is_connect() {
        "the connection failed"
    } else if e.is_body() || e.is_decode() {
        "the connection broke while reading the response"
    } else {
        "the connection was interrupted"
    };
    Error::Transport {
        what: what.to_owned(),
        target: target.to_owned(),
        kind: kind.to_owned(),
        source: Some(e.without_url()),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is ignored: servers in this space send seconds,
/// and a date would need a clock comparison the client cannot trust).
pub(crate) fn retry_after_of(raw: &RawResponse) -> Option<u64> {
    raw.headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn check_json_content_type(what: &str, raw: &RawResponse) -> Result<()> {
    let ct = raw
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        Ok(())
    } else {
        Err(Error::Malformed {
            what: what.to_owned(),
            detail: if mime.is_empty() {
                "expected JSON but the response has no content type".to_owned()
            } else {
                format!("expected JSON but got {mime}")
            },
        })
    }
}

fn parse_json<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| malformed(what, &e))
}

/// Turns a non-2xx hosted API answer (or a 2xx one) into a value or a classified error.
fn expect_json<T: DeserializeOwned>(
    what: &str,
    raw: &RawResponse,
    bearer: Option<Bearer<'_>>,
) -> Result<T> {
    if !(200..300).contains(&raw.status) {
        return Err(status_error(what, raw, bearer));
    }
    check_json_content_type(what, raw)?;
    parse_json(what, &raw.body)
}

fn error_code(raw: &RawResponse) -> Option<(String, Option<String>)> {
    let body: OAuthErrorBody = serde_json::from_slice(&raw.body).ok()?;
    Some((body.error.to_string(), body.error_description))
}

/// Classifies a non-2xx answer of the hosted API.
pub(crate) fn status_error(what: &str, raw: &RawResponse, bearer: Option<Bearer<'_>>) -> Error {
    match raw.status {
        300..=399 => redirect_error(what, raw),
        401 => Error::TokenRejected {
            source_name: bearer.map_or("no credentials", |b| b.source),
        },
        403 => match error_code(raw) {
            Some((code, description)) if code == "private_teamspace_required" => {
                Error::PrivateTeamspaceRequired { description }
            }
            other => Error::Forbidden {
                what: what.to_owned(),
                description: other.and_then(|(_, d)| d),
            },
        },
        429 | 502..=504 => Error::Unavailable {
            what: what.to_owned(),
            status: raw.status,
            retry_after: retry_after_of(raw),
        },
        status => Error::ServerStatus {
            what: what.to_owned(),
            status,
            detail: error_code(raw).map(|(c, _)| c),
        },
    }
}

fn redirect_error(what: &str, raw: &RawResponse) -> Error {
    let to = raw
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| Url::parse(l).ok())
        .map_or_else(
            || "another location".to_owned(),
            |u| display_url(&strip_query(&u)),
        );
    Error::Malformed {
        what: what.to_owned(),
        detail: format!(
            "HTTP {} redirect to {to} refused (redirects are never followed)",
            raw.status
        ),
    }
}

/// Classifies a non-2xx answer of an OAuth endpoint: an RFC 6749 error body wins.
fn oauth_status_error(what: &str, raw: &RawResponse) -> Error {
    if (300..400).contains(&raw.status) {
        return redirect_error(what, raw);
    }
    if matches!(raw.status, 429 | 502..=504) {
        return status_error(what, raw, None);
    }
    let status_only = || Error::ServerStatus {
        what: what.to_owned(),
        status: raw.status,
        detail: None,
    };
    match serde_json::from_slice::<OAuthErrorBody>(&raw.body) {
        Ok(mut body) if !body.error.as_str().is_empty() => {
            if body.retry_after.is_none() {
                body.retry_after = retry_after_of(raw);
            }
            Error::OAuth {
                what: what.to_owned(),
                body,
            }
        }
        Ok(_) => status_only(),
        // Not an RFC 6749 error body: the status is all there is to report.
        Err(e) => {
            tracing::debug!(status = raw.status, error = %e, "error response without an OAuth error body");
            status_only()
        }
    }
}

#[cfg(test)]
mod tests;
