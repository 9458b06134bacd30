//! The end-to-end tests, as one test binary: the shared helpers in `common/` and one module
//! per suite beside this file. Test names read `<suite>::<test>`; a scenario shared by both
//! targets (see `common::both_targets!`) reads `<suite>::host::<scenario>` and
//! `<suite>::edge::<scenario>`, so `cargo test -p ocomms-e2e -- realtime::edge::` runs one
//! suite on one target.
//!
//! Cargo.toml sets `autotests = false`: a new suite file must be declared below, which
//! [`every_suite_file_is_declared`] checks.

#![allow(clippy::unwrap_used, reason = "tests")]

mod common;

mod accounts;
mod app_delivery;
mod authz_matrix;
mod backup;
mod bad_input;
mod bundle;
mod channels_admin;
mod cluster;
mod conversations;
mod deadline;
mod faults;
mod files;
mod hygiene;
mod integrations;
mod limits;
mod messages;
mod notifications;
mod openapi;
mod operations;
mod pg_contract;
mod realtime;
mod scenarios;
mod search;
mod search_index;
mod sessions;
mod spin_contract;
mod sso;
mod workspace_admin;

/// Every `tests/*.rs` file is a suite declared above; with `autotests = false` an undeclared
/// one would silently never run.
#[test]
fn every_suite_file_is_declared() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else { continue };
        let is_suite = path.extension().is_some_and(|e| e == "rs") && stem != "main";
        if is_suite && !main.lines().any(|l| l.trim() == format!("mod {stem};")) {
            missing.push(stem.to_string());
        }
    }
    assert!(missing.is_empty(), "suite files not declared in tests/main.rs: {missing:?}");
}
