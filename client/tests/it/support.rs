//! Shared fixture: a mock server, a private home folder, and a clean-environment command.

use std::path::PathBuf;
use std::process::Stdio;

use cliauth_mock::{Config, JournalEntry, MockServer};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// The result of one `cliauth` run.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

pub(crate) struct Fixture {
    pub(crate) server: MockServer,
    pub(crate) home: tempfile::TempDir,
}

/// The variables that could make a test talk to anything but its own mock.
fn foreign_env() -> Vec<String> {
    std::env::vars_os()
        .map(|(k, _)| k.to_string_lossy().into_owned())
        .filter(|k| {
            let upper = k.to_ascii_uppercase();
            upper.starts_with("CLIAUTH_")
                || matches!(
                    upper.as_str(),
                    "HTTP_PROXY" | "HTTPS_PROXY" | "ALL_PROXY" | "NO_PROXY" | "XDG_RUNTIME_DIR"
                )
        })
        .collect()
}

/// Removes every variable that could make a test talk to anything but its own mock.
pub(crate) fn clean_env(cmd: &mut Command) {
    for k in foreign_env() {
        cmd.env_remove(&k);
    }
}

/// [`clean_env`] for a `std::process::Command`.
pub(crate) fn clean_env_std(cmd: &mut std::process::Command) {
    for k in foreign_env() {
        cmd.env_remove(&k);
    }
}

impl Fixture {
    pub(crate) async fn new(toml: &str) -> Fixture {
        let server = MockServer::builder()
            .config(Config::from_toml_str(toml).expect("valid mock config"))
            .start()
            .await
            .expect("mock starts");
        Fixture {
            server,
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub(crate) fn credentials_dir(&self) -> PathBuf {
        self.home.path().join("credentials")
    }

    /// The encrypted credentials file of the fixture's server.
    pub(crate) fn cred_file(&self) -> PathBuf {
        std::fs::read_dir(self.credentials_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "cred"))
            .expect("a credentials file")
    }

    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cliauth"));
        clean_env(&mut cmd);
        cmd.args(args)
            .env("CLIAUTH_HOME", self.home.path())
            .env("CLIAUTH_SERVER_URL", self.server.url())
            .env("CLIAUTH_NO_BROWSER", "1")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    pub(crate) async fn run_cmd(&self, mut cmd: Command, stdin: Option<&str>) -> Run {
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("spawn cliauth");
        if let Some(input) = stdin {
            let mut si = child.stdin.take().expect("stdin");
            si.write_all(input.as_bytes()).await.expect("write stdin");
            drop(si);
        }
        let out = child.wait_with_output().await.expect("cliauth finishes");
        let run = Run {
            code: out.status.code().expect("exited normally"),
            stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
        };
        self.assert_no_leak(&run.stderr, "stderr");
        run
    }

    pub(crate) async fn run(&self, args: &[&str]) -> Run {
        let run = self.run_cmd(self.cmd(args), None).await;
        if args != ["auth", "token"] {
            self.assert_no_leak(&run.stdout, "stdout");
        }
        run
    }

    pub(crate) async fn run_stdin(&self, args: &[&str], stdin: &str) -> Run {
        let run = self.run_cmd(self.cmd(args), Some(stdin)).await;
        self.assert_no_leak(&run.stdout, "stdout");
        run
    }

    /// No token, code, device code or client secret the mock minted appears in `text`.
    pub(crate) fn assert_no_leak(&self, text: &str, what: &str) {
        for s in self.server.issued_secrets() {
            assert!(
                !text.contains(&s),
                "{what} leaks a secret the server issued: {text}"
            );
        }
        assert!(
            !text.contains("alice-password"),
            "{what} leaks the password"
        );
    }

    /// Runs `auth login --password` for `user` with `password` on stdin; no assertion.
    pub(crate) async fn password_login(&self, user: &str, password: &str) -> Run {
        self.run_stdin(
            &[
                "auth",
                "login",
                "--password",
                "--username",
                user,
                "--password-stdin",
            ],
            &format!("{password}\n"),
        )
        .await
    }

    /// An access token the mock accepts, for alice, obtained in a home of its own (so nothing is
    /// stored in the fixture's home).
    pub(crate) async fn issued_token(&self) -> String {
        let other = tempfile::tempdir().expect("tempdir");
        let mut login = self.cmd(&[
            "auth",
            "login",
            "--password",
            "--username",
            "alice",
            "--password-stdin",
        ]);
        login.env("CLIAUTH_HOME", other.path());
        let run = self.run_cmd(login, Some("alice-password\n")).await;
        assert_eq!(run.code, 0, "{run:?}");
        let mut token = self.cmd(&["auth", "token"]);
        token.env("CLIAUTH_HOME", other.path());
        let run = self.run_cmd(token, None).await;
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout.trim().to_owned()
    }

    /// Logs `user` in with the mock's default password and asserts success.
    pub(crate) async fn login_password(&self, user: &str) {
        let run = self.password_login(user, &format!("{user}-password")).await;
        assert_eq!(run.code, 0, "{run:?}");
    }

    pub(crate) fn journal(&self) -> Vec<JournalEntry> {
        self.server.journal()
    }

    pub(crate) fn count(&self, f: impl Fn(&JournalEntry) -> bool) -> usize {
        self.journal().iter().filter(|e| f(e)).count()
    }
}
