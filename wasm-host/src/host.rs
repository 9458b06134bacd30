//! Start-up and shutdown: configuration in, a serving host out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use ocomms_api::security::SecurityHeaders;
use ocomms_rooms::RoomLimits;

use crate::addresses::{AddressSlots, ClientAddress};
use crate::db::{Database, PoolMode};
use crate::hub::Hub;
use crate::listener::{self, ConnLimits};
use crate::manifest;
use crate::metrics::Metrics;
use crate::rooms_link::InProcessRooms;
use crate::runtime::Interceptors;
use crate::runtime::{ComponentContext, PgPools, Runtime, RuntimeConfig, host_and_port};
use crate::server;
use crate::state::{AppState, HostEnv};

#[derive(Debug, Clone)]
pub struct HostConfig {
    pub listen: SocketAddr,
    pub manifest: PathBuf,
    /// Secrets, compiled-component cache and the managed PostgreSQL live here.
    pub data_dir: PathBuf,
    /// Compiled components, if not `<data_dir>/cache`. Entries are keyed by the component's
    /// hash and the engine's settings and written atomically, so hosts may share it.
    pub cache_dir: Option<PathBuf>,
    /// Use this database instead of the managed one.
    pub database_url: Option<String>,
    /// How `database_url` reaches PostgreSQL (directly, or through a transaction pooler).
    pub pool_mode: PoolMode,
    /// PostgreSQL itself, when `database_url` is a transaction pooler: for LISTEN.
    pub database_direct_url: Option<String>,
    pub web_dir: Option<PathBuf>,
    pub request_timeout: Duration,
    pub max_instance_memory_bytes: usize,
    pub max_instances: u32,
    pub db_connections: usize,
    /// Idle time after which a connected user shows as away.
    pub away_after: Duration,
    /// Index messages into this Meilisearch (the queue in PostgreSQL feeds it).
    pub meilisearch: Option<crate::search_index::MeiliConfig>,
    /// How account mail is sent ([`crate::mailer`]).
    pub mail: crate::mailer::MailConfig,
    /// Time to send a request head, from connecting or from the previous response (so
    /// also how long a keep-alive connection may sit idle).
    pub header_timeout: Duration,
    /// TCP connections at once per client address (`usize::MAX`: no cap).
    pub max_connections_per_address: usize,
    /// WebSockets at once per client address (`usize::MAX`: no cap).
    pub max_sockets_per_address: usize,
    /// WebSockets at once per user (`usize::MAX`: no cap).
    pub max_sockets_per_user: usize,
    /// When set, `/metrics` wants `Authorization: Bearer <token>`.
    pub metrics_token: Option<String>,
    /// When set, `/metrics` is served here and not on `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// In a cluster: the relay between hosts ([`crate::relay`]).
    pub relay: Option<crate::relay::RelayConfig>,
}

impl HostConfig {
    pub fn defaults() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            manifest: PathBuf::from("spin.toml"),
            data_dir: PathBuf::from(".ocomms"),
            cache_dir: None,
            database_url: None,
            pool_mode: PoolMode::Session,
            database_direct_url: None,
            web_dir: None,
            request_timeout: Duration::from_secs(10),
            max_instance_memory_bytes: 64 << 20,
            max_instances: 1000,
            db_connections: 32,
            away_after: Duration::from_secs(5 * 60),
            meilisearch: None,
            mail: Default::default(),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            max_sockets_per_address: DEFAULT_MAX_SOCKETS_PER_ADDRESS,
            max_sockets_per_user: ocomms_rooms::user::MAX_SOCKETS_PER_USER,
            metrics_token: None,
            metrics_listen: None,
            relay: None,
        }
    }
}

/// The URL of what this host serves, for links when no public URL is configured: an
/// address bound on every interface is named as loopback.
fn served_url(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("http://localhost:{}", addr.port()) } else { format!("http://{addr}") }
}
/// Long enough for a slow phone to send its request head, short enough that sockets left
/// half-open or idle do not pile up. Browsers retry a request whose idle connection closed.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// An office of a few hundred people behind one NAT holds a few hundred sockets (a tab or
/// two each) and a few idle keep-alive connections each; one client opening thousands is
/// not a person.
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: usize = 1024;
/// Below the connection cap, since each WebSocket is a connection too: 200 people with
/// two tabs and a phone each still fit.
pub const DEFAULT_MAX_SOCKETS_PER_ADDRESS: usize = 600;

