//! Channel events and the WebSocket frames that carry them.
//!
//! A committed change to a channel is a [`ChannelEvent`] with the channel's next `seq`. The
//! same value is stored in PostgreSQL (for backfill), published to the room (for fan-out) and
//! sent to clients, as JSON text frames or MessagePack binary frames.

use serde::{Deserialize, Serialize};

use crate::ids::{ChannelId, UserId, WorkspaceId};
use crate::policy::Role;

/// One committed, ordered change to a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelEvent {
    pub channel_id: ChannelId,
    /// Position in the channel's total order; dense, starting at 1.
    pub seq: i64,
    /// `message.posted`, `member.joined`, `member.left`, `channel.updated`, ...
    pub kind: String,
    /// The event's body, e.g. the message for `message.posted`.
    pub data: serde_json::Value,
    /// Commit time, milliseconds since the Unix epoch.
    pub at_ms: i64,
}

pub mod kind {
    pub const MESSAGE_POSTED: &str = "message.posted";
    /// `data` is the whole message after the edit (with `edited_at_ms`).
    pub const MESSAGE_EDITED: &str = "message.edited";
    /// `data` is `{id, channel_id, seq, deleted_by, thread_root_id}` (and `root` with its new
    /// counts when a reply was deleted): a tombstone, never the old text.
    pub const MESSAGE_DELETED: &str = "message.deleted";
    pub const MEMBER_JOINED: &str = "member.joined";
    pub const MEMBER_LEFT: &str = "member.left";
    /// `data` is the whole channel after a rename or a topic/purpose change.
    pub const CHANNEL_UPDATED: &str = "channel.updated";
    pub const CHANNEL_ARCHIVED: &str = "channel.archived";
    pub const CHANNEL_UNARCHIVED: &str = "channel.unarchived";
    /// `data` is `{message_id, user_id, emoji}`.
    pub const REACTION_ADDED: &str = "reaction.added";
    pub const REACTION_REMOVED: &str = "reaction.removed";
    /// `data` is `{message_id, user_id}` (who pinned or unpinned).
    pub const MESSAGE_PINNED: &str = "message.pinned";
    pub const MESSAGE_UNPINNED: &str = "message.unpinned";
}

/// Something for every open socket of one user, outside any channel's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UserNotice {
    /// Sessions ended (logout, removal, deactivation): close the sockets of `session_id`, or
    /// of every session when it is `None`.
    SessionsEnded { session_id: Option<uuid::Uuid>, reason: String },
    /// The user marked a channel read, on some device; the others update their badges.
    ReadMarker { channel_id: ChannelId, last_read_seq: i64 },
    /// The user's role in a workspace changed: clients offer what the new role allows.
    RoleChanged { workspace_id: WorkspaceId, role: Role },
    /// Something the user can see in a workspace changed outside the channels they are in:
    /// clients fetch that part again.
    WorkspaceChanged { workspace_id: WorkspaceId, what: WorkspaceChange },
    /// The user changed a notification preference (a channel's level, do not disturb) on
    /// some device: clients fetch `/me/notifications` again.
    NotificationsChanged {},
    /// A message only this user sees (an app's `chat.postEphemeral`): never stored, shown in
    /// the open windows until dismissed or reloaded.
    Ephemeral { message: serde_json::Value },
}

/// What part of a workspace changed, for [`UserNotice::WorkspaceChanged`]. A hint to fetch
/// again rather than the change itself: one fetch gives the current state whatever happened,
/// in whatever order the notices came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkspaceChange {
    /// A channel was made, renamed, archived or unarchived (the browse list, names).
    Channels,
    /// Someone joined, left or was removed, deactivated or reactivated, changed role, name,
    /// status or avatar.
    Members,
    /// The workspace's name, description or settings.
    Settings,
}

/// Channels a socket is subscribed to, with the last seq the server has for each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    pub channel_id: ChannelId,
    pub last_seq: i64,
}

/// Frames the server sends on a WebSocket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame after authentication: who you are and where each channel stands.
    Hello {
        user_id: UserId,
        subscriptions: Vec<Subscription>,
    },
    Event {
        event: ChannelEvent,
    },
    /// Ephemeral and never stored: typing and presence. `seq` is the channel's current seq,
    /// so a client can still order it against stored events.
    Typing {
        channel_id: ChannelId,
        seq: i64,
        user_id: UserId,
    },
    Presence {
        user_id: UserId,
        status: Presence,
    },
    /// Now subscribed to a channel joined after the hello.
    Subscribed {
        subscription: Subscription,
    },
    Unsubscribed {
        channel_id: ChannelId,
    },
    /// The server dropped events for this socket (it was too slow): fetch
    /// `/channels/{id}/events?after=<last seen>` for every channel, then carry on.
    Resync {
        reason: String,
    },
    Pong {
        nonce: Option<u64>,
    },
    /// The user read the channel up to `last_read_seq` (on this or another device).
    ReadMarker {
        channel_id: ChannelId,
        last_read_seq: i64,
    },
    /// The session ended; the server closes the socket (code 4003) after this frame.
    SessionEnded {
        reason: String,
    },
    /// The user's role in a workspace changed (by an owner or admin, or stepping down).
    RoleChanged {
        workspace_id: WorkspaceId,
        role: Role,
    },
    /// Part of a workspace changed (see [`WorkspaceChange`]): fetch it again.
    WorkspaceChanged {
        workspace_id: WorkspaceId,
        what: WorkspaceChange,
    },
    /// The user's notification preferences changed: fetch `/me/notifications` again.
    NotificationsChanged {},
    /// A message only this user sees: a message object with `ephemeral: true`, not stored.
    Ephemeral {
        message: serde_json::Value,
    },
    Error {
        code: String,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    Online,
    Away,
    Offline,
}

