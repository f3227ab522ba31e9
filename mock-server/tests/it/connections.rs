//! Bounded connections: the connection cap evicts idle connections, and idle or slow ones time
//! out, so leaked sockets never stop the server answering.

use std::time::Duration;

use cliauth_mock::MockServer;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::get;

/// Whether the server closes this connection within `within` (EOF or a reset).
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_elapsed) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {} // a response; keep reading until the close
        }
    }
}

async fn connect(server: &MockServer) -> TcpStream {
    TcpStream::connect(("127.0.0.1", server.port()))
        .await
        .unwrap()
}

#[tokio::test]
async fn at_the_connection_cap_the_oldest_idle_connection_makes_room() {
    let server = MockServer::builder()
        .max_connections(4)
        .start()
        .await
        .unwrap();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect(&server).await);
    }
    // The server accepts in arrival order, so it has registered all four before discovery's.
    let (status, _, _) = tokio::time::timeout(
        Duration::from_secs(5),
        get(&server, "/.well-known/oauth-authorization-server", None),
    )
    .await
    .expect("discovery is answered at the cap");
    assert_eq!(status, 200);
    assert!(
        closed_within(&mut idle[0], Duration::from_secs(2)).await,
        "the oldest idle connection was closed"
    );
    assert!(
        !closed_within(&mut idle[3], Duration::from_millis(100)).await,
        "a newer one stays"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_or_half_a_head_is_closed_after_the_idle_timeout() {
    let server = MockServer::builder()
        .idle_timeout(Duration::from_millis(200))
        .start()
        .await
        .unwrap();
    let mut silent = connect(&server).await;
    let mut half = connect(&server).await;
    half.write_all(b"GET /api/v1/meta HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut kept_alive = connect(&server).await;
    kept_alive
        .write_all(b"GET /api/v1/meta HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    for (name, stream) in [
        ("silent", &mut silent),
        ("half a head", &mut half),
        ("idle after a request", &mut kept_alive),
    ] {
        assert!(
            closed_within(stream, Duration::from_secs(3)).await,
            "{name}: closed"
        );
    }
    assert_eq!(get(&server, "/api/v1/meta", None).await.0, 200);
}
