//! The ports every runtime implements. They are deliberately small: SQL in, rows out; an
//! event to a room; the time and some random bytes. Futures are not `Send`, because Spin and
//! Workers run them on one thread.

use ocomms_core::event::{ChannelEvent, UserNotice};
use ocomms_core::ids::UserId;
use ocomms_core::search::EngineQuery;

/// A value bound to or read from a SQL statement. Adapters map it to their driver's types.
/// There is no time variant: SQL reads times as epoch milliseconds (`ms!`), an `int8`, because
/// Spin's spin:postgres cannot read a `timestamptz` column at all.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Uuid(uuid::Uuid),
    Json(serde_json::Value),
}

/// One result row: column names and values, in select order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row {
    pub columns: std::sync::Arc<[String]>,
    pub values: Vec<Value>,
}

/// A database failure as the adapter saw it. `code` is the SQLSTATE, `constraint` the violated
/// constraint's name when PostgreSQL reports one, so handlers can map them to domain errors.
#[derive(Debug, Clone, thiserror::Error)]
#[error("database error{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
pub struct DbError {
    pub code: Option<String>,
    pub constraint: Option<String>,
    pub message: String,
}

impl DbError {
    pub fn other(message: impl Into<String>) -> Self {
        Self { code: None, constraint: None, message: message.into() }
    }
    pub fn is_unique_violation(&self) -> bool {
        self.code.as_deref() == Some("23505")
    }

    /// The database could not be reached (SQLSTATE `08006`, connection failure): adapters use
    /// this when no connection could be had or the one in use broke.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self { code: Some("08006".into()), constraint: None, message: message.into() }
    }

    /// The database is unreachable or shutting down or starting up: a retry may succeed, and
    /// nothing was committed by the failed statement unless the connection broke after it.
    pub fn is_unavailable(&self) -> bool {
        let code = self.code.as_deref().unwrap_or("");
        // Class 08: connection exceptions; 57P01..57P03: admin or crash shutdown, cannot
        // connect now (starting up or shutting down).
        code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
    }
}

/// Starts a statement whose best plan depends on its parameter values (search: a rare word
/// wants the text index, a common one a walk back in time). Spin and the edge prepare every
/// statement afresh; a driver that keeps prepared statements (the host's) prepares these anew
/// too, since PostgreSQL would otherwise settle on one generic plan for all values.
pub const PLAN_PER_CALL: &str = "/* plan per call */ ";

/// PostgreSQL access. Each call is one statement and therefore one transaction: handlers
/// that must change several rows atomically do it in one statement (CTEs), which also works
/// behind transaction-pooling proxies such as Hyperdrive.
#[allow(async_fn_in_trait, reason = "single-threaded runtimes; no Send bound wanted")]
pub trait Sql {
    async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError>;
    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError>;
}

/// Delivery of committed events to the channel's room. Best effort: PostgreSQL already holds
/// the event, and clients backfill gaps, so a failure here is logged, never returned.
#[allow(async_fn_in_trait, reason = "single-threaded runtimes; no Send bound wanted")]
pub trait RoomPublisher {
    async fn publish(&self, event: &ChannelEvent) -> Result<(), PublishError>;
    /// Tells every open socket of `user` (read markers, ended sessions).
    async fn notify_user(&self, user: UserId, notice: &UserNotice) -> Result<(), PublishError>;
}

#[derive(Debug, thiserror::Error)]
#[error("publish failed: {0}")]
pub struct PublishError(pub String);

/// An external search engine (Meilisearch) that answers queries whose scope PostgreSQL
/// resolved. When none is configured, or it fails, PostgreSQL answers the query itself.
#[allow(async_fn_in_trait, reason = "single-threaded runtimes; no Send bound wanted")]
pub trait SearchEngine {
    /// The ids of the messages matching `query`, in the engine's order.
    async fn search(&self, query: &EngineQuery) -> Result<Vec<uuid::Uuid>, SearchError>;
}

/// The engine could not answer (unreachable, no index yet, a refused query).
#[derive(Debug, thiserror::Error)]
#[error("search engine: {0}")]
pub struct SearchError(pub String);

/// The engine of a runtime that has none: PostgreSQL answers every search.
#[derive(Debug, Clone, Copy)]
pub enum NoSearchEngine {}

impl SearchEngine for NoSearchEngine {
    async fn search(&self, _: &EngineQuery) -> Result<Vec<uuid::Uuid>, SearchError> {
        match *self {}
    }
}

/// Object storage for files, spoken through presigned S3 requests: clients upload and
/// download with URLs the API signs, so file bytes never pass through a handler; the API
/// itself only looks at what was stored (its size, type and first bytes), makes thumbnails
/// of pictures, and deletes.
#[allow(async_fn_in_trait, reason = "single-threaded runtimes; no Send bound wanted")]
pub trait Blobs {
    /// A request a client sends to store exactly `size` bytes of `content_type` at `key`,
    /// valid for `ttl_secs` from `now_ms`. `origin` is where the request came in (scheme and
    /// host), for a store that is reached through the same address as the API.
    async fn presign_put(&self, put: &BlobPut<'_>) -> Result<Presigned, BlobError>;
    /// A URL a client follows to download `key`, served with `content_type` and
    /// `disposition` whatever the object was stored with.
    async fn presign_get(&self, get: &BlobGet<'_>) -> Result<String, BlobError>;
    /// The stored object's size and type; `None` when nothing is stored at `key`.
    async fn head(&self, key: &str, now_ms: i64) -> Result<Option<BlobMeta>, BlobError>;
    /// Up to `len` bytes from the start of the object.
    async fn read_start(&self, key: &str, len: u64, now_ms: i64) -> Result<Vec<u8>, BlobError>;
    /// Stores `body` at `key`: what the server makes itself (thumbnails), never an upload.
    async fn put(&self, key: &str, content_type: &str, body: Vec<u8>, now_ms: i64) -> Result<(), BlobError>;
    /// Removes the object; removing a missing one is not an error.
    async fn delete(&self, key: &str, now_ms: i64) -> Result<(), BlobError>;
}

pub struct BlobPut<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub now_ms: i64,
    pub ttl_secs: u32,
    pub origin: &'a str,
}

pub struct BlobGet<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub disposition: &'a str,
    pub now_ms: i64,
    pub ttl_secs: u32,
    pub origin: &'a str,
}

