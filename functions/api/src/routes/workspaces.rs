//! Workspaces: list, create, read and change settings.

use ocomms_core::event::{UserNotice, WorkspaceChange};
use ocomms_core::ids::{ChannelId, WorkspaceId};
use ocomms_core::policy;
use ocomms_core::{ApiError, ErrorCode, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::{channels, sessions, workspaces};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    members_can_invite: Option<bool>,
    #[serde(default)]
    members_can_create_channels: Option<bool>,
    #[serde(default)]
    sso_only: Option<bool>,
}

pub async fn list<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let list = workspaces::list_for(&api.sql, caller.user_id).await?;
    let deactivated = workspaces::deactivated_in(&api.sql, caller.user_id).await?;
    Ok(Response::ok(json!({ "workspaces": list, "deactivated_in": deactivated })))
}

pub async fn create<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: CreateBody = req.json()?;
    let name = validate::display_name(&body.name, "name", validate::MAX_WORKSPACE_NAME_CHARS)?;
    let id = WorkspaceId::from_bytes(api.env.random_array());
    let general = ChannelId::from_bytes(api.env.random_array());
    let ws = workspaces::create(&api.sql, id, &name, caller.user_id, general).await?;
    api.publish(&channels::creator_joined(general, caller.user_id, ws.created_at_ms)).await;
    Ok(Response::created(json!({ "workspace": ws, "default_channel_id": general })))
}

/// Any active member, guests included.
pub async fn get<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let details = workspaces::details(&api.sql, ws, caller.user_id).await?;
    let details = details.ok_or_else(|| ApiError::not_found("workspace"))?;
    Ok(Response::ok(json!({ "workspace": details })))
}

/// Admins and owners change any subset of the settings; an empty change is refused.
pub async fn update<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: SettingsBody = req.json()?;
    policy::can_manage_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    let patch = workspaces::SettingsPatch {
        name: body.name.map(|n| validate::display_name(&n, "name", validate::MAX_WORKSPACE_NAME_CHARS)).transpose()?,
        description: body.description.map(|d| validate::description(&d)).transpose()?,
        members_can_invite: body.members_can_invite,
        members_can_create_channels: body.members_can_create_channels,
        sso_only: body.sso_only,
    };
    if patch.name.is_none()
        && patch.description.is_none()
        && patch.members_can_invite.is_none()
        && patch.members_can_create_channels.is_none()
        && patch.sso_only.is_none()
    {
        return Err(ApiError::validation(
            "nothing to change: give name, description, members_can_invite, members_can_create_channels or sso_only",
        )
        .into());
    }
    if patch.sso_only == Some(true) {
        if api.config.oidc.is_none() {
            return Err(
                ApiError::validation("sso_only needs single sign-on, which this install has not configured").into()
            );
        }
        // Whoever turns it on must already be in through the provider, or they lock themselves out.
        if sessions::method_of(&api.sql, caller.session_id).await?.as_deref() != Some("oidc") {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                "sign in with single sign-on before requiring it, or you would lock yourself out",
            )
            .into());
        }
    }
    let details = workspaces::update(&api.sql, ws, caller.user_id, &patch).await?;
    let details = details.ok_or_else(|| ApiError::not_found("workspace"))?;
    if patch.sso_only == Some(true) {
        for (user, session) in workspaces::end_sessions_without_sso(&api.sql, ws).await? {
            let reason = format!("{} requires single sign-on", details.name);
            api.notify(user, UserNotice::SessionsEnded { session_id: Some(session), reason }).await;
        }
    }
    api.notify_workspace(ws, WorkspaceChange::Settings).await;
    Ok(Response::ok(json!({ "workspace": details })))
}
