//! The HTTP front: health, metrics, WebSockets, the internal rooms route, the web client,
//! and everything else routed by spin.toml to a component.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ocomms_core::event::{ChannelEvent, UserNotice};
use ocomms_core::ids::{ChannelId, UserId};
use ocomms_core::{ApiError, ErrorCode};

use crate::hub::Hub;
use crate::manifest::{self, HttpTrigger};
use crate::metrics::Metrics;
use crate::runtime::{HandleError, LoadedComponent};

/// Largest request body the host buffers for a component.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Largest total size of request headers.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

pub struct AppState {
    pub hub: Arc<Hub>,
    pub metrics: Arc<Metrics>,
    pub triggers: Vec<HttpTrigger>,
    pub components: std::collections::HashMap<String, LoadedComponent>,
    pub sql: crate::db::PgSql,
    pub jwt_secret: Vec<u8>,
    pub rooms_secret: String,
    pub web_dir: Option<PathBuf>,
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

/// Wall clock and randomness for host-side code that calls the API crate.
pub struct HostEnv;

impl ocomms_api::ports::Env for HostEnv {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
    }
    fn fill_random(&self, buf: &mut [u8]) {
        if let Err(e) = getrandom::fill(buf) {
            tracing::error!(error = %e, "getrandom failed");
        }
    }
    fn log_error(&self, message: &str) {
        tracing::error!("{message}");
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/ws", get(crate::ws::upgrade))
        .route("/internal/rooms/{channel}/events", post(rooms_publish))
        .route("/internal/users/{user}/notices", post(users_notify))
        .fallback(dispatch)
        .with_state(state)
}

pub fn json_error(e: &ApiError) -> Response {
    let mut r =
        (StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(e.to_json()))
            .into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    r
}

/// Ready when PostgreSQL answers within [`READY_TIMEOUT`]: a probe must get an answer even
/// when the database hangs.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let check = async {
        match state.sql.pool.get().await {
            Ok(c) => c.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    };
    match tokio::time::timeout(READY_TIMEOUT, check).await {
        Ok(true) => (StatusCode::OK, "ready").into_response(),
        _ => json_error(&ApiError::new(ErrorCode::Unavailable, "database unavailable")),
    }
}

/// How long `/readyz` waits for PostgreSQL.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let instances = state
        .components
        .values()
        .map(LoadedComponent::instantiate_stats)
        .fold((0, std::time::Duration::ZERO), |(n, t), (n2, t2)| (n + n2, t + t2));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render(state.hub.room_count(), instances))
        .into_response()
}

/// Checks the rooms secret (constant-time) on an internal publish.
pub fn rooms_authorized(headers: &HeaderMap, secret: &str) -> bool {
    let Some(got) =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    got.len() == secret.len() && got.bytes().zip(secret.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// Parses and publishes one event for `channel`; the reply the publisher sees.
pub fn publish_event(hub: &Hub, channel: &str, body: &[u8]) -> Result<(), ApiError> {
    let channel = channel.parse::<ChannelId>().map_err(|_| ApiError::not_found("channel"))?;
    let event: ChannelEvent =
        serde_json::from_slice(body).map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
    if event.channel_id != channel {
        return Err(ApiError::bad_request("event is for another channel"));
    }
    hub.publish(event);
    Ok(())
}

/// Parses and delivers one notice to `user`'s sockets.
pub fn notify_user(hub: &Hub, user: &str, body: &[u8]) -> Result<(), ApiError> {
    let user = user.parse::<UserId>().map_err(|_| ApiError::not_found("user"))?;
    let notice: UserNotice =
        serde_json::from_slice(body).map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
    hub.notify_user(user, notice);
    Ok(())
}

async fn users_notify(
    State(state): State<Arc<AppState>>,
    UrlPath(user): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !rooms_authorized(&headers, &state.rooms_secret) {
        return json_error(&ApiError::unauthenticated("bad rooms secret"));
    }
    match notify_user(&state.hub, &user, &body) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => json_error(&e),
    }
}

/// The rooms service's public face, for a component running on another Spin runtime.
async fn rooms_publish(
    State(state): State<Arc<AppState>>,
    UrlPath(channel): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !rooms_authorized(&headers, &state.rooms_secret) {
        return json_error(&ApiError::unauthenticated("bad rooms secret"));
    }
    match publish_event(&state.hub, &channel, &body) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => json_error(&e),
    }
}

async fn dispatch(State(state): State<Arc<AppState>>, req: Request) -> Response {
    state.metrics.http_requests.fetch_add(1, Ordering::Relaxed);
    let path = req.uri().path().to_string();
    let resp = match manifest::route(&state.triggers, &path) {
        Some(trigger) => match state.components.get(&trigger.component) {
            Some(component) => run_component(&state, component, req).await,
            None => json_error(&ApiError::new(ErrorCode::Unavailable, "component not loaded")),
        },
        None => crate::web::serve(state.web_dir.as_deref(), &path).await,
    };
    let status = resp.status().as_u16();
    if (400..500).contains(&status) {
        state.metrics.http_4xx.fetch_add(1, Ordering::Relaxed);
    } else if status >= 500 {
        state.metrics.http_5xx.fetch_add(1, Ordering::Relaxed);
    }
    resp
}

async fn run_component(state: &AppState, component: &LoadedComponent, req: Request) -> Response {
    let header_bytes: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    if header_bytes > MAX_HEADER_BYTES {
        return json_error(&ApiError::new(
            ErrorCode::BadRequest,
            format!("request headers exceed {MAX_HEADER_BYTES} bytes"),
        ));
    }
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_REQUEST_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return json_error(&ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("request body exceeds {MAX_REQUEST_BYTES} bytes"),
            ));
        }
    };
    let req = http::Request::from_parts(parts, body);
    let started = Instant::now();
    let result = component.handle(req).await;
    state.metrics.component_requests.fetch_add(1, Ordering::Relaxed);
    state.metrics.component_micros.fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    match result {
        Ok(resp) => resp.map(Body::from),
        Err(HandleError::Timeout) => {
            state.metrics.component_timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(component = component.id(), "request cut off by the deadline");
            json_error(&ApiError::new(ErrorCode::Unavailable, "the request took too long and was stopped"))
        }
        Err(HandleError::Trap(msg)) => {
            state.metrics.component_traps.fetch_add(1, Ordering::Relaxed);
            tracing::error!(component = component.id(), error = %msg, "component trapped");
            json_error(&ApiError::internal())
        }
        Err(HandleError::Other(msg)) => {
            tracing::error!(component = component.id(), error = %msg, "component failed");
            json_error(&ApiError::new(ErrorCode::Unavailable, "the server is busy; retry shortly"))
        }
    }
}
