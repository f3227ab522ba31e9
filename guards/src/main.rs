//! The `cliauth-guard` binary.
//!
//! Exit status: 0 clean, 1 findings (or forbidden dependencies), 2 usage or configuration error.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::{CommandFactory as _, Parser, Subcommand, ValueEnum};
use cliauth_guard::{Config, check_paths, check_source, deps, render_json, render_text};

/// Exit status when every check passed.
const EXIT_CLEAN: u8 = 0;
/// Exit status when there are findings or forbidden dependencies.
const EXIT_FINDINGS: u8 = 1;
/// Exit status for a usage or configuration error.
const EXIT_ERROR: u8 = 2;

/// The environment variables and exit codes, at the end of `--help`.
const AFTER_HELP: &str = "\
Environment:
  CLIAUTH_GUARD_CONFIG  the configuration file (twin of --config)

Exit codes:
  0  clean: no findings, no forbidden dependency
  1  findings, or a forbidden dependency in the client's tree
  2  usage or configuration error, or a path that cannot be read";

/// Rejects unjustified broad error suppression in Rust code.
#[derive(Debug, Parser)]
#[command(name = "cliauth-guard", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check Rust files for unjustified broad error suppression.
    Check(CheckArgs),
    /// Fail when a keyring or credential-manager crate is in the client's dependency tree.
    Deps(DepsArgs),
    /// Measure lines per second over a tree of Rust files on one thread (all rules, no config).
    Bench(BenchArgs),
    /// List the rules: id, tier and what each looks for.
    Rules,
    /// Write the man pages into a folder (`just man` writes them to target/man).
    #[command(hide = true)]
    Man {
        /// The folder (created if missing).
        #[arg(value_name = "DIR")]
        out_dir: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    /// Files or directories (default: the config's root, filtered by its include/exclude).
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// The configuration file (default: nearest guard.toml, or Cargo.toml with
    /// [workspace.metadata.cliauth-guard]).
    #[arg(long, env = "CLIAUTH_GUARD_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct DepsArgs {
    /// The Cargo.toml of the workspace.
    #[arg(long)]
    manifest_path: Option<PathBuf>,
    /// Read `cargo metadata --format-version 1` output from this file instead of running cargo.
    #[arg(long)]
    metadata: Option<PathBuf>,
    /// Only this target triple's dependencies (default: every platform's).
    #[arg(long)]
    filter_platform: Option<String>,
    /// The package whose tree is checked (default: `deps.package` in the config, or `cliauth`).
    #[arg(long, short)]
    package: Option<String>,
    /// The configuration file (for `[[deps.allow]]`).
    #[arg(long, env = "CLIAUTH_GUARD_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// Trees to check (default: ~/.cargo/registry/src).
    paths: Vec<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_CLEAN
            };
            // Printing the usage text can only fail on a closed stream; the exit code says it.
            if error.print().is_err() {
                return ExitCode::from(EXIT_ERROR);
            }
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Check(args) => run_check(&args),
        Command::Deps(args) => run_deps(&args),
        Command::Bench(args) => run_bench(&args),
        Command::Rules => run_rules(),
        Command::Man { out_dir } => write_man_pages(&out_dir),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn load_config(explicit: Option<&Path>) -> Result<Config> {
    if let Some(path) = explicit {
        return Config::load(path).with_context(|| format!("load config {}", path.display()));
    }
    let cwd = std::env::current_dir().context("read the current directory")?;
    Ok(Config::discover(&cwd)
        .context("load config")?
        .map_or_else(Config::default, |(config, _)| config))
}

