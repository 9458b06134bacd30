//! What apps receive, set up by workspace admins: event subscriptions (whose URL must answer
//! Slack's `url_verification` challenge first), slash commands, outgoing webhooks, and the
//! delivery log. Members list the commands, for the composer's autocompletion.

use ocomms_core::ids::{AppId, ChannelId, CommandId, OutgoingHookId, UserId, WorkspaceId};
use ocomms_core::outbound::{self, Target};
use ocomms_core::slack::{commands, events};
use ocomms_core::{ApiError, ErrorCode, policy};
use serde::Deserialize;
use serde_json::{Value, json};

use super::authenticate;
use crate::Api;
use crate::deliver::signed_post;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::app_delivery::{self as repo, NewCommand, NewOutgoing};
use crate::repo::integrations::{self as apps, App};
use crate::repo::{channels, workspaces};

const MAX_DESCRIPTION_CHARS: usize = 100;
const MAX_TRIGGER_WORDS: usize = 10;
const MAX_TRIGGER_WORD_CHARS: usize = 50;
const LOG_PAGE: i64 = 50;

async fn admin<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<UserId> {
    let caller = authenticate(api, req).await?;
    policy::can_manage_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    Ok(caller.user_id)
}

async fn live_app<P: Ports>(api: &Api<P>, ws: WorkspaceId, app: AppId) -> Result<App> {
    Ok(apps::get(&api.sql, ws, app).await?.ok_or_else(|| ApiError::not_found("app"))?)
}

/// An app URL as given by an admin: well formed, and not where apps may not go (as far as
/// can be told without resolving it).
fn app_url(api_allow: &outbound::AllowList, raw: &str) -> Result<Target> {
    let target = outbound::parse_url(raw.trim()).map_err(|e| ApiError::validation(format!("url: {e}")))?;
    outbound::precheck(&target, api_allow).map_err(|e| ApiError::validation(format!("url: {e}")))?;
    Ok(target)
}

fn short_text(raw: &str, field: &str) -> Result<String> {
    let t = raw.trim();
    if t.chars().count() > MAX_DESCRIPTION_CHARS || t.chars().any(char::is_control) {
        return Err(ApiError::validation(format!(
            "{field} must be at most {MAX_DESCRIPTION_CHARS} characters, without control characters"
        ))
        .into());
    }
    Ok(t.to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsBody {
    url: Option<String>,
    #[serde(default)]
    events: Vec<String>,
}

/// `PUT /workspaces/{ws}/apps/{app}/events {url, events}`: where the app's events go and
/// which. A new URL is sent Slack's `url_verification` challenge first and kept only if it
/// answers with the challenge; `url: null` stops events.
pub async fn set_events<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, app: AppId) -> Result<Response> {
    admin(api, req, ws).await?;
    let body: EventsBody = req.json()?;
    let subscriptions = events::parse_subscriptions(&body.events).map_err(|e| ApiError::validation(e.to_string()))?;
    let app = live_app(api, ws, app).await?;
    let url = body.url.as_deref().map(str::trim).filter(|u| !u.is_empty());
    if let Some(url) = url {
        app_url(&api.config.outbound_allow, url)?;
        if app.events_url.as_deref() != Some(url) {
            verify_url(api, &app, url).await?;
        }
    }
    if !repo::set_events(&api.sql, ws, app.id, url, &subscriptions).await? {
        return Err(ApiError::not_found("app").into());
    }
    let app = live_app(api, ws, app.id).await?;
    Ok(Response::ok(json!({ "app": app })))
}

/// Slack's handshake: the URL must answer the challenge (as JSON, or as the bare value).
async fn verify_url<P: Ports>(api: &Api<P>, app: &App, url: &str) -> Result<()> {
    let out = api
        .outbound
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this server sends nothing to apps"))?;
    let challenge = hex(&api.env.random_array::<16>());
    let body = events::url_verification(&challenge).to_string();
    let failed =
        |why: String| ApiError::validation(format!("url: the app did not pass Slack's url_verification: {why}"));
    let reply = signed_post(api, out, url, &app.signing_secret, "application/json", body.as_bytes(), None)
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !(200..300).contains(&reply.status) {
        return Err(failed(format!("it answered HTTP {}", reply.status)).into());
    }
    let text = String::from_utf8_lossy(&reply.body);
    let answered = match serde_json::from_str::<Value>(&text) {
        Ok(v) => v["challenge"].as_str() == Some(challenge.as_str()),
        Err(_) => text.trim() == challenge || text.trim() == format!("challenge={challenge}"),
    };
    if !answered {
        return Err(failed("its answer did not hold the challenge".into()).into());
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    name: String,
    url: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    usage_hint: String,
}

/// `POST /workspaces/{ws}/apps/{app}/commands {name, url, description, usage_hint}`.
pub async fn create_command<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, app: AppId) -> Result<Response> {
    let by = admin(api, req, ws).await?;
    let body: CommandBody = req.json()?;
    let name = commands::parse_name(&body.name).map_err(|e| ApiError::validation(e.to_string()))?;
    app_url(&api.config.outbound_allow, &body.url)?;
    let description = short_text(&body.description, "description")?;
    let usage_hint = short_text(&body.usage_hint, "usage_hint")?;
    let app = live_app(api, ws, app).await?;
    let new = NewCommand {
        id: CommandId::from_bytes(api.env.random_array()),
        app: app.id,
        workspace: ws,
        name: &name,
        url: body.url.trim(),
        description: &description,
        usage_hint: &usage_hint,
        creator: by,
    };
    match repo::create_command(&api.sql, &new).await? {
        Some(command) => Ok(Response::created(json!({ "command": command }))),
        None => Err(ApiError::new(ErrorCode::Conflict, format!("the workspace already has a command /{name}")).into()),
    }
}

/// `DELETE /workspaces/{ws}/commands/{id}`.
pub async fn delete_command<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, id: CommandId) -> Result<Response> {
    admin(api, req, ws).await?;
    if !repo::delete_command(&api.sql, ws, id).await? {
        return Err(ApiError::not_found("command").into());
    }
    Ok(Response::no_content())
}

