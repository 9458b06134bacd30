//! `cargo xtask bench`: builds what the bench needs, then runs `ocomms-bench`, which starts
//! its own host (temporary data dir, managed PostgreSQL), the natively compiled API and the
//! Socket.IO reference server, and prints and writes figures. The `cluster` scenario (not in
//! the default set) also needs a Valkey or Redis server and HAProxy.

use std::process::Command;

use anyhow::Context as _;

use crate::{Options, build, run, step, system};

/// Builds the component, then the host and the bench in the release profile (what would be
/// deployed: the dev profile leaves the host's own crates and the native API at opt-level 0,
/// which would flatter neither side of a comparison), installs the Socket.IO reference's npm
/// packages, and runs `target/release/ocomms-bench <extra>` (e.g. `--quick`).
pub fn bench(opts: &Options, extra: &[String]) -> anyhow::Result<()> {
    step("check system packages", system::ensure_postgres)?;
    if wants_cluster(extra) {
        step("check the cluster scenario's relay and proxy", || {
            system::ensure_relay_server()?;
            system::ensure_haproxy()
        })?;
    }
    build::component(opts)?;
    step("build host and bench (release)", || {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "--release", "--package", "wasm-host", "--package", "ocomms-bench"]);
        run(&mut cmd)
    })?;
    step("Socket.IO reference (bench/socketio)", socketio)?;
    step("ocomms-bench", || run(Command::new("target/release/ocomms-bench").args(extra)))
}

/// Whether the flags select the `cluster` scenario (`--scenarios a,cluster,b`), which starts
/// a relay (redis-server or valkey-server) and HAProxy in front of extra hosts.
fn wants_cluster(extra: &[String]) -> bool {
    extra.windows(2).any(|w| w[0] == "--scenarios" && w[1].split(',').any(|s| s.trim() == "cluster"))
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
    use super::wants_cluster;

    #[test]
    fn the_cluster_scenario_is_found_in_the_flags() {
        let flags = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(wants_cluster(&flags(&["--quick", "--scenarios", "fanout, cluster"])));
        assert!(!wants_cluster(&flags(&["--scenarios", "fanout"])));
        assert!(!wants_cluster(&flags(&["--quick"])));
        assert!(!wants_cluster(&flags(&["cluster"])));
    }
}
