//! `ocomms-bench serve-native`: the same API handler the component runs (`ocomms_api::Api`),
//! compiled natively and served by a small axum front over tokio-postgres, for the command
//! path comparison. It runs as its own process (the bench starts it), so its CPU and memory
//! are measured apart from the load generator's, like the host's.
//!
//! Ports: the host's `PgSql` adapter (deadpool + tokio-postgres, the pool size the host
//! uses), the host's clock/randomness, and a room publisher that hands events to an
//! in-process [`Hub`] with no listeners (the post scenario opens no sockets).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse as _, Response};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use ocomms_api::http::MAX_REQUEST_BYTES;
use ocomms_api::ports::{PublishError, RoomPublisher};
use ocomms_api::{Api, Config, Method};
use ocomms_core::event::{ChannelEvent, UserNotice};
use ocomms_core::ids::UserId;
use ocomms_rooms::RoomLimits;
use wasm_host::db::{POOL_TIMEOUT, PgSql};
use wasm_host::hub::Hub;
use wasm_host::metrics::Metrics;
use wasm_host::state::HostEnv;

/// The line the bench reads to find the port.
pub const LISTENING: &str = "native listening on http://";

const USAGE: &str =
    "usage: ocomms-bench serve-native --database-url URL --jwt-secret-file PATH [--listen ADDR] [--db-connections N]";

/// Same as the host's default pool size.
const DB_CONNECTIONS: usize = 32;

struct NativeArgs {
    listen: SocketAddr,
    database_url: String,
    jwt_secret_file: PathBuf,
    db_connections: usize,
}

fn parse(argv: &[String]) -> Result<NativeArgs> {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let (mut database_url, mut jwt_secret_file, mut db_connections) = (None, None, DB_CONNECTIONS);
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--listen" => listen = value.parse().context("--listen")?,
            "--database-url" => database_url = Some(value.clone()),
            "--jwt-secret-file" => jwt_secret_file = Some(PathBuf::from(value)),
            "--db-connections" => db_connections = value.parse().context("--db-connections")?,
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if !listen.ip().is_loopback() {
        bail!("--listen must be a loopback address");
    }
    Ok(NativeArgs {
        listen,
        database_url: database_url.context(USAGE)?,
        jwt_secret_file: jwt_secret_file.context(USAGE)?,
        db_connections,
    })
}

/// Events go to a hub in this process, as the host's in-process rooms link does.
struct HubRooms(Arc<Hub>);

impl RoomPublisher for HubRooms {
    async fn publish(&self, event: &ChannelEvent) -> Result<(), PublishError> {
        self.0.publish(event.clone());
        Ok(())
    }

    async fn notify_user(&self, user: UserId, notice: &UserNotice) -> Result<(), PublishError> {
        self.0.notify_user(user, notice.clone());
        Ok(())
    }
}

struct Native {
    sql: PgSql,
    hub: Arc<Hub>,
    config: Config,
}

async fn handle(State(st): State<Arc<Native>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_REQUEST_BYTES).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let mut r = ocomms_api::Request::new(
        Method::parse(parts.method.as_str()),
        parts.uri.path_and_query().map_or("/", |p| p.as_str()),
    );
    r.headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_string())))
        .collect();
    r.body = body.to_vec();
    // Built per request, as the component does.
    let api = Api::new(st.sql.clone(), HubRooms(st.hub.clone()), HostEnv, st.config.clone());
    let resp = api.handle(r).await;
    let mut b = Response::builder().status(resp.status);
    for (k, v) in &resp.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    b.body(Body::from(resp.body)).unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Runs the native server until SIGTERM or Ctrl-C.
pub async fn serve(argv: &[String]) -> Result<()> {
    let a = parse(argv)?;
    let secret = std::fs::read_to_string(&a.jwt_secret_file)
        .with_context(|| format!("read {}", a.jwt_secret_file.display()))?
        .trim()
        .to_string();
    if secret.len() < 32 {
        bail!("the JWT secret must be at least 32 bytes");
    }
    let config: tokio_postgres::Config = a.database_url.parse().context("parse the database URL")?;
    let mgr =
        Manager::from_config(config, tokio_postgres::NoTls, ManagerConfig { recycling_method: RecyclingMethod::Fast });
    let pool = Pool::builder(mgr)
        .max_size(a.db_connections)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(POOL_TIMEOUT))
        .create_timeout(Some(POOL_TIMEOUT))
        .recycle_timeout(Some(POOL_TIMEOUT))
        .build()
        .context("build the connection pool")?;
    drop(pool.get().await.context("connect to PostgreSQL")?);
    let state = Arc::new(Native {
        sql: PgSql { pool, unnamed: false },
        hub: Arc::new(Hub::new(RoomLimits::default(), Arc::new(Metrics::default()))),
        // As the host is started for benchmarks: limits that never bite, still consulted, and
        // accounts made at once (the benchmarks sign up thousands of users).
        config: Config::new(secret.into_bytes(), "http://127.0.0.1")
            .with_limits(
                ocomms_core::limits::Limits::parse(&ocomms_core::limits::Limits::unlimited_setting())
                    .context("the unlimited rate limits")?,
                None,
            )
            .with_accounts("off", "")
            .context("account settings")?,
    });
    let app = axum::Router::new().fallback(handle).with_state(state);
    let listener = tokio::net::TcpListener::bind(a.listen).await.with_context(|| format!("bind {}", a.listen))?;
    println!("{LISTENING}{}", listener.local_addr()?);
    let stop = async {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    };
    axum::serve(listener, app).with_graceful_shutdown(stop).await?;
    Ok(())
}