/// Runs until `shutdown` resolves, then stops accepting, drains requests and sockets, and
/// stops the managed database.
pub async fn serve(cfg: HostConfig, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<()> {
    let manifest = manifest::load(&cfg.manifest).with_context(|| format!("load {}", cfg.manifest.display()))?;
    verify_bundle(&manifest)?;
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("create {}", cfg.data_dir.display()))?;
    let db = Database::open(cfg.database_url.as_deref(), &cfg.data_dir, cfg.db_connections, cfg.pool_mode).await?;
    // Bound before the components load: without a configured public URL, links we send
    // (mail, single sign-on) name the address actually served, never a request's `Host`.
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("bind {}", cfg.listen))?;
    let addr = listener.local_addr()?;

    if cfg.relay.is_some()
        && (manifest::env_variable("jwt_secret").is_none() || manifest::env_variable("rooms_secret").is_none())
    {
        tracing::warn!(
            "a cluster host with its own generated secrets: every host needs the same SPIN_VARIABLE_JWT_SECRET and SPIN_VARIABLE_ROOMS_SECRET, or tokens from one are refused by the others"
        );
    }
    let jwt_secret = match manifest::env_variable("jwt_secret") {
        Some(s) => s,
        None => crate::secrets::load_or_create(&cfg.data_dir.join("jwt-secret"))?,
    };
    let rooms_secret = match manifest::env_variable("rooms_secret") {
        Some(s) => s,
        None => crate::secrets::load_or_create(&cfg.data_dir.join("rooms-secret"))?,
    };
    // Files go to the S3 service the variables name, or else to the embedded store.
    let embedded = match manifest::env_variable("s3_endpoint").filter(|e| !e.is_empty()) {
        Some(_) => None,
        None => {
            let access = crate::blobstore::StoreAccess {
                access_key: "ocomms-host".into(),
                secret_key: crate::secrets::load_or_create(&cfg.data_dir.join("files-secret"))?,
            };
            let store = crate::blobstore::service(&cfg.data_dir.join("files"), &access)?;
            Some((access, store))
        }
    };
    let metrics = Arc::new(Metrics::default());
    let hub = Hub::new(RoomLimits::default(), metrics.clone()).with_max_sockets_per_user(cfg.max_sockets_per_user);
    let (hub, relay_in) = match &cfg.relay {
        Some(relay) => {
            let (out, input) = crate::relay::channel();
            let ttl = i64::try_from(relay.presence_ttl.as_millis()).unwrap_or(i64::MAX);
            (hub.with_relay(out, ttl), Some(input))
        }
        None => (hub, None),
    };
    let hub = Arc::new(hub);
    let runtime = Runtime::new(RuntimeConfig {
        max_instance_memory_bytes: cfg.max_instance_memory_bytes,
        max_instances: cfg.max_instances,
        request_timeout: cfg.request_timeout,
        cache_dir: Some(cfg.cache_dir.clone().unwrap_or_else(|| cfg.data_dir.join("cache"))),
        max_result_rows: 10_000,
    })?;
    let mut components = HashMap::new();
    // Components open the host's database by its URL and share the host's pool for it.
    let pools = Arc::new(
        PgPools::new(cfg.db_connections, crate::db::POOL_TIMEOUT)
            .with_pool(&db.url, db.pool.clone())
            .with_unnamed_statements(db.mode == PoolMode::Transaction),
    );
    let db_host = host_and_port(&db.url);
    let rooms_url = format!("http://{}", crate::rooms_link::ROOMS_AUTHORITY);
    let meili = cfg.meilisearch.as_ref();
    // Settings the host shares with the API component: the trusted proxy's address header,
    // the public URL, where browsers reach the file store.
    let mut shared: HashMap<&str, String> = HashMap::new();
    for id in manifest.components.keys() {
        let source = manifest.component_source(id).with_context(|| format!("component {id} has no source"))?;
        // The addresses are the host's own whatever the environment says: its rooms (in
        // process), its database. On Spin, the same variables point elsewhere.
        let provided = |name: &str| match name {
            "jwt_secret" => Some(jwt_secret.clone()),
            "rooms_secret" => Some(rooms_secret.clone()),
            "rooms_url" => Some(rooms_url.clone()),
            "db_url" => Some(db.url.clone()),
            "db_host" => db_host.clone(),
            // Searches go to the Meilisearch this host indexes into, if any.
            "search_backend" => Some(if meili.is_some() { "meilisearch" } else { "postgres" }.to_owned()),
            "meilisearch_url" => meili.map(|m| m.url.clone()).or_else(|| manifest::env_variable(name)),
            "meilisearch_key" => meili.and_then(|m| m.key.clone()).or_else(|| manifest::env_variable(name)),
            s3 if s3.starts_with("s3_") && embedded.is_some() => {
                embedded.as_ref().and_then(|(access, _)| access.variable(s3))
            }
            "public_url" => manifest::env_variable(name).or_else(|| Some(served_url(addr))),
            other => manifest::env_variable(other),
        };
        let variables = manifest.resolve_variables(id, &provided)?;
        for name in ["client_address_header", "public_url", "s3_endpoint", "s3_public_endpoint"] {
            if let Some(v) = variables.get(name).filter(|v| !v.is_empty()) {
                shared.entry(name).or_insert_with(|| v.clone());
            }
        }
        let app_allow =
            ocomms_core::outbound::AllowList::parse(variables.get("outbound_allow").map_or("", String::as_str))?;
        let ctx = ComponentContext {
            app_allow,
            variables,
            allowed_outbound_hosts: manifest.resolve_allowed_hosts(id, &provided)?,
            pg: Some(Arc::clone(&pools)),
            interceptor: Some(Arc::new(Interceptors(
                std::iter::once(Arc::new(InProcessRooms { hub: hub.clone(), secret: rooms_secret.clone() })
                    as Arc<dyn crate::runtime::OutboundInterceptor>)
                .chain(embedded.as_ref().map(|(_, store)| {
                    Arc::new(crate::blobstore::InProcessStore { store: store.clone() })
                        as Arc<dyn crate::runtime::OutboundInterceptor>
                }))
                .collect(),
            ))),
        };
        let rt = runtime.clone();
        let id2 = id.clone();
        let loaded = tokio::task::spawn_blocking(move || rt.load_component(&id2, &source, ctx))
            .await?
            .with_context(|| format!("load component {id}"))?;
        tracing::info!(component = %id, "component ready");
        components.insert(id.clone(), loaded);
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    spawn_idle_sweeper(hub.clone(), cfg.away_after, stop_rx.clone());
    let relay = match (&cfg.relay, relay_in) {
        (Some(relay), Some(input)) => Some(crate::relay::spawn(relay.clone(), hub.clone(), input, stop_rx.clone())?),
        _ => None,
    };
    let indexer = match &cfg.meilisearch {
        Some(meili) => {
            let indexer = crate::search_index::Indexer::new(db.pool.clone(), meili)?;
            tracing::info!(url = %meili.url, "indexing messages into Meilisearch");
            Some(tokio::spawn(indexer.run(stop_rx.clone())))
        }
        None => {
            crate::search_index::disable(&db.pool).await?;
            None
        }
    };
    let web_dir = cfg.web_dir.clone().or_else(crate::web::fallback_dir);
    let client_address = ClientAddress::new(shared.get("client_address_header").map(String::as_str));
    let embedded_store = embedded.is_some();
    let state = Arc::new(AppState {
        hub,
        metrics,
        triggers: manifest.triggers.clone(),
        components,
        sql: db.sql(),
        jwt_secret: jwt_secret.into_bytes(),
        rooms_secret,
        web_dir,
        shutdown: stop_rx.clone(),
        blobs: embedded.map(|(_, store)| store),
        password_work: Arc::new(tokio::sync::Semaphore::new(crate::server::password_permits())),
        client_address: client_address.clone(),
        ws_slots: AddressSlots::new(cfg.max_sockets_per_address),
        security: SecurityHeaders::with_file_origin(file_origin(&shared, embedded_store).as_deref()),
        public_tls: ocomms_api::security::over_tls(shared.get("public_url").map(String::as_str), None),
        relay: relay.as_ref().map(|(status, _)| status.clone()),
        metrics_access: crate::metrics::MetricsAccess {
            token: cfg.metrics_token.clone().filter(|t| !t.is_empty()),
            separate_listener: cfg.metrics_listen.is_some(),
        },
    });
    let listen_url = db.listen_url(cfg.database_direct_url.as_deref());
    if listen_url.is_none() {
        tracing::info!(
            "no direct database URL behind the transaction pooler: mail, app deliveries and search polled every 2 s"
        );
    }
    let deliveries = crate::deliveries::spawn(state.clone(), listen_url.clone(), stop_rx.clone());
    let mailer =
        crate::mailer::spawn(state.sql.clone(), listen_url, &cfg.mail, state.metrics.clone(), stop_rx.clone())?;
    // Tests and scripts read this line to find the port.
    println!("ocomms listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let limits = ConnLimits {
        header_timeout: cfg.header_timeout,
        // Behind a proxy every peer is the proxy: the caps count its clients' sockets only.
        per_address: if client_address.behind_proxy() { usize::MAX } else { cfg.max_connections_per_address },
    };
    let metrics_task = match cfg.metrics_listen {
        Some(at) => {
            let l = tokio::net::TcpListener::bind(at).await.with_context(|| format!("bind {at}"))?;
            tracing::info!(addr = %l.local_addr()?, "metrics listening");
            let app = server::metrics_router(state.clone());
            Some(tokio::spawn(listener::serve(l, app, limits.clone(), state.metrics.clone(), stop_rx.clone())))
        }
        None => None,
    };
    let metrics = state.metrics.clone();
    let server_task = tokio::spawn(listener::serve(listener, server::router(state), limits, metrics, stop_rx.clone()));
    shutdown.await;
    tracing::info!("shutting down: draining requests and closing sockets");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(15), server_task).await {
        Ok(r) => r?,
        Err(_) => tracing::warn!("requests still running after 15 s; stopping anyway"),
    }
    if let Some(task) = metrics_task {
        task.abort();
    }
    // A delivery cut off here is sent again when its lease runs out (at least once).
    deliveries.abort();
    mailer.abort();
    if let Some((_, task)) = relay {
        let _ = tokio::time::timeout(Duration::from_secs(3), task).await;
    }
    if let Some(task) = indexer {
        // The queue keeps whatever is not sent yet for the next start.
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// A release bundle's `SHA256SUMS` beside the manifest covers the components about to run
/// and this executable ([`crate::bundle`]): a mismatch stops the start, before anything runs.
fn verify_bundle(manifest: &manifest::Manifest) -> Result<()> {
    let mut files: Vec<PathBuf> = manifest.components.keys().filter_map(|id| manifest.component_source(id)).collect();
    files.extend(std::env::current_exe().ok());
    let checked = crate::bundle::verify(&manifest.dir, &files)?;
    if !checked.is_empty() {
        tracing::info!(files = checked.len(), "bundle checksums verified");
    }
    Ok(())
}

/// Where browsers fetch and upload files, when not from us: an S3 service's public
/// endpoint, or its endpoint when browsers use that one. `None` for our own origin (the
/// embedded store, or `origin`).
fn file_origin(shared: &HashMap<&str, String>, embedded_store: bool) -> Option<String> {
    if embedded_store {
        return None;
    }
    match shared.get("s3_public_endpoint").map(|s| s.trim()) {
        Some("origin") => None,
        Some(url) if !url.is_empty() => Some(url.to_owned()),
        _ => shared.get("s3_endpoint").cloned(),
    }
}

/// Marks idle users away, checking a few times per away period.
fn spawn_idle_sweeper(hub: Arc<Hub>, away_after: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = (away_after / 4).clamp(Duration::from_millis(100), Duration::from_secs(15));
    let away_ms = i64::try_from(away_after.as_millis()).unwrap_or(i64::MAX);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let now = HostEnv::now_ms();
                    hub.sweep_idle(now, away_ms);
                }
                _ = stop.changed() => break,
            }
        }
    });
}
