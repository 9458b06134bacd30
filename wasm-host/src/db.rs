//! The database: a configured URL, or a PostgreSQL cluster managed in the data directory;
//! a connection pool over it; migrations at start; and the API's `Sql` port natively.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use deadpool_postgres::{Manager, ManagerConfig, Pool, QueueMode, RecyclingMethod};
use futures::{StreamExt as _, TryStreamExt as _};
use ocomms_api::ports::{DbError, PLAN_PER_CALL, Row, Sql, Value};
use ocomms_pg_values::{Param, db_error};
use ocomms_pglocal::{Auth, Cluster, Options};
use tokio_postgres::types::{ToSql, Type};

/// Longest wait for a pooled connection, for a new connection, or for a recycle check.
pub const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// How the database URL reaches PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PoolMode {
    /// Directly, or through a pooler that keeps a server connection per client.
    #[default]
    Session,
    /// Through a transaction-pooling proxy (PgBouncer's `pool_mode = transaction`): each
    /// transaction may run on another server connection, so no statement is prepared by
    /// name (PgBouncer before 1.21 cannot carry them), and LISTEN needs a direct URL.
    Transaction,
}

impl std::str::FromStr for PoolMode {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "session" => Ok(Self::Session),
            "transaction" => Ok(Self::Transaction),
            other => anyhow::bail!("{other:?} is not a pool mode: session or transaction"),
        }
    }
}

/// Where the database comes from, and the cluster to stop at shutdown if we started it.
pub struct Database {
    pub pool: Pool,
    /// Where the pool connects (with its password): what components get as `db_url`.
    pub url: String,
    pub managed: Option<Cluster>,
    pub mode: PoolMode,
}

impl Database {
    /// Connects to `url`, or starts the managed cluster in `data_dir/pg` when `url` is None.
    /// Applies migrations either way.
    pub async fn open(url: Option<&str>, data_dir: &Path, max_connections: usize, mode: PoolMode) -> Result<Self> {
        let (url, managed) = match url {
            Some(u) => (u.to_string(), None),
            None => {
                let cluster = start_managed(data_dir).await?;
                let url = cluster.url("ocomms");
                (url, Some(cluster))
            }
        };
        let config: tokio_postgres::Config = url.parse().context("parse the database URL")?;
        // The component connects to this URL itself (spin:postgres), as it would on Spin,
        // where TLS is negotiated unless the URL says otherwise; here, as before, there is none.
        let url = with_sslmode_disable(&url);
        let mgr = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        // Bounded waits: with PostgreSQL down or stalled, a request fails in seconds (503)
        // instead of holding its slot until the request deadline, and readiness probes answer.
        let pool = Pool::builder(mgr)
            .max_size(max_connections)
            // Warm connections first, as in the components' pools (`runtime::pg_pools`).
            .queue_mode(QueueMode::Lifo)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .context("build the connection pool")?;
        let mut client = pool.get().await.context("connect to PostgreSQL")?;
        let applied = ocomms_migrate::run(&mut client).await.context("apply migrations")?;
        tracing::info!(?applied, managed = managed.is_some(), "database ready");
        Ok(Self { pool, url, managed, mode })
    }

    /// The API's `Sql` port over this database.
    pub fn sql(&self) -> PgSql {
        PgSql { pool: self.pool.clone(), unnamed: self.mode == PoolMode::Transaction }
    }

    /// Where LISTEN can reach PostgreSQL: `direct`, or the database URL unless it goes
    /// through a transaction pooler (which would hand the listening session to others).
    pub fn listen_url(&self, direct: Option<&str>) -> Option<String> {
        match (direct, self.mode) {
            (Some(d), _) => Some(d.to_owned()),
            (None, PoolMode::Session) => Some(self.url.clone()),
            (None, PoolMode::Transaction) => None,
        }
    }

    pub async fn close(self) {
        self.pool.close();
        if let Some(cluster) = self.managed
            && let Err(e) = cluster.stop().await
        {
            tracing::error!(error = %e, "stopping the managed PostgreSQL failed");
        }
    }
}

/// The database an operator command (`migrate`, `admin`, `backup`) works on, without
/// migrating it. The managed cluster of a running service is reached where it listens;
/// one that is stopped is started for the command and stopped by [`CommandDb::close`].
/// Starting it unconditionally would stop the service's own server, which holds the data
/// directory.
pub struct CommandDb {
    pub url: String,
    managed: Option<Cluster>,
}

