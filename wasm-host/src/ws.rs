//! One WebSocket per client connection, subscribed to all of the user's channels.
//!
//! Protocol: JSON text frames, or MessagePack binary frames with the `ocomms.msgpack`
//! subprotocol. The client authenticates with `Authorization: Bearer` on the upgrade, or
//! (browsers cannot set headers) with an `auth` frame first; never with a token in the URL.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures::stream::SplitSink;
use futures::{SinkExt as _, StreamExt as _};
use ocomms_api::socket;
use ocomms_core::event::{ClientFrame, Encoding, FrameError, MSGPACK_SUBPROTOCOL, ServerFrame};

use tokio::sync::mpsc;

use crate::hub::Frame;
use crate::listener::ConnSlot;
use crate::state::{AppState, HostEnv};
use crate::wire::encode;

/// How long a client has to send its `auth` frame.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(30);
const JSON_SUBPROTOCOL: &str = "ocomms.json";
/// What one read takes in. Clients send small commands (typing, presence, pings): a larger
/// frame still arrives whole, the buffer grows for it. tungstenite zero-fills the whole
/// buffer, so this is resident per socket, idle or not.
const READ_BUFFER_BYTES: usize = 2 * 1024;
/// Frames are written out once this much is buffered (and at every flush).
const WRITE_BUFFER_BYTES: usize = 8 * 1024;

pub async fn upgrade(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    conn_slot: Option<Extension<ConnSlot>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    // Held while the socket lives: the connection's place and the socket's own.
    let places = (conn_slot, state.ws_slots.take(state.client_address.of(&headers, peer)));
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::to_string);
    ws.protocols([MSGPACK_SUBPROTOCOL, JSON_SUBPROTOCOL])
        // tungstenite drops a socket whose frame passes this limit without a close frame;
        // headroom up to the HTTP body limit lets `serve` close bigger-than-allowed frames
        // with 1009 instead. Nothing is preallocated for it.
        .max_message_size(ocomms_api::http::MAX_REQUEST_BYTES)
        // tungstenite's default 128 KiB read buffer is zero-filled per socket: with tens of
        // thousands of mostly idle sockets that dominated memory (bench: ~135 KB/socket).
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .on_upgrade(move |mut socket| async move {
            let encoding = match socket.protocol().and_then(|p| p.to_str().ok()) {
                Some(MSGPACK_SUBPROTOCOL) => Encoding::MsgPack,
                _ => Encoding::Json,
            };
            let (_conn, Some(_socket)) = places else {
                state.metrics.sockets_refused.fetch_add(1, Ordering::Relaxed);
                let refusal = socket::Refusal::TooManyFromAddress;
                return close(&mut socket, refusal.close_code(), &refusal.to_string()).await;
            };
            serve(state, socket, encoding, bearer).await;
        })
}

/// Frames already queued behind the one received go out with it, flushed once: a burst
/// costs one write to the kernel instead of one per frame.
const WRITE_BATCH: usize = 64;

async fn write_queued(
    tx: &mut SplitSink<WebSocket, Message>,
    rx: &mut mpsc::Receiver<Frame>,
    encoding: Encoding,
    first: Frame,
) -> bool {
    let mut next = Some(first);
    let mut written = 0;
    while let Some(frame) = next {
        if let Some(m) = frame.message(encoding)
            && tx.feed(m).await.is_err()
        {
            return false;
        }
        written += 1;
        next = if written < WRITE_BATCH { rx.try_recv().ok() } else { None };
    }
    tx.flush().await.is_ok()
}

fn decode(encoding: Encoding, msg: &Message) -> Option<Result<ClientFrame, FrameError>> {
    let bytes: &[u8] = match msg {
        Message::Text(t) => t.as_bytes(),
        Message::Binary(b) => b,
        _ => return None,
    };
    // Clients may send either kind of frame; the subprotocol decides what the server sends.
    let enc = if matches!(msg, Message::Binary(_)) { Encoding::MsgPack } else { Encoding::Json };
    let _ = encoding;
    Some(enc.decode_client(bytes))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
}

