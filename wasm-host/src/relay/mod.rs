//! The relay between the hosts of a cluster: Valkey or Redis pub/sub, one channel.
//!
//! Every event a host's components commit, every user notice, typing signal and change in a
//! user's presence is published once; every other host hands it to its own rooms, which
//! drop what they have already seen. PostgreSQL stays the one source of truth: nothing
//! here is needed for correctness. When the relay is unreachable each host still serves its
//! own sockets; when it comes back, every socket of a host that lost its subscription is
//! told to `resync` (re-read from PostgreSQL what it missed), and a host that could not
//! publish everything it had to asks the whole cluster to do the same.
//!
//! Presence: each host reports its users as their sockets change, and all of them every
//! [`RelayConfig::heartbeat`]; the others forget a host not heard from for
//! [`RelayConfig::presence_ttl`] (a host killed without a word), or at once when it says it
//! is leaving.

pub mod message;
pub mod presence;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use redis::AsyncCommands as _;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use crate::hub::{Hub, Outgoing, RelayOut};
use crate::state::HostEnv;
use message::{Envelope, Message};

/// Messages queued for the relay before the hub counts it as overflowing (and every host
/// must resync once it is back).
pub const QUEUE: usize = 65_536;

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// `redis://[:password@]host:port[/db]` (no TLS: keep the relay on a private network).
    pub url: String,
    /// The pub/sub channel: hosts of one install share it; installs sharing a server differ.
    pub channel: String,
    pub heartbeat: Duration,
    /// How long a silent host's users stay present elsewhere.
    pub presence_ttl: Duration,
}

impl RelayConfig {
    pub const DEFAULT_CHANNEL: &str = "ocomms:relay";
    pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(5);
    /// Three heartbeats: a host is gone after missing three in a row.
    pub const DEFAULT_PRESENCE_TTL: Duration = Duration::from_secs(15);

    pub fn new(url: String) -> Self {
        Self {
            url,
            channel: Self::DEFAULT_CHANNEL.to_owned(),
            heartbeat: Self::DEFAULT_HEARTBEAT,
            presence_ttl: Self::DEFAULT_PRESENCE_TTL,
        }
    }
}

/// What the rest of the host sees of the relay.
#[derive(Debug, Default)]
pub struct RelayStatus {
    /// Subscribed and answering pings now.
    pub up: Arc<AtomicBool>,
    pub published: AtomicU64,
    pub received: AtomicU64,
    /// Times the subscription was lost and made again.
    pub reconnects: AtomicU64,
    /// Times the hub's queue overflowed (each one made the cluster resync).
    pub overflows: AtomicU64,
}

/// The hub's half, to build it with ([`Hub::with_relay`]), and the relay's.
pub fn channel() -> (RelayOut, RelayIn) {
    let (tx, rx) = mpsc::channel(QUEUE);
    let overflowed = Arc::new(AtomicBool::new(false));
    let status = Arc::new(RelayStatus::default());
    let out = RelayOut { tx: tx.clone(), overflowed: overflowed.clone(), up: status.up_flag() };
    (out, RelayIn { rx, tx, overflowed, status })
}

pub struct RelayIn {
    rx: mpsc::Receiver<Outgoing>,
    /// For the relay's own messages (heartbeats, sync requests), in order with the hub's.
    tx: mpsc::Sender<Outgoing>,
    overflowed: Arc<AtomicBool>,
    status: Arc<RelayStatus>,
}

/// The relay's own messages: nobody waits for them.
fn own(tx: &mpsc::Sender<Outgoing>, message: Message) {
    let _ = tx.try_send(Outgoing { message, published: None });
}

impl RelayStatus {
    fn up_flag(&self) -> Arc<AtomicBool> {
        self.up.clone()
    }
}

