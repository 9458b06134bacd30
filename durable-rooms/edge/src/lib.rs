//! The rooms at the edge: Cloudflare Durable Objects around the pure room state machine
//! (`ocomms_rooms::Room`), and the adapters the Worker and the objects share.
//!
//! # Design (docs/edge.md has the full picture)
//! Clients keep the host's protocol: ONE WebSocket per client at `/api/v1/ws`, subscribed to
//! all of the user's channels. A socket can only live in one object, so:
//! - [`user::UserSockets`], one object per user (`id_from_name(user_id)`), holds that user's
//!   sockets with the WebSocket Hibernation API; per-socket state is the socket's attachment,
//!   per-user state (channel set, away) is in the object's storage, so both survive eviction.
//! - [`channel::ChannelRoom`], one object per channel (`id_from_name(channel_id)`), wraps a
//!   `Room<UserId>` whose "connections" are the member users' objects. It takes committed
//!   events from the Worker, decides who receives what (the same `Room` calls the host's hub
//!   makes) and forwards frames to the users' objects. Its subscribers are in storage.
//!
//! Missed events are never recovered here: like on the host, clients backfill from
//! PostgreSQL (`/channels/{id}/events?after=`), the source of truth.
//!
//! # Layout
//! - [`wire`]: the internal messages between the Worker and the objects (pure, tested).
//! - [`call`]: typed POSTs to an object's stub.
//! - [`pg`]: the API's `Sql` port over tokio-postgres on a Worker TCP socket (Hyperdrive or a
//!   plain connection string).
//! - [`env`]: the API's `Env` port (JS clock, `crypto.getRandomValues`, console).
//! - [`publisher`]: the API's `RoomPublisher` port, through the objects' stubs.
//! - [`frames`]: WebSocket frame encoding and the subprotocol choice (pure, tested).
//!
//! No `RefCell` borrow is ever held across an `.await`: state is read or changed in a block
//! that ends before the next I/O.

pub mod call;
pub mod channel;
pub mod env;
pub mod frames;
pub mod pg;
pub mod publisher;
pub mod user;
pub mod wire;

pub use channel::ChannelRoom;
pub use user::UserSockets;

/// Binding names in the wrangler configuration.
pub mod bindings {
    /// Durable Object namespace of [`crate::ChannelRoom`].
    pub const ROOMS: &str = "ROOMS";
    /// Durable Object namespace of [`crate::UserSockets`].
    pub const USERS: &str = "USERS";
    /// Hyperdrive binding (production); takes precedence over [`DATABASE_URL`].
    pub const HYPERDRIVE: &str = "HYPERDRIVE";
    /// A plain `postgresql://` URL (local development and tests).
    pub const DATABASE_URL: &str = "DATABASE_URL";
    /// HMAC key of access tokens (a secret; at least 32 bytes).
    pub const JWT_SECRET: &str = "JWT_SECRET";
    /// Public base URL of the web app, for invite links.
    pub const PUBLIC_URL: &str = "PUBLIC_URL";
    /// Internal apps that requests to apps may reach (hosts, addresses, networks).
    pub const OUTBOUND_ALLOW: &str = "OUTBOUND_ALLOW";
    /// Waits before each retry of a failed delivery to an app, seconds, comma-separated.
    pub const DELIVERY_RETRY_SECS: &str = "DELIVERY_RETRY_SECS";
    /// Rate limits other than the defaults (`name=burst/seconds`, comma-separated).
    pub const RATE_LIMITS: &str = "RATE_LIMITS";
    /// A header holding the client's address, when a proxy in front of the Worker sets one.
    pub const CLIENT_ADDRESS_HEADER: &str = "CLIENT_ADDRESS_HEADER";
    /// `required` (the default) or `off`: does sign-up wait for a mailed link?
    pub const EMAIL_VERIFICATION: &str = "EMAIL_VERIFICATION";
    /// Addresses of the accounts that may read the mail outbox, comma-separated.
    pub const INSTALL_ADMINS: &str = "INSTALL_ADMINS";
    /// Single sign-on: the OpenID provider's issuer URL (empty: off), this client's id and
    /// secret (a secret), and the button's label.
    pub const OIDC_ISSUER: &str = "OIDC_ISSUER";
    pub const OIDC_CLIENT_ID: &str = "OIDC_CLIENT_ID";
    pub const OIDC_CLIENT_SECRET: &str = "OIDC_CLIENT_SECRET";
    pub const OIDC_NAME: &str = "OIDC_NAME";
}

/// An object's storage could not be read: the call gets 503, the next one tries again.
#[derive(Debug, thiserror::Error)]
#[error("read the object's state from storage")]
pub struct StorageError(#[source] pub worker::Error);

/// The Worker's configuration is missing or wrong: requests get 503 until it is fixed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("neither a {} binding nor a {} setting", bindings::HYPERDRIVE, bindings::DATABASE_URL)]
    NoDatabase,
    #[error("{} is not a PostgreSQL connection string", bindings::DATABASE_URL)]
    DatabaseUrl(#[source] tokio_postgres::Error),
    #[error("{} is not set", bindings::JWT_SECRET)]
    NoJwtSecret,
    #[error("{} must be at least 32 bytes", bindings::JWT_SECRET)]
    ShortJwtSecret,
    #[error("{0} must be a number of bytes")]
    BadLimit(&'static str),
    #[error("{0} is malformed: {1}")]
    BadSetting(&'static str, String),
}

/// Reads a secret, or a plain variable of that name (local development puts both in vars).
pub fn setting(env: &worker::Env, name: &str) -> Option<String> {
    env.secret(name).or_else(|_| env.var(name)).ok().map(|v| v.to_string())
}
