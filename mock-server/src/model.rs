//! The server's state: clients, users, codes, device authorizations and token families.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::clock::Clock;
use crate::config::{Config, DeviceStep, Dialect, RotationPolicy, TokenFormat, UserConfig};
use crate::journal::{Journal, LineageEntry};
use crate::oauth::OAuthError;
use crate::rules::{Holds, RuleSlot};
use crate::tokens::{Signer, fingerprint, random_secret};

/// Everything the handlers share. Its `Debug` shows no state: the maps hold raw secrets.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) journal: Mutex<Journal>,
    pub(crate) clock: Clock,
    pub(crate) signer: Signer,
    pub(crate) holds: Holds,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// The dialect, fixed at start (read on every request without taking the state lock).
    pub(crate) dialect: Dialect,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering from poisoning: every critical section leaves the maps
/// consistent before any call that could panic, so a poisoned lock holds valid data.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: Config, signer: Signer, base_url: String) -> Self {
        Self {
            dialect: config.dialect,
            state: Mutex::new(State::new(config)),
            journal: Mutex::new(Journal::default()),
            clock: Clock::default(),
            signer,
            holds: Holds::default(),
            base_url,
        }
    }

    /// The issuer identifier.
    pub(crate) fn issuer(&self) -> String {
        lock(&self.state)
            .config
            .issuer
            .clone()
            .unwrap_or_else(|| self.base_url.clone())
    }

    fn lineage(
        &self,
        token: &str,
        parent: Option<&str>,
        family: u64,
        event: &str,
        reason: Option<&str>,
    ) {
        let entry = LineageEntry {
            token: fingerprint(token),
            parent: parent.map(fingerprint),
            family,
            event: event.to_owned(),
            reason: reason.map(str::to_owned),
            at_ms: self.clock.now_ms(),
        };
        lock(&self.journal).lineage.push(entry);
    }

    /// Issues a new token pair in a new family (password, code, device and JSON login);
    /// `flow` names the grant that started the session (spec-kitty's `auth_flow`).
    pub(crate) fn issue_new(
        &self,
        user: &str,
        client_id: &str,
        scope: &str,
        flow: &'static str,
    ) -> Result<TokenPair, OAuthError> {
        let now = self.clock.now_ms();
        let refresh = random_secret("mrt_");
        let (family, settings) = {
            let mut st = lock(&self.state);
            let family = st.new_family(flow, now);
            let settings = st.token_settings();
            st.refresh.insert(
                refresh.clone(),
                RefreshRecord {
                    user: user.to_owned(),
                    client_id: client_id.to_owned(),
                    scope: scope.to_owned(),
                    family,
                    expires_ms: now + settings.refresh_ttl * 1000,
                    status: RefreshStatus::Active,
                },
            );
            st.secrets.push(refresh.clone());
            (family, settings)
        };
        self.lineage(&refresh, None, family, "issued", None);
        self.finish_pair(user, client_id, scope, family, refresh, &settings)
    }

    /// Signs an access token outside the lock, then records it in its family.
    fn finish_pair(
        &self,
        user: &str,
        client_id: &str,
        scope: &str,
        family: u64,
        refresh: String,
        settings: &TokenSettings,
    ) -> Result<TokenPair, OAuthError> {
        let iat_ms = self.clock.now_ms();
        let exp_ms = iat_ms + settings.access_ttl * 1000;
        let jti = random_secret("");
        let access = if settings.format == TokenFormat::Opaque {
            random_secret("mat_")
        } else {
            {
                let claims = serde_json::json!({
                    "iss": settings.issuer.clone().unwrap_or_else(|| self.base_url.clone()),
                    "sub": user,
                    "aud": settings.audience,
                    "exp": exp_ms / 1000,
                    "iat": iat_ms / 1000,
                    "jti": jti,
                    "scope": scope,
                    "client_id": client_id,
                });
                self.signer
                    .sign(settings.algorithm, &claims)
                    .map_err(|e| OAuthError::server_error(&format!("failed to {e}")))?
            }
        };
        let mut st = lock(&self.state);
        let revoked = st
            .families
            .get(&family)
            .is_some_and(|f| f.revoked.is_some());
        st.access.insert(
            access.clone(),
            AccessRecord {
                user: user.to_owned(),
                client_id: client_id.to_owned(),
                scope: scope.to_owned(),
                family,
                iat_ms,
                exp_ms,
                jti,
                revoked,
            },
        );
        st.families
            .entry(family)
            .or_default()
            .access
            .push(access.clone());
        st.secrets.push(access.clone());
        Ok(TokenPair {
            access_token: access,
            refresh_token: refresh,
            expires_in: settings.access_ttl,
            refresh_expires_in: settings.refresh_ttl,
            issued_ms: iat_ms,
            scope: scope.to_owned(),
            family,
            dialect: settings.dialect,
        })
    }

    /// The refresh-token grant: consume atomically, apply the rotation policy.
    pub(crate) fn refresh(
        &self,
        presented: &str,
        client_id: Option<&str>,
        scope: Option<&str>,
    ) -> Result<(TokenPair, &'static str), OAuthError> {
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let mut settings = st.token_settings();
        if let Some(ttl) = st.config.tokens.refreshed_access_ttl {
            settings.access_ttl = ttl;
        }
        let policy = st.config.rotation.clone();
        let Some(record) = st.refresh.get(presented) else {
            return Err(OAuthError::invalid_grant("unknown refresh token"));
        };
        if let Some(c) = client_id
            && c != record.client_id
        {
            return Err(OAuthError::invalid_grant(
                "refresh token was issued to another client",
            ));
        }
        let (user, client, family) = (record.user.clone(), record.client_id.clone(), record.family);
        let granted_scope = match scope {
            Some(s)
                if !s
                    .split(' ')
                    .all(|w| record.scope.split(' ').any(|g| g == w)) =>
            {
                return Err(OAuthError::new(
                    400,
                    "invalid_scope",
                    "requested scope exceeds the original grant",
                ));
            }
            Some(s) => s.to_owned(),
            None => record.scope.clone(),
        };
        if now >= record.expires_ms {
            return Err(OAuthError::invalid_grant("refresh token expired"));
        }
        match record.status.clone() {
            RefreshStatus::Revoked { reason } => Err(OAuthError::invalid_grant(&format!(
                "refresh token revoked ({reason})"
            ))),
            RefreshStatus::Active if policy.policy == RotationPolicy::None => {
                drop(st);
                self.lineage(presented, None, family, "reused", None);
                let pair = self.finish_pair(
                    &user,
                    &client,
                    &granted_scope,
                    family,
                    presented.to_owned(),
                    &settings,
                )?;
                Ok((pair, "not_rotated"))
            }
            RefreshStatus::Active => {
                let successor = random_secret("mrt_");
                st.refresh.insert(
                    successor.clone(),
                    RefreshRecord {
                        user: user.clone(),
                        client_id: client.clone(),
                        scope: granted_scope.clone(),
                        family,
                        expires_ms: now + settings.refresh_ttl * 1000,
                        status: RefreshStatus::Active,
                    },
                );
                st.secrets.push(successor.clone());
                if let Some(r) = st.refresh.get_mut(presented) {
                    r.status = RefreshStatus::Rotated {
                        successor: successor.clone(),
                        at_ms: now,
                        reuses: 0,
                    };
                }
                drop(st);
                self.lineage(presented, None, family, "rotated", None);
                self.lineage(&successor, Some(presented), family, "issued", None);
                let pair =
                    self.finish_pair(&user, &client, &granted_scope, family, successor, &settings)?;
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
                    || now.saturating_sub(at_ms) <= policy.grace_seconds * 1000;
                match policy.policy {
                    RotationPolicy::BenignReplay if replay_window_open => {
                        Err(OAuthError::benign_replay(policy.retry_after))
                    }
                    RotationPolicy::Grace
                        if successor_live
                            && ((policy.grace_seconds > 0
                                && now.saturating_sub(at_ms) <= policy.grace_seconds * 1000)
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
                        self.lineage(presented, None, family, "reused", Some("grace"));
                        let pair = self.finish_pair(
                            &user,
                            &client,
                            &granted_scope,
                            family,
                            successor,
                            &settings,
                        )?;
                        Ok((pair, "grace_reuse"))
                    }
                    _ => {
                        let revoked = st.revoke_family(family, "reuse_detected");
                        drop(st);
                        for token in revoked {
                            self.lineage(&token, None, family, "revoked", Some("reuse_detected"));
                        }
                        Err(OAuthError::invalid_grant(
                            "refresh token reuse detected; the token family is revoked",
                        )
                        .with_outcome("reuse_detected"))
                    }
                }
            }
        }
    }

    /// Revokes a token (RFC 7009): a refresh token takes its family with it.
    pub(crate) fn revoke_token(&self, token: &str, reason: &str) {
        let mut st = lock(&self.state);
        if let Some(family) = st.refresh.get(token).map(|r| r.family) {
            let revoked = st.revoke_family(family, reason);
            drop(st);
            for t in revoked {
                self.lineage(&t, None, family, "revoked", Some(reason));
            }
        } else if let Some(a) = st.access.get_mut(token) {
            a.revoked = true;
        }
    }

    /// Revokes every token of a user; returns how many families were revoked.
    pub(crate) fn revoke_user(&self, username: &str) -> usize {
        let mut st = lock(&self.state);
        let mut families: Vec<u64> = st
            .refresh
            .values()
            .filter(|r| r.user == username)
            .map(|r| r.family)
            .collect();
        families.sort_unstable();
        families.dedup();
        let mut events = Vec::new();
        for f in &families {
            events.extend(st.revoke_family(*f, "admin").into_iter().map(|t| (t, *f)));
        }
        for a in st.access.values_mut().filter(|a| a.user == username) {
            a.revoked = true;
        }
        drop(st);
        for (t, f) in events {
            self.lineage(&t, None, f, "revoked", Some("admin"));
        }
        families.len()
    }

    /// Makes every access token expired now; returns how many.
    pub(crate) fn expire_access_tokens(&self) -> usize {
        let now = self.clock.now_ms();
        let mut st = lock(&self.state);
        let mut n = 0;
        for a in st.access.values_mut() {
            if !a.revoked && a.exp_ms > now {
                a.exp_ms = now;
                n += 1;
            }
        }
        n
    }

    /// A valid access token's record.
    pub(crate) fn access(&self, token: &str) -> Option<AccessRecord> {
        let now = self.clock.now_ms();
        let st = lock(&self.state);
        let leeway_ms = st.config.tokens.leeway * 1000;
        st.access
            .get(token)
            .filter(|a| !a.revoked && now < a.exp_ms + leeway_ms)
            .cloned()
    }
}

