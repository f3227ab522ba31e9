//! Checks that hold after every scenario without being written in it: no secret in any
//! output, private credential files, no process left running.

use std::path::Path;

use crate::outcome::{Miss, Output};

/// No secret appears in any captured output, except stdout of an action that prints a secret
/// by design (the token action).
pub(crate) fn no_leaks(outputs: &[Output], secrets: &[String]) -> Result<(), Miss> {
    for out in outputs {
        let streams: &[(&str, &str)] = if out.secret_stdout {
            &[("stderr", out.stderr.as_str())]
        } else {
            &[
                ("stdout", out.stdout.as_str()),
                ("stderr", out.stderr.as_str()),
            ]
        };
        for (stream, text) in streams {
            if let Some(n) = secrets.iter().position(|s| text.contains(s.as_str())) {
                return Err(Miss::new(
                    format!("invariant: no secret in {} {stream}", out.label),
                    format!("secret #{n} (masked below as [secret#{n}]) appears"),
                ));
            }
        }
    }
    Ok(())
}

/// Replaces every secret with `[secret#N]`, longest first so prefixes do not break masking.
pub(crate) fn mask(text: &str, secrets: &[String]) -> String {
    let mut order: Vec<usize> = (0..secrets.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(secrets[i].len()));
    let mut out = text.to_owned();
    for i in order {
        if out.contains(secrets[i].as_str()) {
            out = out.replace(secrets[i].as_str(), &format!("[secret#{i}]"));
        }
    }
    out
}

/// The credentials folder is 0700 and every file below it 0600 (when it exists).
pub(crate) fn credential_modes(dir: &Path) -> Result<(), Miss> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Miss::new(
                format!("{} can be inspected", dir.display()),
                e.to_string(),
            ));
        }
    };
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.is_dir() || mode != 0o700 {
        return Err(Miss::new(
            format!(
                "invariant: credentials folder {} is a 0700 folder",
                dir.display()
            ),
            format!(
                "{} with mode {mode:04o}",
                if meta.is_dir() {
                    "folder"
                } else {
                    "not a folder"
                }
            ),
        ));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Miss::new(format!("{} can be listed", dir.display()), e.to_string()))?;
    for entry in entries {
        let entry = entry
            .map_err(|e| Miss::new(format!("{} can be listed", dir.display()), e.to_string()))?;
        let path = entry.path();
        let meta = std::fs::symlink_metadata(&path).map_err(|e| {
            Miss::new(
                format!("{} can be inspected", path.display()),
                e.to_string(),
            )
        })?;
        if meta.is_dir() {
            credential_modes(&path)?;
            continue;
        }
        let mode = meta.permissions().mode() & 0o7777;
        if mode != 0o600 {
            return Err(Miss::new(
                format!("invariant: credential file {} is 0600", path.display()),
                format!("{mode:04o}"),
            ));
        }
    }
    Ok(())
}

/// Every file anywhere under `home` that holds one of `secrets` in plain text must be 0600 in
/// a 0700 folder (wherever the client chose to keep it: a config file, a cache, a log). One
/// miss per offending file.
pub(crate) fn secret_files_private(home: &Path, secrets: &[String]) -> Vec<Miss> {
    use std::os::unix::fs::PermissionsExt as _;
    let secrets: Vec<&String> = secrets.iter().filter(|s| s.len() >= 6).collect();
    let mut misses = Vec::new();
    if secrets.is_empty() {
        return misses;
    }
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        // allow(broad-suppress): a folder the scenario made unreadable on purpose (or removed) holds nothing to check
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // allow(broad-suppress): a file a client process removed meanwhile holds no secret
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            if !meta.is_file() || meta.len() > 4 << 20 {
                continue;
            }
            // allow(broad-suppress): an unreadable or vanished file cannot show a secret to check
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let text = String::from_utf8_lossy(&bytes);
            if !secrets.iter().any(|s| text.contains(s.as_str())) {
                continue;
            }
            let mode = meta.permissions().mode() & 0o7777;
            let folder = std::fs::metadata(&dir).map_or(0, |m| m.permissions().mode() & 0o7777);
            if mode != 0o600 || folder != 0o700 {
                misses.push(Miss::new(
                    format!(
                        "invariant: {} holds an issued secret, so it is 0600 in a 0700 folder",
                        path.display()
                    ),
                    format!("file {mode:04o} in folder {folder:04o}"),
                ));
            }
        }
    }
    misses
}

