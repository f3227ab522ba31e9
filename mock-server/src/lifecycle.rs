//! `serve --exit-with-parent`: the mock ends with the test run that started it.
//!
//! A test runner that is killed (SIGKILL, a CI timeout) cannot stop its children; a mock that
//! watches its stdin and its parent leaves nothing behind: the pipe to its stdin closes when
//! the runner dies, and its parent process id changes when it is re-parented.

use std::io::Read as _;
use std::time::Duration;

/// How often the parent process id is checked.
const PARENT_POLL: Duration = Duration::from_millis(200);

/// Resolves, naming why, once stdin reaches end of file or the process's parent is no longer
/// `parent` (read it first thing in `main`, so that a parent dying during start-up counts).
pub(crate) async fn parent_gone(parent: u32) -> &'static str {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let reader = std::thread::Builder::new()
        .name("cliauth-mock-stdin".to_owned())
        .spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            loop {
                match stdin.read(&mut sink) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "stdin unreadable; treating it as closed");
                        break;
                    }
                }
            }
            if tx.send(()).is_err() {
                tracing::debug!("stdin closed while the server was already stopping");
            }
        });
    // Without the reader thread only the parent check remains; say so instead of failing.
    let stdin_closed = async {
        match reader {
            Ok(_thread) => {
                if rx.await.is_ok() {
                    return;
                }
                std::future::pending::<()>().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch stdin; only the parent process is watched");
                std::future::pending::<()>().await;
            }
        }
    };
    let parent_changed = async {
        let mut tick = tokio::time::interval(PARENT_POLL);
        loop {
            tick.tick().await;
            if std::os::unix::process::parent_id() != parent {
                return;
            }
        }
    };
    tokio::select! {
        () = stdin_closed => "stdin closed",
        () = parent_changed => "the parent process exited",
    }
}
