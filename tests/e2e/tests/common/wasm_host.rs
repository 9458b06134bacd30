//! The real `wasm-host` as a child process with its managed PostgreSQL: starting it, and the
//! faults the tests inject (SIGKILL and restart, PostgreSQL stopped and started under it).
//! The managed PostgreSQL lives in the handle's own data directory: stopping it touches no
//! other test (the edge's shared cluster is in `ocomms_testsupport`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{Host, HostOptions, START_TIMEOUT, STOP_TIMEOUT, Target, api_component, unique_temp_dir, workspace_root};

/// `<root>/target`, or `CARGO_TARGET_DIR`.
pub(super) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// `<root>/target/debug/ocomms` (honouring `CARGO_TARGET_DIR`), or a panic saying how to
/// build it.
pub fn host_binary() -> PathBuf {
    let bin = target_dir().join("debug").join("ocomms");
    assert!(
        bin.is_file(),
        "the host binary {} is missing: run `cargo build -p wasm-host` before the end-to-end tests",
        bin.display()
    );
    bin
}

impl Host {
    /// `wasm-host` on a free port with the repository's spin.toml (or the options'
    /// manifest) and its managed PostgreSQL (or the options' database).
    pub(super) async fn start_wasm_host(opts: HostOptions) -> Host {
        let dir = unique_temp_dir();
        let manifest = match &opts.manifest_toml {
            Some(_) => dir.join("spin.toml"),
            None => {
                api_component();
                workspace_root().join("spin.toml")
            }
        };
        let mut host = Host::unlaunched(Target::Host, dir, manifest, opts);
        if let Some(text) = &host.opts.manifest_toml {
            std::fs::write(&host.config, text).expect("write the test manifest");
        }
        host.launch("127.0.0.1:0").await;
        host
    }

    /// `wasm-host` on a data directory made beforehand at `<dir>/data` (a restored one),
    /// with the repository's spin.toml. The handle owns `dir`, as any other.
    pub async fn start_in(dir: PathBuf, opts: HostOptions) -> Host {
        assert!(opts.manifest_toml.is_none(), "start_in runs the repository's manifest");
        api_component();
        let mut host = Host::unlaunched(Target::Host, dir, workspace_root().join("spin.toml"), opts);
        host.launch("127.0.0.1:0").await;
        host
    }

