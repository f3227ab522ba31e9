//! The runner's own reports, against a toy profile of shell commands (no reference client).

use std::path::Path;

use cliauth_conformance::{Profile, Scenario, Suite};

fn toy() -> Suite {
    let profile = Profile::from_toml_str(
        r#"
        name = "toy"
        home_env = "TOY_HOME"
        [actions.status]
        command = ["sh", "-c", "echo first-step-output; exit 0"]
        [actions.logout]
        command = ["sh", "-c", "echo second-step-output >&2; exit 3"]
        [actions.use]
        command = ["sh", "-c", "exec sleep 30"]
        "#,
        Path::new("toy.toml"),
    )
    .unwrap();
    Suite {
        profile,
        bin_dir: None,
    }
}

#[test]
fn a_failure_report_shows_every_steps_output_and_marks_the_failing_one() {
    let scenario = Scenario::from_toml_str(
        "description = \"d\"\n\
         [[step]]\nkind = \"run\"\naction = \"status\"\nexpect = { exit = 0 }\n\
         [[step]]\nkind = \"run\"\naction = \"logout\"\nexpect = { exit = 0 }\n",
        Path::new("toy/two_steps.toml"),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let failure = runtime.block_on(toy().run(&scenario)).unwrap_err();
    let report = failure.report;
    assert!(!failure.timed_out, "{report}");
    assert!(
        report.starts_with("step 2 (kind = \"run\" action=logout)"),
        "{report}"
    );
    assert!(
        report.contains("first-step-output"),
        "the earlier step's output: {report}"
    );
    assert!(report.contains("second-step-output"), "{report}");
    assert!(
        report.contains("*[logout"),
        "the failing step is marked: {report}"
    );
    assert!(!report.contains("*[status"), "{report}");
}

#[test]
fn a_scenario_that_runs_out_of_time_is_labelled_a_timeout_not_a_finding() {
    let scenario = Scenario::from_toml_str(
        "description = \"d\"\ntimeout = 1\n[[step]]\nkind = \"run\"\naction = \"use\"\nexpect = { exit = 0 }\n",
        Path::new("toy/slow.toml"),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let failure = runtime.block_on(toy().run(&scenario)).unwrap_err();
    assert!(failure.timed_out, "{}", failure.report);
    assert!(
        failure.report.starts_with("TIMEOUT (not a finding)"),
        "{}",
        failure.report
    );
}

#[test]
fn a_process_that_outlives_max_wall_ms_is_a_finding_reported_before_the_deadline() {
    let scenario = Scenario::from_toml_str(
        "description = \"d\"\n[[step]]\nkind = \"run\"\naction = \"use\"\n\
         [step.expect]\nmax_wall_ms = 200\n",
        Path::new("toy/hangs.toml"),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = std::time::Instant::now();
    let failure = runtime.block_on(toy().run(&scenario)).unwrap_err();
    assert!(
        !failure.timed_out,
        "a hang under max_wall_ms is the finding: {}",
        failure.report
    );
    assert!(
        failure
            .report
            .contains("ends within its step's max_wall_ms"),
        "{}",
        failure.report
    );
    assert!(
        started.elapsed().as_secs() < 25,
        "not the 30 s scenario deadline"
    );
}

/// A toy device client that polls twice at once, ignoring the `slow_down` between (the device
/// code goes through stdin: the argv invariant watches the command lines).
const IMPATIENT_POLLER: &str = r#"
name = "toy"
home_env = "TOY_HOME"
[actions.login_device]
command = ["sh", "-c", """
dc=$(curl -s --noproxy '*' -d client_id=cliauth {server_url}/oauth/device_authorization | jq -r .device_code)
for i in 1 2; do echo "client_id=cliauth&grant_type=urn:ietf:params:oauth:grant-type:device_code&device_code=$dc" | curl -s --noproxy '*' -d @- {server_url}/oauth/token >/dev/null; done
"""]
"#;

fn device_scenario(too_fast: u64) -> Scenario {
    Scenario::from_toml_str(
        &format!(
            "description = \"d\"\n[server.device]\ninterval = 1\nscript = [\"slow_down\", \"approved\"]\n\
             [[step]]\nkind = \"run\"\naction = \"login_device\"\n[step.expect]\nexit = 0\n\
             journal = [{{ grant_type = \"urn:ietf:params:oauth:grant-type:device_code\", poll_too_fast = true, count = {too_fast} }}]\n"
        ),
        Path::new("toy/device.toml"),
    )
    .unwrap()
}

#[test]
fn a_poll_sooner_than_the_grown_interval_counts_as_too_fast() {
    let suite = Suite {
        profile: Profile::from_toml_str(IMPATIENT_POLLER, Path::new("toy.toml")).unwrap(),
        bin_dir: None,
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(suite.run(&device_scenario(1))).unwrap();
    let report = runtime
        .block_on(suite.run(&device_scenario(0)))
        .unwrap_err()
        .report;
    assert!(report.contains("poll_too_fast=true"), "{report}");
    assert!(report.contains("observed: 1"), "{report}");
}
