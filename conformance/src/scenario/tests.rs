//! Parsing and validation of scenario files.
use std::path::Path;

use super::*;

fn parse(src: &str) -> Result<Scenario, ScenarioError> {
    Scenario::from_toml_str(src, Path::new("scenarios/x/y.toml"))
}

#[test]
fn minimal_scenario_parses() {
    let s = parse(
        "description = \"d\"\n[[step]]\nkind = \"run\"\naction = \"status\"\n[step.expect]\ncategory = \"unauthenticated\"\n",
    )
    .unwrap();
    assert_eq!(s.steps.len(), 1);
    assert_eq!(s.timeout, 30);
}

#[test]
fn unknown_step_field_names_file_line_and_field() {
    let err =
        parse("description = \"d\"\n\n[[step]]\nkind = \"run\"\naction = \"status\"\nactoin = 1\n")
            .unwrap_err()
            .to_string();
    assert!(err.starts_with("scenarios/x/y.toml:"), "{err}");
    assert!(err.contains("actoin"), "{err}");
    let line: usize = err.split(':').nth(1).unwrap().parse().unwrap();
    assert!((3..=6).contains(&line), "{err}");
}

#[test]
fn unknown_server_field_names_its_line() {
    let err = parse("description = \"d\"\n[server.tokens]\naccess_tll = 5\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("scenarios/x/y.toml:3:"), "{err}");
    assert!(err.contains("access_tll"), "{err}");
}

#[test]
fn unknown_expect_field_is_rejected() {
    let err = parse("description = \"d\"\n[[step]]\nkind = \"check\"\n[step.expect]\nexits = 0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("exits"), "{err}");
}

#[test]
fn unknown_kind_is_rejected() {
    let err = parse("description = \"d\"\n[[step]]\nkind = \"nap\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("nap"), "{err}");
}

#[test]
fn wait_for_unknown_process_is_rejected() {
    let err = parse("description = \"d\"\n[[step]]\nkind = \"wait\"\nprocess = \"login\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("login"), "{err}");
}

#[test]
fn parallel_needs_count() {
    let err = parse("description = \"d\"\n[[step]]\nkind = \"parallel\"\naction = \"status\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("count"), "{err}");
}

#[test]
fn bad_mode_is_rejected() {
    let err = parse("description = \"d\"\n[[step]]\nkind = \"fs\"\nop = \"chmod\"\npath = \"x\"\nmode = \"rw\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("octal"), "{err}");
}

#[test]
fn counts() {
    assert!(count_ok(1, Some(1), None, None));
    assert!(!count_ok(2, Some(1), None, None));
    assert!(count_ok(0, None, None, Some(1)));
    assert!(!count_ok(0, None, Some(1), None));
    assert_eq!(count_text(None, Some(1), Some(3)), ">= 1 and <= 3");
}

#[test]
fn admin_op_without_its_argument_names_the_field_and_line() {
    let err = parse("description = \"d\"\n[[step]]\nkind = \"admin\"\nop = \"advance_clock\"\n")
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("scenarios/x/y.toml:"), "{err}");
    assert!(err.contains("needs `seconds`"), "{err}");
}

#[test]
fn admin_and_fs_steps_become_per_op_actions() {
    let s = parse(
        "description = \"d\"\n[[step]]\nkind = \"admin\"\nop = \"revoke_all\"\nusername = \"alice\"\n\
         [[step]]\nkind = \"fs\"\nop = \"chmod\"\npath = \"{store}\"\nmode = \"0644\"\n",
    )
    .unwrap();
    let Step::Admin(admin) = &s.steps[0] else {
        panic!("an admin step: {:?}", s.steps[0]);
    };
    assert!(matches!(&admin.action, AdminAction::RevokeAll { username } if username == "alice"));
    let Step::Fs(fs) = &s.steps[1] else {
        panic!("an fs step: {:?}", s.steps[1]);
    };
    assert_eq!(
        fs.action,
        FsAction::Chmod {
            mode: Mode::parse("0644").unwrap()
        }
    );
    assert_eq!(fs.home, "main");
}

#[test]
fn invalid_regex_is_a_parse_error_with_its_line() {
    let err = parse(
        "description = \"d\"\n[[step]]\nkind = \"check\"\n[step.expect]\nstdout_regex = [\"(\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("scenarios/x/y.toml:"), "{err}");
    assert!(err.contains("invalid regex"), "{err}");
}

#[test]
fn a_field_the_op_does_not_use_is_rejected() {
    let err = parse(
        "description = \"d\"\n[[step]]\nkind = \"fs\"\nop = \"delete\"\npath = \"x\"\nmode = \"0600\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("does not use `mode`"), "{err}");
    let err = parse(
        "description = \"d\"\n[[step]]\nkind = \"admin\"\nop = \"clear_rules\"\nname = \"r\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("does not use `name`"), "{err}");
}

#[test]
fn sleep_is_bounded_and_longer_waits_are_sent_to_the_mock_clock() {
    let s = parse("description = \"d\"\n[[step]]\nkind = \"sleep\"\nms = 250\n").unwrap();
    assert!(matches!(&s.steps[0], Step::Sleep(SleepStep { ms: 250 })));
    for ms in ["0", "5001"] {
        let err = parse(&format!(
            "description = \"d\"\n[[step]]\nkind = \"sleep\"\nms = {ms}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("advance_clock"), "{err}");
    }
}

#[test]
fn nonempty_folder_op_parses() {
    let s = parse(
        "description = \"d\"\n[[step]]\nkind = \"fs\"\nop = \"replace_with_nonempty_folder\"\npath = \"{store}\"\n",
    )
    .unwrap();
    let Step::Fs(fs) = &s.steps[0] else {
        panic!("an fs step: {:?}", s.steps[0]);
    };
    assert_eq!(fs.action, FsAction::ReplaceWithNonemptyFolder);
}
