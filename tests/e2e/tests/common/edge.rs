//! The second target of the shared scenarios: the edge Worker under `wrangler dev` (local
//! workerd), with its Durable Objects, against a fresh database of the shared test cluster.
//!
//! [`Target::Edge`] returns the same [`Host`] handle the scenarios use for the real host: the
//! base URL, the WebSocket URL, the JWT secret (written to `data/jwt-secret` like the host's)
//! and the log (wrangler's output). Dropping it stops wrangler with SIGTERM, which stops its
//! workerd processes; the watchdog does the same if the test process dies.
//!
//! Needs `cargo xtask build edge` (the bundle in target/edge/dist and wrangler in
//! edge-gateway/node_modules); the error says so when either is missing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{Host, HostOptions, START_TIMEOUT, Target, unique_temp_dir, workspace_root};

/// The deployable bundle `cargo xtask build edge` writes.
fn edge_bundle() -> PathBuf {
    let main = workspace_root().join("target/edge/dist/worker.mjs");
    assert!(main.is_file(), "the edge bundle {} is missing: run `cargo xtask build edge`", main.display());
    main
}

fn wrangler_bin() -> PathBuf {
    let bin = workspace_root().join("edge-gateway/node_modules/.bin/wrangler");
    assert!(bin.is_file(), "wrangler is missing ({}): run `cargo xtask build edge`", bin.display());
    bin
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `ocomms files` on a free port, with key `edge-e2e`/`secret`; the process and its URL.
async fn start_file_store(dir: &Path, secret: &str) -> (tokio::process::Child, String) {
    let port = free_port();
    let child = tokio::process::Command::new(super::wasm_host::host_binary())
        .arg("files")
        .arg("--dir")
        .arg(dir)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("OCOMMS_FILES_ACCESS_KEY", "edge-e2e")
        .env("OCOMMS_FILES_SECRET_KEY", secret)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start ocomms files");
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "ocomms files did not listen on {port}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, format!("http://127.0.0.1:{port}"))
}

/// `ocomms mailer` on the Worker's database, sending to `smtp_url`.
fn start_mailer(database_url: &str, smtp_url: &str) -> tokio::process::Child {
    tokio::process::Command::new(super::wasm_host::host_binary())
        .arg("mailer")
        .arg("--database-url")
        .arg(database_url)
        .arg("--smtp-url")
        .arg(smtp_url)
        .arg("--mail-from")
        .arg("OComms <chat@ocomms.test>")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start ocomms mailer")
}

/// The wrangler configuration of one test: the test's database, secret and settings.
fn wrangler_toml(main: &Path, database_url: &str, jwt_secret: &str, vars: &[(&str, String)]) -> String {
    let mut all: Vec<(&str, String)> = vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("JWT_SECRET", jwt_secret.to_owned()),
        ("PUBLIC_URL", "http://localhost".to_owned()),
    ];
    all.extend(vars.iter().cloned());
    ocomms_testsupport::wrangler::local_config("ocomms-e2e", main, &all)
}

