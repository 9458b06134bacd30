//! Presence across the hosts of a cluster: what the other hosts say of their users, with
//! an expiry, so a host that dies takes its users' presence with it after a bounded time.
//! Pure: the hub feeds it reports and the clock, and turns its changes into frames.

use std::collections::{BTreeSet, HashMap};

use ocomms_core::event::Presence;
use ocomms_core::ids::{ChannelId, UserId};
use uuid::Uuid;

use super::message::UserReport;

/// One user as the other hosts see them, combined with what this host sees.
pub fn combine(a: Presence, b: Presence) -> Presence {
    match (a, b) {
        (Presence::Online, _) | (_, Presence::Online) => Presence::Online,
        (Presence::Away, _) | (_, Presence::Away) => Presence::Away,
        _ => Presence::Offline,
    }
}

/// A user whose presence elsewhere changed: what the other hosts said before and after,
/// and the channels to tell (theirs before and after).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub user: UserId,
    pub before: Presence,
    pub after: Presence,
    pub channels: BTreeSet<ChannelId>,
}

#[derive(Debug, Default)]
struct HostView {
    expires_ms: i64,
    users: HashMap<UserId, (Presence, BTreeSet<ChannelId>)>,
}

/// What the other hosts report, each host's reports valid until `ttl_ms` after its last
/// heartbeat.
#[derive(Debug)]
pub struct RemotePresence {
    ttl_ms: i64,
    hosts: HashMap<Uuid, HostView>,
}

impl RemotePresence {
    pub fn new(ttl_ms: i64) -> Self {
        Self { ttl_ms, hosts: HashMap::new() }
    }

    /// The user as the other hosts see them: online on any, else away on any, else offline.
    pub fn status(&self, user: UserId) -> Presence {
        self.hosts.values().filter_map(|h| h.users.get(&user).map(|(p, _)| *p)).fold(Presence::Offline, combine)
    }

    /// Users the other hosts report listening to `channel`, with their status there.
    pub fn users_in(&self, channel: ChannelId) -> Vec<(UserId, Presence)> {
        let mut found: HashMap<UserId, Presence> = HashMap::new();
        for h in self.hosts.values() {
            for (user, (p, channels)) in &h.users {
                if channels.contains(&channel) {
                    let e = found.entry(*user).or_insert(Presence::Offline);
                    *e = combine(*e, *p);
                }
            }
        }
        found.into_iter().collect()
    }

    /// Whether we know anything of `host` (it has sent a report that has not expired).
    pub fn knows(&self, host: Uuid) -> bool {
        self.hosts.contains_key(&host)
    }

    /// One user's state on `host` changed. A report keeps the host alive like a heartbeat.
    pub fn report(&mut self, host: Uuid, report: UserReport, now_ms: i64) -> Vec<Change> {
        let ttl = self.ttl_ms;
        self.change(std::iter::once(report.user_id), |hosts| {
            let view = hosts.entry(host).or_default();
            view.expires_ms = now_ms + ttl;
            put(view, report);
        })
    }

    /// Everything `host` reports: it replaces what we knew of that host.
    pub fn heartbeat(&mut self, host: Uuid, users: Vec<UserReport>, now_ms: i64) -> Vec<Change> {
        let ttl = self.ttl_ms;
        let mut touched: BTreeSet<UserId> = users.iter().map(|u| u.user_id).collect();
        if let Some(view) = self.hosts.get(&host) {
            touched.extend(view.users.keys().copied());
        }
        self.change(touched, |hosts| {
            let view = hosts.entry(host).or_default();
            view.expires_ms = now_ms + ttl;
            view.users.clear();
            for u in users {
                put(view, u);
            }
        })
    }

    /// `host` is gone (it said so, or its heartbeat expired): its users with it.
    pub fn forget(&mut self, host: Uuid) -> Vec<Change> {
        let touched: BTreeSet<UserId> =
            self.hosts.get(&host).map(|v| v.users.keys().copied().collect()).unwrap_or_default();
        self.change(touched, |hosts| {
            hosts.remove(&host);
        })
    }

    /// Drops the hosts not heard from for the time to live.
    pub fn expire(&mut self, now_ms: i64) -> Vec<Change> {
        let dead: Vec<Uuid> = self.hosts.iter().filter(|(_, v)| v.expires_ms <= now_ms).map(|(h, _)| *h).collect();
        dead.into_iter().flat_map(|h| self.forget(h)).collect()
    }

