//! `/api/v1/ws`: the JWT is verified here, at the edge; the socket then belongs to the user's
//! Durable Object (`UserSockets`), which subscribes it to the user's channels.
//!
//! - `Authorization: Bearer` on the upgrade: the Worker verifies the token and forwards the
//!   upgrade to the user's object, whose `101` goes back to the client. Frames then flow
//!   between the client and the object with no Worker in between.
//! - An `auth` first frame (browsers cannot set headers): the user is unknown until that
//!   frame, and an accepted socket cannot move to another object. So the Worker accepts the
//!   socket, reads the frame (10 s limit), verifies the token ([`ws_relay_open`]), opens a
//!   socket to the user's object the same way, and relays frames and closes both ways. The
//!   relaying itself is event listeners in the entry module (`js/shim.mjs`): a long-lived
//!   Rust future per socket, woken from socket events, was cancelled by workerd as hung.
//!
//! Either way the client sees the host's protocol: `hello`, events, close codes 4001/4003.

use ocomms_api::auth::{Caller, jwt};
use ocomms_api::ports::Env as _;
use ocomms_core::event::ClientFrame;
use ocomms_core::{ApiError, ErrorCode};
use ocomms_rooms_edge::env::JsEnv;
use ocomms_rooms_edge::frames::{self, Message};
use ocomms_rooms_edge::{call, wire};
use wasm_bindgen::prelude::*;
use worker::{Env, Headers, Method, Request, RequestInit, Response, Result, WebSocket, WebSocketPair};

use crate::api;

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
            worker::console_error!("ocomms worker misconfigured: {}", ocomms_api::error::chain(&e));
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
        // The entry module relays sockets without a header (see `ws_relay_open`).
        None => refuse(protocol, 4001, "authenticate with a header or an auth frame"),
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

/// For the entry module's relay: checks a socket's first frame (a string or an
/// `ArrayBuffer`) and hands the socket to the user's object. Resolves to that object's `101`
/// response; rejects with `{code, reason}` for the relay to close the client with.
#[wasm_bindgen(js_name = wsRelayOpen, wasm_bindgen_futures = worker::wasm_bindgen_futures)]
pub async fn ws_relay_open(env: Env, first: JsValue, offered: Option<String>) -> std::result::Result<JsValue, JsValue> {
    let secret = api::jwt_secret(&env).map_err(|e| {
        worker::console_error!("ocomms worker misconfigured: {}", ocomms_api::error::chain(&e));
        close_info(1011, "server error")
    })?;
    let msg = match first.as_string() {
        Some(text) => Message::Text(text),
        None => Message::Binary(worker::js_sys::Uint8Array::new(&first).to_vec()),
    };
    if frames::too_large(&msg) {
        return Err(close_info(ocomms_core::event::CLOSE_FRAME_TOO_LARGE, "frame too large"));
    }
    let Ok(ClientFrame::Auth { token }) = frames::decode(&msg) else {
        return Err(close_info(4001, "first frame must be auth"));
    };
    let Ok(caller) = jwt::verify(&secret, &token, JsEnv.now_ms()) else {
        return Err(close_info(4001, "invalid or expired token"));
    };
    match hand_over(&env, caller, offered.as_deref()).await {
        Ok(resp) if resp.status_code() == 101 => Ok(worker::web_sys::Response::from(resp).into()),
        Ok(resp) => {
            worker::console_error!("relay: the user's object answered {}", resp.status_code());
            Err(close_info(1011, "server error"))
        }
        Err(e) => {
            worker::console_error!("relay: hand over to the user's object: {e}");
            Err(close_info(1011, "server error"))
        }
    }
}

/// The subprotocol to answer a client with (the relay's `101`).
#[wasm_bindgen(js_name = wsProtocol)]
pub fn ws_protocol(offered: Option<String>) -> Option<String> {
    frames::negotiate(offered.as_deref()).map(str::to_string)
}

fn close_info(code: u16, reason: &str) -> JsValue {
    let o = worker::js_sys::Object::new();
    let _ = worker::js_sys::Reflect::set(&o, &"code".into(), &JsValue::from(code));
    let _ = worker::js_sys::Reflect::set(&o, &"reason".into(), &JsValue::from_str(reason));
    o.into()
}
