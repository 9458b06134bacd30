//! Messages between the Worker and the objects, and between the objects. They are JSON
//! bodies of POSTs to `https://<object>/<path>` through a stub: a Durable Object is reachable
//! only through its namespace binding, so these routes need no secret.

use ocomms_core::event::{Presence, ServerFrame, Subscription};
use ocomms_core::ids::{ChannelId, UserId};
use serde::{Deserialize, Serialize};

/// Headers the Worker sets when it hands a verified WebSocket upgrade to a user's object.
pub mod headers {
    pub const USER: &str = "x-ocomms-user";
    pub const SESSION: &str = "x-ocomms-session";
}

/// Channel object routes, under `https://room/{channel_id}/`.
pub mod room {
    /// Body: a committed [`ocomms_core::event::ChannelEvent`].
    pub const EVENTS: &str = "events";
    pub const SUBSCRIBE: &str = "subscribe";
    pub const UNSUBSCRIBE: &str = "unsubscribe";
    pub const TYPING: &str = "typing";
    pub const PRESENCE: &str = "presence";
}

/// User object routes, under `https://user/{user_id}/`.
pub mod user {
    /// The WebSocket upgrade (GET), with [`super::headers`].
    pub const WS: &str = "ws";
    pub const FRAMES: &str = "frames";
    pub const JOINED: &str = "joined";
    pub const LEFT: &str = "left";
    /// Body: an [`ocomms_core::event::UserNotice`].
    pub const NOTICES: &str = "notices";
}

pub fn room_url(channel: ChannelId, route: &str) -> String {
    format!("https://room/{channel}/{route}")
}

pub fn user_url(user: UserId, route: &str) -> String {
    format!("https://user/{user}/{route}")
}

/// Splits `/{id}/{route}` of an internal URL's path.
pub fn parse_path<Id: std::str::FromStr>(path: &str) -> Option<(Id, &str)> {
    let (id, route) = path.trim_start_matches('/').split_once('/')?;
    Some((id.parse().ok()?, route))
}

/// A user's object subscribes the user to a channel (their first socket, or a new one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeReq {
    pub user_id: UserId,
    /// The channel's `last_seq` as PostgreSQL had it when the socket connected.
    pub db_seq: i64,
    pub away: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeReply {
    pub subscription: Subscription,
    /// Everyone else connected in the channel, for the presence frames after `hello`.
    pub presence: Vec<(UserId, Presence)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserReq {
    pub user_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceReq {
    pub user_id: UserId,
    pub away: bool,
}

/// Frames for every socket of a user, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FramesReq {
    pub frames: Vec<ServerFrame>,
}

/// How many sockets took the frames; 0 tells the channel the user is gone.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FramesReply {
    pub sockets: u32,
}

/// The user joined a channel: open sockets subscribe (the `subscribed` frame carries the
/// seq before the join event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinedReq {
    pub subscription: Subscription,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JoinedReply {
    /// The user has sockets, which are now subscribed.
    pub online: bool,
    pub away: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeftReq {
    pub channel_id: ChannelId,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use uuid::Uuid;

    const CH: ChannelId = ChannelId(Uuid::from_u128(1));
    const ANN: UserId = UserId(Uuid::from_u128(10));

    #[test]
    fn urls_round_trip() {
        let url = room_url(CH, room::EVENTS);
        let path = url.strip_prefix("https://room").unwrap();
        assert_eq!(parse_path::<ChannelId>(path), Some((CH, room::EVENTS)));
        let url = user_url(ANN, user::WS);
        assert_eq!(parse_path::<UserId>(url.strip_prefix("https://user").unwrap()), Some((ANN, user::WS)));
        assert_eq!(parse_path::<UserId>("/not-a-uuid/ws"), None);
        assert_eq!(parse_path::<UserId>("/"), None);
    }

    #[test]
    fn messages_refuse_unknown_fields() {
        assert!(serde_json::from_str::<UserReq>(&format!(r#"{{"user_id":"{ANN}","x":1}}"#)).is_err());
        let r: SubscribeReply = serde_json::from_value(serde_json::json!({
            "subscription": { "channel_id": CH.to_string(), "last_seq": 4 },
            "presence": [[ANN.to_string(), "away"]],
        }))
        .unwrap();
        assert_eq!(r.presence, vec![(ANN, Presence::Away)]);
    }
}
