//! `wasm-host`: OComms on one machine.
//!
//! # Layout
//! - [`host`]: start-up and graceful shutdown; [`server`]: the HTTP front (axum), over the
//!   shared [`state`]; [`reply`]: the host's own JSON error replies; [`spin_headers`]: the
//!   `spin-*` request headers components get, as on Spin.
//! - [`manifest`]: reads and validates `spin.toml` (Spin manifest v2).
//! - [`runtime`]: wasmtime with the pooling allocator; serves Spin components with WASI,
//!   wasi-http, `spin:postgres` and variables.
//! - [`db`]: the managed or configured PostgreSQL, its pool, and the API's `Sql` port natively.
//! - [`hub`] and [`ws`]: the rooms and users (the pure cores of `ocomms-rooms`) and the
//!   WebSockets that listen to them; [`rooms_link`]: the internal routes components publish
//!   through, over HTTP or in process; [`relay`]: in a cluster, what one host's rooms
//!   hear reaches the others (Valkey/Redis pub/sub), presence included.
//! - [`blobstore`]: the embedded S3-compatible file store used when no S3 service is set.
//! - [`deliveries`]: runs the queue of deliveries to apps through the component;
//!   [`runtime`]'s outbound hook refuses requests to apps at private addresses;
//!   [`mailer`]: sends the account mail the component queues (SMTP, or the log).
//! - [`bundle`]: a release bundle's checksums, checked before anything runs.
//! - [`backup`]: `ocomms backup` and `ocomms restore`, one archive of a live install.
//! - [`metrics`], [`web`], [`secrets`]: `/metrics`, the web client's files, generated secrets.

pub mod addresses;
pub mod admin;
pub mod backup;
pub mod blobstore;
pub mod bundle;
pub mod db;
pub mod deliveries;
pub mod host;
pub mod hub;
pub mod listener;
pub mod mailer;
pub mod manifest;
pub mod metrics;
pub mod relay;
pub mod reply;
pub mod rooms_link;
pub mod runtime;
pub mod search_index;
pub mod secrets;
pub mod security;
pub mod server;
pub mod spin_headers;
pub mod state;
pub mod web;
pub mod wire;
pub mod ws;
