//! The methods. Each checks its scope, then what the bot may see or do as a member of the
//! workspace (the same policy as for people), then answers in Slack's shape.

use ocomms_core::ids::{ChannelId, UserId};
use ocomms_core::policy::{self, ChannelKind, Role};
use ocomms_core::slack::scopes::ChannelUse;
use ocomms_core::slack::{self, scopes};
use serde_json::{Value, json};

use super::params::Params;
use super::{Fail, Outcome, shapes};
use crate::Api;
use crate::ports::Ports;
use crate::repo::channels::{self, Channel};
use crate::repo::integrations::BotCaller;
use crate::repo::messages::{self, Posted};
use crate::repo::{members, workspaces};
use crate::routes::hooks::{self, Poster};

/// Most items one page holds; Slack's default is 100 and its maximum 1000.
const MAX_PAGE: i64 = 200;
const DEFAULT_PAGE: i64 = 100;

pub async fn run<P: Ports>(api: &Api<P>, bot: &BotCaller, name: &str, p: &Params) -> Outcome {
    match name {
        "auth.test" => auth_test(api, bot).await,
        "chat.postMessage" => post_message(api, bot, p).await,
        "chat.update" => super::messages::update(api, bot, p).await,
        "chat.postEphemeral" => super::messages::post_ephemeral(api, bot, p).await,
        "chat.delete" => super::messages::delete(api, bot, p).await,
        "conversations.replies" => super::messages::replies(api, bot, p).await,
        "conversations.members" => super::messages::members(api, bot, p).await,
        "reactions.add" => super::messages::react(api, bot, p).await,
        "reactions.remove" => super::messages::unreact(api, bot, p).await,
        "pins.add" => super::messages::pin(api, bot, p).await,
        "conversations.list" => conversations_list(api, bot, p).await,
        "conversations.info" => conversations_info(api, bot, p).await,
        "conversations.join" => conversations_join(api, bot, p).await,
        "conversations.history" => conversations_history(api, bot, p).await,
        "users.info" => users_info(api, bot, p).await,
        "users.list" => users_list(api, bot, p).await,
        _ => Err(Fail::Slack("unknown_method")),
    }
}

pub(super) fn need(bot: &BotCaller, scope: &'static str) -> Result<(), Fail> {
    scopes::require(&bot.scopes, scope).map_err(Fail::MissingScope)
}

pub(super) fn page_size(p: &Params) -> Result<i64, Fail> {
    match p.int("limit").map_err(|_| Fail::Slack("invalid_limit"))? {
        None | Some(0) => Ok(DEFAULT_PAGE),
        Some(n) if n < 0 => Err(Fail::Slack("invalid_limit")),
        Some(n) => Ok(n.min(MAX_PAGE)),
    }
}

/// Slack's opaque cursors: here the base64 of what the next page starts after.
fn cursor_out(after: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(after)
}

pub(super) fn cursor_in(p: &Params) -> Result<Option<String>, Fail> {
    use base64::Engine as _;
    let Some(c) = p.str("cursor") else { return Ok(None) };
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).map_err(|_| Fail::Slack("invalid_cursor"))?;
    String::from_utf8(bytes).map(Some).map_err(|_| Fail::Slack("invalid_cursor"))
}

pub(super) fn metadata(next: Option<String>) -> Value {
    json!({ "next_cursor": next.map(|n| cursor_out(&n)).unwrap_or_default() })
}

/// The channel named by the `channel` argument, if the bot may see it: a channel of
/// another workspace, a private one it is not in, or a malformed id are all not found.
pub(super) async fn visible_channel<P: Ports>(
    api: &Api<P>,
    bot: &BotCaller,
    p: &Params,
) -> Result<(Channel, policy::ChannelAccess), Fail> {
    let raw = p.str("channel").ok_or(Fail::Slack("channel_not_found"))?;
    let id: ChannelId = raw.parse().map_err(|_| Fail::Slack("channel_not_found"))?;
    let (channel, access) = channels::access(&api.sql, id, bot.bot).await?.ok_or(Fail::Slack("channel_not_found"))?;
    if channel.workspace_id != bot.workspace || policy::can_read_channel(&access).is_err() {
        return Err(Fail::Slack("channel_not_found"));
    }
    Ok((channel, access))
}

