//! The native room hub: one [`Room`] per channel that has listeners, one [`UserSockets`] per
//! connected user, and the live sockets. The pure cores decide; this file carries out their
//! deliveries and actions, exactly as the edge's Durable Objects do with the same cores.
//!
//! Rooms count users (like at the edge), and a user's frames go to each of their sockets.
//! All state sits behind one mutex that is never held across an await; fan-out is a
//! `try_send` into each socket's bounded queue. A socket whose queue is full is not dropped
//! and not silently skipped: it is flagged, and its writer tells the client to resync from
//! PostgreSQL.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use ocomms_core::event::{ChannelEvent, Presence, ServerFrame, Subscription, UserNotice};
use ocomms_core::ids::{ChannelId, UserId};
use ocomms_rooms::user::{
    MAX_SOCKETS_PER_USER, Membership, OfflineIsNotAChoice, Socket, TooManySockets, UserAction, UserSockets,
    membership_change,
};
use ocomms_rooms::{Delivery, Published, Room, RoomError, RoomLimits};
use tokio::sync::{Notify, mpsc};

use crate::metrics::Metrics;
use crate::relay::message::{Message, UserReport};
use crate::relay::presence::{Change, RemotePresence, combine};
use crate::wire::SharedFrame;

pub type ConnId = u64;
/// Shared by every socket it goes to; serialised once per encoding ([`SharedFrame`]).
pub type Frame = Arc<SharedFrame>;

/// Frames buffered per socket before it counts as lagging.
pub const SOCKET_QUEUE: usize = 1024;

/// What a socket task keeps to hear from the hub.
pub struct ConnHandle {
    pub id: ConnId,
    pub rx: mpsc::Receiver<Frame>,
    /// Set when a frame could not be queued; the writer sends `resync` and clears it.
    pub lagged: Arc<AtomicBool>,
    pub wake: Arc<Notify>,
    /// Set (with the reason) when the socket's session ended: the writer says so and closes.
    pub ended: Arc<OnceLock<String>>,
}

