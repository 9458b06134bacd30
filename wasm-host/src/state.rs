//! What every request handler of the host shares, and the host's `Env` port.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::hub::Hub;
use crate::manifest::HttpTrigger;
use crate::metrics::Metrics;
use crate::runtime::LoadedComponent;

pub struct AppState {
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    pub triggers: Vec<HttpTrigger>,
    pub components: HashMap<String, LoadedComponent>,
    pub sql: crate::db::PgSql,
    pub jwt_secret: Vec<u8>,
    /// Bearer secret of the internal rooms routes ([`crate::rooms_link`]).
    pub rooms_secret: String,
    pub web_dir: Option<PathBuf>,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// The embedded file store, when no S3 service is configured ([`crate::blobstore`]).
    pub blobs: Option<s3s::service::S3Service>,
    /// Turns for requests that hash a password ([`crate::server::PASSWORD_ROUTES`]).
    pub password_work: Arc<tokio::sync::Semaphore>,
    /// Whom the per-address caps and `/metrics` see: the API's trusted address.
    pub client_address: crate::addresses::ClientAddress,
    /// WebSockets per client address.
    pub ws_slots: Arc<crate::addresses::AddressSlots>,
    /// The headers every response carries ([`crate::security`]).
    pub security: ocomms_api::security::SecurityHeaders,
    /// The public URL is `https`: every response gets HSTS.
    pub public_tls: bool,
    /// In a cluster: the relay's state, for `/readyz` and `/metrics`.
    pub relay: Option<Arc<crate::relay::RelayStatus>>,
    /// Who may read `/metrics` on the main listener.
    pub metrics_access: crate::metrics::MetricsAccess,
}

/// Wall clock and randomness for host-side code that calls the API crate.
pub struct HostEnv;

impl HostEnv {
    pub fn now_ms() -> i64 {
        ocomms_api::ports::Env::now_ms(&HostEnv)
    }
}

impl ocomms_api::ports::Env for HostEnv {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }
    fn fill_random(&self, buf: &mut [u8]) {
        if let Err(e) = getrandom::fill(buf) {
            tracing::error!(error = %e, "getrandom failed");
        }
    }
    fn log_error(&self, message: &str) {
        tracing::error!("{message}");
    }
}
