//! A real HAProxy (Debian's) in front of the cluster suite's hosts: round robin, active
//! health checks on `/readyz`, WebSockets tunnelled; a host that dies is taken out of
//! rotation by its failed checks and its clients reconnect to the others through it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::edge::free_port;
use super::unique_temp_dir;

pub struct Haproxy {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// `OCOMMS_HAPROXY`, or `haproxy` on the `PATH` or in `/usr/sbin`.
fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("OCOMMS_HAPROXY") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("haproxy"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no haproxy: `cargo xtask test` installs it (apt-get install haproxy)"))
}

impl Haproxy {
    pub async fn start(backends: &[SocketAddr]) -> Haproxy {
        let dir = unique_temp_dir();
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
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(&cfg, config).expect("write haproxy.cfg");
        let out = std::fs::File::create(dir.join("haproxy.log")).expect("haproxy log");
        let child = Command::new(binary())
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("haproxy log"))
            .stderr(out)
            .spawn()
            .expect("start haproxy");
        let mut proxy = Haproxy { port, dir, child: Some(child) };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = proxy.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("haproxy exited ({status}): {}", proxy.log());
            }
            assert!(started.elapsed() < Duration::from_secs(20), "haproxy did not listen: {}", proxy.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        proxy
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("haproxy.log")).unwrap_or_default()
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::env::var_os("OCOMMS_E2E_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
