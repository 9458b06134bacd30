//! Start-up and shutdown: configuration in, a serving host out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use ocomms_rooms::RoomLimits;

use crate::db::{Database, PgSql};
use crate::hub::Hub;
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
}

impl HostConfig {
    pub fn defaults() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            manifest: PathBuf::from("spin.toml"),
            data_dir: PathBuf::from(".ocomms"),
            cache_dir: None,
            database_url: None,
            web_dir: None,
            request_timeout: Duration::from_secs(10),
            max_instance_memory_bytes: 64 << 20,
            max_instances: 1000,
            db_connections: 32,
            away_after: Duration::from_secs(5 * 60),
            meilisearch: None,
            mail: Default::default(),
        }
    }
}

/// The URL of what this host serves, for links when no public URL is configured: an
/// address bound on every interface is named as loopback.
fn served_url(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() { format!("http://localhost:{}", addr.port()) } else { format!("http://{addr}") }
}

/// Runs until `shutdown` resolves, then stops accepting, drains requests and sockets, and
/// stops the managed database.
pub async fn serve(cfg: HostConfig, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> Result<()> {
    let manifest = manifest::load(&cfg.manifest).with_context(|| format!("load {}", cfg.manifest.display()))?;
    std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("create {}", cfg.data_dir.display()))?;
    let db = Database::open(cfg.database_url.as_deref(), &cfg.data_dir, cfg.db_connections).await?;
    // Bound before the components load: without a configured public URL, links we send
    // (mail, single sign-on) name the address actually served, never a request's `Host`.
    let listener = tokio::net::TcpListener::bind(cfg.listen).await.with_context(|| format!("bind {}", cfg.listen))?;
    let addr = listener.local_addr()?;

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
    let hub = Arc::new(Hub::new(RoomLimits::default(), metrics.clone()));
    let runtime = Runtime::new(RuntimeConfig {
        max_instance_memory_bytes: cfg.max_instance_memory_bytes,
        max_instances: cfg.max_instances,
        request_timeout: cfg.request_timeout,
        cache_dir: Some(cfg.cache_dir.clone().unwrap_or_else(|| cfg.data_dir.join("cache"))),
        max_result_rows: 10_000,
    })?;
    let mut components = HashMap::new();
    // Components open the host's database by its URL and share the host's pool for it.
    let pools = Arc::new(PgPools::new(cfg.db_connections, crate::db::POOL_TIMEOUT).with_pool(&db.url, db.pool.clone()));
    let db_host = host_and_port(&db.url);
    let rooms_url = format!("http://{}", crate::rooms_link::ROOMS_AUTHORITY);
    let meili = cfg.meilisearch.as_ref();
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
    let state = Arc::new(AppState {
        hub,
        metrics,
        triggers: manifest.triggers.clone(),
        components,
        sql: PgSql { pool: db.pool.clone() },
        jwt_secret: jwt_secret.into_bytes(),
        rooms_secret,
        web_dir,
        shutdown: stop_rx.clone(),
        blobs: embedded.map(|(_, store)| store),
        password_work: Arc::new(tokio::sync::Semaphore::new(crate::server::password_permits())),
    });
    let deliveries = crate::deliveries::spawn(state.clone(), db.url.clone(), stop_rx.clone());
    let mailer = crate::mailer::spawn(state.sql.clone(), db.url.clone(), &cfg.mail, stop_rx.clone())?;
    // Tests and scripts read this line to find the port.
    println!("ocomms listening on http://{addr}");
    tracing::info!(%addr, "listening");
    let mut stop_rx2 = stop_rx.clone();
    let app = server::router(state);
    // The peer address feeds the component's `spin-client-addr` header.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stop_rx2.changed().await;
    });
    let server_task = tokio::spawn(async move { serve.await });
    shutdown.await;
    tracing::info!("shutting down: draining requests and closing sockets");
    let _ = stop_tx.send(true);
    match tokio::time::timeout(Duration::from_secs(15), server_task).await {
        Ok(r) => r??,
        Err(_) => tracing::warn!("requests still running after 15 s; stopping anyway"),
    }
    // A delivery cut off here is sent again when its lease runs out (at least once).
    deliveries.abort();
    mailer.abort();
    if let Some(task) = indexer {
        // The queue keeps whatever is not sent yet for the next start.
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
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