impl Host {
    /// The edge Worker under `wrangler dev` on a free port, with a fresh migrated database.
    pub(super) async fn start_edge(opts: HostOptions) -> Host {
        // Application variables are the Worker's settings of the same names.
        let host_only: Vec<_> =
            opts.host_only().into_iter().filter(|o| !matches!(*o, "variables" | "smtp_url")).collect();
        assert!(host_only.is_empty(), "the edge takes no wasm-host options, got {host_only:?}");
        let main = edge_bundle();
        let wrangler = wrangler_bin();
        let db = ocomms_testsupport::fresh_db().await.expect("a fresh test database");
        let dir = unique_temp_dir();
        let config = dir.join("wrangler.toml");
        let mut host = Host::unlaunched(Target::Edge, dir, config, opts);

        std::fs::create_dir_all(&host.data_dir).expect("create the data directory");
        let secret: String = {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            format!("edge-e2e-{:032x}-{}", t.as_nanos(), std::process::id())
        };
        std::fs::write(host.data_dir.join("jwt-secret"), &secret).expect("write the jwt secret");
        let mut vars: Vec<(&str, String)> = host.opts.app_variables();
        if let Some(secs) = host.opts.away_after_secs {
            vars.push(("AWAY_AFTER_SECS", secs.to_string()));
        }
        // Files: the Worker signs for a real S3-compatible store, the host's own run alone
        // (production points these settings at R2).
        match host.opts.s3.clone() {
            Some(s3) => vars.extend(super::wasm_host::s3_variables(&s3)),
            None => {
                let (files, files_url) = start_file_store(&host.data_dir.join("files"), &secret).await;
                host.files = Some(files);
                vars.extend([
                    ("S3_ENDPOINT", files_url),
                    ("S3_REGION", "us-east-1".to_owned()),
                    ("S3_BUCKET", "ocomms-files".to_owned()),
                    ("S3_ACCESS_KEY", "edge-e2e".to_owned()),
                    ("S3_SECRET_KEY", secret.clone()),
                ]);
            }
        }
        std::fs::write(&host.config, wrangler_toml(&main, &db.url, &secret, &vars)).expect("write wrangler.toml");
        // Account mail: a Worker cannot speak SMTP, so a host's mailer sends what it queues.
        if let Some(smtp) = host.opts.smtp_url.clone() {
            host.mailer = Some(start_mailer(&db.url, &smtp));
        }

        // A free port can be taken by a parallel test between our probe and wrangler's bind:
        // that attempt exits at once saying so, and the next one gets other ports.
        let mut attempt = 0;
        'start: loop {
            attempt += 1;
            let port = free_port();
            let mut cmd = tokio::process::Command::new(&wrangler);
            cmd.arg("dev")
                .arg("--config")
                .arg(&host.config)
                .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
                // Links the Worker sends (mail, single sign-on) name where it is served.
                .args(["--var", &format!("PUBLIC_URL:http://127.0.0.1:{port}")])
                .args(["--inspector-port", &free_port().to_string()])
                .arg("--persist-to")
                .arg(host.dir.join("state"))
                .args(["--show-interactive-dev-session=false", "--log-level", "info"])
                // `/cdn-cgi/handler/scheduled` runs the Cron Trigger on demand (tests cannot wait a minute).
                .arg("--test-scheduled")
                // No network: no `Request.cf` download, no telemetry, no update check.
                .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
                .env("WRANGLER_SEND_METRICS", "false")
                .env("WRANGLER_LOG_PATH", host.dir.join("wrangler-logs"))
                .env("XDG_CONFIG_HOME", host.dir.join("config"))
                .env("CI", "1");
            let log_start = host.spawn(cmd);
            host.addr = SocketAddr::from(([127, 0, 0, 1], port));
            host.base = format!("http://127.0.0.1:{port}");

            let started = Instant::now();
            loop {
                let ready = host.http.get(host.url("/healthz")).timeout(Duration::from_secs(5)).send().await;
                if ready.is_ok_and(|r| r.status().is_success()) {
                    break 'start;
                }
                if let Some(status) = host.exited() {
                    let log = std::fs::read_to_string(&host.log).unwrap_or_default();
                    let this_run = log.get(log_start..).unwrap_or_default();
                    // workerd binds more ports than the two we choose: a race for one of those
                    // shows only as a runtime that "failed to start".
                    let port_race = this_run.contains("Address already in use")
                        || this_run.contains("The Workers runtime failed to start");
                    if attempt < 3 && port_race {
                        // Its watchdog would remove the directory the next attempt needs.
                        if let Some(w) = host.watchdog.take() {
                            w.cancel();
                        }
                        continue 'start;
                    }
                    panic!("wrangler dev exited ({status}) before serving; its output:\n{}", host.log_text());
                }
                assert!(
                    started.elapsed() < START_TIMEOUT,
                    "wrangler dev did not serve /healthz within {START_TIMEOUT:?}; its output:\n{}",
                    host.log_text()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        host
    }
}
