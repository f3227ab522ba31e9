//! Randomised SIGKILLs during refresh, login and logout (issue 13): see `kill_loop.rs`.

use std::path::Path;
use std::time::Duration;

use cliauth_mock::{Config, MockServer};

use crate::kill_loop::kill_rounds;

async fn mock(policy: &str) -> MockServer {
    let toml = format!("[tokens]\naccess_ttl = 0\n[rotation]\npolicy = \"{policy}\"\n");
    MockServer::builder()
        .config(Config::from_toml_str(&toml).expect("valid mock config"))
        .start()
        .await
        .expect("mock starts")
}

/// 200 kills with rotation `none`: no corrupt store, no stray file after the next command, no
/// lost session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_random_kills_lose_nothing_without_rotation() {
    let server = mock("none").await;
    let bin = Path::new(env!("CARGO_BIN_EXE_cliauth"));
    let stats = kill_rounds(bin, &server.url(), 200, Duration::from_millis(40)).await;
    eprintln!("{stats:?}");
    assert_eq!(stats.rounds, 200);
    assert!(
        stats.killed >= 100,
        "most rounds kill a running command: {stats:?}"
    );
    assert_eq!(stats.corrupt, 0, "{stats:?}");
    assert_eq!(stats.strays, 0, "{stats:?}");
    assert_eq!(stats.lost, 0, "{stats:?}");
    assert_eq!(stats.other_failures, 0, "{stats:?}");
}

/// 100 kills under strict rotation: no corrupt store, no stray file, and every lost session
/// is reported by the next command as ended by the server's rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_kills_under_strict_rotation_report_every_loss() {
    let server = mock("strict").await;
    let bin = Path::new(env!("CARGO_BIN_EXE_cliauth"));
    let stats = kill_rounds(bin, &server.url(), 100, Duration::from_millis(40)).await;
    eprintln!("{stats:?}");
    assert_eq!(stats.corrupt, 0, "{stats:?}");
    assert_eq!(stats.strays, 0, "{stats:?}");
    assert_eq!(stats.lost, stats.lost_reported, "{stats:?}");
    assert_eq!(stats.other_failures, 0, "{stats:?}");
}
