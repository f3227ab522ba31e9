//! After the last step: the invariants, the secrets that must not be printed, and the
//! failure report (every secret masked).

use cliauth_mock::JournalEntry;

use super::{Run, StepResult, plan};
use crate::invariants;
use crate::outcome::{Miss, Output, indent_by};
use crate::profile::render;
use crate::scenario::Scenario;

impl Run<'_> {
    /// Checks every invariant and reports all that failed, not only the first.
    pub(super) fn invariants(&mut self, leftovers: &[String]) -> StepResult {
        let mut misses = Vec::new();
        if !leftovers.is_empty() {
            misses.push(Miss::new(
                "invariant: every background process was waited for or killed by the scenario",
                leftovers.join(", "),
            ));
        }
        let strays = invariants::stray_processes(&self.pgids);
        if !strays.is_empty() {
            invariants::kill_strays(&strays);
            misses.push(Miss::new(
                "invariant: no process is left running",
                format!("still running: {strays:?}"),
            ));
        }
        let secrets = self.secrets();
        misses.extend(invariants::no_leaks(&self.finished, &secrets).err());
        // Issued secrets only: a token the scenario hands over through a flag of the profile's
        // command is the profile's declared way in (it shows in the report's argv, masked).
        for line in self.argv.holding(&self.server.issued_secrets()) {
            misses.push(Miss::new(
                "invariant: no secret the mock issued is in the command line of a client's \
                 process or of one it started (every local user can read it in ps)",
                line,
            ));
        }
        let profile = self.profile();
        for home in self.homes.values() {
            if let Some(dir) = profile.paths.get("credentials_dir") {
                misses.extend(invariants::credential_modes(&home.join(dir)).err());
            }
        }
        // Every home and the clients' HOME/XDG folders; every secret, the PATs and passwords
        // the scenario hands over included (a PAT written to a config file is the classic).
        misses.extend(invariants::secret_files_private(self.root.path(), &secrets));
        if let Some(decoy) = &self.decoy {
            let journal = decoy.journal();
            if !journal.is_empty() {
                misses.push(Miss::new(
                    "invariant: the decoy server the caller's variables point at is never contacted",
                    format!("{} request(s): {}", journal.len(), journal_text(&journal)),
                ));
            }
        }
        match misses.len() {
            0 => Ok(()),
            1 => Err((None, misses.remove(0))),
            n => Err((
                None,
                Miss::new(
                    format!("{n} invariants hold (each failed one follows, numbered)"),
                    misses
                        .iter()
                        .enumerate()
                        .map(|(i, m)| format!("({}) {}: {}", i + 1, m.expectation, m.observed))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            )),
        }
    }

    /// Every secret that must not appear in output.
    pub(super) fn secrets(&self) -> Vec<String> {
        let mut secrets = self.server.issued_secrets();
        if let Some(decoy) = &self.decoy {
            secrets.extend(decoy.issued_secrets());
        }
        secrets.extend(self.plan.secrets.iter().cloned());
        for template in &self.plan.secret_templates {
            // A template that does not render never reached a client (its step failed
            // first); the raw text is scanned instead.
            match render(template, &self.vars) {
                Ok(rendered) => secrets.push(rendered),
                Err(_unrendered) => secrets.push(template.clone()),
            }
        }
        // A user code is shown to the user by design (RFC 8628 §3.3).
        secrets.retain(|s| s.len() >= 6 && !self.user_codes.contains(s));
        secrets.sort();
        secrets.dedup();
        secrets
    }

    pub(super) fn report(&self, step: Option<usize>, miss: &Miss) -> String {
        let secrets = self.secrets();
        let mask = |text: &str| invariants::mask(text, &secrets);
        let mut lines = Vec::new();
        if miss.timed_out {
            lines.push(format!(
                "TIMEOUT (not a finding): the scenario's time budget of {} s (its `timeout` x the \
                 profile's `timeout_factor`) x {} for the machine's load (load average {:.1} on \
                 {} cores at the start) ran out before this could be decided; the machine or the \
                 client was too slow. Rerun on a quieter machine or raise `timeout_factor`.",
                self.plan.timeout_secs,
                self.load.factor(),
                self.load.average,
                self.load.cores
            ));
        }
        lines.push(step_line(self.scenario, step));
        lines.push(format!("  expected: {}", mask(&miss.expectation)));
        lines.push(format!("  observed: {}", mask(&miss.observed)));
        // Every process of every step, in the order they ended: an earlier step's output often
        // explains a later failure. The failing step's own processes are marked.
        lines.push(
            "client output (every process of the scenario, in the order it ended; * = this step):"
                .to_owned(),
        );
        for o in &self.finished {
            let exit = o
                .exit
                .map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string());
            let marker = if self.current.iter().any(|c| same_output(c, o)) {
                "*"
            } else {
                " "
            };
            lines.push(format!(" {marker}[{}] exit {exit}", o.label));
            lines.push(format!("    stdout:\n{}", indent_by(&mask(&o.stdout), 6)));
            lines.push(format!("    stderr:\n{}", indent_by(&mask(&o.stderr), 6)));
        }
        let journal = self.server.journal();
        lines.push(format!(
            "mock journal ({} entries):\n{}",
            journal.len(),
            mask(&journal_text(&journal))
        ));
        lines.push(String::new());
        lines.join("\n")
    }
}

/// The report of a scenario that cannot run with the profile (found while planning, before
/// any client ran).
pub(super) fn unplannable(scenario: &Scenario, step: Option<usize>, miss: &Miss) -> String {
    let secrets = plan::fixed_secrets(scenario);
    let mask = |text: &str| invariants::mask(text, &secrets);
    format!(
        "{}\n  expected: {}\n  observed: {}\n(found while planning the scenario, before any client ran)\n",
        step_line(scenario, step),
        mask(&miss.expectation),
        mask(&miss.observed)
    )
}

/// `step 3 (kind = "kill" process=login)`, or `after the last step`.
fn step_line(scenario: &Scenario, step: Option<usize>) -> String {
    match step.and_then(|i| scenario.steps.get(i).map(|s| (i, s))) {
        Some((i, s)) => {
            let detail = s.as_kind().detail();
            format!("step {} (kind = \"{}\"{detail})", i + 1, s.kind())
        }
        None => "after the last step".to_owned(),
    }
}

/// Whether two recorded outputs are the same process's (outputs are cloned, not shared).
fn same_output(a: &Output, b: &Output) -> bool {
    a.label == b.label && a.exit == b.exit && a.stdout == b.stdout && a.stderr == b.stderr
}

fn journal_text(journal: &[JournalEntry]) -> String {
    journal
        .iter()
        .map(|e| {
            serde_json::to_string(e).unwrap_or_else(|err| format!("<unserializable entry: {err}>"))
        })
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}
