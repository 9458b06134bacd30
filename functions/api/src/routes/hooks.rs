//! `POST /hooks/{secret}`: Slack-compatible incoming webhooks. Scripts written for Slack
//! work by changing the URL: a JSON body or a `payload=` form, `text` in Slack's mrkdwn,
//! `blocks` and `attachments`, `username` / `icon_emoji` / `icon_url`, `thread_ts` and
//! `reply_broadcast`. Answers are Slack's too: `ok`, or a plain-text error code with its
//! status (`invalid_payload`, `no_text`, `no_service`, `channel_is_archived`, ...).

use ocomms_core::ids::{AppId, ChannelId, MessageId, UserId};
use ocomms_core::slack::{self, blocks, mrkdwn};
use ocomms_core::{emoji, mentions, validate};
use serde_json::{Map, Value, json};

use crate::Api;
use crate::error::Result;
use crate::http::{Method, Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::integrations as repo;
use crate::repo::messages::{self, Extras, NewMessage, Posted};

/// Slack's answer for a refused post: a status and a code, as plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
}

const fn refuse(status: u16, code: &'static str) -> Refusal {
    Refusal { status, code }
}

/// Longest `username` override, as Slack's display names.
const MAX_USERNAME_CHARS: usize = 80;

/// What a webhook asks to post, checked.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HookPost {
    /// Our markdown.
    pub text: String,
    pub blocks: Vec<Value>,
    pub attachments: Vec<Value>,
    pub username: Option<String>,
    pub icon_emoji: Option<String>,
    pub icon_url: Option<String>,
    pub thread_ts: Option<i64>,
    pub reply_broadcast: bool,
}

/// The JSON object a request carries: a JSON body, or a form whose `payload` field is one
/// (what Slack's own examples send with `curl -d payload=...`).
pub fn payload(content_type: Option<&str>, body: &[u8]) -> std::result::Result<Map<String, Value>, Refusal> {
    let invalid = refuse(400, "invalid_payload");
    let kind = content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let text = std::str::from_utf8(body).map_err(|_| invalid.clone())?;
    let json = if kind == "application/x-www-form-urlencoded" {
        let field = text
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == "payload")
            .and_then(|(_, v)| crate::http::percent_decode(v))
            .ok_or_else(|| invalid.clone())?;
        serde_json::from_str::<Value>(&field)
    } else {
        serde_json::from_str::<Value>(text)
    };
    match json {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(invalid),
    }
}

/// Checks a payload and turns its mrkdwn into our markdown.
pub fn parse(p: &Map<String, Value>) -> std::result::Result<HookPost, Refusal> {
    let invalid = || refuse(400, "invalid_payload");
    let string = |key: &str| match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid()),
    };
    let raw_text = string("text")?.unwrap_or("");
    let blocks = match p.get("blocks") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => blocks::normalize_blocks(v).map_err(|e| refuse(400, e.slack_code()))?,
    };
    let attachments = match p.get("attachments") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => blocks::normalize_attachments(v).map_err(|e| refuse(400, e.slack_code()))?,
    };
    let mut text = mrkdwn::to_markdown(raw_text);
    if text.trim().is_empty() {
        if blocks.is_empty() && attachments.is_empty() {
            return Err(refuse(400, "no_text"));
        }
        // As in Slack, blocks replace the text where the message is shown; the text is what
        // notifications and search use.
        text = if blocks.is_empty() { String::new() } else { blocks::fallback_text(&blocks, &[]) };
    }
    if text.len() > validate::MAX_MESSAGE_BYTES {
        return Err(refuse(400, "msg_too_long"));
    }
    if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Err(invalid());
    }
    let username = string("username")?.map(str::trim).filter(|u| !u.is_empty());
    if username.is_some_and(|u| u.chars().count() > MAX_USERNAME_CHARS || u.chars().any(char::is_control)) {
        return Err(invalid());
    }
    let icon_emoji = string("icon_emoji")?.map(str::trim).filter(|e| !e.is_empty());
    // A malformed one is dropped: Slack falls back to the app's icon.
    let icon_emoji = icon_emoji.filter(|e| e.starts_with(':')).and_then(|e| emoji::reaction(e).ok());
    let icon_url = string("icon_url")?.map(str::trim).filter(|u| is_web_url(u)).map(str::to_string);
    let thread_ts = match p.get("thread_ts") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(slack::parse_ts(s).ok_or_else(|| refuse(400, "invalid_thread_ts"))?),
        Some(Value::Number(n)) => {
            Some(slack::parse_ts(&n.to_string()).ok_or_else(|| refuse(400, "invalid_thread_ts"))?)
        }
        Some(_) => return Err(refuse(400, "invalid_thread_ts")),
    };
    let reply_broadcast = matches!(p.get("reply_broadcast"), Some(Value::Bool(true)));
    Ok(HookPost {
        text,
        blocks,
        attachments,
        username: username.map(str::to_string),
        icon_emoji,
        icon_url,
        thread_ts,
        reply_broadcast,
    })
}

/// `POST /hooks/{secret}`.
pub async fn incoming<P: Ports>(api: &Api<P>, req: &Request, secret: &str) -> Result<Response> {
    if req.method != Method::Post {
        return Ok(reply(&refuse(405, "invalid_method")).with_header("allow", "POST"));
    }
    match post(api, req, secret).await? {
        Ok(()) => Ok(text(200, "ok")),
        Err(r) if r.status == 429 => Ok(reply(&r).with_header("retry-after", "1")),
        Err(r) => Ok(reply(&r)),
    }
}

