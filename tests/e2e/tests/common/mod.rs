//! Shared end-to-end helpers: a [`Host`] handle on a running target (the real `wasm-host`
//! binary with its managed PostgreSQL unless told otherwise, or the edge Worker under
//! `wrangler dev`), an HTTP client for the API, and a WebSocket client that speaks both JSON
//! and MessagePack.
//!
//! Every [`Host`] is stopped with SIGTERM when it is dropped, including when the test panics
//! (the host then stops its managed PostgreSQL). A watchdog shell process also sends SIGTERM
//! if the test process dies without unwinding (an abort or a kill), so no target outlives the
//! test run. The target writes its output to `<tempdir>/host.log`, not to a pipe: a pipe
//! would break when the test process dies, and a host that cannot log cannot stop its
//! PostgreSQL cleanly. Set `OCOMMS_E2E_KEEP=1` to keep the temporary directories.
//!
//! - `host`: the handle, [`Target`], [`HostOptions`] and the one constructor;
//! - `wasm_host`: starting, killing and restarting the real host and its PostgreSQL;
//! - `edge`: starting the Worker under `wrangler dev`;
//! - `api`: raw HTTP and the API calls the scenarios share;
//! - `reply`, `ws`: HTTP replies and sessions, the WebSocket client;
//! - `relay`, `pgbouncer`, `haproxy`: a real `redis-server`, PgBouncer and HAProxy for the
//!   cluster suite.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod api;
mod daemon;
mod edge;
mod haproxy;
mod host;
pub mod meili;
mod moto;
mod oidc;
mod pgbouncer;
mod relay;
mod reply;
mod spin;
mod wasm_host;
mod ws;

pub use edge::free_port;
pub use haproxy::Haproxy;
pub use host::{ExternalS3, Host, HostOptions, Target};
pub use moto::Moto;
pub use oidc::{ANY_PORT_CALLBACK, ANY_PORT_ROOT, Browser, OidcProvider};
pub use pgbouncer::PgBouncer;
pub use relay::RelayServer;
pub use reply::{EventsPage, Reply, Session, assert_contiguous};
pub use spin::{db_host_of, spin_available};
pub use wasm_host::host_binary;
pub use ws::{Incoming, Ws, WsAuth};

/// How long a target may take to start (initdb, PostgreSQL, compiling the component, or
/// workerd) on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a graceful stop may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Generous bound for anything that should happen "at once" (a frame, a reply).
pub const WAIT: Duration = Duration::from_secs(10);
/// Log lines of a target printed when a test fails.
const LOG_LINES: usize = 400;

pub const PASSWORD: &str = "correct horse battery staple";

/// Runs each named scenario (`async fn name(host: &Host)`) against every target, as
/// `host::name`, `edge::name` and `spin::name`. `name with f` starts both with the [`HostOptions`] the
/// suite's `fn f() -> HostOptions` returns instead of the defaults.
macro_rules! both_targets {
    (@options) => { $crate::common::HostOptions::default() };
    (@options $opts:ident) => { super::$opts() };
    ($($name:ident $(with $opts:ident)?),+ $(,)?) => {
        mod host {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let options = $crate::common::both_targets!(@options $($opts)?);
                    let host = $crate::common::Target::Host.start_with(options).await;
                    super::$name(&host).await;
                }
            )+
        }
        mod edge {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let options = $crate::common::both_targets!(@options $($opts)?);
                    let host = $crate::common::Target::Edge.start_with(options).await;
                    super::$name(&host).await;
                }
            )+
        }
        mod spin {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    if !$crate::common::spin_available(concat!(module_path!(), "::", stringify!($name))) {
                        return;
                    }
                    let options = $crate::common::both_targets!(@options $($opts)?);
                    let host = $crate::common::Target::Spin.start_with(options).await;
                    super::$name(&host).await;
                }
            )+
        }
    };
}
pub(crate) use both_targets;

/// Runs each named scenario (`async fn name(host: &Host)`) as `pgbouncer::name` against a
/// host whose database URL is a real PgBouncer in transaction pooling mode
/// (`--database-pool-mode transaction`) on a fresh database: every transaction may run on
/// another server connection.
macro_rules! through_pgbouncer {
    ($($name:ident),+ $(,)?) => {
        mod pgbouncer {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let db = ocomms_testsupport::fresh_db().await.expect("a test database");
                    let bouncer = $crate::common::PgBouncer::start(db.port).await;
                    let options = $crate::common::HostOptions {
                        database_url: Some(bouncer.url(&db.name)),
                        host_args: vec!["--database-pool-mode".into(), "transaction".into()],
                        ..$crate::common::HostOptions::default()
                    };
                    let host = $crate::common::Target::Host.start_with(options).await;
                    super::$name(&host).await;
                    drop(host);
                    drop(bouncer);
                }
            )+
        }
    };
}
pub(crate) use through_pgbouncer;

// ---------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------

/// The Cargo workspace root (this crate lives in `<root>/tests/e2e`).
pub fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = dir.parent().and_then(Path::parent).expect("tests/e2e has a workspace root two levels up");
    root.canonicalize().unwrap_or_else(|_| root.to_path_buf())
}

/// A built component in `<root>/target/components/`, or a panic saying how to build it.
pub fn component(file: &str, build_hint: &str) -> PathBuf {
    let path = workspace_root().join("target").join("components").join(file);
    assert!(path.is_file(), "the component {} is missing: {build_hint}", path.display());
    path
}

pub fn api_component() -> PathBuf {
    component("ocomms_component.wasm", "run `cargo xtask build component`")
}

/// The repository's spin.toml with every relative `source = "..."` made absolute, so the
/// text can be written anywhere (and extended with test components).
pub fn repo_manifest_with_absolute_sources() -> String {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("spin.toml")).expect("read the repository's spin.toml");
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.lines() {
        let trimmed = line.trim_start();
        let value = trimmed
            .strip_prefix("source")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('='))
            .map(str::trim)
            .and_then(|v| v.strip_prefix('"'))
            .and_then(|v| v.strip_suffix('"'));
        match value {
            Some(rel) if !Path::new(rel).is_absolute() => {
                let abs = root.join(rel);
                out.push_str(&format!("source = {}\n", toml_string(&abs.to_string_lossy())));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

pub use ocomms_testsupport::wrangler::toml_string;

/// A new directory under the system's temporary directory, unique in this process and
/// across processes.
pub fn unique_temp_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "ocomms-e2e-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}
