//! A real `redis-server` (Debian's; Valkey speaks the same protocol) on a free loopback
//! port, for the cluster suite's relay: started, stopped and started again on the same port
//! (a relay restart), and stopped for good when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::edge::free_port;
use super::unique_temp_dir;

pub struct RelayServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// `OCOMMS_REDIS_SERVER`, or `redis-server` (or `valkey-server`) on the `PATH`.
fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("OCOMMS_REDIS_SERVER") {
        return PathBuf::from(p);
    }
    for name in ["valkey-server", "redis-server"] {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!("no redis-server or valkey-server: `cargo xtask test` installs it (apt-get install redis-server)")
}

impl RelayServer {
    pub async fn start() -> RelayServer {
        let mut relay = RelayServer { port: free_port(), dir: unique_temp_dir(), child: None };
        relay.start_again().await;
        relay
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port, with nothing kept on disk: a restart loses
    /// every subscription, as a real one does.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "the relay is already running");
        let log = std::fs::File::create(self.dir.join("relay.log")).expect("relay log");
        let child = Command::new(binary())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("relay log"))
            .stderr(log)
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(20), "redis-server did not listen on {}", self.port);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the server (SIGKILL: every connection drops at once).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RelayServer {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("OCOMMS_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