    /// Runs `update` and reports the users among `touched` whose combined status or channels
    /// changed.
    fn change(
        &mut self,
        touched: impl IntoIterator<Item = UserId>,
        update: impl FnOnce(&mut HashMap<Uuid, HostView>),
    ) -> Vec<Change> {
        let before: Vec<(UserId, Presence, BTreeSet<ChannelId>)> =
            touched.into_iter().map(|u| (u, self.status(u), self.channels(u))).collect();
        update(&mut self.hosts);
        before
            .into_iter()
            .filter_map(|(user, before, mut channels)| {
                let after = self.status(user);
                let now = self.channels(user);
                if before == after && now == channels {
                    return None;
                }
                channels.extend(now);
                Some(Change { user, before, after, channels })
            })
            .collect()
    }

    fn channels(&self, user: UserId) -> BTreeSet<ChannelId> {
        self.hosts.values().filter_map(|h| h.users.get(&user)).flat_map(|(_, c)| c.iter().copied()).collect()
    }
}

fn put(view: &mut HostView, report: UserReport) {
    if report.status == Presence::Offline {
        view.users.remove(&report.user_id);
    } else {
        view.users.insert(report.user_id, (report.status, report.channels.into_iter().collect()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Uuid = Uuid::from_u128(0xa);
    const B: Uuid = Uuid::from_u128(0xb);
    const ANN: UserId = UserId(Uuid::from_u128(1));
    const BOB: UserId = UserId(Uuid::from_u128(2));
    const CH: ChannelId = ChannelId(Uuid::from_u128(100));
    const CH2: ChannelId = ChannelId(Uuid::from_u128(101));

    fn report(user: UserId, status: Presence, channels: &[ChannelId]) -> UserReport {
        UserReport { user_id: user, status, channels: channels.to_vec() }
    }

    #[test]
    fn online_anywhere_wins_then_away_then_offline() {
        assert_eq!(combine(Presence::Away, Presence::Online), Presence::Online);
        assert_eq!(combine(Presence::Offline, Presence::Away), Presence::Away);
        assert_eq!(combine(Presence::Offline, Presence::Offline), Presence::Offline);
        let mut p = RemotePresence::new(15_000);
        p.report(A, report(ANN, Presence::Away, &[CH]), 0);
        p.report(B, report(ANN, Presence::Online, &[CH2]), 0);
        assert_eq!(p.status(ANN), Presence::Online);
        let changes = p.report(B, report(ANN, Presence::Offline, &[]), 1);
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].before, changes[0].after), (Presence::Online, Presence::Away));
        assert_eq!(changes[0].channels, [CH, CH2].into_iter().collect(), "told where they were and are");
        assert_eq!(p.users_in(CH), vec![(ANN, Presence::Away)]);
        assert!(p.users_in(CH2).is_empty());
    }

    #[test]
    fn a_repeated_report_changes_nothing() {
        let mut p = RemotePresence::new(15_000);
        assert_eq!(p.report(A, report(ANN, Presence::Online, &[CH]), 0).len(), 1);
        assert!(p.report(A, report(ANN, Presence::Online, &[CH]), 5).is_empty());
        assert!(p.heartbeat(A, vec![report(ANN, Presence::Online, &[CH])], 10).is_empty());
    }

    #[test]
    fn a_heartbeat_replaces_what_the_host_said_before() {
        let mut p = RemotePresence::new(15_000);
        p.heartbeat(A, vec![report(ANN, Presence::Online, &[CH]), report(BOB, Presence::Away, &[CH])], 0);
        let changes = p.heartbeat(A, vec![report(BOB, Presence::Online, &[CH])], 5_000);
        let mut got: Vec<_> = changes.iter().map(|c| (c.user, c.after)).collect();
        got.sort_by_key(|(u, _)| *u);
        assert_eq!(got, vec![(ANN, Presence::Offline), (BOB, Presence::Online)]);
    }

    #[test]
    fn a_silent_host_expires_with_its_users_and_a_leaving_one_at_once() {
        let mut p = RemotePresence::new(15_000);
        p.heartbeat(A, vec![report(ANN, Presence::Online, &[CH])], 0);
        p.heartbeat(B, vec![report(BOB, Presence::Online, &[CH])], 10_000);
        assert!(p.expire(14_999).is_empty());
        let gone = p.expire(15_000);
        assert_eq!(gone.len(), 1);
        assert_eq!((gone[0].user, gone[0].after), (ANN, Presence::Offline));
        assert!(!p.knows(A) && p.knows(B));
        let left = p.forget(B);
        assert_eq!((left[0].user, left[0].after), (BOB, Presence::Offline));
        assert!(p.users_in(CH).is_empty());
    }
}
