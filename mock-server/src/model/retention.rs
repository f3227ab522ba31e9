//! What the server forgets, so that memory stays flat however many grants it serves.
//!
//! Every grant adds records: an access-token record, a refresh-token record (the presented one
//! becomes spent when it rotates), and the secrets it minted. The journal is bounded on its
//! own (`journal.rs`); this file bounds the rest, each to the newest `capacity`
//! ([`DEFAULT_RECORD_CAPACITY`] unless the builder or `--record-capacity` says otherwise):
//! - access-token records: the oldest is forgotten first (the hosted API and introspection then
//!   treat it as unknown, as they would an expired one);
//! - spent refresh-token records (rotated or revoked): the oldest is forgotten first, and
//!   presenting it later is `invalid_grant` for an unknown token, not a detected reuse. Active
//!   refresh tokens are never forgotten: they are a live session each;
//! - the issued-secret list (the leak scan's input): the oldest is dropped and counted.
//!
//! A test scenario issues a handful of tokens, far below the default, so nothing it can see
//! is ever forgotten; a benchmark that makes a million grants keeps its memory flat.

use std::collections::VecDeque;

use super::state::{RefreshStatus, State};

/// How many access-token records, spent refresh-token records and issued secrets the server
/// keeps by default; older ones are forgotten (see [`crate::MockServerBuilder::record_capacity`]).
pub const DEFAULT_RECORD_CAPACITY: usize = 10_000;

/// The order in which records were made, to forget the oldest first.
#[derive(Debug)]
pub(crate) struct Retention {
    capacity: usize,
    /// Access tokens in issue order.
    access: VecDeque<String>,
    /// Refresh tokens in the order they stopped being active.
    spent: VecDeque<String>,
}

impl Retention {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            access: VecDeque::new(),
            spent: VecDeque::new(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

/// The secrets the server minted, newest `capacity` of them, and how many older ones were
/// dropped. Its `Debug` shows only the counts: the list is raw secrets.
pub(crate) struct Secrets {
    capacity: usize,
    list: VecDeque<String>,
    dropped: u64,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("kept", &self.list.len())
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl Secrets {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            list: VecDeque::new(),
            dropped: 0,
        }
    }

    /// Records a minted secret, dropping the oldest beyond the capacity.
    pub(crate) fn push(&mut self, secret: String) {
        if self.list.len() >= self.capacity {
            self.list.pop_front();
            self.dropped = self.dropped.saturating_add(1);
        }
        self.list.push_back(secret);
    }

    /// Records several minted secrets.
    pub(crate) fn extend(&mut self, secrets: impl IntoIterator<Item = String>) {
        for s in secrets {
            self.push(s);
        }
    }

    /// The secrets kept, oldest first.
    pub(crate) fn to_vec(&self) -> Vec<String> {
        self.list.iter().cloned().collect()
    }

    /// How many older secrets were dropped to keep the capacity.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl State {
    /// Notes a new access-token record (already inserted), forgetting the oldest beyond the
    /// capacity, in its family's list too.
    pub(crate) fn retain_access(&mut self, token: String) {
        self.retention.access.push_back(token);
        while self.retention.access.len() > self.retention.capacity {
            let Some(old) = self.retention.access.pop_front() else {
                break;
            };
            if let Some(record) = self.access.remove(&old)
                && let Some(family) = self.families.get_mut(&record.family)
            {
                // Tokens are forgotten in issue order, so the oldest of its family is first.
                if family.access.front() == Some(&old) {
                    family.access.pop_front();
                } else {
                    family.access.retain(|t| *t != old);
                }
            }
        }
    }

    /// Notes that a refresh token stopped being active (rotated or revoked), forgetting the
    /// oldest spent record beyond the capacity. Call once per token, on that transition.
    pub(crate) fn retain_spent(&mut self, token: String) {
        self.retention.spent.push_back(token);
        while self.retention.spent.len() > self.retention.capacity {
            let Some(old) = self.retention.spent.pop_front() else {
                break;
            };
            // Only a spent record goes; an active one (never queued here) stays.
            if self
                .refresh
                .get(&old)
                .is_some_and(|r| r.status != RefreshStatus::Active)
            {
                self.refresh.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_keep_the_newest_and_count_the_dropped() {
        let mut s = Secrets::new(2);
        s.extend(["mat_a", "mat_b", "mat_c"].map(str::to_owned));
        assert_eq!(s.to_vec(), ["mat_b", "mat_c"]);
        assert_eq!(s.dropped(), 1);
        assert!(
            !format!("{s:?}").contains("mat_"),
            "Debug shows counts only"
        );
    }
}
