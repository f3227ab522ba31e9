//! Issuing and refreshing token pairs: new families, signing, and the rotation policies with
//! reuse detection. Failures are [`GrantError`]s; the oauth layer maps them to RFC 6749 errors.

use crate::clock::ms_after;
use crate::config::{Config, IdTokenFault, RotationPolicy, SigningAlgorithm, TokenFormat};
use crate::error::Error;
use crate::tokens::{fingerprint, random_secret};

use super::state::{AccessRecord, RefreshRecord, RefreshStatus};
use super::{Shared, lock};

/// Why a grant was refused or could not be completed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GrantError {
    /// No such refresh token.
    #[error("unknown refresh token")]
    UnknownRefreshToken,
    /// The refresh token belongs to another client.
    #[error("refresh token was issued to another client")]
    OtherClient,
    /// The requested scope is wider than the original grant (RFC 6749 §6).
    #[error("requested scope exceeds the original grant")]
    ScopeExceeded,
    /// The refresh token is past its lifetime.
    #[error("refresh token expired")]
    Expired,
    /// The refresh token (or its family) was revoked.
    #[error("refresh token revoked ({reason})")]
    Revoked {
        /// Why, e.g. `reuse_detected`, `admin`.
        reason: String,
    },
    /// `benign_replay`: the token was already rotated within the replay window.
    #[error("refresh token already rotated; retry with the newer token")]
    BenignReplay {
        /// Seconds the client should wait before retrying.
        retry_after: u64,
    },
    /// A rotated token came back: the whole family is now revoked.
    #[error("refresh token reuse detected; the token family is revoked")]
    ReuseDetected,
    /// The access token could not be signed.
    #[error(transparent)]
    Signing(Error),
}

/// Token settings copied out of the config for one issuance.
#[derive(Debug, Clone)]
pub(crate) struct TokenSettings {
    format: TokenFormat,
    pub(super) algorithm: SigningAlgorithm,
    access_ttl: u64,
    refresh_ttl: u64,
    audience: String,
    pub(super) issuer: Option<String>,
    /// Whether OpenID is on (ID tokens are minted for `openid`).
    pub(super) openid: bool,
    /// How to break the ID tokens, if at all.
    pub(super) id_token_fault: Option<IdTokenFault>,
}

fn token_settings(config: &Config) -> TokenSettings {
    let t = &config.tokens;
    TokenSettings {
        format: t.format,
        algorithm: t.algorithm,
        access_ttl: t.access_ttl,
        refresh_ttl: t.refresh_ttl,
        audience: t.audience.clone(),
        issuer: config.issuer.clone(),
        openid: config.openid.enabled,
        id_token_fault: config.openid.id_token_fault,
    }
}

/// The sign-in that started a family, as its ID tokens describe it (OIDC Core §2).
#[derive(Debug, Clone, Default)]
pub(crate) struct SignIn {
    /// The authorization request's `nonce`; only the first ID token repeats it (OIDC Core
    /// §12.2: a refreshed ID token SHOULD NOT carry one).
    pub(crate) nonce: Option<String>,
    /// When the user authenticated (server clock, ms); `None` = when the family starts.
    pub(crate) at_ms: Option<u64>,
}

/// An issued token pair; the oauth layer turns it into the token response (RFC 6749 §5.1).
/// Its `Debug` shows the tokens as fingerprints only.
#[derive(Clone)]
pub(crate) struct TokenPair {
    pub(crate) access_token: String,
    /// `None` for grants without one (`client_credentials`, RFC 6749 §4.4.3).
    pub(crate) refresh_token: Option<String>,
    /// An OpenID Connect ID token, when `openid` was granted and OpenID is on.
    pub(crate) id_token: Option<String>,
    pub(crate) expires_in: u64,
    pub(crate) refresh_expires_in: u64,
    pub(crate) issued_ms: u64,
    pub(crate) scope: String,
    pub(crate) family: u64,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &fingerprint(&self.access_token))
            .field(
                "refresh_token",
                &self.refresh_token.as_deref().map(fingerprint),
            )
            .field("id_token", &self.id_token.as_deref().map(fingerprint))
            .field("expires_in", &self.expires_in)
            .field("refresh_expires_in", &self.refresh_expires_in)
            .field("issued_ms", &self.issued_ms)
            .field("scope", &self.scope)
            .field("family", &self.family)
            .finish()
    }
}

/// The claims of a JWT access token (RFC 9068 §2.2), serialized straight from borrowed fields
/// (a `serde_json::Value` cost a map and a string per claim on every grant); in the key order
/// the `Value` had.
#[derive(serde::Serialize)]
struct AccessClaims<'a> {
    aud: &'a str,
    client_id: &'a str,
    exp: u64,
    iat: u64,
    iss: &'a str,
    jti: &'a str,
    scope: &'a str,
    sub: &'a str,
}

/// What one issuance is for: the subject, the client, the scope, the family and the refresh
/// token that goes with it.
pub(super) struct Issued<'a> {
    pub(super) user: &'a str,
    pub(super) client_id: &'a str,
    pub(super) scope: &'a str,
    pub(super) family: u64,
    pub(super) refresh: Option<String>,
}

