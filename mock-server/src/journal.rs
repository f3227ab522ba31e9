//! The request journal: one redacted entry per request, plus token lineage and counters.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::Serialize;

/// One request as the server saw it. No raw secret ever appears in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JournalEntry {
    /// Arrival number, from 1.
    pub seq: u64,
    /// HTTP method (empty for a TLS handshake).
    pub method: String,
    /// Request path without the query.
    pub path: String,
    /// In a dialect, the cliauth path this request's path stands for
    /// (`/oauth/device` → `/oauth/device_authorization`); `None` otherwise.
    pub canonical_path: Option<String>,
    /// The `grant_type` form field, when present.
    pub grant_type: Option<String>,
    /// The client (form field, Basic auth user or query parameter), when present.
    pub client_id: Option<String>,
    /// The `scope` the request asked for (form field or query parameter), when present.
    pub scope: Option<String>,
    /// Status sent; 0 when the connection was dropped or reset before a status was sent.
    pub status: u16,
    /// Name of the fault rule that matched.
    pub rule: Option<String>,
    /// Server clock (milliseconds since the Unix epoch) at arrival.
    pub at_ms: u64,
    /// Device-code polls: time since the previous poll of the same device code.
    pub poll_gap_ms: Option<u64>,
    /// Device-code polls after the first: the interval the client had to wait (RFC 8628
    /// §3.5: the granted `interval`, plus 5 s for every `slow_down` answered so far).
    pub poll_interval_ms: Option<u64>,
    /// What the server did, e.g. `rotated`, `reuse_detected`, `benign_replay`, `family_revoked`.
    pub outcome: Option<String>,
    /// Fingerprint (first 8 hex of SHA-256) of the bearer token sent, if any.
    pub bearer_fingerprint: Option<String>,
    /// A TLS ClientHello that arrived on the plain-HTTP port.
    pub tls_handshake: bool,
    /// The host the request was for: the `CONNECT` host of an intercepted connection (also
    /// for a refused `CONNECT`), else the `Host` header as sent (`127.0.0.1:PORT`).
    pub host: Option<String>,
    /// The request arrived over TLS (`serve --tls`, or a tunnel of the interception proxy).
    pub tls: bool,
}

impl JournalEntry {
    /// Whether the request's bearer token was `token` (compared by fingerprint: the journal
    /// keeps no raw secret).
    pub fn bearer_is(&self, token: &str) -> bool {
        self.bearer_fingerprint.as_deref() == Some(crate::tokens::fingerprint(token).as_str())
    }

    /// Whether this is a device-code poll that came sooner than the interval then in force
    /// allowed (RFC 8628 §3.5), judged on the server's clock.
    pub fn poll_too_fast(&self) -> bool {
        matches!((self.poll_gap_ms, self.poll_interval_ms), (Some(gap), Some(interval)) if gap < interval)
    }

    /// Whether this is a token-endpoint request with this grant type answered with this status.
    pub fn is_grant(&self, grant_type: &str, status: u16) -> bool {
        self.path == "/oauth/token"
            && self.grant_type.as_deref() == Some(grant_type)
            && self.status == status
    }
}

/// One event in a refresh-token family's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LineageEntry {
    /// Fingerprint of the refresh token.
    pub token: String,
    /// Fingerprint of the token it descends from.
    pub parent: Option<String>,
    /// The family (one login) it belongs to.
    pub family: u64,
    /// `issued`, `rotated`, `reused` or `revoked`.
    pub event: String,
    /// Why, for `revoked` (e.g. `reuse_detected`, `revocation_request`, `admin`).
    pub reason: Option<String>,
    /// Server clock.
    pub at_ms: u64,
}

/// How many entries (and lineage events) the journal keeps by default; older ones are
/// dropped and counted in [`Journal::dropped`]. About 300 bytes each, so a few MB at most.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 10_000;

/// The journal itself: the newest `capacity` entries and lineage events, plus counters over
/// every request ever journaled (dropped ones included).
///
/// Entries are shared (`Arc`) so that a reader copies pointers under the lock and builds its
/// answer after releasing it; the request path never waits for a serializer.
#[derive(Debug)]
pub(crate) struct Journal {
    entries: VecDeque<Arc<JournalEntry>>,
    lineage: VecDeque<LineageEntry>,
    counters: BTreeMap<String, u64>,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
    lineage_dropped: u64,
}

