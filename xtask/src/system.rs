//! System packages: installed with apt when we are root, otherwise named with the exact
//! command to run.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::toolchain::which;

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Installs Debian packages, or explains how to.
pub fn apt_install(packages: &[&str], purpose: &str) -> Result<()> {
    let cmd = format!("apt-get install -y {}", packages.join(" "));
    if !is_root() || which("apt-get").is_none() {
        bail!("{purpose} is missing. Install it with: sudo apt-get update && sudo {cmd}");
    }
    println!("    installing {purpose}: {cmd}");
    let update = Command::new("apt-get").args(["update", "-qq"]).status();
    if !update.is_ok_and(|s| s.success()) {
        println!("    apt-get update failed; trying the install with the current package lists");
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()?;
    if !status.success() {
        bail!("`{cmd}` failed ({status}); {purpose} is required");
    }
    Ok(())
}

/// PostgreSQL server binaries, for the managed database and the test harness.
pub fn ensure_postgres() -> Result<()> {
    let found = which("initdb").is_some()
        || std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| e.path().join("bin/initdb").exists());
    if found {
        return Ok(());
    }
    apt_install(&["postgresql"], "the PostgreSQL server")
}

/// A Valkey or Redis server, the relay between the hosts of the cluster suite (Debian's
/// `redis-server`; Valkey speaks the same protocol).
pub fn ensure_relay_server() -> Result<()> {
    if which("valkey-server").is_some() || which("redis-server").is_some() {
        return Ok(());
    }
    apt_install(&["redis-server"], "redis-server (the relay of the cluster suite)")
}

/// HAProxy, the load balancer in front of the cluster suite's hosts (in /usr/sbin).
pub fn ensure_haproxy() -> Result<()> {
    if which("haproxy").is_some() || std::path::Path::new("/usr/sbin/haproxy").is_file() {
        return Ok(());
    }
    apt_install(&["haproxy"], "HAProxy (for the cluster suite)")
}

/// PgBouncer, which the cluster suite puts between the hosts and PostgreSQL in transaction
/// pooling mode (Debian installs it in /usr/sbin).
pub fn ensure_pgbouncer() -> Result<()> {
    if which("pgbouncer").is_some() || std::path::Path::new("/usr/sbin/pgbouncer").is_file() {
        return Ok(());
    }
    apt_install(&["pgbouncer"], "PgBouncer (for the cluster suite)")
}

/// Node.js and npm, for the web client build and the browser and edge tests.
pub fn ensure_node() -> Result<()> {
    if which("node").is_some() && which("npm").is_some() {
        return Ok(());
    }
    apt_install(&["nodejs", "npm"], "Node.js and npm")
}

/// Debian's Chromium, which the browser tests drive headless (no browser is downloaded).
pub fn chromium() -> Result<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("OCOMMS_CHROMIUM") {
        return Ok(path.into());
    }
    let path = std::path::PathBuf::from("/usr/bin/chromium");
    if !path.exists() {
        apt_install(&["chromium"], "Chromium (for the browser tests)")?;
    }
    Ok(path)
}

/// Runs a command and kills it if it outlives `limit`.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Result<()> {
    let mut child = cmd.spawn()?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            bail!("{cmd:?} failed with {status}");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A Python virtual environment at `dir` with `package==version` (pip spec `spec`, e.g.
/// `moto[server]==5.2.6`), created and filled the first time; returns its python.
pub fn pip_venv(dir: &std::path::Path, package: &str, version: &str, spec: &str) -> Result<std::path::PathBuf> {
    let python = dir.join("bin/python");
    let has = |python: &std::path::Path| {
        Command::new(python)
            .args(["-c", &format!("import importlib.metadata as m; print(m.version('{package}'))")])
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == version)
    };
    if has(&python) {
        return Ok(python);
    }
    let purpose = format!("Python 3 (for {package})");
    if which("python3").is_none() {
        apt_install(&["python3", "python3-venv"], &purpose)?;
    }
    println!("    installing {spec} into {}", dir.display());
    let venv = || crate::run(Command::new("python3").args(["-m", "venv", "--clear"]).arg(dir));
    if venv().is_err() {
        // Debian ships the venv module (and the pip it bootstraps) separately.
        apt_install(&["python3-venv"], &purpose)?;
        venv()?;
    }
    crate::run(
        Command::new(&python).args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).arg(spec),
    )?;
    if !has(&python) {
        bail!("{package} {version} is not importable from {} after installing it", python.display());
    }
    Ok(python)
}
