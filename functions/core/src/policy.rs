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

// ----- Channel management (rename, archive, roster, DMs) --------------------------------

/// Facts about the channel itself that management rules consult, beyond [`ChannelAccess`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelFacts {
    /// The caller created the channel.
    pub caller_is_creator: bool,
    /// The workspace's default channel (`#general`), which every full member is in.
    pub is_default: bool,
}

/// What a `PATCH /channels/{id}` changes: the name and the description (topic, purpose)
/// follow different rules, and a patch touching both must pass both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelUpdate {
    pub rename: bool,
    pub describe: bool,
}

/// Who manages a channel's lifecycle: workspace admins and owners, and its creator unless
/// they have since become a guest.
fn is_steward(a: &ChannelAccess, f: ChannelFacts) -> bool {
    match a.role {
        Some(Role::Owner | Role::Admin) => true,
        Some(Role::Member) => f.caller_is_creator,
        Some(Role::Guest) | None => false,
    }
}

/// A direct message is defined by its members: it has no name, lifecycle or roster to manage.
fn not_dm(a: &ChannelAccess, what: &str) -> Result<(), ApiError> {
    if a.kind == ChannelKind::Dm {
        return Err(ApiError::forbidden(format!("direct messages cannot be {what}")));
    }
    Ok(())
}

/// Archived channels are frozen: no posts, renames or membership changes until unarchived.
fn not_archived(a: &ChannelAccess) -> Result<(), ApiError> {
    if a.archived {
        return Err(ApiError::forbidden("the channel is archived"));
    }
    Ok(())
}

/// Topic and purpose: any member of the channel except guests. Renaming: its stewards, who
/// need not be members of a public channel (they can see it) but must be of a private one.
pub fn can_update_channel(a: &ChannelAccess, f: ChannelFacts, u: ChannelUpdate) -> Result<(), ApiError> {
    can_read_channel(a)?;
    not_dm(a, "renamed or given a topic")?;
    not_archived(a)?;
    if u.describe && !(a.is_channel_member && a.role != Some(Role::Guest)) {
        return Err(ApiError::forbidden("only members of the channel (not guests) can change its topic or purpose"));
    }
    if u.rename && !is_steward(a, f) {
        return Err(ApiError::forbidden("only the channel's creator or a workspace admin can rename it"));
    }
    Ok(())
}

/// Archiving (`archive`) or unarchiving: the channel's stewards. The default channel is never
/// archived (everyone lands there). Asking for the state the channel is already in is a
/// conflict, so a client's stale view is reported rather than silently absorbed.
pub fn can_archive(a: &ChannelAccess, f: ChannelFacts, archive: bool) -> Result<(), ApiError> {
    can_read_channel(a)?;
    not_dm(a, "archived")?;
    if archive && f.is_default {
        return Err(ApiError::forbidden("the default channel cannot be archived"));
    }
    if !is_steward(a, f) {
        return Err(ApiError::forbidden("only the channel's creator or a workspace admin can archive or unarchive it"));
    }
    match (archive, a.archived) {
        (true, true) => Err(ApiError::new(ErrorCode::Conflict, "the channel is already archived")),
        (false, false) => Err(ApiError::new(ErrorCode::Conflict, "the channel is not archived")),
        _ => Ok(()),
    }
}

/// Adding people: any member of the channel except guests. Admins are not special here: one
/// who is not in a private channel cannot even see it. Guests may be the ones added; that is
/// how they get access to channels.
pub fn can_add_members(a: &ChannelAccess) -> Result<(), ApiError> {
    can_read_channel(a)?;
    not_dm(a, "given new members; open a new direct message instead")?;
    if !a.is_channel_member || a.role == Some(Role::Guest) {
        return Err(ApiError::forbidden("only members of the channel (not guests) can add people to it"));
    }
    not_archived(a)
}

/// Removing someone else from a channel: its stewards. Nobody is removed from the default
/// channel (it is how members find each other); oneself leaves instead.
pub fn can_remove_channel_member(a: &ChannelAccess, f: ChannelFacts, target_is_self: bool) -> Result<(), ApiError> {
    can_read_channel(a)?;
    not_dm(a, "changed")?;
    if f.is_default {
        return Err(ApiError::forbidden("nobody can be removed from the default channel"));
    }
    if target_is_self {
        return Err(ApiError::validation("to remove yourself, leave the channel (POST /channels/{id}/leave)"));
    }
    if !is_steward(a, f) {
        return Err(ApiError::forbidden("only the channel's creator or a workspace admin can remove members"));
    }
    not_archived(a)
}

