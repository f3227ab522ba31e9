//! Token revocation (RFC 7009) and introspection (RFC 7662).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

use super::{client_auth, token_response};
use crate::dialect::Spec;
use crate::model::state::RefreshStatus;
use crate::model::{Shared, lock};
use crate::oauth_error::{OAuthError, Outcome};
use crate::request::{Ctx, RequestCtx, required};

/// Client authentication at revocation (RFC 7009 §2.1) and introspection: a client that names
/// itself must authenticate if confidential; an unnamed request is fine unless the token
/// belongs to a confidential client, which must then authenticate.
fn authenticate_for(s: &Shared, ctx: &RequestCtx, token: &str) -> Result<(), OAuthError> {
    if client_auth::authenticate(s, ctx)?.is_none()
        && let Some(owner) = client_auth::token_owner(s, token)
    {
        client_auth::unnamed(s, &owner)?;
    }
    Ok(())
}

/// `POST /oauth/revoke`: 200 for known and unknown tokens alike (RFC 7009 §2.2).
pub(crate) async fn revoke(
    State(s): State<Arc<Shared>>,
    Extension(spec): Extension<Spec>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    let form = ctx.form()?;
    let token = required(form, "token")?;
    authenticate_for(&s, &ctx, token)?;
    if let Some(hint) = form.get("token_type_hint")
        && hint != "access_token"
        && hint != "refresh_token"
    {
        return Err(OAuthError::new(
            400,
            "unsupported_token_type",
            "token_type_hint must be access_token or refresh_token",
        ));
    }
    s.revoke_token(token, "revocation_request");
    let mut resp = Json(spec.revoke_body()).into_response();
    resp.extensions_mut().insert(Outcome("revoked"));
    Ok(resp)
}

/// `POST /oauth/introspect`.
pub(crate) async fn introspect(
    State(s): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    let form = ctx.form()?;
    let token = required(form, "token")?;
    authenticate_for(&s, &ctx, token)?;
    let now = s.clock.now_ms();
    let issuer = s.issuer();
    let st = lock(&s.state);
    let body = if let Some(a) = st
        .access
        .get(token)
        .filter(|a| !a.revoked && now < a.exp_ms)
    {
        serde_json::json!({
            "active": true, "token_type": "Bearer", "scope": a.scope, "client_id": a.client_id,
            "username": a.user, "sub": a.user, "aud": st.config.tokens.audience, "iss": issuer,
            "exp": a.exp_ms / 1000, "iat": a.iat_ms / 1000, "jti": a.jti,
        })
    } else if let Some(r) = st
        .refresh
        .get(token)
        .filter(|r| r.status == RefreshStatus::Active && now < r.expires_ms)
    {
        serde_json::json!({
            "active": true, "token_type": "refresh_token", "scope": r.scope, "client_id": r.client_id,
            "username": r.user, "sub": r.user, "iss": issuer, "exp": r.expires_ms / 1000,
        })
    } else {
        serde_json::json!({ "active": false })
    };
    Ok(token_response(body, None))
}
