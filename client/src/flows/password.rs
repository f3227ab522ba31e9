//! Resource owner password credentials (RFC 6749 §4.3), for servers that allow it.

use super::{OAuthClient, Tokens};
use crate::classify::{Error, Result};
use crate::oauth_error::OAuthErrorCode;
use crate::secret::Secret;

/// Exchanges a username and password for tokens.
pub(crate) async fn login(
    client: &OAuthClient<'_>,
    username: &str,
    password: &Secret,
) -> Result<Tokens> {
    if !client.meta.supports_grant("password") {
        return Err(Error::MethodUnsupported { method: "password" });
    }
    let mut form = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password.expose()),
    ];
    if let Some(scope) = &client.scope {
        form.push(("scope", scope.as_str()));
    }
    match client.grant(&form).await {
        Err(Error::OAuth { body, .. }) if body.error == OAuthErrorCode::InvalidGrant => {
            Err(Error::InvalidCredentials)
        }
        other => other,
    }
}