/// Leaving: not a direct message (its members define it), not the default channel (as in
/// Slack), not an archived channel (frozen).
pub fn can_leave(a: &ChannelAccess, f: ChannelFacts) -> Result<(), ApiError> {
    can_read_channel(a)?;
    if a.kind == ChannelKind::Dm {
        return Err(ApiError::forbidden("you cannot leave a direct message"));
    }
    if f.is_default {
        return Err(ApiError::forbidden("nobody can leave the default channel"));
    }
    not_archived(a)
}

/// Direct messages: any active member of the workspace, guests included.
pub fn can_open_dm(role: Option<Role>) -> Result<(), ApiError> {
    role.map(|_| ()).ok_or_else(|| ApiError::not_found("workspace"))
}

/// Workspace settings the policies consult (stored on the workspace row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceSettings {
    pub members_can_invite: bool,
    pub members_can_create_channels: bool,
}

impl Default for WorkspaceSettings {
    /// The schema's defaults: only admins invite; everyone but guests creates channels.
    fn default() -> Self {
        Self { members_can_invite: false, members_can_create_channels: true }
    }
}

/// The caller's active role in a workspace and that workspace's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkspaceAccess {
    pub role: Role,
    pub settings: WorkspaceSettings,
}

fn hidden_workspace() -> ApiError {
    ApiError::not_found("workspace")
}

/// Admins and owners always; members when the workspace allows it; guests never.
pub fn can_create_channel(access: Option<WorkspaceAccess>) -> Result<(), ApiError> {
    let a = access.ok_or_else(hidden_workspace)?;
    match a.role {
        Role::Owner | Role::Admin => Ok(()),
        Role::Member if a.settings.members_can_create_channels => Ok(()),
        Role::Member => Err(ApiError::forbidden("only admins can create channels in this workspace")),
        Role::Guest => Err(ApiError::forbidden("guests cannot create channels")),
    }
}

/// Inviting people with `grant` as their role. Nobody hands out more than they could set
/// with a role change: owners grant admin, admins grant member or guest, and members (when
/// the workspace lets them invite) grant member or guest. Guests never invite.
pub fn can_invite(access: Option<WorkspaceAccess>, grant: Role) -> Result<(), ApiError> {
    let a = access.ok_or_else(hidden_workspace)?;
    match (a.role, grant) {
        (_, Role::Owner) => Err(ApiError::forbidden("an invite cannot grant the owner role")),
        (Role::Guest, _) => Err(ApiError::forbidden("guests cannot invite")),
        (Role::Member, _) if !a.settings.members_can_invite => {
            Err(ApiError::forbidden("only admins can create invites"))
        }
        (Role::Member | Role::Admin, Role::Admin) => Err(ApiError::forbidden("only owners can invite admins")),
        _ => Ok(()),
    }
}

pub fn can_view_workspace(role: Option<Role>) -> Result<Role, ApiError> {
    role.ok_or_else(hidden_workspace)
}

/// Settings, invite lists and revocations: admins and owners.
pub fn can_manage_workspace(role: Option<Role>) -> Result<Role, ApiError> {
    match role {
        None => Err(hidden_workspace()),
        Some(r) if r.at_least(Role::Admin) => Ok(r),
        Some(_) => Err(ApiError::forbidden("only admins can manage the workspace")),
    }
}

/// What the handler knows about the member a change targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFacts {
    pub role: Role,
    pub deactivated: bool,
}

/// The facts every member-administration decision needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberChange {
    /// The caller's active role; `None` if they are not an active member.
    pub actor: Option<Role>,
    /// The target is the caller.
    pub is_self: bool,
    /// The target's membership (removed members count as absent).
    pub target: Option<MemberFacts>,
    /// Active owners other than the target.
    pub other_active_owners: i64,
}

impl MemberChange {
    /// The target exists; `None` is reported as missing (only to callers who may manage).
    fn target(&self) -> Result<MemberFacts, ApiError> {
        self.target.ok_or_else(|| ApiError::not_found("member"))
    }

