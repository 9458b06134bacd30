//! The OComms HTTP API, independent of any platform.
//!
//! # Layout
//! - [`ports`]: what a runtime must provide (SQL, room publishing, time/randomness/logs).
//! - [`http`]: the neutral request/response types adapters convert to and from.
//! - [`router`]: path and method dispatch; the one place errors become responses.
//! - [`routes`]: one module per resource: parse, authorize, call [`repo`], map the result.
//! - [`repo`]: the SQL, one module per aggregate.
//! - [`auth`]: passwords, JWT access tokens, refresh-token rotation.
//! - [`socket`]: what opening a WebSocket checks and loads, for every runtime's sockets.
//!
//! Adapters (the Spin component, the edge worker, native benches) build an [`Api`] from
//! their port implementations and call [`Api::handle`] per request.

pub mod auth;
pub mod error;
pub mod http;
pub mod ports;
pub mod repo;
pub mod router;
pub mod routes;
mod row;
pub mod socket;

pub use http::{Method, Request, Response};

/// Deployment settings the handlers need. Secrets come from the platform's variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// HMAC key for access tokens; at least 32 bytes.
    pub jwt_secret: Vec<u8>,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    /// Public base URL of the web app, for invite links (no trailing slash).
    pub public_url: String,
}

impl Config {
    pub const DEFAULT_ACCESS_TTL_SECS: i64 = 15 * 60;
    pub const DEFAULT_REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;

    pub fn new(jwt_secret: impl Into<Vec<u8>>, public_url: impl Into<String>) -> Self {
        Self {
            jwt_secret: jwt_secret.into(),
            access_ttl_secs: Self::DEFAULT_ACCESS_TTL_SECS,
            refresh_ttl_secs: Self::DEFAULT_REFRESH_TTL_SECS,
            public_url: public_url.into().trim_end_matches('/').to_string(),
        }
    }
}

/// The API over one set of ports. Cheap to build per request.
pub struct Api<S, R, E, Q = ports::NoSearchEngine> {
    pub sql: S,
    pub rooms: R,
    pub env: E,
    /// The search engine, when one is configured; PostgreSQL answers searches otherwise.
    pub search: Option<Q>,
    pub config: Config,
}

impl<S, R, E> Api<S, R, E> {
    /// The API without a search engine: PostgreSQL answers searches.
    pub fn new(sql: S, rooms: R, env: E, config: Config) -> Self {
        Self { sql, rooms, env, search: None, config }
    }

    /// The same API with `engine`, if any, answering searches.
    pub fn with_search<Q: ports::SearchEngine>(self, engine: Option<Q>) -> Api<S, R, E, Q> {
        Api { sql: self.sql, rooms: self.rooms, env: self.env, search: engine, config: self.config }
    }
}

impl<S: ports::Sql, R: ports::RoomPublisher, E: ports::Env, Q: ports::SearchEngine> Api<S, R, E, Q> {
    pub async fn handle(&self, req: Request) -> Response {
        router::dispatch(self, req).await
    }

    /// Hands committed events to the room. Failures are logged: the event is stored and
    /// clients backfill, so the request still succeeds.
    pub(crate) async fn publish(&self, event: &ocomms_core::event::ChannelEvent) {
        if let Err(e) = self.rooms.publish(event).await {
            self.env.log_error(&format!("publish to channel {} seq {}: {e}", event.channel_id, event.seq));
        }
    }

    /// Tells every active member of `ws` that part of it changed, all at once. Best effort,
    /// like [`Self::notify`]: a client that misses it has the current state at its next fetch.
    pub(crate) async fn notify_workspace(
        &self,
        ws: ocomms_core::ids::WorkspaceId,
        what: ocomms_core::event::WorkspaceChange,
    ) {
        let members = match repo::workspaces::active_member_ids(&self.sql, ws).await {
            Ok(m) => m,
            Err(e) => return self.env.log_error(&format!("members of workspace {ws} to notify: {e}")),
        };
        let notice = ocomms_core::event::UserNotice::WorkspaceChanged { workspace_id: ws, what };
        futures::future::join_all(members.into_iter().map(|user| self.notify(user, notice.clone()))).await;
    }

    /// Like [`Self::publish`], for a notice to one user's sockets.
    pub(crate) async fn notify(&self, user: ocomms_core::ids::UserId, notice: ocomms_core::event::UserNotice) {
        if let Err(e) = self.rooms.notify_user(user, &notice).await {
            self.env.log_error(&format!("notify user {user}: {e}"));
        }
    }
}
