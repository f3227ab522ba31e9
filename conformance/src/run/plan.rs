//! The plan: everything about a scenario that does not depend on the run, worked out once
//! before its mock starts. The mock configuration with the profile's minimum leeway, every
//! line a step waits for (compiled), every release file, the time budget and the secrets
//! known in advance. A profile that cannot serve a step fails here, naming the step, before
//! any client runs.

use std::collections::BTreeMap;
use std::time::Duration;

use regex::Regex;

use crate::outcome::Miss;
use crate::profile::{Profile, render};
use crate::scenario::{BrowserFlow, Cue, Scenario};

/// A line a step waits for: what it is (for reports) and its compiled pattern.
#[derive(Debug)]
pub(super) struct Awaited {
    /// The text waited for, as a report names it.
    pub(super) what: String,
    /// Matches the text in a stream.
    pub(super) regex: Regex,
}

/// What the run of one scenario needs from its scenario and profile, computed before it starts.
#[derive(Debug)]
pub(super) struct Plan {
    /// The mock's configuration: the scenario's `[server]` table, with the leeway raised to
    /// the profile's minimum when access tokens expire at once.
    pub(super) server: cliauth_mock::Config,
    /// The time budget of the whole scenario: its `timeout` times the profile's factor.
    pub(super) timeout_secs: u64,
    /// Secrets known before the run: the scenario's `secrets` and every user's password.
    pub(super) secrets: Vec<String>,
    /// Step variables whose names say they hold a secret, as templates (rendered with the
    /// run's variables when output is checked).
    pub(super) secret_templates: Vec<String>,
    /// Pause point → its line and release file.
    pauses: BTreeMap<String, (Awaited, String)>,
    /// Stderr text → its pattern.
    stderr_texts: BTreeMap<String, Awaited>,
    /// Abstract debug-log word → the concrete word as a whole word.
    log_words: BTreeMap<String, Awaited>,
    /// Login flow → the pattern of its prompt (group 1: the URL or code).
    prompts: BTreeMap<&'static str, Awaited>,
}

/// A failed plan: the step (0-based) and why.
pub(super) type PlanError = (Option<usize>, Miss);

impl Plan {
    /// Plans `scenario` for `profile`.
    pub(super) fn new(profile: &Profile, scenario: &Scenario) -> Result<Plan, PlanError> {
        let mut server = scenario.server.clone();
        if server.tokens.access_ttl == 0 && server.tokens.leeway < profile.min_leeway {
            server.tokens.leeway = profile.min_leeway;
        }
        // The clients the profile declares (a CLI's fixed client); the scenario's own win.
        for client in &profile.clients {
            if !server
                .clients
                .iter()
                .any(|c| c.client_id == client.client_id)
            {
                server.clients.push(client.clone());
            }
        }
        let mut plan = Plan {
            server,
            timeout_secs: scenario.timeout.saturating_mul(profile.timeout_factor),
            secrets: fixed_secrets(scenario),
            secret_templates: secret_templates(scenario),
            pauses: BTreeMap::new(),
            stderr_texts: BTreeMap::new(),
            log_words: BTreeMap::new(),
            prompts: BTreeMap::new(),
        };
        for (i, step) in scenario.steps.iter().enumerate() {
            for cue in step.as_kind().cues() {
                plan.add(profile, cue).map_err(|miss| (Some(i), miss))?;
            }
        }
        Ok(plan)
    }

