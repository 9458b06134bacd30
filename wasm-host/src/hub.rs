//! The native room hub: one [`Room`] per channel that has listeners, and the live sockets.
//!
//! All state sits behind one mutex that is never held across an await; fan-out is a
//! `try_send` into each socket's bounded queue. A socket whose queue is full is not dropped
//! and not silently skipped: it is flagged, and its writer tells the client to resync from
//! PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use ocomms_core::event::{ChannelEvent, Presence, ServerFrame, Subscription, UserNotice, kind};
use ocomms_core::ids::{ChannelId, UserId};
use ocomms_rooms::{Delivery, Published, Room, RoomError, RoomLimits};
use tokio::sync::{Notify, mpsc};

use crate::metrics::Metrics;

pub type ConnId = u64;
pub type Frame = Arc<ServerFrame>;

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

struct Conn {
    user: UserId,
    session: uuid::Uuid,
    ended: Arc<OnceLock<String>>,
    tx: mpsc::Sender<Frame>,
    lagged: Arc<AtomicBool>,
    wake: Arc<Notify>,
    channels: HashSet<ChannelId>,
    /// When the person last did something (typed, came back); pings do not count.
    last_active_ms: i64,
}

#[derive(Default)]
struct Inner {
    rooms: HashMap<ChannelId, Room<ConnId>>,
    conns: HashMap<ConnId, Conn>,
    by_user: HashMap<UserId, HashSet<ConnId>>,
    /// Connected users who are away: idle on every socket, or said so.
    away: HashSet<UserId>,
    /// Users who said they are away; idleness sweeps and activity leave them alone until
    /// they say they are back.
    away_by_choice: HashSet<UserId>,
}

pub struct Hub {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    limits: RoomLimits,
    metrics: Arc<Metrics>,
}

impl Hub {
    pub fn new(limits: RoomLimits, metrics: Arc<Metrics>) -> Self {
        Self { inner: Mutex::new(Inner::default()), next_id: AtomicU64::new(1), limits, metrics }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new socket of `user`, authenticated in login session `session`, at `now_ms`.
    pub fn register(&self, user: UserId, session: uuid::Uuid, now_ms: i64) -> ConnHandle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(SOCKET_QUEUE);
        let lagged = Arc::new(AtomicBool::new(false));
        let wake = Arc::new(Notify::new());
        let ended = Arc::new(OnceLock::new());
        let conn = Conn {
            user,
            session,
            ended: ended.clone(),
            tx,
            lagged: lagged.clone(),
            wake: wake.clone(),
            channels: HashSet::new(),
            last_active_ms: now_ms,
        };
        let mut inner = self.lock();
        inner.conns.insert(id, conn);
        inner.by_user.entry(user).or_default().insert(id);
        self.metrics.sockets.fetch_add(1, Ordering::Relaxed);
        ConnHandle { id, rx, lagged, wake, ended }
    }

    /// Delivers a notice to the user's sockets. An ended session stops receiving at once:
    /// its sockets leave every room here, before their writers get to close them.
    pub fn notify_user(&self, user: UserId, notice: UserNotice) {
        let mut inner = self.lock();
        let conns: Vec<ConnId> = inner.by_user.get(&user).map(|s| s.iter().copied().collect()).unwrap_or_default();
        match notice {
            UserNotice::ReadMarker { channel_id, last_read_seq } => {
                let frame = Arc::new(ServerFrame::ReadMarker { channel_id, last_read_seq });
                for c in conns {
                    send(&inner, c, frame.clone(), &self.metrics);
                }
            }
            UserNotice::SessionsEnded { session_id, reason } => {
                for c in conns {
                    let Some(conn) = inner.conns.get_mut(&c) else { continue };
                    if session_id.is_some_and(|s| s != conn.session) {
                        continue;
                    }
                    let _ = conn.ended.set(reason.clone());
                    conn.wake.notify_one();
                    let channels: Vec<ChannelId> = conn.channels.drain().collect();
                    for ch in channels {
                        leave_room(&mut inner, ch, c, &self.metrics);
                    }
                }
            }
        }
    }

    /// Subscribes a socket to a channel whose stored seq is `db_seq`.
    pub fn subscribe(&self, conn: ConnId, channel: ChannelId, db_seq: i64) -> Result<Subscription, RoomError> {
        let mut inner = self.lock();
        subscribe_locked(&mut inner, self.limits, conn, channel, db_seq, &self.metrics)
    }

