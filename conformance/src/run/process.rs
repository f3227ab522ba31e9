//! Client processes once started: their captured output, waiting for them to exit (or for a
//! line they print, within the scenario deadline), killing them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Run;
use crate::outcome::{Miss, Output, indent};
use crate::profile::PromptStream;
use crate::scenario::Expect;

/// The captures a prompt is looked for in (stdout, stderr) and the process's label.
pub(super) struct PromptCaptures(Option<Arc<Capture>>, Option<Arc<Capture>>, String);

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

/// One running client process and the readers of its output.
pub(super) struct Proc {
    pub(super) label: String,
    pub(super) child: tokio::process::Child,
    pub(super) stdout: Arc<Capture>,
    pub(super) stderr: Arc<Capture>,
    pub(super) readers: Vec<tokio::task::JoinHandle<std::io::Result<()>>>,
    /// Standard input kept open for a paste (the action's `stdin_open`).
    pub(super) stdin: Option<tokio::process::ChildStdin>,
    pub(super) secret_stdout: bool,
    pub(super) json: bool,
    /// When it was started (for `max_wall_ms`).
    pub(super) started: Instant,
    /// Its step's `max_wall_ms`, scaled: running longer is the finding, not a timeout.
    pub(super) max_wall: Option<Duration>,
}

/// The processes a background `run` or `parallel` step started, with what its `wait` checks.
pub(super) struct Group {
    pub(super) procs: Vec<Proc>,
    pub(super) journal_from: usize,
    pub(super) expect: Expect,
    pub(super) step: usize,
}

impl Run<'_> {
    /// Waits for a process to exit (within the scenario deadline) and collects its output.
    pub(super) async fn finish(&mut self, mut proc: Proc) -> Result<Output, Miss> {
        // A step that bounds its processes' wall time waits no longer than that bound (and a
        // little grace), so a hang is reported as the finding it is, before the deadline.
        let bound = proc
            .max_wall
            .map(|w| proc.started + w + Duration::from_millis(500));
        let until = bound.map_or(self.deadline, |b| b.min(self.deadline));
        let status = match tokio::time::timeout_at(until, proc.child.wait()).await {
            Ok(status) => status.map_err(|e| {
                Miss::new(format!("{} can be waited for", proc.label), e.to_string())
            })?,
            Err(_elapsed) if bound.is_some_and(|b| b <= self.deadline) => {
                let waited = proc.started.elapsed().as_millis();
                let label = proc.label.clone();
                let output = self.kill_proc(proc).await?;
                self.current.push(output);
                return Err(Miss::new(
                    format!("{label} ends within its step's max_wall_ms (scaled)"),
                    format!("still running after {waited} ms; killed"),
                ));
            }
            Err(_elapsed) => {
                let output = self.kill_proc(proc).await?;
                let observed = format!(
                    "still running at the scenario timeout of {} s; killed",
                    self.plan.timeout_secs
                );
                self.current.push(output);
                return Err(Miss::timeout("the process exits", observed));
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
                Miss::timeout(
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
            wall_ms: u64::try_from(proc.started.elapsed().as_millis()).unwrap_or(u64::MAX),
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
                return Err(Miss::timeout(
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
    /// The stream a login prints its prompts on (the profile's `prompts.stream`), of the
    /// first process of a background group: `(stdout, stderr)` as the profile asks.
    pub(super) fn prompt_streams_of(&self, name: &str) -> Result<PromptCaptures, Miss> {
        let proc = self.first_proc(name)?;
        let (out, err) = (Arc::clone(&proc.stdout), Arc::clone(&proc.stderr));
        Ok(match self.profile().prompts.stream {
            PromptStream::Stderr => PromptCaptures(None, Some(err), proc.label.clone()),
            PromptStream::Stdout => PromptCaptures(Some(out), None, proc.label.clone()),
            PromptStream::Both => PromptCaptures(Some(out), Some(err), proc.label.clone()),
        })
    }

    /// Waits for a prompt on the streams the profile names (the first to show it wins).
    pub(super) async fn wait_for_prompt(
        &self,
        streams: &PromptCaptures,
        pattern: &regex::Regex,
        what: &str,
    ) -> Result<String, Miss> {
        let PromptCaptures(out, err, label) = streams;
        match (out, err) {
            (Some(one), None) | (None, Some(one)) => self.wait_for(one, label, pattern, what).await,
            (Some(out), Some(err)) => {
                let a = self.wait_for(out, label, pattern, what);
                let b = self.wait_for(err, label, pattern, what);
                tokio::pin!(a, b);
                tokio::select! {
                    found = &mut a => match found { Ok(v) => Ok(v), Err(_) => b.await },
                    found = &mut b => match found { Ok(v) => Ok(v), Err(_) => a.await },
                }
            }
            (None, None) => Err(Miss::new("the profile names a prompt stream", "none")),
        }
    }

    /// The kept-open stdin of a background login, for a paste.
    pub(super) fn stdin_of(&mut self, name: &str) -> Option<&mut tokio::process::ChildStdin> {
        self.background
            .get_mut(name)
            .and_then(|g| g.procs.first_mut())
            .and_then(|p| p.stdin.as_mut())
    }

    fn first_proc(&self, name: &str) -> Result<&Proc, Miss> {
        let group = self.background.get(name).ok_or_else(|| {
            Miss::new(
                format!("background process {name:?} is running"),
                "it is not",
            )
        })?;
        group
            .procs
            .first()
            .ok_or_else(|| Miss::new("the group has a process", "it is empty"))
    }

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

pub(super) async fn pump<R: tokio::io::AsyncRead + Unpin>(
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