async fn post<P: Ports>(api: &Api<P>, req: &Request, secret: &str) -> Result<std::result::Result<(), Refusal>> {
    let Some(hook) = repo::hook_by_secret(&api.sql, &crate::auth::refresh::hash(secret)).await? else {
        return Ok(Err(refuse(404, "no_service")));
    };
    let parsed = payload(req.header("content-type"), &req.body).and_then(|p| parse(&p));
    let post = match parsed {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    if hook.channel_archived {
        return Ok(Err(refuse(410, "channel_is_archived")));
    }
    if !hook.bot_in_channel {
        // An admin removed the bot from the channel: the hook may no longer post there.
        return Ok(Err(refuse(403, "action_prohibited")));
    }
    if !repo::take_token(&api.sql, hook.hook).await? {
        return Ok(Err(refuse(429, "rate_limited")));
    }
    let thread_root = match thread_root(api, hook.channel, post.thread_ts).await? {
        Ok(root) => root,
        Err(r) => return Ok(Err(r)),
    };
    let poster = Poster { app: hook.app, app_name: &hook.app_name, bot: hook.bot };
    match publish(api, &poster, hook.channel, &post, thread_root).await? {
        Posted::New(event) => {
            api.publish(&event).await;
            Ok(Ok(()))
        }
        Posted::RootGone => Ok(Err(refuse(404, "thread_not_found"))),
        Posted::Existing(_) => Ok(Ok(())),
    }
}

/// The thread a `thread_ts` names in `channel`: a reply's ts names its thread, as in Slack.
pub(crate) async fn thread_root<P: Ports>(
    api: &Api<P>,
    channel: ChannelId,
    thread_ts: Option<i64>,
) -> Result<std::result::Result<Option<MessageId>, Refusal>> {
    let Some(ts) = thread_ts else { return Ok(Ok(None)) };
    Ok(match messages::by_ts(&api.sql, channel, ts).await? {
        Some((id, root)) => Ok(Some(root.unwrap_or(id))),
        None => Err(refuse(404, "thread_not_found")),
    })
}

/// An app posting through its bot.
pub(crate) struct Poster<'a> {
    pub app: AppId,
    pub app_name: &'a str,
    pub bot: UserId,
}

/// The name and icon a message of the app shows under.
pub(crate) fn bot_profile(poster: &Poster<'_>, post: &HookPost) -> Value {
    let mut bot = json!({ "app_id": poster.app, "name": post.username.as_deref().unwrap_or(poster.app_name) });
    if let Some(e) = &post.icon_emoji {
        bot["icon_emoji"] = json!(e);
    }
    if let Some(u) = &post.icon_url {
        bot["icon_url"] = json!(u);
    }
    bot
}

/// Stores what an app posts (already checked) in `channel`, under the name and icon it asked
/// for; the caller publishes the event.
pub(crate) async fn publish<P: Ports>(
    api: &Api<P>,
    poster: &Poster<'_>,
    channel: ChannelId,
    post: &HookPost,
    thread_root: Option<MessageId>,
) -> Result<Posted> {
    let extras = Extras {
        bot: Some(bot_profile(poster, post)),
        blocks: post.blocks.clone(),
        attachments: post.attachments.clone(),
    };
    let mentions = mentions::parse(&post.text);
    let new = NewMessage {
        id: MessageId::from_bytes(api.env.random_array()),
        channel,
        author: poster.bot,
        text: &post.text,
        client_msg_id: None,
        mentions: &mentions,
        thread_root,
        also_to_channel: thread_root.is_some() && post.reply_broadcast,
        files: &[],
        extras: Some(&extras),
    };
    Ok(messages::post(&api.sql, &new).await?)
}

/// A message from the app that only one user sees: sent to their open windows and never
/// stored, as Slack's ephemeral messages. Returns the message and its `ts`.
pub(crate) fn ephemeral<P: Ports>(
    api: &Api<P>,
    poster: &Poster<'_>,
    channel: ChannelId,
    post: &HookPost,
    thread_root: Option<MessageId>,
) -> (Value, String) {
    let now_ms = api.env.now_ms();
    let ts = slack::ts(now_ms * 1000);
    let message = json!({
        "id": MessageId::from_bytes(api.env.random_array()),
        "channel_id": channel,
        "author_id": poster.bot,
        "text": post.text,
        "ts": ts,
        "created_at_ms": now_ms,
        "thread_root_id": thread_root,
        "bot": bot_profile(poster, post),
        "blocks": post.blocks,
        "attachments": post.attachments,
        "ephemeral": true,
    });
    (message, ts)
}

/// An absolute http(s) URL of reasonable length, for an icon.
fn is_web_url(u: &str) -> bool {
    (u.starts_with("https://") || u.starts_with("http://"))
        && u.len() <= 3000
        && !u.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn text(status: u16, body: &str) -> Response {
    Response { status, headers: Vec::new(), body: body.as_bytes().to_vec() }
        .with_header("content-type", "text/plain; charset=utf-8")
}

fn reply(r: &Refusal) -> Response {
    text(r.status, r.code)
}

#[cfg(test)]
mod tests;
