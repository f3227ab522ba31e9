//! A step's expectations: each process's output, the mock journal, debug-log words, files.

use cliauth_mock::JournalEntry;

use super::{Run, StepResult};
use crate::outcome::{Miss, Output, indent};
use crate::profile::render;
use crate::scenario::{Bearer, Expect, JournalCount, Scope, count_ok, count_text};

impl Run<'_> {
    /// Checks a step's expectations against its outputs and the journal.
    pub(super) fn check(
        &mut self,
        expect: &Expect,
        outputs: &[Output],
        journal_from: usize,
    ) -> StepResult {
        self.check_inner(expect, outputs, journal_from)
            .map_err(|m| (None, m))
    }

    pub(super) fn check_inner(
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
        if let Some(max) = expect.max_wall_ms {
            let factor = self.wall_factor();
            let allowed = max.saturating_mul(factor);
            if let Some(slow) = outputs.iter().find(|o| o.wall_ms > allowed) {
                return Err(Miss::new(
                    format!(
                        "{} ends within {allowed} ms (max_wall_ms {max} x {factor} for the profile's \
                         timeout_factor and the machine's load)",
                        slow.label
                    ),
                    format!("it took {} ms", slow.wall_ms),
                ));
            }
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
        let succeeded = outputs.iter().all(|o| o.exit == Some(0));
        for fc in expect.files.iter().filter(|fc| succeeded || !fc.if_success) {
            self.check_file(fc, outputs)?;
        }
        Ok(())
    }

    /// Substitutes the run's variables (`{token}` captured earlier, ...) in text expectations.
    pub(super) fn render_expect(&self, expect: &Expect) -> Result<Expect, Miss> {
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
        for jc in &mut out.journal {
            for text in [&mut jc.bearer_is, &mut jc.bearer_is_not]
                .into_iter()
                .flatten()
            {
                *text = render(text, &self.vars)
                    .map_err(|e| Miss::new("a journal bearer filter renders", e))?;
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
}

fn journal_matches(jc: &JournalCount, e: &JournalEntry) -> bool {
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
        && jc.poll_too_fast.is_none_or(|t| t == e.poll_too_fast())
        && jc.bearer.is_none_or(|b| match b {
            Bearer::Absent => e.bearer_fingerprint.is_none(),
            Bearer::Present => e.bearer_fingerprint.is_some(),
        })
        && jc.tls_handshake.is_none_or(|t| t == e.tls_handshake)
        && jc
            .host
            .as_ref()
            .is_none_or(|h| e.host.as_ref().is_some_and(|got| got.eq_ignore_ascii_case(h)))
        && jc.tls.is_none_or(|t| t == e.tls)
        && jc.bearer_is.as_ref().is_none_or(|t| e.bearer_is(t))
        && jc
            .bearer_is_not
            .as_ref()
            .is_none_or(|t| e.bearer_fingerprint.is_some() && !e.bearer_is(t))
}

fn describe_journal(jc: &JournalCount) -> String {
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
    add("poll_too_fast", jc.poll_too_fast.map(|t| t.to_string()));
    add("bearer", jc.bearer.map(|b| format!("{b:?}").to_lowercase()));
    add("tls_handshake", jc.tls_handshake.map(|t| t.to_string()));
    add("host", jc.host.clone());
    add("tls", jc.tls.map(|t| t.to_string()));
    // The value is a secret: the report names the filter, never the token.
    add(
        "bearer_is",
        jc.bearer_is.as_ref().map(|_| "<captured>".to_owned()),
    );
    add(
        "bearer_is_not",
        jc.bearer_is_not.as_ref().map(|_| "<captured>".to_owned()),
    );
    if parts.is_empty() {
        "(any)".to_owned()
    } else {
        parts.join(" ")
    }
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

impl Run<'_> {
    /// What `max_wall_ms` is multiplied by: the profile's `timeout_factor` and the machine's
    /// load factor.
    pub(super) fn wall_factor(&self) -> u64 {
        self.profile()
            .timeout_factor
            .saturating_mul(u64::from(self.load.factor()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
