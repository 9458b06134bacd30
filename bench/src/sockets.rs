//! Opening WebSockets, many at a time, bounded in count and time: OComms sockets (auth frame,
//! then `hello`) and Socket.IO sockets (Engine.IO v4 / Socket.IO v5 over the WebSocket
//! transport, spoken here so that no npm client runs in the load generator).

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest a single handshake (+ auth + hello, or + join) may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// Frames skipped while waiting for the hello or the join ack.
const MAX_FRAMES_BEFORE_READY: usize = 16;

/// Connects to the host, sends the `auth` frame and waits for `hello`.
pub async fn open(addr: SocketAddr, token: &str) -> Result<(Ws, Value)> {
    let run = async {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/api/v1/ws")).await.context("connect")?;
        ws.send(Message::text(json!({ "type": "auth", "token": token }).to_string())).await.context("send auth")?;
        for _ in 0..MAX_FRAMES_BEFORE_READY {
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
        bail!("no hello within {MAX_FRAMES_BEFORE_READY} frames")
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

/// Connects to a Socket.IO server and joins `room`: Engine.IO open packet `0{...}`, namespace
/// connect `40` (answered by `40{...}`), then `421["join",room]`, acknowledged by `431[...]`.
/// Engine.IO pings (`2`) that arrive meanwhile are answered (`3`).
pub async fn open_socketio(addr: SocketAddr, room: &str) -> Result<Ws> {
    let run = async {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.context("connect")?;
        let mut step = 0;
        for _ in 0..MAX_FRAMES_BEFORE_READY {
            let msg = ws.next().await.context("closed during the handshake")?.context("read")?;
            let text = match msg {
                Message::Text(t) => t,
                Message::Close(f) => bail!("closed during the handshake: {f:?}"),
                _ => continue,
            };
            let t = text.as_str();
            if t == "2" {
                ws.send(Message::text("3")).await?;
                continue;
            }
            match step {
                0 if t.starts_with('0') => {
                    ws.send(Message::text("40")).await.context("send connect")?;
                    step = 1;
                }
                1 if t.starts_with("40") => {
                    let join = format!("421{}", json!(["join", room]));
                    ws.send(Message::text(join)).await.context("send join")?;
                    step = 2;
                }
                2 if t.starts_with("431") => return Ok(ws),
                _ if t.starts_with("44") => bail!("namespace connect refused: {t}"),
                _ => {}
            }
        }
        bail!("no join ack within {MAX_FRAMES_BEFORE_READY} frames")
    };
    tokio::time::timeout(OPEN_TIMEOUT, run).await.context("open timed out")?
}

#[derive(Debug, Default)]
pub struct Opened {
    /// Each socket with the index it was opened for (which decides its user and channel).
    pub sockets: Vec<(Ws, usize)>,
    pub errors: u64,
    pub first_error: Option<String>,
    /// The deadline passed before every socket was opened.
    pub timed_out: bool,
    pub elapsed: Duration,
    /// Per-socket open latency, microseconds.
    pub open_us: Vec<u64>,
}

/// Opens sockets `0..count` with `open(i)`, `concurrency` at a time, and stops starting new
/// ones at `deadline`.
pub async fn open_many<F, Fut>(count: usize, concurrency: usize, deadline: Instant, open: F) -> Opened
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Ws>>,
{
    let started = Instant::now();
    let mut out = Opened { sockets: Vec::with_capacity(count), ..Opened::default() };
    let mut stream = futures::stream::iter(0..count)
        .map(|i| {
            let fut = open(i);
            async move {
                let t = Instant::now();
                (i, fut.await, t.elapsed())
            }
        })
        .buffer_unordered(concurrency.max(1));
    let stop = tokio::time::sleep_until(deadline.into());
    tokio::pin!(stop);
    loop {
        tokio::select! {
            next = stream.next() => match next {
                None => break,
                Some((i, Ok(ws), took)) => {
                    out.sockets.push((ws, i));
                    out.open_us.push(took.as_micros() as u64);
                }
                Some((_, Err(e), _)) => {
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
