//! Runs one scenario. The story, in the order [`Suite::run`] tells it:
//!
//! 1. **Plan** (`plan.rs`): before anything starts, the scenario is worked out against the
//!    profile once: the mock configuration, the time budget, every line a step waits for
//!    (compiled), the secrets known in advance. A profile that cannot serve a step fails here.
//! 2. **Start** (`Run::start`): the mock (and a decoy for hermeticity scenarios), a temp
//!    root for the homes, the template variables (`{server_url}`, `{busy_port}`, ...).
//! 3. **Steps** (`Run::steps`): one arm per step kind, in order. Client actions
//!    (`action.rs`: command line, clean environment, processes; `process.rs`: capture, wait,
//!    kill), the user's browser (`browser.rs`), background control and the mock's admin API
//!    (`control.rs`), file damage (`fs.rs`); then the step's expectations (`check.rs`).
//! 4. **Invariants and report** (`report.rs`): background processes nobody waited for are
//!    killed; no secret in any output, private credential files, no stray process, an untouched
//!    decoy. A failure becomes one report naming the step, expectation, observation, client
//!    output and mock journal, with every secret masked.
//!
//! Every failure inside is a `Miss` (the ground floor, `outcome.rs`) tagged with its step.

mod action;
mod argv;
mod browser;
mod check;
mod control;
mod fs;
mod hooks;
mod plan;
mod process;
mod report;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use cliauth_mock::MockServer;
use tokio::time::Instant;

use crate::invariants;
pub use crate::outcome::Failure;
use crate::outcome::{Miss, Output};
use crate::profile::{Profile, render};
use crate::scenario::{ParallelStep, Scenario, Step};
use plan::Plan;
use process::Group;

/// Where and how the suite runs clients.
#[derive(Debug, Clone)]
pub struct Suite {
    /// The client profile.
    pub profile: Profile,
    /// Folder put first on the clients' `PATH` (holds the reference client as `cliauth`).
    pub bin_dir: Option<PathBuf>,
}

/// One scenario in progress.
struct Run<'a> {
    suite: &'a Suite,
    scenario: &'a Scenario,
    plan: Plan,
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
    /// The command lines of the clients and their children, for the argv invariant.
    argv: argv::ArgvSampler,
    /// Every `state` an authorize request of this scenario carried (each login's must be new).
    seen_states: Vec<String>,
    /// Files' bytes kept by `fs` `save` steps, by name, with the path they came from.
    saved: BTreeMap<String, (PathBuf, Vec<u8>)>,
    deadline: Instant,
    /// The machine's load when the scenario started (scales the deadline).
    load: Load,
    /// Holds the browser stand-ins (`xdg-open`, `gio`, `cliauth-browser`, ...), on `PATH`.
    browser_bin: PathBuf,
    /// Homes whose setup commands ran (their teardown runs after the last step).
    hook_homes: Vec<String>,
    /// Background setup processes (agents), stopped after the teardown commands.
    daemons: Vec<process::Proc>,
    _busy_port: std::net::TcpListener,
}

impl Suite {
    /// Runs one scenario to the end; `Err` carries the failure report.
    pub async fn run(&self, scenario: &Scenario) -> Result<(), Failure> {
        let plan = Plan::new(&self.profile, scenario).map_err(|(step, miss)| Failure {
            report: report::unplannable(scenario, step, &miss),
            timed_out: false,
        })?;
        let mut run = match Run::start(self, scenario, plan).await {
            Ok(run) => run,
            Err(miss) => {
                return Err(Failure {
                    report: format!(
                        "setup failed\n  expected: {}\n  observed: {}\n",
                        miss.expectation, miss.observed
                    ),
                    timed_out: miss.timed_out,
                });
            }
        };
        let result = match run.setup_homes().await {
            Ok(()) => run.steps().await,
            Err(failed) => Err(failed),
        };
        let leftovers = run.stop_background().await;
        let result = result.and(run.teardown_homes().await);
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
            .map(|(step, miss)| (run.report(*step, miss), miss.timed_out));
        if let Some(decoy) = run.decoy.take() {
            decoy.shutdown().await;
        }
        let Run { server, .. } = run;
        server.shutdown().await;
        match report {
            Some((report, timed_out)) => Err(Failure { report, timed_out }),
            None => Ok(()),
        }
    }
}

