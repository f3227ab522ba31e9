//! Authorization code + PKCE S256 (RFC 7636) with a loopback redirect on 127.0.0.1 (RFC 8252).
//! With `openid` in the scope the request carries a fresh `nonce` (OIDC Core §3.1.2.1), which
//! the ID token must repeat; an `iss` in the response must be this login's issuer, and must be
//! there when the server promises it (RFC 9207).

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::{OAuthClient, Tokens, constant_time_eq, id_token, random_urlsafe};
use crate::classify::{Error, Result};
use crate::oauth_error::{OAuthErrorBody, OAuthErrorCode};
use crate::secret::Secret;
use crate::ui::Ui;

/// Options of a browser login.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BrowserOptions {
    /// A fixed callback port (`--port`); random when `None`.
    pub port: Option<u16>,
    /// Open the URL in a browser (`false` prints it only).
    pub open_browser: bool,
    /// Give up after this long.
    pub timeout: Duration,
}

/// Opens `url` in the default browser; a failure is reported and the printed URL remains.
pub(crate) fn open_in_browser(url: &str, ui: Ui) {
    if let Err(e) = webbrowser::open(url) {
        ui.say(&format!(
            "Could not open a browser ({e}); open the URL above yourself."
        ));
    }
}

/// What came back to the loopback callback.
#[derive(Debug)]
pub(crate) enum Callback {
    Code(Secret),
    Denied(Option<String>),
    OtherError(OAuthErrorCode),
}

/// The issuer an authorization response must name (RFC 9207 §2.4).
#[derive(Debug)]
pub(crate) struct IssuerRule {
    /// The issuer of this login, without a trailing slash.
    pub(crate) expected: String,
    /// The server promises `iss` in every response
    /// (`authorization_response_iss_parameter_supported`).
    pub(crate) required: bool,
}

impl IssuerRule {
    fn check(&self, iss: Option<&str>) -> Result<()> {
        match iss {
            Some(i) if i.trim_end_matches('/') == self.expected => Ok(()),
            None if !self.required => Ok(()),
            reported => Err(Error::AuthorizationIssuerMismatch {
                reported: reported.map(str::to_owned),
                expected: self.expected.clone(),
            }),
        }
    }
}

/// Runs the browser flow to completion; returns the tokens and the subject of their verified
/// ID token, if they had one (it must repeat the `nonce` the request carried).
pub(crate) async fn login(
    client: &OAuthClient<'_>,
    opts: BrowserOptions,
    ui: Ui,
) -> Result<(Tokens, Option<String>)> {
    let Some(endpoint) = &client.meta.authorization_endpoint else {
        return Err(Error::MethodUnsupported { method: "browser" });
    };
    let listener = TcpListener::bind(("127.0.0.1", opts.port.unwrap_or(0)))
        .await
        .map_err(|e| listen_error(opts.port, e))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::io("read the callback port", e))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let verifier = Secret::new(random_urlsafe(32));
    let challenge = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.expose().as_bytes()))
    };
    let state = Secret::new(random_urlsafe(16));
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client.client_id.as_str())
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", state.expose());
    if let Some(scope) = &client.scope {
        url.query_pairs_mut().append_pair("scope", scope.as_str());
    }
    // 256 random bits, fresh per login (OIDC Core §15.5.2 asks for enough entropy that it
    // cannot be guessed).
    let nonce = client
        .scope
        .as_ref()
        .is_some_and(|s| s.contains("openid"))
        .then(|| Secret::new(random_urlsafe(32)));
    if let Some(n) = &nonce {
        url.query_pairs_mut().append_pair("nonce", n.expose());
    }
    // OIDC Core §11: an OpenID provider ignores `offline_access` (so issues no refresh token)
    // unless the request asks for consent (finding I4).
    if client
        .scope
        .as_ref()
        .is_some_and(|s| s.contains("openid") && s.contains("offline_access"))
    {
        url.query_pairs_mut().append_pair("prompt", "consent");
    }
    let issuer = IssuerRule {
        expected: crate::config::display_url(client.meta.issuer.url()),
        required: client.meta.authorization_response_iss_parameter_supported,
    };
    // The state is a single-use CSRF binding, not a credential; printing it is what lets the
    // person (or a test) complete the login.
    ui.say(&format!("Open this URL to log in: {url}"));
    if opts.open_browser {
        open_in_browser(url.as_str(), ui);
    }
    // Bounded by the flag's parser; no overflow even for a library caller's Duration::MAX.
    let deadline = super::device::deadline_after(Instant::now(), opts.timeout);
    let countdown = ui.countdown("Waiting for the browser", deadline);
    let (mut stream, callback) = loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = tokio::time::sleep_until(deadline.into()) => {
                return Err(Error::Cancelled {
                    reason: format!("login timed out after {} s waiting for the browser", opts.timeout.as_secs()),
                });
            }
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                countdown.tick();
                continue;
            }
        };
        let (mut stream, _peer) =
            accepted.map_err(|e| Error::io("accept the login callback", e))?;
        match read_callback(&mut stream, &state, &issuer).await {
            Ok(Some(cb)) => break (stream, cb),
            // Not the callback (e.g. /favicon.ico): answered 404, keep waiting.
            Ok(None) => {}
            Err(e @ (Error::StateMismatch | Error::AuthorizationIssuerMismatch { .. })) => {
                respond(&mut stream, 400, "Login refused", "The response did not match this login attempt. Run <code>cliauth auth login</code> again.").await;
                return Err(e);
            }
            Err(e) => {
                tracing::debug!(error = %e, "unreadable request on the callback port");
            }
        }
    };
    drop(countdown);
    let result = match callback {
        Callback::Code(code) => match client
            .grant(&[
                ("grant_type", "authorization_code"),
                ("code", code.expose()),
                ("redirect_uri", &redirect_uri),
                ("code_verifier", verifier.expose()),
            ])
            .await
        {
            // Verified before the page says "Logged in", so the tab and the terminal agree.
            Ok(tokens) => id_token::verify_response(client, tokens, nonce.as_ref()).await,
            Err(Error::OAuth { body, .. }) if body.error == OAuthErrorCode::InvalidGrant => {
                Err(Error::ExpiredCode {
                    what: "authorization code",
                })
            }
            Err(other) => Err(other),
        },
        Callback::Denied(detail) => Err(Error::AccessDenied { detail }),
        Callback::OtherError(code) => Err(Error::OAuth {
            what: "the authorization endpoint".into(),
            body: OAuthErrorBody {
                error: code,
                error_description: None,
                retry_after: None,
            },
        }),
    };
    match &result {
        Ok(_) => {
            respond(
                &mut stream,
                200,
                "Logged in",
                "cliauth is now logged in. You may close this tab.",
            )
            .await;
        }
        Err(e) => {
            let msg = format!(
                "Login failed: {}. You may close this tab and check the terminal.",
                html_escape(&e.to_string())
            );
            respond(&mut stream, 400, "Login failed", &msg).await;
        }
    }
    result
}

