//! The host under test: started under `prlimit` with a throwaway data dir (and so its own
//! managed PostgreSQL), stopped with SIGTERM so it also stops that PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

use crate::proc::Proc;

pub const LISTENING: &str = "ocomms listening on http://";

#[derive(Debug)]
pub struct Host {
    pub proc: Proc,
    pub nofile: u64,
    pub data_dir: PathBuf,
}

/// The open-file limit to give a server: `wanted` if prlimit may set it, else our own hard
/// limit (raising a hard limit needs CAP_SYS_RESOURCE, which containers often lack).
pub fn usable_nofile(wanted: u64) -> Result<u64> {
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
    Ok(hard.min(wanted))
}

/// `prlimit --nofile=N:N -- <program>`: the server gets the limit, the machine's defaults stay.
pub fn under_prlimit(nofile: u64, program: &Path) -> Command {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nofile={nofile}:{nofile}")).arg("--").arg(program);
    cmd
}

/// The host under `prlimit` with the flags and variables every benchmark host gets: no
/// per-address or per-user socket caps, rate limits off, no email verification.
pub fn command(binary: &Path, manifest: &Path, workdir: &Path, data_dir: &Path, nofile: u64) -> Command {
    let mut cmd = under_prlimit(nofile, binary);
    cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .arg("--manifest")
        .arg(manifest)
        // Thousands of sockets of a few users from one address: the caps would refuse them.
        .args(["--max-connections-per-address", "0", "--max-sockets-per-address", "0", "--max-sockets-per-user", "0"])
        .current_dir(workdir)
        .env("NO_COLOR", "1")
        // Every benchmark client comes from 127.0.0.1: rate limits would measure themselves.
        .env("SPIN_VARIABLE_RATE_LIMITS", ocomms_core::limits::Limits::unlimited_setting())
        // The benchmarks sign up thousands of users: accounts at once, without mail.
        .env("SPIN_VARIABLE_EMAIL_VERIFICATION", "off");
    cmd
}

/// A fresh directory under the system temp dir, traversable by others (as root the managed
/// PostgreSQL runs as `postgres`, which must reach its own directory inside).
pub fn temp_dir(tag: &str) -> Result<PathBuf> {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("ocomms-bench-{tag}{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    Ok(dir)
}

impl Host {
    pub fn start(
        binary: &Path,
        manifest: &Path,
        workdir: &Path,
        log: PathBuf,
        nofile: u64,
        limit: Duration,
    ) -> Result<Self> {
        if !binary.is_file() {
            bail!(
                "no host binary at {}: build it with `cargo build --release -p wasm-host` (or run `cargo xtask bench`)",
                binary.display()
            );
        }
        let data_dir = temp_dir("")?;
        let cmd = command(binary, manifest, workdir, &data_dir, nofile);
        let proc = match Proc::start("host", cmd, log, LISTENING, limit) {
            Ok(p) => p,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&data_dir);
                return Err(e);
            }
        };
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", proc.pid)).unwrap_or_default();
        if comm.trim() != "ocomms" {
            println!("note: pid {} is {:?}, not ocomms; RSS figures may be wrong", proc.pid, comm.trim());
        }
        Ok(Host { proc, nofile, data_dir })
    }

    pub fn pid(&self) -> u32 {
        self.proc.pid
    }

    pub fn rss(&self) -> Result<u64> {
        self.proc.rss()
    }

    /// The host's managed PostgreSQL, as its superuser, from the files the host keeps in its
    /// data dir: the native command path uses the same database.
    pub fn database_url(&self) -> Result<String> {
        let read = |f: &str| {
            std::fs::read_to_string(self.data_dir.join(f))
                .with_context(|| format!("read {}", self.data_dir.join(f).display()))
                .map(|s| s.trim().to_string())
        };
        Ok(format!("postgresql://postgres:{}@127.0.0.1:{}/ocomms", read("pg-password")?, read("pg-port")?))
    }

    pub fn jwt_secret_file(&self) -> PathBuf {
        self.data_dir.join("jwt-secret")
    }

    /// A secret the host generated in its data dir (`jwt-secret`, `rooms-secret`).
    pub fn secret(&self, file: &str) -> Result<String> {
        let path = self.data_dir.join(file);
        let s = std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        let s = s.trim();
        if s.is_empty() {
            bail!("{} is empty", path.display());
        }
        Ok(s.to_string())
    }

    /// Where the host keeps its compiled components: other hosts of the same build may share it.
    pub fn cache_dir(&self) -> PathBuf {
        self.data_dir.join("cache")
    }

    /// SIGTERM, then up to 30 s for a clean exit (the host stops its PostgreSQL), then
    /// SIGKILL. Removes the data dir.
    pub fn stop(&mut self) -> String {
        let outcome = self.proc.stop(Duration::from_secs(30));
        if self.data_dir.exists()
            && let Err(e) = std::fs::remove_dir_all(&self.data_dir)
        {
            println!("note: cannot remove {}: {e}", self.data_dir.display());
        }
        outcome
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if self.data_dir.exists() {
            let outcome = self.stop();
            println!("host {outcome}");
        }
    }
}