    /// Spawns the host process listening on `listen` and waits until it prints its address.
    async fn launch(&mut self, listen: &str) {
        let bin = host_binary();
        let mut cmd = tokio::process::Command::new(&bin);
        cmd.arg("--listen").arg(listen).arg("--manifest").arg(&self.config).arg("--data-dir").arg(&self.data_dir);
        // Every host of the run compiles the same component: the first compilation serves all.
        cmd.arg("--cache-dir").arg(target_dir().join("e2e-component-cache"));
        if let Some(secs) = self.opts.away_after_secs {
            cmd.arg("--away-after").arg(secs.to_string());
        }
        if let Some(secs) = self.opts.request_timeout_secs {
            cmd.arg("--request-timeout").arg(secs.to_string());
        }
        if let Some(url) = &self.opts.database_url {
            cmd.arg("--database-url").arg(url);
        }
        if let Some((url, key)) = &self.opts.meilisearch {
            cmd.arg("--meilisearch-url").arg(url).arg("--meilisearch-key").arg(key);
        }
        if let Some(url) = &self.opts.smtp_url {
            cmd.arg("--smtp-url").arg(url).arg("--mail-from").arg("OComms <chat@ocomms.test>");
        }
        cmd.args(&self.opts.host_args);
        // No stray configuration from the environment; no web client (cwd has no web/).
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("SPIN_VARIABLE_") || n.starts_with("OCOMMS_")) {
                cmd.env_remove(&name);
            }
        }
        cmd.env("OCOMMS_LOG", "info");
        for (name, value) in self.opts.app_variables() {
            cmd.env(format!("SPIN_VARIABLE_{name}"), value);
        }
        if let Some(s3) = &self.opts.s3 {
            for (name, value) in s3_variables(s3) {
                cmd.env(format!("SPIN_VARIABLE_{name}"), value);
            }
        }
        let log_start = self.spawn(cmd);

        let started = Instant::now();
        let addr = loop {
            let text = std::fs::read(&self.log).unwrap_or_default();
            let fresh = String::from_utf8_lossy(text.get(log_start..).unwrap_or_default());
            if let Some(addr) = fresh.lines().find_map(|l| {
                l.trim().strip_prefix("ocomms listening on http://").and_then(|a| a.trim().parse::<SocketAddr>().ok())
            }) {
                break addr;
            }
            if let Some(status) = self.exited() {
                panic!("wasm-host exited ({status}) before listening; its output:\n{}", self.log_text());
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "wasm-host did not print its address within {START_TIMEOUT:?}; its output:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        self.addr = addr;
        self.base = format!("http://{addr}");
    }

    /// SIGKILL, as in a crash: no draining, and the managed PostgreSQL keeps running (the
    /// next start must stop it). Returns once the process is gone.
    pub async fn kill(&mut self) {
        assert_eq!(self.target(), Target::Host, "kill() is for the host");
        if let Some(w) = self.watchdog.take() {
            w.cancel();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(STOP_TIMEOUT, child.wait()).await;
        }
    }

    /// Starts the host again after [`Host::kill`]: same address, data directory and options.
    pub async fn restart(&mut self) {
        assert_eq!(self.target(), Target::Host, "restart() is for the host");
        assert!(self.child.is_none(), "restart() needs a killed host");
        let listen = self.addr.to_string();
        self.launch(&listen).await;
    }

    /// The managed PostgreSQL's data directory.
    pub fn managed_pg_dir(&self) -> PathBuf {
        assert_eq!(self.target(), Target::Host, "only the host manages a PostgreSQL");
        self.data_dir.join("pg")
    }

    /// Stops the managed PostgreSQL under the running host (fast: open sessions are cut).
    pub async fn stop_managed_pg(&self) {
        pg_ctl(&self.managed_pg_dir(), &["stop", "-m", "fast", "-w"]).await;
    }

    /// Starts the managed PostgreSQL again with the options it last ran with (same port).
    pub async fn start_managed_pg(&self) {
        let dir = self.managed_pg_dir();
        let opts_file = dir.join("postmaster.opts");
        let line = std::fs::read_to_string(&opts_file).unwrap_or_else(|e| panic!("read {}: {e}", opts_file.display()));
        // `<binary> "-D" "<dir>" "-c" "port=..." ...`: everything after the binary, quoted
        // for the shell pg_ctl starts the server with.
        let args = line.trim().split_once(' ').map_or("", |(_, rest)| rest).to_string();
        let log = dir.join("restarted.log");
        pg_ctl(&dir, &["start", "-w", "-t", "60", "-l", &log.to_string_lossy(), "-o", &args]).await;
    }

    /// A killed host (see [`Host::kill`]) leaves its managed PostgreSQL running: stops it
    /// before the handle's directory goes. Called on drop, so it never panics.
    pub(super) fn stop_left_over_managed_pg(&self) {
        let dir = self.data_dir.join("pg");
        if self.opts.database_url.is_none()
            && dir.join("postmaster.pid").exists()
            && let Ok(mut cmd) = pg_ctl_command(&dir, &["stop", "-m", "immediate", "-w"])
        {
            let _ = cmd.as_std_mut().output();
        }
    }
}

/// Runs `pg_ctl -D dir <args>` as the server's user; panics with its output on failure.
async fn pg_ctl(dir: &Path, args: &[&str]) {
    let mut cmd = pg_ctl_command(dir, args).unwrap_or_else(|e| panic!("PostgreSQL's binaries: {e}"));
    let out = cmd.output().await.unwrap_or_else(|e| panic!("run pg_ctl {args:?}: {e}"));
    assert!(
        out.status.success(),
        "pg_ctl {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `pg_ctl -D dir <args>` as the server's user.
fn pg_ctl_command(dir: &Path, args: &[&str]) -> Result<tokio::process::Command, ocomms_pglocal::PgError> {
    let bin = ocomms_pglocal::find_bin_dir()?.join("pg_ctl");
    let mut cmd = if ocomms_pglocal::running_as_root() {
        let mut c = tokio::process::Command::new("runuser");
        c.arg("-u").arg("postgres").arg("--").arg(bin);
        c
    } else {
        tokio::process::Command::new(bin)
    };
    cmd.arg("-D").arg(dir).args(args).stdin(Stdio::null());
    Ok(cmd)
}

/// The settings naming an S3 service, as Spin variable (and Worker setting) names.
pub fn s3_variables(s3: &super::ExternalS3) -> Vec<(&'static str, String)> {
    vec![
        ("S3_ENDPOINT", s3.endpoint.clone()),
        ("S3_REGION", "us-east-1".to_owned()),
        ("S3_BUCKET", s3.bucket.clone()),
        ("S3_ACCESS_KEY", s3.access_key.clone()),
        ("S3_SECRET_KEY", s3.secret_key.clone()),
    ]
}
