//! Issue 13: hostile or absurd input never panics, never stores a session it should not,
//! and never reaches the terminal raw.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::process::Command;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Fixture, Run, clean_env};

/// `--timeout 18446744073709551615` is a usage error (exit 2) naming the bound, for the
/// browser and the device login alike (it used to panic adding it to an `Instant`).
#[rstest::rstest]
#[case::browser(&["auth", "login", "--no-browser", "--timeout", "18446744073709551615"])]
#[case::device(&["auth", "login", "--device", "--timeout", "18446744073709551615"])]
#[tokio::test]
async fn an_out_of_range_login_timeout_is_a_usage_error(#[case] args: &[&str]) {
    let f = Fixture::new("").await;
    let run = f.run(args).await;
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--timeout"), "{run:?}");
    assert!(run.stderr.contains("86400"), "{run:?}");
}

/// A wiremock authorization server with discovery (password and device grants) whose
/// `/device` and `/token` answer `device` and `token` (status, body).
async fn hostile_server(device: Value, token: (u16, Value)) -> MockServer {
    let server = MockServer::start().await;
    let issuer = server.uri();
    let discovery = json!({
        "issuer": issuer, "token_endpoint": format!("{issuer}/token"),
        "device_authorization_endpoint": format!("{issuer}/device"),
        "grant_types_supported": ["password", "urn:ietf:params:oauth:grant-type:device_code"],
    });
    for (m, p, status, body) in [
        (
            "GET",
            "/.well-known/oauth-authorization-server",
            200,
            discovery,
        ),
        ("POST", "/device", 200, device),
        ("POST", "/token", token.0, token.1),
        ("GET", "/api/v1/me", 200, json!({"username": "alice"})),
    ] {
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
    }
    server
}

async fn cliauth(server: &MockServer, home: &std::path::Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cliauth"));
    clean_env(&mut cmd);
    let mut child = cmd
        .args(args)
        .env("CLIAUTH_HOME", home)
        .env("CLIAUTH_SERVER_URL", server.uri())
        .env("CLIAUTH_CLIENT_ID", "hardening-test")
        .env("CLIAUTH_NO_BROWSER", "1")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if args.contains(&"--password-stdin") {
        tokio::io::AsyncWriteExt::write_all(&mut stdin, b"pw\n")
            .await
            .unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

const PASSWORD_LOGIN: [&str; 7] = [
    "auth",
    "login",
    "--password",
    "--username",
    "alice",
    "--password-stdin",
    "--json",
];

fn device() -> Value {
    json!({"device_code": "dc", "user_code": "ABCD-EFGH",
           "verification_uri": "http://127.0.0.1/device", "expires_in": 60, "interval": 0})
}

/// A token response no session may be built from is a `server_error` (exit 8) naming the
/// field, and nothing is stored (an empty `access_token` used to log in and make `auth token`
/// print an empty line).
#[rstest::rstest]
#[case::empty_access(json!({"access_token": "", "token_type": "Bearer"}), "`access_token`")]
#[case::blank_access(json!({"access_token": " \t", "token_type": "Bearer"}), "`access_token`")]
#[case::blank_refresh(json!({"access_token": "a", "token_type": "Bearer", "refresh_token": " "}), "`refresh_token`")]
#[case::mac(json!({"access_token": "a", "token_type": "mac"}), "`token_type`")]
#[case::huge_lifetime(json!({"access_token": "a", "token_type": "bearer", "expires_in": u64::MAX}), "`expires_in`")]
#[case::huge_refresh_lifetime(json!({"access_token": "a", "token_type": "Bearer", "refresh_token": "r", "refresh_expires_in": u64::MAX}), "`refresh_token_expires_in`")]
#[tokio::test]
async fn unusable_token_responses_are_a_server_error_and_store_nothing(
    #[case] body: Value,
    #[case] field: &str,
) {
    let server = hostile_server(device(), (200, body)).await;
    let home = tempfile::tempdir().unwrap();
    let login = cliauth(&server, home.path(), &PASSWORD_LOGIN).await;
    assert_eq!(login.code, 8, "{login:?}");
    let j = login.json();
    assert_eq!(j["category"], "server_error", "{j}");
    assert!(j["message"].as_str().unwrap().contains(field), "{j}");
    let status = cliauth(&server, home.path(), &["auth", "status"]).await;
    assert_eq!(status.code, 4, "no session was stored: {status:?}");
}

/// What the server says (device code, verification URL, `error_description`) reaches the
/// terminal and the JSON document with its control characters escaped: no escape sequence, no
/// bell, no forged line.
#[rstest::rstest]
#[case::human(false)]
#[case::json(true)]
#[tokio::test]
async fn server_text_is_shown_with_control_characters_escaped(#[case] json_out: bool) {
    let device = json!({"device_code": "dc", "user_code": "AB\u{1b}[2JCD",
        "verification_uri": "http://127.0.0.1/\u{1b}]0;owned\u{7}", "expires_in": 60, "interval": 0});
    let token = (
        400,
        json!({"error": "invalid_client",
               "error_description": "\u{1b}[2Jnope\nLogged in as admin\u{9b}31m"}),
    );
    let server = hostile_server(device, token).await;
    let home = tempfile::tempdir().unwrap();
    let mut args = vec!["auth", "login", "--device", "--no-browser"];
    if json_out {
        args.push("--json");
    }
    let run = cliauth(&server, home.path(), &args).await;
    assert_eq!(run.code, 9, "{run:?}");
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "raw control character in {text:?}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("Logged in")),
            "forged line in {text:?}"
        );
    }
    assert!(run.stderr.contains("AB\\u{1b}[2JCD"), "{run:?}");
    let shown = if json_out {
        run.json()["message"].as_str().unwrap().to_owned()
    } else {
        run.stderr.clone()
    };
    assert!(
        shown.contains("nope\\u{a}Logged in as admin\\u{9b}31m"),
        "{run:?}"
    );
}