    /// Would this change leave the workspace without an active owner?
    fn strips_last_owner(&self, t: MemberFacts) -> bool {
        t.role == Role::Owner && !t.deactivated && self.other_active_owners < 1
    }
}

fn last_owner() -> ApiError {
    ApiError::new(crate::ErrorCode::Conflict, "the workspace must keep an active owner; make someone else owner first")
}

/// Owners manage everyone; admins manage members and guests only; the rest manage nobody.
fn may_manage(actor: Role, target: Role) -> Result<(), ApiError> {
    match (actor, target) {
        (Role::Owner, _) => Ok(()),
        (Role::Admin, Role::Member | Role::Guest) => Ok(()),
        (Role::Admin, _) => Err(ApiError::forbidden("only owners can manage admins and owners")),
        (Role::Member | Role::Guest, _) => Err(ApiError::forbidden("only admins can manage members")),
    }
}

/// Changing a member's role to `new`. Owners set any role (there may be several owners);
/// admins move people between member and guest only. Nobody changes their own role, except
/// an owner stepping down while another active owner remains.
pub fn can_change_role(c: &MemberChange, new: Role) -> Result<(), ApiError> {
    let actor = c.actor.ok_or_else(hidden_workspace)?;
    if !actor.at_least(Role::Admin) {
        return Err(ApiError::forbidden("only admins can change roles"));
    }
    let t = c.target()?;
    if c.is_self {
        if actor != Role::Owner {
            return Err(ApiError::forbidden("you cannot change your own role"));
        }
    } else {
        may_manage(actor, t.role)?;
        if actor == Role::Admin && !matches!(new, Role::Member | Role::Guest) {
            return Err(ApiError::forbidden("only owners can grant the admin or owner role"));
        }
    }
    if new != Role::Owner && c.strips_last_owner(t) {
        return Err(last_owner());
    }
    Ok(())
}

/// Removing a member, or leaving (`is_self`). Admins remove members and guests, owners
/// anyone; anyone may leave; the last active owner can do neither.
pub fn can_remove_member(c: &MemberChange) -> Result<(), ApiError> {
    let actor = c.actor.ok_or_else(hidden_workspace)?;
    if !c.is_self {
        if !actor.at_least(Role::Admin) {
            return Err(ApiError::forbidden("only admins can remove members"));
        }
        may_manage(actor, c.target()?.role)?;
    }
    if c.strips_last_owner(c.target()?) {
        return Err(last_owner());
    }
    Ok(())
}

/// Deactivating or reactivating a member: the removal rules, never on oneself.
pub fn can_set_deactivated(c: &MemberChange, deactivate: bool) -> Result<(), ApiError> {
    let actor = c.actor.ok_or_else(hidden_workspace)?;
    if !actor.at_least(Role::Admin) {
        return Err(ApiError::forbidden("only admins can deactivate or reactivate members"));
    }
    let t = c.target()?;
    if c.is_self {
        return Err(ApiError::forbidden("you cannot deactivate or reactivate yourself"));
    }
    may_manage(actor, t.role)?;
    if deactivate && c.strips_last_owner(t) {
        return Err(last_owner());
    }
    Ok(())
}

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

/// Channel management over every role x membership x kind x archived x creator x default.
/// Each expectation is the rule as the API documents it, written as a table of refusals in
/// order of precedence: hidden (404), then the rule's own refusals.
#[cfg(test)]
mod channel_admin_tests {
    use super::*;
    use ChannelKind::*;

    const ROLES: [Option<Role>; 5] =
        [None, Some(Role::Owner), Some(Role::Admin), Some(Role::Member), Some(Role::Guest)];
    const KINDS: [ChannelKind; 3] = [Public, Private, Dm];

    /// Every combination of facts. The default channel is always public (`#general`).
    fn all() -> Vec<(ChannelAccess, ChannelFacts)> {
        let mut out = Vec::new();
        for role in ROLES {
            for kind in KINDS {
                for is_channel_member in [false, true] {
                    for archived in [false, true] {
                        for caller_is_creator in [false, true] {
                            for is_default in [false, true] {
                                if is_default && kind != Public {
                                    continue;
                                }
                                out.push((
                                    ChannelAccess { role, kind, is_channel_member, archived },
                                    ChannelFacts { caller_is_creator, is_default },
                                ));
                            }
                        }
                    }
                }
            }
        }
        out
    }

