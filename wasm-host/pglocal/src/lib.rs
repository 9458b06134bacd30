//! A PostgreSQL cluster on this machine, owned by the calling process.
//!
//! The server refuses to run as root, so when we are root every server command runs as the
//! `postgres` user (through `runuser`) on a data directory that user owns. The server listens
//! on 127.0.0.1 only, on a port we pick, and never on a Unix socket (whose path length and
//! directory rights differ between machines).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "PostgreSQL server binaries (initdb, postgres, pg_ctl) were not found. Install them with \
         `apt-get install -y postgresql` or set OCOMMS_PG_BIN to their directory"
    )]
    NotInstalled,
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("PostgreSQL did not accept connections within {0:?}; see {1}")]
    NotReady(Duration, PathBuf),
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl PgError {
    /// The server could not listen because another process holds its port: one picked by
    /// [`free_port`] can be taken before the server binds it.
    pub fn is_port_taken(&self) -> bool {
        matches!(self, Self::Command { detail, .. }
            if detail.contains("Address already in use") || detail.contains("could not create any TCP/IP sockets"))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PgError + '_ {
    move |source| PgError::Io { path: path.to_path_buf(), source }
}

/// Where the server binaries are: `$OCOMMS_PG_BIN`, then `PATH`, then Debian's versioned
/// directories (newest first).
pub fn find_bin_dir() -> Result<PathBuf, PgError> {
    if let Some(dir) = std::env::var_os("OCOMMS_PG_BIN") {
        let dir = PathBuf::from(dir);
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").exists() && dir.join("postgres").exists() {
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or(PgError::NotInstalled)
}

/// True when this process runs as root (the server must then run as `postgres`).
pub fn running_as_root() -> bool {
    // `id -u` avoids unsafe libc calls for a question asked once per start.
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// How clients authenticate to the cluster.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Anyone on loopback may connect: for throwaway test clusters only.
    Trust,
    /// scram-sha-256 with this password for the `postgres` superuser.
    Password(String),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub data_dir: PathBuf,
    pub port: u16,
    pub auth: Auth,
    /// Trade durability for speed (fsync off): for tests only, never for real data.
    pub ephemeral: bool,
}

/// A running server. Dropping it does not stop it; call [`Cluster::stop`].
#[derive(Debug)]
pub struct Cluster {
    bin: PathBuf,
    opts: Options,
    as_postgres: bool,
    child: Option<Child>,
}

impl Cluster {
    /// Initialises the data directory if it is empty, then starts the server and waits
    /// until it accepts connections.
    pub async fn start(opts: Options) -> Result<Self, PgError> {
        let bin = find_bin_dir()?;
        let as_postgres = running_as_root();
        let mut cluster = Self { bin, opts, as_postgres, child: None };
        cluster.init_if_needed().await?;
        cluster.stop_stale().await;
        cluster.spawn().await?;
        cluster.wait_ready(Duration::from_secs(60)).await?;
        Ok(cluster)
    }

    /// Starts the cluster on a free port; when another process takes the port before the
    /// server binds it, tries a new one (up to `attempts` ports in all).
    pub async fn start_on_free_port(mut opts: Options, attempts: u32) -> Result<Self, PgError> {
        let mut tries = 0;
        loop {
            tries += 1;
            opts.port = free_port().map_err(io(&opts.data_dir))?;
            match Self::start(opts.clone()).await {
                Err(e) if e.is_port_taken() && tries < attempts => continue,
                other => return other,
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.opts.port
    }
    pub fn data_dir(&self) -> &Path {
        &self.opts.data_dir
    }

    /// A connection string for `database` as the superuser.
    pub fn url(&self, database: &str) -> String {
        match &self.opts.auth {
            Auth::Trust => format!("postgresql://postgres@127.0.0.1:{}/{database}", self.opts.port),
            Auth::Password(p) => format!("postgresql://postgres:{p}@127.0.0.1:{}/{database}", self.opts.port),
        }
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.arg("-u").arg("postgres").arg("--").arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    async fn run(&self, what: &str, mut cmd: Command) -> Result<(), PgError> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| PgError::Command { what: what.into(), detail: e.to_string() })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(PgError::Command {
                what: what.into(),
                detail: format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
            })
        }
    }

    async fn init_if_needed(&self) -> Result<(), PgError> {
        let dir = &self.opts.data_dir;
        if dir.join("PG_VERSION").exists() {
            return Ok(());
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        if self.as_postgres {
            self.run("chown", {
                let mut c = Command::new("chown");
                c.arg("-R").arg("postgres:postgres").arg(dir);
                c
            })
            .await?;
        }
        let mut cmd = self.command("initdb");
        cmd.arg("-D").arg(dir).arg("-U").arg("postgres").arg("-E").arg("UTF8").arg("--locale=C.UTF-8");
        match &self.opts.auth {
            Auth::Trust => {
                cmd.arg("--auth=trust");
            }
            Auth::Password(p) => {
                // The password goes through a file readable only by the server's user.
                // initdb wants an empty directory, so the file sits beside it.
                let pwfile = dir.with_extension("initdb-pw");
                std::fs::write(&pwfile, p).map_err(io(&pwfile))?;
                if self.as_postgres {
                    self.run("chown", {
                        let mut c = Command::new("chown");
                        c.arg("postgres:postgres").arg(&pwfile);
                        c
                    })
                    .await?;
                }
                cmd.arg("--auth=scram-sha-256").arg(format!("--pwfile={}", pwfile.display()));
            }
        }
        if self.opts.ephemeral {
            cmd.arg("--no-sync");
        }
        let res = self.run("initdb", cmd).await;
        let _ = std::fs::remove_file(dir.with_extension("initdb-pw"));
        res
    }

    /// A server left running by a killed predecessor holds the data directory: stop it.
    async fn stop_stale(&self) {
        if self.opts.data_dir.join("postmaster.pid").exists() {
            let mut cmd = self.command("pg_ctl");
            cmd.arg("-D").arg(&self.opts.data_dir).arg("stop").arg("-m").arg("fast").arg("-w");
            if self.run("pg_ctl stop", cmd).await.is_ok() {
                tracing::info!(dir = %self.opts.data_dir.display(), "stopped a PostgreSQL left running");
            }
        }
    }

    async fn spawn(&mut self) -> Result<(), PgError> {
        let log = self.opts.data_dir.join("server.log");
        let mut cmd = self.command("postgres");
        cmd.arg("-D")
            .arg(&self.opts.data_dir)
            .arg("-c")
            .arg("listen_addresses=127.0.0.1")
            .arg("-c")
            .arg(format!("port={}", self.opts.port))
            .arg("-c")
            .arg("unix_socket_directories=")
            .arg("-c")
            .arg("max_connections=200");
        if self.opts.ephemeral {
            for s in ["fsync=off", "synchronous_commit=off", "full_page_writes=off"] {
                cmd.arg("-c").arg(s);
            }
        }
        // The server's log goes to a file the postgres user can write: its stderr.
        let file = std::fs::File::create(&log).map_err(io(&log))?;
        let file2 = file.try_clone().map_err(io(&log))?;
        cmd.stdin(Stdio::null()).stdout(file).stderr(file2).kill_on_drop(false);
        let child = cmd.spawn().map_err(|e| PgError::Command { what: "postgres".into(), detail: e.to_string() })?;
        self.child = Some(child);
        Ok(())
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<(), PgError> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log = std::fs::read_to_string(self.opts.data_dir.join("server.log")).unwrap_or_default();
                return Err(PgError::Command {
                    what: "postgres".into(),
                    detail: format!("exited with {status}: {log}"),
                });
            }
            if tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls).await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(PgError::NotReady(limit, self.opts.data_dir.join("server.log")))
    }

    /// Fast shutdown: open transactions roll back, committed data is safe.
    pub async fn stop(mut self) -> Result<(), PgError> {
        let mut cmd = self.command("pg_ctl");
        cmd.arg("-D").arg(&self.opts.data_dir).arg("stop").arg("-m").arg("fast").arg("-w");
        let res = self.run("pg_ctl stop", cmd).await;
        if let Some(mut child) = self.child.take() {
            let _ = child.wait().await;
        }
        res
    }

    /// The shell command that stops this cluster, for a watchdog that outlives us.
    pub fn stop_command_line(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let base = format!("{} -D {} stop -m immediate", pg_ctl.display(), self.opts.data_dir.display());
        if self.as_postgres { format!("runuser -u postgres -- {base}") } else { base }
    }
}

/// A free TCP port on loopback. Another process could take it before we bind it, which the
/// server reports clearly ([`PgError::is_port_taken`]); [`Cluster::start_on_free_port`]
/// retries.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_port_is_told_apart_from_other_failures() {
        let taken = PgError::Command {
            what: "postgres".into(),
            detail: "LOG:  could not bind IPv4 address \"127.0.0.1\": Address already in use\n\
                     FATAL:  could not create any TCP/IP sockets"
                .into(),
        };
        assert!(taken.is_port_taken());
        let other =
            PgError::Command { what: "postgres".into(), detail: "FATAL:  data directory has wrong ownership".into() };
        assert!(!other.is_port_taken());
        assert!(!PgError::NotInstalled.is_port_taken());
    }
}