/// Token settings copied out of the config for one issuance.
#[derive(Debug, Clone)]
pub(crate) struct TokenSettings {
    format: TokenFormat,
    algorithm: crate::config::SigningAlgorithm,
    access_ttl: u64,
    refresh_ttl: u64,
    audience: String,
    issuer: Option<String>,
    dialect: Dialect,
}

/// An issued token pair, as the token endpoint answers it (RFC 6749 §5.1).
#[derive(Debug, Clone)]
pub(crate) struct TokenPair {
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) expires_in: u64,
    pub(crate) refresh_expires_in: u64,
    pub(crate) issued_ms: u64,
    pub(crate) scope: String,
    pub(crate) family: u64,
    pub(crate) dialect: Dialect,
}

impl TokenPair {
    /// The token response in the server's dialect.
    pub(crate) fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        });
        if self.dialect == Dialect::SpecKitty {
            // spec-kitty requires `session_id` and reads the refresh token's expiry.
            body["session_id"] = crate::dialect::session_id(self.family).into();
            body["refresh_token_expires_in"] = self.refresh_expires_in.into();
            body["refresh_token_expires_at"] =
                crate::dialect::rfc3339(self.issued_ms + self.refresh_expires_in * 1000).into();
        }
        body
    }
}

/// Mutable server state.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: Config,
    pub(crate) registered: HashMap<String, RegisteredClient>,
    pub(crate) codes: HashMap<String, AuthCode>,
    pub(crate) devices: HashMap<String, DeviceAuth>,
    pub(crate) user_codes: HashMap<String, String>,
    pub(crate) recent_user_codes: Vec<String>,
    pub(crate) refresh: HashMap<String, RefreshRecord>,
    pub(crate) access: HashMap<String, AccessRecord>,
    pub(crate) families: HashMap<u64, Family>,
    pub(crate) secrets: Vec<String>,
    pub(crate) rules: Vec<RuleSlot>,
    next_family: u64,
}

