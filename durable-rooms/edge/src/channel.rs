//! [`ChannelRoom`]: one Durable Object per channel, around `Room<UserId>`.
//!
//! The room's connections are users: each subscribed user is reached through their
//! [`crate::UserSockets`] object, which fans a frame out to that user's sockets. The room
//! makes the same decisions as on the host (who hears an event, presence changes, typing
//! throttling, duplicate publishes); membership events change who listens exactly as the
//! host's hub does: a joining user's sockets subscribe before the join event is delivered, a
//! leaving user's sockets unsubscribe after it.
//!
//! Subscribers (with their away flag) live in the object's storage under `sub:<user>`, so an
//! evicted object comes back with the same listeners. The backlog, typing state and the
//! high-water seq are rebuilt as events arrive; clients backfill from PostgreSQL anyway.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures::future::join_all;
use ocomms_core::event::{ChannelEvent, Presence, Subscription};
use ocomms_core::ids::{ChannelId, UserId};
use ocomms_rooms::user::{Membership, membership_change};
use ocomms_rooms::{Delivery, Published, Room, RoomError, RoomLimits};
use serde::Serialize;
use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{DurableObject, Env, ListOptions, Request, Response, Result, State, Stub, durable_object};

use crate::StorageError;
use crate::call::{self, CallError};
use crate::wire::{
    self, FramesReply, FramesReq, JoinedReply, JoinedReq, LeftReq, PresenceReq, SubscribeReply, SubscribeReq, UserReq,
};

const SUB_PREFIX: &str = "sub:";

fn sub_key(user: UserId) -> String {
    format!("{SUB_PREFIX}{user}")
}

/// Why the room could not be built.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A stub for one channel reached another's object: a routing bug.
    #[error("this object is channel {0}")]
    OtherChannel(ChannelId),
}

#[durable_object(fetch)]
pub struct ChannelRoom {
    state: State,
    env: Env,
    inner: RefCell<Inner>,
}

#[derive(Default)]
struct Inner {
    /// `None` until the subscribers are read back from storage.
    room: Option<Room<UserId>>,
    /// One stub per user object: calls through one stub arrive in the order they were made,
    /// so a user's sockets see this channel's frames in order.
    stubs: HashMap<UserId, Rc<Stub>>,
}

