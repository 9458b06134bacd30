//! [`UserSockets`]: one user's open sockets, whether they are away, and the channels their
//! sockets listen to, as a state machine that returns [`UserAction`]s.
//!
//! The host's hub keeps one per connected user beside its rooms; at the edge the user's
//! Durable Object rebuilds one from its sockets' attachments and its storage for each call.
//! Both carry out the same actions, so the rules live here once:
//! - a socket opens with the user's channels from PostgreSQL; the first socket replaces the
//!   channel set, later ones add to it; each channel's room subscribes the user (away or not);
//! - the last socket to go takes the user out of every room (the others see them offline);
//! - an ended login session closes exactly that session's sockets (or all, for `None`);
//! - away is either idle (every socket quiet for `away_after_ms`; activity ends it) or by
//!   choice (only saying "online" ends it); offline cannot be chosen;
//! - joining a channel subscribes the open sockets before the join event is delivered,
//!   leaving unsubscribes them after it ([`membership_change`] names the member).

use std::collections::{BTreeMap, BTreeSet};

use ocomms_core::event::{ChannelEvent, Presence, ServerFrame, Subscription, UserNotice, kind};
use ocomms_core::ids::{ChannelId, UserId};
use serde::{Deserialize, Serialize};

/// A user's away state. Stored as is at the edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Away {
    pub away: bool,
    /// The user said so: idleness and activity leave it alone until they say "online".
    pub by_choice: bool,
}

/// What the user core knows of one socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Socket {
    /// The login session whose token opened it.
    pub session: uuid::Uuid,
    /// Last activity (opening, typing, saying "online"), Unix ms; pings do not count.
    pub active_ms: i64,
}

/// What a runtime must do after a call.
#[derive(Debug, Clone, PartialEq)]
pub enum UserAction<C> {
    /// Subscribe the user in the channel's room, which has stored events up to `stored_seq`;
    /// `away` carries the user's current state into that room.
    Subscribe { channel: ChannelId, stored_seq: i64, away: bool },
    /// The user's last socket went: take them out of the room; the others see them offline.
    Unsubscribe { channel: ChannelId },
    /// The user went away or came back: each of these rooms tells the others.
    SetAway { channels: Vec<ChannelId>, away: bool },
    /// Frames for these sockets, in order.
    Send { to: Vec<C>, frames: Vec<ServerFrame> },
    /// The socket's login session ended: send `session_ended` with the reason and close it
    /// (code 4003). The socket is already forgotten here.
    End { conn: C, reason: String },
}

/// What the idle timer should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleCheck {
    /// Every socket has been quiet long enough: the user goes away.
    GoAway,
    /// Someone was active since: look again at this instant (Unix ms).
    CheckAt(i64),
    /// Nothing to watch: away already, or no socket.
    Nothing,
}

/// `set_presence` with a status a client cannot choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("offline is shown when the last socket closes; it cannot be set")]
pub struct OfflineIsNotAChoice;

/// A `member.joined` or `member.left` event, and whom it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Joined(UserId),
    Left(UserId),
}

/// The member a channel event adds or removes, if it is a membership change.
pub fn membership_change(event: &ChannelEvent) -> Option<Membership> {
    let joined = match event.kind.as_str() {
        kind::MEMBER_JOINED => true,
        kind::MEMBER_LEFT => false,
        _ => return None,
    };
    let user: UserId = event.data.get("user_id")?.as_str()?.parse().ok()?;
    Some(if joined { Membership::Joined(user) } else { Membership::Left(user) })
}

/// The channel a frame belongs to, if any (presence and notices belong to none).
pub fn frame_channel(frame: &ServerFrame) -> Option<ChannelId> {
    match frame {
        ServerFrame::Event { event } => Some(event.channel_id),
        ServerFrame::Typing { channel_id, .. } => Some(*channel_id),
        _ => None,
    }
}

/// Sockets one user may hold at once, on every runtime: tabs and devices of one person stay
/// far below it (a browser, a phone, a few tabs), a script opening sockets in a loop meets
/// it at once. Each socket costs a queue and a place in every room the user is in.
pub const MAX_SOCKETS_PER_USER: usize = 20;

/// A socket refused because its user holds `limit` already.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many sockets for this user (at most {limit})")]
pub struct TooManySockets {
    pub limit: usize,
}

