//! The live state behind the sockets, as pure state machines: per channel, who is listening,
//! where the channel's sequence stands, the recent backlog, presence and typing; per user,
//! their sockets, channel set and away state.
//!
//! # Layout
//! - [`Room`]: one channel. It decides who receives what; it never touches a socket, a clock
//!   or a task. Time comes in as arguments.
//! - [`user::UserSockets`]: one user's sockets and the rules for connecting, idling, ending
//!   sessions and joining or leaving channels; it returns [`user::UserAction`]s.
//! - Runtimes wrap both: `wasm-host` keeps them in one tokio hub (rooms keyed by channel, users
//!   by id), the edge keeps one per Durable Object. Both feed them the same calls and act on
//!   the same [`Delivery`] and action values.
//!
//! Connection ids are generic (`C`) so each runtime uses its own handle type: the host's
//! rooms and the edge's rooms both count users, the user core counts sockets.

pub mod user;

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::Hash;

use ocomms_core::event::{ChannelEvent, Presence, ServerFrame, Subscription};
use ocomms_core::ids::{ChannelId, UserId};

/// Bounds that keep one room's memory fixed whatever clients do.
#[derive(Debug, Clone, Copy)]
pub struct RoomLimits {
    /// Recent events kept for fast catch-up; older ones come from PostgreSQL.
    pub backlog: usize,
    pub max_subscribers: usize,
    /// How long a typing indicator lasts without a refresh.
    pub typing_ttl_ms: i64,
    /// A user's repeated typing notices within this window are not re-broadcast.
    pub typing_min_interval_ms: i64,
}

impl Default for RoomLimits {
    fn default() -> Self {
        Self { backlog: 256, max_subscribers: 100_000, typing_ttl_ms: 6_000, typing_min_interval_ms: 2_000 }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RoomError {
    #[error("room is full ({0} subscribers)")]
    Full(usize),
    #[error("connection is not subscribed to this room")]
    NotSubscribed,
}

/// A frame and the connections that must receive it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery<C> {
    pub to: Vec<C>,
    pub frame: ServerFrame,
}

/// What became of a published event.
#[derive(Debug, Clone, PartialEq)]
pub enum Published<C> {
    /// New to this room: deliver it. `gap` is true when seqs between the previous high mark
    /// and this one have not been seen (clients will backfill them).
    Fresh { delivery: Delivery<C>, gap: bool },
    /// Already seen (a retried publish): nothing to send.
    Duplicate,
}

#[derive(Debug)]
struct TypingState {
    expires_at_ms: i64,
    last_broadcast_ms: i64,
}

#[derive(Debug)]
pub struct Room<C> {
    channel: ChannelId,
    limits: RoomLimits,
    last_seq: i64,
    /// Seqs at or below this were stored before the room could see them (the room started
    /// later, or they left the backlog): a publish of one is a retry.
    floor_seq: i64,
    backlog: VecDeque<ChannelEvent>,
    subscribers: HashMap<C, UserId>,
    /// Open connections per user, for presence: online on the first, offline after the last.
    connections_per_user: HashMap<UserId, usize>,
    /// Connected users who are away (idle, or said so); the others are online.
    away: HashSet<UserId>,
    typing: HashMap<UserId, TypingState>,
}

impl<C: Copy + Eq + Hash + Ord> Room<C> {
    /// A room that starts from the channel's stored sequence.
    pub fn new(channel: ChannelId, last_seq: i64, limits: RoomLimits) -> Self {
        Self {
            channel,
            limits,
            last_seq,
            floor_seq: last_seq,
            backlog: VecDeque::new(),
            subscribers: HashMap::new(),
            connections_per_user: HashMap::new(),
            away: HashSet::new(),
            typing: HashMap::new(),
        }
    }

    pub fn channel(&self) -> ChannelId {
        self.channel
    }
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }
    pub fn subscriber_count(&self) -> usize {
        self.subscribers.len()
    }
    pub fn is_idle(&self) -> bool {
        self.subscribers.is_empty()
    }
    pub fn is_subscribed(&self, conn: C) -> bool {
        self.subscribers.contains_key(&conn)
    }