impl Shared {
    /// Issues a new token pair in a new family (password, code, device and JSON login);
    /// `flow` names the grant that started the session (spec-kitty's `auth_flow`).
    pub(crate) fn issue_new(
        &self,
        user: &str,
        client_id: &str,
        scope: &str,
        flow: &'static str,
        sign_in: SignIn,
    ) -> Result<TokenPair, GrantError> {
        let now = self.clock.now_ms();
        let refresh = random_secret("mrt_");
        let sign_in = SignIn {
            at_ms: Some(sign_in.at_ms.unwrap_or(now)),
            ..sign_in
        };
        let (family, settings) = {
            let mut st = lock(&self.state);
            let family = st.new_family(flow, now, sign_in.at_ms.unwrap_or(now));
            let settings = token_settings(&st.config);
            st.refresh.insert(
                refresh.clone(),
                RefreshRecord {
                    user: user.to_owned(),
                    client_id: client_id.to_owned(),
                    scope: scope.to_owned(),
                    family,
                    expires_ms: ms_after(now, settings.refresh_ttl),
                    status: RefreshStatus::Active,
                },
            );
            st.secrets.push(refresh.clone());
            (family, settings)
        };
        self.lineage_all([self.lineage_entry(&refresh, None, family, "issued", None)]);
        let issued = Issued {
            user,
            client_id,
            scope,
            family,
            refresh: Some(refresh),
        };
        self.finish_pair(issued, &settings, &sign_in)
    }

    /// The `client_credentials` grant (RFC 6749 §4.4): an access token whose subject is the
    /// client itself, in a family of its own; no refresh token (§4.4.3) and no ID token (no
    /// user signed in).
    pub(crate) fn issue_for_client(
        &self,
        client_id: &str,
        scope: &str,
    ) -> Result<TokenPair, GrantError> {
        let now = self.clock.now_ms();
        let (family, mut settings) = {
            let mut st = lock(&self.state);
            let family = st.new_family("client_credentials", now, now);
            (family, token_settings(&st.config))
        };
        settings.openid = false;
        let issued = Issued {
            user: client_id,
            client_id,
            scope,
            family,
            refresh: None,
        };
        self.finish_pair(issued, &settings, &SignIn::default())
    }

    /// Signs an access token (and an ID token when `openid` is granted) outside the lock, then
    /// records it in its family.
    pub(super) fn finish_pair(
        &self,
        issued: Issued<'_>,
        settings: &TokenSettings,
        sign_in: &SignIn,
    ) -> Result<TokenPair, GrantError> {
        let Issued {
            user,
            client_id,
            scope,
            family,
            refresh,
        } = issued;
        let iat_ms = self.clock.now_ms();
        let exp_ms = ms_after(iat_ms, settings.access_ttl);
        let jti = random_secret("");
        let access = if settings.format == TokenFormat::Opaque {
            random_secret("mat_")
        } else {
            {
                let claims = AccessClaims {
                    aud: &settings.audience,
                    client_id,
                    exp: exp_ms / 1000,
                    iat: iat_ms / 1000,
                    iss: settings.issuer.as_deref().unwrap_or(&self.base_url),
                    jti: &jti,
                    scope,
                    sub: user,
                };
                self.signer
                    .sign(settings.algorithm, &claims)
                    .map_err(GrantError::Signing)?
            }
        };
        let id_token = self.id_token(settings, user, client_id, scope, &access, sign_in, iat_ms)?;
        // Everything the records need is allocated before the lock, so that the critical
        // section is map updates only.
        let mut record = AccessRecord {
            user: user.to_owned(),
            client_id: client_id.to_owned(),
            scope: scope.to_owned(),
            family,
            iat_ms,
            exp_ms,
            jti,
            revoked: false,
        };
        let (key, in_family, retained, secret) = (
            access.clone(),
            access.clone(),
            access.clone(),
            access.clone(),
        );
        let id_secret = id_token.clone();
        let mut st = lock(&self.state);
        record.revoked = st
            .families
            .get(&family)
            .is_some_and(|f| f.revoked.is_some());
        st.access.insert(key, record);
        st.families
            .entry(family)
            .or_default()
            .access
            .push_back(in_family);
        st.retain_access(retained);
        st.secrets.push(secret);
        st.secrets.extend(id_secret);
        Ok(TokenPair {
            access_token: access,
            refresh_token: refresh,
            id_token,
            expires_in: settings.access_ttl,
            refresh_expires_in: settings.refresh_ttl,
            issued_ms: iat_ms,
            scope: scope.to_owned(),
            family,
        })
    }

