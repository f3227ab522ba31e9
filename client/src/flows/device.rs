//! RFC 8628 device authorization: show the code, poll at the server's interval, obey every
//! `slow_down` (+5 s), stop at expiry or the timeout.
//!
//! Every server-given duration is bounded before it becomes a deadline: `expires_in` at most
//! [`MAX_EXPIRES_IN_SECS`], `interval` and a 503's `Retry-After` at most
//! [`MAX_INTERVAL_SECS`]; a larger value is a `server_error` naming the field, never an
//! arithmetic overflow.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{OAuthClient, Tokens};
use crate::classify::{Error, Result};
use crate::oauth_error::OAuthErrorCode;
use crate::protocol::UserCode;
use crate::secret::Secret;
use crate::ui::Ui;

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

const DEVICE_ENDPOINT: &str = "the device authorization endpoint";

/// Longest device code lifetime accepted (one day; RFC 8628 suggests minutes).
pub(crate) const MAX_EXPIRES_IN_SECS: u64 = 86_400;
/// Longest polling interval (or `Retry-After` while polling) accepted: one hour.
pub(crate) const MAX_INTERVAL_SECS: u64 = 3_600;

/// `value` when it is within `max`, else a `server_error` naming `field` of `what`.
fn bounded(what: &str, field: &str, value: u64, max: u64) -> Result<u64> {
    if value <= max {
        Ok(value)
    } else {
        Err(Error::Malformed {
            what: what.into(),
            detail: format!("`{field}` of {value} s is beyond the {max} s this client accepts"),
        })
    }
}

#[derive(Deserialize)]
struct DeviceAuthorization {
    device_code: Secret,
    user_code: UserCode,
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default)]
    interval: Option<u64>,
}

/// Options of a device login.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeviceOptions {
    /// Open the verification URI in a browser.
    pub open_browser: bool,
    /// Give up after this long.
    pub timeout: Duration,
}

