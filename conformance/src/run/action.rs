//! `run`, `parallel` and `wait` steps: a client action's command line and clean environment,
//! its processes started (or kept in the background) and checked.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::process::{Capture, Group, Proc, pump};
use super::{Run, StepResult};
use crate::outcome::Miss;
use crate::profile::render;
use crate::scenario::{RunStep, WaitStep};

impl Run<'_> {
    /// A `run` or `parallel` step: spawn, wait (unless in the background), check.
    pub(super) async fn run_step(
        &mut self,
        i: usize,
        r: &RunStep,
        journal_from: usize,
        parallel: bool,
    ) -> StepResult {
        let at = Some(i);
        let count = if parallel { r.count.unwrap_or(2) } else { 1 };
        let repeat = r.repeat.unwrap_or(1);
        if let Some(name) = &r.background {
            let mut procs = Vec::new();
            for n in 0..count {
                procs.push(self.spawn(r, n).await.map_err(|m| (at, m))?);
            }
            let group = Group {
                procs,
                journal_from,
                expect: r.expect.clone(),
                step: i,
            };
            self.background.insert(name.clone(), group);
            return Ok(());
        }
        let mut outputs = Vec::new();
        for n in 0..repeat {
            let mut procs = Vec::new();
            for k in 0..count {
                procs.push(self.spawn(r, n + k).await.map_err(|m| (at, m))?);
            }
            for proc in procs {
                outputs.push(self.finish(proc).await.map_err(|m| (at, m))?);
            }
        }
        self.current.clone_from(&outputs);
        if let Some(var) = &r.capture {
            let last = outputs
                .last()
                .map(|o| o.stdout.trim().to_owned())
                .unwrap_or_default();
            self.vars.insert(var.clone(), last);
        }
        self.check(&r.expect, &outputs, journal_from)
            .map_err(|(_, m)| (at, m))
    }

    /// A `wait` step: the background group exits; its start step's expectations, then the
    /// wait step's, are checked.
    pub(super) async fn wait_step(&mut self, i: usize, w: &WaitStep) -> StepResult {
        let at = Some(i);
        let group = self
            .background
            .remove(&w.process)
            .ok_or_else(|| {
                Miss::new(
                    format!("process {:?} is running", w.process),
                    "it was already waited for or killed",
                )
            })
            .map_err(|m| (at, m))?;
        let from = group.journal_from;
        let mut outputs = Vec::new();
        for proc in group.procs {
            outputs.push(self.finish(proc).await.map_err(|m| (at, m))?);
        }
        self.current.clone_from(&outputs);
        self.check(&group.expect, &outputs, from)
            .map_err(|(_, m)| (Some(group.step), m))?;
        self.check(&w.expect, &outputs, from)
    }

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

    /// Writes the step's `{token}` to a file of its own (0600, in a 0700 folder of the
    /// scenario's root, outside every home) for an action whose command names `{token_file}`: the way a CLI
    /// reads a secret from a file. Returns the path.
    fn token_file(&self, vars: &BTreeMap<String, String>) -> Result<String, Miss> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let token = vars.get("token").ok_or_else(|| {
            Miss::new(
                "the step gives `{token}` for the action's `{token_file}`",
                "it gives no `token` var",
            )
        })?;
        let dir = self.root.path().join("inputs");
        let path = dir.join("token-file");
        let fail = |e: std::io::Error| {
            Miss::new(
                format!("the token file {} can be written", path.display()),
                e.to_string(),
            )
        };
        if !dir.is_dir() {
            std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
                .create(&dir)
                .map_err(fail)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(fail)?;
        file.write_all(format!("{token}\n").as_bytes())
            .map_err(fail)?;
        Ok(path.display().to_string())
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
        path.push(self.browser_bin.as_os_str());
        path.push(":");
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
        // The stand-in, unless the profile names its own hook (set after, so it wins).
        env.push((
            "BROWSER".into(),
            self.browser_bin.join("cliauth-browser").into(),
        ));
        for (k, v) in &profile.env {
            let v =
                render(v, vars).map_err(|e| Miss::new(format!("profile env {k} renders"), e))?;
            env.push((k.into(), v.into()));
        }
        env.push((profile.home_env.clone().into(), home.into()));
        Ok(env)
    }

    pub(super) async fn spawn(&mut self, r: &RunStep, n: u32) -> Result<Proc, Miss> {
        let profile = self.profile();
        let home = self.home(&r.home)?;
        let mut vars = self.step_vars(r, &home)?;
        let action = profile.actions.get(&r.action).ok_or_else(|| {
            Miss::new(
                format!("the profile has action {:?}", r.action),
                "it does not",
            )
        })?;
        if action
            .command
            .iter()
            .chain(&action.stdin)
            .any(|a| a.contains("{token_file}"))
        {
            let file = self.token_file(&vars)?;
            vars.insert("token_file".to_owned(), file);
        }
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
            .stdin(if stdin.is_some() || action.stdin_open {
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
            self.argv.started(pid, &argv, action.secret_in_argv);
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
        let kept_stdin = match (stdin, child.stdin.take()) {
            (Some(text), Some(mut input)) if action.stdin_open => {
                // Written now, then kept for the paste of a `browser` step.
                input.write_all(text.as_bytes()).await.map_err(|e| {
                    Miss::new(format!("{} reads its stdin", r.action), e.to_string())
                })?;
                input.flush().await.map_err(|e| {
                    Miss::new(format!("{} reads its stdin", r.action), e.to_string())
                })?;
                Some(input)
            }
            (Some(text), Some(mut input)) => {
                readers.push(tokio::spawn(async move {
                    input.write_all(text.as_bytes()).await?;
                    input.shutdown().await
                }));
                None
            }
            (None, input) if action.stdin_open => input,
            (_, _) => None,
        };
        Ok(Proc {
            label: format!("{}#{n}", r.action),
            child,
            stdout,
            stderr,
            readers,
            stdin: kept_stdin,
            secret_stdout: action.prints_secret,
            json: r.json,
            started: tokio::time::Instant::now(),
            max_wall: r
                .expect
                .max_wall_ms
                .map(|ms| Duration::from_millis(ms.saturating_mul(self.wall_factor()))),
        })
    }
}
