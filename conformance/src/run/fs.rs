//! `fs` steps and file checks: paths in a client home (profile names, `*` globs), damage
//! done to files, and their modes.

use std::path::{Path, PathBuf};

use super::{Run, StepResult};
use crate::outcome::{Miss, Output, indent};
use crate::profile::path_name;
use crate::scenario::{FileCheck, FsAction, FsStep};

impl Run<'_> {
    pub(super) fn fs(&mut self, f: &FsStep) -> StepResult {
        let mut inner = || -> Result<(), Miss> {
            if let FsAction::Restore { name } = &f.action {
                // The saved path: the file may be gone (a glob would match nothing).
                let (path, bytes) = self.saved.get(name).ok_or_else(|| {
                    Miss::new(
                        format!("an earlier fs save step kept bytes as {name:?}"),
                        "none did",
                    )
                })?;
                return write_private(path, bytes).map_err(|e| {
                    Miss::new(format!("fs restore of {}", path.display()), e.to_string())
                });
            }
            let home = self.home(&f.home)?;
            let paths = self.resolve(&home, &f.path)?;
            let [path] = paths.as_slice() else {
                return Err(Miss::new(
                    format!("{} names exactly one file", f.path),
                    format!("it matches {paths:?}"),
                ));
            };
            let fail = |e: std::io::Error| {
                Miss::new(
                    format!("fs {} on {}", f.action.op(), path.display()),
                    e.to_string(),
                )
            };
            match &f.action {
                FsAction::Chmod { mode } => {
                    use std::os::unix::fs::PermissionsExt as _;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode.bits()))
                        .map_err(fail)?;
                }
                FsAction::FlipByte { offset } => {
                    let mut bytes = std::fs::read(path).map_err(fail)?;
                    let len = i64::try_from(bytes.len())
                        .map_err(|e| Miss::new("file length fits", e.to_string()))?;
                    if len == 0 {
                        return Err(Miss::new(
                            format!("{} has a byte to flip", path.display()),
                            "it is empty",
                        ));
                    }
                    let at = match *offset {
                        Some(o) if o < 0 => len + o,
                        Some(o) => o,
                        None => len / 2,
                    };
                    let at = usize::try_from(at.clamp(0, len - 1))
                        .map_err(|e| Miss::new("offset fits", e.to_string()))?;
                    bytes[at] ^= 0xff;
                    std::fs::write(path, bytes).map_err(fail)?;
                }
                FsAction::Truncate => {
                    let bytes = std::fs::read(path).map_err(fail)?;
                    std::fs::write(path, &bytes[..bytes.len() / 2]).map_err(fail)?;
                }
                FsAction::Write { content } => {
                    std::fs::write(path, content).map_err(fail)?;
                }
                FsAction::ReplaceWithFolder | FsAction::ReplaceWithNonemptyFolder => {
                    use std::os::unix::fs::PermissionsExt as _;
                    std::fs::remove_file(path).map_err(fail)?;
                    std::fs::create_dir(path).map_err(fail)?;
                    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                        .map_err(fail)?;
                    if f.action == FsAction::ReplaceWithNonemptyFolder {
                        // Holds nothing secret: it only keeps rmdir and rename from succeeding.
                        let keep = path.join("keep");
                        std::fs::write(&keep, b"conformance\n").map_err(fail)?;
                        std::fs::set_permissions(&keep, std::fs::Permissions::from_mode(0o600))
                            .map_err(fail)?;
                    }
                }
                FsAction::Save { name } => {
                    let bytes = std::fs::read(path).map_err(fail)?;
                    self.saved.insert(name.clone(), (path.clone(), bytes));
                }
                // Done above, before the path is resolved.
                FsAction::Restore { .. } => {}
                FsAction::Delete => {
                    if path.is_dir() {
                        std::fs::remove_dir_all(path).map_err(fail)?;
                    } else {
                        std::fs::remove_file(path).map_err(fail)?;
                    }
                }
            }
            Ok(())
        };
        inner().map_err(|m| (None, m))
    }

    /// Resolves a scenario path (`{name}` = profile path; `*` in the last component) in a home.
    pub(super) fn resolve(&self, home: &Path, path: &str) -> Result<Vec<PathBuf>, Miss> {
        let rel = match path_name(path) {
            Some(name) => self
                .profile()
                .paths
                .get(name)
                .ok_or_else(|| {
                    Miss::new(format!("the profile names path {name:?}"), "it does not")
                })?
                .clone(),
            None => path.to_owned(),
        };
        let full = home.join(&rel);
        let Some(file_name) = full.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            return Ok(vec![full]);
        };
        if !file_name.contains('*') {
            return Ok(if full.exists() || full.is_symlink() {
                vec![full]
            } else {
                Vec::new()
            });
        }
        let dir = full
            .parent()
            .map_or_else(|| home.to_path_buf(), Path::to_path_buf);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Miss::new(
                    format!("{} can be listed", dir.display()),
                    e.to_string(),
                ));
            }
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| {
                Miss::new(format!("{} can be listed", dir.display()), e.to_string())
            })?;
            if glob_match(&file_name, &entry.file_name().to_string_lossy()) {
                out.push(entry.path());
            }
        }
        out.sort();
        Ok(out)
    }

    pub(super) fn check_file(&mut self, fc: &FileCheck, outputs: &[Output]) -> Result<(), Miss> {
        use std::os::unix::fs::PermissionsExt as _;
        let home = self.home(&fc.home)?;
        let matches = self.resolve(&home, &fc.path)?;
        if fc.named_on_stderr {
            let names: Vec<String> = matches
                .iter()
                .filter_map(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .collect();
            if names.is_empty() {
                return Err(Miss::new(
                    format!("{} exists, to be named on stderr", fc.path),
                    "no such file",
                ));
            }
            if let Some(silent) = outputs
                .iter()
                .find(|o| !names.iter().any(|n| o.stderr.contains(n.as_str())))
            {
                return Err(Miss::new(
                    format!("{} names {} on stderr", silent.label, names.join(" or ")),
                    format!("its stderr:\n{}", indent(&silent.stderr)),
                ));
            }
        }
        if let Some(exists) = fc.exists
            && exists == matches.is_empty()
        {
            let observed = if matches.is_empty() {
                "no such file".to_owned()
            } else {
                format!("found {matches:?}")
            };
            return Err(Miss::new(format!("{} exists: {exists}", fc.path), observed));
        }
        if let Some(name) = &fc.same_as {
            let (_, saved) = self.saved.get(name).ok_or_else(|| {
                Miss::new(
                    format!("an earlier fs save step kept bytes as {name:?}"),
                    "none did",
                )
            })?;
            if matches.is_empty() {
                return Err(Miss::new(
                    format!("{} holds exactly the bytes saved as {name:?}", fc.path),
                    "no such file",
                ));
            }
            for path in &matches {
                let bytes = std::fs::read(path).map_err(|e| {
                    Miss::new(format!("{} can be read", path.display()), e.to_string())
                })?;
                if bytes != *saved {
                    return Err(Miss::new(
                        format!(
                            "{} holds exactly the bytes saved as {name:?}",
                            path.display()
                        ),
                        format!(
                            "{} bytes that differ (saved: {} bytes)",
                            bytes.len(),
                            saved.len()
                        ),
                    ));
                }
            }
        }
        if let Some(mode) = fc.mode {
            let want = mode.bits();
            if matches.is_empty() {
                return Err(Miss::new(
                    format!("{} has mode {mode}", fc.path),
                    "no such file",
                ));
            }
            for path in &matches {
                let meta = std::fs::metadata(path).map_err(|e| {
                    Miss::new(format!("{} can be read", path.display()), e.to_string())
                })?;
                let got = meta.permissions().mode() & 0o7777;
                if got != want {
                    return Err(Miss::new(
                        format!("{} has mode {mode}", path.display()),
                        format!("{got:04o}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to `path`, creating it 0600 when it does not exist (an existing file keeps
/// its mode).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

/// Matches a file name against a pattern with `*` wildcards.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return pattern == name;
    };
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("*.store", "a.store"));
        assert!(glob_match("store-*", "store-127"));
        assert!(!glob_match("store-*", "lock-127"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(glob_match("exact", "exact"));
    }
}
