//! A real HAProxy (Debian's) in front of the cluster suite's hosts: round robin, active
//! health checks on `/readyz`, WebSockets tunnelled; a host that dies is taken out of
//! rotation by its failed checks and its clients reconnect to the others through it.

use std::net::SocketAddr;
use std::process::Command;

use super::daemon::{Daemon, program};
use super::edge::free_port;

pub struct Haproxy {
    pub port: u16,
    _daemon: Daemon,
}

impl Haproxy {
    pub async fn start(backends: &[SocketAddr]) -> Haproxy {
        let daemon = Daemon::new();
        let port = free_port();
        let servers: String =
            backends.iter().enumerate().map(|(i, a)| format!("    server host{i} {a} check\n")).collect();
        // Checks every 300 ms, out after two failures: a dead host leaves rotation in under a
        // second. A request whose connection is refused is sent to another host.
        let config = format!(
            "global\n    maxconn 4000\n\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client \
             60s\n    timeout server 60s\n    timeout tunnel 1h\n    retries 2\n    option redispatch\n\nfrontend \
             ocomms\n    bind 127.0.0.1:{port}\n    default_backend hosts\n\nbackend hosts\n    balance \
             roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n    default-server inter \
             300ms fall 2 rise 1\n{servers}"
        );
        let cfg = daemon.dir.join("haproxy.cfg");
        std::fs::write(&cfg, config).expect("write haproxy.cfg");
        let mut cmd = Command::new(program("OCOMMS_HAPROXY", &["haproxy"], "haproxy"));
        cmd.arg("-db").arg("-f").arg(&cfg);
        let mut proxy = Haproxy { port, _daemon: daemon };
        proxy._daemon.run(cmd, port).await;
        proxy
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
