//! Workspaces and invites.

use base64::Engine as _;
use ocomms_core::ids::{ChannelId, WorkspaceId};
use ocomms_core::policy::{self, Role};
use ocomms_core::{ApiError, ErrorCode, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env, RoomPublisher, Sql};
use crate::repo::{channels, workspaces};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    #[serde(default)]
    role: Option<Role>,
    #[serde(default)]
    max_uses: Option<i64>,
    #[serde(default)]
    expires_in_secs: Option<i64>,
}

pub async fn list<S: Sql, R: RoomPublisher, E: Env>(api: &Api<S, R, E>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let list = workspaces::list_for(&api.sql, caller.user_id).await?;
    Ok(Response::ok(json!({ "workspaces": list })))
}

pub async fn create<S: Sql, R: RoomPublisher, E: Env>(api: &Api<S, R, E>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: CreateBody = req.json()?;
    let name = validate::display_name(&body.name, "name", validate::MAX_WORKSPACE_NAME_CHARS)?;
    let id = WorkspaceId::from_bytes(api.env.random_array());
    let general = ChannelId::from_bytes(api.env.random_array());
    let ws = workspaces::create(&api.sql, id, &name, caller.user_id, general).await?;
    api.publish(&channels::creator_joined(general, caller.user_id, ws.created_at_ms)).await;
    Ok(Response::created(json!({ "workspace": ws, "default_channel_id": general })))
}

pub async fn create_invite<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ws: WorkspaceId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: InviteBody = if req.body.is_empty() { InviteBody::default() } else { req.json()? };
    policy::can_invite(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    let role = body.role.unwrap_or(Role::Member);
    if role == Role::Owner {
        return Err(ApiError::validation("an invite cannot grant the owner role").into());
    }
    if body.max_uses.is_some_and(|n| !(1..=10_000).contains(&n)) {
        return Err(ApiError::validation("max_uses must be between 1 and 10000").into());
    }
    if body.expires_in_secs.is_some_and(|s| !(60..=90 * 24 * 3600).contains(&s)) {
        return Err(ApiError::validation("expires_in_secs must be between 60 and 7776000").into());
    }
    let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(api.env.random_array::<16>());
    let invite =
        workspaces::create_invite(&api.sql, &code, ws, caller.user_id, role, body.max_uses, body.expires_in_secs)
            .await?;
    let url = format!("{}/invite/{code}", api.config.public_url);
    Ok(Response::created(json!({ "invite": invite, "url": url })))
}

pub async fn accept_invite<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    code: &str,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    if code.len() > 64 {
        return Err(ApiError::not_found("invite").into());
    }
    let ws = match workspaces::redeem_invite(&api.sql, code, caller.user_id).await? {
        workspaces::Redeem::Joined { workspace, role } => {
            if role != Role::Guest {
                for ch in workspaces::default_channels(&api.sql, workspace).await? {
                    if let Some(ev) = channels::join(&api.sql, ch, caller.user_id).await? {
                        api.publish(&ev).await;
                    }
                }
            }
            workspace
        }
        workspaces::Redeem::AlreadyMember { workspace } => workspace,
        workspaces::Redeem::Invalid => {
            return Err(ApiError::new(ErrorCode::Gone, "this invite is invalid, expired or used up").into());
        }
        workspaces::Redeem::Removed => {
            return Err(ApiError::forbidden("you were removed from this workspace").into());
        }
    };
    let list = workspaces::list_for(&api.sql, caller.user_id).await?;
    let joined = list.into_iter().find(|w| w.id == ws).ok_or_else(|| ApiError::not_found("workspace"))?;
    Ok(Response::ok(json!({ "workspace": joined })))
}
