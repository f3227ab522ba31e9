//! Client authentication (RFC 6749 §2.3): who a request comes from, and whether a confidential
//! client proved it. Shared by the token, device authorization, revocation and introspection
//! endpoints.

use crate::config::AuthMethod;
use crate::model::state::ClientView;
use crate::model::{Shared, lock};
use crate::oauth_error::OAuthError;
use crate::request::{PresentedClient, RequestCtx};

/// A client that identified itself and, when confidential, authenticated.
#[derive(Debug)]
pub(crate) struct Authenticated {
    pub(crate) client_id: String,
    pub(crate) client: ClientView,
}

/// The client the request names, authenticated; `None` when the request names no client (the
/// caller decides whether that is allowed). An unknown client or a confidential client whose
/// secret is missing, wrong or sent with a method it may not use is 401 `invalid_client`.
pub(crate) fn authenticate(
    s: &Shared,
    ctx: &RequestCtx,
) -> Result<Option<Authenticated>, OAuthError> {
    let Some(presented) = ctx.presented_client()? else {
        return Ok(None);
    };
    let client = lock(&s.state)
        .client(&presented.client_id)
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
    verify(&presented.client_id, &client, Some(&presented))?;
    Ok(Some(Authenticated {
        client_id: presented.client_id,
        client,
    }))
}

/// A client the request did not name (it was found another way, e.g. from the refresh token):
/// fine for a public client, 401 `invalid_client` for a confidential one (RFC 6749 §3.2.1, §6).
pub(crate) fn unnamed(s: &Shared, client_id: &str) -> Result<Authenticated, OAuthError> {
    let client = lock(&s.state)
        .client(client_id)
        .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
    verify(client_id, &client, None)?;
    Ok(Authenticated {
        client_id: client_id.to_owned(),
        client,
    })
}

/// Checks a client's credentials; a public client needs none.
fn verify(
    client_id: &str,
    client: &ClientView,
    presented: Option<&PresentedClient>,
) -> Result<(), OAuthError> {
    let Some(expected) = &client.secret else {
        return Ok(());
    };
    let methods = match client.auth_method {
        Some(m) => m.name(),
        None => "client_secret_basic or client_secret_post",
    };
    let Some((secret, basic)) = presented.and_then(|p| p.secret.as_deref().map(|s| (s, p.basic)))
    else {
        return Err(OAuthError::invalid_client(&format!(
            "client {client_id} is confidential and must authenticate with {methods} (RFC 6749 §2.3.1)"
        )));
    };
    let used = if basic {
        AuthMethod::ClientSecretBasic
    } else {
        AuthMethod::ClientSecretPost
    };
    if client.auth_method.is_some_and(|m| m != used) {
        return Err(OAuthError::invalid_client(&format!(
            "client {client_id} authenticates with {methods}, not {}",
            used.name()
        )));
    }
    if secret != expected.expose() {
        return Err(OAuthError::invalid_client(
            "client authentication failed: wrong client_secret",
        ));
    }
    Ok(())
}

/// The client that owns a token (refresh or access), if the token is known.
pub(crate) fn token_owner(s: &Shared, token: &str) -> Option<String> {
    let st = lock(&s.state);
    st.refresh
        .get(token)
        .map(|r| r.client_id.clone())
        .or_else(|| st.access.get(token).map(|a| a.client_id.clone()))
}
