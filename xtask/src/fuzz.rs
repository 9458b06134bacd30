//! `cargo xtask fuzz`: the cargo-fuzz targets in `fuzz/`, each for a bounded time.
//!
//! cargo-fuzz needs nightly-only compiler flags; `RUSTC_BOOTSTRAP=1` lets the stable
//! toolchain accept them. No sanitizer is used (`-s none`): the code under test forbids
//! `unsafe`, so coverage guidance and the targets' own assertions are what find bugs, and
//! the build stays fast. Each run reads the committed seeds in `fuzz/corpus/<target>/` and
//! writes what it discovers to `target/fuzz-corpus/<target>/` (copy interesting inputs
//! into `fuzz/corpus/` to keep them: `cargo test` replays that directory). A crash leaves
//! its input in `fuzz/artifacts/<target>/`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::{run, step};

pub const TARGETS: &[&str] = &["client_frame", "mentions", "emoji", "api_request", "manifest"];
const DEFAULT_SECS: u64 = 60;

/// `cargo xtask fuzz [--time SECS] [TARGET...]`: installs cargo-fuzz if needed, then runs
/// every named target (all by default) for SECS seconds each.
pub fn fuzz(extra: &[String]) -> Result<()> {
    let mut secs = DEFAULT_SECS;
    let mut targets: Vec<&str> = Vec::new();
    let mut args = extra.iter();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--time" => secs = args.next().context("--time needs seconds")?.parse().context("--time")?,
            t => match TARGETS.iter().find(|k| **k == t) {
                Some(k) => targets.push(k),
                None => bail!("unknown fuzz target {t:?}; the targets are {TARGETS:?}"),
            },
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    ensure_cargo_fuzz()?;
    run_targets(&targets, secs, Build::Optimised)
}

/// How the targets are compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Build {
    /// cargo-fuzz's default (release): many more executions per second, for real campaigns.
    Optimised,
    /// `--dev`: unoptimised with debug assertions and overflow checks, which compiles in
    /// about half the time; for the short smoke run, where the build is most of the cost.
    Dev,
}

/// The optional phase of `cargo xtask test`: with `OCOMMS_FUZZ_SECS=N` (N > 0) every target
/// runs N seconds (installing cargo-fuzz if needed). Off by default: the property tests and
/// the corpus replays already run in `cargo test`, and installing and building cargo-fuzz
/// takes minutes.
pub fn smoke() -> Result<()> {
    let secs: u64 = match std::env::var("OCOMMS_FUZZ_SECS") {
        Ok(v) => v.parse().context("OCOMMS_FUZZ_SECS must be a number of seconds")?,
        Err(_) => 0,
    };
    if secs == 0 {
        println!(
            "==> fuzz targets skipped (set OCOMMS_FUZZ_SECS=N to run each for N seconds, or run \
             `cargo xtask fuzz`); their corpora were replayed by cargo test"
        );
        return Ok(());
    }
    ensure_cargo_fuzz()?;
    run_targets(TARGETS, secs, Build::Dev)
}

fn has_cargo_fuzz() -> bool {
    cargo().args(["fuzz", "--version"]).output().is_ok_and(|o| o.status.success())
}

fn ensure_cargo_fuzz() -> Result<()> {
    if has_cargo_fuzz() {
        return Ok(());
    }
    step("cargo install cargo-fuzz", || run(cargo().args(["install", "cargo-fuzz", "--locked"])))
}

fn run_targets(targets: &[&str], secs: u64, build: Build) -> Result<()> {
    let root = std::env::current_dir()?;
    let how = if build == Build::Dev { " (unoptimised build)" } else { "" };
    for target in targets {
        step(&format!("fuzz {target} for {secs}s{how}"), || run_target(&root, target, secs, build))?;
    }
    Ok(())
}

fn run_target(root: &Path, target: &str, secs: u64, build: Build) -> Result<()> {
    let seeds = root.join("fuzz/corpus").join(target);
    let scratch = root.join("target/fuzz-corpus").join(target);
    std::fs::create_dir_all(&scratch).with_context(|| format!("create {}", scratch.display()))?;
    let mut cmd = cargo();
    cmd.current_dir(root.join("fuzz"))
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", "--sanitizer", "none"])
        .args(if build == Build::Dev { &["--dev"][..] } else { &[] })
        .arg(target)
        .arg(&scratch)
        .arg(&seeds)
        .arg("--")
        .arg(format!("-max_total_time={secs}"))
        .arg("-max_len=4096")
        .arg("-print_final_stats=1");
    run(&mut cmd).with_context(|| format!("fuzz target {target} failed: its input is in fuzz/artifacts/{target}/"))
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}