type StepResult = Result<(), (Option<usize>, Miss)>;

impl<'a> Run<'a> {
    async fn start(suite: &'a Suite, scenario: &'a Scenario, plan: Plan) -> Result<Run<'a>, Miss> {
        let server = MockServer::builder()
            .dialect(suite.profile.dialect)
            .config(plan.server.clone())
            .intercept(suite.profile.intercept.iter().cloned())
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
        // A port free when the scenario starts (bound, noted, released), so parallel
        // scenarios never share a client's fixed callback port.
        let free_port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| Miss::new("a loopback port can be bound", e.to_string()))?
            .port();
        vars.insert("free_port".to_owned(), free_port.to_string());
        if let (Some(proxy), Some(ca)) = (server.proxy_url(), server.ca_pem()) {
            let ca_file = root.path().join("intercept-ca.pem");
            std::fs::write(&ca_file, ca)
                .map_err(|e| Miss::new("the interception CA file can be written", e.to_string()))?;
            vars.insert("proxy_url".to_owned(), proxy);
            vars.insert("ca_file".to_owned(), ca_file.display().to_string());
            // A CA that signed nothing the mock serves: a client that trusts it alone must
            // refuse the intercepted hosts.
            let other = cliauth_mock::tls::CertificateAuthority::generate()
                .map_err(|e| Miss::new("a second CA can be made", e.to_string()))?;
            let other_file = root.path().join("other-ca.pem");
            std::fs::write(&other_file, other.pem())
                .map_err(|e| Miss::new("the second CA file can be written", e.to_string()))?;
            vars.insert("other_ca_file".to_owned(), other_file.display().to_string());
        }
        let browser_bin = hooks::browser_stand_ins(root.path())?;
        for (name, var) in &suite.profile.env_names {
            vars.insert(format!("env_{name}"), var.clone());
        }
        // The budget grows with the machine's load, so a busy machine is never taken for a
        // slow client (the report names the factor and the load it came from).
        let load = Load::now();
        let deadline = Instant::now() + plan.timeout() * load.factor();
        Ok(Run {
            suite,
            scenario,
            plan,
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
            argv: argv::ArgvSampler::start(),
            seen_states: Vec::new(),
            saved: BTreeMap::new(),
            deadline,
            load,
            browser_bin,
            hook_homes: Vec::new(),
            daemons: Vec::new(),
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
                Step::Wait(w) => self.wait_step(i, w).await,
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
                Step::Sleep(s) => {
                    tokio::time::sleep(std::time::Duration::from_millis(s.ms)).await;
                    Ok(())
                }
            }
            .map_err(|(s, m)| (s.or(at), m))?;
        }
        Ok(())
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
}

/// The machine's load when a scenario starts: the 1-minute load average and the cores.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    /// `/proc/loadavg`'s first field (0 where it cannot be read).
    pub(crate) average: f64,
    /// Cores available to this process.
    pub(crate) cores: usize,
}

impl Load {
    /// The load now.
    pub(crate) fn now() -> Load {
        let average = std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()))
            .unwrap_or(0.0);
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Load { average, cores }
    }

    /// How much longer than on a quiet machine a scenario may take: the runnable processes
    /// per core (rounded up), at least 1 and at most 8.
    pub(crate) fn factor(self) -> u32 {
        // A core count fits u32 on any machine this runs on; u32 → f64 is exact.
        let cores = u32::try_from(self.cores.max(1)).unwrap_or(u32::MAX);
        let per_core = self.average / f64::from(cores);
        // Bounded to 1..=8 just above, so the cast cannot truncate.
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "clamped to 1..=8"
        )]
        let factor = per_core.ceil().clamp(1.0, 8.0) as u32;
        factor
    }
}

#[cfg(test)]
mod load_tests {
    use super::Load;

    #[test]
    fn the_budget_grows_with_the_load_per_core_within_bounds() {
        let at = |average, cores| Load { average, cores }.factor();
        assert_eq!(at(0.0, 2), 1);
        assert_eq!(at(1.9, 2), 1);
        assert_eq!(at(2.1, 2), 2);
        assert_eq!(at(17.0, 2), 8, "load 17 on 2 cores: 9, capped at 8");
        assert_eq!(at(5.0, 0), 5, "no core count: taken as 1");
    }
}