impl State {
    pub(crate) fn new(config: Config) -> Self {
        let rules = config.rules.iter().cloned().map(RuleSlot::new).collect();
        Self {
            config,
            registered: HashMap::new(),
            codes: HashMap::new(),
            devices: HashMap::new(),
            user_codes: HashMap::new(),
            recent_user_codes: Vec::new(),
            refresh: HashMap::new(),
            access: HashMap::new(),
            families: HashMap::new(),
            secrets: Vec::new(),
            rules,
            next_family: 1,
        }
    }

    fn new_family(&mut self, flow: &'static str, now_ms: u64) -> u64 {
        let id = self.next_family;
        self.next_family += 1;
        self.families.insert(
            id,
            Family {
                flow,
                started_ms: now_ms,
                ..Family::default()
            },
        );
        id
    }

    fn token_settings(&self) -> TokenSettings {
        let t = &self.config.tokens;
        TokenSettings {
            format: t.format,
            algorithm: t.algorithm,
            access_ttl: t.access_ttl,
            refresh_ttl: t.refresh_ttl,
            audience: t.audience.clone(),
            issuer: self.config.issuer.clone(),
            dialect: self.config.dialect,
        }
    }

    /// Revokes every refresh and access token of a family; returns the refresh tokens revoked.
    pub(crate) fn revoke_family(&mut self, family: u64, reason: &str) -> Vec<String> {
        let access = match self.families.get_mut(&family) {
            Some(f) => {
                f.revoked.get_or_insert_with(|| reason.to_owned());
                f.access.clone()
            }
            None => Vec::new(),
        };
        for a in access {
            if let Some(rec) = self.access.get_mut(&a) {
                rec.revoked = true;
            }
        }
        let mut revoked = Vec::new();
        for (token, r) in &mut self.refresh {
            if r.family == family && !matches!(r.status, RefreshStatus::Revoked { .. }) {
                r.status = RefreshStatus::Revoked {
                    reason: reason.to_owned(),
                };
                revoked.push(token.clone());
            }
        }
        revoked
    }

