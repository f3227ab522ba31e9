//! Runs one scenario: starts its mock (and decoy), drives the client as OS processes, checks
//! every step's expectations, then the invariants.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cliauth_mock::{JournalEntry, MockServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::invariants;
pub use crate::outcome::Failure;
use crate::outcome::{Miss, Output, indent, indent_by};
use crate::profile::{Profile, path_name, render};
use crate::scenario::{
    AdminAction, AdminStep, BrowserFlow, BrowserStep, Decision, Expect, FileCheck, FsAction,
    FsStep, KillStep, ParallelStep, ReleaseStep, RunStep, Scenario, Scope, Step, count_ok,
    count_text, parse_mode,
};

/// Where and how the suite runs clients.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The client profile.
    pub profile: Profile,
    /// Folder put first on the clients' `PATH` (holds the reference client as `cliauth`).
    pub bin_dir: Option<PathBuf>,
}

/// Captured stream with a wake-up for waiters.
#[derive(Debug, Default)]
struct Capture {
    /// Remove ANSI escape sequences when reading (the profile's `strip_ansi`).
    strip_ansi: bool,
    text: Mutex<Vec<u8>>,
    changed: Notify,
    /// The stream reached its end (the process closed it or exited).
    closed: std::sync::atomic::AtomicBool,
}

impl Capture {
    fn new(strip_ansi: bool) -> Self {
        Self {
            strip_ansi,
            ..Self::default()
        }
    }

