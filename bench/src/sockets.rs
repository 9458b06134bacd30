//! Opening authenticated WebSockets, many at a time, bounded in count and time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::api::User;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest a single handshake + auth + hello may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// Frames skipped while waiting for the hello (it should be the first).
const MAX_FRAMES_BEFORE_HELLO: usize = 16;

/// Connects, sends the `auth` frame and waits for `hello`.
pub async fn open(addr: SocketAddr, token: &str) -> Result<(Ws, Value)> {
    let run = async {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws")).await.context("connect")?;
        ws.send(Message::text(json!({ "type": "auth", "token": token }).to_string())).await.context("send auth")?;
        for _ in 0..MAX_FRAMES_BEFORE_HELLO {
            let msg = ws.next().await.context("closed before hello")?.context("read hello")?;
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str())?;
                    match v.get("type").and_then(Value::as_str) {
                        Some("hello") => return Ok((ws, v)),
                        Some("error") => bail!("server error frame: {v}"),
                        _ => {}
                    }
                }
                Message::Close(f) => bail!("closed before hello: {f:?}"),
                _ => {}
            }
        }
        bail!("no hello within {MAX_FRAMES_BEFORE_HELLO} frames")
    };
    tokio::time::timeout(OPEN_TIMEOUT, run).await.context("open timed out")?
}

/// Whether a hello lists `channel` among its subscriptions.
pub fn subscribed(hello: &Value, channel: &str) -> bool {
    hello
        .get("subscriptions")
        .and_then(Value::as_array)
        .is_some_and(|subs| subs.iter().any(|s| s.get("channel_id").and_then(Value::as_str) == Some(channel)))
}

#[derive(Debug, Default)]
pub struct Opened {
    pub sockets: Vec<(Ws, Value)>,
    pub errors: u64,
    pub first_error: Option<String>,
    /// The deadline passed before every socket was opened.
    pub timed_out: bool,
    pub elapsed: Duration,
    /// Per-socket open latency, microseconds.
    pub open_us: Vec<u64>,
}

/// Opens up to `count` sockets, round-robin over `users`, `concurrency` at a time, and
/// stops starting new ones at `deadline`.
pub async fn open_many(
    addr: SocketAddr,
    users: &[User],
    count: usize,
    concurrency: usize,
    deadline: Instant,
) -> Opened {
    let started = Instant::now();
    let mut out = Opened { sockets: Vec::with_capacity(count), ..Opened::default() };
    if users.is_empty() {
        out.first_error = Some("no users".into());
        return out;
    }
    let mut stream = futures::stream::iter(0..count)
        .map(|i| {
            let token = users.get(i % users.len()).map(|u| u.token.clone()).unwrap_or_default();
            async move {
                let t = Instant::now();
                (open(addr, &token).await, t.elapsed())
            }
        })
        .buffer_unordered(concurrency);
    let stop = tokio::time::sleep_until(deadline.into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            next = stream.next() => match next {
                None => break,
                Some((Ok(ws), took)) => {
                    out.sockets.push(ws);
                    out.open_us.push(took.as_micros() as u64);
                }
                Some((Err(e), _)) => {
                    out.errors += 1;
                    if out.first_error.is_none() {
                        out.first_error = Some(format!("{e:#}"));
                    }
                }
            },
            _ = &mut stop => {
                out.timed_out = true;
                break;
            }
        }
    }
    out.elapsed = started.elapsed();
    out
}