    fn status(r: Result<(), ApiError>) -> u16 {
        r.map_or_else(|e| e.status(), |()| 200)
    }

    /// 404 when the caller cannot see the channel at all; 403 for a guest looking at a
    /// public channel they are not in; `None` when it is readable.
    fn visibility(a: &ChannelAccess) -> Option<u16> {
        let guest = a.role == Some(Role::Guest);
        match (a.role.is_some(), a.is_channel_member, a.kind) {
            (false, _, _) => Some(404),
            (true, true, _) => None,
            (true, false, Private | Dm) => Some(404),
            (true, false, Public) if guest => Some(403),
            (true, false, Public) => None,
        }
    }

    fn admin(a: &ChannelAccess) -> bool {
        matches!(a.role, Some(Role::Owner | Role::Admin))
    }

    fn steward(a: &ChannelAccess, f: &ChannelFacts) -> bool {
        admin(a) || (f.caller_is_creator && a.role == Some(Role::Member))
    }

    fn full_member(a: &ChannelAccess) -> bool {
        a.is_channel_member && a.role != Some(Role::Guest)
    }

    #[test]
    fn update_topic_and_purpose() {
        let u = ChannelUpdate { rename: false, describe: true };
        for (a, f) in all() {
            let want = visibility(&a).unwrap_or(if a.kind == Dm || a.archived || !full_member(&a) { 403 } else { 200 });
            assert_eq!(status(can_update_channel(&a, f, u)), want, "{a:?} {f:?}");
        }
    }

    #[test]
    fn rename() {
        let u = ChannelUpdate { rename: true, describe: false };
        for (a, f) in all() {
            let want = visibility(&a).unwrap_or(if a.kind == Dm || a.archived || !steward(&a, &f) { 403 } else { 200 });
            assert_eq!(status(can_update_channel(&a, f, u)), want, "{a:?} {f:?}");
        }
    }

    #[test]
    fn rename_and_describe_at_once_needs_both_rights() {
        let both = ChannelUpdate { rename: true, describe: true };
        for (a, f) in all() {
            let want = visibility(&a)
                .unwrap_or(if a.kind == Dm || a.archived || !steward(&a, &f) || !full_member(&a) { 403 } else { 200 });
            assert_eq!(status(can_update_channel(&a, f, both)), want, "{a:?} {f:?}");
        }
        // An admin who is not in a public channel may rename it but not set its topic.
        let a = ChannelAccess { role: Some(Role::Admin), kind: Public, is_channel_member: false, archived: false };
        let f = ChannelFacts::default();
        assert!(can_update_channel(&a, f, ChannelUpdate { rename: true, describe: false }).is_ok());
        assert_eq!(status(can_update_channel(&a, f, both)), 403);
    }

    #[test]
    fn archive_and_unarchive() {
        for archive in [true, false] {
            for (a, f) in all() {
                let want = visibility(&a).unwrap_or(if a.kind == Dm || (archive && f.is_default) || !steward(&a, &f) {
                    403
                } else if a.archived == archive {
                    409
                } else {
                    200
                });
                assert_eq!(status(can_archive(&a, f, archive)), want, "archive={archive} {a:?} {f:?}");
            }
        }
    }

    #[test]
    fn add_members() {
        for (a, f) in all() {
            let want = visibility(&a).unwrap_or(if a.kind == Dm || a.archived || !full_member(&a) { 403 } else { 200 });
            assert_eq!(status(can_add_members(&a)), want, "{a:?} {f:?}");
        }
        // The admin of the brief: not in a private channel, so it does not exist for them.
        let a = ChannelAccess { role: Some(Role::Admin), kind: Private, is_channel_member: false, archived: false };
        assert_eq!(status(can_add_members(&a)), 404);
    }

    #[test]
    fn remove_member() {
        for target_is_self in [false, true] {
            for (a, f) in all() {
                let want = visibility(&a).unwrap_or(if a.kind == Dm || f.is_default {
                    403
                } else if target_is_self {
                    422
                } else if a.archived || !steward(&a, &f) {
                    403
                } else {
                    200
                });
                let got = status(can_remove_channel_member(&a, f, target_is_self));
                assert_eq!(got, want, "self={target_is_self} {a:?} {f:?}");
            }
        }
    }

