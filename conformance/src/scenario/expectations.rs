//! What must hold after a step: the `expect` table and its journal, log and file counts.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::values::{Mode, default_home};

/// What must hold after a step. Output checks apply to every process of the step.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Exit code of every process.
    #[serde(default)]
    pub exit: Option<i32>,
    /// Error category of every process (exit code from the profile, and the JSON category
    /// field when `json = true`); `"success"` means exit 0.
    #[serde(default)]
    pub category: Option<String>,
    /// Texts stdout must contain.
    #[serde(default)]
    pub stdout_contains: Vec<String>,
    /// Texts stdout must not contain.
    #[serde(default)]
    pub stdout_not_contains: Vec<String>,
    /// Regexes stdout must match.
    #[serde(default)]
    pub stdout_regex: Vec<Pattern>,
    /// Texts stderr must contain (case-sensitive).
    #[serde(default)]
    pub stderr_contains: Vec<String>,
    /// Texts stderr must not contain.
    #[serde(default)]
    pub stderr_not_contains: Vec<String>,
    /// Regexes stderr must match.
    #[serde(default)]
    pub stderr_regex: Vec<Pattern>,
    /// Stdout parsed as JSON: field (profile name, or a JSON pointer starting with `/`) →
    /// expected value.
    #[serde(default)]
    pub json: BTreeMap<String, toml::Value>,
    /// Stdout parsed as JSON: field → regex the value's text must match (strings unquoted).
    #[serde(default)]
    pub json_regex: BTreeMap<String, Pattern>,
    /// Every process of the step printed the same stdout, the same stderr and exit code.
    #[serde(default)]
    pub identical: bool,
    /// Counts of mock journal entries.
    #[serde(default)]
    pub journal: Vec<JournalCount>,
    /// Counts of debug-log words over the step's processes (needs `debug_log = true`).
    #[serde(default)]
    pub log: Vec<LogCount>,
    /// File checks.
    #[serde(default)]
    pub files: Vec<FileCheck>,
    /// Longest time each process of the step may take from start to exit, in milliseconds on
    /// a quiet machine (scaled by the profile's `timeout_factor` and the machine's load): a
    /// command that must not hang on an unresponsive server.
    #[serde(default)]
    pub max_wall_ms: Option<u64>,
}

/// A regular expression of an expectation, compiled once when the scenario is read (an
/// invalid one is a parse error naming the file, line and column).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Pattern(regex::Regex);

impl Pattern {
    /// The compiled expression.
    pub fn regex(&self) -> &regex::Regex {
        &self.0
    }

    /// The expression as written.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl TryFrom<String> for Pattern {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        regex::Regex::new(&text)
            .map(Pattern)
            .map_err(|e| format!("invalid regex {text:?}: {e}"))
    }
}

/// Count of journal entries matching every given field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalCount {
    /// HTTP method.
    #[serde(default)]
    pub method: Option<String>,
    /// Exact path.
    #[serde(default)]
    pub path: Option<String>,
    /// Path prefix.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Form `grant_type`.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// Response status (0 = connection dropped).
    #[serde(default)]
    pub status: Option<u16>,
    /// Token-endpoint outcome (`rotated`, `reuse_detected`, ...).
    #[serde(default)]
    pub outcome: Option<String>,
    /// Name of the fault rule that matched.
    #[serde(default)]
    pub rule: Option<String>,
    /// Device-code polls that came at least this many milliseconds after the previous poll.
    #[serde(default)]
    pub min_poll_gap_ms: Option<u64>,
    /// Device-code polls that came sooner (`true`) or not sooner (`false`) than the interval
    /// then in force allowed (RFC 8628 §3.5: the granted `interval` plus 5 s per `slow_down`).
    #[serde(default)]
    pub poll_too_fast: Option<bool>,
    /// Whether the request carried an `Authorization: Bearer` header.
    #[serde(default)]
    pub bearer: Option<Bearer>,
    /// Requests whose bearer token is exactly this one (a template: `{new}` captured from a
    /// `token` step).
    #[serde(default)]
    pub bearer_is: Option<String>,
    /// Requests with a bearer token other than this one (an anonymous request does not
    /// count).
    #[serde(default)]
    pub bearer_is_not: Option<String>,
    /// Whether the request was a TLS handshake on the mock's plain-HTTP port.
    #[serde(default)]
    pub tls_handshake: Option<bool>,
    /// The host the request was for: an intercepted host (`console.anthropic.com`), or the
    /// `Host` header of a request to the mock itself.
    #[serde(default)]
    pub host: Option<String>,
    /// Whether the request arrived over TLS (through the interception proxy).
    #[serde(default)]
    pub tls: Option<bool>,
    /// Which entries count: `step` (arrived during the step; for `wait`, since the process
    /// started) or `scenario` (all).
    #[serde(default)]
    pub scope: Scope,
    /// Exact count.
    #[serde(default)]
    pub count: Option<u64>,
    /// Lower bound.
    #[serde(default)]
    pub min: Option<u64>,
    /// Upper bound.
    #[serde(default)]
    pub max: Option<u64>,
}

/// A journal filter on the request's bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bearer {
    /// No `Authorization: Bearer` header (an anonymous call).
    Absent,
    /// Some bearer token.
    Present,
}

/// Which journal entries a count looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Entries that arrived during the step.
    #[default]
    Step,
    /// Every entry since the mock started.
    Scenario,
}

/// Count of one debug-log word.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCount {
    /// The abstract event name (profile `[debug_log.words]`).
    pub word: String,
    /// Exact count (summed over the step's processes).
    #[serde(default)]
    pub count: Option<u64>,
    /// Lower bound.
    #[serde(default)]
    pub min: Option<u64>,
    /// Upper bound.
    #[serde(default)]
    pub max: Option<u64>,
}

/// A check on one file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCheck {
    /// Relative to the home, or a profile path name in braces (`{store}`); `*` allowed in the
    /// last component.
    pub path: String,
    /// Which home.
    #[serde(default = "default_home")]
    pub home: String,
    /// Whether at least one file matches.
    #[serde(default)]
    pub exists: Option<bool>,
    /// Octal permission bits every match has.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Every match holds exactly the bytes an earlier `fs` `save` step kept under this name.
    #[serde(default)]
    pub same_as: Option<String>,
    /// Every process of the step named the file on stderr (its file name, the last
    /// component, is enough): an error or warning about a file says which one.
    #[serde(default)]
    pub named_on_stderr: bool,
    /// The check applies only when every process of the step exited 0 (a client that went
    /// on despite a problem must have repaired it; one that refused need not have).
    #[serde(default)]
    pub if_success: bool,
}

/// Checks a `count` / `min` / `max` triple.
pub(crate) fn count_ok(n: u64, count: Option<u64>, min: Option<u64>, max: Option<u64>) -> bool {
    count.is_none_or(|c| n == c) && min.is_none_or(|m| n >= m) && max.is_none_or(|m| n <= m)
}

/// Renders a `count` / `min` / `max` triple for reports.
pub(crate) fn count_text(count: Option<u64>, min: Option<u64>, max: Option<u64>) -> String {
    let mut parts = Vec::new();
    if let Some(c) = count {
        parts.push(format!("== {c}"));
    }
    if let Some(m) = min {
        parts.push(format!(">= {m}"));
    }
    if let Some(m) = max {
        parts.push(format!("<= {m}"));
    }
    if parts.is_empty() {
        "any number".to_owned()
    } else {
        parts.join(" and ")
    }
}