async fn serve(state: Arc<AppState>, mut socket: WebSocket, encoding: Encoding, bearer: Option<String>) {
    let token = match bearer {
        Some(t) => t,
        None => match tokio::time::timeout(AUTH_TIMEOUT, socket.recv()).await {
            Ok(Some(Ok(msg))) if frame_len(&msg) > ocomms_core::event::MAX_CLIENT_FRAME_BYTES => {
                return close(&mut socket, ocomms_core::event::CLOSE_FRAME_TOO_LARGE, "frame too large").await;
            }
            Ok(Some(Ok(msg))) => match decode(encoding, &msg) {
                Some(Ok(ClientFrame::Auth { token })) => token,
                _ => return close(&mut socket, socket::CLOSE_UNAUTHENTICATED, "first frame must be auth").await,
            },
            _ => return close(&mut socket, socket::CLOSE_UNAUTHENTICATED, "authentication timed out").await,
        },
    };
    let now = now_ms();
    let started = match socket::authenticate(&state.jwt_secret, &token, now) {
        Ok(caller) => socket::start(&state.sql, caller).await.map(|channels| (caller, channels)),
        Err(refusal) => Err(refusal),
    };
    let (caller, channels) = match started {
        Ok(c) => c,
        Err(refusal) => {
            if refusal == socket::Refusal::Server {
                tracing::error!("cannot load the channels of a socket");
            }
            return close(&mut socket, refusal.close_code(), &refusal.to_string()).await;
        }
    };
    let Ok((mut handle, subscriptions)) = state.hub.connect(caller.user_id, caller.session_id, now, &channels) else {
        state.metrics.sockets_refused.fetch_add(1, Ordering::Relaxed);
        let refusal = socket::Refusal::TooManyForUser;
        return close(&mut socket, refusal.close_code(), &refusal.to_string()).await;
    };
    // A session that ended between the check above and registering would have missed its
    // notice; checking again after registering closes that window.
    if !matches!(socket::session_live(&state.sql, caller).await, Ok(true)) {
        state.hub.disconnect(handle.id);
        return close(&mut socket, socket::CLOSE_SESSION_ENDED, "session ended").await;
    }
    let hello = ServerFrame::Hello { user_id: caller.user_id, subscriptions };
    let (mut tx, mut rx) = socket.split();
    let mut ok = match encode(encoding, &hello) {
        Some(m) => tx.send(m).await.is_ok(),
        None => false,
    };
    for (user_id, status) in state.hub.presence_snapshot(handle.id) {
        if !ok {
            break;
        }
        if let Some(m) = encode(encoding, &ServerFrame::Presence { user_id, status }) {
            ok = tx.send(m).await.is_ok();
        }
    }
    let mut shutdown = state.shutdown.clone();
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    while ok {
        tokio::select! {
            frame = handle.rx.recv() => {
                let Some(frame) = frame else { break };
                ok = write_queued(&mut tx, &mut handle.rx, encoding, frame).await;
            }
            _ = handle.wake.notified() => {
                if let Some(reason) = handle.ended.get() {
                    let frame = ServerFrame::SessionEnded { reason: reason.clone() };
                    if let Some(m) = encode(encoding, &frame) {
                        let _ = tx.send(m).await;
                    }
                    let _ = tx.send(Message::Close(Some(CloseFrame { code: socket::CLOSE_SESSION_ENDED, reason: "session ended".into() }))).await;
                    break;
                }
                if handle.lagged.swap(false, Ordering::AcqRel) {
                    let resync = ServerFrame::Resync { reason: "events were missed (this socket fell behind, or the hosts' relay was interrupted); fetch /events?after=<last seq> for each channel".into() };
                    ok = match encode(encoding, &resync) { Some(m) => tx.send(m).await.is_ok(), None => true };
                }
            }
            msg = rx.next() => {
                let Some(Ok(msg)) = msg else { break };
                if matches!(msg, Message::Close(_)) { break }
                if frame_len(&msg) > ocomms_core::event::MAX_CLIENT_FRAME_BYTES {
                    let code = ocomms_core::event::CLOSE_FRAME_TOO_LARGE;
                    let _ = tx.send(Message::Close(Some(CloseFrame { code, reason: "frame too large".into() }))).await;
                    break;
                }
                if let Some(reply) = on_client_frame(&state, handle.id, encoding, &msg) {
                    ok = match encode(encoding, &reply) { Some(m) => tx.send(m).await.is_ok(), None => true };
                }
            }
            _ = ping.tick() => {
                ok = tx.send(Message::Ping(Default::default())).await.is_ok();
            }
            _ = shutdown.changed() => {
                let _ = tx.send(Message::Close(Some(CloseFrame { code: 1012, reason: "server restarting".into() }))).await;
                break;
            }
        }
    }
    state.hub.disconnect(handle.id);
}

fn frame_len(msg: &Message) -> usize {
    match msg {
        Message::Text(t) => t.len(),
        Message::Binary(b) => b.len(),
        _ => 0,
    }
}

fn on_client_frame(state: &AppState, conn: u64, encoding: Encoding, msg: &Message) -> Option<ServerFrame> {
    let frame = match decode(encoding, msg)? {
        Ok(f) => f,
        Err(e) => return Some(ServerFrame::Error { code: "bad_frame".into(), message: e.to_string() }),
    };
    match frame {
        ClientFrame::Ping { nonce } => Some(ServerFrame::Pong { nonce }),
        ClientFrame::Typing { channel_id } => {
            let now = now_ms();
            state.hub.activity(conn, now);
            state
                .hub
                .typing(conn, channel_id, now)
                .err()
                .map(|e| ServerFrame::Error { code: "not_subscribed".into(), message: e.to_string() })
        }
        ClientFrame::Auth { .. } => Some(ServerFrame::Error {
            code: "already_authenticated".into(),
            message: "this socket is authenticated".into(),
        }),
        ClientFrame::SetPresence { status } => {
            let now = now_ms();
            state
                .hub
                .set_presence(conn, status, now)
                .err()
                .map(|e| ServerFrame::Error { code: "bad_presence".into(), message: e.to_string() })
        }
    }
}

fn now_ms() -> i64 {
    HostEnv::now_ms()
}
