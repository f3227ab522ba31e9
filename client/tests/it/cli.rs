//! The command line itself: completion scripts, man pages, `--help`'s closing tables and the
//! flags the parser refuses together. No server is needed.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::clean_env_std;

fn cliauth(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cliauth"));
    clean_env_std(&mut cmd);
    cmd.args(args)
        .env("CLIAUTH_HOME", "/nonexistent-cliauth-home")
        .output()
        .expect("run cliauth")
}

/// Whether a program is on PATH; prints why a check is skipped when it is not.
fn have(program: &str, why: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("SKIPPED: {program} is not installed, so {why} is not checked");
    }
    found
}

#[test]
fn bash_completion_script_is_valid_bash() {
    let out = cliauth(&["completion", "bash"]);
    assert!(out.status.success(), "{out:?}");
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains("_cliauth()"), "{script}");
    assert!(script.contains("login"), "subcommands are completed");
    if !have("bash", "`cliauth completion bash | bash -n`") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cliauth.bash");
    std::fs::write(&file, &script).unwrap();
    let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(check.status.success(), "bash -n: {check:?}");
}

#[rstest::rstest]
#[case::zsh("zsh", "#compdef cliauth")]
#[case::fish("fish", "complete -c cliauth")]
#[case::powershell("powershell", "Register-ArgumentCompleter")]
fn every_shell_gets_a_completion_script(#[case] shell: &str, #[case] marker: &str) {
    let out = cliauth(&["completion", shell]);
    assert!(out.status.success(), "{out:?}");
    let script = String::from_utf8(out.stdout).unwrap();
    assert!(script.contains(marker), "{script}");
    let binary = match shell {
        "powershell" => "pwsh",
        other => other,
    };
    if shell != "powershell" && have(binary, &format!("the {shell} script's syntax")) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cliauth.completion");
        std::fs::write(&file, &script).unwrap();
        let check = Command::new(binary).arg("-n").arg(&file).output().unwrap();
        assert!(check.status.success(), "{binary} -n: {check:?}");
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = cliauth(&["completion", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("possible values: bash"), "{stderr}");
}

/// Renders `page` with `man -l` and checks it names `title` and has no groff warning.
pub(crate) fn assert_man_page_renders(page: &Path, title: &str) {
    let out = Command::new("man")
        .arg("--warnings")
        .arg("-l")
        .arg(page)
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "")
        .output()
        .expect("run man");
    let text = String::from_utf8_lossy(&out.stdout);
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "man -l {}: {warnings}",
        page.display()
    );
    assert!(
        warnings.trim().is_empty(),
        "man -l {}: {warnings}",
        page.display()
    );
    assert!(text.contains("NAME"), "{text}");
    assert!(
        text.contains(title),
        "{} lacks {title}: {text}",
        page.display()
    );
}

