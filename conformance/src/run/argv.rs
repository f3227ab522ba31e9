//! The command lines of the clients' processes, and of every process they start, sampled
//! while they run: a secret in argv is visible to every local user (`ps`,
//! `/proc/<pid>/cmdline`), so the invariants check that no secret the mock issued is there.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often the running processes are sampled.
const EVERY: Duration = Duration::from_millis(25);

/// Records the argv of every process the runner starts and samples their descendants.
pub(super) struct ArgvSampler {
    /// Each started process, and whether its own command line is exempt (declared).
    leaders: Arc<Mutex<Vec<(u32, bool)>>>,
    seen: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ArgvSampler {
    /// Starts sampling (on the current tokio runtime).
    pub(super) fn start() -> ArgvSampler {
        let leaders: Arc<Mutex<Vec<(u32, bool)>>> = Arc::default();
        let seen: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let task = tokio::spawn({
            let (leaders, seen) = (Arc::clone(&leaders), Arc::clone(&seen));
            async move {
                loop {
                    tokio::time::sleep(EVERY).await;
                    let roots = leaders.lock().map(|l| l.clone()).unwrap_or_default();
                    let mut lines = Vec::new();
                    for (pid, declared) in roots {
                        descendants_argv(pid, &mut lines, 0, declared);
                    }
                    if let Ok(mut seen) = seen.lock() {
                        seen.extend(lines);
                    }
                }
            }
        });
        ArgvSampler {
            leaders,
            seen,
            task,
        }
    }

    /// A process the runner started, with the argv it was given (recorded at once: a short
    /// process may end before the first sample). `declared`: the profile says this command
    /// line carries a secret, so only the processes it starts are checked.
    pub(super) fn started(&self, pid: u32, argv: &[String], declared: bool) {
        if !declared && let Ok(mut seen) = self.seen.lock() {
            seen.insert(argv.join(" "));
        }
        if let Ok(mut leaders) = self.leaders.lock() {
            leaders.push((pid, declared));
        }
    }

    /// The command lines seen that hold one of `secrets`.
    pub(super) fn holding(&self, secrets: &[String]) -> Vec<String> {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        seen.into_iter()
            .filter(|line| {
                secrets
                    .iter()
                    .any(|s| s.len() >= 6 && line.contains(s.as_str()))
            })
            .collect()
    }
}

impl Drop for ArgvSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The argv of `pid` and of its children, recursively (`/proc/<pid>/task/*/children`;
/// Linux only, elsewhere nothing is found). A process that ended meanwhile is skipped.
fn descendants_argv(pid: u32, out: &mut Vec<String>, depth: usize, skip_self: bool) {
    // A process tree deeper than this is not a CLI's; the bound keeps a cycle impossible.
    if depth > 16 {
        return;
    }
    // allow(broad-suppress): a process that ended between two samples has no command line left
    let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return;
    };
    if !skip_self {
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        out.push(line.trim_end().to_owned());
    }
    // allow(broad-suppress): the process ended meanwhile; nothing of it is left to sample
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return;
    };
    for task in tasks.flatten() {
        // allow(broad-suppress): a thread that ended meanwhile, or a kernel without the file
        let Ok(children) = std::fs::read_to_string(task.path().join("children")) else {
            continue;
        };
        // allow(broad-suppress): the kernel writes decimal pids; anything else is not a pid
        for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
            descendants_argv(child, out, depth + 1, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_secret_in_the_argv_of_a_grandchild_is_seen_while_it_runs() {
        let sampler = ArgvSampler::start();
        let mut child = tokio::process::Command::new("sh")
            .args(["-c", "sh -c 'sleep 0.4; : secret-token-value'; true"])
            .spawn()
            .unwrap();
        // Declared: the started process's own command line (which holds the value too) is
        // exempt; the process it starts is not.
        sampler.started(
            child.id().unwrap(),
            &["sh".to_owned(), "-c".to_owned()],
            true,
        );
        child.wait().await.unwrap();
        let held = sampler.holding(&["secret-token-value".to_owned()]);
        assert_eq!(
            held,
            vec!["sh -c sleep 0.4; : secret-token-value".to_owned()]
        );
        assert!(sampler.holding(&["absent-value".to_owned()]).is_empty());
    }
}
