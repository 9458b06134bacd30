//! Workspace administration: settings, invites, roles, removal and deactivation.

use super::*;

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
