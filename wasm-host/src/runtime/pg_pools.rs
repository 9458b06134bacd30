//! What `spin:postgres` `open(address)` connects to, as on Spin: the address the component
//! gives, if its `allowed_outbound_hosts` permit every host in it, through a connection pool
//! kept per address string (at most [`MAX_POOLS`] addresses).
//!
//! The host registers its own pool under its database URL ([`PgPools::with_pool`]), so a
//! component given that URL (the `db_url` variable) shares the host's connections.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, QueueMode, RecyclingMethod};
use tokio_postgres::config::Host;

use crate::manifest::AllowedHosts;

/// Addresses with a live pool; past this, the least recently opened pool is dropped. Spin
/// keeps 16.
pub const MAX_POOLS: usize = 16;

/// PostgreSQL's port when an address names none.
const DEFAULT_PORT: u16 = 5432;

/// Why `open(address)` failed; each is `connection-failed` to the guest, as on Spin.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("address {0} is not permitted")]
    NotPermitted(String),
    #[error("parsing Postgres connection string: {0}")]
    Invalid(#[source] tokio_postgres::Error),
    #[error("building Postgres connection pool: {0}")]
    Build(#[source] deadpool_postgres::BuildError),
}

/// The pools of every component of one host, by address string.
pub struct PgPools {
    max_connections: usize,
    timeout: Duration,
    pools: Mutex<Vec<(String, Pool)>>,
    /// Statements go unnamed, with their types ([`crate::db::PoolMode::Transaction`]).
    unnamed_statements: bool,
}

impl std::fmt::Debug for PgPools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        // Addresses carry passwords: show how many, not which.
        f.debug_struct("PgPools").field("pools", &pools.len()).field("max_connections", &self.max_connections).finish()
    }
}

impl PgPools {
    /// Pools of up to `max_connections` each; `timeout` bounds waiting for, creating and
    /// recycling a connection, so an unreachable database fails a request in seconds.
    pub fn new(max_connections: usize, timeout: Duration) -> Self {
        Self { max_connections, timeout, pools: Mutex::new(Vec::new()), unnamed_statements: false }
    }

    /// The same pools for a database behind a transaction-pooling proxy: no statement is
    /// prepared by name, since the next transaction may run on another server connection.
    #[must_use]
    pub fn with_unnamed_statements(mut self, unnamed: bool) -> Self {
        self.unnamed_statements = unnamed;
        self
    }

    pub fn unnamed_statements(&self) -> bool {
        self.unnamed_statements
    }

    /// Registers an existing pool for `address`, e.g. the host's own.
    #[must_use]
    pub fn with_pool(self, address: &str, pool: Pool) -> Self {
        self.pools.lock().unwrap_or_else(PoisonError::into_inner).push((address.to_owned(), pool));
        self
    }

    /// The pool for `address`, if `allowed` permits every host it names.
    pub fn pool(&self, address: &str, allowed: &AllowedHosts) -> Result<Pool, OpenError> {
        // An address that does not parse is refused as not permitted, as on Spin.
        let config: tokio_postgres::Config =
            address.parse().map_err(|_| OpenError::NotPermitted(address.to_owned()))?;
        if !is_permitted(&config, allowed) {
            return Err(OpenError::NotPermitted(address.to_owned()));
        }
        let mut pools = self.pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(i) = pools.iter().position(|(a, _)| a == address) {
            let entry = pools.remove(i);
            let pool = entry.1.clone();
            pools.push(entry);
            return Ok(pool);
        }
        let pool = self.build(config)?;
        if pools.len() >= MAX_POOLS {
            let (_, old) = pools.remove(0);
            old.close();
        }
        pools.push((address.to_owned(), pool.clone()));
        Ok(pool)
    }

