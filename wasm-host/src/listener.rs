//! The accept loop: HTTP/1.1 per connection through hyper, with the hygiene `axum::serve`
//! lacks. A client that connects and sends nothing, or a request head slowly, or keeps an
//! idle keep-alive connection, is cut off after [`ConnLimits::header_timeout`] (hyper starts
//! that clock whenever it waits for a request head, first or next); one address holds at
//! most [`ConnLimits::per_address`] connections at once, WebSockets included, and the next
//! one is answered 429 and closed. Upgrades (WebSockets) and graceful shutdown work as
//! before: on shutdown, idle connections close and busy ones finish their request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use ocomms_core::{ApiError, ErrorCode};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tower_service::Service as _;

use crate::addresses::{AddressSlots, Slot};
use crate::metrics::Metrics;

/// What one connection may hold and for how long.
#[derive(Debug, Clone)]
pub struct ConnLimits {
    /// From waiting for a request head (a new connection, or the next request on a
    /// keep-alive one) to having all of it.
    pub header_timeout: Duration,
    /// Connections at once per client address; `usize::MAX` for no cap. Behind a trusted
    /// proxy every peer is the proxy, so the host does not cap peers then (the WebSocket
    /// cap still counts the proxy's client addresses).
    pub per_address: usize,
}

/// The connection's place under the per-address cap, in each request's extensions: a
/// WebSocket keeps it until the socket closes, since upgraded, the connection leaves hyper.
#[derive(Debug, Clone)]
pub struct ConnSlot {
    _held: Arc<Slot>,
}

/// Refusals being written at once; past this an over-cap connection is just closed.
const MAX_REFUSING: usize = 64;
/// How long a refusal may take (writing it, then reading what the client sent meanwhile,
/// so that closing does not reset the connection before the client read the answer).
const REFUSAL_TIME: Duration = Duration::from_secs(2);

/// Serves `app` on `listener` until `stop` turns true, then waits for every connection.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let slots = AddressSlots::new(limits.per_address);
    let refusing = Arc::new(AtomicUsize::new(0));
    // Every connection task holds a sender: when all are gone, every connection is done.
    let (alive, mut all_done) = mpsc::channel::<()>(1);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, usually: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let Some(slot) = slots.take(peer.ip()) else {
            metrics.connections_refused.fetch_add(1, Ordering::Relaxed);
            if refusing.fetch_add(1, Ordering::AcqRel) < MAX_REFUSING {
                let refusing = refusing.clone();
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(REFUSAL_TIME, refuse(tcp)).await;
                    refusing.fetch_sub(1, Ordering::AcqRel);
                });
            } else {
                refusing.fetch_sub(1, Ordering::AcqRel);
            }
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let slot = ConnSlot { _held: Arc::new(slot) };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            // The peer feeds `spin-client-addr`; the slot follows an upgrade.
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(slot.clone());
            app.clone().call(req)
        });
        let conn = http.serve_connection(TokioIo::new(tcp), service).with_upgrades();
        let (mut stop, alive, metrics) = (stop.clone(), alive.clone(), metrics.clone());
        tokio::spawn(async move {
            let _alive = alive;
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                if e.is_timeout() {
                    metrics.header_timeouts.fetch_add(1, Ordering::Relaxed);
                }
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    drop(alive);
    let _ = all_done.recv().await;
}

/// Answers an over-cap connection 429 without reading its request, and closes it.
async fn refuse(mut tcp: TcpStream) {
    let body = ApiError::new(ErrorCode::RateLimited, "too many connections from this address; retry shortly")
        .to_json()
        .to_string();
    let mut head = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\ncache-control: no-store\r\nretry-after: 1\r\n",
        body.len()
    );
    for (name, value) in ocomms_api::security::SecurityHeaders::default().headers(false) {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(&body);
    if tcp.write_all(head.as_bytes()).await.is_err() || tcp.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 4096];
    while matches!(tcp.read(&mut sink).await, Ok(n) if n > 0) {}
}
