//! Posting, threads, history and the event backfill.

use ocomms_core::ids::{ChannelId, FileId, MessageId, UserId};
use ocomms_core::{ApiError, files, mentions, policy, validate};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{authenticate, session_in_channel, token_caller};
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::{channels, events, messages};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostBody {
    /// May be empty when files are attached.
    #[serde(default)]
    text: String,
    /// Uploaded files to attach (`POST /channels/{id}/files`), shown in this order.
    #[serde(default)]
    file_ids: Vec<FileId>,
    /// Idempotency key: a retry with the same key returns the stored message.
    #[serde(default)]
    client_msg_id: Option<String>,
    /// Makes the message a reply in this root's thread.
    #[serde(default)]
    thread_root_id: Option<MessageId>,
    /// A reply that also shows in the channel's timeline.
    #[serde(default)]
    also_to_channel: bool,
}

pub async fn post<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    // The token (no database), the body, then one statement for the session, the channel
    // and an earlier post with the same client_msg_id.
    let caller = token_caller(api, req)?;
    let body: PostBody = req.json()?;
    let key = body.client_msg_id.as_deref().map(validate::client_msg_id).transpose()?;
    let found = session_in_channel(api, &caller, ch, key.as_deref()).await?;
    let (_, access) = found.access.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_post(&access)?;
    // A retry of a post that went through: its files are attached by now.
    if let Some(m) = found.earlier {
        return Ok(Response::ok(json!({ "message": m })));
    }
    // Counted after the retry check: resending a stored post costs nothing.
    crate::limits::check(api, ocomms_core::limits::Limit::PostUser, &caller.user_id.to_string()).await?;
    let text = if body.text.is_empty() && !body.file_ids.is_empty() {
        String::new()
    } else {
        validate::message_text(&body.text)?
    };
    check_files(api, &body.file_ids, ch, caller.user_id).await?;
    if body.also_to_channel && body.thread_root_id.is_none() {
        return Err(ApiError::validation("also_to_channel applies to thread replies only").into());
    }
    if let Some(root) = body.thread_root_id {
        let found = messages::locate(&api.sql, root).await?.filter(|r| r.channel == ch);
        let root = found.ok_or_else(|| ApiError::not_found("thread root"))?;
        if root.thread_root.is_some() {
            return Err(ApiError::validation("replies to replies are not allowed: reply to the thread's root").into());
        }
    }
    let mentions = mentions::parse(&text);
    let new = messages::NewMessage {
        id: MessageId::from_bytes(api.env.random_array()),
        channel: ch,
        author: caller.user_id,
        text: &text,
        client_msg_id: key.as_deref(),
        mentions: &mentions,
        thread_root: body.thread_root_id,
        also_to_channel: body.also_to_channel,
        files: &body.file_ids,
        extras: None,
    };
    match messages::post(&api.sql, &new).await? {
        messages::Posted::New(event) => {
            // Only now, after the commit, does anyone else hear of it.
            api.publish(&event).await;
            Ok(Response::created(json!({ "message": event.data })))
        }
        messages::Posted::Existing(message) => Ok(Response::ok(json!({ "message": message }))),
        messages::Posted::RootGone => Err(ApiError::not_found("thread root").into()),
    }
}

/// Files a message may carry: at most ten, distinct, uploaded by the author to this channel
/// and not sent yet.
async fn check_files<P: Ports>(api: &Api<P>, ids: &[FileId], ch: ChannelId, author: UserId) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    if ids.len() > files::MAX_FILES_PER_MESSAGE {
        return Err(
            ApiError::validation(format!("a message carries at most {} files", files::MAX_FILES_PER_MESSAGE)).into()
        );
    }
    let distinct: std::collections::BTreeSet<_> = ids.iter().collect();
    if distinct.len() != ids.len() {
        return Err(ApiError::validation("file_ids must not repeat a file").into());
    }
    if crate::repo::files::sendable(&api.sql, ids, ch, author).await? != ids.len() {
        return Err(ApiError::new(
            ocomms_core::ErrorCode::NotFound,
            "file_ids must be files you uploaded to this channel, completed and not sent yet",
        )
        .into());
    }
    Ok(())
}

