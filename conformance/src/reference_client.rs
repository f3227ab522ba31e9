//! The client under test: where the binary the clients find as `cliauth` comes from, and the
//! build of the reference client with its pause points (the `cliauth_hooked` example of the
//! client package; this crate does not depend on the client).

use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// Where the binary the clients find as `cliauth` on their `PATH` comes from.
#[derive(Debug, Clone)]
pub enum ClientBin {
    /// None: the profile's commands find their client on the caller's `PATH`.
    None,
    /// This binary.
    Path(PathBuf),
    /// The reference client with its pause points, built before the first scenario with
    /// `cargo build --workspace --example cliauth_hooked` in the workspace at `base_dir` (no
    /// crate of the workspace turns test hooks on in another, so no shipped binary has them).
    BuildReference,
}

/// The reference client under test could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Cargo could not be started.
    #[error("cannot run {cargo}: {source}")]
    Spawn {
        /// The cargo program (`$CARGO`, or `cargo`).
        cargo: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Cargo ran and failed (its diagnostics went to stderr).
    #[error("`{command}` failed ({status}); its errors are above")]
    Failed {
        /// The command line.
        command: String,
        /// Cargo's exit status.
        status: std::process::ExitStatus,
    },
    /// Cargo succeeded but named no executable for the example.
    #[error("`{command}` named no executable for the example")]
    NoExecutable {
        /// The command line.
        command: String,
    },
    /// The file that shares one build among the processes of a nextest run failed.
    #[error("share the built client through {}: {source}", path.display())]
    Share {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Builds the reference client with its pause points (the `cliauth_hooked` example of the
/// `cliauth` package) in the workspace at `workspace`; returns the executable's path.
///
/// Runs `$CARGO` (the cargo running the tests; `cargo` otherwise) so the same toolchain and
/// target folder are used; while tests run, cargo holds no build lock, so the nested build
/// does not wait for the outer one. `--workspace` resolves features as `cargo test
/// --workspace` (CI) does, so after it the nested build compiles nothing but the example:
/// `-p cliauth` alone resolves a few shared crates (`url`, `regex-automata`) with fewer
/// features and would build second copies of them and of everything above them.
///
/// The same command builds the interception test client (`pinned_https`, an example of this
/// package; see [`TEST_CLIENT`]), which lands beside the reference client.
pub fn build_reference_client(workspace: &Path) -> Result<PathBuf, BuildError> {
    const ARGS: [&str; 6] = [
        "build",
        "--workspace",
        "--example",
        "cliauth_hooked",
        "--example",
        "pinned_https",
    ];
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let command = format!("{} {}", cargo.to_string_lossy(), ARGS.join(" "));
    let out = std::process::Command::new(&cargo)
        .args(ARGS)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|source| BuildError::Spawn {
            cargo: cargo.to_string_lossy().into_owned(),
            source,
        })?;
    if !out.status.success() {
        return Err(BuildError::Failed {
            command,
            status: out.status,
        });
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // allow(broad-suppress): cargo prints one JSON message a line; a line that does not parse is not the artifact message looked for
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| {
            msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "cliauth_hooked"
        })
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .ok_or(BuildError::NoExecutable { command })
}

/// The interception test client: `pinned_https` (conformance/examples), a CLI with constant
/// `https://` hosts that honours `HTTPS_PROXY` and trusts only `SSL_CERT_FILE`. The harness
/// puts it on the clients' `PATH` as `pinned-https` (profile `profiles/pinned-https.toml`).
pub const TEST_CLIENT: (&str, &str) = ("pinned_https", "pinned-https");

/// [`build_reference_client`], once per test run: under nextest every scenario is its own
/// process, so the first process of a run (`NEXTEST_RUN_ID`) builds and leaves the path in a
/// temp file that the others read, holding a lock on it meanwhile. Elsewhere (`cargo test`, one
/// process for all scenarios) it just builds.
pub fn build_once(workspace: &Path) -> Result<PathBuf, BuildError> {
    let Some(run_id) = std::env::var_os("NEXTEST_RUN_ID") else {
        return build_reference_client(workspace);
    };
    let path = std::env::temp_dir().join(format!(
        "cliauth-conformance-client-{}",
        run_id.to_string_lossy()
    ));
    let share = |source| BuildError::Share {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(share)?;
    // Exclusive until dropped: the other processes wait here while the first one builds.
    file.lock().map_err(share)?;
    let mut known = String::new();
    file.read_to_string(&mut known).map_err(share)?;
    if !known.is_empty() {
        return Ok(PathBuf::from(known));
    }
    let bin = build_reference_client(workspace)?;
    file.rewind().map_err(share)?;
    file.write_all(bin.to_string_lossy().as_bytes())
        .map_err(share)?;
    Ok(bin)
}
