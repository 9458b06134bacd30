//! [`UserSockets`]: one Durable Object per user, holding all of that user's WebSockets with
//! the Hibernation API, so idle sockets cost nothing and survive the object's eviction.
//!
//! - Per socket, in its attachment: id, session, encoding, whether `hello` went out, and
//!   whether we are closing it.
//! - Per user, in storage: the channels the sockets are subscribed to and the away state.
//! - In memory only while a socket connects: the frames that arrive before its `hello`.
//!
//! Idle users go away as on the host: each socket's attachment keeps its last activity
//! (typing, saying "online"); an alarm fires when the newest of them is `AWAY_AFTER_SECS`
//! old and marks the user away, unless they said so themselves; activity brings them back.
//! The alarm is the object's only timer, so a hibernated user costs nothing until then.
//!
//! A socket connects like on the host: the session must be live, the channels come from
//! PostgreSQL, each channel's [`crate::ChannelRoom`] subscribes the user, then `hello` with
//! the subscriptions, then one `presence` frame per person connected in those channels.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use futures::future::join_all;
use ocomms_api::auth::Caller;
use ocomms_api::ports::{Sql as _, Value};
use ocomms_core::event::{ClientFrame, Presence, ServerFrame, UserNotice};
use ocomms_core::ids::{ChannelId, UserId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{
    DurableObject, Env, Request, Response, Result, State, Stub, WebSocket, WebSocketIncomingMessage, WebSocketPair,
    durable_object,
};

use crate::call::{self, CallError};
use crate::channel::reply;
use crate::frames::{self, Message};
use crate::pg::EdgePg;
use crate::wire::{
    self, FramesReply, FramesReq, JoinedReply, JoinedReq, LeftReq, PresenceReq, SubscribeReply, SubscribeReq, UserReq,
};

const CHANNELS_KEY: &str = "channels";
const AWAY_KEY: &str = "away";
/// Seconds without activity before a connected user shows as away (host: `--away-after`).
const AWAY_AFTER_SETTING: &str = "AWAY_AFTER_SECS";
const DEFAULT_AWAY_AFTER_MS: i64 = 5 * 60 * 1000;

/// The away state kept in storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Away {
    away: bool,
    /// The user said so: idleness and activity leave it alone until they say "online".
    by_choice: bool,
}

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
            worker::console_error!("user {user}: load: {e}");
            return reply::status(503, "user object unavailable");
        }
        match route {
            wire::user::WS => self.accept_socket(&req, user).await,
            wire::user::FRAMES => match reply::body::<FramesReq>(&mut req).await {
                Ok(m) => reply::json(&FramesReply { sockets: self.push(&m.frames) }),
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::user::JOINED => match reply::body::<JoinedReq>(&mut req).await {
                Ok(m) => reply::json(&self.joined(m).await),
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::user::LEFT => match reply::body::<LeftReq>(&mut req).await {
                Ok(m) => {
                    self.left(m.channel_id).await;
                    reply::json(&serde_json::json!({}))
                }
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::user::NOTICES => match reply::body::<UserNotice>(&mut req).await {
                Ok(notice) => {
                    self.notice(user, notice).await;
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
            worker::console_error!("user {}: load: {e}", tag.user);
        }
        let msg = match message {
            WebSocketIncomingMessage::String(s) => Message::Text(s),
            WebSocketIncomingMessage::Binary(b) => Message::Binary(b),
        };
        if frames::too_large(&msg) {
            // As on the host: close with 1009 rather than answer, the frame is a protocol error.
            self.inner.borrow_mut().pending.remove(&tag.id);
            let _ = ws.serialize_attachment(Tag { closing: true, ..tag.clone() });
            frames::close(&ws, ocomms_core::event::CLOSE_FRAME_TOO_LARGE, "frame too large");
            if self.sockets().is_empty() {
                self.leave_all(tag.user).await;
            }
            return Ok(());
        }
        let reply = match frames::decode(&msg) {
            Err(e) => Some(error_frame("bad_frame", &e)),
            Ok(ClientFrame::Ping { nonce }) => Some(ServerFrame::Pong { nonce }),
            Ok(ClientFrame::Auth { .. }) => Some(error_frame("already_authenticated", "this socket is authenticated")),
            Ok(ClientFrame::Typing { channel_id }) => {
                self.activity(&ws, tag.clone()).await;
                self.typing(tag.user, channel_id).await
            }
            Ok(ClientFrame::SetPresence { status }) => self.set_presence(&ws, tag, status).await,
        };
        if let Some(frame) = reply {
            self.send_to(&ws, &frame);
        }
        Ok(())
    }

    async fn alarm(&self) -> Result<Response> {
        if let Err(e) = self.load().await {
            worker::console_error!("user alarm: load: {e}");
            return Response::empty();
        }
        let tags: Vec<Tag> = self.sockets().into_iter().map(|(_, t)| t).filter(|t| t.ready).collect();
        let Some(user) = tags.first().map(|t| t.user) else { return Response::empty() };
        let latest = tags.iter().map(|t| t.active_ms).max().unwrap_or(0);
        let away = self.inner.borrow().away.away;
        match idle_check(now_ms(), latest, self.away_after_ms(), away) {
            IdleCheck::GoAway => self.change_away(user, Away { away: true, by_choice: false }).await,
            IdleCheck::CheckAt(at) => self.arm_idle_alarm_at(at).await,
            IdleCheck::Nothing => {}
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

/// What the idle alarm does, given the newest activity over the user's sockets.
#[derive(Debug, PartialEq, Eq)]
enum IdleCheck {
    /// Idle long enough: show the user as away.
    GoAway,
    /// Active since: look again at this instant (Unix ms).
    CheckAt(i64),
    /// Already away: activity re-arms the alarm.
    Nothing,
}

fn idle_check(now_ms: i64, latest_activity_ms: i64, away_after_ms: i64, away: bool) -> IdleCheck {
    if away {
        IdleCheck::Nothing
    } else if now_ms.saturating_sub(latest_activity_ms) >= away_after_ms {
        IdleCheck::GoAway
    } else {
        IdleCheck::CheckAt(latest_activity_ms.saturating_add(away_after_ms))
    }
}

impl UserSockets {
    /// Reads the user's channel set and away flag back from storage on first use.
    async fn load(&self) -> std::result::Result<(), String> {
        if self.inner.borrow().loaded {
            return Ok(());
        }
        let storage = self.state.storage();
        let channels: Option<Vec<ChannelId>> = storage.get(CHANNELS_KEY).await.map_err(|e| e.to_string())?;
        let away: Option<Away> = storage.get(AWAY_KEY).await.map_err(|e| e.to_string())?;
        let mut inner = self.inner.borrow_mut();
        if !inner.loaded {
            inner.channels = channels.unwrap_or_default().into_iter().collect();
            inner.away = away.unwrap_or_default();
            inner.loaded = true;
        }
        Ok(())
    }

    async fn save_channels(&self) {
        let channels: Vec<ChannelId> = self.inner.borrow().channels.iter().copied().collect();
        if let Err(e) = self.state.storage().put(CHANNELS_KEY, channels).await {
            worker::console_error!("user: store channels: {e}");
        }
    }

    /// Open sockets (not being closed by us) with their tags.
    fn sockets(&self) -> Vec<(WebSocket, Tag)> {
        self.state
            .get_websockets()
            .into_iter()
            .filter_map(|ws| tag_of(&ws).filter(|t| !t.closing).map(|t| (ws, t)))
            .collect()
    }

    /// Sends to a ready socket, or queues for one that has not had its `hello` yet.
    fn send_to(&self, ws: &WebSocket, frame: &ServerFrame) {
        let Some(tag) = tag_of(ws) else { return };
        if tag.closing {
            return;
        }
        if tag.ready {
            frames::send(ws, tag.msgpack, frame);
        } else if let Some(q) = self.inner.borrow_mut().pending.get_mut(&tag.id) {
            q.push(frame.clone());
        }
    }

    /// Frames for every socket; returns how many sockets there are. Channel frames for a
    /// channel the user is not subscribed to here are dropped (and count as no socket, so
    /// the channel forgets the user).
    fn push(&self, frames: &[ServerFrame]) -> u32 {
        let frames: Vec<&ServerFrame> = {
            let inner = self.inner.borrow();
            frames.iter().filter(|f| wire::frame_channel(f).is_none_or(|c| inner.channels.contains(&c))).collect()
        };
        if frames.is_empty() {
            return 0;
        }
        let sockets = self.sockets();
        for (ws, tag) in &sockets {
            if tag.ready {
                for f in &frames {
                    frames::send(ws, tag.msgpack, f);
                }
            } else if let Some(q) = self.inner.borrow_mut().pending.get_mut(&tag.id) {
                q.extend(frames.iter().map(|f| (*f).clone()));
            }
        }
        u32::try_from(sockets.len()).unwrap_or(u32::MAX)
    }

    /// The Worker hands over a verified upgrade: accept it, then connect it like the host.
    async fn accept_socket(&self, req: &Request, user: UserId) -> Result<Response> {
        let session =
            req.headers().get(wire::headers::SESSION).ok().flatten().and_then(|s| s.parse::<uuid::Uuid>().ok());
        let Some(session) = session else {
            return reply::status(400, "missing session");
        };
        let offered = req.headers().get("sec-websocket-protocol").ok().flatten();
        let protocol = frames::negotiate(offered.as_deref());
        let pair = WebSocketPair::new()?;
        let ws = pair.server;
        // Binary client frames (MessagePack) as ArrayBuffer, not the standard Blob.
        AsRef::<worker::web_sys::WebSocket>::as_ref(&ws).set_binary_type(worker::web_sys::BinaryType::Arraybuffer);
        self.state.accept_web_socket(&ws);
        let tag = Tag {
            id: self.new_id(),
            user,
            session,
            msgpack: frames::is_msgpack(protocol),
            ready: false,
            closing: false,
            active_ms: now_ms(),
        };
        ws.serialize_attachment(&tag)?;
        self.inner.borrow_mut().pending.insert(tag.id, Vec::new());
        if let Err((code, reason)) = self.open(&ws, tag.clone()).await {
            self.inner.borrow_mut().pending.remove(&tag.id);
            let _ = ws.serialize_attachment(Tag { closing: true, ..tag });
            frames::close(&ws, code, &reason);
        }
        let mut resp = Response::from_websocket(pair.client)?;
        if let Some(p) = protocol {
            resp.headers_mut().set("sec-websocket-protocol", p)?;
        }
        Ok(resp)
    }

    fn new_id(&self) -> u32 {
        let taken: BTreeSet<u32> = self.state.get_websockets().iter().filter_map(tag_of).map(|t| t.id).collect();
        loop {
            let mut b = [0u8; 4];
            let _ = getrandom::fill(&mut b);
            let id = u32::from_le_bytes(b);
            if !taken.contains(&id) {
                return id;
            }
        }
    }

    /// Checks the session, subscribes the channels, sends `hello`, presence and what queued.
    async fn open(&self, ws: &WebSocket, mut tag: Tag) -> std::result::Result<(), (u16, String)> {
        let caller = Caller { user_id: tag.user, session_id: tag.session };
        let db = EdgePg::from_env(&self.env).map_err(|e| {
            worker::console_error!("user socket: {e}");
            (1011, "server error".to_string())
        })?;
        match ocomms_api::repo::sessions::is_live(&db, caller.user_id, caller.session_id).await {
            Ok(true) => {}
            Ok(false) => return Err((4001, "session has ended".into())),
            Err(e) => {
                worker::console_error!("user socket: session check: {e}");
                return Err((4001, "database unavailable".into()));
            }
        }
        let channels = channels_of(&db, caller.user_id).await.map_err(|e| {
            worker::console_error!("user socket: load channels: {e}");
            (1011, "server error".to_string())
        })?;
        drop(db);
        // The set grows before the rooms answer: their frames may arrive before the replies.
        let away = {
            let mut inner = self.inner.borrow_mut();
            let alone = !self.state.get_websockets().iter().filter_map(tag_of).any(|t| !t.closing && t.id != tag.id);
            if alone {
                inner.channels.clear();
            }
            inner.channels.extend(channels.iter().map(|(c, _)| *c));
            inner.away.away
        };
        self.save_channels().await;
        let calls = channels.iter().map(|(channel, seq)| async move {
            let req = SubscribeReq { user_id: caller.user_id, db_seq: *seq, away };
            (*channel, self.call_room::<_, SubscribeReply>(*channel, wire::room::SUBSCRIBE, &req).await)
        });
        let mut subscriptions = Vec::with_capacity(channels.len());
        let mut presence: BTreeMap<UserId, Presence> = BTreeMap::new();
        for (channel, r) in join_all(calls).await {
            match r {
                Ok(reply) => {
                    subscriptions.push(reply.subscription);
                    presence.extend(reply.presence);
                }
                Err(e) => worker::console_error!("user socket: subscribe to {channel}: {e}"),
            }
        }
        if tag_of(ws).is_none_or(|t| t.closing) {
            return Ok(()); // its session ended meanwhile; it is already closed
        }
        let queued = self.inner.borrow_mut().pending.remove(&tag.id).unwrap_or_default();
        let hello = ServerFrame::Hello { user_id: caller.user_id, subscriptions };
        let presence = presence
            .into_iter()
            .filter(|(u, _)| *u != caller.user_id)
            .map(|(user_id, status)| ServerFrame::Presence { user_id, status });
        for frame in std::iter::once(hello).chain(presence).chain(queued) {
            frames::send(ws, tag.msgpack, &frame);
        }
        tag.ready = true;
        let _ = ws.serialize_attachment(&tag);
        self.arm_idle_alarm_at(tag.active_ms.saturating_add(self.away_after_ms())).await;
        Ok(())
    }

    /// The user joined a channel: open sockets subscribe to it.
    async fn joined(&self, m: JoinedReq) -> JoinedReply {
        let away = self.inner.borrow().away.away;
        if self.sockets().is_empty() {
            return JoinedReply { online: false, away };
        }
        let added = self.inner.borrow_mut().channels.insert(m.subscription.channel_id);
        if added {
            self.save_channels().await;
        }
        self.push(&[ServerFrame::Subscribed { subscription: m.subscription }]);
        JoinedReply { online: true, away }
    }

    /// The user left a channel: open sockets unsubscribe from it.
    async fn left(&self, channel: ChannelId) {
        let removed = self.inner.borrow_mut().channels.remove(&channel);
        if removed {
            self.save_channels().await;
            self.push(&[ServerFrame::Unsubscribed { channel_id: channel }]);
        }
    }

    async fn notice(&self, user: UserId, notice: UserNotice) {
        match notice {
            UserNotice::ReadMarker { channel_id, last_read_seq } => {
                self.push(&[ServerFrame::ReadMarker { channel_id, last_read_seq }]);
            }
            UserNotice::SessionsEnded { session_id, reason } => {
                for (ws, tag) in self.sockets() {
                    if session_id.is_some_and(|s| s != tag.session) {
                        continue;
                    }
                    if tag.ready {
                        frames::send(&ws, tag.msgpack, &ServerFrame::SessionEnded { reason: reason.clone() });
                    }
                    self.inner.borrow_mut().pending.remove(&tag.id);
                    let _ = ws.serialize_attachment(Tag { closing: true, ..tag });
                    frames::close(&ws, 4003, "session ended");
                }
                if self.sockets().is_empty() {
                    self.leave_all(user).await;
                }
            }
        }
    }

    /// A socket closed (or failed): forget it; the last one takes the user out of every room.
    async fn gone(&self, ws: &WebSocket, code: u16) {
        let Some(tag) = tag_of(ws) else { return };
        self.inner.borrow_mut().pending.remove(&tag.id);
        if !tag.closing {
            let _ = ws.serialize_attachment(Tag { closing: true, ..tag.clone() });
            // Complete the closing handshake (newer runtimes do it themselves).
            frames::close(ws, code, "closed");
        }
        if let Err(e) = self.load().await {
            worker::console_error!("user {}: load: {e}", tag.user);
        }
        if self.sockets().iter().all(|(_, t)| t.id == tag.id) {
            self.leave_all(tag.user).await;
        }
    }

    async fn leave_all(&self, user: UserId) {
        let channels: Vec<ChannelId> = std::mem::take(&mut self.inner.borrow_mut().channels).into_iter().collect();
        self.save_channels().await;
        let calls = channels.iter().map(|channel| async move {
            (
                *channel,
                self.call_room::<_, serde_json::Value>(*channel, wire::room::UNSUBSCRIBE, &UserReq { user_id: user })
                    .await,
            )
        });
        for (channel, r) in join_all(calls).await {
            if let Err(e) = r {
                worker::console_error!("user {user}: leave {channel}: {e}");
            }
        }
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

    /// Online or away, said by the client.
    async fn set_presence(&self, ws: &WebSocket, tag: Tag, status: Presence) -> Option<ServerFrame> {
        let user = tag.user;
        match status {
            Presence::Online => {
                self.activity(ws, tag).await;
                self.change_away(user, Away::default()).await;
                self.arm_idle_alarm_at(now_ms().saturating_add(self.away_after_ms())).await;
            }
            Presence::Away => self.change_away(user, Away { away: true, by_choice: true }).await,
            Presence::Offline => {
                return Some(error_frame(
                    "bad_presence",
                    "offline is shown when the last socket closes; it cannot be set",
                ));
            }
        }
        None
    }

    /// The person did something on this socket: not idle, and back if idleness made them away.
    async fn activity(&self, ws: &WebSocket, mut tag: Tag) {
        tag.active_ms = now_ms();
        let _ = ws.serialize_attachment(&tag);
        let idle_away = {
            let away = self.inner.borrow().away;
            away.away && !away.by_choice
        };
        if idle_away {
            self.change_away(tag.user, Away::default()).await;
            self.arm_idle_alarm_at(tag.active_ms.saturating_add(self.away_after_ms())).await;
        }
    }

    /// Records the away state; every room the user is in hears of a change in it.
    async fn change_away(&self, user: UserId, to: Away) {
        let (changed, channels): (bool, Vec<ChannelId>) = {
            let mut inner = self.inner.borrow_mut();
            let changed = inner.away.away != to.away;
            if inner.away == to {
                return;
            }
            inner.away = to;
            (changed, inner.channels.iter().copied().collect())
        };
        if let Err(e) = self.state.storage().put(AWAY_KEY, to).await {
            worker::console_error!("user {user}: store away: {e}");
        }
        if !changed {
            return;
        }
        let calls = channels.iter().map(|channel| async move {
            let req = PresenceReq { user_id: user, away: to.away };
            (*channel, self.call_room::<_, serde_json::Value>(*channel, wire::room::PRESENCE, &req).await)
        });
        for (channel, r) in join_all(calls).await {
            if let Err(e) = r {
                worker::console_error!("user {user}: presence in {channel}: {e}");
            }
        }
    }

    fn away_after_ms(&self) -> i64 {
        crate::setting(&self.env, AWAY_AFTER_SETTING)
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(DEFAULT_AWAY_AFTER_MS, |s| (s * 1000.0) as i64)
    }

    /// Makes sure the idle alarm fires no later than `at` (Unix ms).
    async fn arm_idle_alarm_at(&self, at: i64) {
        let storage = self.state.storage();
        match storage.get_alarm().await {
            Ok(Some(current)) if current <= at => {}
            Ok(_) => {
                if let Err(e) = storage.set_alarm(at.saturating_sub(now_ms()).max(0)).await {
                    worker::console_error!("user: set the idle alarm: {e}");
                }
            }
            Err(e) => worker::console_error!("user: read the idle alarm: {e}"),
        }
    }

    fn stub(&self, channel: ChannelId) -> std::result::Result<Rc<Stub>, CallError> {
        if let Some(stub) = self.inner.borrow().stubs.get(&channel) {
            return Ok(stub.clone());
        }
        let stub = Rc::new(call::room_stub(&self.env, channel)?);
        self.inner.borrow_mut().stubs.insert(channel, stub.clone());
        Ok(stub)
    }

    async fn call_room<B: Serialize, R: DeserializeOwned>(
        &self,
        channel: ChannelId,
        route: &str,
        body: &B,
    ) -> std::result::Result<R, CallError> {
        let stub = self.stub(channel)?;
        call::call(&stub, &wire::room_url(channel, route), body).await
    }
}

/// The channels the user belongs to (in workspaces they are still in) and their seqs: the
/// same query as the host's socket.
async fn channels_of(db: &EdgePg, user: UserId) -> std::result::Result<Vec<(ChannelId, i64)>, String> {
    let rows = db
        .query(
            "SELECT c.id, c.last_seq FROM channel_members cm
             JOIN channels c ON c.id = cm.channel_id
             JOIN workspace_members wm ON wm.workspace_id = c.workspace_id AND wm.user_id = cm.user_id AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL
             WHERE cm.user_id = $1",
            &[Value::Uuid(user.0)],
        )
        .await
        .map_err(|e| e.to_string())?;
    rows.iter()
        .map(|r| {
            Ok((ChannelId(r.uuid("id").map_err(|e| e.to_string())?), r.int("last_seq").map_err(|e| e.to_string())?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{IdleCheck, idle_check};

    #[test]
    fn idle_users_go_away_once_and_active_ones_are_checked_again_later() {
        assert_eq!(idle_check(10_000, 4_000, 6_000, false), IdleCheck::GoAway);
        assert_eq!(idle_check(9_999, 4_000, 6_000, false), IdleCheck::CheckAt(10_000));
        assert_eq!(idle_check(50_000, 4_000, 6_000, true), IdleCheck::Nothing);
        assert_eq!(idle_check(0, i64::MIN, 1, false), IdleCheck::GoAway);
    }
}
