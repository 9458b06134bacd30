//! Runs the queue of deliveries to apps (events, outgoing webhooks): the component does the
//! work, one round per call of its internal route ([`ocomms_api::router::INTERNAL_DELIVERIES`]);
//! this task decides when. PostgreSQL's triggers `NOTIFY` when they queue something, a round
//! says when the next retry falls due, and a slow poll covers a notification missed while
//! the listening connection was down. Several hosts may run rounds at once: the queue's
//! leases keep them from sending the same delivery.
//!
//! On a Spin deployment this host is the rooms service, so it runs the Spin app's queue too:
//! the same database, the same component.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use ocomms_api::repo::app_delivery::NOTIFY_CHANNEL;
use ocomms_api::router::INTERNAL_DELIVERIES;
use tokio::sync::{Notify, watch};

use crate::manifest;
use crate::state::AppState;

/// Longest wait between rounds when nothing is known to be due.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// Wait before listening again after the listening connection broke.
const RELISTEN_AFTER: Duration = Duration::from_secs(2);

/// Starts the runner and the listener that wakes it.
pub fn spawn(
    state: Arc<AppState>,
    listen_url: Option<String>,
    stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let wake = Arc::new(Notify::new());
    tokio::spawn(listen(listen_url, NOTIFY_CHANNEL, wake.clone(), stop.clone()));
    tokio::spawn(run(state, wake, stop))
}

async fn run(state: Arc<AppState>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    loop {
        let wait = match round(&state).await {
            Ok(r) if r.sent > 0 => Duration::ZERO,
            Ok(r) => r.next_in_ms.map_or(IDLE_POLL, |ms| Duration::from_millis(ms.max(0) as u64).min(IDLE_POLL)),
            Err(e) => {
                tracing::warn!(error = %e, "delivery round failed; trying again shortly");
                RELISTEN_AFTER
            }
        };
        if wait.is_zero() {
            if *stop.borrow() {
                return;
            }
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

#[derive(serde::Deserialize)]
struct Round {
    sent: usize,
    next_in_ms: Option<i64>,
}

/// One round, through the component that serves the internal route.
async fn round(state: &AppState) -> anyhow::Result<Round> {
    let trigger = manifest::route(&state.triggers, INTERNAL_DELIVERIES)
        .ok_or_else(|| anyhow::anyhow!("no component serves {INTERNAL_DELIVERIES}"))?;
    let component = state
        .components
        .get(&trigger.component)
        .ok_or_else(|| anyhow::anyhow!("component {} not loaded", trigger.component))?;
    let mut req = http::Request::builder()
        .method("POST")
        .uri(INTERNAL_DELIVERIES)
        .header("authorization", format!("Bearer {}", state.rooms_secret))
        .body(Bytes::new())?;
    let arrival = crate::spin_headers::Arrival {
        route: &trigger.route,
        path: INTERNAL_DELIVERIES,
        path_and_query: INTERNAL_DELIVERIES,
        host: Some("localhost"),
        client: None,
    };
    crate::spin_headers::apply(req.headers_mut(), &arrival);
    let resp = component.handle(req).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    if !resp.status().is_success() {
        anyhow::bail!("{} answered {}: {}", INTERNAL_DELIVERIES, resp.status(), String::from_utf8_lossy(resp.body()));
    }
    Ok(serde_json::from_slice(resp.body())?)
}

/// How often the runners look for work when nothing can `LISTEN` (behind a transaction
/// pooler with no direct database URL).
const POLL_WITHOUT_LISTEN: Duration = Duration::from_secs(2);

/// `LISTEN`s on `channel` on a connection of its own, reconnecting whenever it breaks; every
/// notification (or reconnection) wakes the runner. Without a URL to listen on, wakes it
/// every [`POLL_WITHOUT_LISTEN`] instead.
pub(crate) async fn listen(
    db_url: Option<String>,
    channel: &'static str,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let Some(db_url) = db_url else {
        let mut tick = tokio::time::interval(POLL_WITHOUT_LISTEN);
        loop {
            tokio::select! {
                _ = tick.tick() => wake.notify_one(),
                _ = stop.changed() => return,
            }
        }
    };
    loop {
        match tokio_postgres::connect(&db_url, tokio_postgres::NoTls).await {
            Ok((client, mut conn)) => {
                // The connection task forwards notifications; it ends when the connection does.
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages = futures::stream::poll_fn(move |cx| conn.poll_message(cx));
                    while let Some(Ok(msg)) = messages.next().await {
                        if matches!(msg, tokio_postgres::AsyncMessage::Notification(_)) && tx.send(()).is_err() {
                            break;
                        }
                    }
                });
                match client.batch_execute(&format!("LISTEN {channel}")).await {
                    Ok(()) => {
                        // Anything queued while no one listened is picked up now.
                        wake.notify_one();
                        loop {
                            tokio::select! {
                                msg = rx.recv() => match msg {
                                    Some(()) => wake.notify_one(),
                                    None => break,
                                },
                                _ = stop.changed() => {
                                    driver.abort();
                                    return;
                                }
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, channel, "cannot listen for notifications; polling meanwhile"),
                }
                driver.abort();
            }
            Err(e) => tracing::warn!(error = %e, channel, "cannot listen for notifications; polling meanwhile"),
        }
        tokio::select! {
            _ = tokio::time::sleep(RELISTEN_AFTER) => {}
            _ = stop.changed() => return,
        }
    }
}
