//! The scenario file format: one TOML file per scenario, `scenarios/<group>/<name>.toml`.
//!
//! Every table denies unknown fields, and step kinds are an internally tagged enum
//! (`kind = "run"`), so a typo is an error naming the file, the line and the field. The format
//! is documented for scenario writers in `conformance/README.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One scenario: a mock server configuration and the steps that drive a client against it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// One sentence saying what behaviour the scenario checks.
    pub description: String,
    /// The mock server's configuration: the schema of `cliauth-mock --config`.
    #[serde(default)]
    pub server: cliauth_mock::Config,
    /// A decoy "hosted" server that the caller's shell variables point at; its journal must
    /// stay empty (proves the runner's environment is hermetic).
    #[serde(default)]
    pub decoy: Option<Decoy>,
    /// Further strings that must never appear in any captured output (passwords, PATs).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Upper bound for the whole scenario in seconds (a safety net, not a wait).
    #[serde(default = "default_timeout")]
    pub timeout: u64,
    /// Capabilities beyond the standards that the scenario needs (a profile's
    /// `capabilities`); without them it is not applicable.
    #[serde(default)]
    pub requires: Vec<String>,
    /// The steps, run in order.
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
}

fn default_timeout() -> u64 {
    30
}

/// The decoy server of a hermeticity scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decoy {
    /// Variables set in the simulated caller's shell before the runner cleans the environment;
    /// `{decoy_url}` is replaced by the decoy's base URL.
    pub caller_env: BTreeMap<String, String>,
}

/// One step of a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Step {
    /// Run one client action as an OS process (optionally in the background or repeated).
    Run(RunStep),
    /// Start `count` copies of one client action at once as separate OS processes.
    Parallel(RunStep),
    /// Wait for a background process (or group) to exit and check it.
    Wait(WaitStep),
    /// Call the mock's admin API.
    Admin(AdminStep),
    /// Act as the user's browser on the URL or code a background login printed.
    Browser(BrowserStep),
    /// SIGKILL a background process, optionally once it printed a line.
    Kill(KillStep),
    /// Wait until a background process reached a pause point (it stays paused).
    AwaitPause(AwaitPauseStep),
    /// Wait until every process of a background group logged a debug-log word.
    AwaitLog(AwaitLogStep),
    /// Let a process paused at a pause point go on.
    Release(ReleaseStep),
    /// Change the client's files: chmod, corrupt, delete.
    Fs(FsStep),
    /// Only check expectations (journal, files) without running anything.
    Check(CheckStep),
}

impl Step {
    /// The `kind` word of the step, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Run(_) => "run",
            Step::Parallel(_) => "parallel",
            Step::Wait(_) => "wait",
            Step::Admin(_) => "admin",
            Step::Browser(_) => "browser",
            Step::Kill(_) => "kill",
            Step::AwaitPause(_) => "await_pause",
            Step::AwaitLog(_) => "await_log",
            Step::Release(_) => "release",
            Step::Fs(_) => "fs",
            Step::Check(_) => "check",
        }
    }

    /// The expectations of the step, if it has any.
    pub fn expect(&self) -> Option<&Expect> {
        match self {
            Step::Run(s) | Step::Parallel(s) => Some(&s.expect),
            Step::Wait(s) => Some(&s.expect),
            Step::Admin(s) => Some(&s.expect),
            Step::Browser(s) => Some(&s.expect),
            Step::Kill(s) => Some(&s.expect),
            Step::Check(s) => Some(&s.expect),
            Step::AwaitPause(_) | Step::AwaitLog(_) | Step::Release(_) | Step::Fs(_) => None,
        }
    }
}

/// A client action run as one or more OS processes (`run` and `parallel` steps).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunStep {
    /// The abstract action (`login_web`, `status`, ...) the profile maps to a command line.
    pub action: String,
    /// Which client home (state folder) to use; each name is its own temp folder.
    #[serde(default = "default_home")]
    pub home: String,
    /// Values for the profile's command templates (`{username}`, `{password}`, `{token}`).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Abstract options (`force`, `timeout`, `port`, `all`, `no_browser`) with their value
    /// (empty for a switch); the profile maps each to arguments.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Abstract environment settings (`token`, `lock_timeout_ms`, ...) the profile maps to
    /// variable names.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Text written to standard input (templates allowed); stdin is empty otherwise.
    #[serde(default)]
    pub stdin: Option<String>,
    /// Ask for the action's machine-readable (JSON) output.
    #[serde(default)]
    pub json: bool,
    /// Turn on the client's debug log (stderr) so `expect.log` can count its words.
    #[serde(default)]
    pub debug_log: bool,
    /// Pause point the process stops at (profile `[pause]`), for kill and race scenarios.
    #[serde(default)]
    pub pause: Option<String>,
    /// Keep the process running in the background under this name (`wait`, `kill`, `browser`).
    #[serde(default)]
    pub background: Option<String>,
    /// `run` only: run the action this many times one after the other (default 1).
    #[serde(default)]
    pub repeat: Option<u32>,
    /// `parallel` only: how many processes start at once.
    #[serde(default)]
    pub count: Option<u32>,
    /// Store the trimmed stdout of the (last) process as template variable `{NAME}`.
    #[serde(default)]
    pub capture: Option<String>,
    /// What must hold once the process(es) exited (for background ones: in the `wait` step).
    #[serde(default)]
    pub expect: Expect,
}

