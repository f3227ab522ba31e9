//! OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6), minted beside the access token when the
//! granted scope has `openid`, and broken on purpose when `[openid] id_token_fault` says so.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::Shared;
use super::grants::{GrantError, SignIn, TokenSettings};
use crate::config::IdTokenFault;

/// Lifetime of an ID token in seconds. Fixed rather than the access token's, so that a config
/// with `access_ttl = 0` (a born-expired access token) still yields an ID token a client accepts.
const ID_TOKEN_TTL_S: u64 = 3600;

/// The `at_hash` of an access token (OIDC Core §3.1.3.6): the left half of its SHA-256 (both
/// ES256 and RS256 hash with SHA-256), base64url.
pub(crate) fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

/// Whether a space-separated scope has `openid`.
pub(crate) fn has_openid(scope: &str) -> bool {
    scope.split(' ').any(|w| w == "openid")
}

impl Shared {
    /// The ID token for this issuance, or `None` when OpenID is off or `openid` not granted.
    #[expect(
        clippy::too_many_arguments,
        reason = "each is one claim's source; a struct would only rename them"
    )]
    pub(super) fn id_token(
        &self,
        settings: &TokenSettings,
        user: &str,
        client_id: &str,
        scope: &str,
        access_token: &str,
        sign_in: &SignIn,
        iat_ms: u64,
    ) -> Result<Option<String>, GrantError> {
        let fault = settings.id_token_fault;
        if !settings.openid || !has_openid(scope) {
            return Ok(None);
        }
        let issuer = settings
            .issuer
            .clone()
            .unwrap_or_else(|| self.base_url.clone());
        let iat = iat_ms / 1000;
        let mut claims = serde_json::json!({
            "iss": issuer,
            "sub": user,
            "aud": client_id,
            "exp": iat + ID_TOKEN_TTL_S,
            "iat": iat,
            "auth_time": sign_in.at_ms.unwrap_or(iat_ms) / 1000,
            "at_hash": at_hash(access_token),
        });
        if let Some(nonce) = &sign_in.nonce {
            claims["nonce"] = nonce.clone().into();
        }
        match fault {
            None | Some(IdTokenFault::BadSignature) => {}
            Some(IdTokenFault::WrongNonce) => {
                let wrong = format!("not-{}", sign_in.nonce.as_deref().unwrap_or("requested"));
                claims["nonce"] = wrong.into();
            }
            Some(IdTokenFault::WrongAud) => claims["aud"] = "another-client".into(),
            Some(IdTokenFault::WrongIss) => {
                claims["iss"] = format!("{issuer}/not-the-issuer").into();
            }
            Some(IdTokenFault::Expired) => {
                claims["iat"] = iat.saturating_sub(3600).into();
                claims["exp"] = iat.saturating_sub(600).into();
            }
        }
        let token = self
            .signer
            .sign_typed(settings.algorithm, "JWT", &claims)
            .map_err(GrantError::Signing)?;
        Ok(Some(if fault == Some(IdTokenFault::BadSignature) {
            corrupt_signature(&token)
        } else {
            token
        }))
    }
}

/// The same JWS with one bit of its signature flipped: well formed, but it does not verify.
fn corrupt_signature(jws: &str) -> String {
    let Some((signed, sig)) = jws.rsplit_once('.') else {
        return jws.to_owned();
    };
    match URL_SAFE_NO_PAD.decode(sig) {
        Ok(mut bytes) if !bytes.is_empty() => {
            bytes[0] ^= 0x01;
            format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes))
        }
        // The signer always writes a non-empty base64url signature; should that change, an
        // empty signature still fails verification, which is what this fault is for.
        Ok(_) | Err(_) => format!("{signed}."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        // OIDC Core Appendix A.3 (A.4): access token and its at_hash.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn a_corrupted_signature_differs_but_keeps_its_shape() {
        let jws = format!("a.b.{}", URL_SAFE_NO_PAD.encode([7u8; 64]));
        let bad = corrupt_signature(&jws);
        assert_ne!(bad, jws);
        assert_eq!(bad.split('.').count(), 3);
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(bad.rsplit('.').next().unwrap())
                .unwrap()
                .len(),
            64
        );
    }
}
