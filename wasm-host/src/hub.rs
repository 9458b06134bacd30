//! The native room hub: one [`Room`] per channel that has listeners, and the live sockets.
//!
//! All state sits behind one mutex that is never held across an await; fan-out is a
//! `try_send` into each socket's bounded queue. A socket whose queue is full is not dropped
//! and not silently skipped: it is flagged, and its writer tells the client to resync from
//! PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use ocomms_core::event::{ChannelEvent, ServerFrame, Subscription, UserNotice, kind};
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
}

#[derive(Default)]
struct Inner {
    rooms: HashMap<ChannelId, Room<ConnId>>,
    conns: HashMap<ConnId, Conn>,
    by_user: HashMap<UserId, HashSet<ConnId>>,
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

    /// A new socket of `user`, authenticated in login session `session`.
    pub fn register(&self, user: UserId, session: uuid::Uuid) -> ConnHandle {
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
                    leave_room(&mut inner, channel, c, &self.metrics);
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
    if let Some(c) = inner.conns.get_mut(&conn) {
        c.channels.insert(channel);
    }
    if let Some(d) = presence {
        deliver(inner, d, metrics);
    }
    Ok(sub)
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
        let mut a = hub.register(ANN, Uuid::nil());
        let mut b = hub.register(BOB, Uuid::nil());
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
        let mut b = hub.register(BOB, Uuid::nil());
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
        let mut a = hub.register(ANN, Uuid::nil());
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
        let mut a1 = hub.register(ANN, s1);
        let mut a2 = hub.register(ANN, s2);
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
        let mut a1 = hub.register(ANN, Uuid::from_u128(1));
        let mut a2 = hub.register(ANN, Uuid::from_u128(2));
        let mut b = hub.register(BOB, Uuid::from_u128(3));
        hub.notify_user(ANN, UserNotice::ReadMarker { channel_id: CH, last_read_seq: 9 });
        for h in [&mut a1, &mut a2] {
            assert!(matches!(drain(h).as_slice(), [ServerFrame::ReadMarker { last_read_seq: 9, .. }]));
        }
        assert!(drain(&mut b).is_empty());
    }
}
