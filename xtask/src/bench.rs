//! `cargo xtask bench`: builds what the bench needs, then runs `ocomms-bench`, which starts
//! its own host (temporary data dir, managed PostgreSQL), the natively compiled API and the
//! Socket.IO reference server, and prints and writes figures. The `edge` scenario needs the
//! Worker bundle and wrangler (`build edge`), the `runtime` scenario the fixture components
//! and the wasmtime CLI of the host's wasmtime version (installed into bench/wasmtime-cli).
//! The `cluster` scenario (not in the default set) also needs a Valkey or Redis server and
//! HAProxy.

use std::process::Command;

use anyhow::Context as _;

use crate::{Options, build, run, step, system};

/// Builds the component, then the host and the bench in the release profile (what would be
/// deployed: the dev profile leaves the host's own crates and the native API at opt-level 0,
/// which would flatter neither side of a comparison), installs the Socket.IO reference's npm
/// packages, and runs `target/release/ocomms-bench <extra>` (e.g. `--quick`).
pub fn bench(opts: &Options, extra: &[String]) -> anyhow::Result<()> {
    step("check system packages", system::ensure_postgres)?;
    if wants(extra, "cluster", false) {
        step("check the cluster scenario's relay and proxy", || {
            system::ensure_relay_server()?;
            system::ensure_haproxy()
        })?;
    }
    if wants(extra, "runtime", true) {
        build::components_with_fixtures(opts)?;
        step("wasmtime CLI (the host's wasmtime version)", wasmtime_cli)?;
    } else {
        build::component(opts)?;
    }
    if wants(extra, "edge", true) {
        build::edge(opts)?;
    }
    step("build host and bench (release)", || {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "--release", "--package", "wasm-host", "--package", "ocomms-bench"]);
        run(&mut cmd)
    })?;
    step("Socket.IO reference (bench/socketio)", socketio)?;
    step("ocomms-bench", || run(Command::new("target/release/ocomms-bench").args(extra)))
}

/// Whether the flags select `scenario` (`--scenarios a,cluster,b`); without `--scenarios`,
/// whether it is in the default set.
fn wants(extra: &[String], scenario: &str, default: bool) -> bool {
    match extra.iter().position(|a| a == "--scenarios") {
        Some(i) => extra.get(i + 1).is_some_and(|list| list.split(',').any(|s| s.trim() == scenario)),
        None => default,
    }
}

/// The `runtime` scenario's reference: the wasmtime CLI of exactly the version in Cargo.lock,
/// from crates.io, built in the release profile (it is what is measured), into the bench's
/// own directory.
fn wasmtime_cli() -> anyhow::Result<()> {
    let version = crate::edge::locked_version("wasmtime")?;
    let dir = std::env::current_dir().context("current dir")?.join("bench/wasmtime-cli");
    let bin = dir.join("bin/wasmtime");
    if crate::edge::installed_version(&bin).as_deref() == Some(version.as_str()) {
        println!("    {} is {version}", bin.display());
        return Ok(());
    }
    println!("    installing wasmtime-cli {version} into {} (a long compile)", dir.display());
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args(["install", "wasmtime-cli", "--version", &version, "--locked", "--force", "--root"])
        .arg(&dir)
        .env_remove("CARGO_TARGET_DIR");
    run(&mut cmd)?;
    match crate::edge::installed_version(&bin) {
        Some(v) if v == version => Ok(()),
        other => anyhow::bail!("{} reports version {other:?}, expected {version}", bin.display()),
    }
}

/// `npm ci` in bench/socketio when its node_modules is missing or older than the lockfile.
fn socketio() -> anyhow::Result<()> {
    system::ensure_node()?;
    let dir = std::env::current_dir().context("current dir")?.join("bench/socketio");
    let lock = dir.join("package-lock.json");
    let installed = dir.join("node_modules/.package-lock.json");
    if build::newest(&[lock, dir.join("package.json")]) > build::modified(&installed) {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir))
    } else {
        println!("    bench/socketio/node_modules is up to date");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::wants;

    #[test]
    fn scenarios_are_found_in_the_flags() {
        let flags = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wants(&flags(&["--quick", "--scenarios", "fanout, cluster"]), "cluster", false));
        assert!(!wants(&flags(&["--scenarios", "fanout"]), "cluster", false));
        assert!(!wants(&flags(&["--quick"]), "cluster", false));
        assert!(!wants(&flags(&["cluster"]), "cluster", false));
        assert!(wants(&flags(&["--quick"]), "edge", true));
        assert!(!wants(&flags(&["--scenarios", "post"]), "edge", true));
        assert!(!wants(&flags(&["--scenarios"]), "edge", true));
    }
}