fn default_home() -> String {
    "main".to_owned()
}

/// Wait for a background process or group and check it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    /// The `background` name given when it started.
    pub process: String,
    /// What must hold once it exited.
    #[serde(default)]
    pub expect: Expect,
}

/// An admin call on the mock.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminStep {
    /// The operation.
    pub op: AdminOp,
    /// `advance_clock`: seconds to move the server's clock forward.
    #[serde(default)]
    pub seconds: Option<u64>,
    /// `approve_device` / `deny_device`: the user code (default: the most recent one).
    #[serde(default)]
    pub user_code: Option<String>,
    /// `add_rule`: the fault rule (schema of `[[server.rules]]`).
    #[serde(default)]
    pub rule: Option<cliauth_mock::Rule>,
    /// `release_hold`: the rule name.
    #[serde(default)]
    pub name: Option<String>,
    /// `revoke_all`: the user.
    #[serde(default)]
    pub username: Option<String>,
    /// What must hold afterwards (journal, files).
    #[serde(default)]
    pub expect: Expect,
}

/// Admin operations on the mock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminOp {
    /// Move the server clock forward by `seconds`.
    AdvanceClock,
    /// Approve a device code.
    ApproveDevice,
    /// Deny a device code.
    DenyDevice,
    /// Add a fault rule.
    AddRule,
    /// Remove every fault rule.
    ClearRules,
    /// Release the requests held by a `hold` rule.
    ReleaseHold,
    /// Revoke every token of a user.
    RevokeAll,
    /// Make every access token issued so far expired.
    ExpireAccessTokens,
}

/// The user's browser (or second device) acting on what a background login printed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserStep {
    /// The background login process.
    pub process: String,
    /// `browser` login: follow the authorize URL; `device`: enter the printed user code.
    #[serde(default)]
    pub flow: BrowserFlow,
    /// What the user does.
    #[serde(default)]
    pub decision: Decision,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: Expect,
}

/// Which login leg the browser step plays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BrowserFlow {
    /// Authorization code: open the authorize URL, then deliver the redirect to the client.
    #[default]
    Authorize,
    /// Device grant: read the user code and approve or deny it at the server.
    Device,
}

/// What the simulated user does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Follow the server's answer (approve, or whatever `[server.consent]` scripts).
    #[default]
    Approve,
    /// Deny (device flow only; for the browser flow script `[server.consent] action = "deny"`).
    Deny,
    /// Deliver the redirect with a changed `state` (a CSRF attempt).
    TamperState,
}

/// SIGKILL a background process.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KillStep {
    /// The background name (for a group: every process of it).
    pub process: String,
    /// Kill once the process reached this pause point (profile `[pause] line`).
    #[serde(default)]
    pub at_pause: Option<String>,
    /// Kill once stderr contains this text.
    #[serde(default)]
    pub on_stderr: Option<String>,
    /// What must hold afterwards.
    #[serde(default)]
    pub expect: Expect,
}

/// Wait until a background process printed its pause line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwaitPauseStep {
    /// The background process.
    pub process: String,
    /// The pause point it was started with.
    pub point: String,
}

/// Wait until every process of a background group logged a word (needs `debug_log = true`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwaitLogStep {
    /// The background group.
    pub process: String,
    /// The abstract debug-log word (profile `[debug_log.words]`).
    pub word: String,
}

/// Let processes paused at a point go on (profile `[pause] release_file`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseStep {
    /// The pause point.
    pub point: String,
    /// The home the paused process uses.
    #[serde(default = "default_home")]
    pub home: String,
    /// Before releasing, wait until this background process reached the point.
    #[serde(default)]
    pub process: Option<String>,
}

/// A change to the client's files.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsStep {
    /// The operation.
    pub op: FsOp,
    /// The path: relative to the home, or a profile path name in braces (`{store}`); `*`
    /// matches within the last component and must match exactly one file.
    pub path: String,
    /// Which home.
    #[serde(default = "default_home")]
    pub home: String,
    /// `chmod`: octal mode such as `"0644"`.
    #[serde(default)]
    pub mode: Option<String>,
    /// `flip_byte`: byte offset (negative counts from the end; default: the middle).
    #[serde(default)]
    pub offset: Option<i64>,
    /// `write`: new content.
    #[serde(default)]
    pub content: Option<String>,
}

