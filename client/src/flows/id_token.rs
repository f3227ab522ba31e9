//! OpenID Connect ID token validation (OIDC Core §3.1.3.7) for a login's token response: the
//! signature against the server's keys at `jwks_uri`, then `iss`, `aud` (and `azp`), `exp` and,
//! when the login sent one, `nonce`. Each failure names the check ([`Error::IdTokenRejected`]);
//! a refused token means the login is not stored.
//!
//! An ID token in a refresh response is not validated: cliauth does not use it (the subject
//! stays the login's), and validating it would add a JWKS request inside the refresh lock.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use super::{OAuthClient, Tokens};
use crate::classify::{Error, IdTokenCheck, Result};
use crate::clock::now_unix;
use crate::config::display_url;
use crate::secret::Secret;

/// Clock skew allowed on `exp`: the same 60 s the client allows a token's expiry elsewhere
/// (`session::token::REFRESH_SKEW_SECS`) and jsonwebtoken's own default.
pub(crate) const ID_TOKEN_LEEWAY_SECS: u64 = 60;

/// The claims cliauth checks. `aud` is a string or an array (OIDC Core §2).
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    sub: Option<String>,
    /// A string or an array of strings (OIDC Core §2); read by [`audiences`].
    #[serde(default)]
    aud: Option<serde_json::Value>,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    exp: Option<u64>,
    #[serde(default)]
    nonce: Option<String>,
}

/// The audiences of an `aud` claim; anything but a string or strings counts as none.
fn audiences(aud: Option<&serde_json::Value>) -> Vec<&str> {
    match aud {
        Some(serde_json::Value::String(a)) => vec![a.as_str()],
        Some(serde_json::Value::Array(list)) => {
            list.iter().filter_map(serde_json::Value::as_str).collect()
        }
        _ => Vec::new(),
    }
}

/// What a verified ID token tells cliauth.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedIdToken {
    /// The subject (`sub`): the end user at the issuer.
    pub sub: String,
}

fn rejected(check: IdTokenCheck, detail: impl Into<String>) -> Error {
    Error::IdTokenRejected {
        check,
        detail: detail.into(),
    }
}

/// A login's token response with its ID token verified: the tokens and the ID token's subject
/// (`None` when the response has no ID token).
pub(crate) async fn verify_response(
    client: &OAuthClient<'_>,
    tokens: Tokens,
    nonce: Option<&Secret>,
) -> Result<(Tokens, Option<String>)> {
    let subject = match &tokens.id_token {
        Some(id_token) => Some(verify(client, id_token, nonce).await?.sub),
        None => None,
    };
    Ok((tokens, subject))
}

/// Verifies `id_token` from a login by `client`; `nonce` is the one the login sent, if any.
pub(crate) async fn verify(
    client: &OAuthClient<'_>,
    id_token: &Secret,
    nonce: Option<&Secret>,
) -> Result<VerifiedIdToken> {
    let token = id_token.expose();
    let header = jsonwebtoken::decode_header(token).map_err(|e| {
        rejected(
            IdTokenCheck::Format,
            format!("it is not a signed JWT ({e})"),
        )
    })?;
    check_algorithm(header.alg)?;
    let Some(jwks_uri) = &client.meta.jwks_uri else {
        return Err(rejected(
            IdTokenCheck::Signature,
            "the server's discovery document has no jwks_uri to check it against",
        ));
    };
    let keys: JwkSet = client
        .http
        .get_json(jwks_uri, "the authorization server's JWKS")
        .await?;
    let claims = verify_signature(token, header.alg, header.kid.as_deref(), &keys)?;
    check_claims(
        &claims,
        &display_url(client.meta.issuer.url()),
        client.client_id.as_str(),
        nonce,
        now_unix(),
    )
}

/// Only the server's public-key signatures count: `none` and shared-secret (HMAC) algorithms
/// are refused, since a public client has no secret the server could have used.
fn check_algorithm(alg: Algorithm) -> Result<()> {
    if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(rejected(
            IdTokenCheck::Signature,
            format!("{alg:?} is a shared-secret algorithm, not the server's key"),
        ));
    }
    Ok(())
}

