//! Filesystem primitives for private files: permission and owner checks with the exact fix,
//! 0600 creation, directory fsync and atomic replacement.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::classify::{Error, Result};

/// The effective uid of this process, read from `/proc/self` (owned by the process's euid on
/// Linux) because std has no `geteuid` and `unsafe` is forbidden. `None` off Linux.
pub(crate) fn current_uid() -> Option<u32> {
    match fs::metadata("/proc/self") {
        Ok(m) => Some(m.uid()),
        Err(e) => {
            tracing::debug!(event = "uid_unknown", reason = %e.kind(), "owner checks skipped");
            None
        }
    }
}

/// Refuses a path that group/other can access, or that belongs to another user.
pub(crate) fn check_private(path: &Path, want: u32) -> Result<()> {
    let meta =
        fs::metadata(path).map_err(|e| Error::io(format!("inspect {}", path.display()), e))?;
    check_meta(path, &meta, want)
}

pub(crate) fn check_meta(path: &Path, meta: &fs::Metadata, want: u32) -> Result<()> {
    if let Some(uid) = current_uid()
        && meta.uid() != uid
    {
        return Err(Error::ForeignOwner {
            path: path.to_owned(),
            owner: meta.uid(),
        });
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::Permissions {
            path: path.to_owned(),
            mode,
            want,
        });
    }
    Ok(())
}

/// Creates `dir` (and parents) with the final folder 0700, then checks it.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<()> {
    match fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) => return Err(Error::io(format!("create {}", dir.display()), e)),
    }
    check_private(dir, 0o700)
}

/// A unique temporary name in `dir` (same filesystem as the target, so rename is atomic).
pub(crate) fn temp_path(dir: &Path, prefix: &str) -> PathBuf {
    temp_path_named(dir, &format!(".{prefix}.tmp-"))
}

/// `<dir>/<start><pid>-<12 hex>`: a unique temporary name starting with `start`.
pub(crate) fn temp_path_named(dir: &Path, start: &str) -> PathBuf {
    let mut r = [0u8; 6];
    rand::fill(&mut r);
    dir.join(format!(
        "{start}{}-{}",
        std::process::id(),
        crate::secret::hex(&r)
    ))
}

/// Opens `path` with `opts` plus `O_NOFOLLOW`: a symbolic link in its place is refused as
/// [`Error::Symlink`] (`ELOOP`) instead of being followed; other failures are returned as they
/// are, for the caller to word (a missing file is often fine).
pub(crate) fn open_nofollow(opts: &mut OpenOptions, path: &Path) -> Result<std::io::Result<File>> {
    match opts.custom_flags(libc::O_NOFOLLOW).open(path) {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Err(Error::Symlink {
            path: path.to_owned(),
        }),
        other => Ok(other),
    }
}

/// The bytes of `path` without following a symbolic link; `Ok(None)` when it does not exist.
pub(crate) fn read_nofollow(path: &Path) -> Result<Option<Vec<u8>>> {
    let mut file = match open_nofollow(OpenOptions::new().read(true), path)? {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("read {}", path.display()), e)),
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut file, &mut bytes)
        .map_err(|e| Error::io(format!("read {}", path.display()), e))?;
    Ok(Some(bytes))
}

/// Creates a new 0600 file (it must not exist yet).
pub(crate) fn create_private(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("create {}", path.display()), e))
}

/// Writes `bytes` to a new 0600 file and fsyncs it.
pub(crate) fn write_new_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = create_private(path)?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(format!("write {}", path.display()), e))
}

/// Fsyncs a directory so a rename or creation inside it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("sync {}", dir.display()), e))
}

/// Removes a file we created; a failure is logged, never fatal (used for leftovers only).
pub(crate) fn remove_quietly(path: &Path) {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a temporary file");
        }
    }
}

/// Replaces `target` atomically through the temp file `tmp` (in the same folder): write,
/// fsync, rename, fsync the folder. A crash at any point leaves either the old or the new
/// complete file (and possibly `tmp`, which the store's next lock holder recovers or removes);
/// every error path removes `tmp`.
pub(crate) fn atomic_replace(target: &Path, tmp: &Path, bytes: &[u8]) -> Result<()> {
    let dir = target
        .parent()
        .ok_or_else(|| Error::Internal(format!("{} has no parent folder", target.display())))?;
    let tmp = tmp.to_owned();
    if let Err(e) = write_new_private(&tmp, bytes) {
        remove_quietly(&tmp);
        return Err(e);
    }
    crate::hooks::pause(crate::hooks::BETWEEN_WRITE_AND_RENAME);
    if let Err(e) = fs::rename(&tmp, target) {
        remove_quietly(&tmp);
        return Err(Error::io(format!("rename into {}", target.display()), e));
    }
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with private modes that belongs to another user is still refused: its owner can
    /// read it, change its modes or replace it at will. Run as root, the test hands a file of its
    /// own to another uid; anyone else checks `/`, which belongs to root.
    #[test]
    fn a_private_file_owned_by_another_user_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own");
        write_new_private(&own, b"x").unwrap();
        assert!(check_private(&own, 0o600).is_ok(), "our own private file");
        let (path, owner) = if fs::metadata(&own).unwrap().uid() == 0 {
            std::os::unix::fs::chown(&own, Some(65534), None).unwrap();
            (own, 65534)
        } else {
            (PathBuf::from("/"), 0)
        };
        let err = check_private(&path, 0o600).unwrap_err();
        assert!(
            matches!(&err, Error::ForeignOwner { owner: o, .. } if *o == owner),
            "{err:?}"
        );
    }
}