/// Why the callback listener could not be opened: a taken port gets its own error (its hint
/// says to pick another `--port`); anything else (no file descriptors left, a refused privileged
/// port) is an I/O failure and must not be blamed on the port.
fn listen_error(port: Option<u16>, e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::AddrInUse {
        Error::PortInUse {
            port: port.unwrap_or(0),
        }
    } else {
        Error::io("listen on 127.0.0.1 for the login callback", e)
    }
}

/// Reads one request; `Ok(None)` when it is not for `/callback`. Generic over the connection so
/// tests can decide exactly how the request is split into reads.
pub(crate) async fn read_callback<S>(
    stream: &mut S,
    state: &Secret,
    issuer: &IssuerRule,
) -> Result<Option<Callback>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > 16 * 1024 {
            return Err(Error::Malformed {
                what: "the login callback".into(),
                detail: "request too large".into(),
            });
        }
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|e| {
                Error::io(
                    "read the login callback",
                    std::io::Error::new(std::io::ErrorKind::TimedOut, e),
                )
            })?
            .map_err(|e| Error::io("read the login callback", e))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let target = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("/");
    let url = Url::parse(&format!("http://127.0.0.1{target}")).map_err(|e| Error::Malformed {
        what: "the login callback".into(),
        detail: format!("bad request target ({e})"),
    })?;
    if url.path() != "/callback" {
        respond(
            stream,
            404,
            "Not found",
            "This is the cliauth login callback.",
        )
        .await;
        return Ok(None);
    }
    let get = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
    };
    let returned_state = get("state").map(Secret::new);
    if !returned_state
        .is_some_and(|s| constant_time_eq(s.expose().as_bytes(), state.expose().as_bytes()))
    {
        return Err(Error::StateMismatch);
    }
    // RFC 9207 §2.4: checked before the response is used, errors included.
    issuer.check(get("iss").as_deref())?;
    if let Some(err) = get("error") {
        return Ok(Some(match OAuthErrorCode::from(err) {
            OAuthErrorCode::AccessDenied => Callback::Denied(get("error_description")),
            code => Callback::OtherError(code),
        }));
    }
    match get("code") {
        Some(c) if !c.is_empty() => Ok(Some(Callback::Code(Secret::new(c)))),
        _ => Ok(Some(Callback::OtherError(OAuthErrorCode::InvalidRequest))),
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

async fn respond<S>(stream: &mut S, status: u16, title: &str, body: &str)
where
    S: AsyncWrite + Unpin,
{
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1><p>{body}</p></body></html>"
    );
    let resp = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n{html}",
        html.len()
    );
    let written = match stream.write_all(resp.as_bytes()).await {
        Ok(()) => stream.shutdown().await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        // The browser tab may already be gone; the terminal shows the outcome anyway.
        tracing::debug!(error = %e, "could not answer the login callback");
    }
}

#[cfg(test)]
mod tests;
