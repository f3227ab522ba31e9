//! The `cliauth-mock` binary: readiness line, clean exit, bad config.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::Command;

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cliauth-mock"));
    cmd.env_remove("CLIAUTH_MOCK_PORT")
        .env_remove("CLIAUTH_MOCK_CONFIG")
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn serve_prints_one_readiness_line_and_exits_cleanly_on_sigterm() {
    let mut child = bin()
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("a readiness line");
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    let url = ready["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"));
    assert_eq!(ready["admin_url"], format!("{url}/__admin"));
    assert_eq!(ready["issuer"], url);
    assert_eq!(ready["pid"], child.id().unwrap());
    assert!(ready["port"].as_u64().unwrap() > 0);
    let health = crate::support::http()
        .get(format!("{url}/__admin/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let status = Command::new("kill")
        .args(["-TERM", &child.id().unwrap().to_string()])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let exit = child.wait().await.unwrap();
    assert!(exit.success(), "{exit:?}");
    assert_eq!(
        lines.next_line().await.unwrap(),
        None,
        "exactly one line on stdout"
    );
}

#[tokio::test]
async fn a_bad_config_exits_2_naming_file_line_and_field() {
    let dir = std::env::temp_dir().join(format!("cliauth-mock-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.toml");
    std::fs::write(&file, "[tokens]\naccess_ttl = 5\nacess_ttl = 6\n").unwrap();
    let out = bin()
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(&format!("{}:3:", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("acess_ttl"), "{stderr}");
    assert!(out.stdout.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_missing_config_exits_2_naming_the_file_and_the_os_reason() {
    let file = std::env::temp_dir().join(format!(
        "cliauth-mock-it-{}-no-such-config.toml",
        std::process::id()
    ));
    let out = bin()
        .args(["serve", "--config"])
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!(
            "error: cannot read config file {}: No such file or directory",
            file.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("\nhint: "), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn help_documents_flags_and_default_users() {
    let out = bin().args(["serve", "--help"]).output().await.unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "--port",
        "--config",
        "alice-password",
        "bob-password",
        "cliauth",
    ] {
        assert!(text.contains(needle), "{needle} missing from --help");
    }
}

#[tokio::test]
async fn serve_dialect_names_the_dialect_and_serves_its_paths() {
    let mut child = bin()
        .args(["serve", "--port", "0", "--dialect", "spec-kitty"])
        .env_remove("CLIAUTH_MOCK_DIALECT")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().expect("a readiness line");
    let ready: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(ready["dialect"], "spec-kitty");
    let url = ready["url"].as_str().unwrap();
    let resp = crate::support::http()
        .post(format!("{url}/oauth/device"))
        .form(&[("client_id", "cli_native")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    child.kill().await.unwrap();
    let out = bin()
        .args(["serve", "--dialect", "klingon"])
        .env_remove("CLIAUTH_MOCK_DIALECT")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("klingon"));
}
