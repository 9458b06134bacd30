//! [`UserSockets`]: one Durable Object per user, holding all of that user's WebSockets with
//! the Hibernation API, so idle sockets cost nothing and survive the object's eviction.
//!
//! The rules are `ocomms_rooms::user::UserSockets` (the same core the host's hub drives);
//! this object rebuilds that core for each call from what survives hibernation, and carries
//! out the actions it returns:
//! - per socket, in its attachment: id, session, encoding, last activity, whether `hello`
//!   went out, and whether we are closing it;
//! - per user, in storage: the channels the sockets listen to and the away state;
//! - in memory only while a socket connects: the frames that arrive before its `hello`.
//!
//! Idle users go away as on the host: an alarm fires when the newest activity over the
//! user's sockets is `AWAY_AFTER_SECS` old. The alarm is the object's only timer, so a
//! hibernated user costs nothing until then.
//!
//! A socket connects like on the host (`ocomms_api::socket::start`): the session must be
//! live, the channels come from PostgreSQL, each channel's [`crate::ChannelRoom`] subscribes
//! the user, then `hello` with the subscriptions, then one `presence` frame per person
//! connected in those channels.
//!
//! # Layout
//! - here: the object, its event handlers and what it stores;
//! - [`actions`]: rebuilding the core and carrying out its actions (room calls, frames);
//! - [`sockets`]: accepting, opening, sending to and closing the sockets;
//! - [`idle`]: the idle alarm.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use futures::future::join_all;
use ocomms_api::auth::Caller;
use ocomms_api::socket;
use ocomms_core::event::{ClientFrame, Presence, ServerFrame, UserNotice};
use ocomms_core::ids::{ChannelId, UserId};
use ocomms_rooms::user::{Away, IdleCheck, Socket, UserAction, UserSockets as Core};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{
    DurableObject, Env, Request, Response, Result, State, Stub, WebSocket, WebSocketIncomingMessage, WebSocketPair,
    durable_object,
};

use crate::StorageError;
use crate::call::{self, CallError};
use crate::channel::reply;
use crate::frames::{self, Message};
use crate::pg::EdgePg;
use crate::wire::{
    self, FramesReply, FramesReq, JoinedReply, JoinedReq, LeftReq, PresenceReq, SubscribeReply, SubscribeReq, UserReq,
};

mod actions;
mod idle;
mod sockets;

const CHANNELS_KEY: &str = "channels";
const AWAY_KEY: &str = "away";
/// Seconds without activity before a connected user shows as away (host: `--away-after`).
const AWAY_AFTER_SETTING: &str = "AWAY_AFTER_SECS";
const DEFAULT_AWAY_AFTER_MS: i64 = 5 * 60 * 1000;
/// Sockets one user may hold at once (host: `--max-sockets-per-user`).
const MAX_SOCKETS_SETTING: &str = "MAX_SOCKETS_PER_USER";

/// What a socket carries through hibernation (well under the 2 KiB attachment limit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Tag {
    id: u32,
    user: UserId,
    session: uuid::Uuid,
    msgpack: bool,
    /// `hello` went out: frames go straight to the socket.
    ready: bool,
    /// We are closing it: it no longer counts and hears nothing.
    closing: bool,
    /// Last activity on this socket (connecting, typing, saying "online"), Unix ms.
    #[serde(default)]
    active_ms: i64,
}

// No attribute: the object takes WebSocket events and its idle alarm.
#[durable_object]
pub struct UserSockets {
    state: State,
    env: Env,
    inner: RefCell<Inner>,
}

#[derive(Default)]
struct Inner {
    loaded: bool,
    /// The core's per-user state, as stored.
    channels: BTreeSet<ChannelId>,
    away: Away,
    /// Frames for sockets still connecting, in arrival order.
    pending: HashMap<u32, Vec<ServerFrame>>,
    /// One stub per channel object, so calls to one room arrive in order.
    stubs: HashMap<ChannelId, Rc<Stub>>,
}

