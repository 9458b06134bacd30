//! Channel management: rename, topic, archive, roster, direct messages.

use super::*;

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
