//! The PostgreSQL harness every integration test uses.
//!
//! One throwaway cluster per test process (initdb into a temporary directory, loopback
//! only, as the `postgres` user when we are root), started on first use. Each test gets its
//! own database, cloned from a template that has every migration applied, so tests are
//! isolated and fast. A watchdog process stops the cluster and deletes its directory when
//! the test process ends, however it ends (a panic, an abort, or a kill), since Rust does
//! not drop statics.

pub mod wrangler;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};
use ocomms_pglocal::{Auth, Cluster, Options};
use tokio::sync::OnceCell;

const TEMPLATE: &str = "ocomms_template";

struct Shared {
    url_base: String,
    port: u16,
    /// Closing this pipe (at process exit) tells the watchdog to clean up.
    _watchdog: Mutex<ExitHook>,
}

static SHARED: OnceCell<Shared> = OnceCell::const_new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A fresh database for one test. Dropping it leaves the database for the cluster's cleanup.
#[derive(Debug, Clone)]
pub struct TestDb {
    pub url: String,
    pub name: String,
    pub port: u16,
}

impl TestDb {
    pub async fn connect(&self) -> Result<tokio_postgres::Client> {
        connect(&self.url).await
    }
}

pub async fn connect(url: &str) -> Result<tokio_postgres::Client> {
    let (client, conn) =
        tokio_postgres::connect(url, tokio_postgres::NoTls).await.with_context(|| format!("connect {url}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// The URL of the shared test cluster's `postgres` database (to create databases by hand).
pub async fn cluster_url() -> Result<String> {
    Ok(format!("{}/postgres", shared().await?.url_base))
}

/// A new, fully migrated, empty database.
pub async fn fresh_db() -> Result<TestDb> {
    let shared = shared().await?;
    let name = format!("t{}_{}", std::process::id(), NEXT_DB.fetch_add(1, Ordering::Relaxed));
    let admin = connect(&format!("{}/postgres", shared.url_base)).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE}"))
        .await
        .context("create test database")?;
    Ok(TestDb { url: format!("{}/{name}", shared.url_base), name, port: shared.port })
}

/// An empty database without migrations (for testing the migration runner itself).
pub async fn empty_db() -> Result<TestDb> {
    let shared = shared().await?;
    let name = format!("e{}_{}", std::process::id(), NEXT_DB.fetch_add(1, Ordering::Relaxed));
    let admin = connect(&format!("{}/postgres", shared.url_base)).await?;
    admin.batch_execute(&format!("CREATE DATABASE {name}")).await.context("create test database")?;
    Ok(TestDb { url: format!("{}/{name}", shared.url_base), name, port: shared.port })
}

async fn shared() -> Result<&'static Shared> {
    SHARED.get_or_try_init(start).await
}

async fn start() -> Result<Shared> {
    let root = std::env::temp_dir().join(format!(
        "ocomms-pg-{}-{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&root).with_context(|| format!("create {}", root.display()))?;
    let data_dir: PathBuf = root.join("data");
    let cluster = Cluster::start_on_free_port(Options { data_dir, port: 0, auth: Auth::Trust, ephemeral: true }, 5)
        .await
        .context("start the test PostgreSQL cluster")?;
    let port = cluster.port();
    let watchdog =
        ExitHook::spawn(&format!("{} >/dev/null 2>&1; rm -rf '{}'", cluster.stop_command_line(), root.display()))?;
    let url_base = format!("postgresql://postgres@127.0.0.1:{port}");

    let admin = connect(&format!("{url_base}/postgres")).await?;
    admin.batch_execute(&format!("CREATE DATABASE {TEMPLATE}")).await?;
    let mut template = connect(&format!("{url_base}/{TEMPLATE}")).await?;
    ocomms_migrate::run(&mut template).await.context("migrate the template database")?;
    drop(template);
    // The server is owned by the watchdog from here on; forget our handle without stopping it.
    std::mem::forget(cluster);
    Ok(Shared { url_base, port, _watchdog: Mutex::new(watchdog) })
}

/// A shell script that runs when this process exits, however it exits (a panic, an abort,
/// a kill): `sh` waits for its stdin, a pipe from us, to close. Tests use it to stop the
/// servers they started, since Rust does not drop statics.
#[derive(Debug)]
pub struct ExitHook {
    child: Child,
    _stdin: ChildStdin,
}

impl ExitHook {
    pub fn spawn(script: &str) -> Result<Self> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("cat >/dev/null; {script}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("spawn the exit hook")?;
        let mut stdin = child.stdin.take().context("exit hook stdin")?;
        stdin.flush()?;
        Ok(Self { child, _stdin: stdin })
    }

    /// Drops the hook without running its script (the caller cleaned up itself).
    pub fn cancel(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
