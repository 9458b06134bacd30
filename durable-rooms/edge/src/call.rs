//! Typed calls to a Durable Object through its stub: a JSON POST, a JSON reply.

use serde::Serialize;
use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{Env, Headers, Method, ObjectNamespace, Request, RequestInit, Stub};

use ocomms_core::ids::{ChannelId, UserId};

use crate::{bindings, wire};

/// Why a call failed: the status and body of a refusal, or the transport's error.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    Status(u16, String),
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(s, body) => write!(f, "HTTP {s}: {body}"),
            Self::Transport(e) => write!(f, "{e}"),
        }
    }
}

fn transport(e: impl std::fmt::Display) -> CallError {
    CallError::Transport(e.to_string())
}

fn namespace(env: &Env, binding: &str) -> Result<ObjectNamespace, CallError> {
    env.durable_object(binding).map_err(|e| CallError::Transport(format!("binding {binding}: {e}")))
}

/// The stub of a channel's object.
pub fn room_stub(env: &Env, channel: ChannelId) -> Result<Stub, CallError> {
    namespace(env, bindings::ROOMS)?.get_by_name(&channel.to_string()).map_err(transport)
}

/// The stub of a user's object.
pub fn user_stub(env: &Env, user: UserId) -> Result<Stub, CallError> {
    namespace(env, bindings::USERS)?.get_by_name(&user.to_string()).map_err(transport)
}

/// POSTs an already encoded JSON body; returns the reply body of a 2xx.
pub async fn post_json(stub: &Stub, url: &str, json: &str) -> Result<String, CallError> {
    let headers = Headers::new();
    headers.set("content-type", "application/json").map_err(transport)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(JsValue::from_str(json)));
    let req = Request::new_with_init(url, &init).map_err(transport)?;
    let mut resp = stub.fetch_with_request(req).await.map_err(transport)?;
    let status = resp.status_code();
    let body = resp.text().await.map_err(transport)?;
    if (200..300).contains(&status) { Ok(body) } else { Err(CallError::Status(status, body)) }
}

/// POSTs `body` as JSON and decodes the reply (an empty reply decodes as `null`).
pub async fn call<B: Serialize, R: DeserializeOwned>(stub: &Stub, url: &str, body: &B) -> Result<R, CallError> {
    let json = serde_json::to_string(body).map_err(transport)?;
    let reply = post_json(stub, url, &json).await?;
    let reply = if reply.trim().is_empty() { "null" } else { reply.as_str() };
    serde_json::from_str(reply).map_err(|e| CallError::Transport(format!("bad reply from {url}: {e}")))
}

/// A call to a channel's object.
pub async fn room<B: Serialize, R: DeserializeOwned>(
    env: &Env,
    channel: ChannelId,
    route: &str,
    body: &B,
) -> Result<R, CallError> {
    call(&room_stub(env, channel)?, &wire::room_url(channel, route), body).await
}

/// A call to a user's object.
pub async fn user<B: Serialize, R: DeserializeOwned>(
    env: &Env,
    user: UserId,
    route: &str,
    body: &B,
) -> Result<R, CallError> {
    call(&user_stub(env, user)?, &wire::user_url(user, route), body).await
}
