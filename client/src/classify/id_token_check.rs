//! Which check of OpenID Connect Core §3.1.3.7 an ID token failed, for
//! [`Error::IdTokenRejected`](super::Error::IdTokenRejected).

use std::fmt;

/// A check an ID token must pass before a login uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdTokenCheck {
    /// It is a signed JWT whose claims parse.
    Format,
    /// Its signature verifies with a key from the server's `jwks_uri` (step 6).
    Signature,
    /// `iss` is the issuer (step 2).
    Issuer,
    /// `aud` contains the client id (step 3).
    Audience,
    /// `azp` is the client id when present, and present with several audiences (steps 4-5).
    AuthorizedParty,
    /// `exp` has not passed (step 9).
    Expiry,
    /// `nonce` is the one the login sent (step 11).
    Nonce,
    /// `sub` names the end user (OIDC Core §2).
    Subject,
}

impl IdTokenCheck {
    /// The stable name used in messages: the claim it is about (`iss`, `aud`, `azp`, `exp`,
    /// `nonce`, `sub`), or `format` / `signature`.
    pub fn name(self) -> &'static str {
        match self {
            IdTokenCheck::Format => "format",
            IdTokenCheck::Signature => "signature",
            IdTokenCheck::Issuer => "iss",
            IdTokenCheck::Audience => "aud",
            IdTokenCheck::AuthorizedParty => "azp",
            IdTokenCheck::Expiry => "exp",
            IdTokenCheck::Nonce => "nonce",
            IdTokenCheck::Subject => "sub",
        }
    }
}

impl fmt::Display for IdTokenCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
