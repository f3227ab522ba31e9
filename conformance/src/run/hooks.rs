//! What a profile sets up around the steps: per-home setup and teardown commands (an agent
//! or daemon the client needs), and the browser stand-ins every client finds on its `PATH`
//! so that no real browser ever opens.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use super::process::{Capture, Proc, pump};
use super::{Run, StepResult};
use crate::outcome::Miss;
use crate::profile::{Hook, render};

/// The programs a CLI may use to open a URL; each stand-in prints `cliauth-browser: open
/// <url>` on stderr, appends the URL to `opened-urls` in the scenario's root, and exits 0.
const OPENERS: &[&str] = &[
    "xdg-open",
    "gio",
    "gnome-open",
    "kde-open",
    "sensible-browser",
    "x-www-browser",
    "www-browser",
    "open",
    "cliauth-browser",
];

/// Writes the stand-ins into `<root>/browser-bin` and returns that folder.
pub(super) fn browser_stand_ins(root: &Path) -> Result<PathBuf, Miss> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = root.join("browser-bin");
    let log = root.join("opened-urls");
    let fail = |e: std::io::Error| Miss::new("the browser stand-ins can be written", e.to_string());
    std::fs::create_dir_all(&dir).map_err(fail)?;
    // The last argument is the URL (`gio open URL`, `xdg-open URL`, `$BROWSER URL`).
    let script = format!(
        "#!/bin/sh\n# cliauth-conformance browser stand-in: never opens a real browser.\n\
         for url; do :; done\n\
         printf 'cliauth-browser: open %s\\n' \"$url\" >&2\n\
         printf '%s\\n' \"$url\" >> '{}'\n",
        log.display()
    );
    for name in OPENERS {
        let path = dir.join(name);
        std::fs::write(&path, &script).map_err(fail)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(fail)?;
    }
    Ok(dir)
}

impl Run<'_> {
    /// Runs the profile's setup commands for every home a client step of the scenario uses.
    pub(super) async fn setup_homes(&mut self) -> StepResult {
        if self.profile().setup.is_empty() && self.profile().teardown.is_empty() {
            return Ok(());
        }
        let mut names: Vec<String> = Vec::new();
        for step in &self.scenario.steps {
            if let Some(r) = step.as_kind().action()
                && !names.contains(&r.home)
            {
                names.push(r.home.clone());
            }
        }
        for name in names {
            let home = self.home(&name).map_err(|m| (None, m))?;
            self.hook_homes.push(name.clone());
            for (n, hook) in self.profile().setup.iter().enumerate() {
                let label = format!("setup#{n}[{name}]");
                self.hook(hook, &home, label).await.map_err(|m| (None, m))?;
            }
        }
        Ok(())
    }

    /// Runs the teardown commands of every set-up home, then stops the background setup
    /// processes (their output joins the leak scan like any client's).
    pub(super) async fn teardown_homes(&mut self) -> StepResult {
        let mut result = Ok(());
        for name in self.hook_homes.clone() {
            let home = self.home(&name).map_err(|m| (None, m))?;
            for (n, hook) in self.profile().teardown.iter().enumerate() {
                let label = format!("teardown#{n}[{name}]");
                if let Err(m) = self.hook(hook, &home, label).await {
                    result = result.and(Err((None, m)));
                }
            }
        }
        for mut proc in std::mem::take(&mut self.daemons) {
            let label = proc.label.clone();
            // SIGTERM first, so an agent can stop its own workers; SIGKILL after 3 s. What
            // it leaves behind is then a stray like any client's.
            if let Some(pid) = proc.child.id() {
                match std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(pid.to_string())
                    .status()
                {
                    Ok(_) => {
                        let grace = tokio::time::Instant::now() + Duration::from_secs(3);
                        if let Ok(status) = tokio::time::timeout_at(grace, proc.child.wait()).await
                        {
                            let exit = status.ok().and_then(|s| s.code());
                            match self.collect(proc, exit, true).await {
                                Ok(_) => continue,
                                Err(m) => {
                                    result = result.and(Err((None, m)));
                                    continue;
                                }
                            }
                        }
                    }
                    Err(e) => eprintln!("conformance: cannot run kill -TERM {pid}: {e}"),
                }
            }
            if let Err(m) = self.kill_proc(proc).await {
                result = result.and(Err((
                    None,
                    Miss::new(format!("{label} can be stopped"), m.observed),
                )));
            }
        }
        result
    }

    /// Starts one hook; a foreground one must exit 0, a background one is kept (once its
    /// `ready_file` exists).
    async fn hook(&mut self, hook: &Hook, home: &Path, label: String) -> Result<(), Miss> {
        let mut vars = self.vars.clone();
        vars.insert("home".to_owned(), home.display().to_string());
        let argv = hook
            .command
            .iter()
            .map(|a| render(a, &vars).map_err(|e| Miss::new(format!("{label} renders"), e)))
            .collect::<Result<Vec<_>, _>>()?;
        let (program, rest) = argv
            .split_first()
            .ok_or_else(|| Miss::new(format!("{label} has a command"), "it is empty"))?;
        let env = self.environment(home, &vars)?;
        let mut child = tokio::process::Command::new(program)
            .args(rest)
            .env_clear()
            .envs(env)
            .current_dir(home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0)
            .spawn()
            .map_err(|e| {
                Miss::new(
                    format!("{label} ({}) starts", argv.join(" ")),
                    e.to_string(),
                )
            })?;
        if let Some(pid) = child.id() {
            // Counted by the stray-process invariant like every client process.
            self.pgids.push(pid);
            self.argv.started(pid, &argv, false);
        }
        let stdout = Arc::new(Capture::new(self.profile().strip_ansi));
        let stderr = Arc::new(Capture::new(self.profile().strip_ansi));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            readers.push(tokio::spawn(pump(out, Arc::clone(&stdout))));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(tokio::spawn(pump(err, Arc::clone(&stderr))));
        }
        let proc = Proc {
            label: label.clone(),
            child,
            stdout,
            stderr,
            readers,
            stdin: None,
            secret_stdout: false,
            json: false,
            started: tokio::time::Instant::now(),
            max_wall: None,
        };
        if !hook.background {
            let output = self.finish(proc).await?;
            if output.exit != Some(0) {
                return Err(Miss::new(
                    format!("{label} ({}) exits 0", argv.join(" ")),
                    format!(
                        "exit {:?}; stdout: {:?}; stderr: {:?}",
                        output.exit, output.stdout, output.stderr
                    ),
                ));
            }
            return Ok(());
        }
        let ready = match &hook.ready_file {
            Some(file) => {
                Some(PathBuf::from(render(file, &vars).map_err(|e| {
                    Miss::new(format!("{label} ready_file renders"), e)
                })?))
            }
            None => None,
        };
        self.daemons.push(proc);
        if let Some(ready) = ready {
            // Polled: a file appearing has no event to wait on that every file system gives.
            while !ready.exists() {
                if tokio::time::Instant::now() >= self.deadline {
                    return Err(Miss::timeout(
                        format!("{label} creates {}", ready.display()),
                        "not there at the scenario timeout",
                    ));
                }
                if let Some(proc) = self.daemons.last_mut()
                    && let Ok(Some(status)) = proc.child.try_wait()
                {
                    return Err(Miss::new(
                        format!("{label} keeps running and creates {}", ready.display()),
                        format!("it exited ({status}) first"),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(())
    }
}
