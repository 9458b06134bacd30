//! The caller's own account (`/me`) and colleagues' profiles.

use ocomms_core::event::WorkspaceChange;
use ocomms_core::ids::UserId;
use ocomms_core::{ApiError, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::Ports;
use crate::repo::{users, workspaces};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
    #[serde(default)]
    status_text: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
}

pub async fn me<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let user = users::by_id(&api.sql, caller.user_id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Response::ok(json!({ "user": user })))
}

/// Changes any subset of the caller's profile; an empty change is refused.
pub async fn update_me<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: ProfileBody = req.json()?;
    let patch = users::ProfilePatch {
        display_name: body
            .display_name
            .map(|n| validate::display_name(&n, "display_name", validate::MAX_DISPLAY_NAME_CHARS))
            .transpose()?,
        avatar_url: body.avatar_url.map(|u| validate::avatar_url(&u)).transpose()?,
        status_text: body.status_text.map(|s| validate::status_text(&s)).transpose()?,
        time_zone: body.time_zone.map(|z| validate::time_zone(&z)).transpose()?,
    };
    if patch.display_name.is_none()
        && patch.avatar_url.is_none()
        && patch.status_text.is_none()
        && patch.time_zone.is_none()
    {
        return Err(
            ApiError::validation("nothing to change: give display_name, avatar_url, status_text or time_zone").into()
        );
    }
    let user =
        users::update_profile(&api.sql, caller.user_id, &patch).await?.ok_or_else(|| ApiError::not_found("user"))?;
    if patch.avatar_url.is_some() {
        // The only avatar change a PATCH makes is removing it (pictures are uploaded).
        super::avatars::forget(api, caller.user_id).await?;
    }
    // Everyone who shows this person's name, status or avatar: their workspaces' members.
    if patch.display_name.is_some() || patch.avatar_url.is_some() || patch.status_text.is_some() {
        for ws in workspaces::list_for(&api.sql, caller.user_id).await? {
            api.notify_workspace(ws.id, WorkspaceChange::Members).await;
        }
    }
    Ok(Response::ok(json!({ "user": user })))
}

/// A profile, for people who share an active workspace with the caller; 404 otherwise.
pub async fn get<P: Ports>(api: &Api<P>, req: &Request, user: UserId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let profile = users::profile_for(&api.sql, caller.user_id, user).await?;
    Ok(Response::ok(json!({ "user": profile.ok_or_else(|| ApiError::not_found("user"))? })))
}