    /// Raises the high mark when the runtime learns of a later seq (e.g. from PostgreSQL).
    pub fn observe_seq(&mut self, seq: i64) {
        self.last_seq = self.last_seq.max(seq);
    }

    /// Adds a connection. Returns the subscription to tell the client and, when this is the
    /// user's first connection here, a presence delivery for everyone else.
    pub fn subscribe(&mut self, conn: C, user: UserId) -> Result<(Subscription, Option<Delivery<C>>), RoomError> {
        if self.subscribers.contains_key(&conn) {
            return Ok((self.subscription(), None));
        }
        if self.subscribers.len() >= self.limits.max_subscribers {
            return Err(RoomError::Full(self.subscribers.len()));
        }
        self.subscribers.insert(conn, user);
        let n = self.connections_per_user.entry(user).or_insert(0);
        *n += 1;
        let presence = (*n == 1).then(|| Delivery {
            to: self.others(conn),
            frame: ServerFrame::Presence { user_id: user, status: Presence::Online },
        });
        Ok((self.subscription(), presence.filter(|d| !d.to.is_empty())))
    }

    /// Removes a connection that closed; when it was the user's last one, everyone else sees
    /// them offline.
    pub fn unsubscribe(&mut self, conn: C) -> Option<Delivery<C>> {
        let user = self.detach(conn)?;
        let to = self.all();
        (!to.is_empty())
            .then_some(Delivery { to, frame: ServerFrame::Presence { user_id: user, status: Presence::Offline } })
    }

    /// Removes a connection whose user left the channel (or was removed from it) while still
    /// connected: nobody is told they went offline, since they did not. The others simply
    /// stop hearing about them from this room.
    pub fn leave(&mut self, conn: C) {
        self.detach(conn);
    }

    /// Forgets the connection; returns the user when it was their last one here.
    fn detach(&mut self, conn: C) -> Option<UserId> {
        let user = self.subscribers.remove(&conn)?;
        let n = self.connections_per_user.entry(user).or_insert(1);
        *n -= 1;
        if *n > 0 {
            return None;
        }
        self.connections_per_user.remove(&user);
        self.away.remove(&user);
        self.typing.remove(&user);
        Some(user)
    }

    /// A committed event arrives. Publishing is at-least-once, so duplicates are dropped here;
    /// events may arrive out of order (concurrent requests), and are delivered as they come.
    pub fn publish(&mut self, event: ChannelEvent) -> Published<C> {
        if event.channel_id != self.channel || self.backlog.iter().any(|e| e.seq == event.seq) {
            return Published::Duplicate;
        }
        if event.seq <= self.floor_seq {
            return Published::Duplicate;
        }
        let gap = event.seq > self.last_seq + 1;
        self.last_seq = self.last_seq.max(event.seq);
        if let Some(user) = event.data.get("author_id").and_then(|v| v.as_str()) {
            // Posting ends "is typing".
            self.typing.retain(|u, _| u.to_string() != user);
        }
        let pos = self.backlog.iter().position(|e| e.seq > event.seq).unwrap_or(self.backlog.len());
        self.backlog.insert(pos, event.clone());
        while self.backlog.len() > self.limits.backlog {
            if let Some(old) = self.backlog.pop_front() {
                self.floor_seq = self.floor_seq.max(old.seq);
            }
        }
        Published::Fresh { delivery: Delivery { to: self.all(), frame: ServerFrame::Event { event } }, gap }
    }

    /// Stored events after `seq`, if the backlog still covers them all; `None` means the
    /// caller must read PostgreSQL.
    pub fn backlog_after(&self, seq: i64) -> Option<Vec<ChannelEvent>> {
        if seq >= self.last_seq {
            return Some(Vec::new());
        }
        let first = self.backlog.front()?.seq;
        let contiguous =
            self.backlog.iter().zip(first..).all(|(e, s)| e.seq == s) && self.backlog.back()?.seq == self.last_seq;
        (contiguous && first <= seq + 1).then(|| self.backlog.iter().filter(|e| e.seq > seq).cloned().collect())
    }