    /// The scenario's time budget.
    pub(super) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    fn add(&mut self, profile: &Profile, cue: Cue<'_>) -> Result<(), Miss> {
        match cue {
            Cue::Pause(point) => {
                if !self.pauses.contains_key(point) {
                    let planned = pause(profile, point)?;
                    self.pauses.insert(point.to_owned(), planned);
                }
            }
            Cue::Stderr(text) => {
                let regex = Regex::new(&regex::escape(text))
                    .map_err(|e| Miss::new("kill text compiles", e.to_string()))?;
                let what = format!("{text:?}");
                self.stderr_texts
                    .insert(text.to_owned(), Awaited { what, regex });
            }
            Cue::LogWord(word) => {
                let concrete = profile
                    .debug_log
                    .as_ref()
                    .ok_or_else(|| Miss::new("the profile has a debug log", "it does not"))?
                    .words
                    .get(word)
                    .ok_or_else(|| {
                        Miss::new(format!("the profile maps log word {word:?}"), "it does not")
                    })?;
                let regex = Regex::new(&format!(
                    r"(?:^|[^A-Za-z0-9_]){}(?:$|[^A-Za-z0-9_])",
                    regex::escape(concrete)
                ))
                .map_err(|e| Miss::new("log word compiles", e.to_string()))?;
                let what = format!("debug-log word {concrete:?}");
                self.log_words
                    .insert(word.to_owned(), Awaited { what, regex });
            }
            Cue::Prompt(flow) => {
                let (pattern, name, what) = match flow {
                    BrowserFlow::Authorize => (
                        &profile.prompts.authorize_url,
                        "prompts.authorize_url",
                        "an authorize URL",
                    ),
                    BrowserFlow::Device => (
                        &profile.prompts.user_code,
                        "prompts.user_code",
                        "a user code",
                    ),
                };
                let pattern = pattern
                    .as_deref()
                    .ok_or_else(|| Miss::new(format!("the profile has {name}"), "it does not"))?;
                let regex = Regex::new(pattern)
                    .map_err(|e| Miss::new(format!("{name} compiles"), e.to_string()))?;
                self.prompts.insert(
                    name,
                    Awaited {
                        what: what.to_owned(),
                        regex,
                    },
                );
            }
        }
        Ok(())
    }

    /// The pause line of `point`.
    pub(super) fn pause_line(&self, point: &str) -> Result<&Awaited, Miss> {
        self.pauses
            .get(point)
            .map(|(line, _)| line)
            .ok_or_else(|| unplanned("pause point", point))
    }

    /// The release file of `point`, relative to the home.
    pub(super) fn release_file(&self, point: &str) -> Result<&str, Miss> {
        self.pauses
            .get(point)
            .map(|(_, file)| file.as_str())
            .ok_or_else(|| unplanned("pause point", point))
    }

    /// The pattern of a stderr text.
    pub(super) fn stderr_text(&self, text: &str) -> Result<&Awaited, Miss> {
        self.stderr_texts
            .get(text)
            .ok_or_else(|| unplanned("stderr text", text))
    }

    /// The pattern of an abstract debug-log word.
    pub(super) fn log_word(&self, word: &str) -> Result<&Awaited, Miss> {
        self.log_words
            .get(word)
            .ok_or_else(|| unplanned("debug-log word", word))
    }

    /// The prompt pattern of a login flow.
    pub(super) fn prompt(&self, flow: BrowserFlow) -> Result<&Awaited, Miss> {
        let name = match flow {
            BrowserFlow::Authorize => "prompts.authorize_url",
            BrowserFlow::Device => "prompts.user_code",
        };
        self.prompts
            .get(name)
            .ok_or_else(|| unplanned("prompt", name))
    }
}

/// A step asked the run for something the plan did not prepare: a runner bug, reported as a
/// failed expectation rather than a panic.
fn unplanned(what: &str, name: &str) -> Miss {
    Miss::new(
        format!("the scenario's plan has {what} {name:?}"),
        "it was not planned (a runner bug)",
    )
}

