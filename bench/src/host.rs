//! The host under test: started under `prlimit` with a throwaway data dir (and so its own
//! managed PostgreSQL), stopped with SIGTERM so it also stops that PostgreSQL.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

const LISTENING: &str = "ocomms listening on http://";

#[derive(Debug)]
pub struct Host {
    child: Option<Child>,
    pub pid: u32,
    pub addr: SocketAddr,
    pub nofile: u64,
    pub data_dir: PathBuf,
    pub log: PathBuf,
    pub startup: Duration,
}

/// The open-file limit to give the host: `wanted` if prlimit may set it, else our own hard
/// limit (raising a hard limit needs CAP_SYS_RESOURCE, which containers often lack).
fn usable_nofile(wanted: u64) -> Result<u64> {
    let probe = Command::new("prlimit")
        .arg(format!("--nofile={wanted}:{wanted}"))
        .args(["--", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("run prlimit (util-linux)")?;
    if probe.success() {
        return Ok(wanted);
    }
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).context("read RLIMIT_NOFILE")?;
    let n = hard.min(wanted);
    println!("note: prlimit cannot set nofile={wanted} here; giving the host {n} (the bench's hard limit)");
    Ok(n)
}

impl Host {
    pub fn start(
        binary: &Path,
        manifest: &Path,
        workdir: &Path,
        log: PathBuf,
        wanted_nofile: u64,
        limit: Duration,
    ) -> Result<Self> {
        if !binary.is_file() {
            bail!(
                "no host binary at {}: build it with `cargo build -p wasm-host` (or `cargo xtask bench`)",
                binary.display()
            );
        }
        let nofile = usable_nofile(wanted_nofile)?;
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let data_dir = std::env::temp_dir().join(format!("ocomms-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&data_dir).with_context(|| format!("create {}", data_dir.display()))?;
        // As root the managed PostgreSQL runs as `postgres`, which must traverse this dir.
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755))?;
        }
        let mut log_file = File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let started = Instant::now();
        let mut child = Command::new("prlimit")
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(binary)
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data_dir)
            .arg("--manifest")
            .arg(manifest)
            .current_dir(workdir)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file.try_clone()?)
            .spawn()
            .with_context(|| format!("start prlimit -- {}", binary.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().context("host stdout")?;
        let (tx, rx) = mpsc::channel::<SocketAddr>();
        // Drains the host's stdout (its logs go there too) for its whole life.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log_file, "{line}");
                if let Some(rest) = line.trim().strip_prefix(LISTENING)
                    && let Ok(addr) = rest.trim_end_matches('/').parse::<SocketAddr>()
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let mut host = Host {
            child: Some(child),
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            nofile,
            data_dir,
            log,
            startup: Duration::ZERO,
        };
        let deadline = started + limit;
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(addr) => {
                    host.addr = addr;
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("the host closed its stdout before listening; see {}", host.log.display())
                }
            }
            if let Some(c) = host.child.as_mut()
                && let Some(status) = c.try_wait()?
            {
                bail!("the host exited with {status} before listening; see {}", host.log.display());
            }
            if Instant::now() > deadline {
                bail!("the host did not listen within {limit:?}; see {}", host.log.display());
            }
        }
        host.startup = started.elapsed();
        if !host.addr.ip().is_loopback() {
            bail!("the host listens on {}, not loopback", host.addr);
        }
        // prlimit execs the host, so the pid is the host's own.
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != "wasm-host" {
            println!("note: pid {pid} is {:?}, not wasm-host; RSS figures may be wrong", comm.trim());
        }
        Ok(host)
    }

    /// A `/proc/<pid>/status` field in bytes (VmRSS, VmHWM).
    pub fn status_bytes(&self, field: &str) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        for line in status.lines() {
            if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
                let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse()?;
                return Ok(kb * 1024);
            }
        }
        bail!("{field} not in /proc/{}/status", self.pid)
    }

    pub fn rss(&self) -> Result<u64> {
        self.status_bytes("VmRSS")
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM, then up to 30 s for a clean exit (the host stops its PostgreSQL), then
    /// SIGKILL. Removes the data dir. Returns the exit description.
    pub fn stop(&mut self) -> String {
        let Some(mut child) = self.child.take() else { return "already stopped".into() };
        let outcome = if let Ok(Some(status)) = child.try_wait() {
            format!("had already exited: {status}")
        } else {
            let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => break format!("stopped: {status}"),
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break "killed after 30 s without exiting".into();
                    }
                }
            }
        };
        if let Err(e) = std::fs::remove_dir_all(&self.data_dir) {
            println!("note: cannot remove {}: {e}", self.data_dir.display());
        }
        outcome
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if self.child.is_some() {
            let outcome = self.stop();
            println!("host {outcome}");
        }
    }
}
