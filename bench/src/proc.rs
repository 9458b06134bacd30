//! A server under test as a child process: started with its stdout read for the line that
//! gives its address, logged to a file, measured through /proc, stopped with SIGTERM.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

#[derive(Debug)]
pub struct Proc {
    child: Option<Child>,
    pub name: &'static str,
    pub pid: u32,
    pub addr: SocketAddr,
    pub log: PathBuf,
    pub startup: Duration,
}

/// A `/proc/<pid>/status` field in bytes (VmRSS, VmHWM).
pub fn status_bytes(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix(field).and_then(|r| r.strip_prefix(':')) {
            let kb: u64 = rest.trim().trim_end_matches("kB").trim().parse()?;
            return Ok(kb * 1024);
        }
    }
    bail!("{field} not in /proc/{pid}/status")
}

impl Proc {
    /// Spawns `cmd` (stdout piped, stderr to `log`) and waits up to `limit` for a stdout
    /// line holding `<listening><addr>`; the address must be on loopback. With `prlimit` as the
    /// program, the pid is the server's own (prlimit execs it).
    pub fn start(name: &'static str, cmd: Command, log: PathBuf, listening: &str, limit: Duration) -> Result<Self> {
        Self::launch(name, cmd, log, Some(listening), limit)
    }

    /// Spawns `cmd` like [`Proc::start`] without waiting for a line: the caller knows the
    /// address (`addr`) and how to tell that it serves.
    pub fn spawn(name: &'static str, cmd: Command, log: PathBuf, addr: SocketAddr) -> Result<Self> {
        let mut p = Self::launch(name, cmd, log, None, Duration::ZERO)?;
        p.addr = addr;
        Ok(p)
    }

    fn launch(
        name: &'static str,
        mut cmd: Command,
        log: PathBuf,
        listening: Option<&str>,
        limit: Duration,
    ) -> Result<Self> {
        let mut log_file = File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let started = Instant::now();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file.try_clone()?)
            .spawn()
            .with_context(|| format!("start {name}: {cmd:?}"))?;
        let pid = child.id();
        let stdout = child.stdout.take().context("child stdout")?;
        let (tx, rx) = mpsc::channel::<SocketAddr>();
        let prefix = listening.unwrap_or_default().to_string();
        // Drains the child's stdout (its logs may go there too) for its whole life.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log_file, "{line}");
                // Anywhere in the line: wrangler puts a `[wrangler:info]` tag before it.
                if !prefix.is_empty()
                    && let Some(at) = line.find(prefix.as_str())
                    && let Some(rest) = line[at + prefix.len()..].split_whitespace().next()
                    && let Ok(addr) = rest.trim_end_matches('/').parse::<SocketAddr>()
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let mut p = Proc {
            child: Some(child),
            name,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            startup: Duration::ZERO,
        };
        if listening.is_none() {
            return Ok(p);
        }
        let deadline = started + limit;
        loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(addr) => {
                    p.addr = addr;
                    break;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    bail!("{name} closed its stdout before listening; see {}", p.log.display())
                }
            }
            if let Some(c) = p.child.as_mut()
                && let Some(status) = c.try_wait()?
            {
                bail!("{name} exited with {status} before listening; see {}", p.log.display());
            }
            if Instant::now() > deadline {
                bail!("{name} did not listen within {limit:?}; see {}", p.log.display());
            }
        }
        p.startup = started.elapsed();
        if !p.addr.ip().is_loopback() {
            bail!("{name} listens on {}, not loopback", p.addr);
        }
        Ok(p)
    }

    pub fn rss(&self) -> Result<u64> {
        status_bytes(self.pid, "VmRSS")
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM, then up to `grace` for a clean exit, then SIGKILL. Returns what happened.
    pub fn stop(&mut self, grace: Duration) -> String {
        let Some(mut child) = self.child.take() else { return "already stopped".into() };
        if let Ok(Some(status)) = child.try_wait() {
            return format!("had already exited: {status}");
        }
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status();
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => break format!("stopped: {status}"),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break format!("killed after {grace:?} without exiting");
                }
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.child.is_some() {
            let outcome = self.stop(Duration::from_secs(10));
            println!("{} {outcome}", self.name);
        }
    }
}
