//! `cargo xtask bench`: builds what the host needs, then runs `ocomms-bench`, which starts
//! its own host (temporary data dir, managed PostgreSQL) and prints and writes figures.

use std::process::Command;

use crate::{Options, build, run, step, system};

/// Builds the component and the (debug) host, then `cargo run -p ocomms-bench -- <extra>`.
/// The bench runs in the dev profile: the workspace builds every dependency at opt-level 2
/// there, and the bench looks for the host at target/debug/wasm-host.
pub fn bench(opts: &Options, extra: &[String]) -> anyhow::Result<()> {
    step("check system packages", system::ensure_postgres)?;
    build::component(opts)?;
    build::host(false)?;
    step("ocomms-bench", || {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["run", "--package", "ocomms-bench", "--"]).args(extra);
        run(&mut cmd)
    })
}
