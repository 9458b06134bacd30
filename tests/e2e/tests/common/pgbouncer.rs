//! A real PgBouncer (Debian's) in transaction pooling mode on a free loopback port, in
//! front of the test PostgreSQL: hosts given its URL must work with every transaction
//! possibly on another server connection.

use std::process::Command;

use super::daemon::{Daemon, program};
use super::edge::free_port;

pub struct PgBouncer {
    pub port: u16,
    daemon: Daemon,
}

impl PgBouncer {
    /// Pools every database of the PostgreSQL on `pg_port` (trust authentication, as the
    /// test cluster uses), one server connection per transaction.
    pub async fn start(pg_port: u16) -> PgBouncer {
        let daemon = Daemon::new();
        let dir = &daemon.dir;
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
        let mut cmd = Command::new(program("OCOMMS_PGBOUNCER", &["pgbouncer"], "pgbouncer"));
        // PgBouncer refuses to run as root: as root, it drops to `nobody`, who must be able
        // to write its log there.
        if is_root() {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).expect("open the directory");
            cmd.args(["-u", "nobody"]);
        }
        cmd.arg(dir.join("pgbouncer.ini"));
        let mut bouncer = PgBouncer { port, daemon };
        bouncer.daemon.run(cmd, port).await;
        bouncer
    }

    /// The URL of `database` through the pooler.
    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

fn is_root() -> bool {
    // The effective user of this process; `id -u` avoids a libc dependency.
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
