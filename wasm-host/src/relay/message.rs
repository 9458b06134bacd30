//! What hosts of a cluster tell each other through the relay: committed events and user
//! notices the host's components published, typing, and each host's view of its own users'
//! presence. One pub/sub channel carries all of it; every host hears everything and keeps
//! what concerns its sockets.

use ocomms_core::event::{ChannelEvent, Presence, UserNotice};
use ocomms_core::ids::{ChannelId, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One relay message and the host that sent it (hosts skip their own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub from: Uuid,
    #[serde(flatten)]
    pub message: Message,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// A committed event, for every host's room of the channel.
    Event { event: ChannelEvent },
    /// A notice for every socket of the user, wherever it is connected.
    Notice { user_id: UserId, notice: UserNotice },
    /// Someone typing in a channel where they listen on the sending host.
    Typing { channel_id: ChannelId, user_id: UserId },
    /// One user's presence on the sending host changed.
    Presence { user: UserReport },
    /// Every user connected to the sending host, sent periodically: it replaces what the
    /// receivers knew of that host and keeps it from expiring.
    Heartbeat { users: Vec<UserReport> },
    /// The sender (re)joined the relay: everyone sends a heartbeat now rather than at its
    /// next tick.
    SyncRequest,
    /// The sender could not relay everything it had to (its queue overflowed while the relay
    /// was away): every socket in the cluster re-reads what it missed from PostgreSQL.
    Resync,
    /// The sender is shutting down: its users are gone now, not when its heartbeat expires.
    Leaving,
}

/// A user's presence as one host sees it from its own sockets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserReport {
    pub user_id: UserId,
    /// `Offline`: no socket of theirs on that host any more.
    pub status: Presence,
    /// The channels their sockets there listen to: where the others should hear of changes.
    #[serde(default)]
    pub channels: Vec<ChannelId>,
}

impl Envelope {
    pub fn encode(&self) -> Vec<u8> {
        // Every field is plain data: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_the_wire() {
        let from = Uuid::from_u128(7);
        let user = UserId(Uuid::from_u128(1));
        let channel = ChannelId(Uuid::from_u128(2));
        let event = ChannelEvent {
            channel_id: channel,
            seq: 3,
            kind: "message.posted".into(),
            data: serde_json::json!({ "text": "hi" }),
            at_ms: 4,
        };
        for message in [
            Message::Event { event },
            Message::Notice { user_id: user, notice: UserNotice::ReadMarker { channel_id: channel, last_read_seq: 3 } },
            Message::Typing { channel_id: channel, user_id: user },
            Message::Presence { user: UserReport { user_id: user, status: Presence::Away, channels: vec![channel] } },
            Message::Heartbeat { users: vec![] },
            Message::SyncRequest,
            Message::Resync,
            Message::Leaving,
        ] {
            let env = Envelope { from, message };
            assert_eq!(Envelope::decode(&env.encode()).unwrap(), env);
        }
        assert!(Envelope::decode(br#"{"from":"00000000-0000-0000-0000-000000000007","type":"nope"}"#).is_err());
    }
}