async fn auth_test<P: Ports>(api: &Api<P>, bot: &BotCaller) -> Outcome {
    let team = workspaces::details(&api.sql, bot.workspace, bot.bot).await?.map(|d| d.name).unwrap_or_default();
    Ok(json!({
        "url": format!("{}/", api.config.public_url),
        "team": team,
        "user": bot.app_name,
        "team_id": bot.workspace,
        "user_id": bot.bot,
        "bot_id": bot.app,
        "app_id": bot.app,
        "is_enterprise_install": false,
    }))
}

async fn post_message<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "chat:write")?;
    // A bot posts under the same limit as a person.
    crate::limits::check(api, ocomms_core::limits::Limit::PostUser, &bot.bot.to_string()).await?;
    let (channel, access) = visible_channel(api, bot, p).await?;
    if access.archived {
        return Err(Fail::Slack("is_archived"));
    }
    if policy::can_post(&access).is_err() {
        return Err(Fail::Slack("not_in_channel"));
    }
    let post = hooks::parse(&p.object()).map_err(|r| Fail::Slack(r.code))?;
    let root = hooks::thread_root(api, channel.id, post.thread_ts).await?.map_err(|r| Fail::Slack(r.code))?;
    let poster = Poster { app: bot.app, app_name: &bot.app_name, bot: bot.bot };
    let message = match hooks::publish(api, &poster, channel.id, &post, root).await? {
        Posted::New(event) => {
            api.publish(&event).await;
            event.data
        }
        Posted::Existing(m) => m,
        Posted::RootGone => return Err(Fail::Slack("thread_not_found")),
    };
    let root_ts = match post.thread_ts {
        Some(_) => root_ts(api, &message).await?,
        None => None,
    };
    Ok(json!({ "channel": channel.id, "ts": message["ts"], "message": shapes::message(&message, root_ts.as_deref()) }))
}

/// The ts of a reply's root.
async fn root_ts<P: Ports>(api: &Api<P>, reply: &Value) -> Result<Option<String>, Fail> {
    let Some(root) = reply["thread_root_id"].as_str().and_then(|r| r.parse().ok()) else { return Ok(None) };
    Ok(messages::ts_of(&api.sql, root).await?)
}

async fn conversations_list<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    let types = p.str("types").unwrap_or_else(|| "public_channel".into());
    let mut kinds = Vec::new();
    for t in types.split(',').map(str::trim) {
        let kind = match t {
            "public_channel" => ChannelKind::Public,
            "private_channel" => ChannelKind::Private,
            "im" => ChannelKind::Dm,
            "mpim" => continue,
            _ => return Err(Fail::Slack("invalid_types")),
        };
        need(bot, scopes::for_channel(kind, ChannelUse::Read))?;
        kinds.push(kind);
    }
    let limit = page_size(p)?;
    let after = cursor_in(p)?;
    let exclude_archived = p.flag("exclude_archived");
    let all = channels::list_visible(&api.sql, bot.workspace, bot.bot, Role::Member).await?;
    let mut wanted: Vec<&Channel> = all
        .iter()
        .filter(|c| kinds.contains(&c.kind) && !(exclude_archived && c.archived))
        .filter(|c| after.as_deref().is_none_or(|a| c.id.to_string().as_str() > a))
        .collect();
    wanted.sort_by_key(|c| c.id.to_string());
    let more = wanted.len() as i64 > limit;
    wanted.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more.then(|| wanted.last().map(|c| c.id.to_string())).flatten();
    Ok(json!({
        "channels": wanted.into_iter().map(shapes::conversation).collect::<Vec<_>>(),
        "response_metadata": metadata(next),
    }))
}