impl Default for Journal {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_JOURNAL_CAPACITY)
    }
}

/// A consistent copy of part of the journal, taken under the lock in time proportional to the
/// number of entries (pointer copies), serialized after the lock is released.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Snapshot {
    #[serde(serialize_with = "shared_entries")]
    pub(crate) entries: Vec<Arc<JournalEntry>>,
    pub(crate) counters: BTreeMap<String, u64>,
    pub(crate) lineage: Vec<LineageEntry>,
    /// Entries dropped because the journal was full (oldest first).
    pub(crate) dropped: u64,
    /// Lineage events dropped because the journal was full.
    pub(crate) lineage_dropped: u64,
    /// The sequence number the next entry will get: pass it as `since` to page on.
    pub(crate) next_seq: u64,
    /// How many entries the journal keeps.
    pub(crate) capacity: usize,
}

impl Journal {
    /// An empty journal keeping at most `capacity` entries (at least one).
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: VecDeque::new(),
            lineage: VecDeque::new(),
            counters: BTreeMap::new(),
            capacity: capacity.max(1),
            next_seq: 1,
            dropped: 0,
            lineage_dropped: 0,
        }
    }

    /// Appends an entry, assigning its sequence number; when full, removes the oldest and
    /// returns it, for the caller to drop after releasing the journal lock (see
    /// `Shared::journal_request`, the one caller outside tests).
    #[must_use = "drop the evicted entry after the journal lock is released"]
    pub(crate) fn push(&mut self, mut entry: JournalEntry) -> Option<Arc<JournalEntry>> {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        tracing::debug!(
            seq = entry.seq,
            method = %entry.method,
            path = %entry.path,
            status = entry.status,
            grant = entry.grant_type.as_deref().unwrap_or("-"),
            rule = entry.rule.as_deref().unwrap_or("-"),
            outcome = entry.outcome.as_deref().unwrap_or("-"),
            bearer = entry.bearer_fingerprint.as_deref().unwrap_or("-"),
            "request"
        );
        *self.counters.entry(counter_key(&entry)).or_insert(0) += 1;
        let evicted = if self.entries.len() >= self.capacity {
            self.dropped += 1;
            self.entries.pop_front()
        } else {
            None
        };
        self.entries.push_back(Arc::new(entry));
        evicted
    }

    /// Appends a lineage event; drops the oldest when full.
    pub(crate) fn push_lineage(&mut self, entry: LineageEntry) {
        if self.lineage.len() >= self.capacity {
            self.lineage.pop_front();
            self.lineage_dropped += 1;
        }
        self.lineage.push_back(entry);
    }

    /// Forgets everything (the capacity stays); sequence numbers start at 1 again.
    pub(crate) fn clear(&mut self) {
        *self = Self::with_capacity(self.capacity);
    }

    /// Every kept entry, oldest first.
    pub(crate) fn entries(&self) -> Vec<JournalEntry> {
        self.entries
            .iter()
            .map(|e| JournalEntry::clone(e))
            .collect()
    }

    /// Every kept lineage event, oldest first.
    pub(crate) fn lineage(&self) -> Vec<LineageEntry> {
        self.lineage.iter().cloned().collect()
    }

    /// Entries dropped because the journal was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Up to `limit` entries with `seq > since`, oldest first, with counters and lineage.
    pub(crate) fn snapshot(&self, since: u64, limit: usize) -> Snapshot {
        // Kept entries have consecutive sequence numbers, so the first wanted one is found by
        // arithmetic rather than a scan.
        let first_kept = self.entries.front().map_or(self.next_seq, |e| e.seq);
        let skip = usize::try_from(since.saturating_add(1).saturating_sub(first_kept))
            .unwrap_or(usize::MAX);
        Snapshot {
            entries: self
                .entries
                .iter()
                .skip(skip)
                .take(limit)
                .cloned()
                .collect(),
            counters: self.counters.clone(),
            lineage: self.lineage.iter().cloned().collect(),
            dropped: self.dropped,
            lineage_dropped: self.lineage_dropped,
            next_seq: self.next_seq,
            capacity: self.capacity,
        }
    }
}