/// The file of the fixture's credentials folder whose name ends with `suffix`.
fn file_ending(f: &Fixture, suffix: &str) -> std::path::PathBuf {
    std::fs::read_dir(f.credentials_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("a file ending {suffix}"))
}

/// A symbolic link where the lock, store or key file should be is refused as `local_storage`
/// naming the path, and the file it points to is left alone (a linked lock file used to be
/// truncated by refresh and logout).
#[rstest::rstest]
#[case::lock_logout(".lock", &["auth", "logout"])]
#[case::lock_refresh(".lock", &["auth", "refresh"])]
#[case::store(".cred", &["auth", "status"])]
#[case::key("key", &["auth", "status"])]
#[tokio::test]
async fn a_symlinked_credentials_file_is_refused(#[case] suffix: &str, #[case] args: &[&str]) {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let path = file_ending(&f, suffix);
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("victim");
    std::fs::copy(&path, &victim).unwrap();
    let before = std::fs::read(&victim).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    let run = f.run(args).await;
    assert_eq!(run.code, 10, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("{} is a symbolic link", path.display())),
        "{run:?}"
    );
    assert_eq!(std::fs::read(&victim).unwrap(), before, "target untouched");
}

/// A key file that is not UTF-8 is reported as a bad key file, not as a read failure with a
/// disk-full hint.
#[tokio::test]
async fn a_key_file_that_is_not_utf8_is_named_as_such() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let key = file_ending(&f, "key");
    std::fs::write(&key, b"\xff\xfe random \x80 bytes").unwrap();
    let run = f.run(&["auth", "status"]).await;
    assert_eq!(run.code, 10, "{run:?}");
    assert!(run.stderr.contains("not valid UTF-8"), "{run:?}");
    assert!(!run.stderr.contains("disk"), "{run:?}");
}

/// A temp file left by a killed writer is reported by `auth doctor`, and gone after the next
/// command (a torn one is discarded, the session kept).
#[tokio::test]
async fn doctor_reports_leftover_temp_files_and_the_next_command_removes_them() {
    let f = Fixture::new("").await;
    f.login_password("alice").await;
    let cred = f.cred_file();
    let slug = cred.file_stem().unwrap().to_string_lossy().into_owned();
    let tmp = f
        .credentials_dir()
        .join(format!(".store.tmp-{slug}-999999-0123456789ab"));
    std::fs::write(&tmp, b"torn").unwrap();
    let run = f.run(&["auth", "doctor", "--json"]).await;
    let j = run.json();
    let check = j["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "temp_files")
        .unwrap_or_else(|| panic!("{j}"));
    assert_eq!(check["status"], "warn", "{j}");
    assert!(
        check["detail"]
            .as_str()
            .unwrap()
            .contains(tmp.file_name().unwrap().to_str().unwrap()),
        "{j}"
    );
    let status = f.run(&["auth", "status"]).await;
    assert_eq!(status.code, 0, "{status:?}");
    assert!(!tmp.exists(), "removed by the next command");
}

/// `--token` still works but warns that argv is visible to other users; `--token-stdin`
/// gives the same token without the warning; an empty stdin is a usage error.
#[tokio::test]
async fn token_on_the_command_line_warns_and_token_stdin_does_not() {
    let f = Fixture::new("").await;
    // A real token: status checks an override token with the server (#16).
    let token = f.issued_token().await;
    let flag = f
        .run(&["--token", &token, "auth", "status", "--json"])
        .await;
    assert_eq!(flag.code, 0, "{flag:?}");
    assert!(
        flag.stderr
            .contains("warning: --token puts the token in this process's arguments"),
        "{flag:?}"
    );
    let stdin = f
        .run_stdin(
            &["--token-stdin", "auth", "status", "--json"],
            &format!("{token}\n"),
        )
        .await;
    assert_eq!(stdin.code, 0, "{stdin:?}");
    assert!(!stdin.stderr.contains("warning"), "{stdin:?}");
    assert_eq!(stdin.json()["source"], flag.json()["source"], "{stdin:?}");
    assert_eq!(
        stdin.json()["fingerprint"],
        flag.json()["fingerprint"],
        "{stdin:?}"
    );
    let empty = f.run_stdin(&["--token-stdin", "auth", "status"], "").await;
    assert_eq!(empty.code, 2, "{empty:?}");
}