    pub(crate) fn user(&self, username: &str) -> Option<&UserConfig> {
        self.config.users.iter().find(|u| u.username == username)
    }

    /// A client from the config or from dynamic registration.
    pub(crate) fn client(&self, client_id: &str) -> Option<ClientView> {
        if let Some(c) = self
            .config
            .clients
            .iter()
            .find(|c| c.client_id == client_id)
        {
            return Some(ClientView {
                redirect_uris: c.redirect_uris.clone(),
                grants: c.grants.clone(),
                secret: None,
            });
        }
        self.registered.get(client_id).map(|c| ClientView {
            redirect_uris: c.redirect_uris.clone(),
            grants: c.grants.clone(),
            secret: c.secret.clone(),
        })
    }
}

/// A client as the endpoints need it.
#[derive(Debug, Clone)]
pub(crate) struct ClientView {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) grants: Vec<String>,
    pub(crate) secret: Option<String>,
}

/// A dynamically registered client (RFC 7591).
#[derive(Debug, Clone)]
pub(crate) struct RegisteredClient {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) grants: Vec<String>,
    pub(crate) secret: Option<String>,
}

/// An authorization code (RFC 6749 §4.1.2).
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub(crate) client_id: String,
    pub(crate) redirect_uri: Option<String>,
    pub(crate) challenge: Option<String>,
    pub(crate) method: Option<String>,
    pub(crate) user: String,
    pub(crate) scope: String,
    pub(crate) expires_ms: u64,
    pub(crate) used: bool,
    /// The family the code's tokens belong to, once redeemed.
    pub(crate) family: Option<u64>,
}

/// A device authorization (RFC 8628).
#[derive(Debug, Clone)]
pub(crate) struct DeviceAuth {
    pub(crate) user_code: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) created_ms: u64,
    pub(crate) expires_ms: u64,
    pub(crate) interval_s: u64,
    pub(crate) decision: DeviceDecision,
    pub(crate) polls: u32,
    pub(crate) last_poll_ms: Option<u64>,
    pub(crate) script: Vec<DeviceStep>,
    pub(crate) redeemed: bool,
}

/// The user's decision on a device authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DeviceDecision {
    Pending,
    Approved(String),
    Denied,
}

/// A refresh token's record.
#[derive(Debug, Clone)]
pub(crate) struct RefreshRecord {
    pub(crate) user: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    pub(crate) family: u64,
    pub(crate) expires_ms: u64,
    pub(crate) status: RefreshStatus,
}

/// Where a refresh token is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefreshStatus {
    Active,
    Rotated {
        successor: String,
        at_ms: u64,
        reuses: u32,
    },
    Revoked {
        reason: String,
    },
}

/// An access token's record.
#[derive(Debug, Clone)]
pub(crate) struct AccessRecord {
    pub(crate) user: String,
    pub(crate) client_id: String,
    pub(crate) scope: String,
    /// The family (session) it belongs to.
    pub(crate) family: u64,
    pub(crate) iat_ms: u64,
    pub(crate) exp_ms: u64,
    pub(crate) jti: String,
    pub(crate) revoked: bool,
}

/// A token family: every token descended from one login.
#[derive(Debug, Clone, Default)]
pub(crate) struct Family {
    pub(crate) revoked: Option<String>,
    pub(crate) access: Vec<String>,
    /// The grant that started it: `authorization_code`, `device_code`, `password`.
    pub(crate) flow: &'static str,
    /// Server clock when it started.
    pub(crate) started_ms: u64,
}
