//! `POST /oauth/token` (RFC 6749 §3.2): every grant type.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::{client_auth, token_json, token_response};
use crate::config::{DEVICE_GRANT, PkceMode};
use crate::dialect::Spec;
use crate::model::grants::SignIn;
use crate::model::{Shared, lock};
use crate::oauth_error::OAuthError;
use crate::request::{Ctx, RequestCtx, required};

/// The token endpoint.
pub(crate) async fn token(
    State(s): State<Arc<Shared>>,
    Extension(spec): Extension<Spec>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    handle(&s, spec, &ctx)
}

fn handle(s: &Shared, spec: Spec, ctx: &RequestCtx) -> Result<Response, OAuthError> {
    let form = ctx.form()?;
    let grant = required(form, "grant_type")?;
    let known = [
        "authorization_code",
        "refresh_token",
        "password",
        DEVICE_GRANT,
        "client_credentials",
    ];
    if !known.contains(&grant) {
        return Err(OAuthError::new(
            400,
            "unsupported_grant_type",
            &format!("grant type {grant} is not supported"),
        ));
    }
    let client_id = authenticate(s, ctx, form, grant)?;
    let scope = form.get("scope").map(String::as_str);
    match grant {
        "password" => {
            let username = required(form, "username")?;
            let password = required(form, "password")?;
            let ok = lock(&s.state)
                .user(username)
                .is_some_and(|u| u.password == password);
            if !ok {
                return Err(OAuthError::invalid_grant("invalid username or password"));
            }
            let scope = scope.unwrap_or("");
            allowed_scope(s, &client_id, scope)?;
            let pair = s.issue_new(username, &client_id, scope, "password", SignIn::default())?;
            Ok(token_response(token_json(&pair, spec), Some("issued")))
        }
        "refresh_token" => {
            let presented = required(form, "refresh_token")?;
            let (pair, outcome) = s.refresh(presented, Some(&client_id), scope)?;
            Ok(token_response(token_json(&pair, spec), Some(outcome)))
        }
        "authorization_code" => authorization_code(s, spec, form, &client_id),
        "client_credentials" => {
            // RFC 6749 §4.4: confidential clients only (a public one proves nothing).
            let confidential = lock(&s.state)
                .client(&client_id)
                .is_some_and(|c| c.secret.is_some());
            if !confidential {
                return Err(OAuthError::new(
                    400,
                    "unauthorized_client",
                    "the client_credentials grant is for confidential clients only",
                ));
            }
            let scope = scope.unwrap_or("");
            allowed_scope(s, &client_id, scope)?;
            let pair = s.issue_for_client(&client_id, scope)?;
            Ok(token_response(token_json(&pair, spec), Some("issued")))
        }
        _ => super::device::poll(s, spec, form, &client_id),
    }
}

/// `invalid_scope` unless the client may ask for every scope requested (RFC 6749 §5.2).
fn allowed_scope(s: &Shared, client_id: &str, scope: &str) -> Result<(), OAuthError> {
    let client = lock(&s.state)
        .client(client_id)
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
    client
        .check_scope(scope)
        .map_err(|why| OAuthError::invalid_scope(&why))
}

/// Identifies and authenticates the client (RFC 6749 §2.3, §3.2.1); returns its id.
///
/// A request that names no client is allowed only where RFC 6749 lets a public client stay
/// unnamed: the refresh grant (the refresh token's own client, §6) and the password grant (the
/// first configured public client, §4.3.2). A confidential client must always authenticate.
fn authenticate(
    s: &Shared,
    ctx: &RequestCtx,
    form: &HashMap<String, String>,
    grant: &str,
) -> Result<String, OAuthError> {
    let client = match client_auth::authenticate(s, ctx)? {
        Some(c) => c,
        None if grant == "refresh_token" => {
            let token = required(form, "refresh_token")?;
            let owner = client_auth::token_owner(s, token)
                .ok_or_else(|| OAuthError::invalid_grant("unknown refresh token"))?;
            client_auth::unnamed(s, &owner)?
        }
        None if grant == "password" => {
            let first_public = lock(&s.state)
                .config
                .clients
                .iter()
                .find(|c| c.client_secret.is_none())
                .map(|c| c.client_id.clone());
            let id = first_public.ok_or_else(|| {
                OAuthError::invalid_client(
                    "no client_id: name the client (every configured client is confidential)",
                )
            })?;
            client_auth::unnamed(s, &id)?
        }
        None => return Err(OAuthError::invalid_request("missing parameter client_id")),
    };
    if !client.client.grants.iter().any(|g| g == grant) {
        return Err(OAuthError::new(
            400,
            "unauthorized_client",
            &format!("client may not use the {grant} grant"),
        ));
    }
    Ok(client.client_id)
}

