//! Steps that act on background processes or on the mock: `kill`, `await_pause`,
//! `await_log`, `release` and `admin`.

use std::time::Duration;

use tokio::time::Instant;

use super::{Run, StepResult};
use crate::outcome::Miss;
use crate::scenario::{AdminAction, AdminStep, KillStep, ReleaseStep};

impl Run<'_> {
    pub(super) async fn kill(&mut self, k: &KillStep) -> Result<(), Miss> {
        let (stderr, label) = self.stderr_of(&k.process)?;
        let awaited = match (&k.at_pause, &k.on_stderr) {
            (Some(point), _) => Some(self.plan.pause_line(point)?),
            (None, Some(text)) => Some(self.plan.stderr_text(text)?),
            (None, None) => None,
        };
        if let Some(awaited) = awaited {
            self.wait_for(&stderr, &label, &awaited.regex, &awaited.what)
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

    /// Waits until the first process of a background group printed the pause line of `point`.
    pub(super) async fn await_pause(&self, process: &str, point: &str) -> Result<(), Miss> {
        let (stderr, label) = self.stderr_of(process)?;
        let line = self.plan.pause_line(point)?;
        self.wait_for(&stderr, &label, &line.regex, &line.what)
            .await
            .map(drop)
    }

    /// Waits until every process of a background group wrote a debug-log word.
    pub(super) async fn await_log(&self, process: &str, word: &str) -> Result<(), Miss> {
        let awaited = self.plan.log_word(word)?;
        let group = self.background.get(process).ok_or_else(|| {
            Miss::new(
                format!("background process {process:?} is running"),
                "it is not",
            )
        })?;
        for proc in &group.procs {
            self.wait_for(&proc.stderr, &proc.label, &awaited.regex, &awaited.what)
                .await?;
        }
        Ok(())
    }

    pub(super) async fn release(&mut self, r: &ReleaseStep) -> StepResult {
        let inner = async {
            if let Some(process) = &r.process {
                self.await_pause(process, &r.point).await?;
            }
            let file = self.plan.release_file(&r.point)?.to_owned();
            let home = self.home(&r.home)?;
            std::fs::write(home.join(&file), b"").map_err(|e| {
                Miss::new(format!("release file {file} can be written"), e.to_string())
            })
        };
        inner.await.map_err(|m| (None, m))
    }

    pub(super) async fn admin(&mut self, a: &AdminStep) -> Result<(), Miss> {
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
                        return Err(Miss::timeout(
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
            AdminAction::MintToken { username, capture } => {
                let token = s.mint_token(username).map_err(|e| fail(&e))?;
                self.vars.insert(capture.clone(), token);
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
}
