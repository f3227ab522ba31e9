//! `browser` steps: the user's browser (or second device) acting on what a login printed.

use std::time::Duration;

use super::Run;
use crate::outcome::Miss;
use crate::scenario::{BrowserFlow, BrowserStep, Decision};

impl Run<'_> {
    pub(super) async fn browser(&mut self, b: &BrowserStep) -> Result<(), Miss> {
        let streams = self.prompt_streams_of(&b.process)?;
        let prompt = self.plan.prompt(b.flow)?;
        match b.flow {
            BrowserFlow::Device => {
                let code = self
                    .wait_for_prompt(&streams, &prompt.regex, &prompt.what)
                    .await?;
                self.user_codes.push(code.clone());
                let result = match b.decision {
                    Decision::Approve => self.server.approve_device(Some(&code)),
                    Decision::Deny => self.server.deny_device(Some(&code)),
                    Decision::TamperState => {
                        return Err(Miss::new(
                            "a device step approves or denies",
                            "tamper_state is for the authorize flow",
                        ));
                    }
                };
                result.map_err(|e| {
                    Miss::new(
                        format!("the mock accepts user code {code:?}"),
                        e.to_string(),
                    )
                })
            }
            BrowserFlow::Authorize => {
                let url = self
                    .wait_for_prompt(&streams, &prompt.regex, &prompt.what)
                    .await?;
                if b.decision == Decision::Deny {
                    return Err(Miss::new(
                        "a browser step approves or tampers",
                        "to deny in the browser flow, script [server.consent] action = \"deny\"",
                    ));
                }
                let authorize = self.reachable_url(&url)?;
                let http = self.browser_http(&authorize)?;
                authorize_request_ok(&authorize, &self.seen_states)?;
                if let Some(state) = query(&authorize, "state") {
                    self.seen_states.push(state);
                }
                let resp = http
                    .get(authorize)
                    .send()
                    .await
                    .map_err(|e| Miss::new("the authorize URL answers", e.to_string()))?;
                let status = resp.status();
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let Some(location) = location.filter(|_| status.is_redirection()) else {
                    let body = resp
                        .text()
                        .await
                        .unwrap_or_else(|e| format!("<body unreadable: {e}>"));
                    return Err(Miss::new(
                        "the authorize URL redirects to the client",
                        format!("{status}: {body}"),
                    ));
                };
                if let Some(paste) = self.profile().prompts.paste.clone() {
                    return self.paste(&b.process, &location, &paste, b.decision).await;
                }
                let mut callback = self.reachable_url(&location)?;
                let http = self.browser_http(&callback)?;
                if b.decision == Decision::TamperState {
                    let pairs: Vec<(String, String)> = callback
                        .query_pairs()
                        .map(|(k, v)| {
                            let v = if k == "state" {
                                format!("tampered-{v}")
                            } else {
                                v.into_owned()
                            };
                            (k.into_owned(), v)
                        })
                        .collect();
                    callback.query_pairs_mut().clear().extend_pairs(pairs);
                }
                // The client may answer the callback or close the connection after a
                // refusal; either way its own exit status is what the scenario checks.
                match http.get(callback).send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        self.vars
                            .insert("callback_status".to_owned(), status.as_u16().to_string());
                    }
                    Err(e) => {
                        self.vars
                            .insert("callback_status".to_owned(), format!("error: {e}"));
                    }
                }
                Ok(())
            }
        }
    }
}

impl Run<'_> {
    /// Parses a URL the browser is to open: loopback, or a host the mock intercepts (reached
    /// through its proxy). Nothing else: nothing leaves 127.0.0.1.
    fn reachable_url(&self, text: &str) -> Result<url::Url, Miss> {
        let url = url::Url::parse(text)
            .map_err(|e| Miss::new(format!("{text:?} is a URL"), e.to_string()))?;
        if self.intercepted(&url) {
            return Ok(url);
        }
        loopback_url(text).map_err(|mut miss| {
            if !self.profile().intercept.is_empty() {
                miss.expectation = format!(
                    "the URL points at loopback or an intercepted host ({})",
                    self.profile().intercept.join(", ")
                );
            }
            miss
        })
    }

    /// Whether `url` is `https://` on a host of the profile's `intercept`.
    fn intercepted(&self, url: &url::Url) -> bool {
        url.scheme() == "https"
            && url.host_str().is_some_and(|h| {
                self.profile()
                    .intercept
                    .iter()
                    .any(|i| i.eq_ignore_ascii_case(h))
            })
    }

    /// The browser's HTTP client for `url`: direct to loopback, or through the mock's
    /// interception proxy trusting only the scenario's CA. Never follows redirects.
    fn browser_http(&self, url: &url::Url) -> Result<reqwest::Client, Miss> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10));
        let builder = match (
            self.intercepted(url),
            self.server.proxy_url(),
            self.server.ca_pem(),
        ) {
            (true, Some(proxy), Some(ca)) => {
                let ca = reqwest::Certificate::from_pem(ca.as_bytes())
                    .map_err(|e| Miss::new("the interception CA parses", e.to_string()))?;
                let proxy = reqwest::Proxy::all(&proxy)
                    .map_err(|e| Miss::new("the interception proxy URL parses", e.to_string()))?;
                builder.proxy(proxy).tls_certs_only([ca])
            }
            _ => builder.no_proxy(),
        };
        builder
            .build()
            .map_err(|e| Miss::new("an HTTP client can be built", e.to_string()))
    }

    /// The paste flow: the user copies what the redirect carries (`code#state`, the whole
    /// URL) from the page and types it into the waiting login. The redirect URI may be any
    /// host (nothing is fetched from it).
    async fn paste(
        &mut self,
        process: &str,
        location: &str,
        template: &str,
        decision: Decision,
    ) -> Result<(), Miss> {
        use tokio::io::AsyncWriteExt as _;
        let redirect = url::Url::parse(location)
            .map_err(|e| Miss::new(format!("{location:?} is a URL"), e.to_string()))?;
        let mut vars = self.vars.clone();
        vars.insert("redirect".to_owned(), location.to_owned());
        for name in ["code", "state"] {
            let mut value = query(&redirect, name).unwrap_or_default();
            if name == "state" && decision == Decision::TamperState {
                value = format!("tampered-{value}");
            }
            vars.insert(name.to_owned(), value);
        }
        let text = crate::profile::render(template, &vars)
            .map_err(|e| Miss::new("prompts.paste renders", e))?;
        let stdin = self.stdin_of(process).ok_or_else(|| {
            Miss::new(
                format!("{process:?} keeps its stdin open for the paste"),
                "its action has no `stdin_open = true`",
            )
        })?;
        stdin
            .write_all(text.as_bytes())
            .await
            .and(stdin.flush().await)
            .map_err(|e| Miss::new(format!("{process:?} reads the pasted line"), e.to_string()))
    }
}

