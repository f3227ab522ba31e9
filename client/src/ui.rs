//! Terminal presentation shared by the commands: messages on stderr, a spinner with a countdown
//! while waiting (only when stderr is a terminal).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// `text` with every control character (C0, DEL, C1: `char::is_control`) and every Unicode
/// bidirectional override written as a visible escape (`\u{1b}`, `\u{202e}`), so text a server
/// chose (device code, URL, `error_description`, user name) cannot move the cursor, clear the
/// screen, retitle the window, start a new line or reorder what the terminal shows.
pub(crate) fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !text.chars().any(|c| c.is_control() || bidi(c)) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() || bidi(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A JSON document with [`escape_controls`] applied to every string in it (keys included).
pub(crate) fn escape_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(escape_controls(&s).into_owned()),
        Value::Array(items) => Value::Array(items.into_iter().map(escape_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (escape_controls(&k).into_owned(), escape_json(v)))
                .collect(),
        ),
        other @ (Value::Null | Value::Bool(_) | Value::Number(_)) => other,
    }
}

/// Where messages go and whether a spinner may be shown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ui {
    tty: bool,
}

impl Ui {
    /// Detects whether stderr is a terminal.
    pub(crate) fn detect() -> Ui {
        Ui {
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// A message line on stderr.
    #[expect(
        clippy::unused_self,
        reason = "a method, so every message goes through the one Ui the command was given"
    )]
    pub(crate) fn say(self, msg: &str) {
        eprintln!("{}", escape_controls(msg));
    }

    /// A spinner counting down to `deadline` (a no-op when stderr is not a terminal).
    pub(crate) fn countdown(self, label: &str, deadline: Instant) -> Countdown {
        let bar = self.tty.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let c = Countdown {
            bar,
            label: label.to_owned(),
            deadline,
        };
        c.tick();
        c
    }
}

/// A running countdown spinner; cleared when dropped.
#[derive(Debug)]
pub(crate) struct Countdown {
    bar: Option<indicatif::ProgressBar>,
    label: String,
    deadline: Instant,
}

impl Countdown {
    /// Refreshes the remaining time.
    pub(crate) fn tick(&self) {
        if let Some(bar) = &self.bar {
            let left = self
                .deadline
                .saturating_duration_since(Instant::now())
                .as_secs();
            bar.set_message(format!(
                "{} ({}:{:02} left)",
                self.label,
                left / 60,
                left % 60
            ));
        }
    }
}

impl Drop for Countdown {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escape sequences, bells, newlines, DEL, C1 controls and bidi overrides become visible
    /// text; ordinary text (including non-ASCII) is untouched.
    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("ABCD-EFGH é"), "ABCD-EFGH é");
        assert_eq!(
            escape_controls("a\u{1b}[2Jb\u{7}\nLogged in\u{7f}\u{9b}\u{202e}"),
            "a\\u{1b}[2Jb\\u{7}\\u{a}Logged in\\u{7f}\\u{9b}\\u{202e}"
        );
        let j = escape_json(serde_json::json!({"user": "x\u{1b}]0;t\u{7}", "n": [1, "\r"]}));
        assert_eq!(
            j,
            serde_json::json!({"user": "x\\u{1b}]0;t\\u{7}", "n": [1, "\\u{d}"]})
        );
    }
}
