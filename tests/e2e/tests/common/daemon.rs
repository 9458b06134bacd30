//! What the cluster suite's servers (redis-server, PgBouncer, HAProxy) share: finding the
//! Debian binary, running it with its output in its own directory, waiting for its port,
//! and killing it (and removing the directory) when the handle goes.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::unique_temp_dir;

/// `env` when set, else the first of `names` on the `PATH` or in `/usr/sbin`; panics saying
/// which package `cargo xtask test` installs.
pub(super) fn program(env: &str, names: &[&str], package: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).chain([PathBuf::from("/usr/sbin")]).collect();
    names.iter().find_map(|n| dirs.iter().map(|d| d.join(n)).find(|p| p.is_file())).unwrap_or_else(|| {
        panic!("no {}: `cargo xtask test` installs it (apt-get install {package})", names.join(" or "))
    })
}

/// A server process of the suite, living in `dir` with its output in `dir/output.log`.
pub(super) struct Daemon {
    pub(super) dir: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    pub(super) fn new() -> Daemon {
        Daemon { dir: unique_temp_dir(), child: None }
    }

    /// Starts `cmd` (stopping it first if it runs) and waits until `port` accepts.
    pub(super) async fn run(&mut self, mut cmd: Command, port: u16) {
        self.stop();
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("output.log"))
            .expect("a log for the server");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("a log for the server"))
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
        self.child = Some(child);
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("{cmd:?} exited ({status}): {}", self.log());
            }
            assert!(started.elapsed() < Duration::from_secs(20), "{cmd:?} did not listen on {port}: {}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What the server printed.
    pub(super) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("output.log")).unwrap_or_default()
    }

    /// Kills the server (SIGKILL: every connection drops at once).
    pub(super) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("OCOMMS_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
