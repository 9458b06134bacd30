//! The OComms domain core, shared by every runtime (Spin component, edge worker, host).
//!
//! # Layout
//! - [`error`]: the closed set of error codes clients see, and their HTTP statuses.
//! - [`ids`]: typed identifiers, so a channel id is never passed where a user id belongs.
//! - [`validate`]: input rules (emails, names, message text) with their documented limits.
//! - [`policy`]: who may do what; pure functions of roles and memberships.
//! - [`event`]: channel events and the WebSocket frames that carry them.
//! - [`files`]: file names, types and sizes; sniffing stored bytes; what shows inline.
//! - [`email`]: the account mail (verification, reset, magic links) and its links.
//! - [`notify`]: notification preferences (per channel, do not disturb).
//! - [`mentions`], [`emoji`]: what a message's markdown mentions; which reactions are valid.
//! - [`search`]: message search queries (Slack's syntax) parsed for every search backend.
//! - [`slack`]: Slack's mrkdwn, blocks and attachments, for Slack-compatible integrations.
//!
//! Nothing here performs I/O, reads a clock or draws randomness, so it builds for native,
//! `wasm32-wasip2` and `wasm32-unknown-unknown` alike and is tested without services.

pub mod civil;
pub mod email;
pub mod emoji;
pub mod error;
pub mod event;
pub mod files;
pub mod ids;
pub mod limits;
pub mod mentions;
pub mod notify;
pub mod outbound;
pub mod policy;
pub mod search;
pub mod slack;
pub mod validate;

pub use error::{ApiError, ErrorCode};
