//! Integration tests of `cliauth-mock`: one binary, one module per area.

mod admin;
mod authorize;
mod binary;
mod client_credentials;
mod confidential;
mod connections;
mod device;
mod discovery;
mod dot_ai;
mod faults;
mod hosted;
mod intercept;
mod interop;
mod malformed;
mod openid;
mod readme;
mod retention;
mod scopes;
mod skillmeat;
mod spacebot;
mod spec_kitty;
mod support;
mod token;
