//! `GET /oauth/authorize` (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8252 §7.3).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::clock::ms_after;
use crate::config::{ConsentAction, PkceMode};
use crate::model::state::{AuthCode, ClientView};
use crate::model::{Shared, lock};
use crate::oauth_error::{OAuthError, Outcome};
use crate::request::Ctx;
use crate::tokens::random_secret;

/// The authorization endpoint. Consent is scripted by `[consent]`; `login_hint` picks another
/// configured user.
pub(crate) async fn authorize(
    State(s): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    let query = ctx
        .query
        .as_ref()
        .map_err(|e| OAuthError::invalid_request(e))?;
    // Errors about the client or the redirect URI must not redirect (RFC 6749 §4.1.2.1).
    let redirect = validate_client(&s, query)?;
    let state = query.get("state").cloned();
    let issuer = s.issuer();
    Ok(match decide(&s, query, &redirect) {
        Ok(code) => redirect_to(
            &redirect.uri,
            &[
                ("code", Some(code)),
                ("state", state),
                ("iss", Some(issuer)),
            ],
            "code_issued",
        ),
        Err((error, description)) => redirect_to(
            &redirect.uri,
            &[
                ("error", Some(error)),
                ("error_description", Some(description)),
                ("state", state),
                ("iss", Some(issuer)),
            ],
            "error_redirect",
        ),
    })
}

struct Redirect {
    client_id: String,
    uri: url::Url,
    /// The `redirect_uri` parameter as sent, which the token request must repeat.
    sent: Option<String>,
    client: ClientView,
}

fn validate_client(s: &Shared, query: &HashMap<String, String>) -> Result<Redirect, OAuthError> {
    let client_id = query
        .get("client_id")
        .ok_or_else(|| OAuthError::invalid_request("missing parameter client_id"))?;
    let client = lock(&s.state)
        .client(client_id)
        .ok_or_else(|| OAuthError::invalid_request("unknown client_id"))?;
    let sent = query.get("redirect_uri").cloned();
    let uri = match &sent {
        Some(raw) => {
            let uri = url::Url::parse(raw).map_err(|e| {
                OAuthError::invalid_request(&format!("redirect_uri is not a URL: {e}"))
            })?;
            if !client
                .redirect_uris
                .iter()
                .any(|r| redirect_matches(r, &uri))
            {
                return Err(OAuthError::invalid_request(
                    "redirect_uri is not registered for this client",
                ));
            }
            uri
        }
        None if client.redirect_uris.len() == 1 && !is_loopback_uri(&client.redirect_uris[0]) => {
            url::Url::parse(&client.redirect_uris[0])
                .map_err(|e| OAuthError::server_error(&e.to_string()))?
        }
        None => {
            return Err(OAuthError::invalid_request(
                "missing parameter redirect_uri",
            ));
        }
    };
    Ok(Redirect {
        client_id: client_id.clone(),
        uri,
        sent,
        client,
    })
}

fn is_loopback_uri(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| is_loopback(&u))
}

fn is_loopback(u: &url::Url) -> bool {
    u.scheme() == "http"
        && match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        }
}

/// RFC 8252 §7.3: a loopback redirect URI matches on any port; others match exactly.
pub(crate) fn redirect_matches(registered: &str, got: &url::Url) -> bool {
    let reg = match url::Url::parse(registered) {
        Ok(reg) => reg,
        Err(e) => {
            // Config and registration validate every URI, so this means a bug; never match.
            tracing::warn!(error = %e, uri = %registered, "a registered redirect URI does not parse");
            return false;
        }
    };
    if is_loopback(&reg) && is_loopback(got) {
        reg.scheme() == got.scheme()
            && reg.host() == got.host()
            && reg.path() == got.path()
            && reg.query() == got.query()
    } else {
        reg == *got
    }
}

