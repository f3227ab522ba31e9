//! Random SIGKILLs during refresh, login and logout (issue 13), shared by the client's test
//! suite (`kills.rs`, 200 kills) and the soak benchmark (`examples/kill_soak.rs`, 1,000).
//!
//! Each round starts one command (refresh 60 %, `login --force` 20 %, logout 20 %), kills it
//! after a random delay, then runs the next command (`auth refresh --json`) and looks at the
//! folder. Counted: a corrupt store (exit 10 or a `.corrupt-` file), a stray file after the
//! next command, a lost session (the next refresh says "not logged in" or "session ended"
//! although the killed command was not a logout), and, under strict rotation, how many of
//! those the next command reported as the server's rotation ending the session.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// What the rounds found.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct KillStats {
    /// Rounds (one SIGKILL each, unless the command finished first).
    pub(crate) rounds: u32,
    /// Commands actually killed (still running at the kill).
    pub(crate) killed: u32,
    /// Kills per operation: refresh, login, logout.
    pub(crate) per_op: [u32; 3],
    /// Corrupt stores seen.
    pub(crate) corrupt: u32,
    /// Rounds with a stray file after the next command.
    pub(crate) strays: u32,
    /// Sessions lost (not after a logout).
    pub(crate) lost: u32,
    /// Of those, how many the next refresh reported as ended by the server
    /// (`refresh token rejected: the session has ended`).
    pub(crate) lost_reported: u32,
    /// Next commands that failed in another way.
    pub(crate) other_failures: u32,
    /// Wall time.
    pub(crate) elapsed: Duration,
}

/// A command of the client at `bin` for the server at `url`, state in `home`.
fn command(bin: &Path, url: &str, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CLIAUTH_") {
            cmd.env_remove(&k);
        }
    }
    cmd.args(args)
        .env("CLIAUTH_HOME", home)
        .env("CLIAUTH_SERVER_URL", url)
        .env("CLIAUTH_NO_BROWSER", "1")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("HTTP_PROXY")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy")
        .env("NO_PROXY", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

const LOGIN: [&str; 7] = [
    "auth",
    "login",
    "--password",
    "--force",
    "--username",
    "alice",
    "--password-stdin",
];

async fn run(bin: &Path, url: &str, home: &Path, args: &[&str]) -> (i32, String) {
    let mut child = command(bin, url, home, args)
        .spawn()
        .expect("spawn cliauth");
    if let Some(mut stdin) = child.stdin.take() {
        // Only a login reads it; a write to a command that exited early is of no interest.
        if args.contains(&"--password-stdin") {
            stdin.write_all(b"alice-password\n").await.expect("stdin");
        }
    }
    let out = child.wait_with_output().await.expect("cliauth finishes");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn credentials(home: &Path) -> PathBuf {
    home.join("credentials")
}

/// Files besides the key, lock and store (a `.corrupt-` file is counted as corruption).
fn strays(home: &Path) -> Vec<String> {
    match std::fs::read_dir(credentials(home)) {
        Ok(entries) => entries
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| {
                let p = Path::new(n);
                n != "key" && !p.extension().is_some_and(|e| e == "lock" || e == "cred")
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Runs `rounds` kill rounds against the mock at `url` (its rotation policy decides what a
/// lost session means); `max_delay` bounds the random delay before each kill.
pub(crate) async fn kill_rounds(
    bin: &Path,
    url: &str,
    rounds: u32,
    max_delay: Duration,
) -> KillStats {
    let home = tempfile::tempdir().expect("tempdir");
    let home = home.path();
    let started = Instant::now();
    let mut stats = KillStats::default();
    let (code, err) = run(bin, url, home, &LOGIN).await;
    assert_eq!(code, 0, "first login: {err}");
    for _ in 0..rounds {
        stats.rounds += 1;
        let op = match rand::random_range(0..10u8) {
            0..=5 => 0,
            6 | 7 => 1,
            _ => 2,
        };
        let args: &[&str] = match op {
            0 => &["auth", "refresh"],
            1 => &LOGIN,
            _ => &["auth", "logout"],
        };
        let mut child = command(bin, url, home, args).spawn().expect("spawn");
        if op == 1 {
            let mut stdin = child.stdin.take().expect("stdin");
            // The kill may come first: a failed write then is expected.
            if stdin.write_all(b"alice-password\n").await.is_err() {
                continue;
            }
        }
        let delay = rand::random_range(0..=max_delay.as_micros().max(1));
        tokio::time::sleep(Duration::from_micros(
            u64::try_from(delay).unwrap_or(u64::MAX),
        ))
        .await;
        if matches!(child.try_wait(), Ok(None)) {
            stats.killed += 1;
            stats.per_op[op] += 1;
        }
        child.kill().await.expect("kill");
        let (code, err) = run(bin, url, home, &["auth", "refresh"]).await;
        let leftover = strays(home);
        if code == 10 || leftover.iter().any(|n| n.contains(".corrupt-")) {
            stats.corrupt += 1;
        } else if !leftover.is_empty() {
            stats.strays += 1;
        }
        match code {
            0 => {}
            4 if op == 2 => {}
            4 => {
                stats.lost += 1;
                if err.contains("session has ended") || err.contains("session_ended") {
                    stats.lost_reported += 1;
                }
            }
            _ => stats.other_failures += 1,
        }
        if code != 0 {
            let (code, err) = run(bin, url, home, &LOGIN).await;
            assert_eq!(code, 0, "login after a round: {err}");
        }
    }
    stats.elapsed = started.elapsed();
    stats
}
