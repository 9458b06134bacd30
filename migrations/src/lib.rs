//! Schema migrations: the numbered plain SQL files in `migrations/sql/` are the only source
//! of the schema. Each applied file is recorded with its SHA-256; a recorded file whose text
//! has since changed stops the start, because the database no longer matches the code.

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "migration {version} ({name}) was applied with checksum {recorded} but the file now has {current}; \
         restore the original file or migrate by hand"
    )]
    ChecksumMismatch { version: i32, name: String, recorded: String, current: String },
    #[error(
        "the database has migration {version} ({name}) which this build does not know: it is newer than this binary"
    )]
    Unknown { version: i32, name: String },
    #[error("migration {version} ({name}) failed: {message}")]
    Failed { version: i32, name: String, message: String },
    #[error("database error: {0}")]
    Db(String),
}

fn db_err(e: tokio_postgres::Error) -> MigrateError {
    MigrateError::Db(e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string()))
}

/// Lock id for `pg_advisory_xact_lock`, so hosts starting together migrate one at a time.
const LOCK_ID: i64 = 0x6f63_6f6d_6d73;

/// Applies what is missing, each file in its own transaction; returns the versions applied.
pub async fn run(client: &mut Client) -> Result<Vec<i32>, MigrateError> {
    run_set(client, MIGRATIONS).await
}

/// Every step runs inside a transaction that first takes a transaction-scoped advisory
/// lock: hosts starting at the same moment apply each file once, and the whole run works
/// through a transaction-pooling proxy (PgBouncer), which would hand a session lock or a
/// statement prepared outside a transaction to whichever client came next.
pub async fn run_set(client: &mut Client, set: &[Migration]) -> Result<Vec<i32>, MigrateError> {
    let mut applied = Vec::new();
    loop {
        let tx = client.transaction().await.map_err(db_err)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_ID]).await.map_err(db_err)?;
        let Some(m) = next_missing(&tx, set).await? else {
            tx.commit().await.map_err(db_err)?;
            return Ok(applied);
        };
        let failed = |e: tokio_postgres::Error| MigrateError::Failed {
            version: m.version,
            name: m.name.into(),
            message: e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string()),
        };
        tx.batch_execute(m.sql).await.map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &m.checksum()],
        )
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)?;
        applied.push(m.version);
    }
}

/// Checks what is recorded against `set` and returns the first file not applied yet.
async fn next_missing<'a>(
    tx: &tokio_postgres::Transaction<'_>,
    set: &'a [Migration],
) -> Result<Option<&'a Migration>, MigrateError> {
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            checksum   text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(db_err)?;
    let rows = tx
        .query("SELECT version, name, checksum FROM schema_migrations ORDER BY version", &[])
        .await
        .map_err(db_err)?;
    let applied = check_recorded(&rows, set)?;
    Ok(set.iter().find(|m| !applied.contains(&m.version)))
}

/// The recorded versions, once each is known to `set` with the same text.
fn check_recorded(rows: &[tokio_postgres::Row], set: &[Migration]) -> Result<Vec<i32>, MigrateError> {
    let mut applied = Vec::with_capacity(rows.len());
    for row in rows {
        let (version, name, recorded): (i32, String, String) = (row.get(0), row.get(1), row.get(2));
        let Some(m) = set.iter().find(|m| m.version == version) else {
            return Err(MigrateError::Unknown { version, name });
        };
        let current = m.checksum();
        if current != recorded {
            return Err(MigrateError::ChecksumMismatch { version, name, recorded, current });
        }
        applied.push(version);
    }
    Ok(applied)
}

/// What [`run`] would do, found without changing anything.
#[derive(Debug)]
pub struct Plan {
    /// Versions already recorded, in order.
    pub applied: Vec<i32>,
    /// Files [`run`] would apply, in order.
    pub pending: Vec<Migration>,
}

/// The plan for `client`'s database: fails as [`run`] would on a database newer than this
/// build or on a changed file, so a dry run and an upgrade refuse the same databases.
pub async fn plan(client: &Client) -> Result<Plan, MigrateError> {
    plan_set(client, MIGRATIONS).await
}

pub async fn plan_set(client: &Client, set: &[Migration]) -> Result<Plan, MigrateError> {
    let exists: bool =
        client.query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[]).await.map_err(db_err)?.get(0);
    let applied = if exists {
        let rows = client
            .query("SELECT version, name, checksum FROM schema_migrations ORDER BY version", &[])
            .await
            .map_err(db_err)?;
        check_recorded(&rows, set)?
    } else {
        Vec::new()
    };
    let pending = set.iter().filter(|m| !applied.contains(&m.version)).copied().collect();
    Ok(Plan { applied, pending })
}
