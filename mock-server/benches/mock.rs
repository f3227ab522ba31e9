//! `just bench-mock`: the release binary over loopback. Prints, and asserts nothing about time:
//! - start-up: spawn -> first discovery answer (median of 30; target < 5 ms);
//! - refresh grants per second (16 keep-alive connections; target > 20,000 on 2 cores);
//! - resident memory (VmRSS) as the same server goes on to 1,000,000 refresh grants (target:
//!   flat, < 64 MB; the journal, token records and issued secrets are bounded);
//! - discovery latency while the full journal is fetched in a loop, and while 1,000 idle
//!   connections are open (target < 50 ms).
//!
//! Loopback only, bounded loops.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream as StdStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const STARTS: usize = 30;
const WORKERS: usize = 16;
const REFRESH_SECONDS: u64 = 5;
/// Refresh grants the memory phase drives the server to, in total.
const TOTAL_GRANTS: u64 = 1_000_000;
const IDLE_CONNECTIONS: usize = 1_000;
const LATENCY_SAMPLES: usize = 200;

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
    runtime.block_on(async {
        let server = Server::spawn();
        refresh_throughput(&server).await;
        memory(&server).await;
        latency_during_journal_fetches(&server).await;
        latency_with_idle_connections(&server).await;
        server.stop();
    });
}

/// The release binary as its own process.
struct Server {
    child: std::process::Child,
    port: u16,
    pid: u32,
}

impl Server {
    fn spawn() -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cliauth-mock"));
        command
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped());
        // Every flag's env twin from the caller's shell would change what is measured.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CLIAUTH_MOCK_") {
                command.env_remove(name);
            }
        }
        let mut child = command.spawn().expect("spawn cliauth-mock");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("readiness line");
        let ready: serde_json::Value = serde_json::from_str(&line).expect("readiness JSON");
        let port = u16::try_from(ready["port"].as_u64().expect("port")).expect("port fits");
        let pid = child.id();
        Self { child, port, pid }
    }

    fn stop(mut self) {
        self.child.kill().expect("kill cliauth-mock");
        self.child.wait().expect("reap cliauth-mock");
    }
}