/// Live processes whose process group is one the runner created (the clients and anything
/// they started). Linux only: reads `/proc`; elsewhere it finds nothing.
pub(crate) fn stray_processes(pgids: &[u32]) -> Vec<u32> {
    let entries = match std::fs::read_dir("/proc") {
        Ok(entries) => entries,
        // Without /proc (not Linux) processes cannot be listed; kill_on_drop still applies.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            eprintln!("conformance: cannot list /proc to look for stray processes: {e}");
            return Vec::new();
        }
    };
    let own_session = session_of("/proc/self/stat");
    let mut strays = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                eprintln!("conformance: cannot read a /proc entry: {e}");
                continue;
            }
        };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = match std::fs::read_to_string(entry.path().join("stat")) {
            Ok(stat) => stat,
            // The process exited between listing and reading: it is gone, not a stray.
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::NotFound)
                    || e.raw_os_error() == Some(3) =>
            {
                continue;
            }
            Err(e) => {
                eprintln!("conformance: cannot read /proc/{pid}/stat: {e}");
                continue;
            }
        };
        // Fields after the command name (which may hold spaces) start after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let (Some(state), Some(pgrp), Some(session)) = (
            fields.first(),
            fields.get(2).and_then(|p| p.parse::<u32>().ok()),
            fields.get(3).and_then(|p| p.parse::<u32>().ok()),
        ) else {
            continue;
        };
        // The session check keeps a recycled pid that leads an unrelated group out.
        if *state != "Z" && pgids.contains(&pgrp) && own_session.is_none_or(|own| own == session) {
            strays.push(pid);
        }
    }
    strays
}

/// The session id in a `/proc/<pid>/stat` file.
fn session_of(stat_path: &str) -> Option<u32> {
    let stat = match std::fs::read_to_string(stat_path) {
        Ok(stat) => stat,
        Err(e) => {
            eprintln!("conformance: cannot read {stat_path}: {e}");
            return None;
        }
    };
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(3)?.parse().ok()
}

/// SIGKILLs stray processes (by pid, each one the runner's own descendant).
pub(crate) fn kill_strays(pids: &[u32]) {
    for pid in pids {
        match std::process::Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status()
        {
            Ok(status) if status.success() => {}
            Ok(status) => eprintln!("conformance: kill -KILL {pid} exited with {status}"),
            Err(e) => eprintln!("conformance: kill -KILL {pid} could not run: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_longest_first() {
        let secrets = vec!["abcdef".to_owned(), "abcdefgh".to_owned()];
        assert_eq!(
            mask("x abcdefgh y abcdef", &secrets),
            "x [secret#1] y [secret#0]"
        );
    }

    #[test]
    fn leak_in_stderr_is_found_and_token_stdout_is_exempt() {
        let out = Output {
            label: "token#0".into(),
            exit: Some(0),
            stdout: "s3cr3t-token".into(),
            stderr: String::new(),
            secret_stdout: true,
            json: false,
            wall_ms: 0,
        };
        assert!(no_leaks(std::slice::from_ref(&out), &["s3cr3t-token".to_owned()]).is_ok());
        let leaked = Output {
            stderr: "oops s3cr3t-token".into(),
            ..out
        };
        assert!(no_leaks(&[leaked], &["s3cr3t-token".to_owned()]).is_err());
    }

    #[test]
    fn credential_modes_are_checked() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        std::fs::create_dir(&creds).unwrap();
        std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o700)).unwrap();
        let f = creds.join("store");
        std::fs::write(&f, b"x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(credential_modes(&creds).is_ok());
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(credential_modes(&creds).is_err());
        assert!(credential_modes(&dir.path().join("absent")).is_ok());
    }

    #[test]
    fn a_file_anywhere_in_the_home_that_holds_a_secret_must_be_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let home = tempfile::tempdir().unwrap();
        let conf = home.path().join(".config/tool");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = conf.join("enterprise.toml");
        std::fs::write(&f, b"token = \"pat-secret-value\"\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::fs::write(conf.join("other.toml"), b"nothing secret\n").unwrap();
        let secrets = vec!["pat-secret-value".to_owned()];
        let misses = secret_files_private(home.path(), &secrets);
        assert_eq!(misses.len(), 1, "only the file with the secret");
        assert!(
            misses[0].observed.contains("file 0644 in folder 0755"),
            "{}",
            misses[0].observed
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(
            secret_files_private(home.path(), &secrets).len(),
            1,
            "folder still 0755"
        );
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(secret_files_private(home.path(), &secrets).is_empty());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_live_process_of_our_group_is_a_stray_until_killed() {
        use std::os::unix::process::CommandExt as _;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = child.id();
        assert_eq!(stray_processes(&[pid]), vec![pid]);
        kill_strays(&[pid]);
        child.wait().unwrap();
        assert!(stray_processes(&[pid]).is_empty());
    }
}
