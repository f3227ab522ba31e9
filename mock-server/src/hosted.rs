//! The hosted API the CLI talks to (`/api/v1/...`, docs/interfaces.md section 3).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use http::StatusCode;

use crate::config::UserConfig;
use crate::dialect::Spec;
use crate::model::grants::SignIn;
use crate::model::state::AccessRecord;
use crate::model::{Shared, lock};
use crate::oauth::{client_auth, token_json, token_response};
use crate::oauth_error::OAuthError;
use crate::request::{Ctx, RequestCtx};

/// `GET /api/v1/meta` (no auth).
pub(crate) async fn meta(State(s): State<Arc<Shared>>) -> Response {
    let zero_auth = lock(&s.state).config.zero_auth;
    Json(serde_json::json!({ "auth_required": !zero_auth, "issuer": s.issuer() })).into_response()
}

/// Who is calling: a user with the token that proved it, or the anonymous user of zero-auth mode.
pub(crate) struct Caller {
    pub(crate) user: UserConfig,
    pub(crate) token: Option<AccessRecord>,
}

fn anonymous() -> UserConfig {
    UserConfig {
        username: "anonymous".to_owned(),
        password: String::new(),
        email: None,
        name: Some("Anonymous".to_owned()),
        private_teamspace: true,
        teams: Vec::new(),
    }
}

/// The caller of a hosted-API request, or the RFC 6750 §3.1 error.
pub(crate) fn caller(s: &Shared, ctx: &RequestCtx) -> Result<Caller, OAuthError> {
    let zero_auth = lock(&s.state).config.zero_auth;
    let record = ctx.bearer.as_deref().and_then(|t| s.access(t));
    match (record, zero_auth) {
        (Some(token), _) => {
            let user = lock(&s.state).user(&token.user).cloned();
            match user {
                Some(user) => Ok(Caller {
                    user,
                    token: Some(token),
                }),
                None => Err(OAuthError::invalid_token(
                    "the token's user no longer exists",
                )),
            }
        }
        (None, true) => Ok(Caller {
            user: anonymous(),
            token: None,
        }),
        (None, false) if ctx.bearer.is_none() => {
            // RFC 6750 §3.1: a request without credentials gets a challenge without an error code.
            let mut e = OAuthError::new(401, "invalid_token", "a bearer token is required");
            e.www_authenticate = Some("Bearer realm=\"cliauth-mock\"".to_owned());
            Err(e)
        }
        (None, false) => Err(OAuthError::invalid_token(
            "the access token is invalid, expired or revoked",
        )),
    }
}

/// The `/api/v1/me` body of a user.
pub(crate) fn user_json(u: &UserConfig) -> serde_json::Value {
    let mut teams = Vec::new();
    if u.private_teamspace {
        teams.push(serde_json::json!({
            "id": format!("pts-{}", u.username), "slug": u.username,
            "name": format!("{}'s Private Teamspace", u.name.as_deref().unwrap_or(&u.username)),
            "role": "owner", "is_private_teamspace": true,
        }));
    }
    for t in &u.teams {
        teams.push(serde_json::json!({
            "id": t.id, "slug": t.id, "name": t.name, "role": "member", "is_private_teamspace": t.private,
        }));
    }
    serde_json::json!({
        // OIDC Core §5.3.2: userinfo has `sub`, the ID and access tokens' subject.
        "sub": u.username,
        "user_id": format!("usr_{}", u.username),
        "username": u.username,
        "email": u.email,
        "name": u.name,
        "teams": teams,
    })
}

/// Whether the user owns or belongs to a Private Teamspace (direct ingress needs one).
pub(crate) fn has_private_teamspace(u: &UserConfig) -> bool {
    u.private_teamspace || u.teams.iter().any(|t| t.private)
}

/// `GET /api/v1/me`.
pub(crate) async fn me(State(s): State<Arc<Shared>>, ctx: Ctx) -> Result<Response, OAuthError> {
    let c = caller(&s, &ctx)?;
    Ok(Json(user_json(&c.user)).into_response())
}

/// `POST /api/v1/ingress`: a sync batch `{"events":[...]}`.
pub(crate) async fn ingress(
    State(s): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    let c = caller(&s, &ctx)?;
    if !has_private_teamspace(&c.user) {
        return Err(OAuthError::new(
            403,
            "private_teamspace_required",
            "direct ingress needs a Private Teamspace; create one first",
        ));
    }
    let events = json_body(&ctx)?
        .get("events")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| OAuthError::invalid_request("the body must be {\"events\": [...]}"))?
        .len();
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "accepted": events })),
    )
        .into_response())
}

/// The JSON body, or `invalid_request` for a bad body or another content type.
fn json_body(ctx: &RequestCtx) -> Result<&serde_json::Value, OAuthError> {
    match &ctx.json {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(OAuthError::invalid_request(e)),
        None => Err(OAuthError::invalid_request(
            "the body must be application/json",
        )),
    }
}

/// `GET /api/v1/session`: the server's view of the caller's session.
pub(crate) async fn session(
    State(s): State<Arc<Shared>>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    let c = caller(&s, &ctx)?;
    let now = s.clock.now_secs();
    Ok(Json(serde_json::json!({
        "active": true,
        "username": c.user.username,
        "client_id": c.token.as_ref().map(|t| t.client_id.clone()),
        "issued_at": c.token.as_ref().map(|t| t.iat_ms / 1000),
        "expires_at": c.token.as_ref().map(|t| t.exp_ms / 1000),
        "server_time": now,
    }))
    .into_response())
}

/// `POST /api/v1/auth/login`: JSON password login answering the token-endpoint pair.
pub(crate) async fn login(
    State(s): State<Arc<Shared>>,
    Extension(spec): Extension<Spec>,
    ctx: Ctx,
) -> Result<Response, OAuthError> {
    let body = json_body(&ctx)?;
    let field = |k: &str| body.get(k).and_then(serde_json::Value::as_str);
    let (Some(username), Some(password)) = (field("username"), field("password")) else {
        return Err(OAuthError::invalid_request(
            "username and password are required",
        ));
    };
    let (ok, client_id) = {
        let st = lock(&s.state);
        let ok = st.user(username).is_some_and(|u| u.password == password);
        // No client named: the first public client (never a confidential one, which would
        // then get tokens without authenticating).
        let client = field("client_id")
            .map(str::to_owned)
            .or_else(|| {
                st.config
                    .clients
                    .iter()
                    .find(|c| c.client_secret.is_none())
                    .map(|c| c.client_id.clone())
            })
            .unwrap_or_default();
        (ok, client)
    };
    // The JSON login carries no client secret: a confidential client is refused (RFC 6749 §2.3).
    let client = client_auth::unnamed(s.as_ref(), &client_id)?;
    let scope = field("scope").unwrap_or("");
    client
        .client
        .check_scope(scope)
        .map_err(|why| OAuthError::invalid_scope(&why))?;
    if !ok {
        return Err(OAuthError::new(
            401,
            "invalid_grant",
            "invalid username or password",
        ));
    }
    let pair = s.issue_new(username, &client_id, scope, "password", SignIn::default())?;
    Ok(token_response(token_json(&pair, spec), Some("issued")))
}
