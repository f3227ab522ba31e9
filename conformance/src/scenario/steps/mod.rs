//! The step kinds, one file per family: each one's table (`kind = "..."` in a `[[step]]`) and its [`StepKind`]
//! answers (expectations, the background processes it names, its checks, what it needs of a
//! profile, how a report names it). The runner's step loop (`run/mod.rs`) runs them.
//!
//! `admin` and `fs` steps keep the file shape every scenario already uses (`op = "..."` beside
//! the op's own fields) and are converted while parsing (`try_from` a raw table) into a per-op
//! enum, so the runner never reads an optional that its op must have.

mod admin;
mod control;
mod fs;
mod run;

pub use admin::{AdminAction, AdminStep};
pub use control::{
    AwaitLogStep, AwaitPauseStep, BrowserFlow, BrowserStep, CheckStep, Decision, KillStep,
    ReleaseStep, SleepStep,
};
pub use fs::{FsAction, FsStep};
pub use run::{ParallelStep, RunStep, WaitStep};

use super::expectations::Expect;
use crate::profile::Profile;

/// What the crate needs to know of a step kind besides running it. Every method is required,
/// so a new kind states each answer instead of inheriting a silent default.
pub trait StepKind {
    /// The `kind` word of the step, for reports.
    fn kind(&self) -> &'static str;
    /// The expectations the step checks, if it has any.
    fn expect(&self) -> Option<&Expect>;
    /// The client action the step runs (`run` and `parallel`).
    fn action(&self) -> Option<&RunStep>;
    /// The background process the step names (and that an earlier step must have started).
    fn process(&self) -> Option<&str>;
    /// Checks the fields against each other; the text says what is wrong.
    fn validate(&self) -> Result<(), String>;
    /// Calls `need(available, what)` for everything of the profile the step uses.
    fn needs(&self, profile: &Profile, need: &mut dyn FnMut(bool, String));
    /// What the step waits to see a background process print (compiled once, before the
    /// run, by the runner's plan).
    fn cues(&self) -> Vec<Cue<'_>>;
    /// The fields that identify the step in a report (` action=status`).
    fn detail(&self) -> String;
}

/// Something a step waits to see a background process print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue<'a> {
    /// The profile's pause line of this point (a `release` step also writes its release file).
    Pause(&'a str),
    /// This text on stderr.
    Stderr(&'a str),
    /// This abstract debug-log word (profile `[debug_log.words]`) as a whole word.
    LogWord(&'a str),
    /// The profile's prompt of this login flow (the authorize URL or the user code).
    Prompt(BrowserFlow),
}

/// Whether the profile offers pause point `point`.
pub(super) fn has_pause(profile: &Profile, point: &str) -> bool {
    profile
        .pause
        .as_ref()
        .is_some_and(|p| p.points.iter().any(|q| q == point))
}