    fn build(&self, config: tokio_postgres::Config) -> Result<Pool, OpenError> {
        let mgr = Manager::from_config(
            config,
            tokio_postgres::NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        Pool::builder(mgr)
            .max_size(self.max_connections)
            // The most recently used connection first: its prepared statements and its
            // backend's catalog and plan caches are warm. Round robin (FIFO) spread light
            // load over every connection a burst had opened, each paying its warm-up again.
            .queue_mode(QueueMode::Lifo)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(self.timeout))
            .create_timeout(Some(self.timeout))
            .recycle_timeout(Some(self.timeout))
            .build()
            .map_err(OpenError::Build)
    }

    /// How many addresses have a pool.
    pub fn len(&self) -> usize {
        self.pools.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether `allowed` permits `postgres://host:port` for every host of `config` (Unix
/// sockets never: they are not network destinations `allowed_outbound_hosts` can name).
fn is_permitted(config: &tokio_postgres::Config, allowed: &AllowedHosts) -> bool {
    let ports = config.get_ports();
    !config.get_hosts().is_empty()
        && config.get_hosts().iter().enumerate().all(|(i, host)| match host {
            Host::Tcp(name) => {
                let port = ports.get(i).or(if ports.len() == 1 { ports.first() } else { None });
                allowed.allows("postgres", name, Some(port.copied().unwrap_or(DEFAULT_PORT)))
            }
            Host::Unix(_) => false,
        })
}

/// The `host:port` of a database URL, for the `db_host` variable that
/// `allowed_outbound_hosts` names; `None` for a Unix socket or an unparsable URL.
pub fn host_and_port(url: &str) -> Option<String> {
    let config: tokio_postgres::Config = url.parse().ok()?;
    match config.get_hosts() {
        [Host::Tcp(name)] => {
            let port = config.get_ports().first().copied().unwrap_or(DEFAULT_PORT);
            let name = if name.contains(':') { format!("[{name}]") } else { name.clone() };
            Some(format!("{name}:{port}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(entries).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn addresses_are_checked_against_allowed_hosts() {
        let pools = PgPools::new(2, Duration::from_secs(1));
        let a = allowed(&["postgres://db.internal:6543"]);
        assert!(pools.pool("postgres://u:p@db.internal:6543/ocomms", &a).is_ok());
        assert!(matches!(pools.pool("postgres://db.internal/ocomms", &a), Err(OpenError::NotPermitted(_))));
        assert!(matches!(pools.pool("postgres://other:6543/ocomms", &a), Err(OpenError::NotPermitted(_))));
        assert!(matches!(pools.pool("host=/run/postgresql dbname=x", &a), Err(OpenError::NotPermitted(_))));
        assert!(matches!(pools.pool("not a url ://", &a), Err(OpenError::NotPermitted(_))));
        // Port 5432 is implied on both sides.
        assert!(pools.pool("postgres://localhost/x", &allowed(&["postgres://localhost"])).is_ok());
        assert!(pools.pool("postgres://localhost:5432/x", &allowed(&["postgres://localhost"])).is_ok());
        assert!(pools.pool("postgres://localhost:5433/x", &allowed(&["postgres://localhost"])).is_err());
    }

    #[test]
    fn one_pool_per_address_and_at_most_sixteen() {
        let pools = PgPools::new(2, Duration::from_secs(1));
        let a = allowed(&["postgres://localhost:*"]);
        pools.pool("postgres://localhost:1/a", &a).expect("pool");
        pools.pool("postgres://localhost:1/a", &a).expect("pool");
        assert_eq!(pools.len(), 1);
        for port in 2..40 {
            pools.pool(&format!("postgres://localhost:{port}/a"), &a).expect("pool");
        }
        assert_eq!(pools.len(), MAX_POOLS);
    }

    #[test]
    fn db_host_is_the_url_authority() {
        assert_eq!(
            host_and_port("postgres://u:p@127.0.0.1:6000/ocomms?sslmode=disable").as_deref(),
            Some("127.0.0.1:6000")
        );
        assert_eq!(host_and_port("postgres://db/ocomms").as_deref(), Some("db:5432"));
        assert_eq!(host_and_port("postgres://u@[::1]:7/x").as_deref(), Some("[::1]:7"));
        assert_eq!(host_and_port("host=/run/postgresql"), None);
    }
}
