//! Typed identifiers. All are UUIDs on the wire and in PostgreSQL.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// The one textual form ids take on the wire: hyphenated, 36 characters (what `Display`
/// prints and the OpenAPI `uuid` format means). `Uuid::parse_str` alone would also take the
/// simple, braced and URN forms.
fn parse_hyphenated(s: &str) -> Result<Uuid, uuid::Error> {
    // An empty string fails with the error an invalid length gets.
    Uuid::parse_str(if s.len() == 36 { s } else { "" })
}

struct IdVisitor;

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = Uuid;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a UUID in the hyphenated form, or its 16 bytes")
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Uuid, E> {
        parse_hyphenated(s).map_err(E::custom)
    }

    fn visit_bytes<E: serde::de::Error>(self, b: &[u8]) -> Result<Uuid, E> {
        Uuid::from_slice(b).map_err(E::custom)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        /// As `Uuid` reads itself (a string, or 16 bytes in binary formats such as
        /// MessagePack), but a string must be hyphenated.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() { d.deserialize_str(IdVisitor) } else { Uuid::deserialize(d) }.map(Self)
            }
        }

        impl $name {
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hyphenated(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A person's account, global across workspaces.
    UserId
);
id_type!(
    /// A workspace: the boundary of membership, channels and roles.
    WorkspaceId
);
id_type!(
    /// A channel (public, private or DM); also names its room.
    ChannelId
);
id_type!(
    /// A message; its position in the channel is its `seq`, not its id.
    MessageId
);
id_type!(
    /// A file shared in a channel; its bytes are in object storage under a key of ids.
    FileId
);
id_type!(
    /// An integration of a workspace, which posts as its own bot user.
    AppId
);
id_type!(
    /// An incoming webhook: posts to one channel as its app's bot.
    HookId
);
id_type!(
    /// A bot token of an app (kept only as a hash).
    TokenId
);
id_type!(
    /// A slash command of an app.
    CommandId
);
id_type!(
    /// An outgoing webhook: messages of public channels posted to an app.
    OutgoingHookId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hyphenated_form_is_an_id() {
        let id = "0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b";
        let parsed: UserId = id.parse().unwrap();
        assert_eq!(parsed.to_string(), id);
        assert_eq!(serde_json::from_str::<UserId>(&format!("\"{id}\"")).unwrap(), parsed);
        assert_eq!(id.to_uppercase().parse::<UserId>().unwrap(), parsed);
        for other in [
            "0190a1b2c3d44e5f8a6b7c8d9e0f1a2b".to_string(),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            format!(" {id}"),
            String::new(),
        ] {
            assert!(other.parse::<UserId>().is_err(), "{other}");
            assert!(serde_json::from_value::<UserId>(serde_json::json!(other)).is_err(), "{other}");
        }
    }

    #[test]
    fn binary_formats_keep_the_16_bytes() {
        let id = UserId::from_bytes([7; 16]);
        let bytes = rmp_serde::to_vec(&id).unwrap();
        assert_eq!(rmp_serde::from_slice::<UserId>(&bytes).unwrap(), id);
        // Inside an internally tagged enum serde buffers the bytes and reads them back
        // through a human-readable deserializer.
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        #[serde(tag = "type")]
        enum Frame {
            Hello { user_id: UserId },
        }
        let frame = Frame::Hello { user_id: id };
        assert_eq!(rmp_serde::from_slice::<Frame>(&rmp_serde::to_vec_named(&frame).unwrap()).unwrap(), frame);
        let text = serde_json::to_string(&frame).unwrap();
        assert_eq!(serde_json::from_str::<Frame>(&text).unwrap(), frame);
    }
}
