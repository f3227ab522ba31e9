//! One directory per rule under `tests/fixtures/`, each with four files: `unjustified.rs`
//! fails at an exact position, `justified.rs` passes, `generic.rs` fails with
//! `weak-justification`, and `stale.rs` (the comment above fixed code) fails with
//! `stale-justification`.

use std::path::{Path, PathBuf};

use cliauth_guard::{Finding, check_source};
use rstest::rstest;

use crate::{fixture_config, fixtures_dir};

fn check_fixture(rule: &str, case: &str) -> (PathBuf, Vec<Finding>) {
    let path = fixtures_dir().join(rule).join(format!("{case}.rs"));
    let src = std::fs::read_to_string(&path).expect("the fixture exists");
    let findings = check_source(&path, &src, &fixture_config());
    (path, findings)
}

fn located(findings: &[Finding]) -> Vec<(String, usize, usize, String)> {
    findings
        .iter()
        .map(|f| {
            let file = Path::new(&f.path)
                .strip_prefix(fixtures_dir())
                .unwrap_or(&f.path)
                .display()
                .to_string();
            (file, f.line, f.column, f.rule.to_string())
        })
        .collect()
}

#[rstest]
#[case("discard-let", 3, 5)]
#[case("discard-typed-let", 3, 5)]
#[case("discard-assign", 3, 5)]
#[case("ok-statement", 3, 34)]
#[case("drop-call", 3, 5)]
#[case("silent-err-arm", 5, 9)]
#[case("wildcard-result-arm", 5, 9)]
#[case("error-erasing-closure", 3, 30)]
#[case("let-else-err", 3, 5)]
#[case("result-filter", 3, 55)]
#[case("catch-unwind", 3, 31)]
#[case("blanket-allow", 3, 5)]
#[case("ok-try", 3, 50)]
#[case("if-let-ok", 3, 8)]
#[case("default-fallback", 3, 50)]
#[case("detached-task", 3, 5)]
fn unjustified_fixture_fails_at_exact_position(
    #[case] rule: &str,
    #[case] line: usize,
    #[case] column: usize,
) {
    let (_, findings) = check_fixture(rule, "unjustified");
    assert_eq!(
        located(&findings),
        [(
            format!("{rule}/unjustified.rs"),
            line,
            column,
            rule.to_owned()
        )]
    );
}

#[rstest]
#[case("discard-let")]
#[case("discard-typed-let")]
#[case("discard-assign")]
#[case("ok-statement")]
#[case("drop-call")]
#[case("silent-err-arm")]
#[case("wildcard-result-arm")]
#[case("error-erasing-closure")]
#[case("let-else-err")]
#[case("result-filter")]
#[case("catch-unwind")]
#[case("blanket-allow")]
#[case("ok-try")]
#[case("if-let-ok")]
#[case("default-fallback")]
#[case("detached-task")]
fn justified_fixture_passes(#[case] rule: &str) {
    let (path, findings) = check_fixture(rule, "justified");
    assert!(findings.is_empty(), "{}: {findings:#?}", path.display());
}

/// The generic-reason comment sits on the line of the suppression in `unjustified.rs`.
#[rstest]
#[case("discard-let", 3, 5)]
#[case("discard-typed-let", 3, 5)]
#[case("discard-assign", 3, 5)]
#[case("ok-statement", 3, 5)]
#[case("drop-call", 3, 5)]
#[case("silent-err-arm", 5, 9)]
#[case("wildcard-result-arm", 5, 9)]
#[case("error-erasing-closure", 3, 5)]
#[case("let-else-err", 3, 5)]
#[case("result-filter", 3, 5)]
#[case("catch-unwind", 3, 5)]
#[case("blanket-allow", 3, 5)]
#[case("ok-try", 3, 5)]
#[case("if-let-ok", 3, 5)]
#[case("default-fallback", 3, 5)]
#[case("detached-task", 3, 5)]
fn generic_reason_fixture_fails_with_weak_justification(
    #[case] rule: &str,
    #[case] line: usize,
    #[case] column: usize,
) {
    let (_, findings) = check_fixture(rule, "generic");
    assert_eq!(
        located(&findings),
        [(
            format!("{rule}/generic.rs"),
            line,
            column,
            "weak-justification".to_owned()
        )]
    );
    assert!(
        findings[0].message.contains(rule) && findings[0].message.contains("generic phrase"),
        "the message names the rule and why: {}",
        findings[0].message
    );
}

#[rstest]
#[case("discard-let", 3, 5)]
#[case("discard-typed-let", 3, 5)]
#[case("discard-assign", 3, 5)]
#[case("ok-statement", 3, 5)]
#[case("drop-call", 3, 5)]
#[case("silent-err-arm", 5, 9)]
#[case("wildcard-result-arm", 5, 9)]
#[case("error-erasing-closure", 3, 5)]
#[case("let-else-err", 3, 5)]
#[case("result-filter", 3, 5)]
#[case("catch-unwind", 3, 5)]
#[case("blanket-allow", 3, 5)]
#[case("ok-try", 3, 5)]
#[case("if-let-ok", 3, 5)]
#[case("default-fallback", 3, 5)]
#[case("detached-task", 3, 5)]
fn stale_justification_fixture_fails(
    #[case] rule: &str,
    #[case] line: usize,
    #[case] column: usize,
) {
    let (_, findings) = check_fixture(rule, "stale");
    assert_eq!(
        located(&findings),
        [(
            format!("{rule}/stale.rs"),
            line,
            column,
            "stale-justification".to_owned()
        )]
    );
}

#[test]
fn every_rule_with_a_pattern_has_a_fixture_directory() {
    for rule in cliauth_guard::Rule::ALL {
        if rule.tier() == cliauth_guard::Tier::Meta {
            continue;
        }
        for case in ["unjustified", "justified", "generic", "stale"] {
            let path = fixtures_dir().join(rule.id()).join(format!("{case}.rs"));
            assert!(path.is_file(), "missing {}", path.display());
        }
    }
}
