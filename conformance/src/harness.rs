//! The `harness = false` test driver: one libtest-mimic trial per scenario file, then a table
//! of groups with pass/fail counts and the wall time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::profile::Profile;
use crate::reference_client::{ClientBin, build_once};
use crate::run::Suite;
use crate::scenario::applicability;

/// The variable that selects another client's profile.
pub const PROFILE_ENV: &str = "CLIAUTH_CONFORMANCE_PROFILE";

/// The variable that selects another scenarios folder (for example `conformance/pending`).
pub const SCENARIOS_ENV: &str = "CLIAUTH_CONFORMANCE_SCENARIOS";

/// Where the harness finds its inputs.
#[derive(Debug, Clone)]
pub struct HarnessConfig {
    /// The `scenarios/` folder.
    pub scenarios_dir: PathBuf,
    /// The profile used when `CLIAUTH_CONFORMANCE_PROFILE` is not set.
    pub default_profile: PathBuf,
    /// The client binary linked onto the clients' `PATH` as `cliauth`.
    pub client_bin: ClientBin,
    /// Relative paths in `CLIAUTH_CONFORMANCE_PROFILE` and `CLIAUTH_CONFORMANCE_SCENARIOS`
    /// are resolved against this folder (the workspace root).
    pub base_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed,
    NotApplicable,
    /// Failed because its time budget ran out: reported apart from failures (not a finding).
    TimedOut,
}

