//! A WebSocket client that speaks both JSON and MessagePack.

use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use ocomms_core::event::{ChannelEvent, ClientFrame, MSGPACK_SUBPROTOCOL, ServerFrame, Subscription, WorkspaceChange};
use ocomms_core::ids::UserId;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Host, WAIT};
/// How a socket authenticates.
#[derive(Debug, Clone, Copy)]
pub enum WsAuth<'a> {
    /// `{"type":"auth","token":...}` as the first frame (in the socket's encoding).
    Frame(&'a str),
    /// `Authorization: Bearer` on the upgrade request.
    Header(&'a str),
    /// Nothing: the test sends its own first frame.
    None,
}

/// What came off a socket.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Frame(ServerFrame),
    /// A close frame (code and reason), or `None` when the connection just ended.
    Closed(Option<(u16, String)>),
}

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub msgpack: bool,
    /// The subprotocol the server accepted.
    pub protocol: Option<String>,
}

impl Ws {
    /// Opens `/api/v1/ws` (asking for MessagePack when `msgpack`) and authenticates as told;
    /// reads nothing.
    pub async fn open(host: &Host, msgpack: bool, auth: WsAuth<'_>) -> Ws {
        let mut req = host.ws_url().into_client_request().expect("a valid WebSocket URL");
        if msgpack {
            req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(MSGPACK_SUBPROTOCOL));
        }
        if let WsAuth::Header(token) = auth {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("a token is a valid header value");
            req.headers_mut().insert("authorization", value);
        }
        let (stream, resp) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
            .await
            .expect("the WebSocket handshake timed out")
            .unwrap_or_else(|e| panic!("WebSocket handshake failed: {e}"));
        let protocol = resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut ws = Ws { stream, msgpack, protocol };
        if let WsAuth::Frame(token) = auth {
            ws.send_frame(&ClientFrame::Auth { token: token.to_string() }).await;
        }
        ws
    }

    /// Opens an authenticated socket (auth frame) and reads its hello.
    pub async fn connect(host: &Host, token: &str, msgpack: bool) -> (Ws, Vec<Subscription>) {
        let mut ws = Ws::open(host, msgpack, WsAuth::Frame(token)).await;
        let (_, subs) = ws.hello().await;
        (ws, subs)
    }

    /// Sends a client frame in this socket's encoding (JSON text or MessagePack binary).
    pub async fn send_frame(&mut self, frame: &ClientFrame) {
        let msg = if self.msgpack {
            Message::binary(rmp_serde::to_vec_named(frame).expect("encode a client frame as MessagePack"))
        } else {
            Message::text(serde_json::to_string(frame).expect("encode a client frame as JSON"))
        };
        self.send_raw(msg).await;
    }

    pub async fn send_raw(&mut self, msg: Message) {
        tokio::time::timeout(WAIT, self.stream.send(msg))
            .await
            .expect("sending a frame timed out")
            .unwrap_or_else(|e| panic!("sending a frame failed: {e}"));
    }

    /// The next frame or close, skipping WebSocket pings and pongs; panics after `within`.
    /// Checks that the server used this socket's encoding.
    pub async fn recv_within(&mut self, within: Duration) -> Incoming {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {within:?}"));
            let msg = match next {
                None => return Incoming::Closed(None),
                Some(Err(e)) => {
                    use tokio_tungstenite::tungstenite::Error;
                    match e {
                        Error::ConnectionClosed | Error::AlreadyClosed | Error::Protocol(_) | Error::Io(_) => {
                            return Incoming::Closed(None);
                        }
                        other => panic!("WebSocket error: {other}"),
                    }
                }
                Some(Ok(m)) => m,
            };
            match msg {
                Message::Text(t) => {
                    assert!(!self.msgpack, "a MessagePack socket got a text frame: {t}");
                    let frame =
                        serde_json::from_str(&t).unwrap_or_else(|e| panic!("undecodable JSON frame ({e}): {t}"));
                    return Incoming::Frame(frame);
                }
                Message::Binary(b) => {
                    assert!(self.msgpack, "a JSON socket got a binary frame: {b:?}");
                    let frame = rmp_serde::from_slice(&b)
                        .unwrap_or_else(|e| panic!("undecodable MessagePack frame ({e}): {b:?}"));
                    return Incoming::Frame(frame);
                }
                Message::Close(c) => return Incoming::Closed(c.map(|c| (u16::from(c.code), c.reason.to_string()))),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// The next server frame; panics on close or timeout.
    pub async fn next_frame(&mut self) -> ServerFrame {
        match self.recv_within(WAIT).await {
            Incoming::Frame(f) => f,
            Incoming::Closed(c) => panic!("the socket closed while a frame was expected: {c:?}"),
        }
    }

    /// The hello frame, which must come first.
    pub async fn hello(&mut self) -> (UserId, Vec<Subscription>) {
        match self.next_frame().await {
            ServerFrame::Hello { user_id, subscriptions } => (user_id, subscriptions),
            other => panic!("the first frame is not hello: {other:?}"),
        }
    }

    /// The next non-ephemeral frame (skips presence, typing and workspace-change hints).
    pub async fn next_significant(&mut self) -> ServerFrame {
        loop {
            match self.next_frame().await {
                ServerFrame::Presence { .. } | ServerFrame::Typing { .. } | ServerFrame::WorkspaceChanged { .. } => {}
                other => return other,
            }
        }
    }

    /// The next workspace-change hint, as `(workspace id, what)`; skips everything else.
    pub async fn next_workspace_change(&mut self) -> (String, WorkspaceChange) {
        loop {
            if let ServerFrame::WorkspaceChanged { workspace_id, what } = self.next_frame().await {
                return (workspace_id.to_string(), what);
            }
        }
    }

    /// Waits for `notifications_changed`, skipping anything else.
    pub async fn next_notifications_changed(&mut self) {
        while !matches!(self.next_frame().await, ServerFrame::NotificationsChanged {}) {}
    }

    /// The next channel event; skips presence, typing and subscription notices, fails on
    /// anything else (a resync or an error means the test's premise broke).
    pub async fn next_event(&mut self) -> ChannelEvent {
        loop {
            match self.next_frame().await {
                ServerFrame::Event { event } => return event,
                ServerFrame::Presence { .. }
                | ServerFrame::Typing { .. }
                | ServerFrame::Subscribed { .. }
                | ServerFrame::Unsubscribed { .. }
                | ServerFrame::WorkspaceChanged { .. } => {}
                other => panic!("expected an event frame, got {other:?}"),
            }
        }
    }

    /// Asserts no event frame arrives within `quiet` (ephemeral frames are ignored).
    pub async fn expect_no_event(&mut self, quiet: Duration) {
        let deadline = tokio::time::Instant::now() + quiet;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await;
            let Ok(next) = next else { return };
            match next {
                Some(Ok(Message::Text(t))) => {
                    let f: ServerFrame = serde_json::from_str(&t).unwrap_or_else(|e| panic!("bad frame {e}: {t}"));
                    assert!(!matches!(f, ServerFrame::Event { .. }), "unexpected event: {f:?}");
                }
                Some(Ok(Message::Binary(b))) => {
                    let f: ServerFrame = rmp_serde::from_slice(&b).unwrap_or_else(|e| panic!("bad frame {e}: {b:?}"));
                    assert!(!matches!(f, ServerFrame::Event { .. }), "unexpected event: {f:?}");
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("the socket failed while it should idle: {e}"),
                None => panic!("the socket closed while it should idle"),
            }
        }
    }

    /// Waits for the server to close the socket; returns the close code and reason.
    pub async fn expect_close(&mut self) -> Option<(u16, String)> {
        match self.recv_within(WAIT).await {
            Incoming::Closed(c) => c,
            Incoming::Frame(f) => panic!("expected the socket to close, got {f:?}"),
        }
    }

    /// Ping with a nonce; asserts the matching pong (events in between are returned).
    pub async fn ping(&mut self, nonce: u64) -> Vec<ServerFrame> {
        self.send_frame(&ClientFrame::Ping { nonce: Some(nonce) }).await;
        let mut other = Vec::new();
        loop {
            match self.next_frame().await {
                ServerFrame::Pong { nonce: n } => {
                    assert_eq!(n, Some(nonce), "pong for another ping");
                    return other;
                }
                f => other.push(f),
            }
        }
    }

    /// Closes the socket politely.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(WAIT, self.stream.close(None)).await;
    }
}