/// One user's sockets, channel set and away state. `C` is the runtime's socket handle.
#[derive(Debug, Clone)]
pub struct UserSockets<C> {
    user: UserId,
    sockets: BTreeMap<C, Socket>,
    channels: BTreeSet<ChannelId>,
    away: Away,
}

impl<C: Copy + Ord> UserSockets<C> {
    pub fn new(user: UserId) -> Self {
        Self { user, sockets: BTreeMap::new(), channels: BTreeSet::new(), away: Away::default() }
    }

    /// Rebuilds the state a runtime kept elsewhere (the edge: attachments and storage).
    pub fn restore(
        user: UserId,
        sockets: impl IntoIterator<Item = (C, Socket)>,
        channels: impl IntoIterator<Item = ChannelId>,
        away: Away,
    ) -> Self {
        Self { user, sockets: sockets.into_iter().collect(), channels: channels.into_iter().collect(), away }
    }

    pub fn user(&self) -> UserId {
        self.user
    }
    pub fn channels(&self) -> &BTreeSet<ChannelId> {
        &self.channels
    }
    pub fn away(&self) -> Away {
        self.away
    }
    pub fn is_connected(&self) -> bool {
        !self.sockets.is_empty()
    }
    pub fn socket(&self, conn: C) -> Option<&Socket> {
        self.sockets.get(&conn)
    }
    /// The user's sockets, in order.
    pub fn conns(&self) -> impl Iterator<Item = C> + '_ {
        self.sockets.keys().copied()
    }
    pub fn listens_to(&self, channel: ChannelId) -> bool {
        self.channels.contains(&channel)
    }

    /// Whether `conn` may join the user's sockets: fewer than `limit` others are open.
    /// Runtimes ask before [`Self::connect`] and close the socket when refused.
    pub fn admit(&self, conn: C, limit: usize) -> Result<(), TooManySockets> {
        let others = self.sockets.keys().filter(|c| **c != conn).count();
        if others < limit { Ok(()) } else { Err(TooManySockets { limit }) }
    }

    /// A socket opened, authenticated, with the user's channels and their stored seqs.
    pub fn connect(&mut self, conn: C, socket: Socket, channels: &[Subscription]) -> Vec<UserAction<C>> {
        if self.sockets.keys().all(|c| *c == conn) {
            // Alone: what PostgreSQL says now replaces whatever an earlier socket left.
            self.channels.clear();
        }
        self.sockets.insert(conn, socket);
        self.channels.extend(channels.iter().map(|s| s.channel_id));
        let away = self.away.away;
        channels.iter().map(|s| UserAction::Subscribe { channel: s.channel_id, stored_seq: s.last_seq, away }).collect()
    }

    /// A socket closed (or was closed for a protocol error).
    pub fn disconnect(&mut self, conn: C) -> Vec<UserAction<C>> {
        if self.sockets.remove(&conn).is_none() {
            return Vec::new();
        }
        self.leave_all_if_gone()
    }

    /// The person did something on `conn`: not idle, and back if idleness made them away.
    pub fn activity(&mut self, conn: C, now_ms: i64) -> Vec<UserAction<C>> {
        let Some(s) = self.sockets.get_mut(&conn) else { return Vec::new() };
        s.active_ms = s.active_ms.max(now_ms);
        if self.away.away && !self.away.by_choice { self.change_away(Away::default()) } else { Vec::new() }
    }

    /// The client says the user is online or away.
    pub fn set_presence(
        &mut self,
        conn: C,
        status: Presence,
        now_ms: i64,
    ) -> Result<Vec<UserAction<C>>, OfflineIsNotAChoice> {
        let Some(s) = self.sockets.get_mut(&conn) else { return Ok(Vec::new()) };
        Ok(match status {
            Presence::Online => {
                s.active_ms = s.active_ms.max(now_ms);
                self.change_away(Away::default())
            }
            Presence::Away => self.change_away(Away { away: true, by_choice: true }),
            Presence::Offline => return Err(OfflineIsNotAChoice),
        })
    }

    /// Whether the user has gone idle, given the newest activity over their sockets.
    pub fn idle_check(&self, now_ms: i64, away_after_ms: i64) -> IdleCheck {
        let Some(latest) = self.sockets.values().map(|s| s.active_ms).max() else { return IdleCheck::Nothing };
        if self.away.away {
            IdleCheck::Nothing
        } else if now_ms.saturating_sub(latest) >= away_after_ms {
            IdleCheck::GoAway
        } else {
            IdleCheck::CheckAt(latest.saturating_add(away_after_ms))
        }
    }

    /// The idle timer fired: go away if idle long enough. Returns the actions and when to
    /// look again, if ever.
    pub fn tick(&mut self, now_ms: i64, away_after_ms: i64) -> (Vec<UserAction<C>>, Option<i64>) {
        match self.idle_check(now_ms, away_after_ms) {
            IdleCheck::GoAway => (self.change_away(Away { away: true, by_choice: false }), None),
            IdleCheck::CheckAt(at) => (Vec::new(), Some(at)),
            IdleCheck::Nothing => (Vec::new(), None),
        }
    }

    /// A notice for the user: frames for every socket, or sessions that end.
    pub fn notice(&mut self, notice: UserNotice) -> Vec<UserAction<C>> {
        match notice {
            UserNotice::ReadMarker { channel_id, last_read_seq } => {
                self.to_all(vec![ServerFrame::ReadMarker { channel_id, last_read_seq }])
            }
            UserNotice::RoleChanged { workspace_id, role } => {
                self.to_all(vec![ServerFrame::RoleChanged { workspace_id, role }])
            }
            UserNotice::WorkspaceChanged { workspace_id, what } => {
                self.to_all(vec![ServerFrame::WorkspaceChanged { workspace_id, what }])
            }
            UserNotice::NotificationsChanged {} => self.to_all(vec![ServerFrame::NotificationsChanged {}]),
            UserNotice::Ephemeral { message } => self.to_all(vec![ServerFrame::Ephemeral { message }]),
            UserNotice::SessionsEnded { session_id, reason } => {
                let ended: Vec<C> = self
                    .sockets
                    .iter()
                    .filter(|(_, s)| session_id.is_none_or(|id| id == s.session))
                    .map(|(c, _)| *c)
                    .collect();
                if ended.is_empty() {
                    return Vec::new();
                }
                let mut actions = Vec::with_capacity(ended.len() + self.channels.len());
                for conn in ended {
                    self.sockets.remove(&conn);
                    actions.push(UserAction::End { conn, reason: reason.clone() });
                }
                actions.extend(self.leave_all_if_gone());
                actions
            }
        }
    }

    /// The user joined `channel` (whose room is at `subscription`): open sockets listen from
    /// now on. `None` when no socket is open: nothing to subscribe.
    pub fn joined(&mut self, subscription: Subscription) -> Option<Vec<UserAction<C>>> {
        if !self.is_connected() {
            return None;
        }
        self.channels.insert(subscription.channel_id);
        Some(self.to_all(vec![ServerFrame::Subscribed { subscription }]))
    }

    /// The user left `channel` (their room already dropped them): open sockets stop
    /// listening.
    pub fn left(&mut self, channel: ChannelId) -> Vec<UserAction<C>> {
        if self.channels.remove(&channel) {
            self.to_all(vec![ServerFrame::Unsubscribed { channel_id: channel }])
        } else {
            Vec::new()
        }
    }

    /// Room frames for every socket, less those of channels the user no longer listens to
    /// (a room may not have heard of a leave yet). `None` when nothing is to be sent.
    pub fn deliver(&self, frames: &[ServerFrame]) -> Option<UserAction<C>> {
        let frames: Vec<ServerFrame> =
            frames.iter().filter(|f| frame_channel(f).is_none_or(|c| self.channels.contains(&c))).cloned().collect();
        (!frames.is_empty() && self.is_connected()).then(|| UserAction::Send { to: self.conns().collect(), frames })
    }

    fn to_all(&self, frames: Vec<ServerFrame>) -> Vec<UserAction<C>> {
        if self.sockets.is_empty() { Vec::new() } else { vec![UserAction::Send { to: self.conns().collect(), frames }] }
    }

    fn change_away(&mut self, to: Away) -> Vec<UserAction<C>> {
        let changed = self.away.away != to.away;
        self.away = to;
        if changed && !self.channels.is_empty() {
            vec![UserAction::SetAway { channels: self.channels.iter().copied().collect(), away: to.away }]
        } else {
            Vec::new()
        }
    }

    fn leave_all_if_gone(&mut self) -> Vec<UserAction<C>> {
        if !self.sockets.is_empty() {
            return Vec::new();
        }
        self.away = Away::default();
        std::mem::take(&mut self.channels).into_iter().map(|channel| UserAction::Unsubscribe { channel }).collect()
    }
}

#[cfg(test)]
mod tests;
