//! Invites: create, list, revoke, preview (the landing page) and accept.

use base64::Engine as _;
use ocomms_core::event::WorkspaceChange;
use ocomms_core::ids::WorkspaceId;
use ocomms_core::policy::{self, Role};
use ocomms_core::{ApiError, ErrorCode, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::{channels, invites, workspaces};

/// Codes are 22 characters; anything much longer cannot exist and is not looked up.
const MAX_CODE_LEN: usize = 64;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    max_uses: Option<i64>,
    #[serde(default)]
    expires_in_secs: Option<i64>,
}

fn code_ok(code: &str) -> Result<()> {
    if code.is_empty() || code.len() > MAX_CODE_LEN {
        return Err(ApiError::not_found("invite").into());
    }
    Ok(())
}

pub async fn create<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: CreateBody = if req.body.is_empty() { CreateBody::default() } else { req.json()? };
    let role = body.role.unwrap_or(Role::Member);
    if role == Role::Owner {
        return Err(ApiError::validation("an invite cannot grant the owner role").into());
    }
    let max_uses = validate::invite_max_uses(body.max_uses)?;
    let expires_in_secs = validate::invite_expiry(body.expires_in_secs)?;
    policy::can_invite(workspaces::access_of(&api.sql, ws, caller.user_id).await?, role)?;
    let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(api.env.random_array::<16>());
    let invite = invites::create(&api.sql, &code, ws, caller.user_id, role, max_uses, expires_in_secs).await?;
    let url = format!("{}/invite/{code}", api.config.public_url);
    Ok(Response::created(json!({ "invite": invite, "url": url })))
}

/// Admins and owners: every invite of the workspace, newest first.
pub async fn list<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    policy::can_manage_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    let list = invites::list(&api.sql, ws).await?;
    Ok(Response::ok(json!({ "invites": list })))
}

/// Admins and owners revoke an invite of their workspace; revoking twice is fine.
pub async fn revoke<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, code: &str) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    policy::can_manage_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    code_ok(code)?;
    if !invites::revoke(&api.sql, ws, code).await? {
        return Err(ApiError::not_found("invite").into());
    }
    Ok(Response::no_content())
}

/// What an invite link leads to, for any signed-in user holding the code.
pub async fn preview<P: Ports>(api: &Api<P>, req: &Request, code: &str) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    crate::limits::check(api, ocomms_core::limits::Limit::InviteUser, &caller.user_id.to_string()).await?;
    code_ok(code)?;
    let preview = invites::preview(&api.sql, code, caller.user_id).await?;
    Ok(Response::ok(json!({ "invite": preview.ok_or_else(|| ApiError::not_found("invite"))? })))
}

pub async fn accept<P: Ports>(api: &Api<P>, req: &Request, code: &str) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    crate::limits::check(api, ocomms_core::limits::Limit::InviteUser, &caller.user_id.to_string()).await?;
    if code.len() > MAX_CODE_LEN {
        return Err(ApiError::not_found("invite").into());
    }
    // A workspace requiring single sign-on takes only members who came in through it.
    if let Some(p) = invites::preview(&api.sql, code, caller.user_id).await?
        && !p.already_member
        && workspaces::details_sso_only(&api.sql, p.workspace_id).await?
        && crate::repo::sessions::method_of(&api.sql, caller.session_id).await?.as_deref() != Some("oidc")
    {
        return Err(ApiError::forbidden(format!(
            "{} requires single sign-on: sign in with it, then accept",
            p.workspace_name
        ))
        .into());
    }
    let ws = match invites::redeem(&api.sql, code, caller.user_id).await? {
        invites::Redeem::Joined { workspace, role } => {
            if role != Role::Guest {
                for ch in workspaces::default_channels(&api.sql, workspace).await? {
                    if let Some(ev) = channels::join(&api.sql, ch, caller.user_id).await? {
                        api.publish(&ev).await;
                    }
                }
            }
            api.notify_workspace(workspace, WorkspaceChange::Members).await;
            workspace
        }
        invites::Redeem::AlreadyMember { workspace } => workspace,
        invites::Redeem::Invalid => {
            return Err(ApiError::new(ErrorCode::Gone, "this invite is invalid, expired or used up").into());
        }
        invites::Redeem::Barred => {
            return Err(ApiError::forbidden("you were removed from or deactivated in this workspace").into());
        }
    };
    let list = workspaces::list_for(&api.sql, caller.user_id).await?;
    let joined = list.into_iter().find(|w| w.id == ws).ok_or_else(|| ApiError::not_found("workspace"))?;
    Ok(Response::ok(json!({ "workspace": joined })))
}