    /// The text so far; escape sequences are stripped here rather than as bytes arrive, so a
    /// sequence split across two reads is still removed whole.
    fn snapshot(&self) -> String {
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

struct Proc {
    label: String,
    child: tokio::process::Child,
    stdout: Arc<Capture>,
    stderr: Arc<Capture>,
    readers: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    secret_stdout: bool,
    json: bool,
}

struct Group {
    procs: Vec<Proc>,
    journal_from: usize,
    expect: Expect,
    step: usize,
}

/// One scenario in progress.
struct Run<'a> {
    suite: &'a Suite,
    scenario: &'a Scenario,
    server: MockServer,
    decoy: Option<MockServer>,
    root: tempfile::TempDir,
    homes: BTreeMap<String, PathBuf>,
    vars: BTreeMap<String, String>,
    caller_env: Vec<(OsString, OsString)>,
    background: BTreeMap<String, Group>,
    finished: Vec<Output>,
    /// Outputs of the step being checked, for the report.
    current: Vec<Output>,
    pgids: Vec<u32>,
    user_codes: Vec<String>,
    deadline: Instant,
    _busy_port: std::net::TcpListener,
}

impl Suite {
    /// Runs one scenario to the end; `Err` carries the failure report.
    pub async fn run(&self, scenario: &Scenario) -> Result<(), Failure> {
        let mut run = match Run::start(self, scenario).await {
            Ok(run) => run,
            Err(miss) => {
                return Err(Failure {
                    report: format!(
                        "setup failed\n  expected: {}\n  observed: {}\n",
                        miss.expectation, miss.observed
                    ),
                });
            }
        };
        let result = run.steps().await;
        let leftovers = run.stop_background().await;
        let after = if result.is_ok() {
            run.invariants(&leftovers)
        } else {
            // The scenario failed already; still leave no process of it behind.
            invariants::kill_strays(&invariants::stray_processes(&run.pgids));
            Ok(())
        };
        let outcome = result.and(after);
        let report = outcome
            .as_ref()
            .err()
            .map(|(step, miss)| run.report(*step, miss));
        if let Some(decoy) = run.decoy.take() {
            decoy.shutdown().await;
        }
        let Run { server, .. } = run;
        server.shutdown().await;
        match report {
            Some(report) => Err(Failure { report }),
            None => Ok(()),
        }
    }
}

type StepResult = Result<(), (Option<usize>, Miss)>;

impl<'a> Run<'a> {
    async fn start(suite: &'a Suite, scenario: &'a Scenario) -> Result<Run<'a>, Miss> {
        let profile = &suite.profile;
        let mut config = scenario.server.clone();
        if config.tokens.access_ttl == 0 && config.tokens.leeway < profile.min_leeway {
            config.tokens.leeway = profile.min_leeway;
        }
        let server = MockServer::builder()
            .dialect(profile.dialect)
            .config(config)
            .start()
            .await
            .map_err(|e| {
                Miss::new(
                    "the mock server starts with the scenario's [server] table",
                    e.to_string(),
                )
            })?;
        let mut caller_env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let decoy = match &scenario.decoy {
            Some(d) => {
                let decoy = MockServer::builder()
                    .config(cliauth_mock::Config::default())
                    .start()
                    .await
                    .map_err(|e| Miss::new("the decoy server starts", e.to_string()))?;
                let vars: BTreeMap<String, String> = [("decoy_url".to_owned(), decoy.url())].into();
                for (name, value) in &d.caller_env {
                    let value = render(value, &vars)
                        .map_err(|e| Miss::new("decoy.caller_env renders", e))?;
                    caller_env.retain(|(k, _)| k != name.as_str());
                    caller_env.push((name.into(), value.into()));
                }
                Some(decoy)
            }
            None => None,
        };
        let root = tempfile::Builder::new()
            .prefix("cliauth-conformance-")
            .tempdir()
            .map_err(|e| Miss::new("a temp folder can be created", e.to_string()))?;
        let busy = std::net::TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Miss::new("a loopback port can be bound", e.to_string()))?;
        let busy_port = busy
            .local_addr()
            .map_err(|e| Miss::new("the bound port is known", e.to_string()))?
            .port();
        let mut vars = BTreeMap::new();
        vars.insert("server_url".to_owned(), server.url());
        vars.insert("issuer".to_owned(), server.issuer());
        vars.insert("busy_port".to_owned(), busy_port.to_string());
        // A port nothing listens on: bound, noted, released (connects are refused).
        let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Miss::new("a loopback port can be bound", e.to_string()))?
            .port();
        vars.insert("closed_port".to_owned(), closed_port.to_string());
        for (name, var) in &suite.profile.env_names {
            vars.insert(format!("env_{name}"), var.clone());
        }
        let deadline = Instant::now()
            + Duration::from_secs(
                scenario
                    .timeout
                    .saturating_mul(suite.profile.timeout_factor),
            );
        Ok(Run {
            suite,
            scenario,
            server,
            decoy,
            root,
            homes: BTreeMap::new(),
            vars,
            caller_env,
            background: BTreeMap::new(),
            finished: Vec::new(),
            current: Vec::new(),
            pgids: Vec::new(),
            user_codes: Vec::new(),
            deadline,
            _busy_port: busy,
        })
    }

    fn profile(&self) -> &'a Profile {
        &self.suite.profile
    }

    async fn steps(&mut self) -> StepResult {
        for (i, step) in self.scenario.steps.iter().enumerate() {
            self.current.clear();
            let at = Some(i);
            let journal_from = self.server.journal().len();
            match step {
                Step::Run(r) => self.run_step(i, r, journal_from, false).await,
                Step::Parallel(ParallelStep(r)) => self.run_step(i, r, journal_from, true).await,
                Step::Wait(w) => {
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
                Step::Admin(a) => {
                    self.admin(a).await.map_err(|m| (at, m))?;
                    self.check(&a.expect, &[], journal_from)
                }
                Step::Browser(b) => {
                    self.browser(b).await.map_err(|m| (at, m))?;
                    self.check(&b.expect, &[], journal_from)
                }
                Step::Kill(k) => {
                    self.kill(k).await.map_err(|m| (at, m))?;
                    self.check(&k.expect, &[], journal_from)
                }
                Step::AwaitPause(a) => self
                    .await_pause(&a.process, &a.point)
                    .await
                    .map_err(|m| (at, m)),
                Step::AwaitLog(a) => self
                    .await_log(&a.process, &a.word)
                    .await
                    .map_err(|m| (at, m)),
                Step::Release(r) => self.release(r).await,
                Step::Fs(f) => self.fs(f),
                Step::Check(c) => self.check(&c.expect, &[], journal_from),
            }
            .map_err(|(s, m)| (s.or(at), m))?;
        }
        Ok(())
    }

    async fn run_step(
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
                procs.push(self.spawn(r, n).map_err(|m| (at, m))?);
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
                procs.push(self.spawn(r, n + k).map_err(|m| (at, m))?);
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

    fn home(&mut self, name: &str) -> Result<PathBuf, Miss> {
        if let Some(path) = self.homes.get(name) {
            return Ok(path.clone());
        }
        let path = self.root.path().join("homes").join(name);
        std::fs::create_dir_all(&path)
            .map_err(|e| Miss::new(format!("home {name:?} can be created"), e.to_string()))?;
        self.homes.insert(name.to_owned(), path.clone());
        Ok(path)
    }

    /// The vars a template of this step sees: the run's vars, the home, the step's vars.
    fn step_vars(&self, r: &RunStep, home: &Path) -> Result<BTreeMap<String, String>, Miss> {
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
    fn environment(
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

    fn spawn(&mut self, r: &RunStep, n: u32) -> Result<Proc, Miss> {
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
    async fn finish(&mut self, mut proc: Proc) -> Result<Output, Miss> {
        let status = match tokio::time::timeout_at(self.deadline, proc.child.wait()).await {
            Ok(status) => status.map_err(|e| {
                Miss::new(format!("{} can be waited for", proc.label), e.to_string())
            })?,
            Err(_elapsed) => {
                let output = self.kill_proc(proc).await?;
                let observed = format!(
                    "still running at the scenario timeout of {} s; killed",
                    self.scenario
                        .timeout
                        .saturating_mul(self.profile().timeout_factor)
                );
                self.current.push(output);
                return Err(Miss::new("the process exits", observed));
            }
        };
        self.collect(proc, status.code(), false).await
    }

    /// Drains a finished process's output readers and records its output.
    async fn collect(
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

    async fn kill_proc(&mut self, mut proc: Proc) -> Result<Output, Miss> {
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
    async fn wait_for(
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
    fn stderr_of(&self, name: &str) -> Result<(Arc<Capture>, String), Miss> {
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

    async fn browser(&mut self, b: &BrowserStep) -> Result<(), Miss> {
        let (stderr, label) = self.stderr_of(&b.process)?;
        let prompts = &self.profile().prompts;
        match b.flow {
            BrowserFlow::Device => {
                let re = compile(prompts.user_code.as_deref(), "prompts.user_code")?;
                let code = self.wait_for(&stderr, &label, &re, "a user code").await?;
                self.user_codes.push(code.clone());
                let result = match b.decision {
                    Decision::Approve => self.server.approve_device(Some(&code)),
                    Decision::Deny => self.server.deny_device(Some(&code)),
                    Decision::TamperState => {
                        return Err(Miss::new(
                            "a device step approves or denies",
                            "tamper_state is for the authorize flow",
                        ));
                    }
                };
                result.map_err(|e| {
                    Miss::new(
                        format!("the mock accepts user code {code:?}"),
                        e.to_string(),
                    )
                })
            }
            BrowserFlow::Authorize => {
                let re = compile(prompts.authorize_url.as_deref(), "prompts.authorize_url")?;
                let url = self
                    .wait_for(&stderr, &label, &re, "an authorize URL")
                    .await?;
                if b.decision == Decision::Deny {
                    return Err(Miss::new(
                        "a browser step approves or tampers",
                        "to deny in the browser flow, script [server.consent] action = \"deny\"",
                    ));
                }
                let http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| Miss::new("an HTTP client can be built", e.to_string()))?;
                let authorize = loopback_url(&url)?;
                let resp = http
                    .get(authorize)
                    .send()
                    .await
                    .map_err(|e| Miss::new("the authorize URL answers", e.to_string()))?;
                let status = resp.status();
                let location = resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let Some(location) = location.filter(|_| status.is_redirection()) else {
                    let body = resp
                        .text()
                        .await
                        .unwrap_or_else(|e| format!("<body unreadable: {e}>"));
                    return Err(Miss::new(
                        "the authorize URL redirects to the client",
                        format!("{status}: {body}"),
                    ));
                };
                let mut callback = loopback_url(&location)?;
                if b.decision == Decision::TamperState {
                    let pairs: Vec<(String, String)> = callback
                        .query_pairs()
                        .map(|(k, v)| {
                            let v = if k == "state" {
                                format!("tampered-{v}")
                            } else {
                                v.into_owned()
                            };
                            (k.into_owned(), v)
                        })
                        .collect();
                    callback.query_pairs_mut().clear().extend_pairs(pairs);
                }
                // The client may answer the callback or close the connection after a
                // refusal; either way its own exit status is what the scenario checks.
                match http.get(callback).send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        self.vars
                            .insert("callback_status".to_owned(), status.as_u16().to_string());
                    }
                    Err(e) => {
                        self.vars
                            .insert("callback_status".to_owned(), format!("error: {e}"));
                    }
                }
                Ok(())
            }
        }
    }

    async fn kill(&mut self, k: &KillStep) -> Result<(), Miss> {
        let (stderr, label) = self.stderr_of(&k.process)?;
        let wait_text = match (&k.at_pause, &k.on_stderr) {
            (Some(point), _) => Some(self.pause_line(point)?),
            (None, Some(text)) => Some(text.clone()),
            (None, None) => None,
        };
        if let Some(text) = wait_text {
            let re = regex::Regex::new(&regex::escape(&text))
                .map_err(|e| Miss::new("kill text compiles", e.to_string()))?;
            self.wait_for(&stderr, &label, &re, &format!("{text:?}"))
                .await?;
        }
        let group = self.background.remove(&k.process).ok_or_else(|| {
            Miss::new(
                format!("background process {:?} is running", k.process),
                "it is not",
            )
        })?;
        for proc in group.procs {
            let out = self.kill_proc(proc).await?;
            self.current.push(out);
        }
        Ok(())
    }

    fn pause_line(&self, point: &str) -> Result<String, Miss> {
        let pause = self
            .profile()
            .pause
            .as_ref()
            .ok_or_else(|| Miss::new("the profile has pause points", "it does not"))?;
        let vars: BTreeMap<String, String> = [("point".to_owned(), point.to_owned())].into();
        render(&pause.line, &vars).map_err(|e| Miss::new("pause.line renders", e))
    }

    /// Waits until the first process of a background group printed the pause line of `point`.
    async fn await_pause(&self, process: &str, point: &str) -> Result<(), Miss> {
        let (stderr, label) = self.stderr_of(process)?;
        let line = self.pause_line(point)?;
        let re = regex::Regex::new(&regex::escape(&line))
            .map_err(|e| Miss::new("pause line compiles", e.to_string()))?;
        self.wait_for(&stderr, &label, &re, &format!("{line:?}"))
            .await
            .map(drop)
    }

    /// Waits until every process of a background group wrote a debug-log word.
    async fn await_log(&self, process: &str, word: &str) -> Result<(), Miss> {
        let words = &self
            .profile()
            .debug_log
            .as_ref()
            .ok_or_else(|| Miss::new("the profile has a debug log", "it does not"))?
            .words;
        let concrete = words.get(word).ok_or_else(|| {
            Miss::new(format!("the profile maps log word {word:?}"), "it does not")
        })?;
        let re = regex::Regex::new(&format!(
            r"(?:^|[^A-Za-z0-9_]){}(?:$|[^A-Za-z0-9_])",
            regex::escape(concrete)
        ))
        .map_err(|e| Miss::new("log word compiles", e.to_string()))?;
        let group = self.background.get(process).ok_or_else(|| {
            Miss::new(
                format!("background process {process:?} is running"),
                "it is not",
            )
        })?;
        for proc in &group.procs {
            self.wait_for(
                &proc.stderr,
                &proc.label,
                &re,
                &format!("debug-log word {concrete:?}"),
            )
            .await?;
        }
        Ok(())
    }

    async fn release(&mut self, r: &ReleaseStep) -> StepResult {
        let inner = async {
            if let Some(process) = &r.process {
                self.await_pause(process, &r.point).await?;
            }
            let pause = self
                .profile()
                .pause
                .as_ref()
                .ok_or_else(|| Miss::new("the profile has pause points", "it does not"))?;
            let vars: BTreeMap<String, String> = [("point".to_owned(), r.point.clone())].into();
            let file = render(&pause.release_file, &vars)
                .map_err(|e| Miss::new("pause.release_file renders", e))?;
            let home = self.home(&r.home)?;
            std::fs::write(home.join(&file), b"").map_err(|e| {
                Miss::new(format!("release file {file} can be written"), e.to_string())
            })
        };
        inner.await.map_err(|m| (None, m))
    }

    async fn admin(&mut self, a: &AdminStep) -> Result<(), Miss> {
        let s = &self.server;
        let fail = |e: &dyn std::fmt::Display| {
            Miss::new(format!("admin {} succeeds", a.action.op()), e.to_string())
        };
        match &a.action {
            AdminAction::AdvanceClock { seconds } => {
                s.advance_clock(Duration::from_secs(*seconds));
            }
            AdminAction::ApproveDevice { user_code } => s
                .approve_device(user_code.as_deref())
                .map_err(|e| fail(&e))?,
            AdminAction::DenyDevice { user_code } => {
                s.deny_device(user_code.as_deref()).map_err(|e| fail(&e))?;
            }
            AdminAction::AddRule(rule) => s.add_rule(rule.as_ref().clone()),
            AdminAction::ClearRules => s.clear_rules(),
            AdminAction::ReleaseHold { name } => {
                // The held request is the event to wait for; the mock offers no notification,
                // so its count is polled until the scenario deadline.
                while s.held(name) == 0 {
                    if Instant::now() >= self.deadline {
                        return Err(Miss::new(
                            format!("rule {name:?} holds a request before the scenario timeout"),
                            "it held none",
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                s.release_hold(name);
            }
            AdminAction::RevokeAll { username: user } => {
                if s.revoke_all(user) == 0 {
                    return Err(Miss::new(
                        format!("user {user:?} has tokens to revoke"),
                        "none were revoked",
                    ));
                }
            }
            AdminAction::ExpireAccessTokens => {
                if s.expire_access_tokens() == 0 {
                    return Err(Miss::new(
                        "there are access tokens to expire",
                        "none were expired",
                    ));
                }
            }
        }
        Ok(())
    }

    fn fs(&mut self, f: &FsStep) -> StepResult {
        let mut inner = || -> Result<(), Miss> {
            let home = self.home(&f.home)?;
            let paths = self.resolve(&home, &f.path)?;
            let [path] = paths.as_slice() else {
                return Err(Miss::new(
                    format!("{} names exactly one file", f.path),
                    format!("it matches {paths:?}"),
                ));
            };
            let fail = |e: std::io::Error| {
                Miss::new(
                    format!("fs {} on {}", f.action.op(), path.display()),
                    e.to_string(),
                )
            };
            match &f.action {
                FsAction::Chmod { mode } => {
                    use std::os::unix::fs::PermissionsExt as _;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))
                        .map_err(fail)?;
                }
                FsAction::FlipByte { offset } => {
                    let mut bytes = std::fs::read(path).map_err(fail)?;
                    let len = i64::try_from(bytes.len())
                        .map_err(|e| Miss::new("file length fits", e.to_string()))?;
                    if len == 0 {
                        return Err(Miss::new(
                            format!("{} has a byte to flip", path.display()),
                            "it is empty",
                        ));
                    }
                    let at = match *offset {
                        Some(o) if o < 0 => len + o,
                        Some(o) => o,
                        None => len / 2,
                    };
                    let at = usize::try_from(at.clamp(0, len - 1))
                        .map_err(|e| Miss::new("offset fits", e.to_string()))?;
                    bytes[at] ^= 0xff;
                    std::fs::write(path, bytes).map_err(fail)?;
                }
                FsAction::Truncate => {
                    let bytes = std::fs::read(path).map_err(fail)?;
                    std::fs::write(path, &bytes[..bytes.len() / 2]).map_err(fail)?;
                }
                FsAction::Write { content } => {
                    std::fs::write(path, content).map_err(fail)?;
                }
                FsAction::ReplaceWithFolder => {
                    use std::os::unix::fs::PermissionsExt as _;
                    std::fs::remove_file(path).map_err(fail)?;
                    std::fs::create_dir(path).map_err(fail)?;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                        .map_err(fail)?;
                }
                FsAction::Delete => {
                    if path.is_dir() {
                        std::fs::remove_dir_all(path).map_err(fail)?;
                    } else {
                        std::fs::remove_file(path).map_err(fail)?;
                    }
                }
            }
            Ok(())
        };
        inner().map_err(|m| (None, m))
    }

    /// Resolves a scenario path (`{name}` = profile path; `*` in the last component) in a home.
    fn resolve(&self, home: &Path, path: &str) -> Result<Vec<PathBuf>, Miss> {
        let rel = match path_name(path) {
            Some(name) => self
                .profile()
                .paths
                .get(name)
                .ok_or_else(|| {
                    Miss::new(format!("the profile names path {name:?}"), "it does not")
                })?
                .clone(),
            None => path.to_owned(),
        };
        let full = home.join(&rel);
        let Some(file_name) = full.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Ok(vec![full]);
        };
        if !file_name.contains('*') {
            return Ok(if full.exists() || full.is_symlink() {
                vec![full]
            } else {
                Vec::new()
            });
        }
        let dir = full
            .parent()
            .map_or_else(|| home.to_path_buf(), Path::to_path_buf);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Miss::new(
                    format!("{} can be listed", dir.display()),
                    e.to_string(),
                ));
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| {
                Miss::new(format!("{} can be listed", dir.display()), e.to_string())
            })?;
            if glob_match(&file_name, &entry.file_name().to_string_lossy()) {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }

    /// Checks a step's expectations against its outputs and the journal.
    fn check(&mut self, expect: &Expect, outputs: &[Output], journal_from: usize) -> StepResult {
        self.check_inner(expect, outputs, journal_from)
            .map_err(|m| (None, m))
    }

    fn check_inner(
        &mut self,
        expect: &Expect,
        outputs: &[Output],
        journal_from: usize,
    ) -> Result<(), Miss> {
        let profile = self.profile();
        let expect = &self.render_expect(expect)?;
        for out in outputs {
            crate::expect::check_output(profile, expect, out)?;
        }
        if expect.identical
            && let Some(first) = outputs.first()
        {
            {
                for out in &outputs[1..] {
                    if (out.exit, &out.stdout, &out.stderr)
                        != (first.exit, &first.stdout, &first.stderr)
                    {
                        return Err(Miss::new(
                            format!("{} prints exactly what {} printed", out.label, first.label),
                            format!(
                                "exit {:?} vs {:?}\nstdout:\n{}\nvs\n{}\nstderr:\n{}\nvs\n{}",
                                out.exit,
                                first.exit,
                                indent(&out.stdout),
                                indent(&first.stdout),
                                indent(&out.stderr),
                                indent(&first.stderr)
                            ),
                        ));
                    }
                }
            }
        }
        if !expect.journal.is_empty() {
            let journal = self.server.journal();
            for jc in &expect.journal {
                let from = if jc.scope == Scope::Step {
                    journal_from.min(journal.len())
                } else {
                    0
                };
                let n = journal[from..]
                    .iter()
                    .filter(|e| journal_matches(jc, e))
                    .count() as u64;
                if !count_ok(n, jc.count, jc.min, jc.max) {
                    return Err(Miss::new(
                        format!(
                            "journal entries {} ({:?} scope): {}",
                            describe_journal(jc),
                            jc.scope,
                            count_text(jc.count, jc.min, jc.max)
                        ),
                        format!("{n}"),
                    ));
                }
            }
        }
        if !expect.log.is_empty() {
            let words = &profile
                .debug_log
                .as_ref()
                .ok_or_else(|| Miss::new("the profile has a debug log", "it does not"))?
                .words;
            for lc in &expect.log {
                let word = words.get(&lc.word).ok_or_else(|| {
                    Miss::new(
                        format!("the profile maps log word {:?}", lc.word),
                        "it does not",
                    )
                })?;
                let n: u64 = outputs.iter().map(|o| count_word(&o.stderr, word)).sum();
                if !count_ok(n, lc.count, lc.min, lc.max) {
                    return Err(Miss::new(
                        format!(
                            "debug-log word {word:?} over {} process(es): {}",
                            outputs.len(),
                            count_text(lc.count, lc.min, lc.max)
                        ),
                        format!("{n}"),
                    ));
                }
            }
        }
        for fc in &expect.files {
            self.check_file(fc)?;
        }
        Ok(())
    }

    /// Substitutes the run's variables (`{token}` captured earlier, ...) in text expectations.
    fn render_expect(&self, expect: &Expect) -> Result<Expect, Miss> {
        let mut out = expect.clone();
        for list in [
            &mut out.stdout_contains,
            &mut out.stdout_not_contains,
            &mut out.stderr_contains,
            &mut out.stderr_not_contains,
        ] {
            for text in list.iter_mut() {
                *text = render(text, &self.vars)
                    .map_err(|e| Miss::new(format!("expectation {text:?} renders"), e))?;
            }
        }
        for value in out.json.values_mut() {
            if let toml::Value::String(text) = value {
                *text = render(text, &self.vars)
                    .map_err(|e| Miss::new(format!("expectation {text:?} renders"), e))?;
            }
        }
        Ok(out)
    }

    fn check_file(&mut self, fc: &FileCheck) -> Result<(), Miss> {
        use std::os::unix::fs::PermissionsExt as _;
        let home = self.home(&fc.home)?;
        let matches = self.resolve(&home, &fc.path)?;
        if let Some(exists) = fc.exists
            && exists == matches.is_empty()
        {
            let observed = if matches.is_empty() {
                "no such file".to_owned()
            } else {
                format!("found {matches:?}")
            };
            return Err(Miss::new(format!("{} exists: {exists}", fc.path), observed));
        }
        if let Some(mode) = &fc.mode {
            let want = parse_mode(mode).map_err(|e| Miss::new("mode parses", e))?;
            if matches.is_empty() {
                return Err(Miss::new(
                    format!("{} has mode {mode}", fc.path),
                    "no such file",
                ));
            }
            for path in &matches {
                let meta = std::fs::metadata(path).map_err(|e| {
                    Miss::new(format!("{} can be read", path.display()), e.to_string())
                })?;
                let got = meta.permissions().mode() & 0o7777;
                if got != want {
                    return Err(Miss::new(
                        format!("{} has mode {mode}", path.display()),
                        format!("{got:04o}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Kills background processes nobody waited for; returns their labels.
    async fn stop_background(&mut self) -> Vec<String> {
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

    fn invariants(&mut self, leftovers: &[String]) -> StepResult {
        let inner = || -> Result<(), Miss> {
            if !leftovers.is_empty() {
                return Err(Miss::new(
                    "invariant: every background process was waited for or killed by the scenario",
                    leftovers.join(", "),
                ));
            }
            let strays = invariants::stray_processes(&self.pgids);
            if !strays.is_empty() {
                invariants::kill_strays(&strays);
                return Err(Miss::new(
                    "invariant: no process is left running",
                    format!("still running: {strays:?}"),
                ));
            }
            let secrets = self.secrets();
            invariants::no_leaks(&self.finished, &secrets)?;
            let profile = self.profile();
            if let Some(dir) = profile.paths.get("credentials_dir") {
                for home in self.homes.values() {
                    invariants::credential_modes(&home.join(dir))?;
                }
            }
            if let Some(decoy) = &self.decoy {
                let journal = decoy.journal();
                if !journal.is_empty() {
                    return Err(Miss::new(
                        "invariant: the decoy server the caller's variables point at is never contacted",
                        format!("{} request(s): {}", journal.len(), journal_text(&journal)),
                    ));
                }
            }
            Ok(())
        };
        inner().map_err(|m| (None, m))
    }

    /// Every secret that must not appear in output.
    fn secrets(&self) -> Vec<String> {
        let mut secrets = self.server.issued_secrets();
        if let Some(decoy) = &self.decoy {
            secrets.extend(decoy.issued_secrets());
        }
        secrets.extend(self.scenario.secrets.iter().cloned());
        secrets.extend(
            self.scenario
                .server
                .users
                .iter()
                .map(|u| u.password.clone()),
        );
        if self.scenario.server.users.is_empty() {
            secrets.extend(
                cliauth_mock::Config::default()
                    .users
                    .into_iter()
                    .map(|u| u.password),
            );
        }
        for step in self.scenario.actions() {
            for (k, v) in step.vars.iter().chain(&step.env) {
                if k.contains("password") || k.contains("token") || k.contains("passphrase") {
                    // A template that does not render never reached a client (its step
                    // failed first); the raw text is scanned instead.
                    match render(v, &self.vars) {
                        Ok(rendered) => secrets.push(rendered),
                        Err(_unrendered) => secrets.push(v.clone()),
                    }
                }
            }
        }
        // A user code is shown to the user by design (RFC 8628 §3.3).
        secrets.retain(|s| s.len() >= 6 && !self.user_codes.contains(s));
        secrets.sort();
        secrets.dedup();
        secrets
    }

    fn report(&self, step: Option<usize>, miss: &Miss) -> String {
        let secrets = self.secrets();
        let mask = |text: &str| invariants::mask(text, &secrets);
        let mut lines = Vec::new();
        match step.and_then(|i| self.scenario.steps.get(i).map(|s| (i, s))) {
            Some((i, s)) => {
                let detail = s.as_kind().detail();
                lines.push(format!("step {} (kind = \"{}\"{detail})", i + 1, s.kind()));
            }
            None => lines.push("after the last step".to_owned()),
        }
        lines.push(format!("  expected: {}", mask(&miss.expectation)));
        lines.push(format!("  observed: {}", mask(&miss.observed)));
        let outputs = if self.current.is_empty() {
            &self.finished
        } else {
            &self.current
        };
        let shown = outputs.len().saturating_sub(4);
        if shown > 0 {
            lines.push(format!(
                "client output ({shown} earlier process(es) not shown):"
            ));
        } else {
            lines.push("client output:".to_owned());
        }
        for o in &outputs[shown..] {
            let exit = o
                .exit
                .map_or_else(|| "killed by a signal".to_owned(), |c| c.to_string());
            lines.push(format!("  [{}] exit {exit}", o.label));
            lines.push(format!("    stdout:\n{}", indent_by(&mask(&o.stdout), 6)));
            lines.push(format!("    stderr:\n{}", indent_by(&mask(&o.stderr), 6)));
        }
        let journal = self.server.journal();
        lines.push(format!(
            "mock journal ({} entries):\n{}",
            journal.len(),
            mask(&journal_text(&journal))
        ));
        lines.push(String::new());
        lines.join("\n")
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

fn compile(pattern: Option<&str>, what: &str) -> Result<regex::Regex, Miss> {
    let pattern =
        pattern.ok_or_else(|| Miss::new(format!("the profile has {what}"), "it does not"))?;
    regex::Regex::new(pattern).map_err(|e| Miss::new(format!("{what} compiles"), e.to_string()))
}

/// Parses a URL and refuses anything but loopback (nothing leaves 127.0.0.1).
fn loopback_url(text: &str) -> Result<url::Url, Miss> {
    let url = url::Url::parse(text)
        .map_err(|e| Miss::new(format!("{text:?} is a URL"), e.to_string()))?;
    match url.host_str() {
        Some("127.0.0.1" | "localhost" | "[::1]") => Ok(url),
        other => Err(Miss::new(
            "the URL points at loopback",
            format!("host {other:?}"),
        )),
    }
}

fn journal_matches(jc: &crate::scenario::JournalCount, e: &JournalEntry) -> bool {
    jc.method
        .as_ref()
        .is_none_or(|m| m.eq_ignore_ascii_case(&e.method))
        // In a dialect, a request also counts under the cliauth path it stands for.
        && jc
            .path
            .as_ref()
            .is_none_or(|p| *p == e.path || e.canonical_path.as_ref() == Some(p))
        && jc
            .path_prefix
            .as_ref()
            .is_none_or(|p| e.path.starts_with(p.as_str()))
        && jc
            .grant_type
            .as_ref()
            .is_none_or(|g| e.grant_type.as_ref() == Some(g))
        && jc.status.is_none_or(|s| s == e.status)
        && jc
            .outcome
            .as_ref()
            .is_none_or(|o| e.outcome.as_ref() == Some(o))
        && jc.rule.as_ref().is_none_or(|r| e.rule.as_ref() == Some(r))
        && jc
            .min_poll_gap_ms
            .is_none_or(|m| e.poll_gap_ms.is_some_and(|g| g >= m))
}

fn describe_journal(jc: &crate::scenario::JournalCount) -> String {
    let mut parts = Vec::new();
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            parts.push(format!("{k}={v}"));
        }
    };
    add("method", jc.method.clone());
    add("path", jc.path.clone());
    add("path_prefix", jc.path_prefix.clone());
    add("grant_type", jc.grant_type.clone());
    add("status", jc.status.map(|s| s.to_string()));
    add("outcome", jc.outcome.clone());
    add("rule", jc.rule.clone());
    add("min_poll_gap_ms", jc.min_poll_gap_ms.map(|m| m.to_string()));
    if parts.is_empty() {
        "(any)".to_owned()
    } else {
        parts.join(" ")
    }
}

fn journal_text(journal: &[JournalEntry]) -> String {
    journal
        .iter()
        .map(|e| {
            serde_json::to_string(e).unwrap_or_else(|err| format!("<unserializable entry: {err}>"))
        })
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Counts the lines that hold `word` as a whole word (letters, digits and `_` are word
/// characters): the contract puts each event word verbatim in the line for its event.
pub(crate) fn count_word(text: &str, word: &str) -> u64 {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let holds = |line: &str| {
        line.match_indices(word).any(|(at, _)| {
            let before = line[..at].chars().next_back();
            let after = line[at + word.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
    };
    text.lines().filter(|line| holds(line)).count() as u64
}

/// Matches a file name against a pattern with `*` wildcards.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == name;
    };
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
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

    #[test]
    fn words_are_counted_whole() {
        assert_eq!(
            count_word(
                "lock_timeout\nlock_timeout_adopted\n x lock_timeout=1",
                "lock_timeout"
            ),
            2
        );
        assert_eq!(
            count_word(
                "DEBUG http_request event=\"http_request\"\nhttp_request",
                "http_request"
            ),
            2
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("*.store", "a.store"));
        assert!(glob_match("store-*", "store-127"));
        assert!(!glob_match("store-*", "lock-127"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(glob_match("exact", "exact"));
    }

    #[test]
    fn only_loopback_urls_are_followed() {
        assert!(loopback_url("http://127.0.0.1:1/x").is_ok());
        assert!(loopback_url("https://example.com/").is_err());
    }
}