    /// A user is typing. Only subscribers may signal, and repeats inside the minimum interval
    /// are absorbed so a keystroke stream cannot flood the room.
    pub fn typing(&mut self, conn: C, now_ms: i64) -> Result<Option<Delivery<C>>, RoomError> {
        Ok(self.typing_broadcast(conn, now_ms)?.filter(|d| !d.to.is_empty()))
    }

    /// [`Self::typing`], but a signal that passed the interval check comes back even when
    /// nobody here listens: rooms elsewhere (other hosts of a cluster) may have listeners.
    pub fn typing_broadcast(&mut self, conn: C, now_ms: i64) -> Result<Option<Delivery<C>>, RoomError> {
        let user = *self.subscribers.get(&conn).ok_or(RoomError::NotSubscribed)?;
        Ok(self.signal_typing(user, now_ms))
    }

    /// A member is typing in this channel's room on another host (who checked that they
    /// listen there): the same interval applies, and the user's own connections here are
    /// not told.
    pub fn typing_elsewhere(&mut self, user: UserId, now_ms: i64) -> Option<Delivery<C>> {
        self.signal_typing(user, now_ms).filter(|d| !d.to.is_empty())
    }

    fn signal_typing(&mut self, user: UserId, now_ms: i64) -> Option<Delivery<C>> {
        let expires_at_ms = now_ms + self.limits.typing_ttl_ms;
        let state = self.typing.entry(user).or_insert(TypingState { expires_at_ms, last_broadcast_ms: i64::MIN });
        state.expires_at_ms = expires_at_ms;
        if now_ms.saturating_sub(state.last_broadcast_ms) < self.limits.typing_min_interval_ms {
            return None;
        }
        state.last_broadcast_ms = now_ms;
        let to = self.others_of_user(user);
        Some(Delivery {
            to,
            frame: ServerFrame::Typing { channel_id: self.channel, seq: self.last_seq, user_id: user },
        })
    }

    /// Users typing right now, after dropping expired indicators.
    pub fn typing_users(&mut self, now_ms: i64) -> Vec<UserId> {
        self.typing.retain(|_, t| t.expires_at_ms > now_ms);
        let mut users: Vec<_> = self.typing.keys().copied().collect();
        users.sort();
        users
    }

    /// A connected user went away (idle, or said so) or came back. Everyone else hears of a
    /// change; repeating the current state is silent.
    pub fn set_away(&mut self, user: UserId, away: bool) -> Option<Delivery<C>> {
        if !self.connections_per_user.contains_key(&user) {
            return None;
        }
        let changed = if away { self.away.insert(user) } else { self.away.remove(&user) };
        if !changed {
            return None;
        }
        let status = if away { Presence::Away } else { Presence::Online };
        let to = self.others_of_user(user);
        (!to.is_empty()).then_some(Delivery { to, frame: ServerFrame::Presence { user_id: user, status } })
    }

    /// Everyone connected here but `viewer`, with their status: what a new connection needs
    /// to draw presence before any change arrives.
    pub fn presence_of_others(&self, viewer: UserId) -> Vec<(UserId, Presence)> {
        let mut v: Vec<_> = self
            .connections_per_user
            .keys()
            .filter(|u| **u != viewer)
            .map(|u| (*u, if self.away.contains(u) { Presence::Away } else { Presence::Online }))
            .collect();
        v.sort_by_key(|(u, _)| *u);
        v
    }

    /// Users with at least one open connection here.
    pub fn online_users(&self) -> Vec<UserId> {
        let mut users: Vec<_> = self.connections_per_user.keys().copied().collect();
        users.sort();
        users
    }

    fn subscription(&self) -> Subscription {
        Subscription { channel_id: self.channel, last_seq: self.last_seq }
    }
    fn all(&self) -> Vec<C> {
        let mut v: Vec<C> = self.subscribers.keys().copied().collect();
        v.sort();
        v
    }
    fn others(&self, conn: C) -> Vec<C> {
        self.all().into_iter().filter(|c| *c != conn).collect()
    }
    fn others_of_user(&self, user: UserId) -> Vec<C> {
        let mut v: Vec<C> = self.subscribers.iter().filter(|(_, u)| **u != user).map(|(c, _)| *c).collect();
        v.sort();
        v
    }
}

#[cfg(test)]
mod tests;