#[test]
fn man_pages_are_written_for_every_command_and_render() {
    let dir = tempfile::tempdir().unwrap();
    let out = cliauth(&["man", dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for want in [
        "cliauth.1",
        "cliauth-auth.1",
        "cliauth-auth-login.1",
        "cliauth-auth-status.1",
        "cliauth-completion.1",
        "cliauth-sync.1",
    ] {
        assert!(
            pages.iter().any(|p| p == want),
            "{want} missing from {pages:?}"
        );
    }
    assert!(
        !pages.iter().any(|p| p == "cliauth-man.1"),
        "the hidden man command has no page"
    );
    let top = std::fs::read_to_string(dir.path().join("cliauth.1")).unwrap();
    assert!(
        top.contains("CLIAUTH_SERVER_URL"),
        "the environment table is in the page"
    );
    if !have("man", "that the man pages render with `man -l`") {
        return;
    }
    for page in &pages {
        let title = page.trim_end_matches(".1");
        assert_man_page_renders(&dir.path().join(page), title);
    }
}

/// Flags that make no sense together are refused by the parser (usage error, exit 2) before
/// anything runs, instead of one of them being silently ignored.
#[rstest::rstest]
#[case::token_with_login(&["auth", "login", "--token", "abc"], "'--token <TOKEN>' cannot be used with 'auth login'")]
#[case::token_before_login(&["--token", "abc", "auth", "login", "--device"], "cannot be used with 'auth login'")]
#[case::token_stdin_with_login(&["--token-stdin", "auth", "login", "--password"], "'--token-stdin' cannot be used with 'auth login'")]
#[case::token_and_token_stdin(&["--token", "a", "--token-stdin", "auth", "status"], "cannot be used with")]
#[case::token_with_logout(&["auth", "logout", "--token", "abc"], "cannot be used with 'auth logout'")]
#[case::token_with_refresh(&["auth", "refresh", "--token", "abc"], "cannot be used with 'auth refresh'")]
#[case::token_with_completion(&["completion", "bash", "--token", "abc"], "cannot be used with 'completion'")]
#[case::device_and_password(&["auth", "login", "--device", "--password"], "cannot be used with")]
#[case::device_and_with_token(&["auth", "login", "--device", "--with-token"], "cannot be used with")]
#[case::password_and_with_token(&["auth", "login", "--password", "--with-token"], "cannot be used with")]
#[case::port_with_device(&["auth", "login", "--device", "--port", "8080"], "cannot be used with")]
#[case::port_with_password(&["auth", "login", "--password", "--port", "8080"], "cannot be used with")]
#[case::port_with_token_login(&["auth", "login", "--with-token", "--port", "8080"], "cannot be used with")]
#[case::no_browser_with_password(&["auth", "login", "--password", "--no-browser"], "cannot be used with")]
#[case::no_browser_with_token_login(&["auth", "login", "--with-token", "--no-browser"], "cannot be used with")]
#[case::timeout_with_password(&["auth", "login", "--password", "--timeout", "5"], "cannot be used with")]
#[case::timeout_with_token_login(&["auth", "login", "--with-token", "--timeout", "5"], "cannot be used with")]
#[case::scope_with_token_login(&["auth", "login", "--with-token", "--scope", "openid"], "cannot be used with")]
#[case::username_without_password(&["auth", "login", "--username", "alice"], "--password")]
#[case::username_with_device(&["auth", "login", "--device", "--username", "alice"], "--username")]
#[case::password_stdin_without_password(&["auth", "login", "--password-stdin"], "--password")]
fn conflicting_flags_are_a_usage_error(#[case] args: &[&str], #[case] says: &str) {
    let out = cliauth(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(says), "{args:?}: {stderr} lacks {says}");
    assert!(stderr.contains("Usage: "), "{stderr}");
}

/// Combinations that do make sense still parse (they then stop at the missing server URL,
/// exit 9, not at the parser).
#[rstest::rstest]
#[case::device_without_browser(&["auth", "login", "--device", "--no-browser", "--timeout", "5"])]
#[case::browser_with_port(&["auth", "login", "--no-browser", "--port", "8080", "--scope", "openid"])]
#[case::password_for_scripts(&["auth", "login", "--password", "--username", "u", "--password-stdin", "--force"])]
#[case::token_with_status(&["--token", "abc", "auth", "status"])]
#[case::token_with_sync(&["--token", "abc", "sync", "now"])]
fn compatible_flags_still_parse(#[case] args: &[&str]) {
    let out = cliauth(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{args:?}: {stderr}");
    assert!(stderr.contains("no server is configured"), "{stderr}");
}

/// The first backquoted word (or bare number) of each row of the README table under `heading`.
fn readme_table(heading: &str) -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("client/README.md");
    let section = readme
        .split(&format!("\n## {heading}\n"))
        .nth(1)
        .unwrap_or_else(|| panic!("README has a {heading} section"));
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("|---"))
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            (
                cells[1].trim_matches('`').to_owned(),
                cells[2].trim_matches('`').to_owned(),
            )
        })
        .collect()
}

/// `cliauth --help` ends with the environment variables and exit codes, and they are the
/// README's tables, row for row.
#[test]
fn help_ends_with_the_readmes_environment_and_exit_code_tables() {
    let out = cliauth(&["--help"]);
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8(out.stdout).unwrap();
    let (_, tail) = help
        .split_once("\nEnvironment:\n")
        .expect("an Environment section");
    let (env, codes) = tail
        .split_once("\nExit codes:\n")
        .expect("an Exit codes section");
    let help_env: Vec<String> = env
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    let readme_env: Vec<String> = readme_table("Environment")
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(
        help_env, readme_env,
        "--help and client/README.md list different variables"
    );
    let help_codes: Vec<(String, String)> = codes
        .lines()
        .take_while(|l| l.starts_with("  "))
        .map(|l| {
            let (code, rest) = l.trim().split_once("  ").unwrap();
            let name = rest.trim().split(':').next().unwrap();
            (code.to_owned(), name.to_owned())
        })
        .collect();
    let readme_codes = readme_table("Exit codes");
    assert_eq!(
        help_codes, readme_codes,
        "--help and client/README.md disagree on exit codes"
    );
    assert!(
        help_codes
            .iter()
            .any(|(c, n)| c == "130" && n == "cancelled")
    );
}