/// Runs the device flow to completion.
pub(crate) async fn login(client: &OAuthClient<'_>, opts: DeviceOptions, ui: Ui) -> Result<Tokens> {
    let Some(endpoint) = &client.meta.device_authorization_endpoint else {
        return Err(Error::MethodUnsupported { method: "device" });
    };
    let mut form = vec![("client_id", client.client_id.as_str())];
    if let Some(scope) = &client.scope {
        form.push(("scope", scope.as_str()));
    }
    let auth: DeviceAuthorization = client
        .http
        .post_form_json(endpoint, &form, DEVICE_ENDPOINT)
        .await?;
    ui.say(&format!("Code: {}", auth.user_code));
    ui.say(&format!("Open: {}", auth.verification_uri));
    if opts.open_browser {
        let target = auth
            .verification_uri_complete
            .as_deref()
            .unwrap_or(&auth.verification_uri);
        super::browser::open_in_browser(target, ui);
    }
    let started = Instant::now();
    let expires_in = bounded(
        DEVICE_ENDPOINT,
        "expires_in",
        auth.expires_in,
        MAX_EXPIRES_IN_SECS,
    )?;
    // RFC 8628 §3.2: 5 seconds when the server does not say.
    let mut interval = Duration::from_secs(bounded(
        DEVICE_ENDPOINT,
        "interval",
        auth.interval.unwrap_or(5),
        MAX_INTERVAL_SECS,
    )?);
    // Both bounded (the flag by clap, the lifetime above), so these cannot overflow; a
    // platform whose Instant cannot hold them still gets no panic: it waits for the other one.
    let expires_at = deadline_after(started, Duration::from_secs(expires_in));
    let give_up_at = deadline_after(started, opts.timeout);
    let countdown = ui.countdown("Waiting for approval", expires_at.min(give_up_at));
    // The latest poll's failure, while the server keeps failing: a timeout then names it.
    let mut failing: Option<Error> = None;
    loop {
        let wake = deadline_after(Instant::now(), interval);
        if wake > give_up_at {
            tokio::time::sleep_until(give_up_at.into()).await;
            return Err(timed_out(opts.timeout, client, failing.as_ref()));
        }
        while Instant::now() < wake {
            countdown.tick();
            tokio::time::sleep(
                wake.saturating_duration_since(Instant::now())
                    .min(Duration::from_secs(1)),
            )
            .await;
        }
        if Instant::now() >= expires_at {
            return Err(Error::ExpiredCode {
                what: "device code",
            });
        }
        let polled = client
            .grant(&[
                ("grant_type", GRANT),
                ("device_code", auth.device_code.expose()),
            ])
            .await;
        // The server answered again: an earlier failure no longer explains a timeout.
        if matches!(polled, Ok(_) | Err(Error::OAuth { .. })) {
            failing = None;
        }
        match polled {
            Ok(tokens) => return Ok(tokens),
            Err(Error::OAuth { body, what }) => match body.error {
                OAuthErrorCode::AuthorizationPending => {}
                OAuthErrorCode::SlowDown => {
                    interval = interval.saturating_add(Duration::from_secs(5));
                    tracing::debug!(interval_s = interval.as_secs(), "slow_down: polling slower");
                }
                OAuthErrorCode::AccessDenied => {
                    return Err(Error::AccessDenied {
                        detail: Some("the device login was denied".into()),
                    });
                }
                OAuthErrorCode::ExpiredToken => {
                    return Err(Error::ExpiredCode {
                        what: "device code",
                    });
                }
                // Every other code ends the login with the server's own words (listed, so a new
                // code is a decision to make here).
                OAuthErrorCode::InvalidRequest
                | OAuthErrorCode::InvalidClient
                | OAuthErrorCode::InvalidGrant
                | OAuthErrorCode::UnauthorizedClient
                | OAuthErrorCode::UnsupportedGrantType
                | OAuthErrorCode::InvalidScope
                | OAuthErrorCode::UnsupportedResponseType
                | OAuthErrorCode::ServerError
                | OAuthErrorCode::TemporarilyUnavailable
                | OAuthErrorCode::RefreshReplayBenignRetry
                | OAuthErrorCode::Other(_) => return Err(Error::OAuth { what, body }),
            },
            // A network blip or an overloaded server should not end a login the person may be
            // approving right now: keep polling (at least as slowly as asked) until the deadline.
            Err(e @ (Error::Transport { .. } | Error::Unavailable { .. })) => {
                if let Error::Unavailable {
                    retry_after: Some(s),
                    ..
                } = &e
                {
                    let s = bounded("the token endpoint", "Retry-After", *s, MAX_INTERVAL_SECS)?;
                    interval = interval.max(Duration::from_secs(s));
                }
                tracing::debug!(error = %e, "device poll failed; retrying");
                failing = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
}

/// `start + after`, or the farthest representable instant (about a century on) when that
/// overflows: a deadline so far away is never reached before a bounded one.
pub(crate) fn deadline_after(start: Instant, after: Duration) -> Instant {
    start
        .checked_add(after)
        .or_else(|| start.checked_add(Duration::from_secs(100 * 365 * 86_400)))
        // Unreachable on the platforms we build for (Instant holds centuries); the bounded
        // inputs make even this fallback moot.
        .unwrap_or(start)
}

/// The timeout, naming the server and its last failure when the polls were failing then (a
/// login that "timed out" against a server that was down is the server's story, not the user's).
fn timed_out(timeout: Duration, client: &OAuthClient<'_>, failing: Option<&Error>) -> Error {
    let reason = format!("login timed out after {} s", timeout.as_secs());
    let Some(e) = failing else {
        return Error::Cancelled { reason };
    };
    let endpoint = &client.meta.token_endpoint;
    let server = match (endpoint.host_str(), endpoint.port_or_known_default()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => endpoint.as_str().to_owned(),
    };
    Error::Cancelled {
        reason: format!("{reason} while the server at {server} kept failing (last: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::discovery::ServerMetadata;
    use crate::http::Http;
    use rstest::rstest;
    use wiremock::matchers::{body_string_contains, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// A device login (no browser) against the `/device` and `/token` endpoints at `base`.
    async fn device_login(base: &url::Url, timeout: Duration) -> Result<Tokens> {
        let meta = ServerMetadata {
            device_authorization_endpoint: Some(base.join("/device").unwrap()),
            ..ServerMetadata::token_only(base)
        };
        let http = Http::without_proxy().unwrap();
        let client = OAuthClient {
            http: &http,
            meta: &meta,
            client_id: "c".into(),
            secret: None,
            scope: None,
        };
        let options = DeviceOptions {
            open_browser: false,
            timeout,
        };
        login(&client, options, Ui::detect()).await
    }

    async fn run(final_error: &str) -> Result<Tokens> {
        let server = MockServer::start().await;
        let base = url::Url::parse(&server.uri()).unwrap();
        Mock::given(method("POST"))
            .and(path("/device"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "device_code": "dc", "user_code": "ABCD-EFGH",
                "verification_uri": "http://127.0.0.1/device", "expires_in": 60, "interval": 0
            })))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .and(body_string_contains("device_code"))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({"error": "authorization_pending"})),
            )
            .up_to_n_times(2)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/token"))
            .respond_with(
                ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": final_error})),
            )
            .mount(&server)
            .await;
        let r = device_login(&base, Duration::from_secs(30)).await;
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            4,
            "1 authorization + 3 polls"
        );
        r
    }

    /// A denied or expired device login is told in plain words (what happened to the device
    /// login), not as a raw OAuth error code of the token endpoint, and each keeps its own
    /// category; an error the flow has no words for is passed on as the server's OAuth error.
    #[rstest]
    #[case::denied(
        "access_denied",
        "access_denied",
        "authorization denied: the device login was denied"
    )]
    #[case::expired(
        "expired_token",
        "expired_code",
        "the device code expired before the login was approved"
    )]
    #[case::other(
        "invalid_client",
        "config",
        "the token endpoint returned an OAuth error: invalid_client"
    )]
    #[tokio::test]
    async fn denial_and_expiry_are_reported_in_plain_words(
        #[case] final_error: &str,
        #[case] category: &str,
        #[case] message: &str,
    ) {
        let err = run(final_error).await.unwrap_err();
        assert_eq!(err.category().name(), category);
        assert_eq!(err.to_string(), message);
    }

    /// The device authorization request carries the login's scope (finding I1).
    #[tokio::test]
    async fn the_device_authorization_request_carries_the_scope() {
        let server = MockServer::start().await;
        let base = url::Url::parse(&server.uri()).unwrap();
        Mock::given(method("POST"))
            .and(path("/device"))
            .respond_with(
                ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({"error": "invalid_scope"})),
            )
            .mount(&server)
            .await;
        let meta = ServerMetadata {
            device_authorization_endpoint: Some(base.join("/device").unwrap()),
            ..ServerMetadata::token_only(&base)
        };
        let http = Http::without_proxy().unwrap();
        let client = OAuthClient {
            http: &http,
            meta: &meta,
            client_id: "c".into(),
            secret: None,
            scope: crate::protocol::Scope::parse("openid offline_access"),
        };
        let options = DeviceOptions {
            open_browser: false,
            timeout: Duration::from_secs(5),
        };
        let r = login(&client, options, Ui::detect()).await;
        assert!(matches!(&r, Err(Error::OAuth { .. })), "{r:?}");
        let body =
            String::from_utf8(server.received_requests().await.unwrap()[0].body.clone()).unwrap();
        assert!(body.contains("scope=openid+offline_access"), "{body}");
    }

    /// A wiremock server whose `/device` answers `authorization` and whose `/token` answers
    /// `token` to every poll (when given), and its base URL.
    async fn device_server(
        authorization: serde_json::Value,
        token: Option<ResponseTemplate>,
    ) -> (MockServer, url::Url) {
        let server = MockServer::start().await;
        let base = url::Url::parse(&server.uri()).unwrap();
        Mock::given(method("POST"))
            .and(path("/device"))
            .respond_with(ResponseTemplate::new(200).set_body_json(authorization))
            .mount(&server)
            .await;
        if let Some(token) = token {
            Mock::given(method("POST"))
                .and(path("/token"))
                .respond_with(token)
                .mount(&server)
                .await;
        }
        (server, base)
    }

    /// RFC 8628 §3.2 (finding I2): a device authorization without `interval` is polled every
    /// 5 s: within a 6 s timeout exactly one poll happens (a shorter default would poll more
    /// often, a longer one not at all).
    #[tokio::test]
    async fn without_an_interval_polls_come_every_five_seconds() {
        let (server, base) = device_server(
            serde_json::json!({
                "device_code": "dc", "user_code": "ABCD-EFGH",
                "verification_uri": "http://127.0.0.1/device", "expires_in": 60
            }),
            Some(
                ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({"error": "authorization_pending"})),
            ),
        )
        .await;
        let r = device_login(&base, Duration::from_secs(6)).await;
        assert!(matches!(&r, Err(Error::Cancelled { .. })), "{r:?}");
        let polls = server.received_requests().await.unwrap().len() - 1;
        assert_eq!(polls, 1, "one poll at 5 s, none before the 6 s timeout");
    }

    /// The timeout bounds the whole login: when it ends before the next poll is due, the login
    /// ends at the timeout instead of sleeping through it and polling once more afterwards. Here
    /// the server asks for 5 s between polls and the timeout is zero, so no poll may happen
    /// (a poll would be answered `access_denied`, a different outcome).
    #[tokio::test]
    async fn timeout_before_the_next_poll_ends_the_login_without_polling() {
        let (server, base) = device_server(
            serde_json::json!({
                "device_code": "dc", "user_code": "ABCD-EFGH",
                "verification_uri": "http://127.0.0.1/device", "expires_in": 60, "interval": 5
            }),
            Some(
                ResponseTemplate::new(400)
                    .set_body_json(serde_json::json!({"error": "access_denied"})),
            ),
        )
        .await;
        let r = device_login(&base, Duration::ZERO).await;
        assert!(
            matches!(&r, Err(Error::Cancelled { reason }) if reason == "login timed out after 0 s"),
            "{r:?}"
        );
        assert_eq!(
            server.received_requests().await.unwrap().len(),
            1,
            "the device authorization only, no poll"
        );
    }

    /// A device authorization whose `expires_in` or `interval` is u64::MAX is a
    /// `server_error` naming the field (it used to panic adding it to an `Instant`).
    #[rstest]
    #[case::expires_in(serde_json::json!({"device_code": "dc", "user_code": "ABCD-EFGH",
        "verification_uri": "http://127.0.0.1/device", "expires_in": u64::MAX, "interval": 0}), "`expires_in`")]
    #[case::interval(serde_json::json!({"device_code": "dc", "user_code": "ABCD-EFGH",
        "verification_uri": "http://127.0.0.1/device", "expires_in": 60, "interval": u64::MAX}), "`interval`")]
    #[tokio::test]
    async fn out_of_range_lifetimes_are_a_server_error(
        #[case] body: serde_json::Value,
        #[case] field: &str,
    ) {
        let (_server, base) = device_server(body, None).await;
        let err = device_login(&base, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err.category().name(), "server_error", "{err}");
        assert!(err.to_string().contains(field), "{err}");
    }

    /// A 503 with `Retry-After: 18446744073709551615` while polling is a `server_error`
    /// naming `Retry-After` (it used to panic computing the next poll).
    #[tokio::test]
    async fn a_huge_retry_after_while_polling_is_a_server_error() {
        let (_server, base) = device_server(
            serde_json::json!({
                "device_code": "dc", "user_code": "ABCD-EFGH",
                "verification_uri": "http://127.0.0.1/device", "expires_in": 60, "interval": 0
            }),
            Some(ResponseTemplate::new(503).insert_header("Retry-After", "18446744073709551615")),
        )
        .await;
        let err = device_login(&base, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(err.category().name(), "server_error", "{err}");
        assert!(err.to_string().contains("`Retry-After`"), "{err}");
    }

    /// Device polling that ran out of time while every poll failed names the server and the
    /// last failure instead of only "login timed out".
    #[tokio::test]
    async fn a_timeout_while_the_server_keeps_failing_names_the_server_and_the_failure() {
        let (server, base) = device_server(
            serde_json::json!({
                "device_code": "dc", "user_code": "ABCD-EFGH",
                "verification_uri": "http://127.0.0.1/device", "expires_in": 60, "interval": 1
            }),
            Some(ResponseTemplate::new(503).insert_header("Retry-After", "1")),
        )
        .await;
        let r = device_login(&base, Duration::from_secs(3)).await;
        let host = format!("127.0.0.1:{}", base.port().unwrap());
        match &r {
            Err(Error::Cancelled { reason }) => {
                assert!(reason.starts_with("login timed out after 3 s"), "{reason}");
                assert!(
                    reason.contains(&format!("the server at {host} kept failing")),
                    "{reason}"
                );
                assert!(reason.contains("HTTP 503"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
        assert!(server.received_requests().await.unwrap().len() >= 2);
    }
}
