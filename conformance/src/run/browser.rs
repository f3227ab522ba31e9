//! `browser` steps: the user's browser (or second device) acting on what a login printed.

use std::time::Duration;

use super::Run;
use crate::outcome::Miss;
use crate::scenario::{BrowserFlow, BrowserStep, Decision};

impl Run<'_> {
    pub(super) async fn browser(&mut self, b: &BrowserStep) -> Result<(), Miss> {
        let (stderr, label) = self.stderr_of(&b.process)?;
        let prompt = self.plan.prompt(b.flow)?;
        match b.flow {
            BrowserFlow::Device => {
                let code = self
                    .wait_for(&stderr, &label, &prompt.regex, &prompt.what)
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
                    .wait_for(&stderr, &label, &prompt.regex, &prompt.what)
                    .await?;
                if b.decision == Decision::Deny {
                    return Err(Miss::new(
                        "a browser step approves or tampers",
                        "to deny in the browser flow, script [server.consent] action = \"deny\"",
                    ));
                }
                let http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| Miss::new("an HTTP client can be built", e.to_string()))?;
                let authorize = loopback_url(&url)?;
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
                let mut callback = loopback_url(&location)?;
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
    fn only_loopback_urls_are_followed() {
        assert!(loopback_url("http://127.0.0.1:1/x").is_ok());
        assert!(loopback_url("https://example.com/").is_err());
    }
}