/// Serializes shared entries as plain ones (serde's `rc` feature is not enabled).
fn shared_entries<S: serde::Serializer>(
    entries: &[Arc<JournalEntry>],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(entries.iter().map(|e| &**e))
}

fn counter_key(e: &JournalEntry) -> String {
    if e.tls_handshake {
        "tls_handshake".to_owned()
    } else {
        match &e.grant_type {
            Some(g) => format!("{} {} {} {}", e.method, e.path, g, e.status),
            None => format!("{} {} {}", e.method, e.path, e.status),
        }
    }
}

/// An entry with everything empty, for the caller to fill in.
pub(crate) fn blank(method: &str, path: &str, at_ms: u64) -> JournalEntry {
    JournalEntry {
        seq: 0,
        method: method.to_owned(),
        path: path.to_owned(),
        canonical_path: None,
        grant_type: None,
        client_id: None,
        scope: None,
        status: 0,
        rule: None,
        at_ms,
        poll_gap_ms: None,
        poll_interval_ms: None,
        outcome: None,
        bearer_fingerprint: None,
        tls_handshake: false,
        host: None,
        tls: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_group_by_method_path_grant_and_status() {
        let mut j = Journal::default();
        let mut a = blank("POST", "/oauth/token", 0);
        a.grant_type = Some("refresh_token".to_owned());
        a.status = 200;
        assert!(j.push(a.clone()).is_none(), "room for it");
        assert!(j.push(a).is_none(), "room for it");
        let mut tls = blank("", "", 0);
        tls.tls_handshake = true;
        assert!(j.push(tls).is_none(), "room for it");
        let c = j.snapshot(0, usize::MAX).counters;
        assert_eq!(c["POST /oauth/token refresh_token 200"], 2);
        assert_eq!(c["tls_handshake"], 1);
        assert_eq!(
            j.entries().iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn a_full_journal_drops_the_oldest_and_counts_them() {
        let mut j = Journal::with_capacity(3);
        let evicted: Vec<Option<u64>> = (0..5)
            .map(|_| j.push(blank("GET", "/x", 0)).map(|e| e.seq))
            .collect();
        assert_eq!(
            evicted,
            [None, None, None, Some(1), Some(2)],
            "push hands back the entry it dropped"
        );
        assert_eq!(
            j.entries().iter().map(|e| e.seq).collect::<Vec<_>>(),
            [3, 4, 5]
        );
        assert_eq!(j.dropped(), 2);
        assert_eq!(
            j.snapshot(0, 0).counters["GET /x 0"],
            5,
            "counters cover dropped entries too"
        );
        for at_ms in 0..4 {
            j.push_lineage(LineageEntry {
                token: String::new(),
                parent: None,
                family: 1,
                event: "issued".to_owned(),
                reason: None,
                at_ms,
            });
        }
        let snap = j.snapshot(0, usize::MAX);
        assert_eq!((snap.lineage.len(), snap.lineage_dropped), (3, 1));
        assert_eq!((snap.dropped, snap.next_seq, snap.capacity), (2, 6, 3));
    }

    #[test]
    fn snapshots_page_by_sequence_number() {
        let mut j = Journal::with_capacity(4);
        let evicted: Vec<u64> = (0..6)
            .filter_map(|_| j.push(blank("GET", "/x", 0)))
            .map(|e| e.seq)
            .collect();
        assert_eq!(evicted, [1, 2]);
        let seqs = |j: &Journal, since, limit| {
            j.snapshot(since, limit)
                .entries
                .iter()
                .map(|e| e.seq)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            seqs(&j, 0, usize::MAX),
            [3, 4, 5, 6],
            "since before the kept ones: all kept"
        );
        assert_eq!(seqs(&j, 3, usize::MAX), [4, 5, 6]);
        assert_eq!(seqs(&j, 3, 2), [4, 5]);
        assert_eq!(seqs(&j, 6, 10), Vec::<u64>::new());
        assert_eq!(seqs(&j, u64::MAX, 10), Vec::<u64>::new());
        j.clear();
        assert!(
            j.push(blank("GET", "/x", 0)).is_none(),
            "a cleared journal has room"
        );
        assert_eq!(seqs(&j, 0, 10), [1]);
    }
}
