//! Ctrl-C during a wait: the client says `error: cancelled` (or the JSON error with category
//! `cancelled`), exits 130 and leaves no temp file behind.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

use crate::support::Fixture;

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Starts a device login the mock never approves, waits until it polls, sends SIGINT and
/// returns (exit code, stdout, stderr).
async fn interrupt_device_login(f: &Fixture, json: bool) -> (i32, String, String) {
    let mut args = vec![
        "auth",
        "login",
        "--device",
        "--no-browser",
        "--timeout",
        "60",
    ];
    if json {
        args.push("--json");
    }
    let mut child = f.cmd(&args).spawn().expect("spawn cliauth");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    // The code is printed once the device authorization answered; polling starts right after.
    while !seen.contains("Open: ") {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(20), stderr.read_line(&mut line))
            .await
            .expect("the device code is printed in time")
            .expect("read stderr");
        assert!(n > 0, "stderr closed early: {seen}");
        seen.push_str(&line);
    }
    // Let at least one poll happen, so the interrupt lands inside the wait.
    let polled = async {
        while f.count(|e| e.path.ends_with("/token")) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), polled)
        .await
        .expect("the client polls");
    let pid = child.id().expect("pid").to_string();
    let kill = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("run kill");
    assert!(kill.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("the client exits promptly after Ctrl-C")
        .expect("wait");
    stderr.read_to_string(&mut seen).await.expect("read stderr");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .await
        .expect("read stdout");
    f.assert_no_leak(&seen, "stderr");
    (
        status.code().expect("an exit code, not death by signal"),
        stdout,
        seen,
    )
}

#[tokio::test]
async fn ctrl_c_during_device_polling_says_cancelled_and_exits_130() {
    let f = Fixture::new("[device]\ninterval = 1\n").await;
    let (code, stdout, stderr) = interrupt_device_login(&f, false).await;
    assert_eq!(code, 130, "{stderr}");
    assert!(stderr.contains("\nerror: cancelled\n"), "{stderr}");
    assert!(stderr.contains("hint: run the command again"), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    let leftovers: Vec<_> = files_under(f.home.path())
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().contains(".tmp"))
        })
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    let status = f.run(&["auth", "status"]).await;
    assert_eq!(status.code, 4, "nothing was stored: {status:?}");
}

#[tokio::test]
async fn ctrl_c_with_json_prints_the_cancelled_category() {
    let f = Fixture::new("[device]\ninterval = 1\n").await;
    let (code, stdout, stderr) = interrupt_device_login(&f, true).await;
    assert_eq!(code, 130, "{stderr}");
    let j: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON on stdout");
    assert_eq!(j["ok"], false);
    assert_eq!(j["category"], "cancelled");
    assert_eq!(j["retryable"], false);
}