impl CommandDb {
    pub async fn open(url: Option<&str>, data_dir: &Path) -> Result<Self> {
        if let Some(url) = url {
            return Ok(Self { url: url.to_owned(), managed: None });
        }
        let url = managed_url(data_dir)?;
        match tokio::time::timeout(Duration::from_secs(10), tokio_postgres::connect(&url, tokio_postgres::NoTls)).await
        {
            Ok(Ok(_)) => Ok(Self { url, managed: None }),
            // Nothing listens on the cluster's port: the install is stopped. Any other failure
            // (a wrong password, a server that hangs) must not lead to starting a second
            // server on its files, which would first stop the running one.
            Ok(Err(e)) if is_refused(&e) => {
                eprintln!("the managed PostgreSQL is not running: starting it for this command");
                let cluster = start_managed(data_dir).await?;
                Ok(Self { url: cluster.url("ocomms"), managed: Some(cluster) })
            }
            Ok(Err(e)) => Err(e).context("connect to the managed PostgreSQL"),
            Err(_) => anyhow::bail!("the managed PostgreSQL did not answer within 10 s"),
        }
    }

    /// A client, refusing a schema that is not exactly this build's: a command must neither
    /// migrate behind the operator's back nor write into tables it does not know.
    pub async fn client_at_current_schema(&self) -> Result<tokio_postgres::Client> {
        let client = self.client().await?;
        let plan = ocomms_migrate::plan(&client).await?;
        if let Some(next) = plan.pending.first() {
            anyhow::bail!(
                "the database lacks migration {} ({}) and {} more: start the upgraded service, or run `ocomms migrate`, first",
                next.version,
                next.name,
                plan.pending.len() - 1
            );
        }
        Ok(client)
    }

    pub async fn client(&self) -> Result<tokio_postgres::Client> {
        let (client, conn) =
            tokio_postgres::connect(&self.url, tokio_postgres::NoTls).await.context("connect to PostgreSQL")?;
        tokio::spawn(conn);
        Ok(client)
    }

    /// A small pool and the API's `Sql` port over it.
    pub fn sql(&self) -> Result<PgSql> {
        let config: tokio_postgres::Config = self.url.parse().context("parse the database URL")?;
        let mgr = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(mgr)
            .max_size(2)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .build()
            .context("build the connection pool")?;
        Ok(PgSql { pool, unnamed: false })
    }

    /// Stops the managed cluster if this command started it.
    pub async fn close(self) -> Result<()> {
        if let Some(cluster) = self.managed {
            cluster.stop().await.context("stop the managed PostgreSQL")?;
            eprintln!("stopped the managed PostgreSQL again");
        }
        Ok(())
    }
}

/// The URL of the managed cluster a data directory names, from its password and port files.
fn managed_url(data_dir: &Path) -> Result<String> {
    if !data_dir.join("pg").join("PG_VERSION").exists() {
        anyhow::bail!(
            "{} holds no managed PostgreSQL (no pg/ cluster): name the install's data directory with --data-dir, \
             or its database with --database-url",
            data_dir.display()
        );
    }
    let read = |name: &str| {
        std::fs::read_to_string(data_dir.join(name))
            .map(|s| s.trim().to_owned())
            .with_context(|| format!("read {}", data_dir.join(name).display()))
    };
    let password = read("pg-password")?;
    let port: u16 = read("pg-port")?.parse().context("pg-port holds no port number")?;
    Ok(format!("postgresql://postgres:{password}@127.0.0.1:{port}/ocomms"))
}

fn is_refused(e: &tokio_postgres::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::ConnectionRefused;
        }
        source = s.source();
    }
    false
}

