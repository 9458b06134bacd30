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
pub mod deliver;
pub mod error;
pub mod http;
mod limits;
pub mod ports;
pub mod repo;
pub mod router;
pub mod routes;
mod row;
pub mod security;
pub mod socket;
pub mod webapi;

pub use http::{Method, Request, Response};
use ports::{Env as _, RoomPublisher as _};

/// Deployment settings the handlers need. Secrets come from the platform's variables.
#[derive(Debug, Clone)]
pub struct Config {
    /// HMAC key for access tokens; at least 32 bytes.
    pub jwt_secret: Vec<u8>,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    /// Public base URL of the web app, for invite links (no trailing slash).
    pub public_url: String,
    /// Largest file, in bytes.
    pub file_max_bytes: i64,
    /// What one workspace's files may add up to, in bytes (pending uploads included).
    pub workspace_quota_bytes: i64,
    /// Internal addresses apps may be reached at (the operator's list; see
    /// [`ocomms_core::outbound`]).
    pub outbound_allow: ocomms_core::outbound::AllowList,
    /// When failed deliveries to apps are tried again.
    pub retry: ocomms_core::outbound::RetrySchedule,
    /// The key of the runtime's internal calls (running the delivery queue); `None` refuses
    /// them all.
    pub internal_secret: Option<Vec<u8>>,
    /// Rate limits ([`ocomms_core::limits`]).
    pub limits: ocomms_core::limits::Limits,
    /// The header a trusted proxy puts the client's address in (`x-forwarded-for`,
    /// `x-real-ip`); `None` uses the address the runtime saw.
    pub client_address_header: Option<String>,
    /// Sign-up waits for the address's owner to follow a mailed link (the default). Off, an
    /// account is made at once, which tells whoever signs up whether the address was taken:
    /// for closed installs and tests only.
    pub email_verification: bool,
    /// Who may read the mail outbox (lowercased addresses of verified accounts): the
    /// install's operators, who without a mail server hand on links themselves.
    pub install_admins: Vec<String>,
    /// Single sign-on through this OpenID provider, when configured.
    pub oidc: Option<auth::oidc::OidcConfig>,
}

impl Config {
    pub const DEFAULT_ACCESS_TTL_SECS: i64 = 15 * 60;
    pub const DEFAULT_REFRESH_TTL_SECS: i64 = 30 * 24 * 3600;
    pub const DEFAULT_FILE_MAX_BYTES: i64 = 100 * 1024 * 1024;
    pub const DEFAULT_WORKSPACE_QUOTA_BYTES: i64 = 10 * 1024 * 1024 * 1024;

    pub fn new(jwt_secret: impl Into<Vec<u8>>, public_url: impl Into<String>) -> Self {
        Self {
            jwt_secret: jwt_secret.into(),
            access_ttl_secs: Self::DEFAULT_ACCESS_TTL_SECS,
            refresh_ttl_secs: Self::DEFAULT_REFRESH_TTL_SECS,
            public_url: public_url.into().trim_end_matches('/').to_string(),
            file_max_bytes: Self::DEFAULT_FILE_MAX_BYTES,
            workspace_quota_bytes: Self::DEFAULT_WORKSPACE_QUOTA_BYTES,
            outbound_allow: Default::default(),
            retry: Default::default(),
            internal_secret: None,
            limits: Default::default(),
            client_address_header: None,
            email_verification: true,
            install_admins: Vec::new(),
            oidc: None,
        }
    }

    /// Account settings: whether sign-up verifies the address (`email_verification`:
    /// `required`, the default when empty, or `off`), and the install's admins
    /// (comma-separated addresses).
    pub fn with_accounts(mut self, email_verification: &str, install_admins: &str) -> Result<Self, SettingError> {
        self.email_verification = match email_verification.trim() {
            "" | "required" => true,
            "off" => false,
            other => return Err(SettingError("email_verification", format!("required or off, not {other:?}"))),
        };
        self.install_admins =
            install_admins.split(',').map(|a| a.trim().to_ascii_lowercase()).filter(|a| !a.is_empty()).collect();
        Ok(self)
    }

    /// Rate limits other than the defaults, and the proxy header naming client addresses.
    pub fn with_limits(mut self, limits: ocomms_core::limits::Limits, client_address_header: Option<String>) -> Self {
        self.limits = limits;
        self.client_address_header =
            client_address_header.map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty());
        self
    }

    /// How requests to apps are made: the internal addresses they may reach and the retry
    /// schedule.
    pub fn with_outbound(
        mut self,
        allow: ocomms_core::outbound::AllowList,
        retry: ocomms_core::outbound::RetrySchedule,
    ) -> Self {
        self.outbound_allow = allow;
        self.retry = retry;
        self
    }

    /// The key the runtime's internal calls carry (at least 16 bytes, or none are accepted).
    pub fn with_internal_secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        let secret = secret.into();
        self.internal_secret = (secret.len() >= 16).then_some(secret);
        self
    }

    /// File limits other than the defaults (`None` keeps a default).
    pub fn with_file_limits(mut self, max_bytes: Option<i64>, quota_bytes: Option<i64>) -> Self {
        self.file_max_bytes = max_bytes.unwrap_or(self.file_max_bytes);
        self.workspace_quota_bytes = quota_bytes.unwrap_or(self.workspace_quota_bytes);
        self
    }
}

impl Config {
    /// The web app's origin for links we send (mail, single sign-on's redirect URI): the
    /// configured public URL, never the request's `Host`, which a client chooses (a reset
    /// link pointing at an attacker's host would hand them the token). Without one, the
    /// request's origin.
    pub fn link_origin(&self, req: &Request) -> String {
        if self.public_url.is_empty() { req.origin() } else { self.public_url.clone() }
    }