fn authorization_code(
    s: &Shared,
    spec: Spec,
    form: &HashMap<String, String>,
    client_id: &str,
) -> Result<Response, OAuthError> {
    let code = required(form, "code")?;
    let now = s.clock.now_ms();
    let mode = lock(&s.state).config.pkce.mode;
    let grant = {
        let mut st = lock(&s.state);
        let Some(record) = st.codes.get_mut(code) else {
            return Err(OAuthError::invalid_grant("unknown authorization code"));
        };
        if record.used {
            // RFC 6749 §4.1.2: a code used twice SHOULD revoke the tokens it issued.
            if let Some(family) = record.family {
                st.revoke_family(family, "code_reuse");
            }
            return Err(OAuthError::invalid_grant("authorization code already used")
                .with_outcome("code_reuse"));
        }
        if record.client_id != client_id {
            return Err(OAuthError::invalid_grant(
                "authorization code was issued to another client",
            ));
        }
        if now >= record.expires_ms {
            return Err(OAuthError::invalid_grant("authorization code expired"));
        }
        match (&record.redirect_uri, form.get("redirect_uri")) {
            (Some(expected), Some(got)) if expected == got => {}
            (Some(_), _) => {
                return Err(OAuthError::invalid_grant(
                    "redirect_uri does not match the authorization request",
                ));
            }
            (None, _) => {}
        }
        verify_pkce(
            mode,
            record.challenge.as_deref(),
            record.method.as_deref(),
            form.get("code_verifier"),
        )?;
        record.used = true;
        record.clone()
    };
    let sign_in = SignIn {
        nonce: grant.nonce.clone(),
        at_ms: Some(grant.auth_ms),
    };
    let pair = s.issue_new(
        &grant.user,
        client_id,
        &grant.scope,
        "authorization_code",
        sign_in,
    )?;
    if let Some(record) = lock(&s.state).codes.get_mut(code) {
        record.family = Some(pair.family);
    }
    Ok(token_response(token_json(&pair, spec), Some("issued")))
}

/// RFC 7636 §4.6.
fn verify_pkce(
    mode: PkceMode,
    challenge: Option<&str>,
    method: Option<&str>,
    verifier: Option<&String>,
) -> Result<(), OAuthError> {
    if mode == PkceMode::Off {
        return Ok(());
    }
    let Some(challenge) = challenge else {
        return if mode == PkceMode::Strict {
            Err(OAuthError::invalid_grant(
                "authorization request had no code_challenge",
            ))
        } else {
            Ok(())
        };
    };
    let Some(verifier) = verifier else {
        return Err(OAuthError::invalid_request(
            "missing parameter code_verifier",
        ));
    };
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !well_formed {
        return Err(OAuthError::invalid_grant(
            "code_verifier must be 43-128 unreserved characters",
        ));
    }
    let computed = match method.unwrap_or("plain") {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        _ => verifier.clone(),
    };
    if computed == challenge {
        Ok(())
    } else {
        Err(OAuthError::invalid_grant(
            "code_verifier does not match code_challenge",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_verifier_must_hash_to_the_challenge() {
        let verifier = "dBjftJeZ4CVP-mJ0fbUsmeCTEF2s7h4iRCErcP7ekNY".to_owned();
        let challenge = "yoGEVE1-V7saubNaDDUucrUHg-Yy4TUPeEuIHFXTQWA";
        assert!(
            verify_pkce(
                PkceMode::Strict,
                Some(challenge),
                Some("S256"),
                Some(&verifier)
            )
            .is_ok()
        );
        let wrong = "dBjftJeZ4CVP-mJ0fbUsmeCTEF2s7h4iRCErcP7ekNZ".to_owned();
        assert!(
            verify_pkce(
                PkceMode::Strict,
                Some(challenge),
                Some("S256"),
                Some(&wrong)
            )
            .is_err()
        );
    }
}