impl DurableObject for ChannelRoom {
    fn new(state: State, env: Env) -> Self {
        Self { state, env, inner: RefCell::new(Inner::default()) }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let Some((channel, route)) = wire::parse_path::<ChannelId>(&path) else {
            return reply::status(404, "no such room route");
        };
        if let Err(e) = self.load(channel).await {
            worker::console_error!("room {channel}: load: {}", ocomms_api::error::chain(&e));
            return reply::status(503, "room unavailable");
        }
        match route {
            wire::room::EVENTS => match reply::body::<ChannelEvent>(&mut req).await {
                Ok(event) if event.channel_id == channel => {
                    self.on_event(event).await;
                    reply::json(&serde_json::json!({}))
                }
                Ok(_) => reply::status(400, "event is for another channel"),
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::room::SUBSCRIBE => match reply::body::<SubscribeReq>(&mut req).await {
                Ok(m) => match self.admit(m.user_id, m.away, m.db_seq).await {
                    Ok((subscription, presence)) => reply::json(&SubscribeReply { subscription, presence }),
                    Err(e) => reply::status(503, &e.to_string()),
                },
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::room::UNSUBSCRIBE => match reply::body::<UserReq>(&mut req).await {
                Ok(m) => {
                    let presence = self.remove(m.user_id).await;
                    self.deliver(presence.into_iter().collect()).await;
                    reply::json(&serde_json::json!({}))
                }
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::room::TYPING => match reply::body::<UserReq>(&mut req).await {
                Ok(m) => {
                    let now = worker::js_sys::Date::now() as i64;
                    match self.with_room(|r| r.typing(m.user_id, now)) {
                        Some(Ok(delivery)) => {
                            self.deliver(delivery.into_iter().collect()).await;
                            reply::json(&serde_json::json!({}))
                        }
                        Some(Err(e)) => reply::status(409, &e.to_string()),
                        None => reply::status(503, "room unavailable"),
                    }
                }
                Err(e) => reply::status(400, &e.to_string()),
            },
            wire::room::PRESENCE => match reply::body::<PresenceReq>(&mut req).await {
                Ok(m) => {
                    let (subscribed, delivery) = self
                        .with_room(|r| (r.is_subscribed(m.user_id), r.set_away(m.user_id, m.away)))
                        .unwrap_or_default();
                    if subscribed {
                        self.persist(m.user_id, m.away).await;
                    }
                    self.deliver(delivery.into_iter().collect()).await;
                    reply::json(&serde_json::json!({}))
                }
                Err(e) => reply::status(400, &e.to_string()),
            },
            _ => reply::status(404, "no such room route"),
        }
    }
}

impl ChannelRoom {
    /// Builds the room from storage on first use (after a start or an eviction).
    async fn load(&self, channel: ChannelId) -> std::result::Result<(), LoadError> {
        if let Some(room) = &self.inner.borrow().room {
            return if room.channel() == channel { Ok(()) } else { Err(LoadError::OtherChannel(room.channel())) };
        }
        let stored = self
            .state
            .storage()
            .list_with_options(ListOptions::new().prefix(SUB_PREFIX))
            .await
            .map_err(StorageError)?;
        let mut subscribers: Vec<(UserId, bool)> = Vec::new();
        stored.for_each(&mut |value: JsValue, key: JsValue| {
            let user = key.as_string().and_then(|k| k.strip_prefix(SUB_PREFIX).and_then(|u| u.parse().ok()));
            if let Some(user) = user {
                subscribers.push((user, value.as_bool().unwrap_or(false)));
            }
        });
        let mut inner = self.inner.borrow_mut();
        if inner.room.is_none() {
            let mut room = Room::new(channel, 0, RoomLimits::default());
            for (user, away) in subscribers {
                // Nobody is told: the others already saw these users come online.
                if room.subscribe(user, user).is_ok() && away {
                    room.set_away(user, true);
                }
            }
            inner.room = Some(room);
        }
        Ok(())
    }

    /// Runs `f` on the room; the borrow ends before any await.
    fn with_room<T>(&self, f: impl FnOnce(&mut Room<UserId>) -> T) -> Option<T> {
        self.inner.borrow_mut().room.as_mut().map(f)
    }

    /// A committed event: subscribe a joining member's sockets, fan out, unsubscribe a
    /// leaving member's sockets.
    async fn on_event(&self, event: ChannelEvent) {
        let channel = event.channel_id;
        let change = membership_change(&event);
        if let Some(Membership::Joined(user)) = change {
            let before = event.seq - 1;
            let joined = JoinedReq { subscription: Subscription { channel_id: channel, last_seq: before } };
            match self.call_user::<_, JoinedReply>(user, wire::user::JOINED, &joined).await {
                Ok(JoinedReply { online: true, away }) => {
                    if let Err(e) = self.admit(user, away, before).await {
                        worker::console_error!("room {channel}: subscribe {user}: {e}");
                    }
                }
                Ok(_) => {}
                Err(e) => worker::console_error!("room {channel}: tell {user} of the join: {e}"),
            }
        }
        let delivery = self
            .with_room(|r| match r.publish(event) {
                Published::Fresh { delivery, .. } => Some(delivery),
                Published::Duplicate => None,
            })
            .flatten();
        self.deliver(delivery.into_iter().collect()).await;
        if let Some(Membership::Left(user)) = change
            && self.with_room(|r| r.is_subscribed(user)).unwrap_or(false)
        {
            // They left the channel, not the service: no presence change for the others.
            self.forget(user).await;
            if let Err(e) =
                self.call_user::<_, serde_json::Value>(user, wire::user::LEFT, &LeftReq { channel_id: channel }).await
            {
                worker::console_error!("room {channel}: tell {user} of the leave: {e}");
            }
        }
    }

    /// Subscribes a user (idempotent); returns the subscription and who else is here.
    async fn admit(
        &self,
        user: UserId,
        away: bool,
        db_seq: i64,
    ) -> std::result::Result<(Subscription, Vec<(UserId, Presence)>), RoomError> {
        let (subscription, deliveries, others) = self
            .with_room(|room| {
                room.observe_seq(db_seq);
                let (subscription, online) = room.subscribe(user, user)?;
                let away = room.set_away(user, away);
                let deliveries: Vec<_> = online.into_iter().chain(away).collect();
                Ok((subscription, deliveries, room.presence_of_others(user)))
            })
            .unwrap_or(Err(RoomError::NotSubscribed))?;
        self.persist(user, away).await;
        self.deliver(deliveries).await;
        Ok((subscription, others))
    }

    async fn persist(&self, user: UserId, away: bool) {
        if let Err(e) = self.state.storage().put(&sub_key(user), away).await {
            worker::console_error!("room: store subscriber {user}: {e}");
        }
    }

    /// Unsubscribes a user whose sockets are all gone; returns the presence change for the
    /// others.
    async fn remove(&self, user: UserId) -> Option<Delivery<UserId>> {
        let presence = self.with_room(|r| r.unsubscribe(user)).flatten();
        self.drop_subscriber(user).await;
        presence
    }

    /// Unsubscribes a user who left the channel but may still be connected.
    async fn forget(&self, user: UserId) {
        self.with_room(|r| r.leave(user));
        self.drop_subscriber(user).await;
    }

    async fn drop_subscriber(&self, user: UserId) {
        self.inner.borrow_mut().stubs.remove(&user);
        if let Err(e) = self.state.storage().delete(&sub_key(user)).await {
            worker::console_error!("room: forget subscriber {user}: {e}");
        }
    }

    /// Sends each delivery's frame to its users' objects, in parallel per delivery and in
    /// order across deliveries. A user object with no socket left answers 0: that user is
    /// unsubscribed here, which may itself deliver a presence change.
    async fn deliver(&self, mut queue: Vec<Delivery<UserId>>) {
        queue.reverse();
        while let Some(d) = queue.pop() {
            let body = match serde_json::to_string(&FramesReq { frames: vec![d.frame] }) {
                Ok(b) => b,
                Err(e) => {
                    worker::console_error!("room: encode frame: {e}");
                    continue;
                }
            };
            let calls = d.to.iter().map(|user| {
                let body = body.as_str();
                async move {
                    let reply = match self.stub(*user) {
                        Ok(stub) => call::post_json(&stub, &wire::user_url(*user, wire::user::FRAMES), body).await,
                        Err(e) => Err(e),
                    };
                    (*user, reply)
                }
            });
            for (user, reply) in join_all(calls).await {
                match reply.map(|r| serde_json::from_str::<FramesReply>(&r)) {
                    Ok(Ok(FramesReply { sockets: 0 })) => {
                        if let Some(presence) = self.remove(user).await {
                            queue.insert(0, presence);
                        }
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => worker::console_error!("room: bad reply from user {user}: {e}"),
                    Err(e) => worker::console_error!("room: deliver to user {user}: {e}"),
                }
            }
        }
    }

    fn stub(&self, user: UserId) -> std::result::Result<Rc<Stub>, CallError> {
        if let Some(stub) = self.inner.borrow().stubs.get(&user) {
            return Ok(stub.clone());
        }
        let stub = Rc::new(call::user_stub(&self.env, user)?);
        self.inner.borrow_mut().stubs.insert(user, stub.clone());
        Ok(stub)
    }

    async fn call_user<B: Serialize, R: DeserializeOwned>(
        &self,
        user: UserId,
        route: &str,
        body: &B,
    ) -> std::result::Result<R, CallError> {
        let stub = self.stub(user)?;
        call::call(&stub, &wire::user_url(user, route), body).await
    }
}

/// Replies of the internal routes.
pub(crate) mod reply {
    use worker::{Response, Result};

    pub fn json<T: serde::Serialize>(value: &T) -> Result<Response> {
        Response::from_json(value)
    }

    /// A body that could not be read or parsed.
    #[derive(Debug, thiserror::Error)]
    pub enum BodyError {
        #[error(transparent)]
        Read(#[from] worker::Error),
        #[error(transparent)]
        Json(#[from] serde_json::Error),
    }

    /// A JSON request body, parsed with serde_json (exact integers, unknown fields refused).
    pub async fn body<T: serde::de::DeserializeOwned>(req: &mut worker::Request) -> std::result::Result<T, BodyError> {
        let text = req.text().await?;
        Ok(serde_json::from_str(&text)?)
    }

    /// A refusal with a reason; only other objects and the Worker read it.
    pub fn status(status: u16, message: &str) -> Result<Response> {
        Ok(Response::from_json(&serde_json::json!({ "error": message }))?.with_status(status))
    }
}
