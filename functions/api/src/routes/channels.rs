//! Channels: list, create, read, join, leave; rename and describe, archive, and the
//! member roster (list, add, remove).

use ocomms_core::event::WorkspaceChange;
use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use ocomms_core::policy::{self, ChannelAccess, ChannelFacts, ChannelKind, ChannelUpdate};
use ocomms_core::{ApiError, ErrorCode, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::{channels, workspaces};

/// Largest page of `GET /channels/{id}/members` (also its default).
pub const MAX_MEMBERS_PAGE: u32 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    #[serde(default)]
    kind: Option<ChannelKind>,
    #[serde(default)]
    topic: Option<String>,
}

pub async fn list<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let role = policy::can_view_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    let list = channels::list_visible(&api.sql, ws, caller.user_id, role).await?;
    Ok(Response::ok(json!({ "channels": list })))
}

pub async fn create<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: CreateBody = req.json()?;
    policy::can_create_channel(workspaces::access_of(&api.sql, ws, caller.user_id).await?)?;
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
            // A public channel shows in everyone's browse list.
            if kind == ChannelKind::Public {
                api.notify_workspace(ws, WorkspaceChange::Channels).await;
            }
            Ok(Response::created(json!({ "channel": ch })))
        }
        channels::CreateOutcome::NameTaken => {
            Err(ApiError::new(ErrorCode::Conflict, format!("a channel named {name} exists")).into())
        }
    }
}

pub async fn get<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (_, access) = load(api, ch, caller.user_id).await?;
    policy::can_read_channel(&access)?;
    current(api, ch, caller.user_id).await
}

pub async fn join<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (_, access) = load(api, ch, caller.user_id).await?;
    if !access.is_channel_member {
        policy::can_join(&access)?;
        if let Some(ev) = channels::join(&api.sql, ch, caller.user_id).await? {
            api.publish(&ev).await;
        }
    }
    current(api, ch, caller.user_id).await
}

pub async fn leave<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (channel, access) = load(api, ch, caller.user_id).await?;
    policy::can_leave(&access, facts(&channel, caller.user_id))?;
    if let Some(ev) = channels::leave(&api.sql, ch, caller.user_id).await? {
        api.publish(&ev).await;
    }
    Ok(Response::no_content())
}

/// `{channel}` as the user now sees it (with `member_count`).
async fn current<P: Ports>(api: &Api<P>, ch: ChannelId, user: UserId) -> Result<Response> {
    let channel = channels::read(&api.sql, ch, user).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    Ok(Response::ok(json!({ "channel": channel })))
}

/// The channel and the caller's access to it; 404 if there is no such channel.
async fn load<P: Ports>(api: &Api<P>, ch: ChannelId, user: UserId) -> Result<(channels::Channel, ChannelAccess)> {
    Ok(channels::access(&api.sql, ch, user).await?.ok_or_else(|| ApiError::not_found("channel"))?)
}

fn facts(channel: &channels::Channel, caller: UserId) -> ChannelFacts {
    ChannelFacts { caller_is_creator: channel.created_by == caller, is_default: channel.is_default }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PatchBody {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    purpose: Option<String>,
}

/// `PATCH /channels/{id}`: rename, set the topic or the purpose; one `channel.updated`.
pub async fn update<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: PatchBody = req.json()?;
    let change =
        ChannelUpdate { rename: body.name.is_some(), describe: body.topic.is_some() || body.purpose.is_some() };
    if !change.rename && !change.describe {
        return Err(ApiError::validation("nothing to change: give name, topic or purpose").into());
    }
    let (channel, access) = load(api, ch, caller.user_id).await?;
    policy::can_update_channel(&access, facts(&channel, caller.user_id), change)?;
    let name = body.name.as_deref().map(validate::channel_name).transpose()?;
    let topic = body.topic.as_deref().map(validate::topic).transpose()?;
    let purpose = body.purpose.as_deref().map(validate::purpose).transpose()?;
    let patch = channels::Patch { name: name.as_deref(), topic: topic.as_deref(), purpose: purpose.as_deref() };
    match channels::update(&api.sql, ch, patch).await? {
        channels::UpdateOutcome::Updated(mut updated, ev) => {
            api.publish(&ev).await;
            // Members heard the event; the rest of the workspace lists public channels too.
            if channel.kind == ChannelKind::Public {
                api.notify_workspace(channel.workspace_id, WorkspaceChange::Channels).await;
            }
            updated.is_member = access.is_channel_member;
            Ok(Response::ok(json!({ "channel": updated })))
        }
        channels::UpdateOutcome::NameTaken => Err(ApiError::new(
            ErrorCode::Conflict,
            format!("a channel named {} exists", name.as_deref().unwrap_or_default()),
        )
        .into()),
        channels::UpdateOutcome::Frozen => Err(ApiError::forbidden("the channel is archived").into()),
    }
}

