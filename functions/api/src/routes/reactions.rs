//! Reactions and pins on messages.

use ocomms_core::ids::{ChannelId, MessageId};
use ocomms_core::{ApiError, ErrorCode, emoji, policy};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response, percent_decode_path};
use crate::ports::Ports;
use crate::repo::reactions::{self, Added};
use crate::repo::{channels, messages};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReactBody {
    emoji: String,
}

/// The live message's channel, if the caller may act in it as a poster (reacting and
/// pinning are contributions: members only, not in archived channels).
async fn postable<P: Ports>(api: &Api<P>, user: ocomms_core::ids::UserId, id: MessageId) -> Result<ChannelId> {
    let found = messages::locate(&api.sql, id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    let (_, access) =
        channels::access(&api.sql, found.channel, user).await?.ok_or_else(|| ApiError::not_found("message"))?;
    policy::can_post(&access).map_err(|e| if e.status() == 404 { ApiError::not_found("message") } else { e })?;
    Ok(found.channel)
}

pub async fn add<P: Ports>(api: &Api<P>, req: &Request, id: MessageId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: ReactBody = req.json()?;
    let emoji = emoji::reaction(&body.emoji)?;
    let ch = postable(api, caller.user_id, id).await?;
    match reactions::add(&api.sql, id, ch, caller.user_id, &emoji).await? {
        Added::New(event) => {
            api.publish(&event).await;
            Ok(Response::created(json!({ "reaction": event.data })))
        }
        Added::Exists => {
            Ok(Response::ok(json!({ "reaction": { "message_id": id, "user_id": caller.user_id, "emoji": emoji } })))
        }
        Added::Gone => Err(ApiError::not_found("message").into()),
        Added::UserCap => Err(ApiError::new(
            ErrorCode::RateLimited,
            format!("you already left {} reactions on this message", reactions::MAX_REACTIONS_PER_USER_PER_MESSAGE),
        )
        .into()),
        Added::KindCap => Err(ApiError::new(
            ErrorCode::RateLimited,
            format!("this message already has {} different reactions", reactions::MAX_EMOJI_KINDS_PER_MESSAGE),
        )
        .into()),
    }
}

/// `DELETE /messages/{id}/reactions/{emoji}`, the emoji percent-encoded.
pub async fn remove<P: Ports>(api: &Api<P>, req: &Request, id: MessageId, raw_emoji: &str) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let decoded =
        percent_decode_path(raw_emoji).ok_or_else(|| ApiError::bad_request("emoji is not valid percent-encoding"))?;
    let emoji = emoji::reaction(&decoded)?;
    let ch = postable(api, caller.user_id, id).await?;
    let event = reactions::remove(&api.sql, id, ch, caller.user_id, &emoji)
        .await?
        .ok_or_else(|| ApiError::not_found("reaction"))?;
    api.publish(&event).await;
    Ok(Response::no_content())
}

pub async fn pin<P: Ports>(api: &Api<P>, req: &Request, id: MessageId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let ch = postable(api, caller.user_id, id).await?;
    match reactions::pin(&api.sql, id, ch, caller.user_id).await? {
        Added::New(event) => {
            api.publish(&event).await;
            Ok(Response::created(json!({ "pin": event.data })))
        }
        Added::Exists => Err(ApiError::new(ErrorCode::Conflict, "the message is already pinned").into()),
        Added::Gone => Err(ApiError::not_found("message").into()),
        Added::UserCap | Added::KindCap => Err(ApiError::new(
            ErrorCode::Conflict,
            format!("a channel holds at most {} pins; unpin one first", reactions::MAX_PINS_PER_CHANNEL),
        )
        .into()),
    }
}

pub async fn unpin<P: Ports>(api: &Api<P>, req: &Request, id: MessageId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let ch = postable(api, caller.user_id, id).await?;
    let event = reactions::unpin(&api.sql, id, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("pin"))?;
    api.publish(&event).await;
    Ok(Response::no_content())
}

pub async fn pins<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_read_channel(&access)?;
    Ok(Response::ok(json!({ "pins": reactions::pinned(&api.sql, ch).await? })))
}