    #[test]
    fn leave() {
        for (a, f) in all() {
            let want = visibility(&a).unwrap_or(if a.kind == Dm || f.is_default || a.archived { 403 } else { 200 });
            assert_eq!(status(can_leave(&a, f)), want, "{a:?} {f:?}");
        }
    }

    #[test]
    fn join_refuses_archived_channels() {
        for (a, _) in all() {
            let want = match (a.role, a.kind) {
                (None, _) | (Some(_), Private | Dm) => 404,
                (Some(Role::Guest), Public) => 403,
                (Some(_), Public) if a.archived => 403,
                (Some(_), Public) => 200,
            };
            assert_eq!(status(can_join(&a)), want, "{a:?}");
        }
    }

    #[test]
    fn open_dm() {
        for role in ROLES {
            assert_eq!(status(can_open_dm(role)), if role.is_some() { 200 } else { 404 }, "{role:?}");
        }
    }

    #[test]
    fn every_combination_is_covered() {
        // 5 roles x (public with/without default + private + dm) x member x archived x creator.
        assert_eq!(all().len(), 5 * 4 * 2 * 2 * 2);
    }
}

/// Workspace administration over every role pair: invites, channel creation, role changes,
/// removal, deactivation and the last-owner rule.
#[cfg(test)]
mod workspace_admin_tests {
    use super::*;
    use Role::*;

    const ROLES: [Role; 4] = [Owner, Admin, Member, Guest];

    fn status(r: Result<(), ApiError>) -> u16 {
        r.map_or_else(|e| e.status(), |()| 200)
    }

    fn ws(role: Role, members_can_invite: bool, members_can_create_channels: bool) -> Option<WorkspaceAccess> {
        Some(WorkspaceAccess { role, settings: WorkspaceSettings { members_can_invite, members_can_create_channels } })
    }

    fn change(actor: Role, target: Role, is_self: bool, other_active_owners: i64) -> MemberChange {
        MemberChange {
            actor: Some(actor),
            is_self,
            target: Some(MemberFacts { role: target, deactivated: false }),
            other_active_owners,
        }
    }