/// `POST /channels/{id}/archive` and `/unarchive`.
pub async fn set_archived<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId, archive: bool) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (channel, access) = load(api, ch, caller.user_id).await?;
    policy::can_archive(&access, facts(&channel, caller.user_id), archive)?;
    match channels::set_archived(&api.sql, ch, caller.user_id, archive).await? {
        Some(ev) => {
            api.publish(&ev).await;
            if channel.kind == ChannelKind::Public {
                api.notify_workspace(channel.workspace_id, WorkspaceChange::Channels).await;
            }
        }
        // A concurrent request got there first; the policy saw the state before it.
        None => {
            let state = if archive { "already archived" } else { "not archived" };
            return Err(ApiError::new(ErrorCode::Conflict, format!("the channel is {state}")).into());
        }
    }
    current(api, ch, caller.user_id).await
}

/// `GET /channels/{id}/members?after={user_id}&limit={1..1000}`: anyone who may read it.
pub async fn members<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let after = match req.query_param("after") {
        None => None,
        Some(s) => {
            Some(s.parse::<UserId>().map_err(|_| ApiError::bad_request("query parameter after must be a user id"))?)
        }
    };
    let limit = match req.query_num::<u32>("limit")? {
        None => MAX_MEMBERS_PAGE,
        Some(n) if (1..=MAX_MEMBERS_PAGE).contains(&n) => n,
        Some(_) => return Err(ApiError::validation(format!("limit must be between 1 and {MAX_MEMBERS_PAGE}")).into()),
    };
    let (_, access) = load(api, ch, caller.user_id).await?;
    policy::can_read_channel(&access)?;
    let list = channels::members(&api.sql, ch, after, limit).await?;
    let next_after = (list.len() == limit as usize).then(|| list.last().map(|m| m.user_id)).flatten();
    Ok(Response::ok(json!({ "members": list, "next_after": next_after })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AddMembersBody {
    user_ids: Vec<UserId>,
}

/// `POST /channels/{id}/members`: a member (not a guest) adds people; all or nothing.
pub async fn add_members<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: AddMembersBody = req.json()?;
    let wanted = validate::members_to_add(&body.user_ids)?;
    let (channel, access) = load(api, ch, caller.user_id).await?;
    policy::can_add_members(&access)?;
    // Every id is checked before anything changes, so a typo adds nobody.
    let bad = channels::not_active_in(&api.sql, channel.workspace_id, &wanted).await?;
    if let Some(first) = bad.first() {
        return Err(ApiError::validation(format!("user {first} is not an active member of this workspace")).into());
    }
    let events = channels::add_members(&api.sql, ch, caller.user_id, &wanted).await?;
    // In seq order: each new member's open sockets subscribe on their own event.
    for ev in &events {
        api.publish(ev).await;
    }
    let added: Vec<&serde_json::Value> = events.iter().filter_map(|e| e.data.get("user_id")).collect();
    let channel = channels::read(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    Ok(Response::ok(json!({ "channel": channel, "added": added })))
}

/// `DELETE /channels/{id}/members/{user}`: the channel's creator or a workspace admin.
pub async fn remove_member<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId, user: UserId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (channel, access) = load(api, ch, caller.user_id).await?;
    policy::can_remove_channel_member(&access, facts(&channel, caller.user_id), user == caller.user_id)?;
    let ev = channels::remove_member(&api.sql, ch, user, caller.user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("channel member"))?;
    // The removed user's sockets get this event, then `unsubscribed`.
    api.publish(&ev).await;
    Ok(Response::no_content())
}
