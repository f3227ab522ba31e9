//! How a request travels through the mock.
//!
//! 1. [`listener`] accepts a TCP connection on 127.0.0.1, notices a TLS ClientHello on the
//!    plain port, and serves HTTP/1.1 with hyper, so that a rule can cut the connection
//!    (close, reset, truncate) below HTTP.
//! 2. [`faults`] is the first layer of the router: it reads the body once, parses the
//!    [`RequestCtx`](crate::request::RequestCtx), picks the first matching rule, carries out
//!    its action (delay, hold, status, cut, ...) and journals the request.
//!    With `--intercept`, [`intercept`] is a second listener: an HTTP `CONNECT` proxy that
//!    opens a TLS tunnel for the listed hosts and serves the same router inside it.
//! 3. [`routes`] maps paths to handlers: the dialect's routes, `/__admin` and the RFC 6749
//!    answers for unknown paths and methods.

pub(crate) mod connections;
pub(crate) mod faults;
pub(crate) mod intercept;
pub(crate) mod listener;
pub(crate) mod routes;