/// The hub's end of one socket.
struct Conn {
    user: UserId,
    ended: Arc<OnceLock<String>>,
    tx: mpsc::Sender<Frame>,
    lagged: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

struct Inner {
    rooms: HashMap<ChannelId, Room<UserId>>,
    users: HashMap<UserId, UserSockets<ConnId>>,
    conns: HashMap<ConnId, Conn>,
    /// What the other hosts of a cluster say of their users (empty on a lone host).
    remote: RemotePresence,
    /// What this host last told the others of each of its users.
    reported: HashMap<UserId, UserReport>,
}

/// The hub's way out to the other hosts of a cluster ([`crate::relay`]).
pub struct RelayOut {
    pub tx: mpsc::Sender<Outgoing>,
    /// Set when a message could not be queued: the relay then tells every host to resync.
    pub overflowed: Arc<AtomicBool>,
    /// The relay is reachable: worth waiting for a publish to be confirmed.
    pub up: Arc<AtomicBool>,
}

/// A message for the relay, and who waits for it to be published.
pub struct Outgoing {
    pub message: Message,
    pub published: Option<tokio::sync::oneshot::Sender<()>>,
}

pub struct Hub {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    limits: RoomLimits,
    metrics: Arc<Metrics>,
    /// Sockets one user may hold ([`MAX_SOCKETS_PER_USER`] unless configured).
    max_sockets_per_user: usize,
    /// Set in a cluster: what happens here is told to the other hosts.
    relay: Option<RelayOut>,
}

impl Hub {
    pub fn new(limits: RoomLimits, metrics: Arc<Metrics>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                rooms: HashMap::new(),
                users: HashMap::new(),
                conns: HashMap::new(),
                remote: RemotePresence::new(0),
                reported: HashMap::new(),
            }),
            next_id: AtomicU64::new(1),
            limits,
            metrics,
            max_sockets_per_user: MAX_SOCKETS_PER_USER,
            relay: None,
        }
    }

    /// The same hub in a cluster: changes go out through `out`, and what other hosts say
    /// of their users holds for `presence_ttl_ms` after their last word.
    pub fn with_relay(mut self, out: RelayOut, presence_ttl_ms: i64) -> Self {
        self.relay = Some(out);
        self.lock().remote = RemotePresence::new(presence_ttl_ms);
        self
    }

    /// Tells the other hosts (in a cluster; a lone host has none).
    pub fn relay(&self, message: Message) {
        if let Some(out) = &self.relay
            && out.tx.try_send(Outgoing { message, published: None }).is_err()
        {
            out.overflowed.store(true, Ordering::Release);
        }
    }

    /// [`Self::relay`], and a way to wait until the relay has it: a request that committed
    /// an event answers after the other hosts can hear of it, so what one client does in
    /// sequence through different hosts reaches every socket in that order. `None` when
    /// there is nothing to wait for (a lone host, or the relay is away).
    pub fn relay_confirmed(&self, message: Message) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let out = self.relay.as_ref()?;
        if !out.up.load(Ordering::Acquire) {
            self.relay(message);
            return None;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        match out.tx.try_send(Outgoing { message, published: Some(tx) }) {
            Ok(()) => Some(rx),
            Err(_) => {
                out.overflowed.store(true, Ordering::Release);
                None
            }
        }
    }

    /// A message from another host of the cluster.
    pub fn receive(&self, from: uuid::Uuid, message: Message, now_ms: i64) {
        match message {
            Message::Event { event } => self.publish(event),
            Message::Notice { user_id, notice } => self.notify_user(user_id, notice),
            Message::Typing { channel_id, user_id } => {
                let mut inner = self.lock();
                if let Some(d) = inner.rooms.get_mut(&channel_id).and_then(|r| r.typing_elsewhere(user_id, now_ms)) {
                    self.deliver(&inner, d);
                }
            }
            Message::Presence { user } => {
                let mut inner = self.lock();
                let changes = inner.remote.report(from, user, now_ms);
                self.remote_changed(&inner, changes);
            }
            Message::Heartbeat { users } => {
                let mut inner = self.lock();
                let changes = inner.remote.heartbeat(from, users, now_ms);
                self.remote_changed(&inner, changes);
            }
            Message::Leaving => {
                let mut inner = self.lock();
                let changes = inner.remote.forget(from);
                self.remote_changed(&inner, changes);
            }
            Message::Resync => self.resync_all(),
            // The relay answers it with a heartbeat.
            Message::SyncRequest => {}
        }
    }

    /// Forgets the hosts that have not been heard from in time, and their users.
    pub fn expire_remote(&self, now_ms: i64) {
        let mut inner = self.lock();
        let changes = inner.remote.expire(now_ms);
        self.remote_changed(&inner, changes);
    }

    /// Every user connected here, for a heartbeat.
    pub fn local_reports(&self) -> Vec<UserReport> {
        let inner = self.lock();
        inner.users.keys().map(|u| local_report(&inner, *u)).collect()
    }

    /// Every socket here re-reads what it may have missed from PostgreSQL (the relay was
    /// interrupted, so events from other hosts may not have arrived).
    pub fn resync_all(&self) {
        let inner = self.lock();
        for c in inner.conns.values() {
            if !c.lagged.swap(true, Ordering::AcqRel) {
                self.metrics.lagged.fetch_add(1, Ordering::Relaxed);
            }
            c.wake.notify_one();
        }
    }

    /// The same hub with another cap on each user's sockets (`usize::MAX`: none).
    pub fn with_max_sockets_per_user(mut self, max: usize) -> Self {
        self.max_sockets_per_user = max;
        self
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new socket of `user`, authenticated in login session `session` at `now_ms`, that
    /// listens to `channels` (from [`ocomms_api::socket::start`]). Returns its handle and the
    /// subscriptions for `hello`; refused when the user holds their cap of sockets.
    pub fn connect(
        &self,
        user: UserId,
        session: uuid::Uuid,
        now_ms: i64,
        channels: &[Subscription],
    ) -> Result<(ConnHandle, Vec<Subscription>), TooManySockets> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        if let Some(u) = inner.users.get(&user) {
            u.admit(id, self.max_sockets_per_user)?;
        }
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let lagged = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Notify::new());
        let ended = Arc::new(OnceLock::new());
        let conn = Conn { user, ended: ended.clone(), tx, lagged: lagged.clone(), wake: wake.clone() };
        inner.conns.insert(id, conn);
        let actions = inner.users.entry(user).or_insert_with(|| UserSockets::new(user)).connect(
            id,
            Socket { session, active_ms: now_ms },
            channels,
        );
        let subscriptions = self.act(&mut inner, user, actions);
        self.metrics.sockets.fetch_add(1, Ordering::Relaxed);
        Ok((ConnHandle { id, rx, lagged, wake, ended }, subscriptions))
    }

    /// The socket closed: the last one of its user takes them out of every room.
    pub fn disconnect(&self, conn: ConnId) {
        let mut inner = self.lock();
        let Some(c) = inner.conns.remove(&conn) else { return };
        self.metrics.sockets.fetch_sub(1, Ordering::Relaxed);
        self.with_user(&mut inner, c.user, |u| u.disconnect(conn));
    }

    /// Delivers a notice to the user's sockets. An ended session stops receiving at once:
    /// its sockets leave every room here, before their writers get to close them.
    pub fn notify_user(&self, user: UserId, notice: UserNotice) {
        let mut inner = self.lock();
        self.with_user(&mut inner, user, |u| u.notice(notice));
    }

    /// Fans a committed event out. Membership events also change who listens: a user who
    /// joined is subscribed on every open socket before the event is sent, one who left is
    /// unsubscribed after it.
    pub fn publish(&self, event: ChannelEvent) {
        self.metrics.events_published.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        let channel = event.channel_id;
        let change = membership_change(&event);
        if let Some(Membership::Joined(user)) = change {
            let stored_seq = event.seq - 1;
            let subscription = Subscription { channel_id: channel, last_seq: stored_seq };
            let joined = inner.users.get_mut(&user).and_then(|u| u.joined(subscription).map(|a| (a, u.away().away)));
            if let Some((frames, away)) = joined {
                match self.subscribe(&mut inner, user, channel, stored_seq, away) {
                    Ok(_) => self.act(&mut inner, user, frames),
                    Err(e) => {
                        tracing::warn!(%channel, %user, error = %e, "cannot subscribe a joining member");
                        Vec::new()
                    }
                };
            }
        }
        if let Some(room) = inner.rooms.get_mut(&channel)
            && let Published::Fresh { delivery, .. } = room.publish(event)
        {
            self.deliver(&inner, delivery);
        }
        if let Some(Membership::Left(user)) = change {
            // Still connected: the others must not see them go offline.
            if let Some(room) = inner.rooms.get_mut(&channel) {
                room.leave(user);
                if room.is_idle() {
                    inner.rooms.remove(&channel);
                }
            }
            self.with_user(&mut inner, user, |u| u.left(channel));
        }
    }

    pub fn typing(&self, conn: ConnId, channel: ChannelId, now_ms: i64) -> Result<(), RoomError> {
        let mut inner = self.lock();
        let user = inner.conns.get(&conn).ok_or(RoomError::NotSubscribed)?.user;
        if !inner.users.get(&user).is_some_and(|u| u.listens_to(channel)) {
            return Err(RoomError::NotSubscribed);
        }
        let room = inner.rooms.get_mut(&channel).ok_or(RoomError::NotSubscribed)?;
        if let Some(d) = room.typing_broadcast(user, now_ms)? {
            if !d.to.is_empty() {
                self.deliver(&inner, d);
            }
            self.relay(Message::Typing { channel_id: channel, user_id: user });
        }
        Ok(())
    }

    /// The person behind `conn` did something: they are no longer idle.
    pub fn activity(&self, conn: ConnId, now_ms: i64) {
        let mut inner = self.lock();
        let Some(user) = inner.conns.get(&conn).map(|c| c.user) else { return };
        self.with_user(&mut inner, user, |u| u.activity(conn, now_ms));
    }

    /// The client says the user is online or away. Offline is not something to set: it is
    /// what the others see once the last socket closes.
    pub fn set_presence(&self, conn: ConnId, status: Presence, now_ms: i64) -> Result<(), OfflineIsNotAChoice> {
        let mut inner = self.lock();
        let Some(user) = inner.conns.get(&conn).map(|c| c.user) else { return Ok(()) };
        let Some(actions) = inner.users.get_mut(&user).map(|u| u.set_presence(conn, status, now_ms)) else {
            return Ok(());
        };
        self.act(&mut inner, user, actions?);
        Ok(())
    }

    /// Marks users away whose every socket has been idle for `away_after_ms`. Called
    /// periodically by the host.
    pub fn sweep_idle(&self, now_ms: i64, away_after_ms: i64) {
        let mut inner = self.lock();
        let users: Vec<UserId> = inner.users.keys().copied().collect();
        for user in users {
            self.with_user(&mut inner, user, |u| u.tick(now_ms, away_after_ms).0);
        }
    }

    /// Who is online or away in the socket's channels (the user excluded), for the frames
    /// that follow `hello`.
    pub fn presence_snapshot(&self, conn: ConnId) -> Vec<(UserId, Presence)> {
        let inner = self.lock();
        let Some(user) = inner.conns.get(&conn).map(|c| c.user) else { return Vec::new() };
        let Some(u) = inner.users.get(&user) else { return Vec::new() };
        let mut all: BTreeMap<UserId, Presence> = BTreeMap::new();
        for ch in u.channels() {
            let here = inner.rooms.get(ch).map(|room| room.presence_of_others(user)).unwrap_or_default();
            for (other, status) in here.into_iter().chain(inner.remote.users_in(*ch)) {
                if other != user {
                    let e = all.entry(other).or_insert(Presence::Offline);
                    *e = combine(*e, status);
                }
            }
        }
        // Connected here and elsewhere: the best of both.
        all.into_iter().map(|(u, s)| (u, combine(s, inner.remote.status(u)))).collect()
    }

    pub fn room_count(&self) -> usize {
        self.lock().rooms.len()
    }

    /// Runs `f` on the user's core (if connected) and carries out what it returns.
    fn with_user(
        &self,
        inner: &mut Inner,
        user: UserId,
        f: impl FnOnce(&mut UserSockets<ConnId>) -> Vec<UserAction<ConnId>>,
    ) {
        let Some(u) = inner.users.get_mut(&user) else { return };
        let actions = f(u);
        if !u.is_connected() {
            inner.users.remove(&user);
        }
        self.act(inner, user, actions);
    }

    /// Carries out a user core's actions; returns the subscriptions made.
    fn act(&self, inner: &mut Inner, user: UserId, actions: Vec<UserAction<ConnId>>) -> Vec<Subscription> {
        let mut subscriptions = Vec::new();
        for action in actions {
            match action {
                UserAction::Subscribe { channel, stored_seq, away } => {
                    match self.subscribe(inner, user, channel, stored_seq, away) {
                        Ok(s) => subscriptions.push(s),
                        Err(e) => tracing::warn!(%channel, error = %e, "cannot subscribe socket"),
                    }
                }
                UserAction::Unsubscribe { channel } => {
                    let Some(room) = inner.rooms.get_mut(&channel) else { continue };
                    let presence = room.unsubscribe(user);
                    if room.is_idle() {
                        inner.rooms.remove(&channel);
                    }
                    if let Some(d) = presence {
                        self.deliver(inner, d);
                    }
                }
                UserAction::SetAway { channels, away } => {
                    for ch in channels {
                        if let Some(d) = inner.rooms.get_mut(&ch).and_then(|room| room.set_away(user, away)) {
                            self.deliver(inner, d);
                        }
                    }
                }
                UserAction::Send { to, frames } => {
                    for frame in frames {
                        let frame = Arc::new(SharedFrame::new(frame));
                        for c in &to {
                            self.send(inner, *c, frame.clone());
                        }
                    }
                }
                UserAction::End { conn, reason } => {
                    if let Some(c) = inner.conns.get(&conn) {
                        let _ = c.ended.set(reason);
                        c.wake.notify_one();
                    }
                }
            }
        }
        if self.relay.is_some() {
            self.report_changes(inner, user);
        }
        subscriptions
    }

    /// Tells the other hosts when the user's presence or channels here changed.
    fn report_changes(&self, inner: &mut Inner, user: UserId) {
        let now = local_report(inner, user);
        if inner.reported.get(&user) == Some(&now) {
            return;
        }
        if now.status == Presence::Offline {
            if inner.reported.remove(&user).is_none() {
                return;
            }
        } else {
            inner.reported.insert(user, now.clone());
        }
        self.relay(Message::Presence { user: now });
    }

    /// Other hosts' news of users: frames for the people here who share a channel with
    /// them, when what they see (this host's and the others' view combined) changed.
    fn remote_changed(&self, inner: &Inner, changes: Vec<Change>) {
        for c in changes {
            let here = local_status(inner, c.user);
            let after = combine(here, c.after);
            if combine(here, c.before) == after {
                continue;
            }
            let mut channels = c.channels;
            if let Some(u) = inner.users.get(&c.user) {
                channels.extend(u.channels().iter().copied());
            }
            let to: BTreeSet<UserId> = channels
                .iter()
                .filter_map(|ch| inner.rooms.get(ch))
                .flat_map(|room| room.online_users())
                .filter(|u| *u != c.user)
                .collect();
            let frame = Arc::new(SharedFrame::new(ServerFrame::Presence { user_id: c.user, status: after }));
            for viewer in to {
                let Some(u) = inner.users.get(&viewer) else { continue };
                for conn in u.conns() {
                    self.send(inner, conn, frame.clone());
                }
            }
        }
    }

    /// Subscribes the user in the channel's room (made from `stored_seq` if new), carrying
    /// their away state into it.
    fn subscribe(
        &self,
        inner: &mut Inner,
        user: UserId,
        channel: ChannelId,
        stored_seq: i64,
        away: bool,
    ) -> Result<Subscription, RoomError> {
        let room = inner.rooms.entry(channel).or_insert_with(|| Room::new(channel, stored_seq, self.limits));
        room.observe_seq(stored_seq);
        let (sub, presence) = room.subscribe(user, user)?;
        let away = if away { room.set_away(user, true) } else { None };
        for d in presence.into_iter().chain(away) {
            self.deliver(inner, d);
        }
        Ok(sub)
    }

    /// A room's frame to each socket of each user it names.
    fn deliver(&self, inner: &Inner, d: Delivery<UserId>) {
        let frame = match d.frame {
            // A room sees this host's sockets only: someone who left here may still be
            // online on another host.
            ServerFrame::Presence { user_id, status } => {
                ServerFrame::Presence { user_id, status: combine(status, inner.remote.status(user_id)) }
            }
            other => other,
        };
        let frame = Arc::new(SharedFrame::new(frame));
        for user in d.to {
            let Some(u) = inner.users.get(&user) else { continue };
            for c in u.conns() {
                self.send(inner, c, frame.clone());
            }
        }
    }

    fn send(&self, inner: &Inner, conn: ConnId, frame: Frame) {
        let Some(c) = inner.conns.get(&conn) else { return };
        match c.tx.try_send(frame) {
            Ok(()) => {
                self.metrics.deliveries.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                if !c.lagged.swap(true, Ordering::AcqRel) {
                    self.metrics.lagged.fetch_add(1, Ordering::Relaxed);
                }
                c.wake.notify_one();
            }
            // The socket task is ending; `disconnect` will clean up.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// The user as this host's sockets show them.
fn local_status(inner: &Inner, user: UserId) -> Presence {
    match inner.users.get(&user) {
        Some(u) if u.away().away => Presence::Away,
        Some(_) => Presence::Online,
        None => Presence::Offline,
    }
}

fn local_report(inner: &Inner, user: UserId) -> UserReport {
    let channels = inner.users.get(&user).map(|u| u.channels().iter().copied().collect()).unwrap_or_default();
    UserReport { user_id: user, status: local_status(inner, user), channels }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocomms_core::event::kind;
    use uuid::Uuid;

    const CH: ChannelId = ChannelId(Uuid::from_u128(1));
    const CH2: ChannelId = ChannelId(Uuid::from_u128(2));
    const ANN: UserId = UserId(Uuid::from_u128(10));
    const BOB: UserId = UserId(Uuid::from_u128(11));

    fn ev(channel: ChannelId, seq: i64, kind: &str, data: serde_json::Value) -> ChannelEvent {
        ChannelEvent { channel_id: channel, seq, kind: kind.into(), data, at_ms: 0 }
    }

    fn hub() -> Hub {
        Hub::new(RoomLimits::default(), Arc::new(Metrics::default()))
    }

    fn at(channel: ChannelId) -> Subscription {
        Subscription { channel_id: channel, last_seq: 0 }
    }

    /// A socket of `user` in `session`, listening to `channels`, at time 0.
    fn open(hub: &Hub, user: UserId, session: u128, channels: &[ChannelId]) -> ConnHandle {
        let subs: Vec<Subscription> = channels.iter().map(|c| at(*c)).collect();
        let (h, got) = hub.connect(user, Uuid::from_u128(session), 0, &subs).expect("under the cap");
        assert_eq!(got, subs);
        h
    }

    fn drain(h: &mut ConnHandle) -> Vec<ServerFrame> {
        let mut out = Vec::new();
        while let Ok(f) = h.rx.try_recv() {
            out.push(f.frame().clone());
        }
        out
    }

    #[test]
    fn a_user_over_the_socket_cap_is_refused_until_one_closes() {
        let hub = hub().with_max_sockets_per_user(2);
        let a = open(&hub, ANN, 1, &[CH]);
        let _b = open(&hub, ANN, 1, &[CH]);
        assert!(hub.connect(ANN, Uuid::from_u128(1), 0, &[]).is_err());
        let _other = open(&hub, BOB, 2, &[CH]);
        hub.disconnect(a.id);
        assert!(hub.connect(ANN, Uuid::from_u128(1), 0, &[]).is_ok());
    }

    #[test]
    fn events_reach_subscribers_of_the_channel_only() {
        let hub = hub();
        let mut a = open(&hub, ANN, 1, &[CH]);
        let mut b = open(&hub, BOB, 2, &[CH2]);
        drain(&mut a);
        hub.publish(ev(CH, 1, kind::MESSAGE_POSTED, serde_json::json!({})));
        assert!(matches!(drain(&mut a).as_slice(), [ServerFrame::Event { event }] if event.seq == 1));
        assert!(drain(&mut b).is_empty());
    }

    #[test]
    fn every_socket_of_a_user_hears_and_presence_follows_the_first_and_last() {
        let hub = hub();
        let mut b = open(&hub, BOB, 2, &[CH]);
        let a1 = open(&hub, ANN, 1, &[CH]);
        let mut a2 = open(&hub, ANN, 1, &[CH]);
        assert_eq!(drain(&mut b), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Online }]);
        hub.publish(ev(CH, 1, kind::MESSAGE_POSTED, serde_json::json!({})));
        assert_eq!(drain(&mut a2).len(), 1);
        hub.disconnect(a1.id);
        assert!(drain(&mut b).iter().all(|f| matches!(f, ServerFrame::Event { .. })), "Ann is still online");
        hub.disconnect(a2.id);
        assert_eq!(drain(&mut b), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Offline }]);
    }

    #[test]
    fn joining_subscribes_open_sockets_and_leaving_unsubscribes() {
        let hub = hub();
        let mut b = open(&hub, BOB, 2, &[]);
        let joined = serde_json::json!({ "user_id": BOB.to_string() });
        hub.publish(ev(CH, 5, kind::MEMBER_JOINED, joined.clone()));
        let frames = drain(&mut b);
        assert!(matches!(&frames[0], ServerFrame::Subscribed { subscription } if subscription.channel_id == CH));
        assert!(matches!(&frames[1], ServerFrame::Event { event } if event.seq == 5));
        hub.publish(ev(CH, 6, kind::MESSAGE_POSTED, serde_json::json!({})));
        assert_eq!(drain(&mut b).len(), 1);
        hub.publish(ev(CH, 7, kind::MEMBER_LEFT, joined));
        let frames = drain(&mut b);
        assert!(matches!(&frames[0], ServerFrame::Event { event } if event.seq == 7));
        assert!(matches!(&frames[1], ServerFrame::Unsubscribed { channel_id } if *channel_id == CH));
        hub.publish(ev(CH, 8, kind::MESSAGE_POSTED, serde_json::json!({})));
        assert!(drain(&mut b).is_empty());
        assert_eq!(hub.room_count(), 0, "the room went away with its last listener");
        assert!(hub.typing(b.id, CH, 0).is_err(), "no typing where one does not listen");
    }

    #[test]
    fn a_full_queue_flags_the_socket_instead_of_dropping_it_silently() {
        let hub = hub();
        let mut a = open(&hub, ANN, 1, &[CH]);
        for seq in 1..=(SOCKET_QUEUE as i64 + 10) {
            hub.publish(ev(CH, seq, kind::MESSAGE_POSTED, serde_json::json!({})));
        }
        assert!(a.lagged.load(Ordering::Acquire));
        assert_eq!(drain(&mut a).len(), SOCKET_QUEUE);
        hub.disconnect(a.id);
        assert_eq!(hub.room_count(), 0);
    }

    #[test]
    fn an_ended_session_stops_hearing_at_once_and_other_sessions_carry_on() {
        let hub = hub();
        let (s1, s2) = (Uuid::from_u128(100), Uuid::from_u128(200));
        let mut a1 = open(&hub, ANN, 100, &[CH]);
        let mut a2 = open(&hub, ANN, 200, &[CH]);
        hub.notify_user(ANN, UserNotice::SessionsEnded { session_id: Some(s1), reason: "logged out".into() });
        assert_eq!(a1.ended.get().map(String::as_str), Some("logged out"));
        assert!(a2.ended.get().is_none());
        hub.publish(ev(CH, 1, kind::MESSAGE_POSTED, serde_json::json!({})));
        assert!(drain(&mut a1).is_empty());
        assert_eq!(drain(&mut a2).len(), 1);
        hub.notify_user(ANN, UserNotice::SessionsEnded { session_id: Some(s2), reason: "removed".into() });
        assert!(a2.ended.get().is_some());
        hub.publish(ev(CH, 2, kind::MESSAGE_POSTED, serde_json::json!({})));
        assert!(drain(&mut a2).is_empty());
        assert_eq!(hub.room_count(), 0);
        hub.disconnect(a1.id);
        hub.disconnect(a2.id);
    }

    #[test]
    fn read_markers_reach_every_socket_of_the_user_only() {
        let hub = hub();
        let mut a1 = open(&hub, ANN, 1, &[]);
        let mut a2 = open(&hub, ANN, 2, &[]);
        let mut b = open(&hub, BOB, 3, &[]);
        hub.notify_user(ANN, UserNotice::ReadMarker { channel_id: CH, last_read_seq: 9 });
        for h in [&mut a1, &mut a2] {
            assert!(matches!(drain(h).as_slice(), [ServerFrame::ReadMarker { last_read_seq: 9, .. }]));
        }
        assert!(drain(&mut b).is_empty());
    }

    #[test]
    fn idle_users_go_away_and_come_back_on_activity_unless_away_by_choice() {
        let hub = hub();
        let a = open(&hub, ANN, 1, &[CH]);
        let mut b = open(&hub, BOB, 2, &[CH]);
        drain(&mut b);
        hub.activity(b.id, 50_000);
        hub.sweep_idle(60_000, 60_000);
        assert_eq!(drain(&mut b), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Away }]);
        assert_eq!(hub.presence_snapshot(b.id), vec![(ANN, Presence::Away)]);
        hub.sweep_idle(70_000, 60_000);
        assert!(drain(&mut b).is_empty(), "away is told once");
        hub.activity(a.id, 71_000);
        assert_eq!(drain(&mut b), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Online }]);
        hub.set_presence(a.id, Presence::Away, 72_000).unwrap();
        assert_eq!(drain(&mut b), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Away }]);
        hub.activity(a.id, 73_000);
        assert!(drain(&mut b).is_empty(), "typing does not override a chosen away");
        hub.set_presence(a.id, Presence::Online, 74_000).unwrap();
        assert_eq!(drain(&mut b), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Online }]);
        assert!(hub.set_presence(a.id, Presence::Offline, 75_000).is_err());
        hub.disconnect(a.id);
        assert_eq!(drain(&mut b), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Offline }]);
    }

    /// A hub as one host of a cluster, and what it relays.
    fn host() -> (Hub, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(64);
        let out = RelayOut { tx, overflowed: Arc::new(AtomicBool::new(false)), up: Arc::new(AtomicBool::new(true)) };
        (hub().with_relay(out, 15_000), rx)
    }

    /// Hands what `rx` holds to `to`, as the relay would, from host `from`.
    fn pump(rx: &mut mpsc::Receiver<Outgoing>, from: u128, to: &Hub, now_ms: i64) {
        while let Ok(m) = rx.try_recv() {
            to.receive(Uuid::from_u128(from), m.message, now_ms);
        }
    }

    #[test]
    fn presence_spans_hosts_and_a_user_on_two_is_offline_only_when_gone_from_both() {
        let (a, mut from_a) = host();
        let (b, mut from_b) = host();
        let mut bob = open(&b, BOB, 2, &[CH]);
        pump(&mut from_b, 0xb, &a, 0);
        let ann_a = open(&a, ANN, 1, &[CH]);
        pump(&mut from_a, 0xa, &b, 0);
        assert_eq!(drain(&mut bob), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Online }]);
        assert_eq!(b.presence_snapshot(bob.id), vec![(ANN, Presence::Online)]);
        // Ann opens a socket on B too, then closes the one on A: still online.
        let ann_b = open(&b, ANN, 1, &[CH]);
        a.disconnect(ann_a.id);
        pump(&mut from_a, 0xa, &b, 1);
        assert!(drain(&mut bob).iter().all(|f| *f == ServerFrame::Presence { user_id: ANN, status: Presence::Online }));
        // And the room on B, which saw her last socket here go, asks the others first.
        let (ann_again, _) = a.connect(ANN, Uuid::from_u128(1), 2, &[at(CH)]).unwrap();
        pump(&mut from_a, 0xa, &b, 2);
        drain(&mut bob);
        b.disconnect(ann_b.id);
        assert_eq!(drain(&mut bob), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Online }]);
        a.disconnect(ann_again.id);
        pump(&mut from_a, 0xa, &b, 3);
        assert_eq!(drain(&mut bob), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Offline }]);
        assert!(b.presence_snapshot(bob.id).is_empty());
    }

    #[test]
    fn events_notices_and_typing_reach_the_other_host_once() {
        let (a, mut from_a) = host();
        let (b, mut from_b) = host();
        let mut ann = open(&a, ANN, 1, &[CH]);
        let mut bob = open(&b, BOB, 2, &[CH]);
        pump(&mut from_a, 0xa, &b, 0);
        pump(&mut from_b, 0xb, &a, 0);
        drain(&mut ann);
        drain(&mut bob);
        // What a component on A committed: delivered on A, relayed to B.
        let event = ev(CH, 1, kind::MESSAGE_POSTED, serde_json::json!({}));
        a.publish(event.clone());
        a.relay(Message::Event { event: event.clone() });
        pump(&mut from_a, 0xa, &b, 1);
        // Relayed twice (a retried publish): still once.
        b.receive(Uuid::from_u128(0xa), Message::Event { event }, 1);
        assert!(matches!(drain(&mut bob).as_slice(), [ServerFrame::Event { event }] if event.seq == 1));
        assert_eq!(drain(&mut ann).len(), 1);
        a.typing(ann.id, CH, 5_000).unwrap();
        pump(&mut from_a, 0xa, &b, 5_000);
        assert!(matches!(drain(&mut bob).as_slice(), [ServerFrame::Typing { user_id, .. }] if *user_id == ANN));
        assert!(drain(&mut ann).is_empty(), "not to the typist");
        b.receive(
            Uuid::from_u128(0xa),
            Message::Notice { user_id: BOB, notice: UserNotice::ReadMarker { channel_id: CH, last_read_seq: 1 } },
            6_000,
        );
        assert!(matches!(drain(&mut bob).as_slice(), [ServerFrame::ReadMarker { last_read_seq: 1, .. }]));
    }

    #[test]
    fn a_silent_host_takes_its_users_presence_with_it_and_a_relay_gap_resyncs_everyone() {
        let (a, mut from_a) = host();
        let (b, _from_b) = host();
        let mut bob = open(&b, BOB, 2, &[CH]);
        let _ann = open(&a, ANN, 1, &[CH]);
        a.relay(Message::Heartbeat { users: a.local_reports() });
        pump(&mut from_a, 0xa, &b, 1_000);
        drain(&mut bob);
        b.expire_remote(15_999);
        assert!(drain(&mut bob).is_empty());
        b.expire_remote(16_000);
        assert_eq!(drain(&mut bob), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Offline }]);
        b.resync_all();
        assert!(bob.lagged.load(Ordering::Acquire));
    }

    #[test]
    fn a_full_relay_queue_is_flagged_for_a_cluster_wide_resync() {
        let (tx, _rx) = mpsc::channel(1);
        let overflowed = Arc::new(AtomicBool::new(false));
        let up = Arc::new(AtomicBool::new(true));
        let a = hub().with_relay(RelayOut { tx, overflowed: overflowed.clone(), up: up.clone() }, 15_000);
        assert!(a.relay_confirmed(Message::SyncRequest).is_some(), "queued: the caller may wait");
        assert!(!overflowed.load(Ordering::Acquire));
        assert!(a.relay_confirmed(Message::SyncRequest).is_none(), "full: nothing to wait for");
        assert!(overflowed.load(Ordering::Acquire));
        up.store(false, Ordering::Release);
        assert!(a.relay_confirmed(Message::SyncRequest).is_none(), "the relay is away: no wait");
    }
}
