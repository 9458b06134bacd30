//! Authorization policy: pure decisions over roles and memberships.
//!
//! Handlers load the facts (is the caller a member, with which role, of which channel kind)
//! and ask here; nothing in this module can see the database, so every rule is unit-tested.

use serde::{Deserialize, Serialize};

use crate::{ApiError, ErrorCode};

/// A member's role in a workspace, most privileged first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Guest,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
            Self::Guest => "guest",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "owner" => Self::Owner,
            "admin" => Self::Admin,
            "member" => Self::Member,
            "guest" => Self::Guest,
            _ => return None,
        })
    }
    fn at_least(self, other: Role) -> bool {
        self <= other
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Public,
    Private,
    Dm,
}

impl ChannelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Dm => "dm",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "public" => Self::Public,
            "private" => Self::Private,
            "dm" => Self::Dm,
            _ => return None,
        })
    }
}

/// What the caller is to a channel, as loaded by the handler.
#[derive(Debug, Clone, Copy)]
pub struct ChannelAccess {
    /// The caller's active role in the channel's workspace; `None` if not a member.
    pub role: Option<Role>,
    pub kind: ChannelKind,
    pub is_channel_member: bool,
    pub archived: bool,
}

/// Channels the caller cannot see are reported as missing, so ids cannot be probed.
fn hidden() -> ApiError {
    ApiError::not_found("channel")
}

/// May the caller read the channel's history and events?
pub fn can_read_channel(a: &ChannelAccess) -> Result<(), ApiError> {
    match (a.role, a.kind) {
        (None, _) => Err(hidden()),
        (Some(_), _) if a.is_channel_member => Ok(()),
        // Public channels are readable by full members before joining (Slack's preview);
        // guests only see channels they were added to.
        (Some(Role::Guest), ChannelKind::Public) => {
            Err(ApiError::forbidden("guests may read only channels they belong to"))
        }
        (Some(_), ChannelKind::Public) => Ok(()),
        (Some(_), ChannelKind::Private | ChannelKind::Dm) => Err(hidden()),
    }
}

/// May the caller post into the channel? Membership is required, even for admins: an admin
/// who is not in a private channel cannot post into it.
pub fn can_post(a: &ChannelAccess) -> Result<(), ApiError> {
    can_read_channel(a)?;
    if !a.is_channel_member {
        return Err(ApiError::forbidden("join the channel before posting"));
    }
    if a.archived {
        return Err(ApiError::forbidden("the channel is archived"));
    }
    Ok(())
}

/// May the caller join the channel on their own?
pub fn can_join(a: &ChannelAccess) -> Result<(), ApiError> {
    match (a.role, a.kind) {
        // Private channels and DMs are invite-only; to a guest too they do not exist.
        (None, _) | (Some(_), ChannelKind::Private | ChannelKind::Dm) => Err(hidden()),
        (Some(Role::Guest), _) => Err(ApiError::forbidden("guests cannot join channels on their own")),
        (Some(_), ChannelKind::Public) if a.archived => Err(ApiError::forbidden("the channel is archived")),
        (Some(_), ChannelKind::Public) => Ok(()),
    }
}

/// Editing: only the author, and only while they may still post there. Admins moderate by
/// deleting, never by putting words in someone's mouth.
pub fn can_edit_message(a: &ChannelAccess, is_author: bool) -> Result<(), ApiError> {
    can_read_channel(a)?;
    if !is_author {
        return Err(ApiError::forbidden("only the author can edit a message"));
    }
    can_post(a)
}

/// Deleting: the author (while a member), or a workspace admin or owner who can see it.
pub fn can_delete_message(a: &ChannelAccess, is_author: bool) -> Result<(), ApiError> {
    can_read_channel(a)?;
    match a.role {
        Some(Role::Owner | Role::Admin) => Ok(()),
        _ if is_author && a.is_channel_member => Ok(()),
        _ => Err(ApiError::forbidden("only the author or an admin can delete a message")),
    }
}

mod channel_admin;
mod workspace;

pub use channel_admin::*;
pub use workspace::*;

#[cfg(test)]
mod tests {
    use super::*;
    use ChannelKind::*;
    use Role::*;

    fn access(role: Option<Role>, kind: ChannelKind, member: bool) -> ChannelAccess {
        ChannelAccess { role, kind, is_channel_member: member, archived: false }
    }

    #[test]
    fn outsiders_see_nothing() {
        for kind in [Public, Private, Dm] {
            for member in [false, true] {
                let a = access(None, kind, member);
                assert_eq!(can_read_channel(&a).unwrap_err().status(), 404);
                assert!(can_post(&a).is_err());
                assert!(can_join(&a).is_err());
            }
        }
    }

    #[test]
    fn admin_not_in_private_channel_cannot_post_or_read() {
        let a = access(Some(Admin), Private, false);
        assert_eq!(can_read_channel(&a).unwrap_err().status(), 404);
        assert!(can_post(&a).is_err());
        assert!(can_join(&a).is_err());
    }

    #[test]
    fn public_channels() {
        for role in [Owner, Admin, Member] {
            let a = access(Some(role), Public, false);
            assert!(can_read_channel(&a).is_ok());
            assert_eq!(can_post(&a).unwrap_err().status(), 403);
            assert!(can_join(&a).is_ok());
            assert!(can_post(&access(Some(role), Public, true)).is_ok());
        }
        let g = access(Some(Guest), Public, false);
        assert!(can_read_channel(&g).is_err());
        assert!(can_join(&g).is_err());
        assert!(can_post(&access(Some(Guest), Public, true)).is_ok());
    }

    #[test]
    fn archived_channels_are_read_only() {
        let mut a = access(Some(Member), Public, true);
        a.archived = true;
        assert!(can_read_channel(&a).is_ok());
        assert!(can_post(&a).is_err());
    }

    #[test]
    fn editing_and_deleting_messages() {
        let member = access(Some(Member), Public, true);
        assert!(can_edit_message(&member, true).is_ok());
        assert_eq!(can_edit_message(&member, false).unwrap_err().status(), 403);
        assert!(can_delete_message(&member, true).is_ok());
        assert!(can_delete_message(&member, false).is_err());
        let admin = access(Some(Admin), Public, false);
        assert!(can_edit_message(&admin, false).is_err(), "admins cannot edit others' words");
        assert!(can_delete_message(&admin, false).is_ok(), "admins moderate by deleting");
        let admin_private = access(Some(Admin), Private, false);
        assert_eq!(can_delete_message(&admin_private, false).unwrap_err().status(), 404);
        let left = access(Some(Member), Public, false);
        assert!(can_edit_message(&left, true).is_err(), "after leaving, no more edits");
        let mut archived = access(Some(Member), Public, true);
        archived.archived = true;
        assert!(can_edit_message(&archived, true).is_err());
        assert!(can_delete_message(&access(None, Public, true), true).is_err());
    }
}
