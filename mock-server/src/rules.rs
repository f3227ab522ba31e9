//! Fault rules: an ordered list of `match` → `action`, first match wins.
//!
//! Rules are evaluated before routing, so any request (token endpoint, hosted API, discovery)
//! can be delayed, held, rewritten or cut off at the connection level.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

/// One fault rule.
///
/// ```
/// use cliauth_mock::{Action, Rule, RuleMatch};
/// let rule = Rule::new(
///     "refresh-503",
///     RuleMatch::default().path("/oauth/token").grant_type("refresh_token"),
///     Action::Catalog { name: cliauth_mock::CatalogName::Unavailable },
/// )
/// .times(1);
/// assert_eq!(rule.times, Some(1));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Name shown in the journal and used to release a hold.
    pub name: String,
    /// How many times the action fires; `None` = always. Counted per client: a rule that
    /// names a `client_id` is that client's own one-shot queue.
    #[serde(default)]
    pub times: Option<u32>,
    /// Which requests the rule applies to.
    #[serde(rename = "match", default)]
    pub matcher: RuleMatch,
    /// What happens to a matching request.
    pub action: Action,
}

impl Rule {
    /// A rule that always fires.
    pub fn new(name: impl Into<String>, matcher: RuleMatch, action: Action) -> Self {
        Self {
            name: name.into(),
            times: None,
            matcher,
            action,
        }
    }

    /// Fires only `n` times.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Action::Hold { count, .. } = &self.action
            && *count == 0
        {
            return Err("action.count: a hold needs count >= 1".to_owned());
        }
        if self.matcher.nth == Some(0) {
            return Err("match.nth: nth is 1-based".to_owned());
        }
        if let Action::Status { status, .. } = &self.action
            && http::StatusCode::from_u16(*status).is_err()
        {
            return Err(format!("action.status: {status} is not an HTTP status"));
        }
        Ok(())
    }
}

/// Conditions a request must meet; every present field must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleMatch {
    /// HTTP method, case-insensitive.
    pub method: Option<String>,
    /// Exact request path (no query).
    pub path: Option<String>,
    /// The `grant_type` form field.
    pub grant_type: Option<String>,
    /// The client (form field, Basic auth or query parameter).
    pub client_id: Option<String>,
    /// Form fields that must have these values.
    pub form: BTreeMap<String, String>,
    /// JSON pointers (RFC 6901) into the JSON body that must have these values.
    pub json: BTreeMap<String, serde_json::Value>,
    /// Headers (case-insensitive names) that must have these values.
    pub header: BTreeMap<String, String>,
    /// Only the Nth request that meets the other conditions (1-based).
    pub nth: Option<u32>,
}

impl RuleMatch {
    /// Requires this method.
    #[must_use]
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }
    /// Requires this path.
    #[must_use]
    pub fn path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }
    /// Requires this grant type.
    #[must_use]
    pub fn grant_type(mut self, grant_type: &str) -> Self {
        self.grant_type = Some(grant_type.to_owned());
        self
    }
    /// Requires this client.
    #[must_use]
    pub fn client_id(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }
    /// Requires a form field value.
    #[must_use]
    pub fn form(mut self, field: &str, value: &str) -> Self {
        self.form.insert(field.to_owned(), value.to_owned());
        self
    }
    /// Requires a JSON value at a pointer.
    #[must_use]
    pub fn json(mut self, pointer: &str, value: serde_json::Value) -> Self {
        self.json.insert(pointer.to_owned(), value);
        self
    }
    /// Requires a header value.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.header.insert(name.to_owned(), value.to_owned());
        self
    }
    /// Only the Nth match.
    #[must_use]
    pub fn nth(mut self, n: u32) -> Self {
        self.nth = Some(n);
        self
    }

    /// Whether the request meets every condition except `nth`.
    pub(crate) fn matches(&self, req: &RequestFacts<'_>) -> bool {
        if let Some(m) = &self.method
            && !m.eq_ignore_ascii_case(req.method)
        {
            return false;
        }
        // A dialect path also answers to the cliauth path it stands for.
        if self
            .path
            .as_deref()
            .is_some_and(|p| p != req.path && Some(p) != req.canonical_path)
        {
            return false;
        }
        if self.grant_type.is_some() && self.grant_type.as_deref() != req.grant_type {
            return false;
        }
        if self.client_id.is_some() && self.client_id.as_deref() != req.client_id {
            return false;
        }
        for (k, v) in &self.form {
            if req.form.and_then(|f| f.get(k)) != Some(v) {
                return false;
            }
        }
        for (pointer, want) in &self.json {
            if req.json.and_then(|j| j.pointer(pointer)) != Some(want) {
                return false;
            }
        }
        for (name, want) in &self.header {
            let got = req.headers.get(name.as_str()).and_then(|v| v.to_str().ok());
            if got != Some(want.as_str()) {
                return false;
            }
        }
        true
    }
}

