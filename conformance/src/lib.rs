//! `cliauth-conformance`: runs the scenario files in `scenarios/` against a client profile.
