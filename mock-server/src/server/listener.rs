//! The accept loop over hyper. The server runs its own loop, not `axum::serve`, so that a rule
//! can act at the connection level (close, reset, truncate) and so that a TLS ClientHello on
//! the plain port is noticed and journaled.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower::ServiceExt as _;

use crate::journal;
use crate::model::Shared;
use crate::server::connections::{Limits, Registered, Registry, Slot};
use crate::server::faults::{Cut, CutSender, Transport};
use crate::server::intercept::Interception;

/// The address a client reaches a bound socket at: loopback of its family for an
/// unspecified address (`0.0.0.0`, `::`), else the address itself.
pub(crate) fn reachable(bound: SocketAddr) -> SocketAddr {
    match bound.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, bound.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, bound.port()))
        }
        _ => bound,
    }
}

/// The per-server application: state plus router.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) shared: Arc<Shared>,
    pub(crate) router: Router,
    /// The connection cap and timeouts.
    pub(crate) limits: Limits,
    /// The open connections.
    pub(crate) registry: Arc<Registry>,
    /// HTTPS (`serve --tls`): every connection starts with a TLS handshake.
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
}

impl App {
    /// Accepts connections until `shutdown` turns true: plain or TLS ones, or with
    /// `intercept` the interception proxy's `CONNECT` requests.
    pub(crate) async fn serve(
        self,
        listener: TcpListener,
        mut shutdown: watch::Receiver<bool>,
        intercept: Option<Arc<Interception>>,
    ) {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = shutdown.changed() => return,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let Some(registered) = self.registry.admit(self.limits.max_connections) else {
                        tracing::warn!(
                            max_connections = self.limits.max_connections,
                            "connection cap reached and every connection has a request in flight; closing the new one"
                        );
                        drop(stream);
                        continue;
                    };
                    let app = self.clone();
                    let stop = shutdown.clone();
                    // Each connection task ends with its connection or at shutdown.
                    drop(match &intercept {
                        None => tokio::spawn(app.connection(stream, peer, stop, registered)),
                        Some(i) => {
                            let i = Arc::clone(i);
                            tokio::spawn(app.tunnel(stream, peer, stop, registered, i))
                        }
                    });
                }
                Err(e) => {
                    // Accept errors (EMFILE, ECONNABORTED) are transient; log and go on. Out
                    // of file descriptors, an idle connection makes room for the next one.
                    if matches!(e.raw_os_error(), Some(23 | 24)) {
                        self.registry.evict_one();
                    }
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }

    async fn connection(
        self,
        stream: TcpStream,
        peer: SocketAddr,
        mut shutdown: watch::Receiver<bool>,
        registered: Registered,
    ) {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "set TCP_NODELAY failed");
        }
        let slot = Arc::clone(&registered.slot);
        let mut first = [0u8; 1];
        let peeked = tokio::select! {
            p = tokio::time::timeout(self.limits.idle_timeout, stream.peek(&mut first)) => p,
            () = slot.evict.notified() => return,
            _ = shutdown.changed() => return,
        };
        let peeked = match peeked {
            Ok(p) => p,
            Err(elapsed) => {
                tracing::debug!(%peer, %elapsed, "closing a connection that sent nothing within the idle timeout");
                return;
            }
        };
        match peeked {
            Ok(0) => return,
            Ok(_) if first[0] == 0x16 && self.tls.is_none() => {
                // A TLS handshake record: a client speaking HTTPS to the plain port.
                let mut entry = journal::blank("", "", self.shared.clock.now_ms());
                entry.tls_handshake = true;
                self.shared.journal_request(entry);
                // Consume the ClientHello that already arrived so the close is a FIN, not the
                // RST the kernel sends when unread data is discarded.
                let mut sink = [0u8; 4096];
                while let Ok(n) = stream.try_read(&mut sink) {
                    if n == 0 {
                        break;
                    }
                }
                return;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "peek failed");
                return;
            }
        }
        let (stream, twin) = match with_twin(stream) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "could not duplicate the connection socket");
                return;
            }
        };
        match self.tls.clone() {
            None => {
                let transport = Transport::default();
                self.serve_http(TokioIo::new(stream), peer, twin, shutdown, slot, transport)
                    .await;
            }
            Some(acceptor) => {
                let handshake = tokio::select! {
                    h = tokio::time::timeout(self.limits.idle_timeout, acceptor.accept(stream)) => h,
                    _ = shutdown.changed() => return,
                };
                match handshake {
                    Ok(Ok(tls)) => {
                        let transport = Transport {
                            tls: true,
                            tunnel_host: None,
                        };
                        self.serve_http(TokioIo::new(tls), peer, twin, shutdown, slot, transport)
                            .await;
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                    Err(elapsed) => {
                        tracing::debug!(%peer, %elapsed, "TLS handshake not done within the idle timeout");
                    }
                }
            }
        }
    }

    /// Serves HTTP/1.1 on an accepted (plain or TLS) connection until it ends, is cut, is
    /// evicted or the server shuts down.
    pub(crate) async fn serve_http<I>(
        self,
        io: I,
        peer: SocketAddr,
        twin: std::net::TcpStream,
        mut shutdown: watch::Receiver<bool>,
        slot: Arc<Slot>,
        transport: Transport,
    ) where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (cut_tx, mut cut_rx) = mpsc::channel::<Cut>(1);
        let router = self.router.clone();
        let in_flight = Arc::clone(&slot);
        let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            let router = router.clone();
            // An eviction passes over a connection while this is alive.
            let busy = in_flight.busy();
            // The fault layer finds the peer and the way to cut this connection here.
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(CutSender(cut_tx.clone()));
            req.extensions_mut().insert(transport.clone());
            async move {
                let resp = match router.oneshot(req.map(axum::body::Body::new)).await {
                    Ok(resp) => Ok::<_, Infallible>(resp),
                    Err(never) => match never {},
                };
                drop(busy);
                resp
            }
        });
        // hyper arms the header-read timer whenever it waits for a request head, so it is the
        // idle timeout between keep-alive requests too.
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(self.limits.idle_timeout)
            .serve_connection(io, service);
        tokio::pin!(conn);
        let mut evicted = false;
        let mut twin = Some(twin);
        loop {
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                () = slot.evict.notified(), if !evicted => {
                    // Closes at once when idle; a request that started meanwhile is finished.
                    conn.as_mut().graceful_shutdown();
                    evicted = true;
                }
            cut = cut_rx.recv() => {
                if let (Some(Cut::Reset), Some(twin)) = (cut, twin.take()) {
                    match TcpStream::from_std(twin) {
                        Ok(t) => {
                            if let Err(e) = t.set_zero_linger() {
                                tracing::warn!(error = %e, "SO_LINGER 0 failed; the peer sees a close instead of a reset");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "could not register the socket twin"),
                    }
                }
                return;
            }
            _ = shutdown.changed() => return,
            }
        }
    }
}

/// The stream and a second descriptor of the same socket, so that a `reset` rule can set
/// SO_LINGER 0 after hyper owns the stream (used by the plain listener and the proxy tunnel).
pub(super) fn with_twin(stream: TcpStream) -> std::io::Result<(TcpStream, std::net::TcpStream)> {
    let std_stream = stream.into_std()?;
    let twin = std_stream.try_clone()?;
    Ok((TcpStream::from_std(std_stream)?, twin))
}
