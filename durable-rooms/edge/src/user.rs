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

const CHANNELS_KEY: &str = "channels";
const AWAY_KEY: &str = "away";
/// Seconds without activity before a connected user shows as away (host: `--away-after`).
const AWAY_AFTER_SETTING: &str = "AWAY_AFTER_SECS";
const DEFAULT_AWAY_AFTER_MS: i64 = 5 * 60 * 1000;

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

    /// The user core as the sockets' attachments and storage have it now.
    fn core(&self, user: UserId) -> Core<u32> {
        let inner = self.inner.borrow();
        let sockets =
            self.sockets().into_iter().map(|(_, t)| (t.id, Socket { session: t.session, active_ms: t.active_ms }));
        Core::restore(user, sockets, inner.channels.iter().copied(), inner.away)
    }

    /// Keeps what the core changed (channels, away, activity) and carries out its actions:
    /// first on the sockets here, then in the rooms. Returns the rooms' subscription replies.
    async fn apply(&self, core: &Core<u32>, actions: Vec<UserAction<u32>>) -> Vec<SubscribeReply> {
        self.save(core).await;
        let user = core.user();
        let (mut subscribe, mut unsubscribe, mut away) = (Vec::new(), Vec::new(), Vec::new());
        for action in actions {
            match action {
                UserAction::Send { to, frames } => {
                    for (ws, tag) in self.sockets().into_iter().filter(|(_, t)| to.contains(&t.id)) {
                        self.send_all(&ws, &tag, &frames);
                    }
                }
                UserAction::End { conn, reason } => {
                    for (ws, tag) in self.sockets().into_iter().filter(|(_, t)| t.id == conn) {
                        if tag.ready {
                            frames::send(&ws, tag.msgpack, &ServerFrame::SessionEnded { reason: reason.clone() });
                        }
                        self.close(&ws, tag, socket::CLOSE_SESSION_ENDED, "session ended");
                    }
                }
                UserAction::Subscribe { channel, stored_seq, away } => {
                    subscribe.push((channel, SubscribeReq { user_id: user, db_seq: stored_seq, away }));
                }
                UserAction::Unsubscribe { channel } => unsubscribe.push(channel),
                UserAction::SetAway { channels, away: to } => {
                    away.extend(channels.into_iter().map(|c| (c, PresenceReq { user_id: user, away: to })));
                }
            }
        }
        let unsubscribed = join_all(unsubscribe.iter().map(|channel| async move {
            let req = UserReq { user_id: user };
            (*channel, self.call_room::<_, serde_json::Value>(*channel, wire::room::UNSUBSCRIBE, &req).await)
        }));
        let presence = join_all(away.iter().map(|(channel, req)| async move {
            (*channel, self.call_room::<_, serde_json::Value>(*channel, wire::room::PRESENCE, req).await)
        }));
        let subscribed = join_all(subscribe.iter().map(|(channel, req)| async move {
            (*channel, self.call_room::<_, SubscribeReply>(*channel, wire::room::SUBSCRIBE, req).await)
        }));
        let (unsubscribed, presence, subscribed) = futures::join!(unsubscribed, presence, subscribed);
        for (channel, r) in unsubscribed.into_iter().chain(presence) {
            if let Err(e) = r {
                worker::console_error!("user {user}: tell room {channel}: {e}");
            }
        }
        subscribed
            .into_iter()
            .filter_map(|(channel, r)| {
                r.map_err(|e| worker::console_error!("user {user}: subscribe to {channel}: {e}")).ok()
            })
            .collect()
    }

    /// Stores the core's channel set and away state if they changed, and each socket's
    /// activity in its attachment.
    async fn save(&self, core: &Core<u32>) {
        self.save_sockets(core);
        let (channels, away) = {
            let mut inner = self.inner.borrow_mut();
            let channels = (inner.channels != *core.channels()).then(|| core.channels().clone());
            let away = (inner.away != core.away()).then(|| core.away());
            if let Some(c) = &channels {
                inner.channels = c.clone();
            }
            if let Some(a) = away {
                inner.away = a;
            }
            (channels, away)
        };
        let storage = self.state.storage();
        if let Some(channels) = channels
            && let Err(e) = storage.put(CHANNELS_KEY, channels.into_iter().collect::<Vec<_>>()).await
        {
            worker::console_error!("user {}: store channels: {e}", core.user());
        }
        if let Some(away) = away
            && let Err(e) = storage.put(AWAY_KEY, away).await
        {
            worker::console_error!("user {}: store away: {e}", core.user());
        }
    }

    fn save_sockets(&self, core: &Core<u32>) {
        for (ws, tag) in self.sockets() {
            if let Some(s) = core.socket(tag.id)
                && s.active_ms != tag.active_ms
            {
                let _ = ws.serialize_attachment(Tag { active_ms: s.active_ms, ..tag });
            }
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
        if let Some(tag) = tag_of(ws).filter(|t| !t.closing) {
            self.send_all(ws, &tag, std::slice::from_ref(frame));
        }
    }

    fn send_all(&self, ws: &WebSocket, tag: &Tag, frames: &[ServerFrame]) {
        if tag.ready {
            for f in frames {
                frames::send(ws, tag.msgpack, f);
            }
        } else if let Some(q) = self.inner.borrow_mut().pending.get_mut(&tag.id) {
            q.extend(frames.iter().cloned());
        }
    }

    /// Marks a socket closed by us (it hears nothing more) and closes it.
    fn close(&self, ws: &WebSocket, tag: Tag, code: u16, reason: &str) {
        self.inner.borrow_mut().pending.remove(&tag.id);
        let _ = ws.serialize_attachment(Tag { closing: true, ..tag });
        frames::close(ws, code, reason);
    }

    /// Closes a socket for a protocol error; the user core lets go of it.
    async fn drop_socket(&self, ws: &WebSocket, tag: Tag, code: u16, reason: &str) {
        let mut core = self.core(tag.user);
        let actions = core.disconnect(tag.id);
        self.close(ws, tag, code, reason);
        self.apply(&core, actions).await;
    }

    /// Room frames for every socket; returns how many sockets there are. Frames of a channel
    /// the user no longer listens to are dropped (and count as no socket, so the channel
    /// forgets the user).
    fn push(&self, user: UserId, frames: &[ServerFrame]) -> u32 {
        let core = self.core(user);
        let Some(UserAction::Send { to, frames }) = core.deliver(frames) else { return 0 };
        for (ws, tag) in self.sockets().into_iter().filter(|(_, t)| to.contains(&t.id)) {
            self.send_all(&ws, &tag, &frames);
        }
        u32::try_from(to.len()).unwrap_or(u32::MAX)
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
        if let Err(refusal) = self.open(&ws, tag.clone()).await {
            if refusal == socket::Refusal::Server {
                worker::console_error!("user socket: cannot load the channels");
            }
            self.close(&ws, tag, refusal.close_code(), &refusal.to_string());
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
    async fn open(&self, ws: &WebSocket, mut tag: Tag) -> std::result::Result<(), socket::Refusal> {
        let caller = Caller { user_id: tag.user, session_id: tag.session };
        let db = EdgePg::from_env(&self.env).map_err(|e| {
            worker::console_error!("user socket: {}", ocomms_api::error::chain(&e));
            socket::Refusal::Server
        })?;
        let channels = socket::start(&db, caller).await?;
        drop(db);
        // The channel set grows before the rooms answer: their frames may arrive before the
        // replies, and queue until `hello` has gone out.
        let mut core = self.core(caller.user_id);
        let actions = core.connect(tag.id, Socket { session: tag.session, active_ms: tag.active_ms }, &channels);
        let replies = self.apply(&core, actions).await;
        if tag_of(ws).is_none_or(|t| t.closing) {
            return Ok(()); // its session ended meanwhile; it is already closed
        }
        let mut subscriptions = Vec::with_capacity(replies.len());
        let mut presence: BTreeMap<UserId, Presence> = BTreeMap::new();
        for reply in replies {
            subscriptions.push(reply.subscription);
            presence.extend(reply.presence);
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
        self.arm_idle_alarm(&core).await;
        Ok(())
    }

    /// The user joined a channel: open sockets subscribe to it.
    async fn joined(&self, user: UserId, m: JoinedReq) -> JoinedReply {
        let mut core = self.core(user);
        let away = core.away().away;
        match core.joined(m.subscription) {
            Some(actions) => {
                self.apply(&core, actions).await;
                JoinedReply { online: true, away }
            }
            None => JoinedReply { online: false, away },
        }
    }

    /// A socket closed (or failed): forget it; the last one takes the user out of every room.
    async fn gone(&self, ws: &WebSocket, code: u16) {
        let Some(tag) = tag_of(ws) else { return };
        if tag.closing {
            // We closed it, and the core let go of it then.
            self.inner.borrow_mut().pending.remove(&tag.id);
            return;
        }
        if let Err(e) = self.load().await {
            worker::console_error!("user {}: {}", tag.user, ocomms_api::error::chain(&e));
        }
        // Complete the closing handshake (newer runtimes do it themselves).
        self.drop_socket(ws, tag, code, "closed").await;
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

    fn away_after_ms(&self) -> i64 {
        crate::setting(&self.env, AWAY_AFTER_SETTING)
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(DEFAULT_AWAY_AFTER_MS, |s| (s * 1000.0) as i64)
    }

    /// Makes sure the idle alarm fires when the core next needs to look.
    async fn arm_idle_alarm(&self, core: &Core<u32>) {
        match core.idle_check(now_ms(), self.away_after_ms()) {
            IdleCheck::CheckAt(at) => self.arm_idle_alarm_at(at).await,
            IdleCheck::GoAway => self.arm_idle_alarm_at(now_ms()).await,
            IdleCheck::Nothing => {}
        }
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
