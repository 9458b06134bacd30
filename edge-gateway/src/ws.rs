//! `/api/v1/ws`: the JWT is verified here, at the edge; the socket then belongs to the user's
//! Durable Object (`UserSockets`), which subscribes it to the user's channels.
//!
//! - `Authorization: Bearer` on the upgrade: the Worker verifies the token and forwards the
//!   upgrade to the user's object, whose `101` goes back to the client. Frames then flow
//!   between the client and the object with no Worker in between.
//! - An `auth` first frame (browsers cannot set headers): the user is unknown until that
//!   frame, and an accepted socket cannot move to another object. So the Worker accepts the
//!   socket, reads the frame (10 s limit), verifies the token, opens a socket to the user's
//!   object the same way, and relays frames and closes both ways.
//!
//! Either way the client sees the host's protocol: `hello`, events, close codes 4001/4003.

use std::time::Duration;

use futures::StreamExt as _;
use futures::future::{Either, select};
use ocomms_api::auth::{Caller, jwt};
use ocomms_api::ports::Env as _;
use ocomms_core::event::ClientFrame;
use ocomms_core::{ApiError, ErrorCode};
use ocomms_rooms_edge::env::JsEnv;
use ocomms_rooms_edge::frames::{self, Message};
use ocomms_rooms_edge::{call, wire};
use worker::{
    Delay, Env, Headers, Method, Request, RequestInit, Response, Result, WebSocket, WebSocketPair, WebsocketEvent,
};

use crate::api;

/// How long a client has to send its `auth` frame.
const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn upgrade(req: Request, env: Env) -> Result<Response> {
    let upgrade = req.headers().get("upgrade")?.unwrap_or_default();
    if !upgrade.eq_ignore_ascii_case("websocket") {
        return api::error(&ApiError::new(ErrorCode::BadRequest, "expected a WebSocket upgrade"));
    }
    let offered = req.headers().get("sec-websocket-protocol")?;
    let protocol = frames::negotiate(offered.as_deref());
    let secret = match api::jwt_secret(&env) {
        Ok(s) => s,
        Err(e) => {
            worker::console_error!("ocomms worker misconfigured: {e}");
            return api::error(&ApiError::new(ErrorCode::Unavailable, "service misconfigured"));
        }
    };
    let bearer = req.headers().get("authorization")?.and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
    });
    match bearer {
        Some(token) => match jwt::verify(&secret, &token, JsEnv.now_ms()) {
            Ok(caller) => hand_over(&env, caller, offered.as_deref()).await,
            Err(_) => refuse(protocol, 4001, "invalid or expired token"),
        },
        None => relay(env, secret, protocol, offered),
    }
}

/// Asks the user's object to accept a WebSocket for `caller`; returns its `101`.
async fn hand_over(env: &Env, caller: Caller, offered: Option<&str>) -> Result<Response> {
    let headers = Headers::new();
    headers.set("upgrade", "websocket")?;
    headers.set(wire::headers::SESSION, &caller.session_id.to_string())?;
    if let Some(p) = offered {
        headers.set("sec-websocket-protocol", p)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let req = Request::new_with_init(&wire::user_url(caller.user_id, wire::user::WS), &init)?;
    let stub = call::user_stub(env, caller.user_id).map_err(|e| worker::Error::RustError(e.to_string()))?;
    stub.fetch_with_request(req).await
}

fn respond(client: WebSocket, protocol: Option<&str>) -> Result<Response> {
    let mut resp = Response::from_websocket(client)?;
    if let Some(p) = protocol {
        resp.headers_mut().set("sec-websocket-protocol", p)?;
    }
    Ok(resp)
}

/// Completes the upgrade and closes at once with `code`, like the host does for bad auth.
fn refuse(protocol: Option<&str>, code: u16, reason: &str) -> Result<Response> {
    let pair = WebSocketPair::new()?;
    pair.server.accept()?;
    frames::close(&pair.server, code, reason);
    respond(pair.client, protocol)
}

fn relay(env: Env, secret: Vec<u8>, protocol: Option<&'static str>, offered: Option<String>) -> Result<Response> {
    let pair = WebSocketPair::new()?;
    let client = pair.server;
    client.accept()?;
    worker::wasm_bindgen_futures::spawn_local(relay_task(env, secret, client, offered));
    respond(pair.client, protocol)
}

async fn relay_task(env: Env, secret: Vec<u8>, client: WebSocket, offered: Option<String>) {
    let Ok(mut from_client) = client.events() else { return };
    let first = select(from_client.next(), Box::pin(Delay::from(AUTH_TIMEOUT))).await;
    let token = match first {
        Either::Left((Some(Ok(WebsocketEvent::Message(m))), _)) => match decode(&m) {
            Some(Ok(ClientFrame::Auth { token })) => token,
            other => {
                worker::console_log!("relay: first frame is not auth: {other:?} (text {:?}, bytes {:?})", m.text(), m.bytes());
                return frames::close(&client, 4001, "first frame must be auth");
            }
        },
        Either::Left(_) => return,
        Either::Right(_) => return frames::close(&client, 4001, "authentication timed out"),
    };
    let Ok(caller) = jwt::verify(&secret, &token, JsEnv.now_ms()) else {
        return frames::close(&client, 4001, "invalid or expired token");
    };
    let upstream = match hand_over(&env, caller, offered.as_deref()).await.map(Response::websocket) {
        Ok(Some(ws)) => ws,
        Ok(None) => return frames::close(&client, 1011, "server error"),
        Err(e) => {
            worker::console_error!("relay: hand over to the user's object: {e}");
            return frames::close(&client, 1011, "server error");
        }
    };
    let Ok(mut from_upstream) = upstream.events() else { return frames::close(&client, 1011, "server error") };
    if upstream.accept().is_err() {
        return frames::close(&client, 1011, "server error");
    }
    loop {
        match select(from_client.next(), from_upstream.next()).await {
            Either::Left((event, _)) => match event {
                Some(Ok(WebsocketEvent::Message(m))) => forward(&upstream, &m),
                Some(Ok(WebsocketEvent::Close(c))) => return frames::close(&upstream, c.code(), &c.reason()),
                Some(Err(_)) | None => return frames::close(&upstream, 1000, "client gone"),
            },
            Either::Right((event, _)) => match event {
                Some(Ok(WebsocketEvent::Message(m))) => forward(&client, &m),
                Some(Ok(WebsocketEvent::Close(c))) => return frames::close(&client, c.code(), &c.reason()),
                Some(Err(_)) | None => return frames::close(&client, 1011, "server error"),
            },
        }
    }
}

fn message(m: &worker::MessageEvent) -> Option<Message> {
    m.text().map(Message::Text).or_else(|| m.bytes().map(Message::Binary))
}

fn decode(m: &worker::MessageEvent) -> Option<std::result::Result<ClientFrame, String>> {
    message(m).map(|msg| frames::decode(&msg))
}

fn forward(to: &WebSocket, m: &worker::MessageEvent) {
    let _ = match message(m) {
        Some(Message::Text(t)) => to.send_with_str(t),
        Some(Message::Binary(b)) => to.send_with_bytes(b),
        None => Ok(()),
    };
}
