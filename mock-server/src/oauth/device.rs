//! The device authorization grant (RFC 8628): the authorization endpoint, the verification
//! page a person uses, and the polling side of the token endpoint.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use http::StatusCode;

use super::{token_json, token_response};
use crate::clock::ms_after;
use crate::config::{DEVICE_GRANT, DeviceStep};
use crate::dialect::Spec;
use crate::model::grants::SignIn;
use crate::model::state::{DeviceAuth, DeviceDecision};
use crate::model::{Shared, lock, normalize_user_code as normalize};
use crate::oauth_error::{OAuthError, PollGap};
use crate::request::{Ctx, RequestCtx, required};
use crate::tokens::{random_secret, user_code};

/// `POST /oauth/device_authorization` (RFC 8628 §3.1).
pub(crate) async fn authorization(
    State(s): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    let body = start(&s, &ctx)?;
    Ok(token_response(body, Some("device_code_issued")))
}

fn start(s: &Shared, ctx: &RequestCtx) -> Result<serde_json::Value, OAuthError> {
    let form = ctx.form()?;
    let Some(authenticated) = super::client_auth::authenticate(s, ctx)? else {
        return Err(OAuthError::invalid_request("missing parameter client_id"));
    };
    let (client_id, client) = (authenticated.client_id, authenticated.client);
    let now = s.clock.now_ms();
    let device_code = random_secret("mdc_");
    let code = user_code();
    let mut st = lock(&s.state);
    if !client.grants.iter().any(|g| g == DEVICE_GRANT) {
        return Err(OAuthError::new(
            400,
            "unauthorized_client",
            "client may not use the device grant",
        ));
    }
    let scope = form.get("scope").cloned().unwrap_or_default();
    client
        .check_scope(&scope)
        .map_err(|why| OAuthError::invalid_scope(&why))?;
    let cfg = st.config.device.clone();
    st.devices.insert(
        device_code.clone(),
        DeviceAuth {
            user_code: code.clone(),
            client_id,
            scope,
            created_ms: now,
            expires_ms: ms_after(now, cfg.expires_in),
            interval_s: cfg.interval,
            decision: DeviceDecision::Pending,
            polls: 0,
            last_poll_ms: None,
            script: cfg.script.clone(),
            redeemed: false,
        },
    );
    st.user_codes.insert(normalize(&code), device_code.clone());
    st.recent_user_codes.push(code.clone());
    st.secrets.push(device_code.clone());
    drop(st);
    let uri = format!("{}/device", s.base_url);
    Ok(serde_json::json!({
        "device_code": device_code,
        "user_code": code,
        "verification_uri": uri,
        "verification_uri_complete": format!("{uri}?user_code={code}"),
        "expires_in": cfg.expires_in,
        "interval": cfg.interval,
    }))
}

/// What one poll answers.
enum Answer {
    Pending,
    SlowDown,
    Approved(String),
    Denied,
    Expired,
}

/// The device-code grant at the token endpoint (RFC 8628 §3.4, §3.5).
pub(crate) fn poll(
    s: &Shared,
    spec: Spec,
    form: &HashMap<String, String>,
    client_id: &str,
) -> Result<Response, OAuthError> {
    let device_code = required(form, "device_code")?;
    let now = s.clock.now_ms();
    let mut st = lock(&s.state);
    let cfg = st.config.device.clone();
    let Some(d) = st.devices.get_mut(device_code) else {
        return Err(OAuthError::invalid_grant("unknown device code"));
    };
    if d.client_id != client_id {
        return Err(OAuthError::invalid_grant(
            "device code was issued to another client",
        ));
    }
    let gap = d.last_poll_ms.map(|last| PollGap {
        gap_ms: now.saturating_sub(last),
        // Before this poll's own answer: a `slow_down` below lengthens the next wait only.
        interval_ms: d.interval_s.saturating_mul(1000),
    });
    d.last_poll_ms = Some(now);
    d.polls += 1;
    let answer = if d.redeemed {
        return Err(with_gap(
            OAuthError::invalid_grant("device code already used"),
            gap,
        ));
    } else if now >= d.expires_ms {
        Answer::Expired
    } else if !d.script.is_empty() {
        let idx = usize::try_from(d.polls - 1)
            .unwrap_or(usize::MAX)
            .min(d.script.len() - 1);
        match d.script[idx] {
            DeviceStep::Pending => Answer::Pending,
            DeviceStep::SlowDown => Answer::SlowDown,
            DeviceStep::Approved => Answer::Approved(cfg.user.clone()),
            DeviceStep::Denied => Answer::Denied,
            DeviceStep::Expired => Answer::Expired,
        }
    } else if gap.is_some_and(|g| g.gap_ms < g.interval_ms) {
        Answer::SlowDown
    } else {
        match &d.decision {
            DeviceDecision::Approved(user) => Answer::Approved(user.clone()),
            DeviceDecision::Denied => Answer::Denied,
            DeviceDecision::Pending
                if (cfg.approve_after_polls > 0 && d.polls >= cfg.approve_after_polls)
                    || (cfg.approve_after_secs > 0
                        && now.saturating_sub(d.created_ms)
                            >= cfg.approve_after_secs.saturating_mul(1000)) =>
            {
                Answer::Approved(cfg.user.clone())
            }
            DeviceDecision::Pending => Answer::Pending,
        }
    };
    let err = match answer {
        Answer::Pending => OAuthError::new(
            400,
            "authorization_pending",
            "the user has not yet approved",
        ),
        Answer::SlowDown => {
            // RFC 8628 §3.5: the interval grows by 5 seconds for this and all later polls.
            d.interval_s = d.interval_s.saturating_add(5);
            OAuthError::new(
                400,
                "slow_down",
                &format!("poll at most every {} seconds", d.interval_s),
            )
        }
        Answer::Denied => OAuthError::new(400, "access_denied", "the user denied the request"),
        Answer::Expired => OAuthError::new(400, "expired_token", "the device code has expired"),
        Answer::Approved(user) => {
            d.redeemed = true;
            let scope = d.scope.clone();
            drop(st);
            let pair = s.issue_new(&user, client_id, &scope, "device_code", SignIn::default())?;
            let mut resp = token_response(token_json(&pair, spec), Some("issued"));
            if let Some(g) = gap {
                resp.extensions_mut().insert(g);
            }
            return Ok(resp);
        }
    };
    Err(with_gap(err, gap))
}

