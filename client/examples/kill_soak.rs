//! Soak benchmark for crash safety (issue 13): random SIGKILLs during refresh, login and
//! logout against the mock, under rotation `none` and `strict`, printing the figures.
//!
//! ```sh
//! cargo build -p cliauth --bin cliauth && cargo run -p cliauth --example kill_soak -- target/debug/cliauth 1000
//! ```
//!
//! Arguments: the `cliauth` binary (default `target/debug/cliauth`) and the kills per policy
//! (default 1000). 127.0.0.1 only.

use std::path::PathBuf;
use std::time::Duration;

use cliauth_mock::{Config, MockServer};

#[path = "../tests/it/kill_loop.rs"]
mod kill_loop;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bin = PathBuf::from(args.next().unwrap_or_else(|| "target/debug/cliauth".into()));
    let rounds: u32 = args
        .next()
        .map_or(1000, |n| n.parse().expect("a number of kills"));
    println!(
        "binary {} , {rounds} kill rounds per rotation policy",
        bin.display()
    );
    println!(
        "| rotation | rounds | killed (refresh/login/logout) | corrupt | stray after next | lost | lost reported | other failures | time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for policy in ["none", "strict"] {
        let toml = format!("[tokens]\naccess_ttl = 0\n[rotation]\npolicy = \"{policy}\"\n");
        let server = MockServer::builder()
            .config(Config::from_toml_str(&toml).expect("valid mock config"))
            .start()
            .await
            .expect("mock starts");
        let s =
            kill_loop::kill_rounds(&bin, &server.url(), rounds, Duration::from_millis(40)).await;
        println!(
            "| {policy} | {} | {} ({}/{}/{}) | {} | {} | {} | {} | {} | {:.0} s |",
            s.rounds,
            s.killed,
            s.per_op[0],
            s.per_op[1],
            s.per_op[2],
            s.corrupt,
            s.strays,
            s.lost,
            s.lost_reported,
            s.other_failures,
            s.elapsed.as_secs_f64()
        );
    }
}