fn decide(
    s: &Shared,
    query: &HashMap<String, String>,
    redirect: &Redirect,
) -> Result<String, (String, String)> {
    let err = |e: &str, d: &str| (e.to_owned(), d.to_owned());
    match query.get("response_type").map(String::as_str) {
        Some("code") => {}
        Some(other) => {
            return Err(err(
                "unsupported_response_type",
                &format!("response_type {other} is not supported"),
            ));
        }
        None => return Err(err("invalid_request", "missing parameter response_type")),
    }
    if !redirect
        .client
        .grants
        .iter()
        .any(|g| g == "authorization_code")
    {
        return Err(err(
            "unauthorized_client",
            "client may not use the authorization code grant",
        ));
    }
    let scope = query.get("scope").cloned().unwrap_or_default();
    if let Err(why) = redirect.client.check_scope(&scope) {
        return Err(err("invalid_scope", &why));
    }
    let (mode, consent, code_ttl) = {
        let st = lock(&s.state);
        (
            st.config.pkce.mode,
            st.config.consent.clone(),
            st.config.tokens.code_ttl,
        )
    };
    let challenge = query.get("code_challenge").cloned();
    let method = query.get("code_challenge_method").cloned();
    let (challenge, method) = match mode {
        PkceMode::Off => (None, None),
        PkceMode::Strict | PkceMode::Lenient => {
            let allowed: &[&str] = if mode == PkceMode::Strict {
                &["S256"]
            } else {
                &["S256", "plain"]
            };
            match &challenge {
                None if mode == PkceMode::Strict => {
                    return Err(err("invalid_request", "code challenge required"));
                }
                None => (None, None),
                Some(c) => {
                    // RFC 7636 §4.3: a missing method means `plain`.
                    let m = method.unwrap_or_else(|| "plain".to_owned());
                    if !allowed.contains(&m.as_str()) {
                        return Err(err("invalid_request", "transform algorithm not supported"));
                    }
                    if !(43..=128).contains(&c.len()) {
                        return Err(err(
                            "invalid_request",
                            "code_challenge must be 43-128 characters",
                        ));
                    }
                    (Some(c.clone()), Some(m))
                }
            }
        }
    };
    match consent.action {
        ConsentAction::Deny => return Err(err("access_denied", "the user denied the request")),
        ConsentAction::Error => return Err(err(&consent.error, "scripted consent error")),
        ConsentAction::Approve => {}
    }
    let mut st = lock(&s.state);
    let user = match query.get("login_hint") {
        Some(hint) if st.user(hint).is_some() => hint.clone(),
        _ => consent.user,
    };
    let code = random_secret("mac_");
    let now = s.clock.now_ms();
    st.codes.insert(
        code.clone(),
        AuthCode {
            client_id: redirect.client_id.clone(),
            redirect_uri: redirect.sent.clone(),
            challenge,
            method,
            user,
            scope,
            nonce: query.get("nonce").cloned(),
            auth_ms: now,
            expires_ms: ms_after(now, code_ttl),
            used: false,
            family: None,
        },
    );
    st.secrets.push(code.clone());
    Ok(code)
}

fn redirect_to(
    base: &url::Url,
    params: &[(&str, Option<String>)],
    outcome: &'static str,
) -> Response {
    let mut uri = base.clone();
    {
        let mut pairs = uri.query_pairs_mut();
        for (k, v) in params {
            if let Some(v) = v {
                pairs.append_pair(k, v);
            }
        }
    }
    let mut resp = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(uri.as_str()) {
        Ok(v) => {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        Err(e) => {
            return OAuthError::server_error(&format!("redirect URI is not a header value: {e}"))
                .into_response();
        }
    }
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.extensions_mut().insert(Outcome(outcome));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_on_any_port_but_not_other_paths() {
        let got = url::Url::parse("http://127.0.0.1:53111/callback").unwrap();
        assert!(redirect_matches("http://127.0.0.1/callback", &got));
        assert!(!redirect_matches("http://127.0.0.1/other", &got));
        assert!(!redirect_matches("http://localhost/callback", &got));
        let https = url::Url::parse("https://app.example/cb").unwrap();
        assert!(redirect_matches("https://app.example/cb", &https));
        assert!(!redirect_matches("https://app.example:8443/cb", &https));
    }
}
