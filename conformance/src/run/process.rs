//! The client processes: the clean environment, spawning an action's command line, capturing
//! its output, waiting for it (or for a line it prints) and killing it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Run;
use crate::outcome::{Miss, Output, indent};
use crate::profile::render;
use crate::scenario::{Expect, RunStep};

/// Captured stream with a wake-up for waiters.
#[derive(Debug, Default)]
pub(super) struct Capture {
    /// Remove ANSI escape sequences when reading (the profile's `strip_ansi`).
    pub(super) strip_ansi: bool,
    pub(super) text: Mutex<Vec<u8>>,
    pub(super) changed: Notify,
    /// The stream reached its end (the process closed it or exited).
    pub(super) closed: std::sync::atomic::AtomicBool,
}

impl Capture {
    pub(super) fn new(strip_ansi: bool) -> Self {
        Self {
            strip_ansi,
            ..Self::default()
        }
    }

    /// The text so far; escape sequences are stripped here rather than as bytes arrive, so a
    /// sequence split across two reads is still removed whole.
    pub(super) fn snapshot(&self) -> String {
        // Invariant: the lock is only held for a copy or an append, which cannot panic.
        let text =
            String::from_utf8_lossy(&self.text.lock().expect("capture lock poisoned")).into_owned();
        if self.strip_ansi {
            strip_ansi(&text)
        } else {
            text
        }
    }
}

/// `text` without ANSI escape sequences (CSI such as colours and cursor moves, OSC such as
/// hyperlinks, and two-byte escapes such as `ESC 7`), for clients that force colour.
pub(crate) fn strip_ansi(text: &str) -> String {
    static ANSI: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // Invariant: a literal pattern that is valid (pinned by the unit test below).
        regex::Regex::new(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[0-~])")
            .expect("valid ANSI pattern")
    });
    ANSI.replace_all(text, "").into_owned()
}

pub(super) struct Proc {
    pub(super) label: String,
    pub(super) child: tokio::process::Child,
    pub(super) stdout: Arc<Capture>,
    pub(super) stderr: Arc<Capture>,
    pub(super) readers: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub(super) secret_stdout: bool,
    pub(super) json: bool,
}

pub(super) struct Group {
    pub(super) procs: Vec<Proc>,
    pub(super) journal_from: usize,
    pub(super) expect: Expect,
    pub(super) step: usize,
}