/// Frames a client may send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Browsers cannot set headers on a WebSocket, so the token comes as the first frame
    /// (never in the URL, which ends up in logs).
    Auth {
        token: String,
    },
    Ping {
        nonce: Option<u64>,
    },
    Typing {
        channel_id: ChannelId,
    },
    SetPresence {
        status: Presence,
    },
}

/// The two wire encodings. MessagePack uses named fields so both decode to the same shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    MsgPack,
}

/// The WebSocket subprotocol that selects MessagePack.
pub const MSGPACK_SUBPROTOCOL: &str = "ocomms.msgpack";

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("invalid JSON frame: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid MessagePack frame: {0}")]
    MsgPackDecode(#[from] rmp_serde::decode::Error),
    #[error("cannot encode MessagePack frame: {0}")]
    MsgPackEncode(#[from] rmp_serde::encode::Error),
    #[error("frame is too large ({0} bytes)")]
    TooLarge(usize),
}

/// Largest client frame accepted; client frames are small commands.
pub const MAX_CLIENT_FRAME_BYTES: usize = 16 * 1024;

/// The close code for a frame over [`MAX_CLIENT_FRAME_BYTES`] (RFC 6455 "message too big"):
/// both targets close such a socket with it, so a client learns why instead of seeing the
/// connection simply drop.
pub const CLOSE_FRAME_TOO_LARGE: u16 = 1009;

/// Deepest MessagePack nesting accepted in a client frame (valid frames need 2). The
/// decoder recurses per level: rmp-serde's own limit (1024) lets a 1 KiB frame of nested
/// arrays overflow a 2 MiB thread stack in unoptimised builds and a WebAssembly stack, which
/// aborts the whole process. (serde_json stops at 128 levels by itself.)
pub const MAX_CLIENT_FRAME_DEPTH: usize = 16;

impl Encoding {
    pub fn encode(self, frame: &ServerFrame) -> Result<Vec<u8>, FrameError> {
        Ok(match self {
            Self::Json => serde_json::to_vec(frame)?,
            Self::MsgPack => rmp_serde::to_vec_named(frame)?,
        })
    }

    pub fn decode_client(self, bytes: &[u8]) -> Result<ClientFrame, FrameError> {
        if bytes.len() > MAX_CLIENT_FRAME_BYTES {
            return Err(FrameError::TooLarge(bytes.len()));
        }
        Ok(match self {
            Self::Json => serde_json::from_slice(bytes)?,
            Self::MsgPack => {
                let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
                de.set_max_depth(MAX_CLIENT_FRAME_DEPTH);
                serde::Deserialize::deserialize(&mut de)?
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ServerFrame {
        ServerFrame::Event {
            event: ChannelEvent {
                channel_id: ChannelId(uuid::Uuid::from_u128(7)),
                seq: 3,
                kind: kind::MESSAGE_POSTED.into(),
                data: serde_json::json!({"text": "hi", "n": [1, 2]}),
                at_ms: 1_700_000_000_000,
            },
        }
    }

    #[test]
    fn json_and_msgpack_round_trip_server_frames() {
        for enc in [Encoding::Json, Encoding::MsgPack] {
            let bytes = enc.encode(&sample()).unwrap();
            let back: ServerFrame = match enc {
                Encoding::Json => serde_json::from_slice(&bytes).unwrap(),
                Encoding::MsgPack => rmp_serde::from_slice(&bytes).unwrap(),
            };
            assert_eq!(back, sample());
        }
    }

    #[test]
    fn client_frames_decode_and_reject_garbage() {
        let f = Encoding::Json.decode_client(br#"{"type":"ping","nonce":5}"#).unwrap();
        assert_eq!(f, ClientFrame::Ping { nonce: Some(5) });
        let mp = rmp_serde::to_vec_named(&ClientFrame::Auth { token: "t".into() }).unwrap();
        assert_eq!(Encoding::MsgPack.decode_client(&mp).unwrap(), ClientFrame::Auth { token: "t".into() });
        assert!(Encoding::Json.decode_client(b"{").is_err());
        assert!(Encoding::Json.decode_client(br#"{"type":"nope"}"#).is_err());
        assert!(Encoding::MsgPack.decode_client(&[0xc1]).is_err());
        assert!(Encoding::Json.decode_client(&vec![b' '; MAX_CLIENT_FRAME_BYTES + 1]).is_err());
    }

    /// Found by the `client_frame` fuzz target: 1000 nested MessagePack arrays in a 1 KiB
    /// frame overflowed a 2 MiB stack (a debug build's tokio worker), aborting the process.
    #[test]
    fn deeply_nested_frames_are_refused_without_deep_recursion() {
        let mut mp = rmp_serde::to_vec_named(&ClientFrame::Ping { nonce: None }).unwrap();
        mp.pop(); // the nil nonce
        mp.extend(std::iter::repeat_n(0x91, 4000));
        mp.push(0xc0);
        let mut json = br#"{"type":"ping","nonce":"#.to_vec();
        json.extend(std::iter::repeat_n(b'[', 4000));
        let refused = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                Encoding::MsgPack.decode_client(&mp).is_err() && Encoding::Json.decode_client(&json).is_err()
            })
            .unwrap()
            .join();
        assert!(matches!(refused, Ok(true)), "{refused:?}");
    }
}