/// A thread: the root and a page of replies after `after` (a seq), oldest first.
pub async fn thread<P: Ports>(api: &Api<P>, req: &Request, id: MessageId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let after = req.query_num::<i64>("after")?.unwrap_or(0);
    let limit = validate::page_limit(req.query_num("limit")?)?;
    readable_root(api, caller.user_id, id).await?;
    let t = messages::thread(&api.sql, id, caller.user_id, after, limit + 1)
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    let mut replies = t.replies;
    let has_more = replies.len() > limit as usize;
    replies.truncate(limit as usize);
    Ok(Response::ok_fields([
        ("root", t.root),
        ("replies", Value::Array(replies)),
        ("has_more", Value::Bool(has_more)),
        ("following", Value::Bool(t.following)),
    ]))
}

/// Follows (`PUT`) or unfollows (`DELETE`) a thread.
pub async fn follow<P: Ports>(api: &Api<P>, req: &Request, id: MessageId, following: bool) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    readable_root(api, caller.user_id, id).await?;
    messages::set_following(&api.sql, id, caller.user_id, following).await?;
    Ok(Response::ok(json!({ "following": following })))
}

/// A thread root the caller may read; replies are not roots (422), hidden ones 404.
async fn readable_root<P: Ports>(
    api: &Api<P>,
    user: ocomms_core::ids::UserId,
    id: MessageId,
) -> Result<messages::Located> {
    let root = messages::locate_root(&api.sql, id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    let (_, access) =
        channels::access(&api.sql, root.channel, user).await?.ok_or_else(|| ApiError::not_found("message"))?;
    policy::can_read_channel(&access)
        .map_err(|e| if e.status() == 404 { ApiError::not_found("message") } else { e })?;
    if root.thread_root.is_some() {
        return Err(ApiError::validation("this message is a reply; open its root's thread").into());
    }
    Ok(root)
}

pub async fn history<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let before = req.query_num::<i64>("before")?;
    let limit = validate::page_limit(req.query_num("limit")?)?;
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_read_channel(&access)?;
    let page = messages::history(&api.sql, ch, before, limit).await?;
    /// The body, with the page spliced in as PostgreSQL wrote it.
    #[derive(serde::Serialize)]
    struct Body<'a> {
        messages: &'a RawValue,
        next_before: Option<i64>,
    }
    let next_before = if page.len == limit as usize { page.oldest_seq } else { None };
    Ok(Response::ok_serialized(&Body { messages: &page.messages, next_before }))
}

pub async fn events<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
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

pub async fn edit<P: Ports>(api: &Api<P>, req: &Request, id: MessageId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: EditBody = req.json()?;
    let found = messages::locate(&api.sql, id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    let (ch, author) = (found.channel, found.author);
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    policy::can_edit_message(&access, author == caller.user_id)?;
    let text = validate::message_text(&body.text)?;
    let mentions = mentions::parse(&text);
    let event = messages::edit(&api.sql, id, ch, &text, &mentions, &messages::Replaced::default())
        .await?
        .ok_or_else(|| ApiError::not_found("message"))?;
    api.publish(&event).await;
    Ok(Response::ok(json!({ "message": event.data })))
}

pub async fn delete<P: Ports>(api: &Api<P>, req: &Request, id: MessageId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let found = messages::locate(&api.sql, id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    let (ch, author) = (found.channel, found.author);
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    policy::can_delete_message(&access, author == caller.user_id)?;
    let event =
        messages::delete(&api.sql, id, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("message"))?;
    api.publish(&event).await;
    // Its files went with it: their objects leave storage now.
    super::files::collect_garbage(api).await;
    Ok(Response::no_content())
}
