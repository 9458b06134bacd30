//! The API's `Sql` port over tokio-postgres on a Worker TCP socket.
//!
//! One connection per request (or per object event), opened on the first statement. In
//! production the socket goes to Hyperdrive, which pools real connections near the database
//! and speaks TLS to it; locally it goes straight to PostgreSQL. Each call is one statement,
//! hence one transaction, which is what Hyperdrive's transaction pooling expects.
//!
//! Values map as on the host (both use `ocomms-pg-values`).

use std::cell::RefCell;
use std::rc::Rc;

use futures::StreamExt as _;
use ocomms_api::ports::{DbError, Row, Sql, Value};
use ocomms_pg_values::{Param, db_error};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, NoTls};
use worker::postgres_tls::PassthroughTls;
use worker::{Env, SecureTransport, Socket};

use crate::{ConfigError, bindings};

/// Where connections go.
enum Target {
    Hyperdrive(worker::Hyperdrive),
    Url(Box<Config>),
}

pub struct EdgePg {
    target: Target,
    client: RefCell<Option<Rc<Client>>>,
}

impl EdgePg {
    /// The `HYPERDRIVE` binding if there is one, else the `DATABASE_URL` setting.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let target = match env.hyperdrive(bindings::HYPERDRIVE) {
            Ok(h) => Target::Hyperdrive(h),
            Err(_) => {
                let url = crate::setting(env, bindings::DATABASE_URL).ok_or(ConfigError::NoDatabase)?;
                Target::Url(Box::new(url.parse().map_err(ConfigError::DatabaseUrl)?))
            }
        };
        Ok(Self { target, client: RefCell::new(None) })
    }

    async fn client(&self) -> Result<Rc<Client>, DbError> {
        if let Some(c) = self.client.borrow().as_ref() {
            return Ok(c.clone());
        }
        let client = Rc::new(self.connect().await?);
        *self.client.borrow_mut() = Some(client.clone());
        Ok(client)
    }

    async fn connect(&self) -> Result<Client, DbError> {
        let (client, connection) = match &self.target {
            Target::Hyperdrive(h) => {
                let config: Config = h.connection_string().parse().map_err(db_error)?;
                let socket = Socket::builder()
                    .secure_transport(SecureTransport::StartTls)
                    .connect(h.host(), h.port())
                    .map_err(|e| DbError::other(format!("connect to Hyperdrive: {e}")))?;
                let (client, connection) = config.connect_raw(socket, PassthroughTls).await.map_err(db_error)?;
                (client, Box::pin(connection) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>)
            }
            Target::Url(config) => {
                let (host, port) = tcp_address(config)?;
                let socket = Socket::builder()
                    .connect(host.clone(), port)
                    .map_err(|e| DbError::other(format!("connect to {host}:{port}: {e}")))?;
                let (client, connection) = config.connect_raw(socket, NoTls).await.map_err(db_error)?;
                (client, Box::pin(connection) as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>)
            }
        };
        // The connection task ends when the client is dropped (with the request).
        worker::wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = connection.await {
                worker::console_error!("postgres connection: {e}");
            }
        });
        Ok(client)
    }
}

/// Host and port of a URL config (the Worker has no unix sockets).
fn tcp_address(config: &Config) -> Result<(String, u16), DbError> {
    let host = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => Some(s.clone()),
            #[allow(unreachable_patterns, reason = "unix sockets exist only on unix targets")]
            _ => None,
        })
        .next()
        .flatten()
        .ok_or_else(|| DbError::other("the database URL names no TCP host"))?;
    let port = config.get_ports().first().copied().unwrap_or(5432);
    Ok((host, port))
}

impl Sql for EdgePg {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        Ok(self.run(sql, params).await?.0)
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        Ok(self.run(sql, params).await?.1)
    }
}

/// Parameter types of statements this isolate has prepared once, by SQL text.
///
/// Every connection is new (one per request), so prepared statements never outlive a
/// request; preparing costs a round trip per statement. The types PostgreSQL inferred for a
/// statement's parameters do not change, though, so after the first time a statement runs
/// with its types given (`Parse`, `Bind` and `Execute` in one round trip).
mod param_types {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::sync::Arc;

    use tokio_postgres::types::Type;

    /// Distinct statements in the API are a few hundred; the bound keeps a mistake finite.
    const MAX_ENTRIES: usize = 2048;

    thread_local! {
        static CACHE: RefCell<HashMap<String, Arc<[Type]>>> = RefCell::new(HashMap::new());
    }

    pub fn get(sql: &str) -> Option<Arc<[Type]>> {
        CACHE.with(|c| c.borrow().get(sql).cloned())
    }

    pub fn put(sql: &str, types: Arc<[Type]>) {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= MAX_ENTRIES {
                c.clear();
            }
            c.insert(sql.to_string(), types);
        });
    }

    /// A statement failed: its types may be stale (a migration ran), prepare it again.
    pub fn forget(sql: &str) {
        CACHE.with(|c| c.borrow_mut().remove(sql));
    }
}

impl EdgePg {
    /// Runs one statement; returns its rows and the number of rows it affected.
    async fn run(&self, sql: &str, params: &[Value]) -> Result<(Vec<Row>, u64), DbError> {
        let client = self.client().await?;
        let bound = Param::all(params);
        let (rows, affected) = match param_types::get(sql) {
            Some(types) if types.len() == bound.len() => {
                let typed = bound.iter().zip(types.iter()).map(|(p, t)| (p as &(dyn ToSql + Sync), t.clone()));
                let result = async {
                    let stream = client.query_typed_raw(sql, typed).await?;
                    let mut stream = std::pin::pin!(stream);
                    let mut rows = Vec::new();
                    while let Some(row) = stream.next().await {
                        rows.push(row?);
                    }
                    Ok::<_, tokio_postgres::Error>((rows, stream.rows_affected().unwrap_or(0)))
                }
                .await;
                result.inspect_err(|_| param_types::forget(sql)).map_err(db_error)?
            }
            _ => {
                let stmt = client.prepare(sql).await.map_err(db_error)?;
                param_types::put(sql, stmt.params().into());
                let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
                let stream = client.query_raw(&stmt, refs).await.map_err(db_error)?;
                let mut stream = std::pin::pin!(stream);
                let mut rows = Vec::new();
                while let Some(row) = stream.next().await {
                    rows.push(row.map_err(db_error)?);
                }
                let affected = stream.rows_affected().unwrap_or(0);
                (rows, affected)
            }
        };
        Ok((ocomms_pg_values::rows(&rows)?, affected))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn url_configs_give_a_tcp_address() {
        let c: Config = "postgresql://postgres@127.0.0.1:6543/db".parse().unwrap();
        assert_eq!(tcp_address(&c).unwrap(), ("127.0.0.1".to_string(), 6543));
        let c: Config = "postgresql://u@db.example/x".parse().unwrap();
        assert_eq!(tcp_address(&c).unwrap().1, 5432);
    }
}
