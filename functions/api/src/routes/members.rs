//! Workspace members: list, change role, remove (or leave), deactivate and reactivate.

use ocomms_core::event::{UserNotice, WorkspaceChange};
use ocomms_core::ids::{UserId, WorkspaceId};
use ocomms_core::policy::{self, MemberChange, Role};
use ocomms_core::{ApiError, ErrorCode, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::Ports;
use crate::repo::members::{self, Decided};
use crate::repo::{sessions, workspaces};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    role: Role,
}

/// Any active member, guests included; admins and owners also see deactivated members.
pub async fn list<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let role = policy::can_view_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    let limit = validate::members_page(req.query_num("limit")?)?;
    let after = match req.query_param("after") {
        None => None,
        Some(s) => Some(s.parse::<UserId>().map_err(|_| ApiError::bad_request("after must be a user id"))?),
    };
    let with_deactivated = matches!(role, Role::Owner | Role::Admin);
    let list = members::list(&api.sql, ws, with_deactivated, after, limit).await?;
    let next_after = if list.len() == limit as usize { list.last().map(|m| m.user_id) } else { None };
    Ok(Response::ok(json!({ "members": list, "next_after": next_after })))
}

pub async fn change_role<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, target: UserId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: RoleBody = req.json()?;
    let facts = members::facts(&api.sql, ws, caller.user_id, target).await?;
    policy::can_change_role(&facts, body.role)?;
    let d = decided(ws, caller.user_id, target, &facts)?;
    if d.target_role != body.role {
        if !members::change_role(&api.sql, &d, body.role).await? {
            return Err(changed_meanwhile());
        }
        api.notify(target, UserNotice::RoleChanged { workspace_id: ws, role: body.role }).await;
        api.notify_workspace(ws, WorkspaceChange::Members).await;
    }
    current(api, ws, target).await
}

/// Removes a member, or, on oneself, leaves the workspace. A removed member's sessions all
/// end at once (their sockets close); someone leaving stays logged in, and their sockets
/// just stop hearing the workspace's channels (the `member.left` events unsubscribe them).
pub async fn remove<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, target: UserId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let facts = members::facts(&api.sql, ws, caller.user_id, target).await?;
    policy::can_remove_member(&facts)?;
    let d = decided(ws, caller.user_id, target, &facts)?;
    let reason = if facts.is_self { "left" } else { "removed" };
    let events = members::remove(&api.sql, &d, reason).await?.ok_or_else(changed_meanwhile)?;
    for ev in &events {
        api.publish(ev).await;
    }
    if !facts.is_self {
        end_sessions(api, target, "removed from a workspace").await?;
    }
    api.notify_workspace(ws, WorkspaceChange::Members).await;
    Ok(Response::no_content())
}

/// Deactivates (`true`) or reactivates a member. Deactivation keeps their channel
/// memberships, so reactivation restores exactly what they had; meanwhile every access check
/// treats them as outside the workspace, and their sessions end at once. Asking for the
/// state they are already in changes nothing and succeeds.
pub async fn set_deactivated<P: Ports>(
    api: &Api<P>,
    req: &Request,
    ws: WorkspaceId,
    target: UserId,
    deactivate: bool,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let facts = members::facts(&api.sql, ws, caller.user_id, target).await?;
    policy::can_set_deactivated(&facts, deactivate)?;
    let d = decided(ws, caller.user_id, target, &facts)?;
    if members::set_deactivated(&api.sql, &d, deactivate).await? {
        if deactivate {
            end_sessions(api, target, "deactivated in a workspace").await?;
        }
        api.notify_workspace(ws, WorkspaceChange::Members).await;
    } else {
        // Already in that state (perhaps by a concurrent request), or the decision is stale.
        let now = members::one(&api.sql, ws, target).await?;
        if now.is_none_or(|m| m.deactivated != deactivate) {
            return Err(changed_meanwhile());
        }
    }
    current(api, ws, target).await
}

/// The facts the policy accepted, for the repo to re-check in its statement.
fn decided(ws: WorkspaceId, actor: UserId, target: UserId, facts: &MemberChange) -> Result<Decided> {
    // The policy refuses a missing actor or target; this only keeps the types honest.
    let (Some(actor_role), Some(t)) = (facts.actor, facts.target) else {
        return Err(ApiError::not_found("member").into());
    };
    Ok(Decided { ws, actor, actor_role, target, target_role: t.role })
}

fn changed_meanwhile() -> crate::error::Error {
    ApiError::new(
        ErrorCode::Conflict,
        "the membership changed meanwhile, or the workspace would be left without an active owner; reload and retry",
    )
    .into()
}

/// Ends every session of `user` and closes their sockets.
async fn end_sessions<P: Ports>(api: &Api<P>, user: UserId, reason: &str) -> Result<()> {
    sessions::revoke_all(&api.sql, user).await?;
    api.notify(user, UserNotice::SessionsEnded { session_id: None, reason: reason.into() }).await;
    Ok(())
}

async fn current<P: Ports>(api: &Api<P>, ws: WorkspaceId, user: UserId) -> Result<Response> {
    let member = members::one(&api.sql, ws, user).await?.ok_or_else(|| ApiError::not_found("member"))?;
    Ok(Response::ok(json!({ "member": member })))
}
