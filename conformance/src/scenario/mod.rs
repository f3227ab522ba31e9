//! The scenario file format: one TOML file per scenario, `scenarios/<group>/<name>.toml`.
//!
//! Every table denies unknown fields, and step kinds are an internally tagged enum
//! (`kind = "run"`), so a typo is an error naming the file, the line and the field. The format
//! is documented for scenario writers in `conformance/README.md`.
//!
//! A step kind is one variant of [`Step`] and one struct implementing [`StepKind`] in
//! `steps/`; the runner runs it in one arm of its step loop (`run/mod.rs`).

mod applicable;
mod expectations;
mod steps;
#[cfg(test)]
mod tests;
mod values;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

pub use applicable::applicability;
pub use expectations::{Bearer, Expect, FileCheck, JournalCount, LogCount, Pattern, Scope};
pub(crate) use expectations::{count_ok, count_text};
pub use steps::{
    AdminAction, AdminStep, AwaitLogStep, AwaitPauseStep, BrowserFlow, BrowserStep, CheckStep, Cue,
    Decision, FsAction, FsStep, KillStep, ParallelStep, ReleaseStep, RunStep, SleepStep, StepKind,
    WaitStep,
};
pub use values::Mode;

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
    /// The client the scenario is written for (a profile name in `conformance/profiles/`,
    /// e.g. `pinned-https`): a run of the default profile uses that profile for it, and under
    /// any other profile it is not applicable.
    #[serde(default)]
    pub client: Option<String>,
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
    Parallel(ParallelStep),
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
    /// Wait a fixed real time (never decides a verdict; see [`SleepStep`]).
    Sleep(SleepStep),
}

impl Step {
    /// The step's answers to [`StepKind`]: the one place that lists every kind.
    pub fn as_kind(&self) -> &dyn StepKind {
        match self {
            Step::Run(s) => s,
            Step::Parallel(s) => s,
            Step::Wait(s) => s,
            Step::Admin(s) => s,
            Step::Browser(s) => s,
            Step::Kill(s) => s,
            Step::AwaitPause(s) => s,
            Step::AwaitLog(s) => s,
            Step::Release(s) => s,
            Step::Fs(s) => s,
            Step::Check(s) => s,
            Step::Sleep(s) => s,
        }
    }

    /// The `kind` word of the step, for reports.
    pub fn kind(&self) -> &'static str {
        self.as_kind().kind()
    }

    /// The expectations of the step, if it has any.
    pub fn expect(&self) -> Option<&Expect> {
        self.as_kind().expect()
    }

    /// The client action of a `run` or `parallel` step.
    pub fn run(&self) -> Option<&RunStep> {
        self.as_kind().action()
    }
}

/// A scenario file that could not be read or understood: the workspace's one error for a TOML
/// file (`file:line:col: what is wrong`), shared with profiles and the mock's config.
pub type ScenarioError = cliauth_tomlfile::TomlFileError;

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn from_file(path: &Path) -> Result<Self, ScenarioError> {
        let src = cliauth_tomlfile::read_text(path, "scenario")?;
        Self::from_toml_str(&src, path)
    }

    /// Parses and validates scenario text; `path` is only used in errors.
    pub fn from_toml_str(src: &str, path: &Path) -> Result<Self, ScenarioError> {
        let origin = path.display().to_string();
        let scenario: Self = cliauth_tomlfile::parse(src, &origin)?;
        scenario
            .validate()
            .map_err(|message| ScenarioError::invalid(origin, message))?;
        Ok(scenario)
    }

    /// Every abstract action the scenario runs.
    pub fn actions(&self) -> impl Iterator<Item = &RunStep> {
        self.steps.iter().filter_map(Step::run)
    }

    fn validate(&self) -> Result<(), String> {
        let mut background: Vec<&str> = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let n = i + 1;
            let kind = step.as_kind();
            kind.validate().map_err(|e| format!("step {n}: {e}"))?;
            if let Some(name) = kind.process()
                && !background.contains(&name)
            {
                return Err(format!(
                    "step {n}: no earlier step started background process {name:?}"
                ));
            }
            if let Some(name) = step.run().and_then(|r| r.background.as_deref()) {
                background.push(name);
            }
        }
        Ok(())
    }
}