/// What a rule does to a matching request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "RawAction")]
#[non_exhaustive]
pub enum Action {
    /// Answer with this status, body and headers; the request is not processed.
    Status {
        /// HTTP status code.
        status: u16,
        /// Response body.
        #[serde(default)]
        body: String,
        /// Response headers.
        #[serde(default)]
        headers: BTreeMap<String, String>,
    },
    /// Wait, then process normally.
    Delay {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Process normally, then wait this long before the first byte of the response.
    SlowFirstByte {
        /// Milliseconds to wait.
        ms: u64,
    },
    /// Close the connection (FIN) without answering; the request is not processed.
    Drop,
    /// Reset the connection (RST) without answering; the request is not processed.
    Reset,
    /// Process normally, announce the full `Content-Length`, send half the body and close.
    Truncate,
    /// Answer 200 with a JSON content type and a body that is not valid JSON.
    MalformedJson,
    /// Answer 200 with an OAuth error body.
    #[serde(rename = "oauth_error_200")]
    OauthError200 {
        /// The `error` code.
        #[serde(default = "default_oauth_error")]
        error: String,
    },
    /// Answer 200 with an HTML login page (a captive portal or SSO interstitial).
    HtmlLogin,
    /// Process the request (a grant is committed, a token rotated), then reset the connection.
    CommitThenReset,
    /// Wait until `count` requests are held or an admin release, then let them through one
    /// at a time in `order`, each finishing before the next starts.
    Hold {
        /// How many requests release the barrier.
        count: usize,
        /// Release order.
        #[serde(default)]
        order: HoldOrder,
    },
    /// A named resource-side failure.
    Catalog {
        /// Which one.
        name: CatalogName,
    },
}

fn default_oauth_error() -> String {
    "invalid_grant".to_owned()
}

/// The wire form of an [`Action`]: one flat table, so that an unknown key is an error for
/// every kind (serde ignores extra keys of internally tagged unit variants) and a key that
/// does not belong to the kind is named.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    kind: ActionKind,
    status: Option<u16>,
    body: Option<String>,
    headers: Option<BTreeMap<String, String>>,
    ms: Option<u64>,
    error: Option<String>,
    count: Option<usize>,
    order: Option<HoldOrder>,
    name: Option<CatalogName>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ActionKind {
    Status,
    Delay,
    SlowFirstByte,
    Drop,
    Reset,
    Truncate,
    MalformedJson,
    #[serde(rename = "oauth_error_200")]
    OauthError200,
    HtmlLogin,
    CommitThenReset,
    Hold,
    Catalog,
}

impl TryFrom<RawAction> for Action {
    type Error = String;

