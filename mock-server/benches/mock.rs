//! `just bench-mock`: start-up time of the release binary and refresh grants per second over
//! loopback. Prints figures; asserts nothing about time. Loopback only, bounded loops.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream as StdStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const STARTS: usize = 30;
const WORKERS: usize = 16;
const REFRESH_SECONDS: u64 = 5;

fn main() {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    println!(
        "machine: {cores} cores available, {}",
        std::env::consts::ARCH
    );
    start_up();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(refresh_throughput());
}

/// Spawns the binary `STARTS` times; measures spawn → first 200 from discovery.
fn start_up() {
    let mut samples = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cliauth-mock"))
            .args(["serve", "--port", "0"])
            .env_remove("CLIAUTH_MOCK_CONFIG")
            .env_remove("CLIAUTH_MOCK_PORT")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn cliauth-mock");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("readiness line");
        let ready: serde_json::Value = serde_json::from_str(&line).expect("readiness JSON");
        let port = u16::try_from(ready["port"].as_u64().expect("port")).expect("port fits");
        let status = blocking_get(port, "/.well-known/oauth-authorization-server");
        let elapsed = started.elapsed();
        assert_eq!(status, 200, "discovery failed");
        samples.push(elapsed);
        child.kill().expect("kill cliauth-mock");
        child.wait().expect("reap cliauth-mock");
    }
    samples.sort();
    println!(
        "start-up (spawn -> first discovery 200), {STARTS} runs: median {:.2} ms, min {:.2} ms, p90 {:.2} ms",
        ms(samples[STARTS / 2]),
        ms(samples[0]),
        ms(samples[STARTS * 9 / 10])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn blocking_get(port: u16, path: &str) -> u16 {
    let mut sock = StdStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        sock,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut buf = String::new();
    sock.read_to_string(&mut buf).expect("read");
    buf.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A minimal keep-alive HTTP/1.1 client, so the load generator spends little of the two cores.
struct Conn {
    sock: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn post_form(&mut self, path: &str, body: &str) -> (u16, Vec<u8>) {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.sock.write_all(req.as_bytes()).await.expect("write");
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .expect("content-length");
                if self.buf.len() >= end + 4 + len {
                    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
                    let body = self.buf[end + 4..end + 4 + len].to_vec();
                    self.buf.drain(..end + 4 + len);
                    return (status, body);
                }
            }
            let mut chunk = [0u8; 4096];
            let n = self.sock.read(&mut chunk).await.expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn refresh_token(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).expect("token JSON");
    v["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}

/// Runs the server as the release binary (its own process, its own runtime) and drives
/// `WORKERS` keep-alive connections, each refreshing its own token chain (strict rotation).
async fn refresh_throughput() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cliauth-mock"))
        .args(["serve", "--port", "0"])
        .env_remove("CLIAUTH_MOCK_CONFIG")
        .env_remove("CLIAUTH_MOCK_PORT")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn cliauth-mock");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("readiness line");
    let ready: serde_json::Value = serde_json::from_str(&line).expect("readiness JSON");
    let port = u16::try_from(ready["port"].as_u64().expect("port")).expect("port fits");
    let pid = child.id();
    let cpu_before = cpu_seconds(pid);
    let deadline = Instant::now() + Duration::from_secs(REFRESH_SECONDS);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        tasks.push(tokio::spawn(async move {
            let sock = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            sock.set_nodelay(true).expect("nodelay");
            let mut conn = Conn {
                sock,
                buf: Vec::new(),
            };
            let (status, body) = conn
                .post_form(
                    "/oauth/token",
                    "grant_type=password&username=alice&password=alice-password&client_id=cliauth",
                )
                .await;
            assert_eq!(status, 200);
            let mut token = refresh_token(&body);
            let mut done = 0u64;
            while Instant::now() < deadline {
                let (status, body) = conn
                    .post_form(
                        "/oauth/token",
                        &format!(
                            "grant_type=refresh_token&client_id=cliauth&refresh_token={token}"
                        ),
                    )
                    .await;
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                token = refresh_token(&body);
                done += 1;
            }
            done
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("worker");
    }
    let secs = started.elapsed().as_secs_f64();
    let server_cpu = cpu_seconds(pid) - cpu_before;
    #[expect(clippy::cast_precision_loss, reason = "a request count far below 2^52")]
    let rate = total as f64 / secs;
    println!(
        "refresh grants (strict rotation, ES256 JWT, {WORKERS} keep-alive connections, server and load generator on the same machine): {total} in {secs:.2} s = {rate:.0}/s"
    );
    #[expect(clippy::cast_precision_loss, reason = "a request count far below 2^52")]
    let per_cpu = total as f64 / server_cpu;
    println!(
        "server CPU time for them: {server_cpu:.2} s = {per_cpu:.0} refresh grants per server CPU-second (the figure that does not depend on what else runs on the machine)"
    );
    child.kill().expect("kill cliauth-mock");
    child.wait().expect("reap cliauth-mock");
}

/// User + system CPU seconds a process has used, from `/proc/PID/stat` (Linux).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').expect("stat format").1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    // The kernel reports in USER_HZ, which is 100 on every Linux this runs on.
    ticks / 100.0
}
