//! The request journal: one redacted entry per request, plus token lineage and counters.

use std::collections::BTreeMap;

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
    /// What the server did, e.g. `rotated`, `reuse_detected`, `benign_replay`, `family_revoked`.
    pub outcome: Option<String>,
    /// Fingerprint (first 8 hex of SHA-256) of the bearer token sent, if any.
    pub bearer_fingerprint: Option<String>,
    /// A TLS ClientHello that arrived on the plain-HTTP port.
    pub tls_handshake: bool,
}

impl JournalEntry {
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

/// The journal itself.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    pub(crate) entries: Vec<JournalEntry>,
    pub(crate) lineage: Vec<LineageEntry>,
}

impl Journal {
    /// Appends an entry, assigning its sequence number.
    pub(crate) fn push(&mut self, mut entry: JournalEntry) {
        entry.seq = self.entries.len() as u64 + 1;
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
        self.entries.push(entry);
    }

    /// Counters keyed `"METHOD path[ grant] status"`.
    pub(crate) fn counters(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for e in &self.entries {
            let key = if e.tls_handshake {
                "tls_handshake".to_owned()
            } else {
                match &e.grant_type {
                    Some(g) => format!("{} {} {} {}", e.method, e.path, g, e.status),
                    None => format!("{} {} {}", e.method, e.path, e.status),
                }
            };
            *out.entry(key).or_insert(0) += 1;
        }
        out
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
        outcome: None,
        bearer_fingerprint: None,
        tls_handshake: false,
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
        j.push(a.clone());
        j.push(a);
        let mut tls = blank("", "", 0);
        tls.tls_handshake = true;
        j.push(tls);
        let c = j.counters();
        assert_eq!(c["POST /oauth/token refresh_token 200"], 2);
        assert_eq!(c["tls_handshake"], 1);
        assert_eq!(
            j.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }
}