/// `url` with `sslmode=disable` unless it sets an sslmode: the host connects without TLS.
fn with_sslmode_disable(url: &str) -> String {
    if url.contains("sslmode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}

/// Ports tried when the one picked is taken before PostgreSQL binds it.
const PORT_ATTEMPTS: u32 = 5;

/// The managed cluster keeps a generated password and its port in the data directory, so
/// restarts find the same server (on another port if someone took that one meanwhile).
pub(crate) async fn start_managed(data_dir: &Path) -> Result<Cluster> {
    let pg_dir = data_dir.join("pg");
    std::fs::create_dir_all(data_dir).with_context(|| format!("create {}", data_dir.display()))?;
    let password = crate::secrets::load_or_create(&data_dir.join("pg-password"))?;
    let port_file = data_dir.join("pg-port");
    let stored: Option<u16> = std::fs::read_to_string(&port_file).ok().and_then(|s| s.trim().parse().ok());
    let opts =
        Options { data_dir: pg_dir, port: stored.unwrap_or(0), auth: Auth::Password(password), ephemeral: false };
    tracing::info!(dir = %opts.data_dir.display(), port = stored, "starting the managed PostgreSQL");
    let started = match stored {
        Some(_) => match Cluster::start(opts.clone()).await {
            // Someone else listens on our port now: move to another one.
            Err(e) if e.is_port_taken() => Cluster::start_on_free_port(opts, PORT_ATTEMPTS).await,
            other => other,
        },
        None => Cluster::start_on_free_port(opts, PORT_ATTEMPTS).await,
    };
    let cluster = started.context("start the managed PostgreSQL")?;
    if stored != Some(cluster.port()) {
        std::fs::write(&port_file, cluster.port().to_string())
            .with_context(|| format!("write {}", port_file.display()))?;
    }
    let (client, conn) = tokio_postgres::connect(&cluster.url("postgres"), tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    let exists = client.query_opt("SELECT 1 FROM pg_database WHERE datname = 'ocomms'", &[]).await?.is_some();
    if !exists {
        client.batch_execute("CREATE DATABASE ocomms").await.context("create database ocomms")?;
    }
    Ok(cluster)
}

/// The API's `Sql` port over the pool: used by the host for socket authentication and by
/// native builds of the API (benchmarks).
#[derive(Clone)]
pub struct PgSql {
    pub pool: Pool,
    /// Statements go unnamed with their types ([`PoolMode::Transaction`]).
    pub unnamed: bool,
}

impl PgSql {
    /// Whether PostgreSQL answers a trivial query (the readiness probe).
    pub async fn ping(&self) -> bool {
        match self.pool.get().await {
            Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }
}

/// The statement from the connection's cache, or prepared for this call alone when its plan
/// depends on the values ([`PLAN_PER_CALL`]).
async fn prepare(client: &deadpool_postgres::Object, sql: &str) -> Result<tokio_postgres::Statement, DbError> {
    if sql.starts_with(PLAN_PER_CALL) { client.prepare(sql).await } else { client.prepare_cached(sql).await }
        .map_err(db_error)
}

/// The type a value names by itself, for an unnamed statement: the SQL's casts do the rest
/// (the API casts every parameter), and a null leaves it to the server.
fn natural_type(value: &Value) -> Type {
    match value {
        Value::Null => crate::runtime::unspecified_type(),
        Value::Bool(_) => Type::BOOL,
        Value::Int(_) => Type::INT8,
        Value::Float(_) => Type::FLOAT8,
        Value::Text(_) => Type::TEXT,
        Value::Uuid(_) => Type::UUID,
        Value::Json(_) => Type::JSONB,
    }
}

/// One statement, unnamed and typed by its values, in one round trip.
async fn query_unnamed(
    client: &deadpool_postgres::Object,
    sql: &str,
    params: &[Value],
) -> Result<tokio_postgres::RowStream, DbError> {
    let bound = Param::all(params);
    let typed = bound.iter().zip(params).map(|(p, v)| (p as &(dyn ToSql + Sync), natural_type(v)));
    client.query_typed_raw(sql, typed).await.map_err(db_error)
}

impl Sql for PgSql {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let client = self.pool.get().await.map_err(|e| DbError::unavailable(e.to_string()))?;
        if self.unnamed {
            let rows: Vec<tokio_postgres::Row> =
                query_unnamed(&client, sql, params).await?.try_collect().await.map_err(db_error)?;
            return ocomms_pg_values::rows(&rows);
        }
        let stmt = prepare(&client, sql).await?;
        let bound = Param::all(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        ocomms_pg_values::rows(&client.query(&stmt, &refs).await.map_err(db_error)?)
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let client = self.pool.get().await.map_err(|e| DbError::unavailable(e.to_string()))?;
        if self.unnamed {
            let stream = query_unnamed(&client, sql, params).await?;
            let mut stream = std::pin::pin!(stream);
            while let Some(row) = stream.next().await {
                row.map_err(db_error)?;
            }
            return Ok(stream.rows_affected().unwrap_or(0));
        }
        let stmt = prepare(&client, sql).await?;
        let bound = Param::all(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        client.execute(&stmt, &refs).await.map_err(db_error)
    }
}
