//! Terminal presentation shared by the commands: messages on stderr, a spinner with a countdown
//! while waiting (only when stderr is a terminal).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

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
        eprintln!("{msg}");
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
