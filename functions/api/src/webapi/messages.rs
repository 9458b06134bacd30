//! Methods on one message, named as Slack names them (`channel` and `ts`): updating and
//! deleting it, reading its thread, reacting and pinning. The bot may do to a message what a
//! member may: edit and delete its own, react and pin where it may post.

use ocomms_core::event::UserNotice;
use ocomms_core::ids::{MessageId, UserId};
use ocomms_core::slack::scopes::{self, ChannelUse};
use ocomms_core::{emoji, mentions, policy, slack};
use serde_json::{Value, json};

use super::methods::{need, page_size, visible_channel};
use super::params::Params;
use super::{Fail, Outcome, shapes};
use crate::Api;
use crate::ports::Ports;
use crate::repo::channels::Channel;
use crate::repo::integrations::BotCaller;
use crate::repo::messages;
use crate::repo::reactions::{self, Added};
use crate::routes::hooks::{self, Poster};

/// The message the `ts` (or `timestamp`) argument names in the channel, and its author.
async fn message_at<P: Ports>(
    api: &Api<P>,
    channel: &Channel,
    p: &Params,
    arg: &str,
) -> Result<(MessageId, Option<MessageId>), Fail> {
    let ts = p.str(arg).and_then(|t| slack::parse_ts(&t)).ok_or(Fail::Slack("message_not_found"))?;
    messages::by_ts(&api.sql, channel.id, ts).await?.ok_or(Fail::Slack("message_not_found"))
}

pub async fn update<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "chat:write")?;
    let (channel, access) = visible_channel(api, bot, p).await?;
    let (id, _) = message_at(api, &channel, p, "ts").await?;
    let found = messages::locate(&api.sql, id).await?.ok_or(Fail::Slack("message_not_found"))?;
    policy::can_edit_message(&access, found.author == bot.bot).map_err(|_| Fail::Slack("cant_update_message"))?;
    // As chat.postMessage takes them: text, blocks, attachments; the ones given replace.
    let fields = p.object();
    let post = hooks::parse(&fields).map_err(|r| Fail::Slack(r.code))?;
    let given = |key: &str| fields.get(key).is_some_and(|v| !v.is_null());
    let replaced = messages::Replaced {
        blocks: given("blocks").then(|| post.blocks.clone()),
        attachments: given("attachments").then(|| post.attachments.clone()),
    };
    let text = post.text;
    let event = messages::edit(&api.sql, id, channel.id, &text, &mentions::parse(&text), &replaced)
        .await?
        .ok_or(Fail::Slack("message_not_found"))?;
    api.publish(&event).await;
    let shaped = shapes::message(&event.data, None);
    Ok(json!({ "channel": channel.id, "ts": event.data["ts"], "text": shaped["text"], "message": shaped }))
}

pub async fn delete<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "chat:write")?;
    let (channel, access) = visible_channel(api, bot, p).await?;
    let (id, _) = message_at(api, &channel, p, "ts").await?;
    let found = messages::locate(&api.sql, id).await?.ok_or(Fail::Slack("message_not_found"))?;
    policy::can_delete_message(&access, found.author == bot.bot).map_err(|_| Fail::Slack("cant_delete_message"))?;
    let event = messages::delete(&api.sql, id, channel.id, bot.bot).await?.ok_or(Fail::Slack("message_not_found"))?;
    api.publish(&event).await;
    crate::routes::files::collect_garbage(api).await;
    Ok(json!({ "channel": channel.id, "ts": p.str("ts") }))
}

/// A thread, root first, then its replies oldest first.
pub async fn replies<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    let (channel, _) = visible_channel(api, bot, p).await?;
    need(bot, scopes::for_channel(channel.kind, ChannelUse::History))?;
    let ts = p.str("ts").and_then(|t| slack::parse_ts(&t)).ok_or(Fail::Slack("thread_not_found"))?;
    let (id, parent) = messages::by_ts(&api.sql, channel.id, ts).await?.ok_or(Fail::Slack("thread_not_found"))?;
    let root = parent.unwrap_or(id);
    let limit = page_size(p)?;
    let after: i64 = match super::methods::cursor_in(p)? {
        Some(c) => c.parse().map_err(|_| Fail::Slack("invalid_cursor"))?,
        None => 0,
    };
    let page_plus_one = u32::try_from(limit + 1).unwrap_or(u32::MAX);
    let thread = messages::thread(&api.sql, root, bot.bot, after, page_plus_one)
        .await?
        .ok_or(Fail::Slack("thread_not_found"))?;
    let mut list = thread.replies;
    let has_more = list.len() as i64 > limit;
    list.truncate(usize::try_from(limit).unwrap_or(0));
    let next = has_more.then(|| list.last().and_then(|m| m["seq"].as_i64()).map(|s| s.to_string())).flatten();
    let root_ts = thread.root["ts"].as_str().unwrap_or("").to_string();
    let mut out: Vec<Value> = Vec::with_capacity(list.len() + 1);
    if after == 0 {
        out.push(shapes::message(&thread.root, None));
    }
    out.extend(list.iter().map(|m| shapes::message(m, Some(&root_ts))));
    Ok(json!({ "messages": out, "has_more": has_more, "response_metadata": super::methods::metadata(next) }))
}