async fn conversations_info<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    let (channel, _) = visible_channel(api, bot, p).await?;
    need(bot, scopes::for_channel(channel.kind, ChannelUse::Read))?;
    let full = channels::read(&api.sql, channel.id, bot.bot).await?.ok_or(Fail::Slack("channel_not_found"))?;
    Ok(json!({ "channel": shapes::conversation(&full) }))
}

/// Joins a public channel, as a member would (`channels:join`).
async fn conversations_join<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "channels:join")?;
    let (channel, access) = visible_channel(api, bot, p).await?;
    if access.archived {
        return Err(Fail::Slack("is_archived"));
    }
    if !access.is_channel_member {
        if policy::can_join(&access).is_err() {
            return Err(Fail::Slack("method_not_supported_for_channel_type"));
        }
        if let Some(event) = channels::join(&api.sql, channel.id, bot.bot).await? {
            api.publish(&event).await;
        }
    }
    let full = channels::read(&api.sql, channel.id, bot.bot).await?.ok_or(Fail::Slack("channel_not_found"))?;
    Ok(json!({ "channel": shapes::conversation(&full) }))
}

async fn conversations_history<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    let (channel, _) = visible_channel(api, bot, p).await?;
    need(bot, scopes::for_channel(channel.kind, ChannelUse::History))?;
    let ts_arg = |name: &str| -> Result<Option<i64>, Fail> {
        p.str(name).map(|s| slack::parse_ts(&s).ok_or(Fail::Slack("invalid_ts_latest"))).transpose()
    };
    let inclusive = p.flag("inclusive");
    let oldest = ts_arg("oldest")?.unwrap_or(0);
    // A cursor continues below the last message of the previous page, exclusively.
    let (latest, inclusive) = match cursor_in(p)? {
        Some(c) => (c.parse::<i64>().map_err(|_| Fail::Slack("invalid_cursor"))?, false),
        None => (ts_arg("latest")?.unwrap_or(i64::MAX), inclusive),
    };
    let limit = page_size(p)?;
    let page_plus_one = u32::try_from(limit + 1).unwrap_or(u32::MAX);
    let mut list = messages::history_by_ts(&api.sql, channel.id, oldest, latest, inclusive, page_plus_one).await?;
    let has_more = list.len() as i64 > limit;
    list.truncate(usize::try_from(limit).unwrap_or(0));
    let next = has_more
        .then(|| list.last().and_then(|m| m["ts"].as_str().and_then(slack::parse_ts)).map(|t| t.to_string()))
        .flatten();
    let shaped: Vec<Value> = list.iter().map(|m| shapes::message(m, None)).collect();
    Ok(json!({ "messages": shaped, "has_more": has_more, "response_metadata": metadata(next) }))
}

async fn users_info<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "users:read")?;
    let id: UserId = p.str("user").and_then(|u| u.parse().ok()).ok_or(Fail::Slack("user_not_found"))?;
    let m = members::one(&api.sql, bot.workspace, id).await?.ok_or(Fail::Slack("user_not_found"))?;
    Ok(json!({ "user": shapes::user(&m, bot.workspace) }))
}

async fn users_list<P: Ports>(api: &Api<P>, bot: &BotCaller, p: &Params) -> Outcome {
    need(bot, "users:read")?;
    let limit = page_size(p)?;
    let after: Option<UserId> =
        cursor_in(p)?.map(|c| c.parse().map_err(|_| Fail::Slack("invalid_cursor"))).transpose()?;
    let page_plus_one = u32::try_from(limit + 1).unwrap_or(u32::MAX);
    let mut list = members::list(&api.sql, bot.workspace, true, after, page_plus_one).await?;
    let more = list.len() as i64 > limit;
    list.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more.then(|| list.last().map(|m| m.user_id.to_string())).flatten();
    Ok(json!({
        "members": list.iter().map(|m| shapes::user(m, bot.workspace)).collect::<Vec<_>>(),
        "response_metadata": metadata(next),
    }))
}