    /// The refresh-token grant: consume atomically, apply the rotation policy.
    pub(crate) fn refresh(
        &self,
        presented: &str,
        client_id: Option<&str>,
        scope: Option<&str>,
    ) -> Result<(TokenPair, &'static str), GrantError> {
        let now = self.clock.now_ms();
        // Minted before the lock is taken (concurrent grants wait for it less); used only when
        // the presented token rotates.
        let minted = random_secret("mrt_");
        let spent = presented.to_owned();
        let mut st = lock(&self.state);
        let mut settings = token_settings(&st.config);
        if let Some(ttl) = st.config.tokens.refreshed_access_ttl {
            settings.access_ttl = ttl;
        }
        let policy = st.config.rotation.clone();
        let Some(record) = st.refresh.get(presented) else {
            return Err(GrantError::UnknownRefreshToken);
        };
        if let Some(c) = client_id
            && c != record.client_id
        {
            return Err(GrantError::OtherClient);
        }
        let (user, client, family) = (record.user.clone(), record.client_id.clone(), record.family);
        let granted_scope = match scope {
            Some(s)
                if !s
                    .split(' ')
                    .all(|w| record.scope.split(' ').any(|g| g == w)) =>
            {
                return Err(GrantError::ScopeExceeded);
            }
            Some(s) => s.to_owned(),
            None => record.scope.clone(),
        };
        if now >= record.expires_ms {
            return Err(GrantError::Expired);
        }
        // OIDC Core §12.2: a refreshed ID token keeps the original `auth_time`, and no nonce.
        let sign_in = SignIn {
            nonce: None,
            at_ms: st.families.get(&family).map(|f| f.auth_ms),
        };
        match record.status.clone() {
            RefreshStatus::Revoked { reason } => Err(GrantError::Revoked { reason }),
            RefreshStatus::Active if policy.policy == RotationPolicy::None => {
                drop(st);
                self.lineage_all([self.lineage_entry(presented, None, family, "reused", None)]);
                let pair = self.finish_pair(
                    Issued {
                        user: &user,
                        client_id: &client,
                        scope: &granted_scope,
                        family,
                        refresh: Some(presented.to_owned()),
                    },
                    &settings,
                    &sign_in,
                )?;
                Ok((pair, "not_rotated"))
            }
            RefreshStatus::Active => {
                st.refresh.insert(
                    minted.clone(),
                    RefreshRecord {
                        user: user.clone(),
                        client_id: client.clone(),
                        scope: granted_scope.clone(),
                        family,
                        expires_ms: ms_after(now, settings.refresh_ttl),
                        status: RefreshStatus::Active,
                    },
                );
                st.secrets.push(minted.clone());
                if let Some(r) = st.refresh.get_mut(presented) {
                    r.status = RefreshStatus::Rotated {
                        successor: minted.clone(),
                        at_ms: now,
                        reuses: 0,
                    };
                }
                st.retain_spent(spent);
                drop(st);
                self.lineage_all([
                    self.lineage_entry(presented, None, family, "rotated", None),
                    self.lineage_entry(&minted, Some(presented), family, "issued", None),
                ]);
                let issued = Issued {
                    user: &user,
                    client_id: &client,
                    scope: &granted_scope,
                    family,
                    refresh: Some(minted),
                };
                let pair = self.finish_pair(issued, &settings, &sign_in)?;
                Ok((pair, "rotated"))
            }
            RefreshStatus::Rotated {
                successor,
                at_ms,
                reuses,
            } => {
                let successor_live = st
                    .refresh
                    .get(&successor)
                    .is_some_and(|r| r.status == RefreshStatus::Active);
                // benign_replay with `grace_seconds > 0`: the 409 only within the window, after
                // it the reuse is treated as strict (the Spec Kitty service's behaviour).
                let replay_window_open = policy.grace_seconds == 0
                    || now.saturating_sub(at_ms) <= policy.grace_seconds.saturating_mul(1000);
                match policy.policy {
                    RotationPolicy::BenignReplay if replay_window_open => {
                        Err(GrantError::BenignReplay {
                            retry_after: policy.retry_after,
                        })
                    }
                    RotationPolicy::Grace
                        if successor_live
                            && ((policy.grace_seconds > 0
                                && now.saturating_sub(at_ms)
                                    <= policy.grace_seconds.saturating_mul(1000))
                                || reuses < policy.grace_uses) =>
                    {
                        if let Some(r) = st.refresh.get_mut(presented) {
                            r.status = RefreshStatus::Rotated {
                                successor: successor.clone(),
                                at_ms,
                                reuses: reuses + 1,
                            };
                        }
                        drop(st);
                        self.lineage_all([self.lineage_entry(
                            presented,
                            None,
                            family,
                            "reused",
                            Some("grace"),
                        )]);
                        let issued = Issued {
                            user: &user,
                            client_id: &client,
                            scope: &granted_scope,
                            family,
                            refresh: Some(successor),
                        };
                        let pair = self.finish_pair(issued, &settings, &sign_in)?;
                        Ok((pair, "grace_reuse"))
                    }
                    // Strict, and the other policies once their window or uses are spent.
                    RotationPolicy::Strict
                    | RotationPolicy::BenignReplay
                    | RotationPolicy::Grace
                    | RotationPolicy::None => {
                        let revoked = st.revoke_family(family, "reuse_detected");
                        drop(st);
                        for token in revoked {
                            self.lineage_all([self.lineage_entry(
                                &token,
                                None,
                                family,
                                "revoked",
                                Some("reuse_detected"),
                            )]);
                        }
                        Err(GrantError::ReuseDetected)
                    }
                }
            }
        }
    }
}
