//! Slash commands: `POST /channels/{id}/commands {command, text}` sends Slack's signed form
//! to the command's app and waits up to three seconds for its acknowledgement, which may
//! hold a message for the channel (`in_channel`, posted by the app's bot after the
//! invocation itself) or for the user alone (ephemeral, the default). Later answers come
//! through the `response_url` (`POST /hooks/response/{token}`): five within thirty minutes.

use ocomms_core::event::UserNotice;
use ocomms_core::ids::{ChannelId, MessageId};
use ocomms_core::slack::commands::{self, Reply};
use ocomms_core::slack::events::form_encode;
use ocomms_core::{ApiError, ErrorCode, mentions, policy, validate};
use serde::Deserialize;
use serde_json::{Value, json};

use super::authenticate;
use super::hooks::{self, HookPost, Poster};
use crate::Api;
use crate::deliver::signed_post;
use crate::error::Result;
use crate::http::{Method, Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::app_delivery::{self as repo, NewResponseUrl, ResponseUrlRefusal};
use crate::repo::messages::{self, NewMessage, Posted};
use crate::repo::{channels, users};

/// Where `response_url`s live: `/hooks/response/{token}`.
pub const RESPONSE_PATH: &str = "response/";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvokeBody {
    command: String,
    #[serde(default)]
    text: String,
    thread_root_id: Option<MessageId>,
}

/// `POST /channels/{id}/commands`.
pub async fn invoke<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    crate::limits::check(api, ocomms_core::limits::Limit::CommandUser, &caller.user_id.to_string()).await?;
    let body: InvokeBody = req.json()?;
    let name = commands::parse_name(&body.command).map_err(|e| ApiError::validation(e.to_string()))?;
    let text = if body.text.is_empty() { String::new() } else { validate::message_text(&body.text)? };
    let (channel, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_post(&access)?;
    if let Some(root) = body.thread_root_id {
        let found = messages::locate(&api.sql, root).await?.filter(|r| r.channel == ch && r.thread_root.is_none());
        found.ok_or_else(|| ApiError::not_found("thread root"))?;
    }
    let target = repo::command_target(&api.sql, channel.workspace_id, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("command /{name}")))?;
    let out = api
        .outbound
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this server sends nothing to apps"))?;
    let user = users::profile_for(&api.sql, caller.user_id, caller.user_id).await?;
    let user_name = user.map(|u| u.display_name).unwrap_or_default();

    let token = crate::auth::refresh::generate(api.env.random_array());
    repo::create_response_url(
        &api.sql,
        &NewResponseUrl {
            token_hash: crate::auth::refresh::hash(&token),
            app: target.app,
            channel: ch,
            user: caller.user_id,
            thread_root: body.thread_root_id,
            ttl_ms: commands::RESPONSE_URL_TTL_MS,
        },
    )
    .await?;
    // Where the invoking client reached us, which is where the app reaches us too (behind a
    // proxy, its Host and X-Forwarded-Proto).
    let response_url = format!("{}/hooks/{RESPONSE_PATH}{token}", req.origin());
    let trigger_id = format!("{}.{}", api.env.now_ms(), hex(&api.env.random_array::<8>()));
    let channel_name = if channel.kind == policy::ChannelKind::Dm { "directmessage" } else { &channel.name };
    let form = form_encode(&[
        ("token", ""),
        ("team_id", &channel.workspace_id.to_string()),
        ("team_domain", &target.workspace_name),
        ("channel_id", &ch.to_string()),
        ("channel_name", channel_name),
        ("user_id", &caller.user_id.to_string()),
        ("user_name", &user_name),
        ("command", &format!("/{name}")),
        ("text", &text),
        ("api_app_id", &target.app.to_string()),
        ("is_enterprise_install", "false"),
        ("response_url", &response_url),
        ("trigger_id", &trigger_id),
    ]);
    let sent = signed_post(
        api,
        out,
        &target.url,
        &target.signing_secret,
        "application/x-www-form-urlencoded",
        form.as_bytes(),
        None,
    )
    .await;
    let failed = |code: &str, why: String| {
        ApiError::new(ErrorCode::Unavailable, format!("/{name} failed with the error \"{code}\": {why}"))
    };
    let reply = match sent {
        Ok(r) if (200..300).contains(&r.status) => r,
        Ok(r) => return Err(failed("http_service_error", format!("the app answered HTTP {}", r.status)).into()),
        Err(crate::ports::OutError::Timeout) => {
            return Err(failed("operation_timeout", "the app did not answer within 3 seconds".into()).into());
        }
        Err(e) => return Err(failed("dispatch_failed", e.to_string()).into()),
    };
    let parsed = commands::parse_reply(reply.header("content-type"), &reply.body)
        .map_err(|e| failed("invalid_response", e.to_string()))?;
    let poster = Poster { app: target.app, app_name: &target.app_name, bot: target.bot };
    match parsed {
        Reply::Nothing => Ok(Response::ok(json!({ "response_type": null }))),
        Reply::Message { in_channel, payload } => {
            let post = hooks::parse(&payload).map_err(|r| failed("invalid_response", r.code.to_string()))?;
            if in_channel {
                // As in Slack, the channel sees what was typed, then the answer.
                let typed = if text.is_empty() { format!("/{name}") } else { format!("/{name} {text}") };
                post_as_user(api, caller.user_id, ch, &typed, body.thread_root_id).await?;
                let message = post_as_app(api, &poster, ch, &post, body.thread_root_id).await?;
                Ok(Response::ok(json!({ "response_type": "in_channel", "message": message })))
            } else {
                let (message, _) = hooks::ephemeral(api, &poster, ch, &post, body.thread_root_id);
                api.notify(caller.user_id, UserNotice::Ephemeral { message: message.clone() }).await;
                Ok(Response::ok(json!({ "response_type": "ephemeral", "message": message })))
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn post_as_user<P: Ports>(
    api: &Api<P>,
    user: ocomms_core::ids::UserId,
    ch: ChannelId,
    text: &str,
    root: Option<MessageId>,
) -> Result<()> {
    let found = mentions::parse(text);
    let new = NewMessage {
        id: MessageId::from_bytes(api.env.random_array()),
        channel: ch,
        author: user,
        text,
        client_msg_id: None,
        mentions: &found,
        thread_root: root,
        also_to_channel: false,
        files: &[],
        extras: None,
    };
    if let Posted::New(event) = messages::post(&api.sql, &new).await? {
        api.publish(&event).await;
    }
    Ok(())
}

async fn post_as_app<P: Ports>(
    api: &Api<P>,
    poster: &Poster<'_>,
    ch: ChannelId,
    post: &HookPost,
    root: Option<MessageId>,
) -> Result<Option<Value>> {
    match hooks::publish(api, poster, ch, post, root).await? {
        Posted::New(event) => {
            let data = event.data.clone();
            api.publish(&event).await;
            Ok(Some(data))
        }
        _ => Ok(None),
    }
}

/// `POST /hooks/response/{token}`: an app's later answer to a command, as Slack takes it
/// (`text`, `blocks`, `attachments`, `response_type`, `thread_ts`); answers `ok` or Slack's
/// error codes (`expired_url`, `used_url`, `no_service`).
pub async fn respond<P: Ports>(api: &Api<P>, req: &Request, token: &str) -> Result<Response> {
    if req.method != Method::Post {
        return Ok(slack_text(405, "invalid_method").with_header("allow", "POST"));
    }
    let payload = match hooks::payload(req.header("content-type"), &req.body) {
        Ok(p) => p,
        Err(r) => return Ok(slack_text(r.status, r.code)),
    };
    let post = match hooks::parse(&payload) {
        Ok(p) => p,
        Err(r) => return Ok(slack_text(r.status, r.code)),
    };
    let in_channel = payload.get("response_type").and_then(Value::as_str) == Some("in_channel");
    let target = match repo::use_response_url(&api.sql, &crate::auth::refresh::hash(token), commands::RESPONSE_URL_USES)
        .await?
    {
        Ok(t) => t,
        Err(ResponseUrlRefusal::Unknown) => return Ok(slack_text(404, "no_service")),
        Err(ResponseUrlRefusal::Expired) => return Ok(slack_text(404, "expired_url")),
        Err(ResponseUrlRefusal::UsedUp) => return Ok(slack_text(429, "used_url")),
    };
    // The invoking user may have left the channel since: nothing is shown to a non-member.
    let Some((_, access)) = channels::access(&api.sql, target.channel, target.user).await? else {
        return Ok(slack_text(404, "channel_not_found"));
    };
    if access.archived {
        return Ok(slack_text(410, "channel_is_archived"));
    }
    if !access.is_channel_member {
        return Ok(slack_text(403, "action_prohibited"));
    }
    let root = match post.thread_ts {
        Some(_) => match hooks::thread_root(api, target.channel, post.thread_ts).await? {
            Ok(r) => r,
            Err(r) => return Ok(slack_text(r.status, r.code)),
        },
        None => target.thread_root,
    };
    let poster = Poster { app: target.app, app_name: &target.app_name, bot: target.bot };
    if in_channel {
        post_as_app(api, &poster, target.channel, &post, root).await?;
    } else {
        let (message, _) = hooks::ephemeral(api, &poster, target.channel, &post, root);
        api.notify(target.user, UserNotice::Ephemeral { message }).await;
    }
    Ok(slack_text(200, "ok"))
}

fn slack_text(status: u16, body: &str) -> Response {
    Response { status, headers: Vec::new(), body: body.as_bytes().to_vec() }
        .with_header("content-type", "text/plain; charset=utf-8")
}
