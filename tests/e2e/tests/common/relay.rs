//! A real `redis-server` (Debian's; Valkey speaks the same protocol) on a free loopback
//! port, for the cluster suite's relay: started, stopped and started again on the same port
//! (a relay restart), and stopped for good when dropped.

use std::process::Command;

use super::daemon::{Daemon, program};
use super::edge::free_port;

pub struct RelayServer {
    pub port: u16,
    daemon: Daemon,
}

impl RelayServer {
    pub async fn start() -> RelayServer {
        let mut relay = RelayServer { port: free_port(), daemon: Daemon::new() };
        relay.start_again().await;
        relay
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port, with nothing kept on disk: a restart loses
    /// every subscription, as a real one does.
    pub async fn start_again(&mut self) {
        let mut cmd = Command::new(program("OCOMMS_REDIS_SERVER", &["valkey-server", "redis-server"], "redis-server"));
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.daemon.dir);
        self.daemon.run(cmd, self.port).await;
    }

    /// Kills the server (SIGKILL: every connection drops at once).
    pub fn stop(&mut self) {
        self.daemon.stop();
    }
}
