//! The `cliauth-mock` binary: `cliauth-mock serve [--port N] [--config FILE]`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
use cliauth_mock::{Config, ConfigError, Dialect, MockServer};

mod lifecycle;

const AFTER_HELP: &str = "\
Default users (when the config has no [[users]]):
  alice / alice-password   has a Private Teamspace (and is a member of team \"acme\")
  bob   / bob-password     has no Private Teamspace (member of team \"acme\")
Default client: public client \"cliauth\" (no secret), every grant, redirect URIs
  http://127.0.0.1/callback, http://localhost/callback, http://[::1]/callback (any port).

Once listening, `serve` prints one JSON line to stdout:
  {\"url\":...,\"issuer\":...,\"admin_url\":...,\"port\":...,\"pid\":...}
  (with --tls or --intercept also \"ca_pem\", the CA file to trust; with --intercept
  \"proxy_url\", the CONNECT proxy for HTTPS_PROXY)
Dialects (--dialect or `dialect = \"...\"` in the config): cliauth (default), spec-kitty
  (client cli_native; /oauth/device, /api/v1/session-status, ...), skillmeat (client
  skillmeat-cli; /oauth/device/authorize, /api/v1/auth/me, /api/v1/api-keys), dot-ai
  (OAuth at the root: /register, /authorize, /token; no refresh token; /api/v1/tools) and
  spacebot (fixed client 9d1c250a-...; JSON bodies at /v1/oauth/token; use with
  --intercept claude.ai,console.anthropic.com).
Logs go to stderr, secrets as fingerprints only.

Environment (each the twin of the flag named):
  CLIAUTH_MOCK_PORT              --port
  CLIAUTH_MOCK_CONFIG            --config
  CLIAUTH_MOCK_DIALECT           --dialect
  CLIAUTH_MOCK_JOURNAL_CAPACITY  --journal-capacity
  CLIAUTH_MOCK_RECORD_CAPACITY   --record-capacity
  CLIAUTH_MOCK_MAX_CONNECTIONS   --max-connections
  CLIAUTH_MOCK_IDLE_TIMEOUT      --idle-timeout
  CLIAUTH_MOCK_EXIT_WITH_PARENT  --exit-with-parent
  CLIAUTH_MOCK_HOST              --host
  CLIAUTH_MOCK_ADMIN_TOKEN       --admin-token
  CLIAUTH_MOCK_TLS               --tls
  CLIAUTH_MOCK_INTERCEPT         --intercept
  CLIAUTH_MOCK_LOG               log filter (e.g. debug: every request); default warn
  NO_COLOR                       any value: no colour in the log

Exit codes:
  0  stopped by SIGTERM, Ctrl-C, or the parent's exit (--exit-with-parent)
  1  the server failed (e.g. the port is taken)
  2  bad command line or config file";

/// A scriptable mock OAuth 2.0 authorization server and hosted API, on 127.0.0.1 by default.
#[derive(Debug, Parser)]
#[command(name = "cliauth-mock", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve on 127.0.0.1 until SIGTERM or Ctrl-C.
    #[command(after_help = AFTER_HELP)]
    Serve {
        /// Port on 127.0.0.1 (0 picks a free port).
        #[arg(long, default_value_t = 0, env = "CLIAUTH_MOCK_PORT")]
        port: u16,
        /// TOML configuration file (schema in mock-server/README.md).
        #[arg(long, value_name = "FILE", env = "CLIAUTH_MOCK_CONFIG")]
        config: Option<PathBuf>,
        /// Speak this product's paths and shapes: cliauth (default), spec-kitty, skillmeat, dot-ai or spacebot
        /// (overrides `dialect` in the config file).
        #[arg(long, value_name = "NAME", env = "CLIAUTH_MOCK_DIALECT")]
        dialect: Option<Dialect>,
        /// Keep at most this many journal entries; older ones are dropped and counted.
        #[arg(long, value_name = "N", env = "CLIAUTH_MOCK_JOURNAL_CAPACITY", default_value_t = cliauth_mock::DEFAULT_JOURNAL_CAPACITY)]
        journal_capacity: usize,
        /// Keep at most this many access-token records, spent refresh-token records and issued
        /// secrets; the oldest are forgotten (memory stays flat over millions of grants).
        #[arg(long, value_name = "N", env = "CLIAUTH_MOCK_RECORD_CAPACITY", default_value_t = cliauth_mock::DEFAULT_RECORD_CAPACITY)]
        record_capacity: usize,
        /// Keep at most this many connections open; at the cap the oldest idle one is closed.
        #[arg(long, value_name = "N", env = "CLIAUTH_MOCK_MAX_CONNECTIONS", default_value_t = cliauth_mock::DEFAULT_MAX_CONNECTIONS)]
        max_connections: usize,
        /// Close a connection that sends no complete request head for this many seconds.
        #[arg(long, value_name = "SECS", env = "CLIAUTH_MOCK_IDLE_TIMEOUT", default_value_t = cliauth_mock::DEFAULT_IDLE_TIMEOUT.as_secs())]
        idle_timeout: u64,
        /// Exit (status 0) when stdin closes or the parent process exits, so that a killed
        /// test run leaves no server behind. The Python and Node helpers turn it on.
        #[arg(long, env = "CLIAUTH_MOCK_EXIT_WITH_PARENT")]
        exit_with_parent: bool,
        /// Address to listen on: 127.0.0.1 (default), ::1, or 0.0.0.0 / :: for every interface
        /// (a container). The admin API still answers loopback peers only unless
        /// --admin-token is set.
        #[arg(
            long,
            value_name = "ADDR",
            env = "CLIAUTH_MOCK_HOST",
            default_value = "127.0.0.1"
        )]
        host: std::net::IpAddr,
        /// Let non-loopback peers use the admin API with this bearer token (prefer the
        /// environment variable: a command line is visible to every local user).
        #[arg(
            long,
            value_name = "TOKEN",
            env = "CLIAUTH_MOCK_ADMIN_TOKEN",
            hide_env_values = true
        )]
        admin_token: Option<String>,
        /// Serve HTTPS with a certificate from a CA made for this run; the readiness line's
        /// `ca_pem` is the path of the CA certificate to trust (`curl --cacert`).
        #[arg(long, env = "CLIAUTH_MOCK_TLS")]
        tls: bool,
        /// Serve HTTPS with this PEM certificate chain (needs --tls-key; implies --tls).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Also listen as an HTTP CONNECT proxy that intercepts these hosts (comma-separated,
        /// e.g. claude.ai,console.anthropic.com): TLS is terminated with a certificate from a
        /// CA made for this run and the same server answers inside the tunnel; CONNECT to any
        /// other host is refused. The readiness line's `proxy_url` is for HTTPS_PROXY and its
        /// `ca_pem` for SSL_CERT_FILE.
        #[arg(
            long,
            value_name = "HOST[,HOST...]",
            env = "CLIAUTH_MOCK_INTERCEPT",
            value_delimiter = ','
        )]
        intercept: Vec<String>,
    },
    /// Write the man pages into a folder (`just man` writes them to target/man).
    #[command(hide = true)]
    Man {
        /// The folder (created if missing).
        #[arg(value_name = "DIR")]
        out_dir: PathBuf,
    },
}

