//! The second target of the shared scenarios: the edge Worker under `wrangler dev` (local
//! workerd), with its Durable Objects, against a fresh database of the shared test cluster.
//!
//! [`Host::start_edge`] returns the same [`Host`] handle the scenarios use for the real host:
//! the base URL, the WebSocket URL, the JWT secret (written to `data/jwt-secret` like the
//! host's) and the log (wrangler's output). Dropping it stops wrangler with SIGTERM, which
//! stops its workerd processes; the watchdog does the same if the test process dies.
//!
//! Needs `cargo xtask build edge` (the bundle in target/edge/dist and wrangler in
//! edge-gateway/node_modules); the error says so when either is missing.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{Host, HostOptions, START_TIMEOUT, toml_string, unique_temp_dir, workspace_root};

/// Which server a scenario runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `wasm-host` with its managed PostgreSQL.
    Host,
    /// The Worker and its Durable Objects under `wrangler dev`.
    Edge,
}

impl Target {
    pub async fn start(self) -> Host {
        match self {
            Target::Host => Host::start().await,
            Target::Edge => Host::start_edge(&[]).await,
        }
    }

    /// Started with connected users going away after `secs` idle seconds (the host's
    /// `--away-after`, the Worker's `AWAY_AFTER_SECS`).
    pub async fn start_away_after(self, secs: u32) -> Host {
        let secs = secs.to_string();
        match self {
            Target::Host => {
                Host::start_with(HostOptions {
                    extra_args: vec!["--away-after".into(), secs],
                    ..HostOptions::default()
                })
                .await
            }
            Target::Edge => Host::start_edge(&[("AWAY_AFTER_SECS", &secs)]).await,
        }
    }
}

/// The deployable bundle `cargo xtask build edge` writes.
pub fn edge_bundle() -> PathBuf {
    let main = workspace_root().join("target/edge/dist/worker.mjs");
    assert!(main.is_file(), "the edge bundle {} is missing: run `cargo xtask build edge`", main.display());
    main
}

pub fn wrangler_bin() -> PathBuf {
    let bin = workspace_root().join("edge-gateway/node_modules/.bin/wrangler");
    assert!(bin.is_file(), "wrangler is missing ({}): run `cargo xtask build edge`", bin.display());
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The wrangler configuration of one test: the repository's bindings and migrations, the
/// bundle by absolute path, and the test's database and secret as plain variables.
fn wrangler_toml(main: &std::path::Path, database_url: &str, jwt_secret: &str, vars: &[(&str, &str)]) -> String {
    let vars: String = vars.iter().map(|(k, v)| format!("{k} = {}\n", toml_string(v))).collect();
    format!(
        r#"name = "ocomms-e2e"
main = {main}
compatibility_date = "2026-04-01"
no_bundle = true

[[rules]]
type = "CompiledWasm"
globs = ["**/*.wasm"]
fallthrough = false

[vars]
DATABASE_URL = {db}
JWT_SECRET = {secret}
PUBLIC_URL = "http://localhost"
{vars}
[[durable_objects.bindings]]
name = "ROOMS"
class_name = "ChannelRoom"

[[durable_objects.bindings]]
name = "USERS"
class_name = "UserSockets"

[[migrations]]
tag = "v1"
new_sqlite_classes = ["ChannelRoom", "UserSockets"]
"#,
        main = toml_string(&main.to_string_lossy()),
        db = toml_string(database_url),
        secret = toml_string(jwt_secret),
    )
}

impl Host {
    /// The edge Worker under `wrangler dev` on a free port, with a fresh migrated database
    /// and these settings added to its `[vars]`.
    pub async fn start_edge(vars: &[(&str, &str)]) -> Host {
        let main = edge_bundle();
        let wrangler = wrangler_bin();
        let db = ocomms_testsupport::fresh_db().await.expect("a fresh test database");
        let dir = unique_temp_dir();
        let data_dir = dir.join("data");
        std::fs::create_dir_all(&data_dir).expect("create the data directory");
        let secret: String = {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            format!("edge-e2e-{:032x}-{}", t.as_nanos(), std::process::id())
        };
        std::fs::write(data_dir.join("jwt-secret"), &secret).expect("write the jwt secret");
        let config = dir.join("wrangler.toml");
        std::fs::write(&config, wrangler_toml(&main, &db.url, &secret, vars)).expect("write wrangler.toml");
        let log = dir.join("host.log");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("build the HTTP client");
        let opts = HostOptions { database_url: Some(db.url.clone()), ..HostOptions::default() };
        let mut host = Host {
            base: String::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            dir,
            pid: 0,
            child: None,
            watchdog: None,
            log,
            http,
            opts,
            manifest: config.clone(),
        };

        let port = free_port();
        let out = std::fs::File::create(&host.log).expect("create the wrangler log");
        let err = out.try_clone().expect("clone the log file handle");
        let mut cmd = tokio::process::Command::new(&wrangler);
        cmd.arg("dev")
            .arg("--config")
            .arg(&config)
            .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
            .args(["--inspector-port", &free_port().to_string()])
            .arg("--persist-to")
            .arg(host.dir.join("state"))
            .args(["--show-interactive-dev-session=false", "--log-level", "info"])
            // No network: no `Request.cf` download, no telemetry, no update check.
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_LOG_PATH", host.dir.join("wrangler-logs"))
            .env("XDG_CONFIG_HOME", host.dir.join("config"))
            .env("NO_COLOR", "1")
            .env("CI", "1")
            .current_dir(&host.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", wrangler.display()));
        host.pid = child.id().expect("a just-spawned child has a pid");
        host.watchdog = super::host::spawn_watchdog(host.pid, &host.dir);
        host.child = Some(child);
        host.addr = SocketAddr::from(([127, 0, 0, 1], port));
        host.base = format!("http://127.0.0.1:{port}");

        let started = Instant::now();
        loop {
            let ready = host.http.get(host.url("/healthz")).timeout(Duration::from_secs(5)).send().await;
            if ready.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            if let Some(status) = host.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("wrangler dev exited ({status}) before serving; its output:\n{}", host.log_text());
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "wrangler dev did not serve /healthz within {START_TIMEOUT:?}; its output:\n{}",
                host.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        host
    }

    /// Whether this handle is the edge Worker (for the few documented differences).
    pub fn is_edge(&self) -> bool {
        self.manifest.file_name().is_some_and(|n| n == "wrangler.toml")
    }
}

/// Runs each named scenario (`async fn name(host: &Host)`) against both targets, as
/// `host::name` and `edge::name`.
#[allow(unused_macros, reason = "test binaries without shared scenarios do not use it")]
macro_rules! both_targets {
    ($($name:ident),+ $(,)?) => {
        mod host {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let host = $crate::common::edge::Target::Host.start().await;
                    super::$name(&host).await;
                }
            )+
        }
        mod edge {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let host = $crate::common::edge::Target::Edge.start().await;
                    super::$name(&host).await;
                }
            )+
        }
    };
}
#[allow(unused_imports, reason = "test binaries without shared scenarios do not use it")]
pub(crate) use both_targets;
