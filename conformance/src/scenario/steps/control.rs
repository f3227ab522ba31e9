//! Steps that act on a running background process or only check: `browser`, `kill`,
//! `await_pause`, `await_log`, `release`, `check`.

use serde::Deserialize;

use super::{Cue, RunStep, StepKind, has_pause};
use crate::profile::Profile;
use crate::scenario::expectations::Expect;
use crate::scenario::values::default_home;

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

impl StepKind for BrowserStep {
    fn kind(&self) -> &'static str {
        "browser"
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
    fn needs(&self, profile: &Profile, need: &mut dyn FnMut(bool, String)) {
        let prompt = match self.flow {
            BrowserFlow::Authorize => &profile.prompts.authorize_url,
            BrowserFlow::Device => &profile.prompts.user_code,
        };
        need(
            prompt.is_some(),
            format!("prompt regex for the {:?} flow", self.flow),
        );
    }
    fn cues(&self) -> Vec<Cue<'_>> {
        vec![Cue::Prompt(self.flow)]
    }
    fn detail(&self) -> String {
        format!(" process={} decision={:?}", self.process, self.decision)
    }
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

impl StepKind for KillStep {
    fn kind(&self) -> &'static str {
        "kill"
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
        if self.at_pause.is_some() && self.on_stderr.is_some() {
            return Err("give `at_pause` or `on_stderr`, not both".to_owned());
        }
        Ok(())
    }
    fn needs(&self, profile: &Profile, need: &mut dyn FnMut(bool, String)) {
        if let Some(point) = &self.at_pause {
            need(has_pause(profile, point), format!("pause point `{point}`"));
        }
    }
    fn cues(&self) -> Vec<Cue<'_>> {
        match (&self.at_pause, &self.on_stderr) {
            (Some(point), _) => vec![Cue::Pause(point)],
            (None, Some(text)) => vec![Cue::Stderr(text)],
            (None, None) => Vec::new(),
        }
    }
    fn detail(&self) -> String {
        format!(" process={}", self.process)
    }
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

impl StepKind for AwaitPauseStep {
    fn kind(&self) -> &'static str {
        "await_pause"
    }
    fn expect(&self) -> Option<&Expect> {
        None
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
    fn needs(&self, profile: &Profile, need: &mut dyn FnMut(bool, String)) {
        need(
            has_pause(profile, &self.point),
            format!("pause point `{}`", self.point),
        );
    }
    fn cues(&self) -> Vec<Cue<'_>> {
        vec![Cue::Pause(&self.point)]
    }
    fn detail(&self) -> String {
        format!(" process={} point={}", self.process, self.point)
    }
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

impl StepKind for AwaitLogStep {
    fn kind(&self) -> &'static str {
        "await_log"
    }
    fn expect(&self) -> Option<&Expect> {
        None
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
    fn needs(&self, profile: &Profile, need: &mut dyn FnMut(bool, String)) {
        need(
            profile
                .debug_log
                .as_ref()
                .is_some_and(|d| d.words.contains_key(&self.word)),
            format!("debug-log word `{}`", self.word),
        );
    }
    fn cues(&self) -> Vec<Cue<'_>> {
        vec![Cue::LogWord(&self.word)]
    }
    fn detail(&self) -> String {
        format!(" process={} word={}", self.process, self.word)
    }
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

impl StepKind for ReleaseStep {
    fn kind(&self) -> &'static str {
        "release"
    }
    fn expect(&self) -> Option<&Expect> {
        None
    }
    fn action(&self) -> Option<&RunStep> {
        None
    }
    fn process(&self) -> Option<&str> {
        self.process.as_deref()
    }
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
    fn needs(&self, profile: &Profile, need: &mut dyn FnMut(bool, String)) {
        need(
            has_pause(profile, &self.point),
            format!("pause point `{}`", self.point),
        );
    }
    fn cues(&self) -> Vec<Cue<'_>> {
        vec![Cue::Pause(&self.point)]
    }
    fn detail(&self) -> String {
        format!(" point={}", self.point)
    }
}

/// Only expectations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckStep {
    /// What must hold now.
    pub expect: Expect,
}

impl StepKind for CheckStep {
    fn kind(&self) -> &'static str {
        "check"
    }
    fn expect(&self) -> Option<&Expect> {
        Some(&self.expect)
    }
    fn action(&self) -> Option<&RunStep> {
        None
    }
    fn process(&self) -> Option<&str> {
        None
    }
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
    fn needs(&self, _profile: &Profile, _need: &mut dyn FnMut(bool, String)) {}
    fn cues(&self) -> Vec<Cue<'_>> {
        Vec::new()
    }
    fn detail(&self) -> String {
        String::new()
    }
}

/// Waits a fixed real time. Only for giving a broken client the time to show its fault (a
/// logout that should block on the lock, say): a correct client must pass however long or
/// short the wait really was, so the wait never decides a verdict on a slow machine.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SleepStep {
    /// Milliseconds to wait.
    pub ms: u64,
}

/// The longest `sleep` a scenario may ask for: longer waits belong to the mock's clock.
const MAX_SLEEP_MS: u64 = 5_000;

impl StepKind for SleepStep {
    fn kind(&self) -> &'static str {
        "sleep"
    }
    fn expect(&self) -> Option<&Expect> {
        None
    }
    fn action(&self) -> Option<&RunStep> {
        None
    }
    fn process(&self) -> Option<&str> {
        None
    }
    fn validate(&self) -> Result<(), String> {
        if self.ms == 0 || self.ms > MAX_SLEEP_MS {
            return Err(format!(
                "sleep `ms` must be 1..={MAX_SLEEP_MS}; drive longer waits with the mock's clock (admin op advance_clock)"
            ));
        }
        Ok(())
    }
    fn needs(&self, _profile: &Profile, _need: &mut dyn FnMut(bool, String)) {}
    fn cues(&self) -> Vec<Cue<'_>> {
        Vec::new()
    }
    fn detail(&self) -> String {
        format!(" ms={}", self.ms)
    }
}
