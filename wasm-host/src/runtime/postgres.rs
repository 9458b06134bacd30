//! `spin:postgres/postgres@4.0.0` over deadpool-postgres pools, one per address.
//!
//! `connection.open(address)` connects to `address` when the component's
//! `allowed_outbound_hosts` permit it ([`PgPools`]). All connections a single instance opens
//! to one address share one pooled client, taken on the first `open` and returned when the
//! instance (the request) ends, so one request holds at most one connection per address.
//!
//! A connection is *not* returned to the pool (it is detached and closed instead) when the
//! instance ends while a statement is still in flight (the request timed out) or inside a
//! transaction the guest opened with `BEGIN`/`START TRANSACTION` and did not finish: the next
//! request must not inherit a busy connection or a stale transaction.

#![allow(clippy::result_large_err, reason = "the WIT error type is large; it is built once per failed statement")]

use std::error::Error as _;
use std::sync::Arc;

use futures::StreamExt as _;
use ocomms_api::ports::PLAN_PER_CALL;
use wasmtime::component::Resource;

use super::bindings::spin::postgres::postgres::{
    Column, DbError, DbValue, Error as PgError, Host, HostConnection, ParameterValue, QueryError, RowSet,
};
use super::outbound::OutboundPolicy;
use super::pg_pools::PgPools;
use super::pg_types::{
    Cell, Param, ParamError, data_type, encode_param, natural_type, unreadable_column, validate_param,
};
use super::state::HostState;

/// The host side of a `connection` resource.
pub struct PgConnection {
    client: Arc<deadpool_postgres::Object>,
}

/// Per-instance postgres state.
pub(crate) struct PgState {
    pools: Option<Arc<PgPools>>,
    policy: Arc<OutboundPolicy>,
    /// The client of each address opened so far.
    clients: Vec<(String, Arc<deadpool_postgres::Object>)>,
    max_rows: usize,
    /// A statement was started and has not completed (still true if its future was dropped).
    busy: bool,
    /// The guest opened a transaction that it has not committed or rolled back.
    in_transaction: bool,
}

impl Drop for PgState {
    fn drop(&mut self) {
        if !(self.busy || self.in_transaction) {
            return;
        }
        for (_, client) in self.clients.drain(..) {
            // The resource table (dropped before this state) held the only other references.
            match Arc::try_unwrap(client) {
                Ok(object) => {
                    tracing::debug!(
                        busy = self.busy,
                        in_transaction = self.in_transaction,
                        "discarding postgres connection instead of returning it to the pool"
                    );
                    drop(deadpool_postgres::Object::take(object));
                }
                Err(_) => tracing::warn!("postgres connection still shared at instance end"),
            }
        }
    }
}

/// How a statement affects the session's transaction state, judged by its first keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxEffect {
    Begin,
    End,
    None,
}

fn tx_effect(statement: &str) -> TxEffect {
    let word: String =
        statement.trim_start().chars().take_while(char::is_ascii_alphabetic).collect::<String>().to_ascii_lowercase();
    match word.as_str() {
        "begin" | "start" => TxEffect::Begin,
        "commit" | "rollback" | "end" | "abort" => TxEffect::End,
        _ => TxEffect::None,
    }
}

impl PgState {
    pub(crate) fn new(pools: Option<Arc<PgPools>>, policy: Arc<OutboundPolicy>, max_rows: usize) -> Self {
        Self { pools, policy, clients: Vec::new(), max_rows, busy: false, in_transaction: false }
    }

    /// Runs one statement, tracking whether it completes and its transaction effect.
    async fn run<T>(&mut self, statement: &str, fut: impl Future<Output = Result<T, PgError>>) -> Result<T, PgError> {
        self.busy = true;
        let result = fut.await;
        self.busy = false;
        match tx_effect(statement) {
            TxEffect::Begin if result.is_ok() => self.in_transaction = true,
            // A failed COMMIT also ends the transaction.
            TxEffect::End => self.in_transaction = false,
            _ => {}
        }
        result
    }

    /// Statements go unnamed, with the types their values name (behind a transaction pooler).
    fn unnamed(&self) -> bool {
        self.pools.as_ref().is_some_and(|p| p.unnamed_statements())
    }

    async fn client(&mut self, address: &str) -> Result<Arc<deadpool_postgres::Object>, PgError> {
        self.clients.retain(|(_, c)| !c.is_closed());
        if let Some((_, client)) = self.clients.iter().find(|(a, _)| a == address) {
            return Ok(Arc::clone(client));
        }
        let pools = self
            .pools
            .as_ref()
            .ok_or_else(|| PgError::ConnectionFailed("no database is configured for this component".to_owned()))?;
        let pool = pools.pool(address, &self.policy.allowed).map_err(|e| PgError::ConnectionFailed(e.to_string()))?;
        let client = pool.get().await.map_err(|e| {
            tracing::warn!(error = %error_chain(&e), "postgres pool: cannot get a connection");
            PgError::ConnectionFailed(error_chain(&e))
        })?;
        let client = Arc::new(client);
        self.clients.push((address.to_owned(), Arc::clone(&client)));
        Ok(client)
    }
}