    fn try_from(raw: RawAction) -> Result<Self, String> {
        let kind = raw.kind;
        let mut present: Vec<&str> = Vec::new();
        for (key, set) in [
            ("status", raw.status.is_some()),
            ("body", raw.body.is_some()),
            ("headers", raw.headers.is_some()),
            ("ms", raw.ms.is_some()),
            ("error", raw.error.is_some()),
            ("count", raw.count.is_some()),
            ("order", raw.order.is_some()),
            ("name", raw.name.is_some()),
        ] {
            if set {
                present.push(key);
            }
        }
        let allowed: &[&str] = match kind {
            ActionKind::Status => &["status", "body", "headers"],
            ActionKind::Delay | ActionKind::SlowFirstByte => &["ms"],
            ActionKind::OauthError200 => &["error"],
            ActionKind::Hold => &["count", "order"],
            ActionKind::Catalog => &["name"],
            _ => &[],
        };
        if let Some(extra) = present.iter().find(|k| !allowed.contains(k)) {
            return Err(format!(
                "field `{extra}` does not apply to action kind {kind:?}; expected one of {allowed:?}"
            ));
        }
        let need = |what: &str| format!("action kind {kind:?} needs field `{what}`");
        Ok(match kind {
            ActionKind::Status => Action::Status {
                status: raw.status.ok_or_else(|| need("status"))?,
                body: raw.body.unwrap_or_default(),
                headers: raw.headers.unwrap_or_default(),
            },
            ActionKind::Delay => Action::Delay {
                ms: raw.ms.ok_or_else(|| need("ms"))?,
            },
            ActionKind::SlowFirstByte => Action::SlowFirstByte {
                ms: raw.ms.ok_or_else(|| need("ms"))?,
            },
            ActionKind::Drop => Action::Drop,
            ActionKind::Reset => Action::Reset,
            ActionKind::Truncate => Action::Truncate,
            ActionKind::MalformedJson => Action::MalformedJson,
            ActionKind::OauthError200 => Action::OauthError200 {
                error: raw.error.unwrap_or_else(default_oauth_error),
            },
            ActionKind::HtmlLogin => Action::HtmlLogin,
            ActionKind::CommitThenReset => Action::CommitThenReset,
            ActionKind::Hold => Action::Hold {
                count: raw.count.ok_or_else(|| need("count"))?,
                order: raw.order.unwrap_or_default(),
            },
            ActionKind::Catalog => Action::Catalog {
                name: raw.name.ok_or_else(|| need("name"))?,
            },
        })
    }
}

/// Order in which held requests are released.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HoldOrder {
    /// First arrived, first released.
    #[default]
    Arrival,
    /// Last arrived, first released.
    Reverse,
}

/// The catalogue of ready-made resource-side failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CatalogName {
    /// 401 with `WWW-Authenticate: Bearer error="invalid_token"`.
    InvalidToken,
    /// 403 `insufficient_scope` (RFC 6750 §3.1).
    InsufficientScope,
    /// 403 `private_teamspace_required`.
    PrivateTeamspaceRequired,
    /// 429 with `Retry-After`.
    RateLimited,
    /// 503 with `Retry-After`.
    Unavailable,
}

/// What the rule layer knows about a request.
pub(crate) struct RequestFacts<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    /// The cliauth path a dialect path stands for (see `dialect::canonical_path`).
    pub(crate) canonical_path: Option<&'a str>,
    pub(crate) grant_type: Option<&'a str>,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) form: Option<&'a HashMap<String, String>>,
    pub(crate) json: Option<&'a serde_json::Value>,
    pub(crate) headers: &'a http::HeaderMap,
}

/// A rule with its counters.
#[derive(Debug)]
pub(crate) struct RuleSlot {
    pub(crate) rule: Rule,
    /// Matches seen (for `nth`).
    seen: u32,
    /// Firings so far, per client (`""` for requests without a client).
    fired: HashMap<String, u32>,
}

impl RuleSlot {
    pub(crate) fn new(rule: Rule) -> Self {
        Self {
            rule,
            seen: 0,
            fired: HashMap::new(),
        }
    }
}

/// Finds the first rule that fires for the request and counts the firing.
pub(crate) fn select(slots: &mut [RuleSlot], req: &RequestFacts<'_>) -> Option<(String, Action)> {
    for slot in slots.iter_mut() {
        if !slot.rule.matcher.matches(req) {
            continue;
        }
        let client = req.client_id.unwrap_or("").to_owned();
        let fired = slot.fired.get(&client).copied().unwrap_or(0);
        if slot.rule.times.is_some_and(|t| fired >= t) {
            continue;
        }
        slot.seen += 1;
        if slot.rule.matcher.nth.is_some_and(|n| n != slot.seen) {
            continue;
        }
        slot.fired.insert(client, fired + 1);
        return Some((slot.rule.name.clone(), slot.rule.action.clone()));
    }
    None
}

/// A request waiting at a hold barrier. It receives a "done" sender when released and fires
/// it once it has been processed, so the next one starts only after it.
pub(crate) type Ticket = oneshot::Sender<oneshot::Sender<()>>;

