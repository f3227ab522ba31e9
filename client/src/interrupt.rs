//! Ctrl-C during a wait (browser callback, device polling, a network call, the credentials lock):
//! the wait ends with [`Error::Interrupted`], so the command unwinds normally (the spinner's
//! `Drop` clears its line, no store write is cut in half) and `finish` prints `error: cancelled`
//! and exits 130.
//!
//! The handler is installed lazily, by the first wait, so the hot path (`auth token` with a valid
//! session) never starts it and a prompt for a password keeps the terminal's default Ctrl-C.
//! A second Ctrl-C, or a main thread that does not notice within [`GRACE`], ends the process at
//! once with the same line and code.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use crate::classify::EXIT_INTERRUPTED;

/// How long the main thread has to unwind after Ctrl-C before the handler exits for it.
const GRACE: Duration = Duration::from_secs(3);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static WAKE: Notify = Notify::const_new();
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Starts listening for SIGINT (once per process); returns whether the handler is in place.
pub(crate) fn install() -> bool {
    *INSTALLED.get_or_init(|| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("cliauth-sigint".into())
            .spawn(move || listen(&ready_tx));
        match spawned {
            // The thread says once its handler is registered, so a Ctrl-C right after this
            // returns is already ours; a thread that died first reads as "not installed".
            Ok(_) => ready_rx.recv().unwrap_or(false),
            Err(e) => {
                tracing::debug!(error = %e, "cannot start the Ctrl-C listener; Ctrl-C kills at once");
                false
            }
        }
    })
}

fn listen(ready: &std::sync::mpsc::Sender<bool>) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::debug!(error = %e, "cannot start the Ctrl-C listener's runtime");
            tell(ready, false);
            return;
        }
    };
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut sigint = match signal(SignalKind::interrupt()) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "cannot listen for SIGINT");
                tell(ready, false);
                return;
            }
        };
        tell(ready, true);
        sigint.recv().await;
        INTERRUPTED.store(true, Ordering::SeqCst);
        WAKE.notify_waiters();
        tokio::select! {
            _ = sigint.recv() => {}
            () = tokio::time::sleep(GRACE) => {}
        }
        eprintln!("error: cancelled");
        std::process::exit(i32::from(EXIT_INTERRUPTED));
    });
}

/// Tells `install()` whether the handler is in place.
fn tell(ready: &std::sync::mpsc::Sender<bool>, installed: bool) {
    if ready.send(installed).is_err() {
        // Only possible once install() stopped waiting, i.e. never before it got an answer.
        tracing::debug!("the Ctrl-C listener's start-up report had no reader");
    }
}

/// Whether Ctrl-C was pressed (a synchronous wait polls this between its sleeps).
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Completes when Ctrl-C is pressed.
pub(crate) async fn wait() {
    loop {
        let notified = WAKE.notified();
        tokio::pin!(notified);
        // Registered before the flag is read, so a signal in between still wakes us.
        notified.as_mut().enable();
        if interrupted() {
            return;
        }
        notified.await;
    }
}
