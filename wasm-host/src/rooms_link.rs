//! The component's route to the rooms, kept inside the process: requests to
//! `http://rooms.internal` never touch a socket; they land in the hub directly.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;

use crate::hub::Hub;
use crate::runtime::OutboundInterceptor;
use crate::server::{notify_user, publish_event, rooms_authorized};

pub const ROOMS_AUTHORITY: &str = "rooms.internal";

pub struct InProcessRooms {
    pub hub: Arc<Hub>,
    pub secret: String,
}

impl OutboundInterceptor for InProcessRooms {
    fn handles(&self, authority: &str, scheme: &str) -> bool {
        authority == ROOMS_AUTHORITY && scheme == "http"
    }

    fn intercept(
        &self,
        req: http::Request<Bytes>,
    ) -> Option<Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>> {
        let reply = |status: StatusCode, body: String| {
            http::Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Bytes::from(body))
                .unwrap_or_default()
        };
        let resp = if !rooms_authorized(req.headers(), &self.secret) {
            reply(
                StatusCode::UNAUTHORIZED,
                ocomms_core::ApiError::unauthenticated("bad rooms secret").to_json().to_string(),
            )
        } else {
            let segs: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
            let outcome = match (req.method() == http::Method::POST, segs.as_slice()) {
                (true, ["internal", "rooms", channel, "events"]) => Some(publish_event(&self.hub, channel, req.body())),
                (true, ["internal", "users", user, "notices"]) => Some(notify_user(&self.hub, user, req.body())),
                _ => None,
            };
            match outcome {
                Some(Ok(())) => reply(StatusCode::ACCEPTED, String::new()),
                Some(Err(e)) => {
                    reply(StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), e.to_json().to_string())
                }
                None => reply(StatusCode::NOT_FOUND, ocomms_core::ApiError::not_found("route").to_json().to_string()),
            }
        };
        Some(Box::pin(async move { resp }))
    }
}