/// Backoff between attempts to reach the relay.
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);
/// A subscription that does not answer a ping this fast counts as lost.
const PING_EVERY: Duration = Duration::from_secs(2);
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Starts the publisher, the subscriber and the heartbeat; they run until `stop`.
pub fn spawn(
    cfg: RelayConfig,
    hub: Arc<Hub>,
    input: RelayIn,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(Arc<RelayStatus>, tokio::task::JoinHandle<()>)> {
    let client = redis::Client::open(cfg.url.as_str())
        .map_err(|e| anyhow::anyhow!("the relay URL {}: {e}", redact(&cfg.url)))?;
    let id = Uuid::new_v4();
    tracing::info!(relay = %redact(&cfg.url), channel = %cfg.channel, host = %id, "joining the cluster relay");
    let RelayIn { rx, tx, overflowed, status } = input;
    let publisher = tokio::spawn(publish_loop(client.clone(), cfg.channel.clone(), id, rx, overflowed, status.clone()));
    tokio::spawn(subscribe_loop(client, cfg.clone(), id, hub.clone(), tx.clone(), status.clone(), stop.clone()));
    tokio::spawn(heartbeat_loop(cfg, hub, tx.clone(), stop.clone()));
    // On shutdown: say goodbye (after what is queued), and wait until it is out.
    let done = tokio::spawn(async move {
        let mut stop = stop;
        let _ = stop.wait_for(|s| *s).await;
        let (said, out) = tokio::sync::oneshot::channel();
        let _ = tx.send(Outgoing { message: Message::Leaving, published: Some(said) }).await;
        let _ = tokio::time::timeout(Duration::from_secs(2), out).await;
        publisher.abort();
    });
    Ok((status, done))
}

/// Publishes what the hub queued, in order, one at a time; a message that fails is retried
/// on a new connection, so a short outage delays messages instead of losing them.
async fn publish_loop(
    client: redis::Client,
    channel: String,
    id: Uuid,
    mut rx: mpsc::Receiver<Outgoing>,
    overflowed: Arc<AtomicBool>,
    status: Arc<RelayStatus>,
) {
    let mut pending: Option<(Vec<u8>, Option<tokio::sync::oneshot::Sender<()>>)> = None;
    let mut retry = RETRY_MIN;
    loop {
        let mut conn = match client.get_multiplexed_async_connection().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach the relay to publish; retrying");
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        retry = RETRY_MIN;
        loop {
            if overflowed.swap(false, Ordering::AcqRel) {
                status.overflows.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("the relay queue overflowed: every host's sockets resync");
                // Ahead of what is queued: the receivers resync, then get the rest live.
                let resync = Envelope { from: id, message: Message::Resync }.encode();
                if conn.publish::<_, _, ()>(&channel, resync).await.is_err() {
                    overflowed.store(true, Ordering::Release);
                    break;
                }
            }
            let (bytes, published) = match pending.take() {
                Some(p) => p,
                None => match rx.recv().await {
                    Some(Outgoing { message, published }) => (Envelope { from: id, message }.encode(), published),
                    None => return,
                },
            };
            match conn.publish::<_, _, ()>(&channel, &bytes).await {
                Ok(()) => {
                    status.published.fetch_add(1, Ordering::Relaxed);
                    if let Some(waiting) = published {
                        let _ = waiting.send(());
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "publishing to the relay failed; reconnecting");
                    // Whoever waited gives up (their wait is bounded); the message still goes.
                    pending = Some((bytes, None));
                    break;
                }
            }
        }
    }
}

/// Listens on the channel, reconnecting whenever the subscription breaks or stops
/// answering pings; after a break, this host's sockets resync.
async fn subscribe_loop(
    client: redis::Client,
    cfg: RelayConfig,
    id: Uuid,
    hub: Arc<Hub>,
    tx: mpsc::Sender<Outgoing>,
    status: Arc<RelayStatus>,
    mut stop: watch::Receiver<bool>,
) {
    let mut retry = RETRY_MIN;
    let mut was_up = false;
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&cfg.channel).await?;
            Ok::<_, redis::RedisError>(pubsub.split())
        };
        match tokio::time::timeout(RETRY_MAX, subscribed).await {
            Ok(Ok((mut sink, mut stream))) => {
                retry = RETRY_MIN;
                status.up.store(true, Ordering::Release);
                tracing::info!("subscribed to the relay");
                if was_up {
                    status.reconnects.fetch_add(1, Ordering::Relaxed);
                    // What other hosts published meanwhile never reached us.
                    hub.resync_all();
                }
                was_up = true;
                own(&tx, Message::SyncRequest);
                let mut ping = tokio::time::interval(PING_EVERY);
                ping.tick().await;
                loop {
                    tokio::select! {
                        msg = stream.next() => {
                            let Some(msg) = msg else { break };
                            status.received.fetch_add(1, Ordering::Relaxed);
                            match Envelope::decode(msg.get_payload_bytes()) {
                                Ok(env) if env.from == id => {}
                                Ok(Envelope { from, message: Message::SyncRequest }) => {
                                    tracing::debug!(%from, "a host joined the relay");
                                    own(&tx, Message::Heartbeat { users: hub.local_reports() });
                                }
                                Ok(env) => hub.receive(env.from, env.message, HostEnv::now_ms()),
                                Err(e) => tracing::warn!(error = %e, "an unreadable relay message; ignored"),
                            }
                        }
                        _ = ping.tick() => {
                            let alive = tokio::time::timeout(PING_TIMEOUT, sink.ping::<redis::Value>()).await;
                            if !matches!(alive, Ok(Ok(_))) {
                                tracing::warn!("the relay stopped answering");
                                break;
                            }
                        }
                        _ = stop.changed() => {
                            status.up.store(false, Ordering::Release);
                            return;
                        }
                    }
                }
                status.up.store(false, Ordering::Release);
                tracing::warn!("lost the relay subscription; live updates from other hosts pause until it is back");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot subscribe to the relay; retrying"),
            Err(_) => tracing::warn!("subscribing to the relay timed out; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(retry) => {}
            _ = stop.changed() => return,
        }
        retry = (retry * 2).min(RETRY_MAX);
    }
}

/// Reports every local user each period, and forgets hosts that stopped doing so.
async fn heartbeat_loop(cfg: RelayConfig, hub: Arc<Hub>, tx: mpsc::Sender<Outgoing>, mut stop: watch::Receiver<bool>) {
    let mut beat = tokio::time::interval(cfg.heartbeat);
    let mut sweep = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = beat.tick() => {
                own(&tx, Message::Heartbeat { users: hub.local_reports() });
            }
            _ = sweep.tick() => hub.expire_remote(HostEnv::now_ms()),
            _ = stop.changed() => return,
        }
    }
}

/// The URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}
