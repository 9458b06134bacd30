//! A real PgBouncer (Debian's) in transaction pooling mode on a free loopback port, in
//! front of the test PostgreSQL: hosts given its URL must work with every transaction
//! possibly on another server connection.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::edge::free_port;
use super::unique_temp_dir;

pub struct PgBouncer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// `OCOMMS_PGBOUNCER`, or `pgbouncer` on the `PATH` or in `/usr/sbin`.
fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("OCOMMS_PGBOUNCER") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("pgbouncer"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no pgbouncer: `cargo xtask test` installs it (apt-get install pgbouncer)"))
}

impl PgBouncer {
    /// Pools every database of the PostgreSQL on `pg_port` (trust authentication, as the
    /// test cluster uses), one server connection per transaction.
    pub async fn start(pg_port: u16) -> PgBouncer {
        let dir = unique_temp_dir();
        let port = free_port();
        let config = format!(
            "[databases]\n* = host=127.0.0.1 port={pg_port}\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = \
             {port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {dir}/userlist.txt\npool_mode = \
             transaction\nmax_client_conn = 2000\ndefault_pool_size = 20\nignore_startup_parameters = \
             extra_float_digits,options\nlogfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("pgbouncer.ini"), config).expect("write pgbouncer.ini");
        std::fs::write(dir.join("userlist.txt"), "\"postgres\" \"\"\n").expect("write userlist.txt");
        let mut cmd = Command::new(binary());
        // PgBouncer refuses to run as root: as root, it drops to `nobody`, who must be able
        // to write its log there.
        if nix_is_root() {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("open the directory");
            cmd.args(["-u", "nobody"]);
        }
        let out = std::fs::File::create(dir.join("stdout.log")).expect("pgbouncer output");
        let child = cmd
            .arg(dir.join("pgbouncer.ini"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("pgbouncer output"))
            .stderr(out)
            .spawn()
            .expect("start pgbouncer");
        let mut bouncer = PgBouncer { port, dir, child: Some(child) };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(status) = bouncer.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("pgbouncer exited ({status}): {}", bouncer.log());
            }
            assert!(started.elapsed() < Duration::from_secs(20), "pgbouncer did not listen: {}", bouncer.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bouncer
    }

    /// The URL of `database` through the pooler.
    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn log(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!("{}{}", read("stdout.log"), read("pgbouncer.log"))
    }
}

fn nix_is_root() -> bool {
    // The effective user of this process; `id -u` avoids a libc dependency.
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Drop for PgBouncer {
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