/// File operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsOp {
    /// Change the permission bits.
    Chmod,
    /// Invert every bit of one byte (a tampered file).
    FlipByte,
    /// Cut the file to half its length (a corrupted file).
    Truncate,
    /// Replace the content.
    Write,
    /// Remove a file or a whole folder.
    Delete,
    /// Replace a file by an empty folder (mode 0700) of the same name: a path that exists
    /// but cannot be read as a file.
    ReplaceWithFolder,
}

/// Only expectations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckStep {
    /// What must hold now.
    pub expect: Expect,
}

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
    pub stdout_regex: Vec<String>,
    /// Texts stderr must contain (case-sensitive).
    #[serde(default)]
    pub stderr_contains: Vec<String>,
    /// Texts stderr must not contain.
    #[serde(default)]
    pub stderr_not_contains: Vec<String>,
    /// Regexes stderr must match.
    #[serde(default)]
    pub stderr_regex: Vec<String>,
    /// Stdout parsed as JSON: field (profile name, or a JSON pointer starting with `/`) →
    /// expected value.
    #[serde(default)]
    pub json: BTreeMap<String, toml::Value>,
    /// Stdout parsed as JSON: field → regex the value's text must match (strings unquoted).
    #[serde(default)]
    pub json_regex: BTreeMap<String, String>,
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
    pub mode: Option<String>,
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

/// A scenario file that could not be read or understood.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("read scenario {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax, unknown field or invalid value.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// Well-formed but inconsistent.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn from_file(path: &Path) -> Result<Self, ScenarioError> {
        let src = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&src, path)
    }

    /// Parses and validates scenario text; `path` is only used in errors.
    pub fn from_toml_str(src: &str, path: &Path) -> Result<Self, ScenarioError> {
        let scenario: Self = toml::from_str(src).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |span| line_column(src, span.start));
            ScenarioError::Parse {
                path: path.to_path_buf(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        scenario
            .validate()
            .map_err(|message| ScenarioError::Invalid {
                path: path.to_path_buf(),
                message,
            })?;
        Ok(scenario)
    }

    /// Every abstract action the scenario runs.
    pub fn actions(&self) -> impl Iterator<Item = &RunStep> {
        self.steps.iter().filter_map(|s| match s {
            Step::Run(r) | Step::Parallel(r) => Some(r),
            _ => None,
        })
    }

    fn validate(&self) -> Result<(), String> {
        let mut background: Vec<&str> = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            match step {
                Step::Run(r) => {
                    if r.count.is_some() {
                        return Err(format!(
                            "step {n}: `count` belongs to `parallel` steps; use `repeat`"
                        ));
                    }
                    if r.repeat.is_some_and(|k| k == 0) {
                        return Err(format!("step {n}: `repeat` must be at least 1"));
                    }
                    if r.background.is_some() && r.repeat.is_some() {
                        return Err(format!("step {n}: a background run cannot `repeat`"));
                    }
                }
                Step::Parallel(r) => {
                    if r.repeat.is_some() {
                        return Err(format!(
                            "step {n}: `repeat` belongs to `run` steps; use `count`"
                        ));
                    }
                    if r.count.is_none_or(|c| c < 2) {
                        return Err(format!("step {n}: a `parallel` step needs `count` >= 2"));
                    }
                    if r.stdin.is_some() {
                        return Err(format!("step {n}: a `parallel` step cannot write stdin"));
                    }
                }
                Step::Admin(a) => {
                    let needs = match a.op {
                        AdminOp::AdvanceClock => a.seconds.is_none().then_some("seconds"),
                        AdminOp::AddRule => a.rule.is_none().then_some("rule"),
                        AdminOp::ReleaseHold => a.name.is_none().then_some("name"),
                        AdminOp::RevokeAll => a.username.is_none().then_some("username"),
                        _ => None,
                    };
                    if let Some(field) = needs {
                        return Err(format!("step {n}: admin op {:?} needs `{field}`", a.op));
                    }
                }
                Step::Fs(f) => {
                    let needs = match f.op {
                        FsOp::Chmod => f.mode.is_none().then_some("mode"),
                        FsOp::Write => f.content.is_none().then_some("content"),
                        _ => None,
                    };
                    if let Some(field) = needs {
                        return Err(format!("step {n}: fs op {:?} needs `{field}`", f.op));
                    }
                    if let Some(mode) = &f.mode {
                        parse_mode(mode).map_err(|e| format!("step {n}: {e}"))?;
                    }
                }
                Step::Kill(k) => {
                    if k.at_pause.is_some() && k.on_stderr.is_some() {
                        return Err(format!(
                            "step {n}: give `at_pause` or `on_stderr`, not both"
                        ));
                    }
                }
                Step::Wait(_)
                | Step::Browser(_)
                | Step::AwaitPause(_)
                | Step::AwaitLog(_)
                | Step::Release(_)
                | Step::Check(_) => {}
            }
            for name in referenced_process(step) {
                if !background.contains(&name) {
                    return Err(format!(
                        "step {n}: no earlier step started background process {name:?}"
                    ));
                }
            }
            if let Step::Run(r) | Step::Parallel(r) = step
                && let Some(name) = &r.background
            {
                if !r.expect.journal.is_empty() || !r.expect.files.is_empty() {
                    return Err(format!(
                        "step {n}: put the expectations of background process {name:?} on its `wait` step"
                    ));
                }
                background.push(name);
            }
            if let Some(expect) = step.expect() {
                validate_expect(expect).map_err(|e| format!("step {n}: {e}"))?;
            }
        }
        Ok(())
    }
}