fn run_check(args: &CheckArgs) -> Result<u8> {
    let config = load_config(args.config.as_deref())?;
    let run = check_paths(&args.paths, &config).context("check the given paths")?;
    let cwd = std::env::current_dir().context("read the current directory")?;
    let mut findings = run.findings;
    for finding in &mut findings {
        if let Ok(rel) = finding.path.strip_prefix(&cwd) {
            finding.path = rel.to_owned();
        }
    }
    let text = match args.format {
        Format::Text => render_text(&findings, run.files),
        Format::Json => render_json(&findings, run.files) + "\n",
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .context("write the report")?;
    if findings.is_empty() {
        return Ok(EXIT_CLEAN);
    }
    if matches!(args.format, Format::Text) {
        eprintln!(
            "hint: handle or propagate each error, or justify it on its line or the line above \
             with `// allow(broad-suppress): <why losing this error is safe here>` \
             (see guards/README.md)"
        );
    }
    Ok(EXIT_FINDINGS)
}

fn run_deps(args: &DepsArgs) -> Result<u8> {
    // Without --config, the configuration is looked for beside the manifest, else from here.
    let config = match (&args.config, &args.manifest_path) {
        (None, Some(manifest)) => {
            let dir = std::path::absolute(manifest)
                .context("resolve --manifest-path")?
                .parent()
                .map(Path::to_owned)
                .context("--manifest-path has no parent directory")?;
            Config::discover(&dir)
                .context("load config")?
                .map_or_else(Config::default, |(config, _)| config)
        }
        (explicit, _) => load_config(explicit.as_deref())?,
    };
    let json = match &args.metadata {
        Some(path) => deps::read_metadata(path)?,
        None => deps::cargo_metadata(
            args.manifest_path.as_deref(),
            args.filter_platform.as_deref(),
        )?,
    };
    let package = args.package.as_deref().unwrap_or(&config.deps_package);
    let report = deps::check(&json, package, &config.deps_allow)?;
    let platforms = args.filter_platform.as_deref().unwrap_or("all platforms");
    let mut out = std::io::stdout().lock();
    for v in &report.allowed {
        writeln!(out, "accepted by [[deps.allow]]: {}: {}", v.krate, v.why)?;
        writeln!(out, "  pulled in by: {}", v.chain.join(" -> "))?;
    }
    for v in &report.violations {
        writeln!(out, "forbidden: {}: {}", v.krate, v.why)?;
        writeln!(out, "  pulled in by: {}", v.chain.join(" -> "))?;
    }
    match report.violations.len() {
        0 => writeln!(
            out,
            "No keyring or credential-manager crate in the tree of `{package}` ({} crates, {platforms}; {} accepted by [[deps.allow]]).",
            report.crates,
            report.allowed.len()
        )?,
        n => writeln!(
            out,
            "Found {n} forbidden crate{} in the tree of `{package}`.",
            if n == 1 { "" } else { "s" }
        )?,
    }
    Ok(if report.violations.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

fn run_rules() -> Result<u8> {
    let mut out = std::io::stdout().lock();
    for rule in cliauth_guard::Rule::ALL {
        writeln!(
            out,
            "{:<22} {:<7} {}",
            rule.id(),
            rule.tier(),
            rule.summary()
        )?;
    }
    Ok(EXIT_CLEAN)
}

/// `cliauth-guard man DIR`: one page for the binary and one per subcommand.
fn write_man_pages(dir: &Path) -> Result<u8> {
    std::fs::create_dir_all(dir)
        .and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
        .with_context(|| format!("write the man pages to {}", dir.display()))?;
    Ok(EXIT_CLEAN)
}

fn run_bench(args: &BenchArgs) -> Result<u8> {
    let paths = if args.paths.is_empty() {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .context("find the cargo home (set CARGO_HOME or HOME)")?;
        vec![home.join("registry").join("src")]
    } else {
        args.paths.clone()
    };
    let mut config = Config::default();
    config.log_is_handling = true;
    let mut files = Vec::new();
    for root in &paths {
        for entry in walkdir::WalkDir::new(root) {
            let entry = entry.with_context(|| format!("walk {}", root.display()))?;
            if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "rs") {
                files.push(entry.into_path());
            }
        }
    }
    files.sort();
    let (mut lines, mut bytes, mut findings, mut unparsed, mut unreadable) =
        (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut busy = Duration::ZERO;
    let cpu_start = thread_cpu_ns();
    let wall = Instant::now();
    for file in &files {
        let src = match std::fs::read_to_string(file) {
            Ok(src) => src,
            Err(error) => {
                eprintln!("skipping {}: {error}", file.display());
                unreadable += 1;
                continue;
            }
        };
        lines += src.lines().count();
        bytes += src.len();
        let start = Instant::now();
        let found = check_source(file, &src, &config);
        busy += start.elapsed();
        proc_macro2::extra::invalidate_current_thread_spans();
        unparsed += found
            .iter()
            .filter(|f| f.rule == cliauth_guard::Rule::ParseError)
            .count();
        findings += found.len();
    }
    let wall = wall.elapsed();
    let cpu = cpu_start
        .zip(thread_cpu_ns())
        .map(|(start, end)| Duration::from_nanos(end.saturating_sub(start)));
    let secs = busy.as_secs_f64();
    #[expect(
        clippy::cast_precision_loss,
        reason = "line and byte counts stay far below 2^52, so the f64 figure is exact"
    )]
    let (rate, mb) = (lines as f64 / secs, bytes as f64 / 1e6 / secs);
    println!(
        "{} files ({unreadable} unreadable), {lines} lines, {findings} findings ({unparsed} files did not parse)",
        files.len()
    );
    println!(
        "check time {secs:.2} s on one thread: {rate:.0} lines/s ({mb:.1} MB/s); wall time with reads {:.2} s",
        wall.as_secs_f64()
    );
    if let Some(cpu) = cpu {
        #[expect(
            clippy::cast_precision_loss,
            reason = "line counts stay far below 2^52, so the f64 figure is exact"
        )]
        let per_cpu = lines as f64 / cpu.as_secs_f64();
        println!(
            "thread CPU time with reads {:.2} s: {per_cpu:.0} lines per CPU second (unaffected by other load)",
            cpu.as_secs_f64()
        );
    }
    Ok(EXIT_CLEAN)
}

/// Nanoseconds this thread has run on a CPU (Linux `/proc/thread-self/schedstat`), so the
/// figure does not count time spent waiting for a core that other processes hold.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `man DIR` writes a page per command, and each renders with `man -l` without a groff
    /// warning (skipped, and said so, where man is not installed).
    #[test]
    fn man_pages_are_written_and_render() {
        let dir =
            std::env::temp_dir().join(format!("cliauth-guard-man-test-{}", std::process::id()));
        assert_eq!(
            write_man_pages(&dir).expect("write the man pages"),
            EXIT_CLEAN
        );
        let top = dir.join("cliauth-guard.1");
        assert!(top.exists(), "{} missing", top.display());
        let have_man = std::process::Command::new("sh")
            .args(["-c", "command -v man"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !have_man {
            println!("SKIPPED: man is not installed, so the pages' rendering is not checked");
        }
        for entry in std::fs::read_dir(&dir).expect("read the man folder") {
            let page = entry.expect("a man page").path();
            if !have_man {
                continue;
            }
            let out = std::process::Command::new("man")
                .arg("--warnings")
                .arg("-l")
                .arg(&page)
                .output()
                .expect("run man");
            let warnings = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && warnings.trim().is_empty(),
                "{}: {warnings}",
                page.display()
            );
            assert!(String::from_utf8_lossy(&out.stdout).contains("NAME"));
        }
        std::fs::remove_dir_all(&dir).expect("remove the man folder");
    }
}
