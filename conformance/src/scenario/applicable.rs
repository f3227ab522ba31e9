//! Whether a scenario can run against a profile: everything its steps and expectations use
//! (actions, options, pause points, log words, JSON fields, paths) the profile must offer.

use std::path::Path;

use super::{Scenario, ScenarioError};
use crate::profile::{Profile, path_name};

impl Profile {
    /// What the scenario needs that this profile does not offer; empty = applicable.
    pub fn missing_for(&self, scenario: &Scenario) -> Vec<String> {
        let mut missing = Vec::new();
        let mut need = |ok: bool, what: String| {
            if !ok && !missing.contains(&what) {
                missing.push(what);
            }
        };
        if let Some(client) = &scenario.client {
            need(
                *client == self.name,
                format!("client `{client}` (the scenario is written for it)"),
            );
        }
        for cap in &scenario.requires {
            need(
                self.capabilities.contains(cap),
                format!("capability `{cap}`"),
            );
        }
        for step in &scenario.steps {
            step.as_kind().needs(self, &mut need);
            if let Some(expect) = step.expect() {
                if let Some(cat) = &expect.category {
                    need(
                        cat == "success" || self.categories.contains_key(cat),
                        format!("category `{cat}`"),
                    );
                }
                for field in expect.json.keys().chain(expect.json_regex.keys()) {
                    need(
                        field.starts_with('/') || self.json.fields.contains_key(field),
                        format!("JSON field `{field}`"),
                    );
                }
                for log in &expect.log {
                    need(
                        self.debug_log
                            .as_ref()
                            .is_some_and(|d| d.words.contains_key(&log.word)),
                        format!("debug-log word `{}`", log.word),
                    );
                }
                for f in &expect.files {
                    if let Some(name) = path_name(&f.path) {
                        need(self.paths.contains_key(name), format!("path `{name}`"));
                    }
                }
            }
        }
        missing
    }
}

/// Loads a scenario and returns the missing capabilities for this profile.
pub fn applicability(
    profile: &Profile,
    path: &Path,
) -> Result<(Scenario, Vec<String>), ScenarioError> {
    let scenario = Scenario::from_file(path)?;
    let missing = profile.missing_for(&scenario);
    Ok((scenario, missing))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_required_capability_the_profile_lacks_makes_the_scenario_not_applicable() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
        let s = Scenario::from_toml_str(
            "description = \"d\"\nrequires = [\"revocation\"]\n[[step]]\nkind = \"run\"\naction = \"logout\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        let cliauth = Profile::from_file(&dir.join("cliauth.toml")).unwrap();
        assert!(cliauth.missing_for(&s).is_empty());
        let skillmeat = Profile::from_file(&dir.join("skillmeat.toml")).unwrap();
        assert_eq!(skillmeat.missing_for(&s), ["capability `revocation`"]);
    }

    #[test]
    fn status_naming_the_user_is_a_capability() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let s = Scenario::from_file(
            &dir.join("../scenarios/status/portable_after_login_names_user.toml"),
        )
        .unwrap();
        let cliauth = Profile::from_file(&dir.join("profiles/cliauth.toml")).unwrap();
        assert!(cliauth.missing_for(&s).is_empty());
        let mut silent = cliauth.clone();
        silent.capabilities.retain(|c| c != "status_names_user");
        assert_eq!(silent.missing_for(&s), ["capability `status_names_user`"]);
    }

    #[test]
    fn missing_action_makes_scenario_not_applicable() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/cliauth.toml");
        let p = Profile::from_file(&path).unwrap();
        let s = Scenario::from_toml_str(
            "description = \"d\"\n[[step]]\nkind = \"run\"\naction = \"teleport\"\n",
            Path::new("x.toml"),
        )
        .unwrap();
        assert_eq!(p.missing_for(&s), vec!["action `teleport`".to_owned()]);
    }
}
