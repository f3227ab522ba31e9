//! The domain: clients, users, codes, device authorizations and token families, with the
//! operations on them. It speaks domain values and errors ([`grants::GrantError`]); the oauth
//! layer turns them into RFC 6749 JSON and status codes.
//!
//! - this file: [`Shared`] (everything the handlers share) and the operations that revoke,
//!   expire and decide;
//! - [`grants`]: issuing and refreshing token pairs (the rotation policies);
//! - `id_token`: the OpenID Connect ID tokens that go with them, broken on purpose on request;
//! - [`state`]: the records (codes, device authorizations, tokens, families).

pub(crate) mod grants;
mod id_token;
pub(crate) mod retention;
pub(crate) mod state;

use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::admin_token::AdminToken;
use crate::clock::Clock;
use crate::config::{Config, Dialect};
use crate::error::Error;
use crate::journal::{Journal, JournalEntry, LineageEntry};
use crate::rules::{Holds, RuleSlot};
use crate::tokens::{Signer, fingerprint};

use self::state::{AccessRecord, DeviceDecision, State};

/// Everything the handlers share. Its `Debug` shows no state: the maps hold raw secrets.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    /// The fault rules in force, apart from the state: every request takes this lock to pick
    /// its rule, and with a lock of its own that no longer waits for grants in progress.
    pub(crate) rules: Mutex<Vec<RuleSlot>>,
    pub(crate) journal: Mutex<Journal>,
    pub(crate) clock: Clock,
    pub(crate) signer: Signer,
    pub(crate) holds: Holds,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// The dialect, fixed at start (read on every request without taking the state lock).
    pub(crate) dialect: Dialect,
    /// Opens the admin API to non-loopback peers that present it as their bearer.
    pub(crate) admin_token: Option<AdminToken>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// The configured rules, each with no firing yet.
pub(crate) fn rule_slots(config: &Config) -> Vec<RuleSlot> {
    config.rules.iter().cloned().map(RuleSlot::new).collect()
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
            rules: Mutex::new(rule_slots(&config)),
            state: Mutex::new(State::new(config)),
            journal: Mutex::new(Journal::default()),
            clock: Clock::default(),
            signer,
            holds: Holds::default(),
            base_url,
            admin_token: None,
        }
    }

    /// The same, with an admin token that opens the admin API to non-loopback peers.
    pub(crate) fn with_admin_token(mut self, token: Option<AdminToken>) -> Self {
        self.admin_token = token;
        self
    }

    /// The same, with a journal keeping at most `capacity` entries.
    pub(crate) fn with_journal_capacity(mut self, capacity: usize) -> Self {
        self.journal = Mutex::new(Journal::with_capacity(capacity));
        self
    }

    /// The same, keeping at most `capacity` access-token records, spent refresh-token records
    /// and issued secrets (see `retention.rs`).
    pub(crate) fn with_record_capacity(mut self, capacity: usize) -> Self {
        let config = lock(&self.state).config.clone();
        self.state = Mutex::new(State::with_capacity(config, capacity));
        self
    }

    /// The issuer identifier.
    pub(crate) fn issuer(&self) -> String {
        lock(&self.state)
            .config
            .issuer
            .clone()
            .unwrap_or_else(|| self.base_url.clone())
    }

    /// Journals a request. The entry the journal evicts to make room is freed after the journal
    /// lock is released, so concurrent requests do not wait for its strings to be freed.
    pub(crate) fn journal_request(&self, entry: JournalEntry) {
        let evicted = lock(&self.journal).push(entry);
        drop(evicted);
    }

    /// One lineage event, for [`Shared::lineage_all`].
    pub(crate) fn lineage_entry(
        &self,
        token: &str,
        parent: Option<&str>,
        family: u64,
        event: &str,
        reason: Option<&str>,
    ) -> LineageEntry {
        LineageEntry {
            token: fingerprint(token),
            parent: parent.map(fingerprint),
            family,
            event: event.to_owned(),
            reason: reason.map(str::to_owned),
            at_ms: self.clock.now_ms(),
        }
    }

    /// Journals lineage events, made beforehand, in one critical section (a rotation makes
    /// two): concurrent grants then wait for the journal less.
    pub(crate) fn lineage_all<const N: usize>(&self, entries: [LineageEntry; N]) {
        let mut journal = lock(&self.journal);
        for entry in entries {
            journal.push_lineage(entry);
        }
    }

    /// Revokes a token (RFC 7009): a refresh token takes its family with it.
    pub(crate) fn revoke_token(&self, token: &str, reason: &str) {
        let mut st = lock(&self.state);
        if let Some(family) = st.refresh.get(token).map(|r| r.family) {
            let revoked = st.revoke_family(family, reason);
            drop(st);
            for t in revoked {
                self.lineage_all([self.lineage_entry(&t, None, family, "revoked", Some(reason))]);
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
            self.lineage_all([self.lineage_entry(&t, None, f, "revoked", Some("admin"))]);
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
        let leeway_ms = st.config.tokens.leeway.saturating_mul(1000);
        st.access
            .get(token)
            .filter(|a| !a.revoked && now < a.exp_ms.saturating_add(leeway_ms))
            .cloned()
    }

    /// Records a decision on a device authorization; `None` picks the most recent pending one.
    /// Returns the user code decided on.
    pub(crate) fn decide_device(
        &self,
        user_code: Option<&str>,
        decision: DeviceDecision,
    ) -> Result<String, Error> {
        let mut st = lock(&self.state);
        let device_code = match user_code {
            Some(code) => st.user_codes.get(&normalize_user_code(code)).cloned(),
            None => st
                .recent_user_codes
                .iter()
                .rev()
                .filter_map(|c| st.user_codes.get(&normalize_user_code(c)))
                .find(|dc| {
                    st.devices
                        .get(*dc)
                        .is_some_and(|d| d.decision == DeviceDecision::Pending && !d.redeemed)
                })
                .cloned(),
        };
        let unknown = || Error::UnknownDeviceCode {
            user_code: user_code.map(str::to_owned),
        };
        let device_code = device_code.ok_or_else(unknown)?;
        let d = st.devices.get_mut(&device_code).ok_or_else(unknown)?;
        d.decision = decision;
        Ok(d.user_code.clone())
    }
}

/// A user code without separators, upper case (RFC 8628 §6.1: case and dashes do not matter).
pub(crate) fn normalize_user_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_compare_without_case_or_dashes() {
        assert_eq!(
            normalize_user_code("wdjb-mjht"),
            normalize_user_code("WDJBMJHT")
        );
        assert_eq!(normalize_user_code(" WDJB MJHT "), "WDJBMJHT");
    }
}