/// What `serve` starts with besides the config.
#[derive(Debug)]
struct Options {
    port: u16,
    journal_capacity: usize,
    record_capacity: usize,
    max_connections: usize,
    idle_timeout: u64,
    exit_with_parent: bool,
    parent: u32,
    host: std::net::IpAddr,
    admin_token: Option<cliauth_mock::AdminToken>,
    tls: bool,
    tls_files: Option<(PathBuf, PathBuf)>,
    intercept: Vec<String>,
}

/// The binary's allocator: a grant's many short-lived strings, freed on whichever worker thread
/// finishes the request, cost measurably less CPU than with the system malloc (see the README's
/// benchmark section).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Read before anything else: `--exit-with-parent` exits once this changes.
    let parent = std::os::unix::process::parent_id();
    let cli = Cli::parse();
    if let Command::Man { out_dir } = &cli.command {
        return write_man_pages(out_dir);
    }
    let Command::Serve {
        port,
        config,
        dialect,
        journal_capacity,
        record_capacity,
        max_connections,
        idle_timeout,
        exit_with_parent,
        host,
        admin_token,
        tls,
        tls_cert,
        tls_key,
        intercept,
    } = cli.command
    else {
        // `man` returned above; no other command exists.
        return ExitCode::from(2);
    };
    let admin_token = match admin_token.as_deref().map(cliauth_mock::AdminToken::new) {
        None => None,
        Some(Some(token)) => Some(token),
        Some(None) => {
            eprintln!("error: --admin-token is empty");
            eprintln!("hint: give it a value, or leave it out to keep the admin API loopback-only");
            return ExitCode::from(2);
        }
    };
    let options = Options {
        port,
        journal_capacity,
        record_capacity,
        max_connections,
        idle_timeout,
        exit_with_parent,
        parent,
        host,
        admin_token,
        tls,
        tls_files: tls_cert.zip(tls_key),
        intercept,
    };
    let mut config = match config.map(Config::from_file).transpose() {
        Ok(c) => c.unwrap_or_default(),
        Err(ConfigError::Read { path, source, .. }) => {
            // The OS reason (missing, permission denied, a folder) is the whole story here.
            eprintln!(
                "error: cannot read config file {}: {source}",
                path.display()
            );
            eprintln!(
                "hint: check the path given to --config, or run without --config for the defaults"
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("error: invalid config: {e}");
            eprintln!("hint: fix the file named above, or run without --config for the defaults");
            return ExitCode::from(2);
        }
    };
    if let Some(dialect) = dialect {
        config.dialect = dialect;
    }
    let filter = match tracing_subscriber::EnvFilter::try_from_env("CLIAUTH_MOCK_LOG") {
        Ok(filter) => filter,
        Err(e) => {
            if std::env::var_os("CLIAUTH_MOCK_LOG").is_some() {
                eprintln!(
                    "warning: CLIAUTH_MOCK_LOG is not a valid filter ({e}); logging warnings only"
                );
            }
            tracing_subscriber::EnvFilter::new("warn")
        }
    };
    // Colour only for a person at a terminal: not into files or pipes, nor with NO_COLOR set
    // (https://no-color.org: any non-empty value).
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .init();
    match run(&options, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cliauth-mock man DIR`: one page for the binary and one per subcommand.
fn write_man_pages(dir: &std::path::Path) -> ExitCode {
    match std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(Cli::command(), dir))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: cannot write the man pages to {}: {e}",
                dir.display()
            );
            eprintln!("hint: give a folder you can write to, e.g. target/man");
            ExitCode::from(1)
        }
    }
}

fn run(options: &Options, config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("failed to start the Tokio runtime")?;
    runtime.block_on(async {
        let mut builder = MockServer::builder()
            .host(options.host)
            .port(options.port)
            .config(config)
            .journal_capacity(options.journal_capacity)
            .record_capacity(options.record_capacity)
            .max_connections(options.max_connections)
            .idle_timeout(std::time::Duration::from_secs(options.idle_timeout));
        if let Some(token) = options.admin_token.clone() {
            builder = builder.admin_token(token);
        }
        let (tls, ca) = tls_setup(options)?;
        if let Some(config) = &tls {
            builder = builder.tls(Arc::clone(config));
        }
        let ca_pem = match ca {
            // With --tls-cert the served certificate is the user's: no CA of ours to trust.
            Some(ca) if !options.intercept.is_empty() || options.tls_files.is_none() => {
                if !options.intercept.is_empty() {
                    builder = builder
                        .intercept(options.intercept.iter().cloned())
                        .certificate_authority(Arc::clone(&ca));
                }
                Some(write_ca(&ca)?)
            }
            Some(_) | None => None,
        };
        let server = builder.start().await.context("failed to start")?;
        let ready = serde_json::json!({
            "url": server.url(),
            "issuer": server.issuer(),
            "admin_url": server.admin_url(),
            "port": server.port(),
            "dialect": server.dialect().name(),
            "pid": std::process::id(),
        });
        let mut ready = ready;
        if let Some(ca) = &ca_pem {
            ready["ca_pem"] = ca.path.display().to_string().into();
        }
        if let Some(proxy) = server.proxy_url() {
            ready["proxy_url"] = proxy.into();
        }
        let mut out = std::io::stdout().lock();
        writeln!(out, "{ready}").context("failed to write the readiness line")?;
        out.flush().context("failed to flush the readiness line")?;
        drop(out);
        wait_for_signal(options.exit_with_parent.then_some(options.parent)).await?;
        server.shutdown().await;
        Ok(())
    })
}

/// The CA certificate file of `--tls`, removed when the server exits.
struct CaFile {
    path: PathBuf,
}

impl Drop for CaFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::debug!(error = %e, path = %self.path.display(), "could not remove the CA file");
        }
    }
}

/// What `--tls`, `--tls-cert` and `--intercept` need: the HTTPS configuration of the main
/// listener, and the CA made for this run.
type TlsSetup = (
    Option<Arc<rustls::ServerConfig>>,
    Option<Arc<cliauth_mock::tls::CertificateAuthority>>,
);

/// The rustls configuration for `--tls` / `--tls-cert`, and the CA made for this run when
/// `--tls` or `--intercept` needs one (one CA signs both, so one file is trusted).
fn tls_setup(options: &Options) -> anyhow::Result<TlsSetup> {
    use cliauth_mock::tls;
    let generated_tls = options.tls && options.tls_files.is_none();
    let ca = if generated_tls || !options.intercept.is_empty() {
        Some(Arc::new(tls::CertificateAuthority::generate()?))
    } else {
        None
    };
    if let Some((cert, key)) = &options.tls_files {
        let leaf = tls::load_pem_files(cert, key).context("--tls-cert/--tls-key")?;
        return Ok((Some(tls::server_config(leaf)?), ca));
    }
    let Some(ca_ref) = ca.as_ref().filter(|_| generated_tls) else {
        return Ok((None, ca));
    };
    let mut names = vec![
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        "localhost".to_owned(),
    ];
    if !options.host.is_loopback() && !options.host.is_unspecified() {
        names.push(options.host.to_string());
    }
    let config = tls::server_config(ca_ref.issue(&names)?)?;
    Ok((Some(config), ca))
}

/// Writes the CA certificate where clients can read it (removed when the server exits).
fn write_ca(ca: &cliauth_mock::tls::CertificateAuthority) -> anyhow::Result<CaFile> {
    let path = std::env::temp_dir().join(format!("cliauth-mock-{}-ca.pem", std::process::id()));
    std::fs::write(&path, ca.pem())
        .with_context(|| format!("failed to write the CA certificate to {}", path.display()))?;
    Ok(CaFile { path })
}

async fn wait_for_signal(exit_with_parent: Option<u32>) -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("failed to install the SIGTERM handler")?;
    let parent = async {
        if let Some(parent) = exit_with_parent {
            let why = lifecycle::parent_gone(parent).await;
            tracing::info!("{why}; exiting (--exit-with-parent)");
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("failed to wait for Ctrl-C"),
        _ = term.recv() => Ok(()),
        () = parent => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variable a flag reads is listed in `--help`'s Environment section, so a new flag's
    /// twin cannot be left out of it.
    #[test]
    fn help_lists_every_environment_variable() {
        let env_section = AFTER_HELP
            .split("Environment")
            .nth(1)
            .and_then(|s| s.split("Exit codes:").next())
            .expect("an Environment section before the exit codes");
        let mut missing = Vec::new();
        let mut commands = vec![Cli::command()];
        while let Some(cmd) = commands.pop() {
            for arg in cmd.get_arguments() {
                if let Some(env) = arg.get_env() {
                    let env = env.to_string_lossy().into_owned();
                    if !env_section.contains(&format!("  {env} ")) {
                        missing.push(env);
                    }
                }
            }
            commands.extend(cmd.get_subcommands().cloned());
        }
        assert!(missing.is_empty(), "not in --help: {missing:?}");
        assert!(
            AFTER_HELP
                .trim_end()
                .ends_with("bad command line or config file")
        );
    }

    /// `man DIR` writes a page per command, and each renders with `man -l` without a groff
    /// warning (skipped, and said so, where man is not installed).
    #[test]
    fn man_pages_are_written_and_render() {
        let dir =
            std::env::temp_dir().join(format!("cliauth-mock-man-test-{}", std::process::id()));
        assert_eq!(
            write_man_pages(&dir),
            ExitCode::SUCCESS,
            "write the man pages"
        );
        let top = dir.join("cliauth-mock.1");
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