impl Run<'_> {
    /// The vars a template of this step sees: the run's vars, the home, the step's vars.
    pub(super) fn step_vars(
        &self,
        r: &RunStep,
        home: &Path,
    ) -> Result<BTreeMap<String, String>, Miss> {
        let mut vars = self.vars.clone();
        vars.insert("home".to_owned(), home.display().to_string());
        for (k, v) in &r.vars {
            let v = render(v, &self.vars)
                .map_err(|e| Miss::new(format!("step var {k:?} renders"), e))?;
            vars.insert(k.clone(), v);
        }
        Ok(vars)
    }

    /// The clean environment: the caller's, minus the profile's prefixes and proxies, plus
    /// the profile's settings.
    pub(super) fn environment(
        &self,
        home: &Path,
        vars: &BTreeMap<String, String>,
    ) -> Result<Vec<(OsString, OsString)>, Miss> {
        let profile = self.profile();
        let scrubbed = |name: &OsString| {
            let name = name.to_string_lossy();
            let upper = name.to_ascii_uppercase();
            profile
                .scrub_env_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
                || matches!(
                    upper.as_str(),
                    "HTTP_PROXY" | "HTTPS_PROXY" | "ALL_PROXY" | "NO_PROXY"
                )
                || upper.starts_with("XDG_")
                || matches!(upper.as_str(), "HOME" | "PATH" | "NO_COLOR" | "BROWSER")
        };
        let mut env: Vec<(OsString, OsString)> = self
            .caller_env
            .iter()
            .filter(|(k, _)| !scrubbed(k))
            .cloned()
            .collect();
        let user_home = self.root.path().join("user-home");
        std::fs::create_dir_all(&user_home)
            .map_err(|e| Miss::new("the user home can be created", e.to_string()))?;
        let mut path = OsString::new();
        if let Some(bin) = &self.suite.bin_dir {
            path.push(bin.as_os_str());
            path.push(":");
        }
        let caller_path = self
            .caller_env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.clone());
        path.push(caller_path.unwrap_or_else(|| OsString::from("/usr/bin:/bin")));
        env.push(("PATH".into(), path));
        env.push(("HOME".into(), user_home.clone().into()));
        env.push(("XDG_CONFIG_HOME".into(), user_home.join(".config").into()));
        env.push((
            "XDG_DATA_HOME".into(),
            user_home.join(".local/share").into(),
        ));
        env.push((
            "XDG_STATE_HOME".into(),
            user_home.join(".local/state").into(),
        ));
        env.push(("XDG_CACHE_HOME".into(), user_home.join(".cache").into()));
        env.push(("NO_COLOR".into(), "1".into()));
        for (k, v) in &profile.env {
            let v =
                render(v, vars).map_err(|e| Miss::new(format!("profile env {k} renders"), e))?;
            env.push((k.into(), v.into()));
        }
        env.push((profile.home_env.clone().into(), home.into()));
        Ok(env)
    }

    pub(super) fn spawn(&mut self, r: &RunStep, n: u32) -> Result<Proc, Miss> {
        let profile = self.profile();
        let home = self.home(&r.home)?;
        let vars = self.step_vars(r, &home)?;
        let action = profile.actions.get(&r.action).ok_or_else(|| {
            Miss::new(
                format!("the profile has action {:?}", r.action),
                "it does not",
            )
        })?;
        let mut argv = Vec::new();
        for arg in &action.command {
            argv.push(
                render(arg, &vars)
                    .map_err(|e| Miss::new(format!("action {} renders", r.action), e))?,
            );
        }
        if r.json {
            for arg in action.json_args.iter().flatten() {
                argv.push(render(arg, &vars).map_err(|e| Miss::new("json_args render", e))?);
            }
        }
        for (opt, value) in &r.options {
            let opt_args = profile.options.get(opt).ok_or_else(|| {
                Miss::new(format!("the profile has option {opt:?}"), "it does not")
            })?;
            let mut opt_vars = vars.clone();
            opt_vars.insert(
                "value".to_owned(),
                render(value, &vars).map_err(|e| Miss::new("option value renders", e))?,
            );
            for arg in opt_args {
                argv.push(
                    render(arg, &opt_vars)
                        .map_err(|e| Miss::new(format!("option {opt} renders"), e))?,
                );
            }
        }
        let mut env = self.environment(&home, &vars)?;
        for (k, v) in &r.env {
            let name = profile
                .env_names
                .get(k)
                .ok_or_else(|| Miss::new(format!("the profile maps env {k:?}"), "it does not"))?;
            let v = render(v, &vars).map_err(|e| Miss::new(format!("env {k} renders"), e))?;
            env.push((name.into(), v.into()));
        }
        if r.debug_log {
            let log = profile
                .debug_log
                .as_ref()
                .ok_or_else(|| Miss::new("the profile has a debug log", "it does not"))?;
            for (k, v) in &log.env {
                env.push((k.into(), v.into()));
            }
        }
        if let Some(point) = &r.pause {
            let pause = profile
                .pause
                .as_ref()
                .ok_or_else(|| Miss::new("the profile has pause points", "it does not"))?;
            env.push((pause.env.clone().into(), point.into()));
        }
        let stdin = match (&r.stdin, &action.stdin) {
            (Some(s), _) | (None, Some(s)) => {
                Some(render(s, &vars).map_err(|e| Miss::new("stdin renders", e))?)
            }
            (None, None) => None,
        };
        let (program, rest) = argv
            .split_first()
            .ok_or_else(|| Miss::new("the action has a command", "it is empty"))?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(rest)
            .env_clear()
            .envs(env)
            .current_dir(&home)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| Miss::new(format!("{} starts", argv.join(" ")), e.to_string()))?;
        let pid = child.id();
        if let Some(pid) = pid {
            self.pgids.push(pid);
        }
        let strip = self.profile().strip_ansi;
        let stdout = Arc::new(Capture::new(strip));
        let stderr = Arc::new(Capture::new(strip));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(pump(out, Arc::clone(&stdout))));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(pump(err, Arc::clone(&stderr))));
        }
        if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
            readers.push(tokio::spawn(async move {
                input.write_all(text.as_bytes()).await?;
                input.shutdown().await
            }));
        }
        Ok(Proc {
            label: format!("{}#{n}", r.action),
            child,
            stdout,
            stderr,
            readers,
            secret_stdout: action.prints_secret,
            json: r.json,
        })
    }

    /// Waits for a process to exit (within the scenario deadline) and collects its output.
    pub(super) async fn finish(&mut self, mut proc: Proc) -> Result<Output, Miss> {
        let status = match tokio::time::timeout_at(self.deadline, proc.child.wait()).await {
            Ok(status) => status.map_err(|e| {
                Miss::new(format!("{} can be waited for", proc.label), e.to_string())
            })?,
            Err(_elapsed) => {
                let output = self.kill_proc(proc).await?;
                let observed = format!(
                    "still running at the scenario timeout of {} s; killed",
                    self.plan.timeout_secs
                );
                self.current.push(output);
                return Err(Miss::new("the process exits", observed));
            }
        };
        self.collect(proc, status.code(), false).await
    }

    /// Drains a finished process's output readers and records its output.
    pub(super) async fn collect(
        &mut self,
        mut proc: Proc,
        exit: Option<i32>,
        killed: bool,
    ) -> Result<Output, Miss> {
        // A killed process gets a few seconds of its own: the scenario deadline may be past.
        let until = if killed {
            Instant::now() + Duration::from_secs(5)
        } else {
            self.deadline
        };
        for reader in proc.readers.drain(..) {
            // A grandchild that inherited the pipes could keep them open: bounded by the deadline.
            let joined = tokio::time::timeout_at(until, reader).await.map_err(|elapsed| {
                Miss::new(
                    format!("{} closes its output when it exits", proc.label),
                    format!("still open at the scenario timeout ({elapsed}): a child process kept it"),
                )
            })?;
            match joined {
                Ok(Ok(())) => {}
                // A client that exits early may close stdin before we wrote it: that is the
                // client's choice, so a broken pipe on stdin is not a runner failure.
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Ok(Err(e)) => {
                    return Err(Miss::new(
                        format!("{} output can be read", proc.label),
                        e.to_string(),
                    ));
                }
                Err(e) => {
                    return Err(Miss::new(
                        format!("{} output reader finishes", proc.label),
                        e.to_string(),
                    ));
                }
            }
        }
        let output = Output {
            label: if killed {
                format!("{} (killed)", proc.label)
            } else {
                proc.label
            },
            exit,
            stdout: proc.stdout.snapshot(),
            stderr: proc.stderr.snapshot(),
            secret_stdout: proc.secret_stdout,
            json: proc.json,
        };
        self.finished.push(output.clone());
        Ok(output)
    }

    pub(super) async fn kill_proc(&mut self, mut proc: Proc) -> Result<Output, Miss> {
        proc.child
            .start_kill()
            .map_err(|e| Miss::new(format!("{} can be killed", proc.label), e.to_string()))?;
        proc.child
            .wait()
            .await
            .map_err(|e| Miss::new(format!("{} can be waited for", proc.label), e.to_string()))?;
        self.collect(proc, None, true).await
    }

    /// Waits until a capture matches `regex` and returns the first group (or the match).
    pub(super) async fn wait_for(
        &self,
        capture: &Capture,
        label: &str,
        pattern: &regex::Regex,
        what: &str,
    ) -> Result<String, Miss> {
        loop {
            let changed = capture.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            // Read `closed` before the text: once closed, the text is complete.
            let closed = capture.closed.load(std::sync::atomic::Ordering::SeqCst);
            let text = capture.snapshot();
            if let Some(caps) = pattern.captures(&text) {
                let m = caps
                    .get(1)
                    .or_else(|| caps.get(0))
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default();
                return Ok(m);
            }
            if closed {
                return Err(Miss::new(
                    format!("{label} prints {what} (/{pattern}/)"),
                    format!(
                        "it closed its output without it; stderr:\n{}",
                        indent(&text)
                    ),
                ));
            }
            if tokio::time::timeout_at(self.deadline, changed)
                .await
                .is_err()
            {
                return Err(Miss::new(
                    format!("{label} prints {what} (/{pattern}/)"),
                    format!(
                        "nothing matching by the scenario timeout; stderr so far:\n{}",
                        indent(&text)
                    ),
                ));
            }
        }
    }

    /// The stderr capture of the first process of a background group.
    pub(super) fn stderr_of(&self, name: &str) -> Result<(Arc<Capture>, String), Miss> {
        let group = self.background.get(name).ok_or_else(|| {
            Miss::new(
                format!("background process {name:?} is running"),
                "it is not",
            )
        })?;
        let proc = group
            .procs
            .first()
            .ok_or_else(|| Miss::new("the group has a process", "it is empty"))?;
        Ok((Arc::clone(&proc.stderr), proc.label.clone()))
    }

    /// Kills background processes nobody waited for; returns their labels.
    pub(super) async fn stop_background(&mut self) -> Vec<String> {
        let mut leftovers = Vec::new();
        let groups = std::mem::take(&mut self.background);
        for (name, group) in groups {
            for proc in group.procs {
                leftovers.push(format!("{name}: {}", proc.label));
                if let Err(miss) = self.kill_proc(proc).await {
                    leftovers.push(format!("{name}: could not be killed: {}", miss.observed));
                }
            }
        }
        leftovers
    }
}

