//! Notification preferences (`/me/notifications`, `/channels/{id}/notifications`). Every
//! change is told to the user's other sockets, so each device decides as the last one set.

use ocomms_core::event::UserNotice;
use ocomms_core::ids::ChannelId;
use ocomms_core::notify::{self, NotifyLevel};
use ocomms_core::{ApiError, policy};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::Ports;
use crate::repo::{channels, notifications};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DndBody {
    do_not_disturb: bool,
    /// How long; absent lasts until turned off.
    #[serde(default)]
    minutes: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelBody {
    level: String,
}

pub async fn get<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let settings =
        notifications::settings(&api.sql, caller.user_id).await?.ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Response::ok(json!({ "notifications": settings })))
}

/// Turns do not disturb on (optionally for `minutes`) or off.
pub async fn update<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: DndBody = req.json()?;
    let minutes = notify::dnd_minutes(body.minutes)?;
    if !body.do_not_disturb && minutes.is_some() {
        return Err(ApiError::validation("minutes only goes with do_not_disturb: true").into());
    }
    notifications::set_dnd(&api.sql, caller.user_id, body.do_not_disturb, minutes).await?;
    api.notify(caller.user_id, UserNotice::NotificationsChanged {}).await;
    get(api, req).await
}

/// Sets which messages of a channel notify the caller; members only.
pub async fn set_channel_level<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: LevelBody = req.json()?;
    let level = NotifyLevel::parse(&body.level)?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_read_channel(&access)?;
    if !access.is_channel_member {
        return Err(ApiError::forbidden("only members choose how a channel notifies them; join it first").into());
    }
    if !notifications::set_level(&api.sql, ch, caller.user_id, level).await? {
        return Err(ApiError::not_found("channel").into());
    }
    api.notify(caller.user_id, UserNotice::NotificationsChanged {}).await;
    Ok(Response::ok(json!({ "channel_id": ch, "level": level })))
}