/// A signed request: the client sends `method` to `url` with exactly these `headers`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    pub headers: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BlobMeta {
    pub size: i64,
    pub content_type: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("object storage: {0}")]
pub struct BlobError(pub String);

/// The storage of a runtime that has none configured: file routes answer 503.
#[derive(Debug, Clone, Copy)]
pub enum NoBlobs {}

impl Blobs for NoBlobs {
    async fn presign_put(&self, _: &BlobPut<'_>) -> Result<Presigned, BlobError> {
        match *self {}
    }
    async fn presign_get(&self, _: &BlobGet<'_>) -> Result<String, BlobError> {
        match *self {}
    }
    async fn head(&self, _: &str, _: i64) -> Result<Option<BlobMeta>, BlobError> {
        match *self {}
    }
    async fn read_start(&self, _: &str, _: u64, _: i64) -> Result<Vec<u8>, BlobError> {
        match *self {}
    }
    async fn put(&self, _: &str, _: &str, _: Vec<u8>, _: i64) -> Result<(), BlobError> {
        match *self {}
    }
    async fn delete(&self, _: &str, _: i64) -> Result<(), BlobError> {
        match *self {}
    }
}

/// HTTP requests out: to apps (slash commands, events, outgoing webhooks: POSTs) and to the
/// identity provider the operator configured (single sign-on). The adapter's business is
/// only to send them. It marks requests to apps with
/// [`ocomms_core::outbound::MARK_HEADER`] so a runtime that resolves names can refuse private
/// addresses (an identity provider is the operator's choice, often on an internal network,
/// and is not marked), gives up after [`ocomms_core::outbound::TIMEOUT_MS`] and reads at most
/// [`ocomms_core::outbound::MAX_RESPONSE_BYTES`] of the answer.
#[allow(async_fn_in_trait, reason = "single-threaded runtimes; no Send bound wanted")]
pub trait Outbound {
    async fn send(&self, req: &OutRequest<'_>) -> Result<OutReply, OutError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutMethod {
    Get,
    Post,
}

#[derive(Debug, Clone)]
pub struct OutRequest<'a> {
    pub method: OutMethod,
    pub url: &'a str,
    /// Lower-case names; `content-type` among them.
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
    /// To an app (whose URL a user chose): the runtime applies its address checks.
    pub to_app: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutReply {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl OutReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Why no answer came, in Slack's retry-reason terms where one fits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutError {
    #[error("http_timeout")]
    Timeout,
    /// The address is not one apps may use, or the runtime refused the request.
    #[error("refused: {0}")]
    Refused(String),
    #[error("too_large: the answer is over the size limit")]
    TooLarge,
    #[error("connection_failed: {0}")]
    Failed(String),
}

impl OutError {
    /// Slack's `X-Slack-Retry-Reason` for a retry after this error.
    pub fn retry_reason(&self) -> &'static str {
        match self {
            OutError::Timeout => "http_timeout",
            OutError::Failed(_) => "connection_failed",
            OutError::Refused(_) | OutError::TooLarge => "unknown_error",
        }
    }
}

/// The runtime of a deployment that sends nothing to apps: commands answer 503 and the
/// queue waits.
#[derive(Debug, Clone, Copy)]
pub enum NoOutbound {}

impl Outbound for NoOutbound {
    async fn send(&self, _: &OutRequest<'_>) -> Result<OutReply, OutError> {
        match *self {}
    }
}

/// One runtime's set of port implementations, as a tuple `(Sql, RoomPublisher, Env,
/// SearchEngine, Blobs, Outbound)`, so handlers take one type parameter however many ports
/// there are.
pub trait Ports {
    type Sql: Sql;
    type Rooms: RoomPublisher;
    type Env: Env;
    type Search: SearchEngine;
    type Blobs: Blobs;
    type Outbound: Outbound;
}

impl<S: Sql, R: RoomPublisher, E: Env, Q: SearchEngine, B: Blobs, O: Outbound> Ports for (S, R, E, Q, B, O) {
    type Sql = S;
    type Rooms = R;
    type Env = E;
    type Search = Q;
    type Blobs = B;
    type Outbound = O;
}

/// Time, randomness and diagnostics come from the platform (WASI, JS, or a test's values).
pub trait Env {
    fn now_ms(&self) -> i64;
    fn fill_random(&self, buf: &mut [u8]);
    /// Internal failures go here (the client only sees "internal error").
    fn log_error(&self, message: &str);

    fn random_array<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.fill_random(&mut b);
        b
    }
}
