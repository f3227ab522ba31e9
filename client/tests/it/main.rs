//! Integration tests: the `cliauth` binary as an OS process against `cliauth_mock::MockServer`.
//! Every spawned process gets a clean environment (no caller CLIAUTH_* or proxy variables) and
//! its own CLIAUTH_HOME.

mod cli;
mod concurrency;
mod errors;
mod flows_mutants;
mod hardening;
mod hooks;
mod hosted;
mod interrupt;
mod kill_loop;
mod kills;
mod login;
mod openid;
mod refresh;
mod registration;
mod replay;
mod scope;
mod snapshots;
mod status;
mod support;