/// Spawns the binary `STARTS` times; measures spawn → first 200 from discovery.
fn start_up() {
    let mut samples = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let started = Instant::now();
        let server = Server::spawn();
        let status = blocking_get(server.port, "/.well-known/oauth-authorization-server");
        let elapsed = started.elapsed();
        assert_eq!(status, 200, "discovery failed");
        samples.push(elapsed);
        server.stop();
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
    async fn open(port: u16) -> Self {
        let sock = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        sock.set_nodelay(true).expect("nodelay");
        Self {
            sock,
            buf: Vec::new(),
        }
    }

    async fn request(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
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

/// Drives `WORKERS` keep-alive connections, each refreshing its own token chain (strict
/// rotation), until `deadline` or until `count` grants in total have been made (whichever
/// comes first); returns the number of grants.
async fn drive(port: u16, deadline: Instant, count: Arc<AtomicU64>, limit: u64) -> u64 {
    let mut tasks = Vec::new();
    for _ in 0..WORKERS {
        let count = Arc::clone(&count);
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(port).await;
            let (status, body) = conn
                .request(
                    "POST",
                    "/oauth/token",
                    "grant_type=password&username=alice&password=alice-password&client_id=cliauth",
                )
                .await;
            assert_eq!(status, 200);
            let mut token = refresh_token(&body);
            let mut done = 0u64;
            while Instant::now() < deadline && count.fetch_add(1, Ordering::Relaxed) < limit {
                let (status, body) = conn
                    .request(
                        "POST",
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
    total
}

/// Refresh grants per second for `REFRESH_SECONDS`, server in its own process.
async fn refresh_throughput(server: &Server) {
    let cpu_before = cpu_seconds(server.pid);
    let deadline = Instant::now() + Duration::from_secs(REFRESH_SECONDS);
    let started = Instant::now();
    let total = drive(server.port, deadline, Arc::default(), u64::MAX).await;
    let secs = started.elapsed().as_secs_f64();
    let server_cpu = cpu_seconds(server.pid) - cpu_before;
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
}

/// Goes on to `TOTAL_GRANTS` refresh grants (counting the login and throughput phase's
/// requests as the server saw them only roughly: the figure is grants made here), printing
/// the server's resident memory at checkpoints.
async fn memory(server: &Server) {
    let started = Instant::now();
    let far = Instant::now() + Duration::from_secs(3600);
    let mut made = 0;
    let mut line = format!(
        "RSS (VmRSS) of the server: at start of the phase {} MB",
        rss_mb(server.pid)
    );
    for checkpoint in [100_000, 250_000, 500_000, 750_000, TOTAL_GRANTS] {
        made += drive(server.port, far, Arc::new(AtomicU64::new(made)), checkpoint).await;
        write!(
            line,
            ", after {}k grants {} MB",
            made / 1000,
            rss_mb(server.pid)
        )
        .expect("write to a String");
    }
    let secs = started.elapsed().as_secs_f64();
    // The same throughput over a window ten times as long, less at the mercy of a moment when
    // the machine is busy elsewhere than the 5 s figure above.
    #[expect(clippy::cast_precision_loss, reason = "a request count far below 2^52")]
    let rate = made as f64 / secs;
    println!("{line} ({made} refresh grants in {secs:.0} s = {rate:.0}/s)");
}

/// Resident set size of a process in MB, from `/proc/PID/status` (Linux).
fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kb / 1024
}

/// Discovery latency over one keep-alive connection, `LATENCY_SAMPLES` requests 5 ms apart;
/// `fresh` opens a new connection per request instead.
async fn discovery_latencies(port: u16, fresh: bool) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    let mut conn = Conn::open(port).await;
    for _ in 0..LATENCY_SAMPLES {
        let started = Instant::now();
        if fresh {
            conn = Conn::open(port).await;
        }
        let (status, _) = conn
            .request("GET", "/.well-known/oauth-authorization-server", "")
            .await;
        samples.push(started.elapsed());
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    samples.sort();
    samples
}

fn summary(samples: &[Duration]) -> String {
    format!(
        "median {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(samples[samples.len() / 2]),
        ms(samples[samples.len() * 99 / 100]),
        ms(samples[samples.len() - 1])
    )
}

/// Discovery latency while another connection fetches the whole (full) journal in a loop.
async fn latency_during_journal_fetches(server: &Server) {
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let journal_task = {
        let stop = Arc::clone(&stop);
        tokio::spawn(async move {
            let mut conn = Conn::open(port).await;
            let (mut fetches, mut bytes) = (0u64, 0usize);
            while !stop.load(Ordering::Relaxed) {
                let (status, body) = conn.request("GET", "/__admin/journal", "").await;
                assert_eq!(status, 200);
                fetches += 1;
                bytes = body.len();
            }
            (fetches, bytes)
        })
    };
    let samples = discovery_latencies(port, false).await;
    stop.store(true, Ordering::Relaxed);
    let (fetches, bytes) = journal_task.await.expect("journal fetcher");
    println!(
        "discovery while the full journal ({} KB a fetch) is fetched in a loop ({fetches} fetches), {LATENCY_SAMPLES} requests: {}",
        bytes / 1024,
        summary(&samples)
    );
}

/// Discovery latency, one new connection per request, while `IDLE_CONNECTIONS` connections
/// are open and idle (more than the server's default cap of 512: it closes the oldest idle).
async fn latency_with_idle_connections(server: &Server) {
    let mut idle = Vec::with_capacity(IDLE_CONNECTIONS);
    for _ in 0..IDLE_CONNECTIONS {
        idle.push(
            TcpStream::connect(("127.0.0.1", server.port))
                .await
                .expect("connect an idle connection"),
        );
    }
    let samples = discovery_latencies(server.port, true).await;
    println!(
        "discovery (new connection each) while {IDLE_CONNECTIONS} idle connections were opened, {LATENCY_SAMPLES} requests: {}",
        summary(&samples)
    );
    drop(idle);
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
