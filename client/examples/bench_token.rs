//! Benchmark for `just bench-client`: median wall time of `cliauth auth token` with a valid
//! stored session (the hot path) next to `true`, run interleaved in the same process.
//!
//! Usage: `bench_token <path to cliauth> [runs]`

use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use cliauth::{
    AccessToken, LoginMethod, RefreshToken, SessionRecord, Store, StoredState, now_unix,
};

const SERVER: &str = "http://127.0.0.1:9";

fn command(program: &str, home: &std::path::Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("CLIAUTH_") {
            cmd.env_remove(k);
        }
    }
    cmd.args(args)
        .env("CLIAUTH_HOME", home)
        .env("CLIAUTH_SERVER_URL", SERVER)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn time(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let status = cmd.status().expect("the command runs");
    let took = start.elapsed();
    assert!(status.success(), "{cmd:?} failed: {status}");
    took
}

/// (10th percentile, median, 90th percentile).
fn spread(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort_unstable();
    (v[v.len() / 10], v[v.len() / 2], v[v.len() * 9 / 10])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(cliauth) = args.next() else {
        eprintln!("usage: bench_token <path to cliauth> [runs]");
        return ExitCode::from(2);
    };
    let runs: usize = args
        .next()
        .map_or(300, |r| r.parse().expect("runs is a number"));
    // `--keep` (as the runs argument's successor) leaves the home folder for profiling.
    let keep = args.next().is_some_and(|a| a == "--keep");
    let home = tempfile::tempdir().expect("tempdir");
    let store = Store::new(
        &home.path().join("credentials"),
        &url::Url::parse(SERVER).expect("url"),
        None,
        None,
    );
    let guard = store.lock(Duration::from_secs(5)).expect("lock");
    let state = StoredState {
        server: SERVER.into(),
        registered_client_id: None,
        registered_client_secret: None,
        static_token: None,
        session: Some(SessionRecord {
            access_token: AccessToken::new("bench-access-token"),
            refresh_token: Some(RefreshToken::new("bench-refresh-token")),
            access_expires_at: Some(now_unix() + 3600),
            refresh_expires_at: None,
            method: LoginMethod::Password,
            user: Some("bench".into()),
            client_id: "cliauth".into(),
            updated_at: now_unix(),
            me: None,
            auth_server: None,
            scope: None,
            subject: None,
            client_secret: None,
        }),
    };
    store.save(&state, &guard).expect("store the session");
    drop(guard);
    if keep {
        println!("{}", home.keep().display());
        return ExitCode::SUCCESS;
    }
    let true_bin = PathBuf::from("/bin/true");
    let true_bin = true_bin.to_string_lossy();
    // Warm-up (page cache, dynamic loader).
    for _ in 0..20 {
        time(&mut command(&cliauth, home.path(), &["auth", "token"]));
        time(&mut command(&true_bin, home.path(), &[]));
    }
    let (mut tok, mut tru) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        tok.push(time(&mut command(
            &cliauth,
            home.path(),
            &["auth", "token"],
        )));
        tru.push(time(&mut command(&true_bin, home.path(), &[])));
    }
    let ((t10, t, t90), (e10, e, e90)) = (spread(tok), spread(tru));
    let ratio = t.as_secs_f64() / e.as_secs_f64();
    println!(
        "cliauth auth token: median {:.2} ms (p10 {:.2}, p90 {:.2}); true: median {:.2} ms (p10 {:.2}, p90 {:.2}); ratio {ratio:.2}x ({runs} runs each, interleaved)",
        ms(t),
        ms(t10),
        ms(t90),
        ms(e),
        ms(e10),
        ms(e90)
    );
    let ok = t < Duration::from_millis(3) && ratio <= 3.0;
    println!(
        "target (< 3 ms and within 3x of true): {}",
        if ok { "met" } else { "NOT met" }
    );
    ExitCode::SUCCESS
}
