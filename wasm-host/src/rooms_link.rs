//! The internal rooms routes: how a component publishes committed events and user notices
//! to the hub. One handler serves both ways in:
//! - over HTTP (`POST /internal/...` on the host's port), for a component running on
//!   another Spin runtime;
//! - in process, for the components this host runs: requests to `http://rooms.internal`
//!   never touch a socket, [`InProcessRooms`] hands them to the same handler.
//!
//! Both check the rooms secret (a bearer token, compared in constant time). In a cluster,
//! what arrives here also goes to the other hosts through the relay ([`crate::relay`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use ocomms_core::event::{ChannelEvent, UserNotice};
use ocomms_core::ids::{ChannelId, UserId};
use ocomms_core::{ApiError, ErrorCode};

use crate::hub::Hub;
use crate::relay::message::Message;
use crate::runtime::OutboundInterceptor;
use crate::state::AppState;

/// The authority components use for the in-process route.
pub const ROOMS_AUTHORITY: &str = "rooms.internal";

/// Every path under `/internal/`, for the host's router: [`handle`] holds the one table.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/internal/{*path}", any(over_http))
}

async fn over_http(State(state): State<Arc<AppState>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, ocomms_api::http::MAX_REQUEST_BYTES).await else {
        return crate::reply::json_error(&ocomms_api::http::request_too_large());
    };
    let (status, body, relayed) =
        handle(&state.hub, &state.rooms_secret, &parts.method, parts.uri.path(), &parts.headers, &body);
    wait_for_relay(relayed).await;
    reply(status, body)
}

/// The longest a publish waits for the relay to confirm (it is best effort, like the
/// publish itself: a slow relay must not hold requests).
const RELAY_CONFIRM_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

async fn wait_for_relay(relayed: Option<tokio::sync::oneshot::Receiver<()>>) {
    if let Some(rx) = relayed {
        let _ = tokio::time::timeout(RELAY_CONFIRM_WAIT, rx).await;
    }
}

/// The internal routes: both are `POST`.
enum Route<'a> {
    /// `/internal/rooms/{channel}/events`: a committed event for the channel's room.
    Publish(&'a str),
    /// `/internal/users/{user}/notices`: a notice for the user's sockets.
    Notify(&'a str),
}

/// What the relay will confirm, in a cluster ([`Hub::relay_confirmed`]).
type Relayed = Option<tokio::sync::oneshot::Receiver<()>>;

/// One internal request: `202` with no body, or an error's status and JSON.
fn handle(
    hub: &Hub,
    secret: &str,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> (StatusCode, Option<ApiError>, Relayed) {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let route = match (method == Method::POST, segs.as_slice()) {
        (true, ["internal", "rooms", channel, "events"]) => Route::Publish(channel),
        (true, ["internal", "users", user, "notices"]) => Route::Notify(user),
        _ => return (StatusCode::NOT_FOUND, Some(ApiError::not_found("route")), None),
    };
    if !authorized(headers, secret) {
        return (StatusCode::UNAUTHORIZED, Some(ApiError::unauthenticated("bad rooms secret")), None);
    }
    let outcome = match route {
        Route::Publish(channel) => publish_event(hub, channel, body),
        Route::Notify(user) => notify_user(hub, user, body),
    };
    match outcome {
        Ok(relayed) => (StatusCode::ACCEPTED, None, relayed),
        Err(e) => (StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), Some(e), None),
    }
}

fn reply(status: StatusCode, error: Option<ApiError>) -> Response {
    match error {
        Some(e) => crate::reply::json_error(&e),
        None => status.into_response(),
    }
}

/// Checks the rooms secret in constant time.
fn authorized(headers: &HeaderMap, secret: &str) -> bool {
    let Some(got) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    got.len() == secret.len() && got.bytes().zip(secret.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Parses and publishes one event for `channel`.
fn publish_event(hub: &Hub, channel: &str, body: &[u8]) -> Result<Relayed, ApiError> {
    let channel = channel.parse::<ChannelId>().map_err(|_| ApiError::not_found("channel"))?;
    let event: ChannelEvent =
        serde_json::from_slice(body).map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
    if event.channel_id != channel {
        return Err(ApiError::bad_request("event is for another channel"));
    }
    hub.publish(event.clone());
    Ok(hub.relay_confirmed(Message::Event { event }))
}

/// Parses and delivers one notice to `user`'s sockets.
fn notify_user(hub: &Hub, user: &str, body: &[u8]) -> Result<Relayed, ApiError> {
    let user = user.parse::<UserId>().map_err(|_| ApiError::not_found("user"))?;
    let notice: UserNotice =
        serde_json::from_slice(body).map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
    hub.notify_user(user, notice.clone());
    Ok(hub.relay_confirmed(Message::Notice { user_id: user, notice }))
}

/// The in-process way in, for the components this host runs.
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
        let (status, error, relayed) =
            handle(&self.hub, &self.secret, req.method(), req.uri().path(), req.headers(), req.body());
        let body = error.map(|e| Bytes::from(e.to_json().to_string())).unwrap_or_default();
        let resp = http::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body)
            .unwrap_or_default();
        Some(Box::pin(async move {
            wait_for_relay(relayed).await;
            resp
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn the_secret_must_match_exactly() {
        assert!(authorized(&bearer("s3cret"), "s3cret"));
        for wrong in ["s3cre", "s3cret!", "S3cret", ""] {
            assert!(!authorized(&bearer(wrong), "s3cret"), "{wrong:?}");
        }
        assert!(!authorized(&HeaderMap::new(), "s3cret"));
    }

    #[test]
    fn bad_internal_requests_are_refused_with_json_errors() {
        let hub = Hub::new(ocomms_rooms::RoomLimits::default(), Arc::default());
        let ok = bearer("k");
        let ch = "00000000-0000-0000-0000-000000000001";
        let path = format!("/internal/rooms/{ch}/events");
        let cases: [(&Method, &str, &HeaderMap, &[u8], u16); 6] = [
            (&Method::POST, &path, &HeaderMap::new(), b"{}", 401),
            (&Method::GET, "/internal/nope", &HeaderMap::new(), b"", 404),
            (&Method::POST, "/internal/rooms/nope/events", &ok, b"{}", 404),
            (&Method::POST, &path, &ok, b"{", 400),
            (&Method::GET, &path, &ok, b"", 404),
            (&Method::POST, "/internal/elsewhere", &ok, b"", 404),
        ];
        for (method, path, headers, body, want) in cases {
            let (status, error, _) = handle(&hub, "k", method, path, headers, body);
            assert_eq!(status.as_u16(), want, "{method} {path}");
            assert!(error.is_some());
        }
        let event = format!(r#"{{"channel_id":"{ch}","seq":1,"kind":"message.posted","data":{{}},"at_ms":0}}"#);
        let (status, error, relayed) = handle(&hub, "k", &Method::POST, &path, &ok, event.as_bytes());
        assert_eq!((status.as_u16(), error), (202, None));
        assert!(relayed.is_none(), "a lone host waits for no relay");
        let other = "00000000-0000-0000-0000-000000000002";
        let (status, _, _) =
            handle(&hub, "k", &Method::POST, &format!("/internal/rooms/{other}/events"), &ok, event.as_bytes());
        assert_eq!(status.as_u16(), 400, "an event for another channel");
    }
}