/// Waiting requests of every hold rule.
#[derive(Debug, Default)]
pub(crate) struct Holds {
    groups: std::sync::Mutex<HashMap<String, Vec<Ticket>>>,
}

impl Holds {
    /// Joins the barrier of `rule`; returns the receiver that says "go", and the whole group
    /// when this arrival completes it.
    pub(crate) fn join(
        &self,
        rule: &str,
        count: usize,
    ) -> (oneshot::Receiver<oneshot::Sender<()>>, Option<Vec<Ticket>>) {
        let (tx, rx) = oneshot::channel();
        let mut groups = self.lock();
        let group = groups.entry(rule.to_owned()).or_default();
        group.push(tx);
        let full = (group.len() >= count).then(|| std::mem::take(group));
        (rx, full)
    }

    /// How many requests wait at `rule`'s barrier.
    pub(crate) fn waiting(&self, rule: &str) -> usize {
        self.lock().get(rule).map_or(0, Vec::len)
    }

    /// Takes every request waiting at `rule`'s barrier.
    pub(crate) fn take(&self, rule: &str) -> Vec<Ticket> {
        self.lock().remove(rule).unwrap_or_default()
    }

    /// Takes every waiting request of every barrier.
    pub(crate) fn take_all(&self) -> Vec<Vec<Ticket>> {
        self.lock().drain().map(|(_, v)| v).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Ticket>>> {
        // A poisoned lock only means another request panicked while pushing to a Vec; the
        // map itself is still consistent, so keep serving.
        self.groups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Lets held requests through one at a time, in `order`.
pub(crate) async fn release(mut tickets: Vec<Ticket>, order: HoldOrder) {
    if order == HoldOrder::Reverse {
        tickets.reverse();
    }
    for ticket in tickets {
        let (done_tx, done_rx) = oneshot::channel();
        if ticket.send(done_tx).is_err() {
            // The held request's connection went away; nothing waits for this ticket.
            tracing::debug!("held request vanished before release");
            continue;
        }
        if let Err(e) = done_rx.await {
            // The released request ended without reporting (its connection was cut); move on.
            tracing::debug!(error = %e, "released request ended without reporting");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(headers: &'a http::HeaderMap, client: Option<&'a str>) -> RequestFacts<'a> {
        RequestFacts {
            method: "POST",
            path: "/oauth/token",
            canonical_path: None,
            grant_type: Some("refresh_token"),
            client_id: client,
            form: None,
            json: None,
            headers,
        }
    }

    #[test]
    fn one_shot_rules_are_counted_per_client() {
        let headers = http::HeaderMap::new();
        let mut slots = vec![RuleSlot::new(
            Rule::new("r", RuleMatch::default().path("/oauth/token"), Action::Drop).times(1),
        )];
        assert!(select(&mut slots, &facts(&headers, Some("a"))).is_some());
        assert!(select(&mut slots, &facts(&headers, Some("a"))).is_none());
        assert!(select(&mut slots, &facts(&headers, Some("b"))).is_some());
    }

    #[test]
    fn nth_fires_only_on_the_nth_match() {
        let headers = http::HeaderMap::new();
        let mut slots = vec![RuleSlot::new(Rule::new(
            "r",
            RuleMatch::default().nth(2),
            Action::Drop,
        ))];
        let fired: Vec<bool> = (0..3)
            .map(|_| select(&mut slots, &facts(&headers, None)).is_some())
            .collect();
        assert_eq!(fired, [false, true, false]);
    }

    #[test]
    fn rules_parse_from_toml_with_unknown_fields_rejected() {
        let rule: Rule = toml::from_str(
            "name = \"h\"\nmatch = { path = \"/oauth/token\" }\naction = { kind = \"hold\", count = 2, order = \"reverse\" }\n",
        )
        .unwrap();
        assert_eq!(
            rule.action,
            Action::Hold {
                count: 2,
                order: HoldOrder::Reverse
            }
        );
        let err = toml::from_str::<Rule>("name = \"h\"\naction = { kind = \"drop\", bogus = 1 }\n")
            .unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
        let err = toml::from_str::<Rule>("name = \"h\"\naction = { kind = \"drop\", ms = 1 }\n")
            .unwrap_err();
        assert!(err.to_string().contains("`ms` does not apply"), "{err}");
    }
}
