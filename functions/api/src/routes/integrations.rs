//! Managing integrations (workspace admins and owners): apps, each posting as its own bot
//! user, and their incoming webhooks. A hook's URL holds its secret and is shown once.

use ocomms_core::ids::{AppId, ChannelId, HookId, TokenId, UserId, WorkspaceId};
use ocomms_core::slack::scopes;
use ocomms_core::{ApiError, ErrorCode, policy, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::integrations::{self as repo, Created, NewApp, NewHook, NewToken};
use crate::repo::{channels, workspaces};

/// The longest app description.
const MAX_DESCRIPTION_CHARS: usize = 300;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppBody {
    name: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HookBody {
    channel_id: ChannelId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    scopes: Vec<String>,
}

/// What a bot token starts with, as Slack's do, so secret scanners and people recognise it.
pub const BOT_TOKEN_PREFIX: &str = "xoxb-";

async fn admin<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<UserId> {
    let caller = authenticate(api, req).await?;
    policy::can_manage_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    Ok(caller.user_id)
}

/// `GET /workspaces/{id}/apps`: the live apps and their hooks.
pub async fn list<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    admin(api, req, ws).await?;
    Ok(Response::ok(json!({ "apps": repo::list(&api.sql, ws).await? })))
}

/// `POST /workspaces/{id}/apps`: an app and its bot user, a member of the workspace.
pub async fn create<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let by = admin(api, req, ws).await?;
    let body: AppBody = req.json()?;
    let name = validate::display_name(&body.name, "name", validate::MAX_DISPLAY_NAME_CHARS)?;
    let description = body.description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS || description.chars().any(char::is_control) {
        return Err(ApiError::validation(format!(
            "description must be at most {MAX_DESCRIPTION_CHARS} characters, without control characters"
        ))
        .into());
    }
    let signing_secret: String = api.env.random_array::<16>().iter().map(|b| format!("{b:02x}")).collect();
    let new = NewApp {
        signing_secret: &signing_secret,
        id: AppId::from_bytes(api.env.random_array()),
        workspace: ws,
        name: &name,
        description,
        bot: UserId::from_bytes(api.env.random_array()),
        creator: by,
    };
    match repo::create_app(&api.sql, &new).await? {
        Created::App(app) => Ok(Response::created(json!({ "app": app }))),
        Created::NameTaken => {
            Err(ApiError::new(ErrorCode::Conflict, format!("the workspace already has an app named {name:?}")).into())
        }
    }
}

/// `DELETE /workspaces/{id}/apps/{app}`: its hooks stop and its bot is deactivated; what it
/// posted stays.
pub async fn revoke<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, app: AppId) -> Result<Response> {
    admin(api, req, ws).await?;
    if !repo::revoke(&api.sql, ws, app).await? {
        return Err(ApiError::not_found("app").into());
    }
    Ok(Response::no_content())
}

/// `POST /workspaces/{id}/apps/{app}/hooks {channel_id}`: an incoming webhook posting to a
/// channel the admin may post in; the app's bot joins it. The URL is in this answer only.
pub async fn create_hook<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, app: AppId) -> Result<Response> {
    let by = admin(api, req, ws).await?;
    let body: HookBody = req.json()?;
    let app = repo::get(&api.sql, ws, app).await?.ok_or_else(|| ApiError::not_found("app"))?;
    let (channel, access) =
        channels::access(&api.sql, body.channel_id, by).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    if channel.workspace_id != ws {
        return Err(ApiError::not_found("channel").into());
    }
    policy::can_post(&access)?;
    if channel.kind == policy::ChannelKind::Dm {
        return Err(ApiError::validation("a webhook posts to a public or private channel, not a direct message").into());
    }
    let joined = channels::add_members(&api.sql, channel.id, by, &[app.bot_user_id]).await?;
    for event in &joined {
        api.publish(event).await;
    }
    // Random and opaque, kept only hashed, like a refresh token.
    let secret = crate::auth::refresh::generate(api.env.random_array());
    let new = NewHook {
        id: HookId::from_bytes(api.env.random_array()),
        app: app.id,
        channel: channel.id,
        secret_hash: &crate::auth::refresh::hash(&secret),
        creator: by,
    };
    let hook = repo::create_hook(&api.sql, &new).await?;
    let url = format!("{}/hooks/{secret}", api.config.public_url);
    Ok(Response::created(json!({ "hook": hook, "url": url })))
}

/// `DELETE /workspaces/{id}/hooks/{hook}`: the URL stops working (`no_service`).
pub async fn revoke_hook<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, hook: HookId) -> Result<Response> {
    admin(api, req, ws).await?;
    if !repo::revoke_hook(&api.sql, ws, hook).await? {
        return Err(ApiError::not_found("hook").into());
    }
    Ok(Response::no_content())
}

/// `POST /workspaces/{id}/apps/{app}/tokens {scopes}`: a bot token for the Web API subset,
/// in this answer only (`xoxb-...`); only its hash is kept.
pub async fn create_token<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, app: AppId) -> Result<Response> {
    let by = admin(api, req, ws).await?;
    let body: TokenBody = req.json()?;
    let granted = scopes::parse(&body.scopes)
        .map_err(|e| ApiError::validation(format!("{e}; the scopes are {}", scopes::ALL.join(", "))))?;
    let app = repo::get(&api.sql, ws, app).await?.ok_or_else(|| ApiError::not_found("app"))?;
    let secret = format!("{BOT_TOKEN_PREFIX}{}", crate::auth::refresh::generate(api.env.random_array()));
    let new = NewToken {
        id: TokenId::from_bytes(api.env.random_array()),
        app: app.id,
        token_hash: &crate::auth::refresh::hash(&secret),
        scopes: &granted,
        creator: by,
    };
    let token = repo::create_token(&api.sql, &new).await?;
    Ok(Response::created(json!({ "token": token, "secret": secret })))
}

/// `DELETE /workspaces/{id}/tokens/{token}`: the token stops working (`invalid_auth`).
pub async fn revoke_token<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId, token: TokenId) -> Result<Response> {
    admin(api, req, ws).await?;
    if !repo::revoke_token(&api.sql, ws, token).await? {
        return Err(ApiError::not_found("token").into());
    }
    Ok(Response::no_content())
}
