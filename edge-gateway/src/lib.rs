//! The OComms Cloudflare Worker.
//!
//! # Layout
//! - this file: the fetch entry; routes `/healthz`, `/readyz`, the WebSocket upgrade and the
//!   API.
//! - [`api`]: `/api/v1/*` and `/hooks/*` through `ocomms_api::Api`, unchanged, with the edge adapters of
//!   `ocomms_rooms_edge` (PostgreSQL over a Worker socket, Durable Object stubs, JS clock).
//! - [`ws`]: `/api/v1/ws`: the JWT is verified here, at the edge, and the socket is handed to
//!   the user's Durable Object (docs/edge.md).
//!
//! The Durable Object classes (`ChannelRoom`, `UserSockets`) come from `ocomms_rooms_edge`
//! and are exported by this module's wasm.

mod api;
mod blobs;
mod ws;

pub use ocomms_rooms_edge::{ChannelRoom, UserSockets};

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let path = req.path();
    match path.as_str() {
        "/healthz" => Response::ok("ok"),
        "/readyz" => api::readyz(&env).await,
        "/api/v1/ws" => ws::upgrade(req, env).await,
        p if p.starts_with("/api/") || p.starts_with("/hooks/") => api::handle(req, &env).await,
        _ => api::error(&ocomms_core::ApiError::not_found("route")),
    }
}
