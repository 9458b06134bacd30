//! `cargo xtask`: the one build entry point.
//!
//! # Layout
//! - [`toolchain`]: finds or installs a Rust toolchain for each wasm target (rustup target,
//!   else Debian's rustc-web with build-std, which also serves air-gapped machines).
//! - [`build`]: builds the functions component (wasm32-wasip2), the edge worker
//!   (wasm32-unknown-unknown), the web client and the host.
//! - [`system`]: system packages the product and tests need (PostgreSQL), installed when we
//!   are root, otherwise named precisely.
//! - [`tasks`]: `run`, `test`, `ci`.
//! - [`dist`]: the release bundle and its licence file.
//! - [`openapi_fuzz`]: Schemathesis against the real host, a phase of `test`.

mod bench;
mod build;
mod dist;
mod edge;
mod fuzz;
mod mail;
mod moto;
mod oidc;
mod openapi_fuzz;
mod slack;
mod system;
mod tasks;
mod toolchain;

use std::time::Instant;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask <command> [options]

commands:
  run                 build the component, web client and host, and start the host with
                      its embedded defaults (managed PostgreSQL, http://127.0.0.1:8080)
  test                build every target and run the whole test suite (cargo tests, then
                      the browser tests: web/e2e with Chromium against the real host, then
                      Schemathesis against the real host: tests/openapi-fuzz)
  test-web            build the component, web client and host; run only the web client's
                      unit tests (vitest) and browser tests
  ci                  cargo fmt --check, clippy -D warnings, then `test`
  build [what]        what: all (default), component, edge, host, web; `edge` also
                      bundles the Worker into target/edge/dist (docs/edge.md)
  dist [--debug]      the release bundle: target/dist/ocomms-<version>-linux-x86_64.tar.gz
                      (host, component, edge Worker, migrations, systemd and proxy
                      examples, install.sh, licences, SHA256SUMS; docs/operations.md);
                      --debug bundles the debug host (for the tests) instead of release
  bench [flags]       build the host and bench in release, then print throughput,
                      latency and memory figures: WASM vs native command path, ours vs
                      a Socket.IO reference (flags, e.g. --quick: bench/README.md);
                      --scenarios cluster: fan-out through HAProxy to 1 host vs 3 hosts
                      with the relay (installs redis-server and haproxy)
  fuzz [--time S] [T] run the cargo-fuzz targets (all, or those named) for S seconds each
                      (default 60; installs cargo-fuzz; `test` runs them too when
                      OCOMMS_FUZZ_SECS=N is set)

  openapi-fuzz        Schemathesis (every check) against target/debug/ocomms and the
                      built component, as `test` runs it (tests/openapi-fuzz/run.py)

options:
  --offline-toolchain   build wasm targets with Debian's rustc-web and build-std, without
                        asking rustup to download anything (also: OCOMMS_OFFLINE_TOOLCHAIN=1)
  --release             build the host with the release profile (run)";

fn main() {
    if let Err(e) = real_main() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts =
        Options { offline: std::env::var_os("OCOMMS_OFFLINE_TOOLCHAIN").is_some_and(|v| v == "1"), release: false };
    args.retain(|a| match a.as_str() {
        "--offline-toolchain" => {
            opts.offline = true;
            false
        }
        "--release" => {
            opts.release = true;
            false
        }
        _ => true,
    });
    let root = project_root()?;
    std::env::set_current_dir(&root)?;
    match args.first().map(String::as_str) {
        Some("run") => tasks::run(&opts, &args[1..]),
        Some("test") => tasks::test(&opts, &args[1..]),
        Some("test-web") => tasks::test_web(&opts),
        Some("ci") => tasks::ci(&opts),
        Some("bench") => bench::bench(&opts, &args[1..]),
        Some("fuzz") => fuzz::fuzz(&args[1..]),
        Some("openapi-fuzz") => openapi_fuzz::run_alone(),
        Some("dist") => dist::dist(&opts, &args[1..]),
        Some("build") => build::build(&opts, args.get(1).map_or("all", String::as_str)),
        Some("-h" | "--help" | "help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub offline: bool,
    pub release: bool,
}

fn project_root() -> Result<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    Ok(dir.parent().ok_or_else(|| anyhow::anyhow!("xtask has no parent directory"))?.to_path_buf())
}

/// Runs a step, printing its name before and its duration after, so long builds show
/// progress and CI logs show where the time went.
pub fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    println!("==> {name}");
    let t = Instant::now();
    let r = f();
    let secs = t.elapsed().as_secs_f64();
    match &r {
        Ok(_) => println!("<== {name}: done in {secs:.1}s"),
        Err(_) => println!("<== {name}: FAILED after {secs:.1}s"),
    }
    record_timing(name, secs);
    r
}

/// Appends `seconds<TAB>name` to the file named by `OCOMMS_TIMINGS`, if set: CI prints a
/// per-phase summary from it.
fn record_timing(name: &str, secs: f64) {
    use std::io::Write as _;
    let Some(path) = std::env::var_os("OCOMMS_TIMINGS") else { return };
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
        let _ = writeln!(f, "{secs:.0}\t  xtask: {name}");
    }
}

/// Runs a command, streaming its output; fails with the command line if it fails.
pub fn run(cmd: &mut std::process::Command) -> Result<()> {
    let status = cmd.status().map_err(|e| anyhow::anyhow!("cannot start {:?}: {e}", cmd.get_program()))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}
