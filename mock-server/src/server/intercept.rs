//! The interception proxy (`serve --intercept HOST,...`): a loopback HTTP `CONNECT` proxy
//! for clients whose hosts are constants (`https://console.anthropic.com/...`).
//!
//! A client that honours `HTTPS_PROXY` asks it for a tunnel (`CONNECT host:443`, RFC 9110
//! §9.3.6). For a listed host the proxy answers 200, terminates TLS itself with a leaf
//! certificate for the listed hosts signed by the run's CA (the client trusts it through
//! `SSL_CERT_FILE`), and serves the engine inside the tunnel: the same routes, state, rules
//! and journal as the plain listener, every entry with the tunnel's `host` and `tls = true`.
//! A `CONNECT` to any other host, or any other method, is refused with a plain-text body that
//! says why, and journaled (`outcome = "connect_refused"`); nothing is ever forwarded.

use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::error::Error;
use crate::journal;
use crate::server::connections::Registered;
use crate::server::faults::Transport;
use crate::server::listener::App;
use crate::tls::{self, CertificateAuthority};
use crate::{MockServer, MockServerBuilder};

/// Longest `CONNECT` request head read (request line and headers).
const MAX_HEAD: usize = 8 * 1024;

/// The hosts the proxy intercepts and the TLS configuration it serves them with.
pub(crate) struct Interception {
    /// Lower-case host names (or IP addresses), in the order given.
    hosts: Vec<String>,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for Interception {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interception")
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

impl Interception {
    /// Checks the host names and issues one leaf certificate naming all of them.
    pub(crate) fn new(ca: &CertificateAuthority, hosts: &[String]) -> Result<Self, Error> {
        let mut names: Vec<String> = Vec::new();
        for host in hosts {
            let name = host.trim().to_ascii_lowercase();
            check_host(&name).map_err(|reason| Error::Intercept {
                host: host.clone(),
                reason,
            })?;
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if names.is_empty() {
            return Err(Error::Intercept {
                host: String::new(),
                reason: "no host to intercept: name at least one".to_owned(),
            });
        }
        let config = tls::server_config(ca.issue(&names)?)?;
        Ok(Self {
            hosts: names,
            acceptor: tokio_rustls::TlsAcceptor::from(config),
        })
    }

    /// The intercepted hosts.
    pub(crate) fn hosts(&self) -> &[String] {
        &self.hosts
    }

    fn allows(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// A DNS name (letters, digits, `-`, `.`) or an IP address.
fn check_host(name: &str) -> Result<(), String> {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let valid = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(())
    } else {
        Err("not a host name: give a DNS name such as claude.ai, without scheme or port".to_owned())
    }
}

/// What the first line of a proxy request asked for.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    method: String,
    /// The request target as sent (`host:port` for `CONNECT`).
    authority: String,
    /// The host of a `CONNECT` target, lower case, brackets removed from an IPv6 address.
    host: Option<String>,
}

/// Parses the request line of `head`; `Err` when it is not an HTTP/1 request line.
fn parse_request_line(head: &str) -> Result<Target, String> {
    let line = head.lines().next().unwrap_or("");
    let mut words = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return Err(format!("not an HTTP request line: {line:?}"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1 request line: {line:?}"));
    }
    let host = (method == "CONNECT")
        .then(|| connect_host(target))
        .flatten();
    Ok(Target {
        method: method.to_owned(),
        authority: target.to_owned(),
        host,
    })
}

/// The host of a `CONNECT` target `host:port` (RFC 9110 §9.3.6: the port is required).
fn connect_host(target: &str) -> Option<String> {
    let (host, port) = target.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Reads the request head (up to the blank line) one byte at a time, so that nothing the
/// client sends after it (its TLS ClientHello) is consumed here.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "request head over 8 KiB",
            ));
        }
        let byte = stream.read_u8().await?;
        head.push(byte);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

impl App {
    /// Serves one proxy connection: reads the `CONNECT`, refuses or opens the tunnel, and
    /// serves the engine over TLS inside it.
    pub(crate) async fn tunnel(
        self,
        mut stream: TcpStream,
        peer: SocketAddr,
        mut shutdown: watch::Receiver<bool>,
        registered: Registered,
        intercept: Arc<Interception>,
    ) {
        let slot = Arc::clone(&registered.slot);
        let head = tokio::select! {
            h = tokio::time::timeout(self.limits.idle_timeout, read_head(&mut stream)) => h,
            () = slot.evict.notified() => return,
            _ = shutdown.changed() => return,
        };
        let head = match head {
            Ok(Ok(head)) => head,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "proxy request head unreadable");
                return;
            }
            Err(elapsed) => {
                tracing::debug!(%peer, %elapsed, "no proxy request within the idle timeout");
                return;
            }
        };
        let target = match parse_request_line(&head) {
            Ok(target) => target,
            Err(why) => {
                self.refuse(&mut stream, 400, "", "", None, &why).await;
                return;
            }
        };
        let host = match (&target.host, target.method.as_str()) {
            (Some(host), _) if intercept.allows(host) => host.clone(),
            (Some(host), _) => {
                let why = format!(
                    "cliauth-mock intercepts only {}; CONNECT to {host} refused (nothing is forwarded)",
                    intercept.hosts().join(", ")
                );
                let host = Some(host.as_str());
                self.refuse(&mut stream, 403, "CONNECT", &target.authority, host, &why)
                    .await;
                return;
            }
            (None, "CONNECT") => {
                let why = format!("CONNECT target {:?} is not host:port", target.authority);
                self.refuse(&mut stream, 400, "CONNECT", &target.authority, None, &why)
                    .await;
                return;
            }
            (None, method) => {
                let why = format!(
                    "this is cliauth-mock's interception proxy: it answers CONNECT only, not {method}"
                );
                self.refuse(&mut stream, 405, method, &target.authority, None, &why)
                    .await;
                return;
            }
        };
        let established = b"HTTP/1.1 200 Connection Established\r\n\r\n";
        if let Err(e) = stream.write_all(established).await {
            tracing::debug!(%peer, error = %e, "proxy client gone before the tunnel opened");
            return;
        }
        let (stream, twin) = match super::listener::with_twin(stream) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "could not duplicate the tunnel socket");
                return;
            }
        };
        let handshake = tokio::select! {
            h = tokio::time::timeout(self.limits.idle_timeout, intercept.acceptor.accept(stream)) => h,
            _ = shutdown.changed() => return,
        };
        match handshake {
            Ok(Ok(tls)) => {
                let transport = Transport {
                    tls: true,
                    tunnel_host: Some(Arc::from(host.as_str())),
                };
                self.serve_http(TokioIo::new(tls), peer, twin, shutdown, slot, transport)
                    .await;
            }
            Ok(Err(e)) => {
                tracing::debug!(%peer, %host, error = %e, "TLS handshake in the tunnel failed");
            }
            Err(elapsed) => {
                tracing::debug!(%peer, %host, %elapsed, "TLS handshake in the tunnel not done in time");
            }
        }
    }

    /// Answers a refused proxy request with `status` and `why` as its body, and journals it.
    async fn refuse(
        &self,
        stream: &mut TcpStream,
        status: u16,
        method: &str,
        authority: &str,
        host: Option<&str>,
        why: &str,
    ) {
        let mut entry = journal::blank(method, authority, self.shared.clock.now_ms());
        entry.status = status;
        entry.host = host.map(str::to_owned);
        entry.outcome = Some("connect_refused".to_owned());
        self.shared.journal_request(entry);
        let reason = match status {
            403 => "Forbidden",
            405 => "Method Not Allowed",
            _ => "Bad Request",
        };
        let body = format!("{why}\n");
        let answer = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        if let Err(e) = stream.write_all(answer.as_bytes()).await {
            tracing::debug!(error = %e, "proxy client gone before the refusal");
        }
        if let Err(e) = stream.shutdown().await {
            tracing::debug!(error = %e, "proxy connection already closed");
        }
    }
}

