//! The records the server keeps: clients, codes, device authorizations, tokens and families.

use std::collections::{HashMap, VecDeque};

use crate::config::{AuthMethod, ClientSecret, Config, DeviceStep, UserConfig, default_scopes};

use super::retention::{DEFAULT_RECORD_CAPACITY, Retention, Secrets};

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
    /// Every secret minted, the newest of them (see `retention.rs`).
    pub(crate) secrets: Secrets,
    pub(crate) retention: Retention,
    next_family: u64,
}

impl State {
    pub(crate) fn new(config: Config) -> Self {
        Self::with_capacity(config, DEFAULT_RECORD_CAPACITY)
    }

    /// Keeps at most `capacity` access-token records, spent refresh-token records and issued
    /// secrets (see `retention.rs`).
    pub(crate) fn with_capacity(config: Config, capacity: usize) -> Self {
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
            secrets: Secrets::new(capacity),
            retention: Retention::new(capacity),
            next_family: 1,
        }
    }

    /// Starts a family; `auth_ms` is when the user authenticated (the ID tokens' `auth_time`).
    pub(crate) fn new_family(&mut self, flow: &'static str, now_ms: u64, auth_ms: u64) -> u64 {
        let id = self.next_family;
        self.next_family += 1;
        self.families.insert(
            id,
            Family {
                flow,
                started_ms: now_ms,
                auth_ms,
                ..Family::default()
            },
        );
        id
    }

    /// Revokes every refresh and access token of a family; returns the refresh tokens revoked.
    pub(crate) fn revoke_family(&mut self, family: u64, reason: &str) -> Vec<String> {
        let access = match self.families.get_mut(&family) {
            Some(f) => {
                f.revoked.get_or_insert_with(|| reason.to_owned());
                f.access.clone()
            }
            None => VecDeque::new(),
        };
        for a in access {
            if let Some(rec) = self.access.get_mut(&a) {
                rec.revoked = true;
            }
        }
        let mut revoked = Vec::new();
        let mut newly_spent = Vec::new();
        for (token, r) in &mut self.refresh {
            if r.family == family && !matches!(r.status, RefreshStatus::Revoked { .. }) {
                if r.status == RefreshStatus::Active {
                    newly_spent.push(token.clone());
                }
                r.status = RefreshStatus::Revoked {
                    reason: reason.to_owned(),
                };
                revoked.push(token.clone());
            }
        }
        for token in newly_spent {
            self.retain_spent(token);
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
                scopes: c.scopes.clone(),
                secret: c.client_secret.clone(),
                auth_method: c.token_endpoint_auth_method,
            });
        }
        self.registered.get(client_id).map(|c| ClientView {
            redirect_uris: c.redirect_uris.clone(),
            grants: c.grants.clone(),
            scopes: default_scopes(),
            secret: c.secret.clone(),
            auth_method: c.auth_method,
        })
    }
}

/// A client as the endpoints need it.
#[derive(Debug, Clone)]
pub(crate) struct ClientView {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) grants: Vec<String>,
    /// The scopes it may ask for.
    pub(crate) scopes: Vec<String>,
    /// `Some` for a confidential client (RFC 6749 §2.1).
    pub(crate) secret: Option<ClientSecret>,
    /// The one method it may authenticate with; `None` accepts both.
    pub(crate) auth_method: Option<AuthMethod>,
}

impl ClientView {
    /// Checks a requested scope (RFC 6749 §3.3) against the client's allowed scopes; the error
    /// names the first scope it may not have.
    pub(crate) fn check_scope(&self, requested: &str) -> Result<(), String> {
        match requested
            .split(' ')
            .filter(|w| !w.is_empty())
            .find(|w| !self.scopes.iter().any(|s| s == w))
        {
            Some(w) => Err(format!(
                "scope {w} is not allowed for this client (allowed: {})",
                self.scopes.join(" ")
            )),
            None => Ok(()),
        }
    }
}

/// A dynamically registered client (RFC 7591).
#[derive(Debug, Clone)]
pub(crate) struct RegisteredClient {
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) grants: Vec<String>,
    pub(crate) secret: Option<ClientSecret>,
    pub(crate) auth_method: Option<AuthMethod>,
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
    /// The authorization request's `nonce` (OIDC Core §3.1.2.1), for the ID token.
    pub(crate) nonce: Option<String>,
    /// When the user approved (server clock, ms): the ID token's `auth_time`.
    pub(crate) auth_ms: u64,
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
    /// Its access tokens, oldest first (the oldest are forgotten first, see `retention.rs`).
    pub(crate) access: VecDeque<String>,
    /// The grant that started it: `authorization_code`, `device_code`, `password`.
    pub(crate) flow: &'static str,
    /// Server clock when it started.
    pub(crate) started_ms: u64,
    /// When the user authenticated (server clock, ms): the `auth_time` of its ID tokens.
    pub(crate) auth_ms: u64,
}