fn referenced_process(step: &Step) -> Vec<&str> {
    match step {
        Step::Wait(w) => vec![w.process.as_str()],
        Step::Browser(b) => vec![b.process.as_str()],
        Step::Kill(k) => vec![k.process.as_str()],
        Step::AwaitPause(a) => vec![a.process.as_str()],
        Step::AwaitLog(a) => vec![a.process.as_str()],
        Step::Release(r) => r.process.as_deref().into_iter().collect(),
        _ => Vec::new(),
    }
}

fn validate_expect(expect: &Expect) -> Result<(), String> {
    for re in expect
        .stdout_regex
        .iter()
        .chain(&expect.stderr_regex)
        .chain(expect.json_regex.values())
    {
        regex::Regex::new(re).map_err(|e| format!("invalid regex {re:?}: {e}"))?;
    }
    for f in &expect.files {
        if let Some(mode) = &f.mode {
            parse_mode(mode)?;
        }
    }
    Ok(())
}

/// Parses an octal mode string such as `"0600"`.
pub(crate) fn parse_mode(mode: &str) -> Result<u32, String> {
    u32::from_str_radix(mode, 8)
        .ok()
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| format!("mode {mode:?} is not an octal permission such as \"0600\""))
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Scenario, ScenarioError> {
        Scenario::from_toml_str(src, Path::new("scenarios/x/y.toml"))
    }

    #[test]
    fn minimal_scenario_parses() {
        let s = parse(
            "description = \"d\"\n[[step]]\nkind = \"run\"\naction = \"status\"\n[step.expect]\ncategory = \"unauthenticated\"\n",
        )
        .unwrap();
        assert_eq!(s.steps.len(), 1);
        assert_eq!(s.timeout, 30);
    }

    #[test]
    fn unknown_step_field_names_file_line_and_field() {
        let err = parse(
            "description = \"d\"\n\n[[step]]\nkind = \"run\"\naction = \"status\"\nactoin = 1\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("scenarios/x/y.toml:"), "{err}");
        assert!(err.contains("actoin"), "{err}");
        let line: usize = err.split(':').nth(1).unwrap().parse().unwrap();
        assert!((3..=6).contains(&line), "{err}");
    }

    #[test]
    fn unknown_server_field_names_its_line() {
        let err = parse("description = \"d\"\n[server.tokens]\naccess_tll = 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("scenarios/x/y.toml:3:"), "{err}");
        assert!(err.contains("access_tll"), "{err}");
    }

    #[test]
    fn unknown_expect_field_is_rejected() {
        let err =
            parse("description = \"d\"\n[[step]]\nkind = \"check\"\n[step.expect]\nexits = 0\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("exits"), "{err}");
    }

    #[test]
    fn unknown_kind_is_rejected() {
        let err = parse("description = \"d\"\n[[step]]\nkind = \"sleep\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sleep"), "{err}");
    }

    #[test]
    fn wait_for_unknown_process_is_rejected() {
        let err = parse("description = \"d\"\n[[step]]\nkind = \"wait\"\nprocess = \"login\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("login"), "{err}");
    }

    #[test]
    fn parallel_needs_count() {
        let err =
            parse("description = \"d\"\n[[step]]\nkind = \"parallel\"\naction = \"status\"\n")
                .unwrap_err()
                .to_string();
        assert!(err.contains("count"), "{err}");
    }

    #[test]
    fn bad_mode_is_rejected() {
        let err = parse("description = \"d\"\n[[step]]\nkind = \"fs\"\nop = \"chmod\"\npath = \"x\"\nmode = \"rw\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("octal"), "{err}");
    }

    #[test]
    fn counts() {
        assert!(count_ok(1, Some(1), None, None));
        assert!(!count_ok(2, Some(1), None, None));
        assert!(count_ok(0, None, None, Some(1)));
        assert!(!count_ok(0, None, Some(1), None));
        assert_eq!(count_text(None, Some(1), Some(3)), ">= 1 and <= 3");
    }
}
