//! `run` and `parallel` (client actions as OS processes) and `wait` (for a background one).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Cue, StepKind, has_pause};
use crate::profile::Profile;
use crate::scenario::expectations::Expect;
use crate::scenario::values::default_home;

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

/// A `parallel` step: a [`RunStep`] whose `count` copies start at once.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct ParallelStep(pub RunStep);

impl RunStep {
    /// Checks shared by `run` and `parallel`.
    fn validate_common(&self) -> Result<(), String> {
        if let Some(name) = &self.background
            && (!self.expect.journal.is_empty() || !self.expect.files.is_empty())
        {
            return Err(format!(
                "put the expectations of background process {name:?} on its `wait` step"
            ));
        }
        Ok(())
    }

    fn needs_common(&self, profile: &Profile, need: &mut dyn FnMut(bool, String)) {
        let action = profile.actions.get(&self.action);
        need(action.is_some(), format!("action `{}`", self.action));
        if self.json {
            need(
                action.is_some_and(|a| a.json_args.is_some()),
                format!("JSON output of `{}`", self.action),
            );
        }
        for opt in self.options.keys() {
            need(profile.options.contains_key(opt), format!("option `{opt}`"));
        }
        for var in self.env.keys() {
            need(
                profile.env_names.contains_key(var),
                format!("environment setting `{var}`"),
            );
        }
        if self.debug_log {
            need(profile.debug_log.is_some(), "debug log".to_owned());
        }
        if let Some(point) = &self.pause {
            need(has_pause(profile, point), format!("pause point `{point}`"));
        }
    }
}

impl StepKind for RunStep {
    fn kind(&self) -> &'static str {
        "run"
    }
    fn expect(&self) -> Option<&Expect> {
        Some(&self.expect)
    }
    fn action(&self) -> Option<&RunStep> {
        Some(self)
    }
    fn process(&self) -> Option<&str> {
        None
    }
    fn validate(&self) -> Result<(), String> {
        if self.count.is_some() {
            return Err("`count` belongs to `parallel` steps; use `repeat`".to_owned());
        }
        if self.repeat.is_some_and(|k| k == 0) {
            return Err("`repeat` must be at least 1".to_owned());
        }
        if self.background.is_some() && self.repeat.is_some() {
            return Err("a background run cannot `repeat`".to_owned());
        }
        self.validate_common()
    }
    fn needs(&self, profile: &Profile, need: &mut dyn FnMut(bool, String)) {
        self.needs_common(profile, need);
    }
    fn cues(&self) -> Vec<Cue<'_>> {
        Vec::new()
    }
    fn detail(&self) -> String {
        format!(" action={}", self.action)
    }
}

impl StepKind for ParallelStep {
    fn kind(&self) -> &'static str {
        "parallel"
    }
    fn expect(&self) -> Option<&Expect> {
        Some(&self.0.expect)
    }
    fn action(&self) -> Option<&RunStep> {
        Some(&self.0)
    }
    fn process(&self) -> Option<&str> {
        None
    }
    fn validate(&self) -> Result<(), String> {
        let r = &self.0;
        if r.repeat.is_some() {
            return Err("`repeat` belongs to `run` steps; use `count`".to_owned());
        }
        if r.count.is_none_or(|c| c < 2) {
            return Err("a `parallel` step needs `count` >= 2".to_owned());
        }
        if r.stdin.is_some() {
            return Err("a `parallel` step cannot write stdin".to_owned());
        }
        r.validate_common()
    }
    fn needs(&self, profile: &Profile, need: &mut dyn FnMut(bool, String)) {
        self.0.needs_common(profile, need);
    }
    fn cues(&self) -> Vec<Cue<'_>> {
        self.0.cues()
    }
    fn detail(&self) -> String {
        self.0.detail()
    }
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

impl StepKind for WaitStep {
    fn kind(&self) -> &'static str {
        "wait"
    }
    fn expect(&self) -> Option<&Expect> {
        Some(&self.expect)
    }
    fn action(&self) -> Option<&RunStep> {
        None
    }
    fn process(&self) -> Option<&str> {
        Some(&self.process)
    }
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
    fn needs(&self, _profile: &Profile, _need: &mut dyn FnMut(bool, String)) {}
    fn cues(&self) -> Vec<Cue<'_>> {
        Vec::new()
    }
    fn detail(&self) -> String {
        format!(" process={}", self.process)
    }
}