/// Runs the suite with libtest's command-line arguments; returns the process exit code.
pub fn main(config: &HarnessConfig) -> ExitCode {
    let started = Instant::now();
    let mut args = Arguments::from_args();
    // Scenarios mostly wait on client processes and sockets, so more trials than cores keep
    // the machine busy; `--test-threads` still wins.
    if args.test_threads.is_none() {
        args.test_threads = Some(8);
    }
    let from_env =
        |name: &str| std::env::var_os(name).map(|p| config.base_dir.join(PathBuf::from(p)));
    let profile_path = from_env(PROFILE_ENV).unwrap_or_else(|| config.default_profile.clone());
    let profile = match Profile::from_file(&profile_path) {
        Ok(profile) => profile,
        Err(e) => {
            eprintln!("conformance: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bin = match &config.client_bin {
        ClientBin::None => None,
        ClientBin::Path(bin) => Some(bin.clone()),
        // Listing the tests runs none, so it needs no client.
        ClientBin::BuildReference if args.list => None,
        ClientBin::BuildReference => match build_once(&config.base_dir) {
            Ok(bin) => Some(bin),
            Err(e) => {
                eprintln!("conformance: cannot build the reference client: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let bin_dir = match bin.as_deref().map(link_client).transpose() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("conformance: cannot put the client on PATH: {e}");
            return ExitCode::FAILURE;
        }
    };
    let scenarios_dir = from_env(SCENARIOS_ENV).unwrap_or_else(|| config.scenarios_dir.clone());
    let files = match scenario_files(&scenarios_dir) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("conformance: cannot list {}: {e}", scenarios_dir.display());
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Arc::new(rt),
        Err(e) => {
            eprintln!("conformance: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let suite = Arc::new(Suite {
        profile,
        bin_dir: bin_dir.as_ref().map(|d| d.path().to_path_buf()),
    });
    if !args.list
        && let Some(program) = missing_program(&suite.profile, suite.bin_dir.as_deref())
    {
        // Never a pass for a client that is not there: nothing runs, and the run fails.
        eprintln!(
            "conformance: profile {}: not installed: `{program}` is not on PATH; no scenario was run",
            suite.profile.name
        );
        eprintln!("hint: install the client (e.g. `just seed-clients`) or put `{program}` on PATH");
        return ExitCode::FAILURE;
    }
    // Scenarios written for another client run with its profile when the suite runs the
    // default profile (named by the variable or not), and are not applicable otherwise.
    let same_file = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    let default_run = same_file(&profile_path, &config.default_profile);
    let mut pinned: BTreeMap<String, Result<Arc<Suite>, String>> = BTreeMap::new();
    let results: Arc<Mutex<Vec<(String, Outcome)>>> = Arc::default();
    // Not-applicable scenarios are counted here, while planning, because libtest runs an
    // ignored trial only with `--include-ignored`: the table must show them either way.
    let mut not_applicable: Vec<(String, String)> = Vec::new();
    let mut trials = Vec::new();
    for (name, path) in files {
        let mut suite_for = Arc::clone(&suite);
        let mut loaded = applicability(&suite.profile, &path).map_err(|e| e.to_string());
        if let Ok((scenario, _)) = &loaded
            && let Some(client) = scenario.client.as_deref()
            && default_run
            && client != suite.profile.name
        {
            let alt = pinned
                .entry(client.to_owned())
                .or_insert_with(|| pinned_suite(config, &suite, client).map(Arc::new));
            loaded = match alt {
                Ok(alt) => {
                    suite_for = Arc::clone(alt);
                    let missing = alt.profile.missing_for(scenario);
                    Ok((scenario.clone(), missing))
                }
                Err(e) => Err(e.clone()),
            };
        }
        let ignored = matches!(&loaded, Ok((_, missing)) if !missing.is_empty());
        let budget = loaded.as_ref().map_or(0, |(scenario, _)| scenario.timeout);
        if let Ok((_, missing)) = &loaded
            && !missing.is_empty()
        {
            not_applicable.push((name.clone(), format!("lacks {}", missing.join(", "))));
        }
        let suite = suite_for;
        let runtime = Arc::clone(&runtime);
        let results = Arc::clone(&results);
        let trial_name = name.clone();
        let trial = Trial::ignorable_test(name, move || {
            let record = |outcome| {
                results
                    .lock()
                    .expect("results lock poisoned")
                    .push((trial_name.clone(), outcome));
            };
            let (scenario, missing) = match loaded {
                Ok(loaded) => loaded,
                Err(e) => {
                    record(Outcome::Failed);
                    return Err(Failed::from(e));
                }
            };
            if !missing.is_empty() {
                // Counted while planning (see `not_applicable`).
                return Ok(Completion::ignored_with(format!(
                    "not applicable: profile {} lacks {}",
                    suite.profile.name,
                    missing.join(", ")
                )));
            }
            match runtime.block_on(suite.run(&scenario)) {
                Ok(()) => {
                    record(Outcome::Passed);
                    Ok(Completion::Completed)
                }
                Err(failure) => {
                    record(if failure.timed_out {
                        Outcome::TimedOut
                    } else {
                        Outcome::Failed
                    });
                    Err(Failed::from(format!(
                        "{}\n{}",
                        scenario.description, failure.report
                    )))
                }
            }
        })
        .with_ignored_flag(ignored);
        trials.push((budget, trial));
    }
    // The scenarios with the largest time budget start first (stable: by name otherwise), so
    // that a long one (a device login that waits out a grown interval) runs beside the short
    // ones instead of becoming the suite's tail.
    trials.sort_by_key(|(budget, _)| std::cmp::Reverse(*budget));
    let trials = trials.into_iter().map(|(_, trial)| trial).collect();
    let list_only = args.list;
    let conclusion = libtest_mimic::run(&args, trials);
    if !list_only {
        let mut results = results.lock().expect("results lock poisoned");
        let filtered = |name: &str| trial_selected(&args, name);
        results.extend(
            not_applicable
                .iter()
                .filter(|(name, _)| filtered(name))
                .map(|(name, _)| (name.clone(), Outcome::NotApplicable)),
        );
        print_table(&results, started.elapsed().as_secs_f64());
        print_not_applicable(&suite.profile.name, &not_applicable, filtered);
        for (name, action) in &suite.profile.actions {
            if action.secret_in_argv {
                println!(
                    "finding (declared by profile {}): action `{name}` takes a secret in its command \
                     line, where every local user can read it (ps, /proc/<pid>/cmdline); prefer \
                     stdin, a file or the environment",
                    suite.profile.name
                );
            }
        }
    }
    drop(bin_dir);
    conclusion.exit_code()
}

fn print_table(results: &[(String, Outcome)], seconds: f64) {
    if results.is_empty() {
        return;
    }
    let mut groups: BTreeMap<&str, [u32; 4]> = BTreeMap::new();
    for (name, outcome) in results {
        let group = name.split('/').next().unwrap_or(name);
        let row = groups.entry(group).or_default();
        row[*outcome as usize] += 1;
    }
    let mut total = [0_u32; 4];
    println!(
        "\n{:<14} {:>6} {:>6} {:>6} {:>7}",
        "group", "passed", "failed", "n/a", "timeout"
    );
    for (group, row) in &groups {
        println!(
            "{group:<14} {:>6} {:>6} {:>6} {:>7}",
            row[0], row[1], row[2], row[3]
        );
        for i in 0..4 {
            total[i] += row[i];
        }
    }
    println!(
        "{:<14} {:>6} {:>6} {:>6} {:>7}",
        "total", total[0], total[1], total[2], total[3]
    );
    if total[3] > 0 {
        println!(
            "timeout: the scenario's time budget ran out (a slow machine or client, not a finding); \
             rerun on a quieter machine or raise the profile's timeout_factor"
        );
    }
    println!("conformance wall time: {seconds:.1} s\n");
}

/// Every `*.toml` below `dir`, named by its path without the extension (`refresh/manual`).
/// Whether libtest's name filters select this trial (the same rule libtest-mimic applies:
/// a substring, or the exact name with `--exact`; `--skip` removes).
fn trial_selected(args: &Arguments, name: &str) -> bool {
    let matches = |f: &str| {
        if args.exact {
            name == f
        } else {
            name.contains(f)
        }
    };
    args.filter.as_deref().is_none_or(matches) && !args.skip.iter().any(|s| matches(s))
}

/// The not-applicable scenarios by reason, so a reader sees what the profile lacks without
/// `--include-ignored`.
fn print_not_applicable(
    profile: &str,
    not_applicable: &[(String, String)],
    selected: impl Fn(&str) -> bool,
) {
    let mut by_reason: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, reason) in not_applicable.iter().filter(|(n, _)| selected(n)) {
        by_reason.entry(reason).or_default().push(name);
    }
    if by_reason.is_empty() {
        return;
    }
    println!("not applicable (profile {profile}):");
    for (reason, names) in by_reason {
        println!("  {reason} ({}): {}", names.len(), names.join(", "));
    }
}

fn scenario_files(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let rel = path.strip_prefix(dir).unwrap_or(&path).with_extension("");
                out.push((rel.to_string_lossy().replace('\\', "/"), path));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A temp folder holding a `cliauth` symlink to the reference client, and a `pinned-https`
/// one to the interception test client built beside it.
fn link_client(bin: &Path) -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("cliauth-conformance-bin-")
        .tempdir()?;
    std::os::unix::fs::symlink(bin, dir.path().join("cliauth"))?;
    let (built, linked) = crate::reference_client::TEST_CLIENT;
    let test_client = bin.with_file_name(built);
    if test_client.is_file() {
        std::os::unix::fs::symlink(test_client, dir.path().join(linked))?;
    }
    Ok(dir)
}

/// The profile's `program` when it is neither in `bin_dir` nor on `PATH`.
fn missing_program<'p>(profile: &'p Profile, bin_dir: Option<&Path>) -> Option<&'p str> {
    let program = profile.program.as_deref()?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = bin_dir
        .map(Path::to_path_buf)
        .into_iter()
        .chain(std::env::split_paths(&path))
        .any(|dir| dir.join(program).is_file());
    (!found).then_some(program)
}

/// The suite for a scenario written for another client (`client = "name"`): that client's
/// profile from the default profile's folder, with the same binaries.
fn pinned_suite(config: &HarnessConfig, suite: &Suite, client: &str) -> Result<Suite, String> {
    let dir = config
        .default_profile
        .parent()
        .unwrap_or_else(|| Path::new("."));
    let profile = Profile::from_file(&dir.join(format!("{client}.toml")))
        .map_err(|e| format!("the scenario is written for client {client}: {e}"))?;
    if let Some(program) = missing_program(&profile, suite.bin_dir.as_deref()) {
        return Err(format!(
            "the scenario is written for client {client}, whose program `{program}` is not \
             installed (not on PATH)"
        ));
    }
    Ok(Suite {
        profile,
        bin_dir: suite.bin_dir.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_program(program: &str) -> Profile {
        let text = format!(
            "name = \"p\"\nhome_env = \"P_HOME\"\nprogram = \"{program}\"\n[actions.status]\ncommand = [\"true\"]\n"
        );
        Profile::from_toml_str(&text, Path::new("p.toml")).unwrap()
    }

    #[test]
    fn a_profile_program_is_found_in_the_bin_folder_or_on_path_or_named_missing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("only-here"), "").unwrap();
        assert_eq!(
            missing_program(&with_program("only-here"), Some(dir.path())),
            None
        );
        assert_eq!(missing_program(&with_program("sh"), None), None, "on PATH");
        let absent = with_program("no-such-client-cliauth-test");
        assert_eq!(
            missing_program(&absent, Some(dir.path())),
            Some("no-such-client-cliauth-test")
        );
    }
}