    pub fn unregister(&self, conn: ConnId) {
        let mut inner = self.lock();
        let Some(c) = inner.conns.remove(&conn) else { return };
        if let Some(set) = inner.by_user.get_mut(&c.user) {
            set.remove(&conn);
            if set.is_empty() {
                inner.by_user.remove(&c.user);
                inner.away.remove(&c.user);
                inner.away_by_choice.remove(&c.user);
            }
        }
        for ch in c.channels {
            leave_room(&mut inner, ch, conn, &self.metrics);
        }
        self.metrics.sockets.fetch_sub(1, Ordering::Relaxed);
    }

    /// Fans a committed event out. Membership events also change who listens: a user who
    /// joined is subscribed on every open socket before the event is sent, one who left is
    /// unsubscribed after it.
    pub fn publish(&self, event: ChannelEvent) {
        self.metrics.events_published.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        let member = event.data.get("user_id").and_then(|v| v.as_str()).and_then(|s| s.parse::<UserId>().ok());
        let channel = event.channel_id;
        if event.kind == kind::MEMBER_JOINED
            && let Some(user) = member
        {
            let conns: Vec<ConnId> = inner.by_user.get(&user).map(|s| s.iter().copied().collect()).unwrap_or_default();
            for c in conns {
                if let Ok(sub) = subscribe_locked(&mut inner, self.limits, c, channel, event.seq - 1, &self.metrics) {
                    send(&inner, c, Arc::new(ServerFrame::Subscribed { subscription: sub }), &self.metrics);
                }
            }
        }
        if let Some(room) = inner.rooms.get_mut(&channel)
            && let Published::Fresh { delivery, .. } = room.publish(event.clone())
        {
            deliver(&inner, delivery, &self.metrics);
        }
        if event.kind == kind::MEMBER_LEFT
            && let Some(user) = member
        {
            let conns: Vec<ConnId> = inner.by_user.get(&user).map(|s| s.iter().copied().collect()).unwrap_or_default();
            for c in conns {
                if inner.conns.get_mut(&c).is_some_and(|conn| conn.channels.remove(&channel)) {
                    // Still connected: the others must not see them go offline.
                    if let Some(room) = inner.rooms.get_mut(&channel) {
                        room.leave(c);
                        if room.is_idle() {
                            inner.rooms.remove(&channel);
                        }
                    }
                    send(&inner, c, Arc::new(ServerFrame::Unsubscribed { channel_id: channel }), &self.metrics);
                }
            }
        }
    }

    pub fn typing(&self, conn: ConnId, channel: ChannelId, now_ms: i64) -> Result<(), RoomError> {
        let mut inner = self.lock();
        let room = inner.rooms.get_mut(&channel).ok_or(RoomError::NotSubscribed)?;
        if let Some(d) = room.typing(conn, now_ms)? {
            deliver(&inner, d, &self.metrics);
        }
        Ok(())
    }

    /// The person behind `conn` did something: they are no longer idle.
    pub fn activity(&self, conn: ConnId, now_ms: i64) {
        let mut inner = self.lock();
        let Some(c) = inner.conns.get_mut(&conn) else { return };
        c.last_active_ms = now_ms;
        let user = c.user;
        if inner.away.contains(&user) && !inner.away_by_choice.contains(&user) {
            set_user_away(&mut inner, user, false, &self.metrics);
        }
    }

