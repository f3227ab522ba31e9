//! `cliauth`: the reference command-line authentication client.
