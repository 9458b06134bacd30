//! The database: a configured URL, or a PostgreSQL cluster managed in the data directory;
//! a connection pool over it; migrations at start; and the API's `Sql` port natively.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};
use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use ocomms_api::ports::{DbError, Row, Sql, Value};
use ocomms_pglocal::{Auth, Cluster, Options};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

/// Longest wait for a pooled connection, for a new connection, or for a recycle check.
pub const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the database comes from, and the cluster to stop at shutdown if we started it.
pub struct Database {
    pub pool: Pool,
    pub managed: Option<Cluster>,
}

impl Database {
    /// Connects to `url`, or starts the managed cluster in `data_dir/pg` when `url` is None.
    /// Applies migrations either way.
    pub async fn open(url: Option<&str>, data_dir: &Path, max_connections: usize) -> Result<Self> {
        let (url, managed) = match url {
            Some(u) => (u.to_string(), None),
            None => {
                let cluster = start_managed(data_dir).await?;
                let url = cluster.url("ocomms");
                (url, Some(cluster))
            }
        };
        let config: tokio_postgres::Config = url.parse().context("parse the database URL")?;
        let mgr = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        // Bounded waits: with PostgreSQL down or stalled, a request fails in seconds (503)
        // instead of holding its slot until the request deadline, and readiness probes answer.
        let pool = Pool::builder(mgr)
            .max_size(max_connections)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .context("build the connection pool")?;
        let mut client = pool.get().await.context("connect to PostgreSQL")?;
        let applied = ocomms_migrate::run(&mut client).await.context("apply migrations")?;
        tracing::info!(?applied, managed = managed.is_some(), "database ready");
        Ok(Self { pool, managed })
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

/// The managed cluster keeps a generated password and a fixed port in the data directory,
/// so restarts find the same server.
async fn start_managed(data_dir: &Path) -> Result<Cluster> {
    let pg_dir = data_dir.join("pg");
    std::fs::create_dir_all(data_dir).with_context(|| format!("create {}", data_dir.display()))?;
    let password = crate::secrets::load_or_create(&data_dir.join("pg-password"))?;
    let port_file = data_dir.join("pg-port");
    let port = match std::fs::read_to_string(&port_file).ok().and_then(|s| s.trim().parse().ok()) {
        Some(p) => p,
        None => {
            let p = ocomms_pglocal::free_port()?;
            std::fs::write(&port_file, p.to_string())?;
            p
        }
    };
    tracing::info!(dir = %pg_dir.display(), port, "starting the managed PostgreSQL");
    let cluster = Cluster::start(Options { data_dir: pg_dir, port, auth: Auth::Password(password), ephemeral: false })
        .await
        .context("start the managed PostgreSQL")?;
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
}

fn db_error(e: tokio_postgres::Error) -> DbError {
    match e.as_db_error() {
        Some(d) => DbError {
            code: Some(d.code().code().to_string()),
            constraint: d.constraint().map(str::to_string),
            message: d.message().to_string(),
        },
        None if e.is_closed() => DbError::unavailable(e.to_string()),
        None => DbError::other(e.to_string()),
    }
}

impl Sql for PgSql {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let client = self.pool.get().await.map_err(|e| DbError::unavailable(e.to_string()))?;
        let stmt = client.prepare_cached(sql).await.map_err(db_error)?;
        let bound: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = client.query(&stmt, &refs).await.map_err(db_error)?;
        let columns: Arc<[String]> = stmt.columns().iter().map(|c| c.name().to_string()).collect();
        rows.iter()
            .map(|r| {
                let values = (0..r.len()).map(|i| read(r, i)).collect::<Result<_, _>>()?;
                Ok(Row { columns: columns.clone(), values })
            })
            .collect()
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let client = self.pool.get().await.map_err(|e| DbError::unavailable(e.to_string()))?;
        let stmt = client.prepare_cached(sql).await.map_err(db_error)?;
        let bound: Vec<Param<'_>> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        client.execute(&stmt, &refs).await.map_err(db_error)
    }
}

/// A [`Value`] bound to whatever type the statement's parameter has.
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Value::Float(f) => f.to_sql(ty, out),
            Value::Text(s) if *ty == Type::UUID => uuid::Uuid::parse_str(s)?.to_sql(ty, out),
            Value::Text(s) => s.to_sql(ty, out),
            Value::Uuid(u) if *ty == Type::TEXT => u.to_string().to_sql(ty, out),
            Value::Uuid(u) => u.to_sql(ty, out),
            Value::Json(j) => j.to_sql(ty, out),
            Value::Timestamp(us) => {
                let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_micros(u64::try_from(*us)?);
                t.to_sql(ty, out)
            }
        }
    }

    /// Every type is accepted here; `to_sql` refuses a mismatch with a clear error.
    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn read(row: &tokio_postgres::Row, i: usize) -> Result<Value, DbError> {
    let ty = row.columns()[i].type_().clone();
    let err = |e: tokio_postgres::Error| DbError::other(format!("column {i}: {e}"));
    macro_rules! get {
        ($t:ty, $f:expr) => {
            row.try_get::<_, Option<$t>>(i).map_err(err)?.map_or(Value::Null, $f)
        };
    }
    Ok(match ty {
        Type::BOOL => get!(bool, Value::Bool),
        Type::INT2 => get!(i16, |v| Value::Int(v.into())),
        Type::INT4 => get!(i32, |v| Value::Int(v.into())),
        Type::INT8 => get!(i64, Value::Int),
        Type::FLOAT4 => get!(f32, |v| Value::Float(v.into())),
        Type::FLOAT8 => get!(f64, Value::Float),
        Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => get!(String, Value::Text),
        Type::UUID => get!(uuid::Uuid, Value::Uuid),
        Type::JSON | Type::JSONB => get!(serde_json::Value, Value::Json),
        Type::TIMESTAMPTZ | Type::TIMESTAMP => get!(SystemTime, |t| {
            let us = match t.duration_since(SystemTime::UNIX_EPOCH) {
                Ok(d) => d.as_micros() as i64,
                Err(e) => -(e.duration().as_micros() as i64),
            };
            Value::Timestamp(us)
        }),
        other => return Err(DbError::other(format!("column {i}: unsupported type {other}"))),
    })
}
