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

/// Reads the readiness line of a spawned `serve`.
async fn ready_line(stdout: tokio::process::ChildStdout) -> serde_json::Value {
    let mut lines = BufReader::new(stdout).lines();
    let line = lines.next_line().await.unwrap().expect("a readiness line");
    serde_json::from_str(&line).unwrap()
}

/// Whether process `pid` has ended (gone, or a zombie waiting for its new parent).
async fn ended_within(pid: u64, within: std::time::Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            Ok(stat)
                if stat
                    .rsplit(')')
                    .next()
                    .is_some_and(|s| s.trim_start().starts_with('Z')) =>
            {
                return true;
            }
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    false
}

#[tokio::test]
async fn exit_with_parent_exits_when_stdin_closes() {
    let mut child = bin()
        .args(["serve", "--port", "0", "--exit-with-parent"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    ready_line(child.stdout.take().unwrap()).await;
    drop(child.stdin.take());
    let exit = tokio::time::timeout(std::time::Duration::from_secs(5), child.wait())
        .await
        .expect("exits once stdin closes")
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn exit_with_parent_exits_when_its_parent_is_killed() {
    // sh is the parent; `sleep` keeps the mock's stdin open so that only the parent's death
    // can end it (and ends by itself soon after).
    let mut parent = Command::new("sh")
        .args([
            "-c",
            "sleep 15 | \"$0\" serve --port 0 --exit-with-parent & wait",
            env!("CARGO_BIN_EXE_cliauth-mock"),
        ])
        .env_remove("CLIAUTH_MOCK_PORT")
        .env_remove("CLIAUTH_MOCK_CONFIG")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let ready = ready_line(parent.stdout.take().unwrap()).await;
    let pid = ready["pid"].as_u64().unwrap();
    parent.kill().await.unwrap();
    assert!(
        ended_within(pid, std::time::Duration::from_secs(5)).await,
        "the mock outlived its parent"
    );
}

#[tokio::test]
async fn logs_carry_no_colour_when_stderr_is_not_a_terminal() {
    let mut child = bin()
        .args(["serve", "--port", "0", "--exit-with-parent"])
        .env("CLIAUTH_MOCK_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = ready_line(child.stdout.take().unwrap()).await;
    let url = ready["url"].as_str().unwrap();
    crate::support::http()
        .get(format!("{url}/api/v1/meta"))
        .send()
        .await
        .unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().await.unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("request"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "ANSI escapes in a piped log: {log:?}"
    );
}

#[tokio::test]
async fn serve_host_binds_the_given_loopback_address() {
    let mut child = bin()
        .args([
            "serve",
            "--port",
            "0",
            "--host",
            "::1",
            "--exit-with-parent",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = ready_line(child.stdout.take().unwrap()).await;
    let url = ready["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://[::1]:"), "{url}");
    let health = crate::support::http()
        .get(format!("{url}/__admin/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "the admin API answers ::1");
    drop(child.stdin.take());
    assert!(child.wait().await.unwrap().success());
}

#[tokio::test]
async fn an_empty_admin_token_or_a_bad_host_exits_2() {
    for args in [
        &["serve", "--admin-token", ""][..],
        &["serve", "--host", "localhost"][..],
    ] {
        let out = bin().args(args).output().await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

/// `curl --cacert CA URL` (curl is how the README tells people to check `--tls`).
async fn curl_with_ca(ca: &str, url: &str) -> std::process::Output {
    Command::new("curl")
        .args([
            "-sS",
            "--noproxy",
            "*",
            "--max-time",
            "10",
            "--cacert",
            ca,
            url,
        ])
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn serve_tls_answers_https_trusted_through_the_printed_ca() {
    let mut child = bin()
        .args(["serve", "--port", "0", "--tls", "--exit-with-parent"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = ready_line(child.stdout.take().unwrap()).await;
    let url = ready["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let ca = ready["ca_pem"].as_str().unwrap().to_owned();
    let out = curl_with_ca(
        &ca,
        &format!("{url}/.well-known/oauth-authorization-server"),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let discovery: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(discovery["token_endpoint"], format!("{url}/oauth/token"));
    // Without the CA the certificate is not trusted.
    let untrusted = Command::new("curl")
        .args([
            "-sS",
            "--noproxy",
            "*",
            "--max-time",
            "10",
            &format!("{url}/api/v1/meta"),
        ])
        .output()
        .await
        .unwrap();
    assert!(!untrusted.status.success());
    drop(child.stdin.take());
    assert!(child.wait().await.unwrap().success());
    assert!(
        !std::path::Path::new(&ca).exists(),
        "the CA file is removed at exit"
    );
}

#[tokio::test]
async fn serve_tls_cert_and_key_bring_your_own_certificate() {
    let dir = std::env::temp_dir().join(format!("cliauth-mock-byo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let mut child = bin()
        .args(["serve", "--port", "0", "--exit-with-parent", "--tls-cert"])
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let ready = ready_line(child.stdout.take().unwrap()).await;
    let url = ready["url"].as_str().unwrap().to_owned();
    assert!(ready.get("ca_pem").is_none(), "{ready}");
    let out = curl_with_ca(cert.to_str().unwrap(), &format!("{url}/api/v1/meta")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(child.stdin.take());
    assert!(child.wait().await.unwrap().success());
    std::fs::remove_dir_all(&dir).unwrap();
}
