//! The credentials lock: an exclusive OS file lock (std `File::lock`, i.e. `flock(2)`) on a lock
//! file beside the store. The lock file is never unlinked or replaced (that would detach the
//! lock from the path); the holder writes a record (pid, host, version, start time) into it.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::fsutil;
use crate::classify::{Error, Result};
use crate::clock::now_unix;

/// Holds the credentials lock until dropped; dropping clears the holder record, then unlocks.
#[derive(Debug)]
pub struct LockGuard {
    file: File,
    path: PathBuf,
}

fn open_lock_file(path: &Path) -> Result<File> {
    // O_NOFOLLOW: a link planted here would make the holder record truncate its target.
    let file = fsutil::open_nofollow(
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600),
        path,
    )?
    .map_err(|e| Error::io(format!("open the lock file {}", path.display()), e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io(format!("inspect {}", path.display()), e))?;
    fsutil::check_meta(path, &meta, 0o600)?;
    Ok(file)
}

/// Waits up to `timeout` for the exclusive lock on `path`.
pub(crate) fn acquire(path: &Path, timeout: Duration) -> Result<LockGuard> {
    let mut file = open_lock_file(path)?;
    let start = Instant::now();
    let mut backoff = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) => {
                // A wait has begun: Ctrl-C from here on ends it cleanly (a no-op after the
                // first time).
                crate::interrupt::install();
                if crate::interrupt::interrupted() {
                    return Err(Error::Interrupted);
                }
                let waited = start.elapsed();
                if waited >= timeout {
                    return Err(Error::LockTimeout {
                        path: path.to_owned(),
                        waited_ms: u64::try_from(waited.as_millis()).map_or(u64::MAX, |ms| ms),
                        holder: read_record(&mut file),
                    });
                }
                // flock has no timed wait; a short, growing poll bounds the wait without a thread.
                std::thread::sleep(backoff.min(timeout.saturating_sub(waited)));
                backoff = (backoff * 2).min(Duration::from_millis(25));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::io(format!("lock {}", path.display()), e));
            }
        }
    }
    let record = format!(
        "pid={} host={} version={} started_at={}\n",
        std::process::id(),
        gethostname::gethostname().to_string_lossy(),
        env!("CARGO_PKG_VERSION"),
        now_unix(),
    );
    let written = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(record.as_bytes()));
    if let Err(e) = written {
        // The record is diagnostic only; the OS lock is what excludes peers.
        tracing::warn!(error = %e, "could not write the lock holder record");
    }
    Ok(LockGuard {
        file,
        path: path.to_owned(),
    })
}

fn read_record(file: &mut File) -> Option<String> {
    let mut s = String::new();
    match file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut s))
    {
        Ok(_) => {
            let s = s.trim();
            (!s.is_empty()).then(|| s.to_owned())
        }
        Err(e) => {
            tracing::debug!(error = %e, "lock holder record unreadable");
            None
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Err(e) = self.file.set_len(0) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not clear the lock holder record");
        }
        if let Err(e) = self.file.unlock() {
            // Closing the file below releases the flock anyway.
            tracing::warn!(path = %self.path.display(), error = %e, "explicit unlock failed");
        }
    }
}

/// What `auth doctor` sees in the lock file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LockState {
    /// No lock file yet.
    Absent,
    /// Nobody holds the lock and no record is left.
    Free,
    /// Nobody holds the lock but a record was left behind by a crashed holder.
    StaleRecord(String),
    /// A live process holds the lock.
    Held(Option<String>),
}

/// Inspects the lock without waiting; with `unstick`, clears a stale record, which is only done
/// after the OS lock was obtained (proving that no process holds it).
pub(crate) fn inspect(path: &Path, unstick: bool) -> Result<LockState> {
    if !path.exists() {
        return Ok(LockState::Absent);
    }
    let mut file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => {
            let state = match read_record(&mut file) {
                Some(r) => {
                    if unstick {
                        file.set_len(0)
                            .map_err(|e| Error::io(format!("clear {}", path.display()), e))?;
                    }
                    LockState::StaleRecord(r)
                }
                None => LockState::Free,
            };
            file.unlock()
                .map_err(|e| Error::io(format!("unlock {}", path.display()), e))?;
            Ok(state)
        }
        Err(fs::TryLockError::WouldBlock) => Ok(LockState::Held(read_record(&mut file))),
        Err(fs::TryLockError::Error(e)) => Err(Error::io(format!("lock {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_times_out_with_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.lock");
        let g = acquire(&p, Duration::from_millis(10)).unwrap();
        let err = acquire(&p, Duration::from_millis(30)).unwrap_err();
        match err {
            Error::LockTimeout { holder, .. } => {
                assert!(
                    holder
                        .unwrap()
                        .contains(&format!("pid={}", std::process::id()))
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            inspect(&p, true).unwrap(),
            LockState::Held(Some(_))
        ));
        drop(g);
        assert_eq!(inspect(&p, false).unwrap(), LockState::Free);
        assert!(p.exists(), "the lock file is never unlinked");
    }

    #[test]
    fn unstick_clears_only_a_stale_record() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.lock");
        std::fs::write(&p, "pid=1 host=x version=0 started_at=0\n").unwrap();
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        assert!(matches!(
            inspect(&p, false).unwrap(),
            LockState::StaleRecord(_)
        ));
        assert!(matches!(
            inspect(&p, true).unwrap(),
            LockState::StaleRecord(_)
        ));
        assert_eq!(inspect(&p, false).unwrap(), LockState::Free);
    }
}