/// `e` followed by its sources, skipping sources whose text is already included.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Maps a driver error to the WIT error, keeping PostgreSQL's message and SQLSTATE.
pub(crate) fn pg_error(e: &tokio_postgres::Error) -> PgError {
    if let Some(db) = e.as_db_error() {
        let mut extras = Vec::new();
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                extras.push((k.to_owned(), v));
            }
        };
        push("hint", db.hint().map(str::to_owned));
        push(
            "position",
            db.position().map(|p| match p {
                tokio_postgres::error::ErrorPosition::Original(p) => p.to_string(),
                tokio_postgres::error::ErrorPosition::Internal { position, query } => {
                    format!("{position} in internal query {query}")
                }
            }),
        );
        push("where", db.where_().map(str::to_owned));
        push("schema", db.schema().map(str::to_owned));
        push("table", db.table().map(str::to_owned));
        push("column", db.column().map(str::to_owned));
        push("datatype", db.datatype().map(str::to_owned));
        push("constraint", db.constraint().map(str::to_owned));
        push("file", db.file().map(str::to_owned));
        push("line", db.line().map(|l| l.to_string()));
        push("routine", db.routine().map(str::to_owned));
        return PgError::QueryFailed(QueryError::DbError(DbError {
            as_text: db.to_string(),
            severity: db.severity().to_owned(),
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
            detail: db.detail().map(str::to_owned),
            extras,
        }));
    }
    let text = error_chain(e);
    if e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>()) {
        PgError::ConnectionFailed(text)
    } else {
        PgError::QueryFailed(QueryError::Text(text))
    }
}

/// Which call a parameter belongs to: Spin reports an invalid value as `bad-parameter` from
/// `query` but as `value-conversion-failed` from `execute`.
#[derive(Debug, Clone, Copy)]
enum Call {
    Query,
    Execute,
}