/// The channel's members' ids, in pages.
pub async fn members<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    let (channel, _) = visible_channel(api, bot, p).await?;
    need(bot, scopes::for_channel(channel.kind, ChannelUse::Read))?;
    let limit = page_size(p)?;
    let after =
        super::methods::cursor_in(p)?.map(|c| c.parse().map_err(|_| Fail::Slack("invalid_cursor"))).transpose()?;
    let page_plus_one = u32::try_from(limit + 1).unwrap_or(u32::MAX);
    let mut list = crate::repo::channels::members(&api.sql, channel.id, after, page_plus_one).await?;
    let more = list.len() as i64 > limit;
    list.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more.then(|| list.last().map(|m| m.user_id.to_string())).flatten();
    Ok(json!({
        "members": list.iter().map(|m| m.user_id).collect::<Vec<_>>(),
        "response_metadata": super::methods::metadata(next),
    }))
}

/// Reacting and pinning are contributions: where the bot may post.
async fn contributable<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Result<(Channel, MessageId), Fail> {
    let (channel, access) = visible_channel(api, bot, p).await?;
    if access.archived {
        return Err(Fail::Slack("is_archived"));
    }
    policy::can_post(&access).map_err(|_| Fail::Slack("not_in_channel"))?;
    let arg = if p.str("timestamp").is_some() { "timestamp" } else { "ts" };
    let (id, _) = message_at(api, &channel, p, arg).await?;
    Ok((channel, id))
}

/// Slack names an emoji without colons (`thumbsup`); we store `:thumbsup:`.
fn reaction_name(p: &Params) -> Result<String, Fail> {
    let name = p.str("name").ok_or(Fail::Slack("invalid_name"))?;
    emoji::reaction(&format!(":{}:", name.trim_matches(':'))).map_err(|_| Fail::Slack("invalid_name"))
}

pub async fn react<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "reactions:write")?;
    let name = reaction_name(p)?;
    let (channel, id) = contributable(api, bot, p).await?;
    match reactions::add(&api.sql, id, channel.id, bot.bot, &name).await? {
        Added::New(event) => {
            api.publish(&event).await;
            Ok(json!({}))
        }
        Added::Exists => Err(Fail::Slack("already_reacted")),
        Added::Gone => Err(Fail::Slack("message_not_found")),
        Added::UserCap | Added::KindCap => Err(Fail::Slack("too_many_reactions")),
    }
}

pub async fn unreact<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "reactions:write")?;
    let name = reaction_name(p)?;
    let (channel, id) = contributable(api, bot, p).await?;
    let event = reactions::remove(&api.sql, id, channel.id, bot.bot, &name).await?.ok_or(Fail::Slack("no_reaction"))?;
    api.publish(&event).await;
    Ok(json!({}))
}

pub async fn pin<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "pins:write")?;
    let (channel, id) = contributable(api, bot, p).await?;
    match reactions::pin(&api.sql, id, channel.id, bot.bot).await? {
        Added::New(event) => {
            api.publish(&event).await;
            Ok(json!({}))
        }
        Added::Exists => Err(Fail::Slack("already_pinned")),
        Added::Gone => Err(Fail::Slack("message_not_found")),
        Added::UserCap | Added::KindCap => Err(Fail::Slack("too_many_pins")),
    }
}

/// A message only `user` sees, in a channel they and the bot are in: sent to their open
/// windows and never stored, as Slack's ephemeral messages.
pub async fn post_ephemeral<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "chat:write")?;
    let (channel, access) = visible_channel(api, bot, p).await?;
    if access.archived {
        return Err(Fail::Slack("is_archived"));
    }
    policy::can_post(&access).map_err(|_| Fail::Slack("not_in_channel"))?;
    let user: UserId = p.str("user").and_then(|u| u.parse().ok()).ok_or(Fail::Slack("user_not_found"))?;
    let (_, theirs) =
        crate::repo::channels::access(&api.sql, channel.id, user).await?.ok_or(Fail::Slack("user_not_found"))?;
    if !theirs.is_channel_member {
        return Err(Fail::Slack("user_not_in_channel"));
    }
    let post = hooks::parse(&p.object()).map_err(|r| Fail::Slack(r.code))?;
    let root = hooks::thread_root(api, channel.id, post.thread_ts).await?.map_err(|r| Fail::Slack(r.code))?;
    let poster = Poster { app: bot.app, app_name: &bot.app_name, bot: bot.bot };
    let (message, ts) = hooks::ephemeral(api, &poster, channel.id, &post, root);
    api.notify(user, UserNotice::Ephemeral { message }).await;
    Ok(json!({ "message_ts": ts }))
}