fn with_gap(mut e: OAuthError, gap: Option<PollGap>) -> OAuthError {
    e.poll_gap = gap;
    e
}

const PAGE_STYLE: &str = "body{font-family:sans-serif;max-width:28rem;margin:3rem auto}label{display:block;margin:.5rem 0}";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title><style>{PAGE_STYLE}</style></head><body><h1>{title}</h1>{body}</body></html>"
    )
}

/// `GET /device`: the verification page (RFC 8628 §3.3) with a form to enter the code.
pub(crate) async fn page_get(ctx: Ctx) -> Response {
    let prefill = ctx
        .query
        .as_ref()
        .ok()
        .and_then(|q| q.get("user_code"))
        .map(|c| escape(c))
        .unwrap_or_default();
    let form = format!(
        "<form method=\"post\" action=\"/device\">\
<label>Code <input name=\"user_code\" id=\"user_code\" value=\"{prefill}\" autocomplete=\"off\"></label>\
<label>Username <input name=\"username\" id=\"username\"></label>\
<label>Password <input name=\"password\" id=\"password\" type=\"password\"></label>\
<button name=\"action\" value=\"approve\" id=\"approve\">Approve</button> \
<button name=\"action\" value=\"deny\" id=\"deny\">Deny</button></form>"
    );
    Html(page("Connect a device", &form)).into_response()
}

/// `POST /device`: a person approves or denies.
pub(crate) async fn page_post(
    State(s): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    Ok(page_decision(&s, ctx.form()?))
}

/// The page a person sees after approving or denying on `POST /device`.
fn page_decision(s: &Shared, form: &HashMap<String, String>) -> Response {
    let code = form
        .get("user_code")
        .map(String::as_str)
        .unwrap_or_default();
    let action = form.get("action").map(String::as_str).unwrap_or_default();
    let now = s.clock.now_ms();
    let live = {
        let st = lock(&s.state);
        st.user_codes
            .get(&normalize(code))
            .and_then(|dc| st.devices.get(dc))
            .is_some_and(|d| {
                !d.redeemed && now < d.expires_ms && d.decision == DeviceDecision::Pending
            })
    };
    if !live {
        let body = format!(
            "<p id=\"result\">The code {} is unknown, expired or already used.</p>",
            escape(code)
        );
        return (
            StatusCode::BAD_REQUEST,
            Html(page("Code not accepted", &body)),
        )
            .into_response();
    }
    let decision = match action {
        "approve" => {
            let username = form.get("username").map(String::as_str).unwrap_or_default();
            let password = form.get("password").map(String::as_str).unwrap_or_default();
            let ok = lock(&s.state)
                .user(username)
                .is_some_and(|u| u.password == password);
            if !ok {
                let body = "<p id=\"result\">Invalid username or password.</p>";
                return (StatusCode::UNAUTHORIZED, Html(page("Sign-in failed", body)))
                    .into_response();
            }
            DeviceDecision::Approved(username.to_owned())
        }
        "deny" => DeviceDecision::Denied,
        _ => {
            let body = "<p id=\"result\">Choose approve or deny.</p>";
            return (StatusCode::BAD_REQUEST, Html(page("Nothing decided", body))).into_response();
        }
    };
    let approved = matches!(decision, DeviceDecision::Approved(_));
    match s.decide_device(Some(code), decision) {
        Ok(_) if approved => Html(page(
            "Device connected",
            "<p id=\"result\">Approved. You can return to your terminal.</p>",
        ))
        .into_response(),
        Ok(_) => Html(page(
            "Request denied",
            "<p id=\"result\">Denied. The device will not be connected.</p>",
        ))
        .into_response(),
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Html(page(
                "Code not accepted",
                &escape(&format!("failed to {e}")),
            )),
        )
            .into_response(),
    }
}
