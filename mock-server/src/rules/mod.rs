//! Fault rules: an ordered list of `match` → `action`, first match wins.
//!
//! Rules are evaluated before routing, so any request (token endpoint, hosted API, discovery)
//! can be delayed, held, rewritten or cut off at the connection level. This file holds the
//! rule, its matcher and the selection with its counters; [`action`] what a rule does and
//! [`hold`] the barriers of `hold` rules. The actions are carried out by `server::faults`.

mod action;
mod hold;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

pub use self::action::{Action, CatalogName, HoldOrder};
pub(crate) use self::hold::{Holds, release};

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