/// Checks the signature with the key named by `kid`, or with each key when the header names
/// none; claims are checked afterwards, one by one, so a failure can say which.
fn verify_signature(
    token: &str,
    alg: Algorithm,
    kid: Option<&str>,
    keys: &JwkSet,
) -> Result<Claims> {
    let candidates: Vec<&Jwk> = match kid {
        Some(kid) => keys.find(kid).into_iter().collect(),
        None => keys.keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(rejected(
            IdTokenCheck::Signature,
            match kid {
                Some(kid) => format!("the server's JWKS has no key with kid {kid:?}"),
                None => "the server's JWKS has no keys".to_owned(),
            },
        ));
    }
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let mut last = String::new();
    for jwk in candidates {
        let key = match DecodingKey::from_jwk(jwk) {
            Ok(k) => k,
            Err(e) => {
                last = format!("a key in the server's JWKS is unusable ({e})");
                continue;
            }
        };
        match jsonwebtoken::decode::<Claims>(token, &key, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::Json(_) => {
                    return Err(rejected(
                        IdTokenCheck::Format,
                        format!("its claims do not parse ({e})"),
                    ));
                }
                _ => last = format!("it does not verify with the server's key ({e})"),
            },
        }
    }
    Err(rejected(IdTokenCheck::Signature, last))
}

/// OIDC Core §3.1.3.7 steps 2-4, 9 and 11, at time `now`.
fn check_claims(
    claims: &Claims,
    issuer: &str,
    client_id: &str,
    nonce: Option<&Secret>,
    now: u64,
) -> Result<VerifiedIdToken> {
    match claims.iss.as_deref() {
        Some(iss) if iss.trim_end_matches('/') == issuer => {}
        Some(iss) => {
            return Err(rejected(
                IdTokenCheck::Issuer,
                format!("it was issued by {iss:?}, not {issuer:?}"),
            ));
        }
        None => return Err(rejected(IdTokenCheck::Issuer, "it names no issuer")),
    }
    let audiences = audiences(claims.aud.as_ref());
    if !audiences.contains(&client_id) {
        return Err(rejected(
            IdTokenCheck::Audience,
            format!("it was issued to {audiences:?}, not to this client ({client_id:?})"),
        ));
    }
    match claims.azp.as_deref() {
        Some(azp) if azp != client_id => {
            return Err(rejected(
                IdTokenCheck::AuthorizedParty,
                format!("its authorized party is {azp:?}, not this client ({client_id:?})"),
            ));
        }
        None if audiences.len() > 1 => {
            return Err(rejected(
                IdTokenCheck::AuthorizedParty,
                "it has several audiences and no authorized party",
            ));
        }
        Some(_) | None => {}
    }
    match claims.exp {
        Some(exp) if now < exp.saturating_add(ID_TOKEN_LEEWAY_SECS) => {}
        Some(exp) => {
            return Err(rejected(
                IdTokenCheck::Expiry,
                format!("it expired {} s ago", now.saturating_sub(exp)),
            ));
        }
        None => return Err(rejected(IdTokenCheck::Expiry, "it has no expiry")),
    }
    if let Some(sent) = nonce {
        match claims.nonce.as_deref() {
            Some(got) if super::constant_time_eq(got.as_bytes(), sent.expose().as_bytes()) => {}
            Some(_) => {
                return Err(rejected(
                    IdTokenCheck::Nonce,
                    "its nonce is not the one this login sent",
                ));
            }
            None => {
                return Err(rejected(
                    IdTokenCheck::Nonce,
                    "it has no nonce, but this login sent one",
                ));
            }
        }
    }
    match claims.sub.as_deref() {
        Some(sub) if !sub.is_empty() => Ok(VerifiedIdToken {
            sub: sub.to_owned(),
        }),
        _ => Err(rejected(IdTokenCheck::Subject, "it names no subject")),
    }
}

#[cfg(test)]
mod tests;
