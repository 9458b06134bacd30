//! Channels: list, create, read, join, leave.

use ocomms_core::ids::{ChannelId, WorkspaceId};
use ocomms_core::policy::{self, ChannelKind};
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
    #[serde(default)]
    kind: Option<ChannelKind>,
    #[serde(default)]
    topic: Option<String>,
}

pub async fn list<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ws: WorkspaceId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let role = policy::can_view_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    let list = channels::list_visible(&api.sql, ws, caller.user_id, role).await?;
    Ok(Response::ok(json!({ "channels": list })))
}

pub async fn create<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ws: WorkspaceId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: CreateBody = req.json()?;
    policy::can_create_channel(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    let name = validate::channel_name(&body.name)?;
    let topic = validate::topic(body.topic.as_deref().unwrap_or(""))?;
    let kind = match body.kind.unwrap_or(ChannelKind::Public) {
        ChannelKind::Dm => return Err(ApiError::validation("direct messages are opened, not created").into()),
        k => k,
    };
    let id = ChannelId::from_bytes(api.env.random_array());
    match channels::create(&api.sql, id, ws, &name, kind, &topic, caller.user_id).await? {
        channels::CreateOutcome::Created(ch, joined) => {
            // The creator's open sockets subscribe on this event.
            api.publish(&joined).await;
            Ok(Response::created(json!({ "channel": ch })))
        }
        channels::CreateOutcome::NameTaken => {
            Err(ApiError::new(ErrorCode::Conflict, format!("a channel named {name} exists")).into())
        }
    }
}

pub async fn get<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ch: ChannelId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (channel, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_read_channel(&access)?;
    Ok(Response::ok(json!({ "channel": channel })))
}

pub async fn join<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ch: ChannelId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    if !access.is_channel_member {
        policy::can_join(&access)?;
        if let Some(ev) = channels::join(&api.sql, ch, caller.user_id).await? {
            api.publish(&ev).await;
        }
    }
    current(api, ch, caller.user_id).await
}

pub async fn leave<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ch: ChannelId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (channel, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_read_channel(&access)?;
    if channel.kind == ChannelKind::Dm {
        return Err(ApiError::forbidden("you cannot leave a direct message").into());
    }
    if let Some(ev) = channels::leave(&api.sql, ch, caller.user_id).await? {
        api.publish(&ev).await;
    }
    Ok(Response::no_content())
}

async fn current<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    ch: ChannelId,
    user: ocomms_core::ids::UserId,
) -> Result<Response> {
    let (channel, _) = channels::access(&api.sql, ch, user).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    Ok(Response::ok(json!({ "channel": channel })))
}