/// One query parameter of `url`.
fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// What every authorize request a login prints must show (RFC 6749 §10.12, RFC 9700 §4.7.1,
/// RFC 7636 §4): a `state` of at least 128 bits, never one an earlier login of the scenario
/// used, and unrelated to the PKCE verifier (whoever sees the callback URL must not learn
/// the verifier: a `state` that hashes to the `code_challenge`, or equals it, is the verifier).
fn authorize_request_ok(url: &url::Url, seen: &[String]) -> Result<(), Miss> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let Some(state) = query(url, "state") else {
        return Err(Miss::new(
            "the authorize request carries a state (RFC 6749 §10.12)",
            "no state parameter",
        ));
    };
    let bits = state_bits(&state);
    if bits < 128 {
        return Err(Miss::new(
            "the authorize request's state has at least 128 bits of entropy",
            format!("{} characters, at most {bits} bits", state.chars().count()),
        ));
    }
    if seen.contains(&state) {
        return Err(Miss::new(
            "every login sends a fresh state",
            "the same state as an earlier login of this scenario",
        ));
    }
    if let Some(challenge) = query(url, "code_challenge") {
        let hashed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(state.as_bytes()));
        if hashed == challenge || state == challenge {
            return Err(Miss::new(
                "the state is unrelated to the PKCE verifier",
                "the state is the verifier (its S256 hash, or itself, is the code_challenge)",
            ));
        }
    }
    Ok(())
}

/// An upper bound of a random string's entropy from its alphabet: 4 bits a character for
/// hex, 6 for base64url, 8 otherwise.
fn state_bits(state: &str) -> usize {
    let per_char = if state.chars().all(|c| c.is_ascii_hexdigit()) {
        4
    } else if state
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        6
    } else {
        8
    };
    state.chars().count() * per_char
}

/// Parses a URL and refuses anything but loopback (nothing leaves 127.0.0.1).
fn loopback_url(text: &str) -> Result<url::Url, Miss> {
    let url = url::Url::parse(text)
        .map_err(|e| Miss::new(format!("{text:?} is a URL"), e.to_string()))?;
    match url.host_str() {
        Some("127.0.0.1" | "localhost" | "[::1]") => Ok(url),
        other => Err(Miss::new(
            "the URL points at loopback",
            format!("host {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_requests_need_a_fresh_strong_state_unrelated_to_the_verifier() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let at = |state: &str, challenge: &str| {
            url::Url::parse(&format!(
                "http://127.0.0.1:1/authorize?state={state}&code_challenge={challenge}"
            ))
            .unwrap()
        };
        let good = "Qx3v_0aZ-9k2LmNpRsTuVw";
        assert!(authorize_request_ok(&at(good, "abc"), &[]).is_ok());
        let err = authorize_request_ok(&at(good, "abc"), &[good.to_owned()]).unwrap_err();
        assert!(err.expectation.contains("fresh"), "{}", err.expectation);
        let err = authorize_request_ok(&at("0123456789abcdef", "abc"), &[]).unwrap_err();
        assert!(err.observed.contains("64 bits"), "{}", err.observed);
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let err = authorize_request_ok(&at(verifier, &challenge), &[]).unwrap_err();
        assert!(err.expectation.contains("PKCE"), "{}", err.expectation);
        let no_state = url::Url::parse("http://127.0.0.1:1/authorize?code_challenge=x").unwrap();
        assert!(authorize_request_ok(&no_state, &[]).is_err());
    }

    #[test]
    fn only_loopback_urls_are_followed() {
        assert!(loopback_url("http://127.0.0.1:1/x").is_ok());
        assert!(loopback_url("https://example.com/").is_err());
    }
}
