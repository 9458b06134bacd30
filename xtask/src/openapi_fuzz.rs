//! The OpenAPI-driven fuzz phase of `cargo xtask test`: Schemathesis, with every check,
//! against the real host (`target/debug/ocomms` on a fresh data directory with its
//! managed PostgreSQL), through `tests/openapi-fuzz/run.py`.
//!
//! Schemathesis is pinned and installed with pip into a virtual environment under
//! `target/openapi-fuzz/venv` the first time. `OCOMMS_OPENAPI_FUZZ_EXAMPLES` (examples per
//! operation and phase) and `OCOMMS_OPENAPI_FUZZ_SEED` (replay a run) are passed through.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::system;

pub const SCHEMATHESIS: &str = "4.32.5";
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Outcomes, one per operation and stateful scenario the run tested.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
    /// The operations that failed, as run.py names them.
    pub failures: Vec<String>,
}

/// Installs Schemathesis if needed, starts the host, fuzzes it, stops it. A failed check is
/// counted in `failed` (not an `Err`), so the caller can add it to its summary.
pub fn run() -> Result<Outcome> {
    let root = std::env::current_dir()?;
    let python = venv(&root)?;
    let scratch = tempdir(&root)?;
    let mut host = Host::start(&root, &scratch)?;
    let result = fuzz(&root, &python, &host.url, &scratch);
    host.stop();
    if result.as_ref().is_ok_and(|o| o.failed == 0) {
        let _ = std::fs::remove_dir_all(&scratch);
    } else {
        println!("    the host's log and the run's reports are in {}", scratch.display());
    }
    result
}

/// `cargo xtask openapi-fuzz`: [`run`] on what is built, failing if any check failed.
pub fn run_alone() -> Result<()> {
    let o = crate::step("OpenAPI fuzzing (Schemathesis against the real host)", run)?;
    if o.failed > 0 {
        bail!("{} of {} operations and scenarios failed a check", o.failed, o.passed + o.failed);
    }
    Ok(())
}

/// `target/openapi-fuzz/venv` with the pinned Schemathesis; returns its python.
fn venv(root: &Path) -> Result<PathBuf> {
    system::pip_venv(
        &root.join("target/openapi-fuzz/venv"),
        "schemathesis",
        SCHEMATHESIS,
        &format!("schemathesis=={SCHEMATHESIS}"),
    )
}

fn fuzz(root: &Path, python: &Path, url: &str, scratch: &Path) -> Result<Outcome> {
    let mut child = Command::new(python)
        .arg(root.join("tests/openapi-fuzz/run.py"))
        .args(["--url", url, "--workdir"])
        .arg(scratch.join("run"))
        .stdout(Stdio::piped())
        .spawn()
        .context("start tests/openapi-fuzz/run.py")?;
    let mut outcome = None;
    let mut failures = Vec::new();
    for line in BufReader::new(child.stdout.take().context("run.py stdout")?).lines() {
        let line = line?;
        println!("{line}");
        if let Some(name) = line.strip_prefix("openapi fuzz: failed: ") {
            failures.push(format!("openapi: {name}"));
        } else if let Some(summary) = line.strip_prefix("openapi fuzz: ") {
            outcome = parse_summary(summary).or(outcome);
        }
    }
    let status = child.wait()?;
    let outcome = outcome.map(|o| Outcome { failures, ..o });
    match outcome {
        Some(o) if !status.success() && o.failed == 0 => {
            bail!("the OpenAPI fuzz run failed ({status}) without reporting a failure: see the output above")
        }
        Some(o) => Ok(o),
        None => bail!("the OpenAPI fuzz run ended ({status}) without a summary: see the output above"),
    }
}

/// `12 passed, 1 failed, 0 skipped (reports in …)`.
fn parse_summary(s: &str) -> Option<Outcome> {
    let mut o = Outcome::default();
    let mut seen = 0;
    for part in s.split(" (").next()?.split(", ") {
        let (n, label) = part.trim().split_once(' ')?;
        let n: u64 = n.parse().ok()?;
        match label {
            "passed" => o.passed = n,
            "failed" => o.failed = n,
            "skipped" => o.skipped = n,
            _ => return None,
        }
        seen += 1;
    }
    (seen == 3).then_some(o)
}

/// A fresh directory the managed PostgreSQL (run as `postgres` when we are root) can enter.
fn tempdir(root: &Path) -> Result<PathBuf> {
    let base = root.join("target/openapi-fuzz");
    for n in 0..1000 {
        let dir = base.join(format!("run-{}-{n}", std::process::id()));
        if std::fs::create_dir_all(&base).is_ok() && std::fs::create_dir(&dir).is_ok() {
            let mut perms = std::fs::metadata(&dir)?.permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&dir, perms)?;
            return Ok(dir);
        }
    }
    bail!("cannot create a scratch directory under {}", base.display())
}

/// `target/debug/ocomms` on a free loopback port with its own data directory.
struct Host {
    child: Child,
    url: String,
}

impl Host {
    fn start(root: &Path, scratch: &Path) -> Result<Self> {
        let bin = root.join("target/debug/ocomms");
        if !bin.exists() {
            bail!("{} is missing: run `cargo build -p wasm-host` first", bin.display());
        }
        let log_path = scratch.join("host.log");
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = Command::new(&bin);
        cmd.args(["--listen", "127.0.0.1:0", "--manifest"])
            .arg(root.join("spin.toml"))
            .arg("--data-dir")
            .arg(scratch.join("data"))
            .current_dir(scratch)
            .stdout(log.try_clone()?)
            .stderr(log);
        // No stray configuration from the environment.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("OCOMMS_") || name.starts_with("SPIN_VARIABLE_") {
                cmd.env_remove(name.as_ref());
            }
        }
        cmd.env("OCOMMS_LOG", "info").env("NO_COLOR", "1");
        // Schemathesis is one client hammering from 127.0.0.1: the rate limits (tested in the
        // e2e suite) would turn most of its cases into 429s.
        cmd.env("SPIN_VARIABLE_RATE_LIMITS", "off");
        // Its sessions come from sign-ups: accounts at once (the mailed-link flow is tested in
        // the e2e suite).
        cmd.env("SPIN_VARIABLE_EMAIL_VERIFICATION", "off");
        let child = cmd.spawn().with_context(|| format!("start {}", bin.display()))?;
        let mut host = Host { child, url: String::new() };
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(url) = text.lines().find_map(|l| l.split("ocomms listening on ").nth(1)) {
                host.url = url.trim().to_string();
                return Ok(host);
            }
            if let Some(status) = host.child.try_wait()? {
                bail!("wasm-host exited ({status}) before listening:\n{text}");
            }
            if started.elapsed() > START_TIMEOUT {
                host.stop();
                bail!("wasm-host did not listen within {START_TIMEOUT:?}:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM (the host drains and stops its PostgreSQL), then SIGKILL after 20 s.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::parse_summary;

    #[test]
    fn summary_lines_parse() {
        let o = parse_summary("48 passed, 2 failed, 1 skipped (reports in target/openapi-fuzz/run-1-0/run)").unwrap();
        assert_eq!((o.passed, o.failed, o.skipped), (48, 2, 1));
        assert!(parse_summary("Schemathesis exited with 1 and wrote no report").is_none());
        assert!(parse_summary("1 passed, 2 failed").is_none());
    }
}