/// Prepares `statement` and encodes `params` against its parameter types, failing in the
/// order and with the error kinds Spin's driver produces.
async fn prepare(
    client: &deadpool_postgres::Object,
    statement: &str,
    params: Vec<ParameterValue>,
    call: Call,
) -> Result<(tokio_postgres::Statement, Vec<Param>), PgError> {
    for value in &params {
        if let Err(e) = validate_param(value) {
            return Err(match call {
                Call::Query => PgError::BadParameter(e.to_string()),
                Call::Execute => PgError::ValueConversionFailed(e.to_string()),
            });
        }
    }
    // Cached per connection, except where the plan depends on the values (`PLAN_PER_CALL`).
    let stmt = if statement.starts_with(PLAN_PER_CALL) {
        client.prepare(statement).await
    } else {
        client.prepare_cached(statement).await
    }
    .map_err(|e| pg_error(&e))?;
    let types = stmt.params();
    if types.len() != params.len() {
        return Err(PgError::QueryFailed(QueryError::Text(format!(
            "expected {} parameters but got {}",
            types.len(),
            params.len()
        ))));
    }
    let params = params
        .into_iter()
        .zip(types)
        .enumerate()
        .map(|(i, (value, ty))| {
            encode_param(value, ty).map_err(|e| match e {
                ParamError::WrongType { .. } => {
                    PgError::QueryFailed(QueryError::Text(format!("error serializing parameter {i}: {e}")))
                }
                ParamError::Invalid(m) => match call {
                    Call::Query => PgError::BadParameter(m),
                    Call::Execute => PgError::ValueConversionFailed(m),
                },
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((stmt, params))
}

impl HostState {
    fn pg_client(&self, conn: &Resource<PgConnection>) -> wasmtime::Result<Arc<deadpool_postgres::Object>> {
        Ok(Arc::clone(&self.table.get(conn)?.client))
    }
}

async fn run_query(
    client: &deadpool_postgres::Object,
    statement: &str,
    params: Vec<ParameterValue>,
    max_rows: usize,
) -> Result<RowSet, PgError> {
    let (stmt, params) = prepare(client, statement, params, Call::Query).await?;
    let stream = client.query_raw(&stmt, params.iter()).await.map_err(|e| pg_error(&e))?;
    collect_rows(stream, max_rows).await
}

/// The rows of a statement as Spin returns them: columns described from the first row (an
/// empty result has none), a column Spin cannot read failing the query, at most `max_rows`.
async fn collect_rows(stream: tokio_postgres::RowStream, max_rows: usize) -> Result<RowSet, PgError> {
    let mut stream = std::pin::pin!(stream);
    let mut rows = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    while let Some(row) = stream.next().await {
        let row = row.map_err(|e| pg_error(&e))?;
        if rows.is_empty() {
            if let Some((name, why)) =
                row.columns().iter().find_map(|c| unreadable_column(c.type_()).map(|w| (c.name(), w)))
            {
                return Err(PgError::QueryFailed(QueryError::Text(format!(
                    "error deserializing column {name:?}: {why}"
                ))));
            }
            columns = row
                .columns()
                .iter()
                .map(|c| Column { name: c.name().to_owned(), data_type: data_type(c.type_()) })
                .collect();
        }
        if rows.len() >= max_rows {
            return Err(PgError::QueryFailed(QueryError::Text(format!(
                "query returned more than the maximum of {max_rows} rows; add a LIMIT"
            ))));
        }
        let values = (0..row.len())
            .map(|i| {
                row.try_get::<_, Cell>(i).map(|c| c.0).map_err(|e| {
                    PgError::QueryFailed(QueryError::Text(format!(
                        "column {:?}: {}",
                        columns.get(i).map_or("?", |c| c.name.as_str()),
                        error_chain(&e)
                    )))
                })
            })
            .collect::<Result<Vec<DbValue>, _>>()?;
        rows.push(values);
    }
    Ok(RowSet { columns, rows })
}

/// `params` typed by what each value names, for an unnamed statement.
fn typed_params(params: Vec<ParameterValue>, call: Call) -> Result<Vec<(Param, tokio_postgres::types::Type)>, PgError> {
    params
        .into_iter()
        .map(|value| {
            let ty = natural_type(&value);
            let bad = |m: String| match call {
                Call::Query => PgError::BadParameter(m),
                Call::Execute => PgError::ValueConversionFailed(m),
            };
            validate_param(&value).map_err(|e| bad(e.to_string()))?;
            let param = encode_param(value, &ty).map_err(|e| bad(e.to_string()))?;
            Ok((param, ty))
        })
        .collect()
}

/// One statement, unnamed and typed by its values, in one round trip: what a
/// transaction-pooling proxy can carry (no prepared statement outlives the exchange).
async fn run_unnamed(
    client: &deadpool_postgres::Object,
    statement: &str,
    params: Vec<ParameterValue>,
    call: Call,
) -> Result<tokio_postgres::RowStream, PgError> {
    let params = typed_params(params, call)?;
    let refs = params.iter().map(|(p, ty)| (p as &(dyn tokio_postgres::types::ToSql + Sync), ty.clone()));
    client.query_typed_raw(statement, refs).await.map_err(|e| pg_error(&e))
}

async fn query_unnamed(
    client: &deadpool_postgres::Object,
    statement: &str,
    params: Vec<ParameterValue>,
    max_rows: usize,
) -> Result<RowSet, PgError> {
    collect_rows(run_unnamed(client, statement, params, Call::Query).await?, max_rows).await
}

async fn execute_unnamed(
    client: &deadpool_postgres::Object,
    statement: &str,
    params: Vec<ParameterValue>,
) -> Result<u64, PgError> {
    let stream = run_unnamed(client, statement, params, Call::Execute).await?;
    let mut stream = std::pin::pin!(stream);
    while let Some(row) = stream.next().await {
        row.map_err(|e| pg_error(&e))?;
    }
    Ok(stream.rows_affected().unwrap_or(0))
}

impl HostConnection for HostState {
    async fn open(&mut self, address: String) -> wasmtime::Result<Result<Resource<PgConnection>, PgError>> {
        let client = match self.pg.client(&address).await {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        Ok(Ok(self.table.push(PgConnection { client })?))
    }

    async fn query(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<RowSet, PgError>> {
        let client = self.pg_client(&conn)?;
        let max_rows = self.pg.max_rows;
        if self.pg.unnamed() {
            let fut = query_unnamed(&client, &statement, params, max_rows);
            return Ok(self.pg.run(&statement, fut).await);
        }
        let fut = run_query(&client, &statement, params, max_rows);
        Ok(self.pg.run(&statement, fut).await)
    }

    async fn execute(
        &mut self,
        conn: Resource<PgConnection>,
        statement: String,
        params: Vec<ParameterValue>,
    ) -> wasmtime::Result<Result<u64, PgError>> {
        let client = self.pg_client(&conn)?;
        if self.pg.unnamed() {
            let fut = execute_unnamed(&client, &statement, params);
            return Ok(self.pg.run(&statement, fut).await);
        }
        let fut = async {
            let (stmt, params) = prepare(&client, &statement, params, Call::Execute).await?;
            client.execute_raw(&stmt, params.iter()).await.map_err(|e| pg_error(&e))
        };
        Ok(self.pg.run(&statement, fut).await)
    }

    async fn drop(&mut self, conn: Resource<PgConnection>) -> wasmtime::Result<()> {
        self.table.delete(conn)?;
        Ok(())
    }
}

impl Host for HostState {}

#[cfg(test)]
mod tests {
    use super::{TxEffect, tx_effect};

    #[test]
    fn transaction_keywords() {
        assert_eq!(tx_effect("  BEGIN"), TxEffect::Begin);
        assert_eq!(tx_effect("start transaction isolation level serializable"), TxEffect::Begin);
        assert_eq!(tx_effect("COMMIT;"), TxEffect::End);
        assert_eq!(tx_effect("rollback"), TxEffect::End);
        assert_eq!(tx_effect("SELECT 1"), TxEffect::None);
        assert_eq!(tx_effect("beginning"), TxEffect::None);
    }
}