impl MockServerBuilder {
    /// Also listens as an HTTP `CONNECT` proxy that intercepts these hosts: it terminates TLS
    /// with a certificate from the run's CA ([`MockServer::ca_pem`]) and serves this server's
    /// engine inside the tunnel; a `CONNECT` to any other host is refused (403) and journaled.
    /// Point a client at [`MockServer::proxy_url`] with `HTTPS_PROXY`.
    #[must_use]
    pub fn intercept<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.intercept = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// Signs the interception certificate with this CA instead of one made at start (e.g. the
    /// CA of `serve --tls`, so that one file is trusted for both).
    #[must_use]
    pub fn certificate_authority(mut self, ca: Arc<CertificateAuthority>) -> Self {
        self.ca = Some(ca);
        self
    }
}

impl MockServer {
    /// `http://127.0.0.1:PORT` of the interception proxy (for `HTTPS_PROXY`), when
    /// [`intercept`](MockServerBuilder::intercept) named hosts.
    pub fn proxy_url(&self) -> Option<String> {
        self.proxy_addr.map(|a| format!("http://{a}"))
    }

    /// The PEM certificate of the CA the interception proxy's certificate chains to (for
    /// `SSL_CERT_FILE`), when [`intercept`](MockServerBuilder::intercept) named hosts.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }
}

