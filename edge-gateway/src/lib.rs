//! The OComms Cloudflare Worker.
//!
//! # Layout
//! - this file: the fetch entry; routes `/healthz`, `/readyz`, the WebSocket upgrade and the
//!   API.
//! - [`api`]: `/api/v1/*` and `/hooks/*` through `ocomms_api::Api`, unchanged, with the edge adapters of
//!   `ocomms_rooms_edge` (PostgreSQL over a Worker socket, Durable Object stubs, JS clock).
//! - [`deliver`]: requests to apps over `fetch`, and running the delivery queue after
//!   requests and from the Cron Trigger.
//! - [`ws`]: `/api/v1/ws`: the JWT is verified here, at the edge, and the socket is handed to
//!   the user's Durable Object (docs/edge.md).
//!
//! The Durable Object classes (`ChannelRoom`, `UserSockets`) come from `ocomms_rooms_edge`
//! and are exported by this module's wasm.

mod api;
mod blobs;
mod deliver;
mod ws;

pub use ocomms_rooms_edge::{ChannelRoom, UserSockets};

use worker::{Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    // Cloudflare hands the Worker the URL the browser used, scheme included.
    let tls = req.url().is_ok_and(|u| u.scheme() == "https");
    let resp = match path.as_str() {
        "/healthz" => Response::ok("ok"),
        "/readyz" => api::readyz(&env).await,
        // The upgrade's answer goes to the socket, not to a page.
        "/api/v1/ws" => return ws::upgrade(req, env).await,
        p if p.starts_with("/api/") || p.starts_with("/hooks/") => api::handle(req, &env, &ctx).await,
        _ => api::error(&ocomms_core::ApiError::not_found("route")),
    };
    resp.map(|r| with_security_headers(r, tls))
}

/// The headers every runtime sends ([`ocomms_api::security`]); the API's own answers
/// carry them already, the Worker's (health, its errors) get them here.
fn with_security_headers(mut resp: Response, tls: bool) -> Response {
    let headers = resp.headers_mut();
    for (name, value) in ocomms_api::security::SecurityHeaders::default().headers(tls) {
        if !headers.has(name).unwrap_or(false) {
            let _ = headers.set(name, value);
        }
    }
    resp
}

/// The Cron Trigger: deliveries to apps whose retry fell due with no request to follow them.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    match api::build(&env) {
        Ok(api) => deliver::rounds(&api).await,
        Err(e) => worker::console_error!("ocomms worker misconfigured: {}", ocomms_api::error::chain(&e)),
    }
}