    /// Single sign-on: on when an issuer is set, which then needs the client's id and secret.
    /// `name` labels the button (the issuer's host when empty).
    pub fn with_oidc(
        mut self,
        issuer: &str,
        client_id: &str,
        client_secret: &str,
        name: &str,
    ) -> Result<Self, SettingError> {
        let issuer = issuer.trim().trim_end_matches('/');
        if issuer.is_empty() {
            self.oidc = None;
            return Ok(self);
        }
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
            return Err(SettingError("oidc_issuer", format!("an http(s) URL, not {issuer:?}")));
        }
        if client_id.trim().is_empty() || client_secret.is_empty() {
            return Err(SettingError("oidc_client_id", "set, with oidc_client_secret, when oidc_issuer is".into()));
        }
        let host = issuer.split("://").nth(1).unwrap_or(issuer).split('/').next().unwrap_or(issuer);
        let name = if name.trim().is_empty() { host.to_string() } else { name.trim().to_string() };
        self.oidc = Some(auth::oidc::OidcConfig {
            issuer: issuer.to_string(),
            client_id: client_id.trim().to_string(),
            client_secret: client_secret.to_string(),
            name,
        });
        Ok(self)
    }
}

/// A deployment setting with a value the API cannot use.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0} must be {1}")]
pub struct SettingError(pub &'static str, pub String);

/// The API over one set of ports (see [`ports::Ports`]). Cheap to build per request.
pub struct Api<P: ports::Ports> {
    pub sql: P::Sql,
    pub rooms: P::Rooms,
    pub env: P::Env,
    /// The search engine, when one is configured; PostgreSQL answers searches otherwise.
    pub search: Option<P::Search>,
    /// File storage, when configured; file routes answer 503 otherwise.
    pub blobs: Option<P::Blobs>,
    /// Requests to apps, when this runtime sends them; slash commands answer 503 otherwise.
    pub outbound: Option<P::Outbound>,
    pub config: Config,
}

/// The ports of an API with nothing optional configured.
pub type BasePorts<S, R, E> = (S, R, E, ports::NoSearchEngine, ports::NoBlobs, ports::NoOutbound);

impl<S: ports::Sql, R: ports::RoomPublisher, E: ports::Env> Api<BasePorts<S, R, E>> {
    /// The API without a search engine (PostgreSQL answers searches), file storage or
    /// requests to apps.
    pub fn new(sql: S, rooms: R, env: E, config: Config) -> Self {
        Self { sql, rooms, env, search: None, blobs: None, outbound: None, config }
    }
}

impl<S, R, E, Q, B, O> Api<(S, R, E, Q, B, O)>
where
    S: ports::Sql,
    R: ports::RoomPublisher,
    E: ports::Env,
    Q: ports::SearchEngine,
    B: ports::Blobs,
    O: ports::Outbound,
{
    /// The same API with `engine`, if any, answering searches.
    pub fn with_search<Q2: ports::SearchEngine>(self, engine: Option<Q2>) -> Api<(S, R, E, Q2, B, O)> {
        let Api { sql, rooms, env, blobs, outbound, config, .. } = self;
        Api { sql, rooms, env, search: engine, blobs, outbound, config }
    }

    /// The same API with `blobs`, if any, storing files.
    pub fn with_blobs<B2: ports::Blobs>(self, blobs: Option<B2>) -> Api<(S, R, E, Q, B2, O)> {
        let Api { sql, rooms, env, search, outbound, config, .. } = self;
        Api { sql, rooms, env, search, blobs, outbound, config }
    }

    /// The same API sending requests to apps through `outbound`, if any.
    pub fn with_outbound<O2: ports::Outbound>(self, outbound: Option<O2>) -> Api<(S, R, E, Q, B, O2)> {
        let Api { sql, rooms, env, search, blobs, config, .. } = self;
        Api { sql, rooms, env, search, blobs, outbound, config }
    }
}

/// What [`Api::handle`] answers to a request no route serves (404, or 405 with `Allow`),
/// decided from the path alone. `None`: a route serves it. A runtime that builds the API for
/// every request (an instance per request) answers these without reading its configuration:
/// `public_url` and `client_address_header` are the two settings the answer depends on.
pub fn refuse_unrouted(req: &Request, public_url: &str, client_address_header: Option<&str>) -> Option<Response> {
    let mut resp = router::unrouted(req.method, &req.path)?;
    let trusted_proxy = client_address_header.is_some_and(|h| !h.trim().is_empty());
    security::SecurityHeaders::default().apply(&mut resp.headers, over_tls(req, public_url, trusted_proxy));
    Some(resp)
}

/// Whether `req` reached us over TLS; a forwarded scheme counts only from a proxy we trust
/// (one whose client-address header is configured).
fn over_tls(req: &Request, public_url: &str, trusted_proxy: bool) -> bool {
    let forwarded_proto = if trusted_proxy { req.header("x-forwarded-proto") } else { None };
    security::over_tls(Some(public_url), forwarded_proto)
}

impl<P: ports::Ports> Api<P> {
    /// Answers a request; every answer carries the [`security`] headers.
    pub async fn handle(&self, req: Request) -> Response {
        let tls = over_tls(&req, &self.config.public_url, self.config.client_address_header.is_some());
        let mut resp = router::dispatch(self, req).await;
        security::SecurityHeaders::default().apply(&mut resp.headers, tls);
        resp
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