impl DurableObject for UserSockets {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, inner: RefCell::new(Inner::default()) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let Some((user, route)) = wire::parse_path::<UserId>(&path) else {
            return reply::status(404, "no such user route");
        };
        if let Err(e) = self.load().await {
            worker::console_error!("user {user}: {}", ocomms_api::error::chain(&e));
            return reply::status(503, "user object unavailable");
        }
        match route {
            wire::user::WS => self.accept_socket(&req, user).await,
            wire::user::FRAMES => match reply::body::<FramesReq>(&mut req).await {
                Ok(m) => reply::json(&FramesReply { sockets: self.push(user, &m.frames) }),
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::user::JOINED => match reply::body::<JoinedReq>(&mut req).await {
                Ok(m) => reply::json(&self.joined(user, m).await),
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::user::LEFT => match reply::body::<LeftReq>(&mut req).await {
                Ok(m) => {
                    let mut core = self.core(user);
                    let actions = core.left(m.channel_id);
                    self.apply(&core, actions).await;
                    reply::json(&serde_json::json!({}))
                }
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::user::NOTICES => match reply::body::<UserNotice>(&mut req).await {
                Ok(notice) => {
                    let mut core = self.core(user);
                    let actions = core.notice(notice);
                    self.apply(&core, actions).await;
                    reply::json(&serde_json::json!({}))
                }
                Err(e) => reply::status(400, &e.to_string()),
            },
            _ => reply::status(404, "no such user route"),
        }
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        let Some(tag) = tag_of(&ws) else { return Ok(()) };
        if tag.closing {
            return Ok(());
        }
        if let Err(e) = self.load().await {
            worker::console_error!("user {}: {}", tag.user, ocomms_api::error::chain(&e));
        }
        let msg = match message {
            WebSocketIncomingMessage::String(s) => Message::Text(s),
            WebSocketIncomingMessage::Binary(b) => Message::Binary(b),
        };
        if frames::too_large(&msg) {
            // As on the host: close with 1009 rather than answer, the frame is a protocol error.
            self.drop_socket(&ws, tag, ocomms_core::event::CLOSE_FRAME_TOO_LARGE, "frame too large").await;
            return Ok(());
        }
        let now = now_ms();
        let reply = match frames::decode(&msg) {
            Err(e) => Some(error_frame("bad_frame", &e.to_string())),
            Ok(ClientFrame::Ping { nonce }) => Some(ServerFrame::Pong { nonce }),
            Ok(ClientFrame::Auth { .. }) => Some(error_frame("already_authenticated", "this socket is authenticated")),
            Ok(ClientFrame::Typing { channel_id }) => {
                let mut core = self.core(tag.user);
                let actions = core.activity(tag.id, now);
                if !actions.is_empty() {
                    self.apply(&core, actions).await;
                    self.arm_idle_alarm(&core).await;
                } else {
                    self.save_sockets(&core);
                }
                self.typing(tag.user, channel_id).await
            }
            Ok(ClientFrame::SetPresence { status }) => {
                let mut core = self.core(tag.user);
                match core.set_presence(tag.id, status, now) {
                    Ok(actions) => {
                        self.apply(&core, actions).await;
                        if status == Presence::Online {
                            self.arm_idle_alarm(&core).await;
                        }
                        None
                    }
                    Err(e) => Some(error_frame("bad_presence", &e.to_string())),
                }
            }
        };
        if let Some(frame) = reply {
            self.send_to(&ws, &frame);
        }
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        if let Err(e) = self.load().await {
            worker::console_error!("user alarm: {}", ocomms_api::error::chain(&e));
            return Response::empty();
        }
        let Some(user) = self.sockets().first().map(|(_, t)| t.user) else { return Response::empty() };
        let mut core = self.core(user);
        let (actions, next) = core.tick(now_ms(), self.away_after_ms());
        self.apply(&core, actions).await;
        if let Some(at) = next {
            self.arm_idle_alarm_at(at).await;
        }
        Response::empty()
    }

    async fn websocket_close(&self, ws: WebSocket, code: usize, _reason: String, _was_clean: bool) -> Result<()> {
        let code = u16::try_from(code).unwrap_or(1000);
        self.gone(&ws, code).await;
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        self.gone(&ws, 1011).await;
        Ok(())
    }
}

fn tag_of(ws: &WebSocket) -> Option<Tag> {
    ws.deserialize_attachment::<Tag>().ok().flatten()
}

fn error_frame(code: &str, message: &str) -> ServerFrame {
    ServerFrame::Error { code: code.into(), message: message.into() }
}

fn now_ms() -> i64 {
    worker::js_sys::Date::now() as i64
}

impl UserSockets {
    /// Reads the user's channel set and away state back from storage on first use.
    async fn load(&self) -> std::result::Result<(), StorageError> {
        if self.inner.borrow().loaded {
            return Ok(());
        }
        let storage = self.state.storage();
        let channels: Option<Vec<ChannelId>> = storage.get(CHANNELS_KEY).await.map_err(StorageError)?;
        let away: Option<Away> = storage.get(AWAY_KEY).await.map_err(StorageError)?;
        let mut inner = self.inner.borrow_mut();
        if !inner.loaded {
            inner.channels = channels.unwrap_or_default().into_iter().collect();
            inner.away = away.unwrap_or_default();
            inner.loaded = true;
        }
        Ok(())
    }

    async fn typing(&self, user: UserId, channel: ChannelId) -> Option<ServerFrame> {
        const NOT_SUBSCRIBED: &str = "connection is not subscribed to this room";
        if !self.inner.borrow().channels.contains(&channel) {
            return Some(error_frame("not_subscribed", NOT_SUBSCRIBED));
        }
        match self.call_room::<_, serde_json::Value>(channel, wire::room::TYPING, &UserReq { user_id: user }).await {
            Ok(_) => None,
            Err(CallError::Status(409, _)) => Some(error_frame("not_subscribed", NOT_SUBSCRIBED)),
            Err(e) => {
                worker::console_error!("user {user}: typing in {channel}: {e}");
                None
            }
        }
    }
}
