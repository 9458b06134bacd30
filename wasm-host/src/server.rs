//! The HTTP front: health, metrics, WebSockets, the internal rooms routes, the web client,
//! and everything else routed by spin.toml to a component.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ocomms_api::http as limits;
use ocomms_core::{ApiError, ErrorCode};

use crate::manifest::{self, Route};
use crate::reply::json_error;
use crate::runtime::{HandleError, LoadedComponent};
use crate::spin_headers;
use crate::state::AppState;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/ws", get(crate::ws::upgrade))
        .merge(crate::rooms_link::routes())
        .route(&format!("/{}/{{*key}}", crate::blobstore::BUCKET), axum::routing::any(crate::blobstore::over_http))
        .fallback(dispatch)
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::security::add_headers))
        .with_state(state)
}

/// `/metrics` alone, for the separate metrics address (`--metrics-listen`).
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_apart))
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::security::add_headers))
        .with_state(state)
}

/// Ready when PostgreSQL answers within [`READY_TIMEOUT`]: a probe must get an answer even
/// when the database hangs.
///
/// In a cluster the relay's state follows, and an unreachable relay leaves the host ready:
/// every host shares the relay, so taking them out of the balancer would stop the service,
/// while without the relay each still serves everything from PostgreSQL (live updates from
/// other hosts pause; sockets resync when it is back).
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, state.sql.ping()).await {
        Ok(true) => match &state.relay {
            None => (StatusCode::OK, "ready").into_response(),
            Some(relay) if relay.up.load(Ordering::Acquire) => (StatusCode::OK, "ready\nrelay: up\n").into_response(),
            Some(_) => (
                StatusCode::OK,
                "ready\nrelay: down (degraded: live updates from other hosts are paused; sockets resync from the database when it is back)\n",
            )
                .into_response(),
        },
        _ => json_error(&ApiError::new(ErrorCode::Unavailable, "database unavailable")),
    }
}

/// How long `/readyz` waits for PostgreSQL.
const READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

async fn metrics(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    metrics_for(&state, peer, &headers, true)
}

async fn metrics_apart(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    metrics_for(&state, peer, &headers, false)
}

/// The metrics, to whom [`crate::metrics::MetricsAccess`] allows; `main`: asked on the
/// main listener.
fn metrics_for(state: &AppState, peer: SocketAddr, headers: &HeaderMap, main: bool) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let client = state.client_address.of(headers, peer);
    if let Err(e) = state.metrics_access.check(authorization, client, main) {
        let mut r = json_error(&e);
        if e.code == ErrorCode::Unauthenticated {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static("Bearer"));
        }
        return r;
    }
    let instances = state
        .components
        .values()
        .map(LoadedComponent::instantiate_stats)
        .fold((0, std::time::Duration::ZERO), |(n, t), (n2, t2)| (n + n2, t + t2));
    let mut text = state.metrics.render(state.hub.room_count(), instances);
    if let Some(relay) = &state.relay {
        crate::metrics::Metrics::render_relay(&mut text, relay);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// Routes that hash or check a password. Argon2 takes tens of milliseconds of a core and
/// 19 MiB per request by design, so these take turns ([`password_permits`] at once): a flood
/// of logins queues behind itself and leaves the other cores to everything else.
pub const PASSWORD_ROUTES: [&str; 3] =
    ["/api/v1/auth/login", "/api/v1/auth/signup", "/api/v1/auth/password-reset/confirm"];
/// How long a password request may wait for its turn before it is refused (503).
const PASSWORD_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Half the cores, at least one.
pub fn password_permits() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

async fn dispatch(State(state): State<Arc<AppState>>, req: Request) -> Response {
    state.metrics.http_requests.fetch_add(1, Ordering::Relaxed);
    let path = req.uri().path().to_string();
    let resp = match manifest::route(&state.triggers, &path) {
        Some(trigger) => match state.components.get(&trigger.component) {
            Some(component) if PASSWORD_ROUTES.contains(&path.as_str()) => {
                match tokio::time::timeout(PASSWORD_QUEUE_WAIT, state.password_work.acquire()).await {
                    Ok(Ok(_turn)) => {
                        let m = &state.metrics;
                        let running = m.password_running.fetch_add(1, Ordering::Relaxed) + 1;
                        m.password_running_max.fetch_max(running, Ordering::Relaxed);
                        let resp = run_component(&state, &trigger.route, component, req).await;
                        m.password_running.fetch_sub(1, Ordering::Relaxed);
                        resp
                    }
                    _ => {
                        state.metrics.password_refused.fetch_add(1, Ordering::Relaxed);
                        let mut r = json_error(&ApiError::new(
                            ErrorCode::Unavailable,
                            "too many logins at once; retry shortly",
                        ));
                        r.headers_mut().insert(header::RETRY_AFTER, axum::http::HeaderValue::from_static("1"));
                        r
                    }
                }
            }
            Some(component) => run_component(&state, &trigger.route, component, req).await,
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

async fn run_component(state: &AppState, route: &Route, component: &LoadedComponent, req: Request) -> Response {
    if limits::header_bytes(req.headers().iter().map(|(k, v)| (k.as_str(), v.as_bytes()))) > limits::MAX_HEADER_BYTES {
        return json_error(&limits::headers_too_large());
    }
    let (mut parts, body) = req.into_parts();
    let host = parts.headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let arrival = spin_headers::Arrival {
        route,
        path: parts.uri.path(),
        path_and_query: parts.uri.path_and_query().map_or("/", |p| p.as_str()),
        host: host.as_deref(),
        client: parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0),
    };
    let mut headers = std::mem::take(&mut parts.headers);
    spin_headers::apply(&mut headers, &arrival);
    parts.headers = headers;
    let Ok(body) = axum::body::to_bytes(body, limits::MAX_REQUEST_BYTES).await else {
        return json_error(&limits::request_too_large());
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
        Err(HandleError::ResponseTooLarge { limit }) => {
            tracing::error!(component = component.id(), limit, "component response body too large; refused");
            json_error(&ApiError::internal())
        }
        Err(HandleError::Other(msg)) => {
            tracing::error!(component = component.id(), error = %msg, "component failed");
            json_error(&ApiError::new(ErrorCode::Unavailable, "the server is busy; retry shortly"))
        }
    }
}
