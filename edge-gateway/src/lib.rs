//! The OComms Cloudflare Worker.
//!
//! Today it answers its health check and reports every other route as not found in the
//! API's error shape; the API routes (through the functions API crate with edge adapters)
//! and the per-channel Durable Objects are the edge deployment's work (see docs/edge.md).

use worker::{Context, Env, Request, Response, Result, event};

#[event(fetch)]
async fn fetch(req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    match req.path().as_str() {
        "/healthz" => Response::ok("ok"),
        _ => {
            let body = ocomms_core::ApiError::not_found("route").to_json();
            Ok(Response::from_json(&body)?.with_status(404))
        }
    }
}