    /// The client says the user is online or away. Offline is not something to set: it is
    /// what the others see once the last socket closes.
    pub fn set_presence(&self, conn: ConnId, status: Presence, now_ms: i64) -> Result<(), &'static str> {
        let mut inner = self.lock();
        let Some(c) = inner.conns.get_mut(&conn) else { return Ok(()) };
        let user = c.user;
        match status {
            Presence::Online => {
                c.last_active_ms = now_ms;
                inner.away_by_choice.remove(&user);
                set_user_away(&mut inner, user, false, &self.metrics);
            }
            Presence::Away => {
                inner.away_by_choice.insert(user);
                set_user_away(&mut inner, user, true, &self.metrics);
            }
            Presence::Offline => return Err("offline is shown when the last socket closes; it cannot be set"),
        }
        Ok(())
    }

    /// Marks users away whose every socket has been idle for `away_after_ms`. Called
    /// periodically by the host.
    pub fn sweep_idle(&self, now_ms: i64, away_after_ms: i64) {
        let mut inner = self.lock();
        let idle: Vec<UserId> = inner
            .by_user
            .iter()
            .filter(|(u, _)| !inner.away.contains(u))
            .filter(|(_, conns)| {
                conns.iter().filter_map(|c| inner.conns.get(c)).all(|c| now_ms - c.last_active_ms >= away_after_ms)
            })
            .map(|(u, _)| *u)
            .collect();
        for user in idle {
            set_user_away(&mut inner, user, true, &self.metrics);
        }
    }

    /// Who is online or away in the socket's channels (the user excluded), for the frames
    /// that follow `hello`.
    pub fn presence_snapshot(&self, conn: ConnId) -> Vec<(UserId, Presence)> {
        let inner = self.lock();
        let Some(c) = inner.conns.get(&conn) else { return Vec::new() };
        let mut all: HashMap<UserId, Presence> = HashMap::new();
        for ch in &c.channels {
            if let Some(room) = inner.rooms.get(ch) {
                all.extend(room.presence_of_others(c.user));
            }
        }
        let mut v: Vec<_> = all.into_iter().collect();
        v.sort_by_key(|(u, _)| *u);
        v
    }

    pub fn room_count(&self) -> usize {
        self.lock().rooms.len()
    }
}

fn subscribe_locked(
    inner: &mut Inner,
    limits: RoomLimits,
    conn: ConnId,
    channel: ChannelId,
    db_seq: i64,
    metrics: &Metrics,
) -> Result<Subscription, RoomError> {
    let user = inner.conns.get(&conn).ok_or(RoomError::NotSubscribed)?.user;
    let room = inner.rooms.entry(channel).or_insert_with(|| Room::new(channel, db_seq, limits));
    room.observe_seq(db_seq);
    let (sub, presence) = room.subscribe(conn, user)?;
    // Someone away who opens another socket is still away, in this room too.
    let away = inner.away.contains(&user).then(|| room.set_away(user, true)).flatten();
    if let Some(c) = inner.conns.get_mut(&conn) {
        c.channels.insert(channel);
    }
    for d in presence.into_iter().chain(away) {
        deliver(inner, d, metrics);
    }
    Ok(sub)
}

/// Records the user's away state and tells every room they are connected to.
fn set_user_away(inner: &mut Inner, user: UserId, away: bool, metrics: &Metrics) {
    let changed = if away { inner.away.insert(user) } else { inner.away.remove(&user) };
    if !changed {
        return;
    }
    let mut channels: Vec<ChannelId> = inner
        .by_user
        .get(&user)
        .into_iter()
        .flatten()
        .filter_map(|c| inner.conns.get(c))
        .flat_map(|c| c.channels.iter().copied())
        .collect();
    channels.sort();
    channels.dedup();
    for ch in channels {
        let delivery = inner.rooms.get_mut(&ch).and_then(|room| room.set_away(user, away));
        if let Some(d) = delivery {
            deliver(inner, d, metrics);
        }
    }
}

fn leave_room(inner: &mut Inner, channel: ChannelId, conn: ConnId, metrics: &Metrics) {
    let Some(room) = inner.rooms.get_mut(&channel) else { return };
    let presence = room.unsubscribe(conn);
    if room.is_idle() {
        inner.rooms.remove(&channel);
    }
    if let Some(d) = presence {
        deliver(inner, d, metrics);
    }
}

fn deliver(inner: &Inner, d: Delivery<ConnId>, metrics: &Metrics) {
    let frame = Arc::new(d.frame);
    for c in d.to {
        send(inner, c, frame.clone(), metrics);
    }
}

