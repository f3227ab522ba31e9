//! The command line: output format, exit codes, unparsable files, `deps`.

use std::path::Path;
use std::process::{Command, Output};

use crate::fixtures_dir;

fn guard(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cliauth-guard"))
        .args(args)
        .current_dir(cwd)
        .env_remove("CLIAUTH_GUARD_CONFIG")
        .output()
        .expect("the guard binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A temp dir with a `guard.toml` and the given files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("guard.toml"),
        "include = [\"src/**/*.rs\"]\n",
    )
    .unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn check_exits_0_and_prints_a_count_when_clean() {
    let dir = project(&[(
        "src/lib.rs",
        "fn f() -> std::io::Result<()> { g()?; Ok(()) }\n",
    )]);
    let out = guard(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout(&out), "No findings in 1 file.\n");
}

#[test]
fn check_exits_1_with_rustc_style_lines_and_a_count() {
    let dir = project(&[
        ("src/lib.rs", "fn f() {\n    let _ = g();\n}\n"),
        ("src/other.rs", "fn h() { k().ok(); }\n"),
        ("tests/ignored.rs", "fn f() { let _ = g(); }\n"),
    ]);
    let out = guard(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with("src/lib.rs:2:5: discard-let "),
        "{text}"
    );
    assert!(
        lines[1].starts_with("src/other.rs:1:14: ok-statement "),
        "{text}"
    );
    assert_eq!(lines[2], "Found 2 findings in 2 files.");
}

#[test]
fn check_json_output_lists_findings_with_positions() {
    let dir = project(&[("src/lib.rs", "fn f() {\n    drop(g());\n}\n")]);
    let out = guard(&["check", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["count"], 1);
    assert_eq!(json["files"], 1);
    let finding = &json["findings"][0];
    assert_eq!(finding["rule"], "drop-call");
    assert_eq!(finding["path"], "src/lib.rs");
    assert_eq!(
        (finding["line"].as_u64(), finding["column"].as_u64()),
        (Some(2), Some(5))
    );
    assert!(finding["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[test]
fn unparsable_file_is_reported_and_the_rest_still_checked() {
    let dir = project(&[
        ("src/a_broken.rs", "fn ok() {}\nfn broken( {\n"),
        ("src/b_fine.rs", "fn f() { let _ = g(); }\n"),
    ]);
    let out = guard(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("src/a_broken.rs:2:"), "{text}");
    assert!(text.contains(": parse-error "), "{text}");
    assert!(text.contains("src/b_fine.rs:1:10: discard-let"), "{text}");
}

#[test]
fn explicit_file_paths_are_checked_even_outside_include() {
    let dir = project(&[("tests/x.rs", "fn f() { let _ = g(); }\n")]);
    let out = guard(&["check", "tests/x.rs"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).starts_with("tests/x.rs:1:10: discard-let"));
}

#[test]
fn directory_outside_the_config_root_is_walked_without_include_globs() {
    let dir = project(&[]);
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("a.rs"), "fn f() { let _ = g(); }\n").unwrap();
    let out = guard(&["check", outside.path().to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("a.rs:1:10: discard-let"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn usage_and_config_errors_exit_2() {
    let dir = project(&[]);
    assert_eq!(
        guard(&["check", "--no-such-flag"], dir.path())
            .status
            .code(),
        Some(2)
    );
    assert_eq!(guard(&["frobnicate"], dir.path()).status.code(), Some(2));
    assert_eq!(
        guard(&["check", "missing.rs"], dir.path()).status.code(),
        Some(2)
    );
    std::fs::write(dir.path().join("guard.toml"), "inclde = [\"src\"]\n").unwrap();
    let out = guard(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
}

#[test]
fn config_in_workspace_metadata_is_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[workspace]\n[workspace.metadata.cliauth-guard]\ninclude = [\"keep/**/*.rs\"]\n",
    )
    .unwrap();
    for sub in ["keep", "skip"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        std::fs::write(
            dir.path().join(sub).join("a.rs"),
            "fn f() { let _ = g(); }\n",
        )
        .unwrap();
    }
    let out = guard(&["check"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("keep/a.rs") && !text.contains("skip/a.rs"),
        "{text}"
    );
}

#[test]
fn deps_fails_naming_the_chain_that_pulled_in_a_keyring_crate() {
    let metadata = fixtures_dir().join("deps/keyring-metadata.json");
    let dir = project(&[]);
    let out = guard(
        &["deps", "--metadata", metadata.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("pulled in by: cliauth 0.1.0 -> token-cache 0.4.0 -> keyring 3.6.3"),
        "{text}"
    );
    assert!(text.contains("Found 1 forbidden crate"), "{text}");
}

#[test]
fn deps_passes_when_the_tree_is_clean() {
    let metadata = fixtures_dir().join("deps/clean-metadata.json");
    let dir = project(&[]);
    let out = guard(
        &["deps", "--metadata", metadata.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn deps_passes_on_this_workspace() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = guard(&["deps"], workspace);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn deps_with_manifest_path_uses_the_config_beside_it_and_fails_without_the_allow_entries() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let manifest = workspace.join("Cargo.toml");
    let elsewhere = tempfile::tempdir().unwrap();
    let out = guard(
        &["deps", "--manifest-path", manifest.to_str().unwrap()],
        elsewhere.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // An empty config has no [[deps.allow]]: the macOS TLS verifier's Security framework
    // crate is then reported with the chain that pulls it in.
    let empty = elsewhere.path().join("guard.toml");
    std::fs::write(&empty, "").unwrap();
    let out = guard(
        &[
            "deps",
            "--manifest-path",
            manifest.to_str().unwrap(),
            "--config",
            empty.to_str().unwrap(),
        ],
        elsewhere.path(),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("-> rustls-platform-verifier ")
            && stdout(&out).contains("forbidden: security-framework "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn rules_lists_every_rule_with_its_tier() {
    let dir = project(&[]);
    let out = guard(&["rules"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), cliauth_guard::Rule::ALL.len());
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok-try                 strict  ")),
        "{text}"
    );
}

#[test]
fn check_of_a_missing_folder_exits_2_naming_it_and_the_os_reason() {
    let dir = project(&[("src/lib.rs", "fn f() {}\n")]);
    let out = guard(&["check", "no-such-folder"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: check the given paths: read no-such-folder: No such file or directory (os error 2)\n"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn help_ends_with_the_environment_and_the_exit_codes() {
    let out = guard(&["--help"], Path::new("."));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let tail = &text[text.find("Environment:").expect("an Environment section")..];
    assert!(tail.contains("CLIAUTH_GUARD_CONFIG"), "{text}");
    let codes = &tail[tail
        .find("Exit codes:")
        .expect("an exit-code table after it")..];
    for code in ["0  clean", "1  findings", "2  usage"] {
        assert!(codes.contains(code), "{code} missing: {text}");
    }
}
