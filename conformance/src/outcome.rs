//! The ground floor of the runner: what a step observed and how it failed. Every other module
//! (the step loop, the expectation checks, the invariants) imports these; they import nothing
//! of the crate.

/// Why a scenario failed: the step, the expectation, what was observed and the evidence.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Human-readable report (secrets already masked).
    pub report: String,
    /// The scenario ran out of its time budget: a slow machine or client, not a finding.
    pub timed_out: bool,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.report)
    }
}

impl std::error::Error for Failure {}

/// A step's failed expectation before the evidence is attached.
#[derive(Debug)]
pub(crate) struct Miss {
    pub(crate) expectation: String,
    pub(crate) observed: String,
    /// The scenario's deadline passed before the expectation could be decided.
    pub(crate) timed_out: bool,
}

impl Miss {
    pub(crate) fn new(expectation: impl Into<String>, observed: impl Into<String>) -> Self {
        Self {
            expectation: expectation.into(),
            observed: observed.into(),
            timed_out: false,
        }
    }

    /// An expectation that the scenario's time budget ended before it could be decided: the
    /// report calls it a timeout, never a finding about the client.
    pub(crate) fn timeout(expectation: impl Into<String>, observed: impl Into<String>) -> Self {
        Self {
            timed_out: true,
            ..Self::new(expectation, observed)
        }
    }
}

/// The output of one finished client process.
#[derive(Debug, Clone)]
pub(crate) struct Output {
    /// `action#n` label for reports.
    pub(crate) label: String,
    /// Exit code; `None` when a signal ended it.
    pub(crate) exit: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// Stdout may hold a secret by design (token action).
    pub(crate) secret_stdout: bool,
    /// The step asked for JSON output.
    pub(crate) json: bool,
    /// Milliseconds from its start to its exit.
    pub(crate) wall_ms: u64,
}

/// Indents every line by four spaces (`<empty>` for no text), for reports.
pub(crate) fn indent(text: &str) -> String {
    indent_by(text, 4)
}

pub(crate) fn indent_by(text: &str, width: usize) -> String {
    let pad = " ".repeat(width);
    if text.is_empty() {
        return format!("{pad}<empty>");
    }
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
