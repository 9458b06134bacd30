//! Posting, history and the event backfill.

use ocomms_core::ids::{ChannelId, MessageId};
use ocomms_core::{ApiError, policy, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env, RoomPublisher, Sql};
use crate::repo::{channels, events, messages};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostBody {
    text: String,
    /// Idempotency key: a retry with the same key returns the stored message.
    #[serde(default)]
    client_msg_id: Option<String>,
}

pub async fn post<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ch: ChannelId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: PostBody = req.json()?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_post(&access)?;
    let text = validate::message_text(&body.text)?;
    let key = body.client_msg_id.as_deref().map(validate::client_msg_id).transpose()?;
    let id = MessageId::from_bytes(api.env.random_array());
    match messages::post(&api.sql, id, ch, caller.user_id, &text, key.as_deref()).await? {
        messages::Posted::New(event) => {
            // Only now, after the commit, does anyone else hear of it.
            api.publish(&event).await;
            Ok(Response::created(json!({ "message": event.data })))
        }
        messages::Posted::Existing(message) => Ok(Response::ok(json!({ "message": message }))),
    }
}

pub async fn history<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ch: ChannelId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let before = req.query_num::<i64>("before")?;
    let limit = validate::page_limit(req.query_num("limit")?)?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_read_channel(&access)?;
    let page = messages::history(&api.sql, ch, before, limit).await?;
    let next_before = (page.len() == limit as usize).then(|| page.first().and_then(|m| m["seq"].as_i64())).flatten();
    Ok(Response::ok(json!({ "messages": page, "next_before": next_before })))
}

pub async fn events<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    ch: ChannelId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let after = req.query_num::<i64>("after")?.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request("after must not be negative").into());
    }
    let limit = validate::page_limit(req.query_num("limit")?)?;
    let (channel, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_read_channel(&access)?;
    let mut list = events::after(&api.sql, ch, after, limit + 1).await?;
    let has_more = list.len() > limit as usize;
    list.truncate(limit as usize);
    Ok(Response::ok(json!({ "events": list, "has_more": has_more, "last_seq": channel.last_seq })))
}

pub async fn edit<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    id: MessageId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: EditBody = req.json()?;
    let (ch, author) = messages::locate(&api.sql, id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    policy::can_edit_message(&access, author == caller.user_id)?;
    let text = validate::message_text(&body.text)?;
    let event = messages::edit(&api.sql, id, ch, &text).await?.ok_or_else(|| ApiError::not_found("message"))?;
    api.publish(&event).await;
    Ok(Response::ok(json!({ "message": event.data })))
}

pub async fn delete<S: Sql, R: RoomPublisher, E: Env>(
    api: &Api<S, R, E>,
    req: &Request,
    id: MessageId,
) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let (ch, author) = messages::locate(&api.sql, id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    policy::can_delete_message(&access, author == caller.user_id)?;
    let event =
        messages::delete(&api.sql, id, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    api.publish(&event).await;
    Ok(Response::no_content())
}