/// `GET /workspaces/{ws}/commands`: every member may see what commands there are.
pub async fn list_commands<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    policy::can_view_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    Ok(Response::ok(json!({ "commands": repo::list_commands(&api.sql, ws).await? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutgoingBody {
    channel_id: Option<ChannelId>,
    #[serde(default)]
    trigger_words: Vec<String>,
    url: String,
}

/// `POST /workspaces/{ws}/apps/{app}/outgoing-hooks {channel_id, trigger_words, url}`:
/// messages of one public channel, or of any with a trigger word, are posted to `url`.
pub async fn create_outgoing<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, app: AppId) -> Result<Response> {
    let by = admin(api, req, ws).await?;
    let body: OutgoingBody = req.json()?;
    app_url(&api.config.outbound_allow, &body.url)?;
    let mut words: Vec<String> = Vec::new();
    for w in &body.trigger_words {
        let w = w.trim();
        if w.is_empty()
            || w.chars().count() > MAX_TRIGGER_WORD_CHARS
            || w.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(ApiError::validation(format!(
                "each trigger word is 1 to {MAX_TRIGGER_WORD_CHARS} characters without spaces"
            ))
            .into());
        }
        if !words.iter().any(|x| x.eq_ignore_ascii_case(w)) {
            words.push(w.to_string());
        }
    }
    if words.len() > MAX_TRIGGER_WORDS {
        return Err(ApiError::validation(format!("at most {MAX_TRIGGER_WORDS} trigger words")).into());
    }
    if body.channel_id.is_none() && words.is_empty() {
        return Err(ApiError::validation("give a channel, trigger words, or both").into());
    }
    let app = live_app(api, ws, app).await?;
    if let Some(ch) = body.channel_id {
        let (channel, access) =
            channels::access(&api.sql, ch, by).await?.ok_or_else(|| ApiError::not_found("channel"))?;
        if channel.workspace_id != ws {
            return Err(ApiError::not_found("channel").into());
        }
        policy::can_read_channel(&access)?;
        if channel.kind != policy::ChannelKind::Public {
            return Err(ApiError::validation("outgoing webhooks listen to public channels only").into());
        }
    }
    let token = hex(&api.env.random_array::<12>());
    let new = NewOutgoing {
        id: OutgoingHookId::from_bytes(api.env.random_array()),
        app: app.id,
        workspace: ws,
        channel: body.channel_id,
        trigger_words: &words,
        url: body.url.trim(),
        token: &token,
        creator: by,
    };
    Ok(Response::created(json!({ "outgoing_hook": repo::create_outgoing(&api.sql, &new).await? })))
}

/// `DELETE /workspaces/{ws}/outgoing-hooks/{id}`.
pub async fn delete_outgoing<P: Ports>(
    api: &Api<P>,
    req: &Request,
    ws: WorkspaceId,
    id: OutgoingHookId,
) -> Result<Response> {
    admin(api, req, ws).await?;
    if !repo::delete_outgoing(&api.sql, ws, id).await? {
        return Err(ApiError::not_found("outgoing hook").into());
    }
    Ok(Response::no_content())
}

/// `GET /workspaces/{ws}/apps/{app}/deliveries?before=ID`: newest first, a page at a time.
pub async fn log<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, app: AppId) -> Result<Response> {
    admin(api, req, ws).await?;
    let before = req.query_num::<i64>("before")?;
    live_app(api, ws, app).await?;
    let entries = repo::log(&api.sql, ws, app, before, LOG_PAGE).await?;
    let next = (entries.len() as i64 == LOG_PAGE).then(|| entries.last().map(|e| e.id)).flatten();
    Ok(Response::ok(json!({ "deliveries": entries, "next_before": next })))
}

/// `POST /workspaces/{ws}/deliveries/{id}/retry`: a failed delivery is sent again.
pub async fn retry<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, id: &str) -> Result<Response> {
    admin(api, req, ws).await?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("delivery"))?;
    if !repo::retry(&api.sql, ws, id).await? {
        return Err(ApiError::not_found("failed delivery").into());
    }
    Ok(Response::no_content())
}