fn send(inner: &Inner, conn: ConnId, frame: Frame, metrics: &Metrics) {
    let Some(c) = inner.conns.get(&conn) else { return };
    match c.tx.try_send(frame) {
        Ok(()) => {
            metrics.deliveries.fetch_add(1, Ordering::Relaxed);
        }
        Err(mpsc::error::TrySendError::Full(_)) => {
            if !c.lagged.swap(true, Ordering::AcqRel) {
                metrics.lagged.fetch_add(1, Ordering::Relaxed);
            }
            c.wake.notify_one();
        }
        // The socket task is ending; unregister will clean up.
        Err(mpsc::error::TrySendError::Closed(_)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    fn drain(h: &mut ConnHandle) -> Vec<ServerFrame> {
        let mut out = Vec::new();
        while let Ok(f) = h.rx.try_recv() {
            out.push((*f).clone());
        }
        out
    }

    #[test]
    fn events_reach_subscribers_of_the_channel_only() {
        let hub = hub();
        let mut a = hub.register(ANN, Uuid::nil(), 0);
        let mut b = hub.register(BOB, Uuid::nil(), 0);
        hub.subscribe(a.id, CH, 0).unwrap();
        hub.subscribe(b.id, CH2, 0).unwrap();
        drain(&mut a);
        hub.publish(ev(CH, 1, kind::MESSAGE_POSTED, serde_json::json!({})));
        assert!(matches!(drain(&mut a).as_slice(), [ServerFrame::Event { event }] if event.seq == 1));
        assert!(drain(&mut b).is_empty());
    }

    #[test]
    fn joining_subscribes_open_sockets_and_leaving_unsubscribes() {
        let hub = hub();
        let mut b = hub.register(BOB, Uuid::nil(), 0);
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
    }

    #[test]
    fn a_full_queue_flags_the_socket_instead_of_dropping_it_silently() {
        let hub = hub();
        let mut a = hub.register(ANN, Uuid::nil(), 0);
        hub.subscribe(a.id, CH, 0).unwrap();
        for seq in 1..=(SOCKET_QUEUE as i64 + 10) {
            hub.publish(ev(CH, seq, kind::MESSAGE_POSTED, serde_json::json!({})));
        }
        assert!(a.lagged.load(Ordering::Acquire));
        assert_eq!(drain(&mut a).len(), SOCKET_QUEUE);
        hub.unregister(a.id);
        assert_eq!(hub.room_count(), 0);
    }

    #[test]
    fn an_ended_session_stops_hearing_at_once_and_other_sessions_carry_on() {
        let hub = hub();
        let (s1, s2) = (Uuid::from_u128(100), Uuid::from_u128(200));
        let mut a1 = hub.register(ANN, s1, 0);
        let mut a2 = hub.register(ANN, s2, 0);
        hub.subscribe(a1.id, CH, 0).unwrap();
        hub.subscribe(a2.id, CH, 0).unwrap();
        hub.notify_user(ANN, UserNotice::SessionsEnded { session_id: Some(s1), reason: "logged out".into() });
        assert_eq!(a1.ended.get().map(String::as_str), Some("logged out"));
        assert!(a2.ended.get().is_none());
        hub.publish(ev(CH, 1, kind::MESSAGE_POSTED, serde_json::json!({})));
        assert!(drain(&mut a1).is_empty());
        assert_eq!(drain(&mut a2).len(), 1);
        hub.notify_user(ANN, UserNotice::SessionsEnded { session_id: None, reason: "removed".into() });
        assert!(a2.ended.get().is_some());
        hub.publish(ev(CH, 2, kind::MESSAGE_POSTED, serde_json::json!({})));
        assert!(drain(&mut a2).is_empty());
        assert_eq!(hub.room_count(), 0);
    }

    #[test]
    fn read_markers_reach_every_socket_of_the_user_only() {
        let hub = hub();
        let mut a1 = hub.register(ANN, Uuid::from_u128(1), 0);
        let mut a2 = hub.register(ANN, Uuid::from_u128(2), 0);
        let mut b = hub.register(BOB, Uuid::from_u128(3), 0);
        hub.notify_user(ANN, UserNotice::ReadMarker { channel_id: CH, last_read_seq: 9 });
        for h in [&mut a1, &mut a2] {
            assert!(matches!(drain(h).as_slice(), [ServerFrame::ReadMarker { last_read_seq: 9, .. }]));
        }
        assert!(drain(&mut b).is_empty());
    }

    #[test]
    fn idle_users_go_away_and_come_back_on_activity_unless_away_by_choice() {
        let hub = hub();
        let a = hub.register(ANN, Uuid::nil(), 0);
        let mut b = hub.register(BOB, Uuid::nil(), 0);
        hub.subscribe(a.id, CH, 0).unwrap();
        hub.subscribe(b.id, CH, 0).unwrap();
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
        hub.unregister(a.id);
        assert_eq!(drain(&mut b), vec![ServerFrame::Presence { user_id: ANN, status: Presence::Offline }]);
    }
}