/// The proxy's bound listener and what the server tells clients about it.
pub(crate) struct Proxy {
    pub(crate) listener: tokio::net::TcpListener,
    /// Where clients reach it (`HTTPS_PROXY=http://ADDR`).
    pub(crate) addr: SocketAddr,
    pub(crate) interception: Arc<Interception>,
    /// The CA certificate (PEM) that signed the intercepted hosts' certificate.
    pub(crate) ca_pem: String,
}

/// Binds the interception proxy on `host` (a free port) for `hosts`, with `ca` or a CA made
/// now.
pub(crate) async fn bind(
    host: std::net::IpAddr,
    hosts: &[String],
    ca: Option<Arc<CertificateAuthority>>,
) -> Result<Proxy, Error> {
    let ca = match ca {
        Some(ca) => ca,
        None => Arc::new(CertificateAuthority::generate()?),
    };
    let interception = Arc::new(Interception::new(&ca, hosts)?);
    let bind_error = |source| Error::Bind {
        host,
        port: 0,
        source,
    };
    let listener = tokio::net::TcpListener::bind((host, 0))
        .await
        .map_err(bind_error)?;
    let addr = crate::server::listener::reachable(listener.local_addr().map_err(bind_error)?);
    Ok(Proxy {
        listener,
        addr,
        interception,
        ca_pem: ca.pem().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connect_line_names_its_host_without_port_or_brackets() {
        let t = parse_request_line("CONNECT Claude.AI:443 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(t.host.as_deref(), Some("claude.ai"));
        assert_eq!(t.authority, "Claude.AI:443");
        let v6 = parse_request_line("CONNECT [::1]:8443 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(v6.host.as_deref(), Some("::1"));
        let no_port = parse_request_line("CONNECT claude.ai HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(no_port.host, None);
        let get = parse_request_line("GET http://claude.ai/ HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!((get.method.as_str(), get.host), ("GET", None));
        assert!(parse_request_line("\u{16}\u{3}\u{1}garbage").is_err());
    }

    #[test]
    fn only_host_names_can_be_intercepted() {
        assert!(check_host("console.anthropic.com").is_ok());
        assert!(check_host("127.0.0.1").is_ok());
        for bad in [
            "",
            "https://claude.ai",
            "claude.ai:443",
            "-x.com",
            "a..b",
            "a b",
        ] {
            assert!(check_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts_are_lower_cased_deduplicated_and_matched_case_blind() {
        let ca = CertificateAuthority::generate().unwrap();
        let hosts = ["Claude.ai".to_owned(), "claude.ai".to_owned()];
        let i = Interception::new(&ca, &hosts).unwrap();
        assert_eq!(i.hosts(), ["claude.ai"]);
        assert!(i.allows("CLAUDE.AI") && !i.allows("evil.example"));
        let err = Interception::new(&ca, &["a/b".to_owned()]).unwrap_err();
        assert!(err.to_string().contains("a/b"), "{err}");
        assert!(Interception::new(&ca, &[]).is_err());
    }
}