/// The pause line and release file of `point`.
fn pause(profile: &Profile, point: &str) -> Result<(Awaited, String), Miss> {
    let pause = profile
        .pause
        .as_ref()
        .ok_or_else(|| Miss::new("the profile has pause points", "it does not"))?;
    let vars: BTreeMap<String, String> = [("point".to_owned(), point.to_owned())].into();
    let line = render(&pause.line, &vars).map_err(|e| Miss::new("pause.line renders", e))?;
    let regex = Regex::new(&regex::escape(&line))
        .map_err(|e| Miss::new("pause line compiles", e.to_string()))?;
    let file = render(&pause.release_file, &vars)
        .map_err(|e| Miss::new("pause.release_file renders", e))?;
    let what = format!("{line:?}");
    Ok((Awaited { what, regex }, file))
}

/// The secrets a scenario names or implies before anything runs: its `secrets` and the
/// passwords of its users (the mock's default users when it lists none).
pub(super) fn fixed_secrets(scenario: &Scenario) -> Vec<String> {
    let mut secrets = scenario.secrets.clone();
    secrets.extend(scenario.server.users.iter().map(|u| u.password.clone()));
    if scenario.server.users.is_empty() {
        secrets.extend(
            cliauth_mock::Config::default()
                .users
                .into_iter()
                .map(|u| u.password),
        );
    }
    secrets
}

/// The step variables and settings whose names say they hold a secret.
fn secret_templates(scenario: &Scenario) -> Vec<String> {
    scenario
        .actions()
        .flat_map(|step| step.vars.iter().chain(&step.env))
        .filter(|(k, _)| k.contains("password") || k.contains("token") || k.contains("passphrase"))
        .map(|(_, v)| v.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn profile(name: &str) -> Profile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("profiles/{name}.toml"));
        Profile::from_file(&path).unwrap()
    }

    fn scenario(src: &str) -> Scenario {
        Scenario::from_toml_str(src, Path::new("x.toml")).unwrap()
    }

    const PAUSED: &str = "description = \"d\"\n[server.tokens]\naccess_ttl = 0\n\
        [[step]]\nkind = \"run\"\naction = \"refresh\"\npause = \"before_persist\"\nbackground = \"r\"\n\
        [[step]]\nkind = \"kill\"\nprocess = \"r\"\nat_pause = \"before_persist\"\n";

    #[test]
    fn a_plan_compiles_what_steps_wait_for_and_patches_the_mock() {
        let plan = Plan::new(
            &profile("skillmeat"),
            &scenario(PAUSED.split("[[step]]\nkind = \"kill\"").next().unwrap()),
        )
        .unwrap();
        assert_eq!(plan.server.tokens.leeway, 5, "the profile's minimum leeway");
        assert_eq!(plan.timeout(), Duration::from_secs(30 * 6));
        let plan = Plan::new(&profile("cliauth"), &scenario(PAUSED)).unwrap();
        let line = plan.pause_line("before_persist").unwrap();
        assert!(
            line.regex
                .is_match("x cliauth-test-pause: before_persist\n")
        );
        assert_eq!(
            plan.release_file("before_persist").unwrap(),
            "release-before_persist"
        );
        assert!(
            plan.pause_line("after_lock_acquired").is_err(),
            "only what steps use"
        );
    }

    #[test]
    fn a_profile_that_cannot_serve_a_step_fails_the_plan_naming_the_step() {
        let (step, miss) = Plan::new(&profile("skillmeat"), &scenario(PAUSED)).unwrap_err();
        assert_eq!(step, Some(1));
        assert_eq!(miss.expectation, "the profile has pause points");
    }

    #[test]
    fn secrets_known_in_advance_are_listed() {
        let plan = Plan::new(
            &profile("cliauth"),
            &scenario(
                "description = \"d\"\nsecrets = [\"my-pat-value\"]\n[[step]]\nkind = \"run\"\n\
                 action = \"status\"\nvars = { password = \"{server_url}-pw\", user = \"bob\" }\n",
            ),
        )
        .unwrap();
        assert!(plan.secrets.contains(&"my-pat-value".to_owned()));
        assert_eq!(plan.secret_templates, ["{server_url}-pw"]);
    }
}