    #[test]
    fn roles_round_trip() {
        for r in ROLES {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(
            WorkspaceSettings::default(),
            WorkspaceSettings { members_can_invite: false, members_can_create_channels: true }
        );
    }

    #[test]
    fn creating_channels_follows_the_setting() {
        for allowed in [false, true] {
            for role in ROLES {
                let expected = match role {
                    Owner | Admin => 200,
                    Member if allowed => 200,
                    Member | Guest => 403,
                };
                assert_eq!(status(can_create_channel(ws(role, false, allowed))), expected, "{role:?} {allowed}");
            }
        }
        assert_eq!(status(can_create_channel(None)), 404);
    }

    #[test]
    fn inviting_follows_the_setting_and_never_grants_more_than_the_inviter_could() {
        for members_can_invite in [false, true] {
            for inviter in ROLES {
                for grant in ROLES {
                    let expected = match (inviter, grant) {
                        (_, Owner) | (Guest, _) => 403,
                        (Owner, _) => 200,
                        (Admin, Member | Guest) => 200,
                        (Member, Member | Guest) if members_can_invite => 200,
                        _ => 403,
                    };
                    let got = status(can_invite(ws(inviter, members_can_invite, true), grant));
                    assert_eq!(
                        got, expected,
                        "{inviter:?} invites a {grant:?} (members_can_invite {members_can_invite})"
                    );
                }
            }
        }
        assert_eq!(status(can_invite(None, Member)), 404);
    }

    #[test]
    fn managing_the_workspace() {
        assert_eq!(can_manage_workspace(Some(Owner)).unwrap(), Owner);
        assert_eq!(can_manage_workspace(Some(Admin)).unwrap(), Admin);
        assert_eq!(can_manage_workspace(Some(Member)).unwrap_err().status(), 403);
        assert_eq!(can_manage_workspace(Some(Guest)).unwrap_err().status(), 403);
        assert_eq!(can_manage_workspace(None).unwrap_err().status(), 404);
        assert_eq!(can_view_workspace(Some(Guest)).unwrap(), Guest);
        assert_eq!(can_view_workspace(None).unwrap_err().status(), 404);
    }

    #[test]
    fn role_changes_for_every_role_pair() {
        for actor in ROLES {
            for target in ROLES {
                for new in ROLES {
                    let expected = match actor {
                        Owner => 200,
                        Admin if matches!(target, Member | Guest) && matches!(new, Member | Guest) => 200,
                        _ => 403,
                    };
                    let c = change(actor, target, false, 1);
                    assert_eq!(status(can_change_role(&c, new)), expected, "{actor:?} sets a {target:?} to {new:?}");
                }
            }
        }
    }

    #[test]
    fn own_role_only_an_owner_stepping_down_beside_another_owner() {
        for role in ROLES {
            for new in ROLES {
                for others in [0, 1] {
                    let expected = match role {
                        Owner if new == Owner || others > 0 => 200,
                        Owner => 409,
                        _ => 403,
                    };
                    let c = change(role, role, true, others);
                    assert_eq!(
                        status(can_change_role(&c, new)),
                        expected,
                        "{role:?} to {new:?}, {others} other owners"
                    );
                }
            }
        }
    }

    #[test]
    fn the_last_active_owner_is_never_demoted() {
        // Another owner acting implies another owner exists; the rule still holds on the facts.
        assert_eq!(status(can_change_role(&change(Owner, Owner, false, 0), Admin)), 409);
        assert_eq!(status(can_change_role(&change(Owner, Owner, false, 0), Owner)), 200);
        // A deactivated owner is not what keeps the workspace administered.
        let mut c = change(Owner, Owner, false, 0);
        c.target = Some(MemberFacts { role: Owner, deactivated: true });
        assert_eq!(status(can_change_role(&c, Member)), 200);
        assert_eq!(status(can_remove_member(&c)), 200);
    }

    #[test]
    fn outsiders_and_missing_targets() {
        let mut c = change(Owner, Member, false, 1);
        c.actor = None;
        assert_eq!(status(can_change_role(&c, Member)), 404);
        assert_eq!(status(can_remove_member(&c)), 404);
        assert_eq!(status(can_set_deactivated(&c, true)), 404);
        for actor in ROLES {
            let mut c = change(actor, Member, false, 1);
            c.target = None;
            let expected = if matches!(actor, Owner | Admin) { 404 } else { 403 };
            assert_eq!(status(can_change_role(&c, Guest)), expected, "{actor:?}");
            assert_eq!(status(can_remove_member(&c)), expected, "{actor:?}");
            assert_eq!(status(can_set_deactivated(&c, true)), expected, "{actor:?}");
        }
    }

    #[test]
    fn removal_and_deactivation_for_every_role_pair() {
        for actor in ROLES {
            for target in ROLES {
                let expected = match (actor, target) {
                    (Owner, _) | (Admin, Member | Guest) => 200,
                    _ => 403,
                };
                let c = change(actor, target, false, 1);
                assert_eq!(status(can_remove_member(&c)), expected, "{actor:?} removes a {target:?}");
                assert_eq!(status(can_set_deactivated(&c, true)), expected, "{actor:?} deactivates a {target:?}");
                assert_eq!(status(can_set_deactivated(&c, false)), expected, "{actor:?} reactivates a {target:?}");
            }
        }
    }

    #[test]
    fn leaving_is_allowed_except_for_the_last_owner() {
        for role in ROLES {
            for others in [0, 1] {
                let expected = if role == Owner && others == 0 { 409 } else { 200 };
                assert_eq!(status(can_remove_member(&change(role, role, true, others))), expected, "{role:?} {others}");
                // Nobody deactivates themself.
                assert_eq!(status(can_set_deactivated(&change(role, role, true, others), true)), 403);
            }
        }
    }

    #[test]
    fn the_last_active_owner_is_never_removed_or_deactivated() {
        let c = change(Owner, Owner, false, 0);
        assert_eq!(status(can_remove_member(&c)), 409);
        assert_eq!(status(can_set_deactivated(&c, true)), 409);
        assert_eq!(status(can_set_deactivated(&c, false)), 200, "reactivating never strips an owner");
    }
}