async fn pump<R: tokio::io::AsyncRead + Unpin>(
    mut reader: R,
    capture: Arc<Capture>,
) -> std::io::Result<()> {
    let mut buf = [0_u8; 8192];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            capture
                .closed
                .store(true, std::sync::atomic::Ordering::SeqCst);
            capture.changed.notify_waiters();
            return Ok(());
        }
        capture
            .text
            .lock()
            .expect("capture lock poisoned")
            .extend_from_slice(&buf[..n]);
        capture.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_sequences_are_stripped_and_text_kept() {
        let coloured = "\x1b[1;32m\u{2713}\x1b[0m Logged in as \x1b[36malice\x1b[39m\x1b[2K\r\n\
                        \x1b]8;;http://127.0.0.1:1/device\x1b\\link\x1b]8;;\x1b\\ \x1b7done\x1b8";
        assert_eq!(
            strip_ansi(coloured),
            "\u{2713} Logged in as alice\r\nlink done"
        );
        assert_eq!(strip_ansi("plain [text] 100%"), "plain [text] 100%");
    }

    #[test]
    fn capture_strips_only_when_the_profile_asks() {
        for (strip, expected) in [(true, "red"), (false, "\x1b[31mred\x1b[0m")] {
            let capture = Capture::new(strip);
            capture
                .text
                .lock()
                .expect("fresh lock")
                .extend_from_slice(b"\x1b[31mred\x1b[0m");
            assert_eq!(capture.snapshot(), expected);
        }
    }
}
