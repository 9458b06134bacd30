//! Handlers, one module per resource. Each handler: authenticate, parse, authorize through
//! `ocomms_core::policy`, call the repo, publish committed events, shape the reply.

pub mod accounts;
pub mod app_config;
pub mod auth;
pub mod avatars;
pub mod channels;
pub mod commands;
pub mod dms;
pub mod files;
pub mod hooks;
pub mod integrations;
pub mod invites;
pub mod members;
pub mod messages;
pub mod notifications;
pub mod reactions;
pub mod reads;
pub mod search;
pub mod sso;
pub mod users;
pub mod workspaces;

use ocomms_core::ApiError;
use ocomms_core::ids::ChannelId;

use crate::Api;
use crate::auth::{Caller, jwt};
use crate::error::Result;
use crate::http::Request;
use crate::ports::{Env as _, Ports};
use crate::repo::{channels as channel_repo, sessions};

/// The bearer token's caller, provided the session is live and the user active.
pub async fn authenticate<P: Ports>(api: &Api<P>, req: &Request) -> Result<Caller> {
    let caller = token_caller(api, req)?;
    if !sessions::is_live(&api.sql, caller.user_id, caller.session_id).await? {
        return Err(session_ended().into());
    }
    Ok(caller)
}

/// [`authenticate`]'s session check for a caller from [`token_caller`], with the caller's
/// access to channel `ch` and the message a retry with `client_msg_id` repeats read in the
/// same statement: two round trips fewer on the hottest path, posting.
pub async fn session_in_channel<P: Ports>(
    api: &Api<P>,
    caller: &Caller,
    ch: ChannelId,
    client_msg_id: Option<&str>,
) -> Result<channel_repo::PostingAccess> {
    let found = channel_repo::access_in_session(&api.sql, ch, caller.user_id, caller.session_id, client_msg_id).await?;
    if !found.live {
        return Err(session_ended().into());
    }
    Ok(found)
}

fn session_ended() -> ApiError {
    ApiError::unauthenticated("session has ended")
}

/// The bearer token's caller, its signature and expiry checked (not its session: see
/// [`authenticate`] and [`session_in_channel`]).
pub fn token_caller<P: Ports>(api: &Api<P>, req: &Request) -> Result<Caller> {
    let token = req.bearer().ok_or_else(|| ApiError::unauthenticated("missing bearer token"))?;
    Ok(jwt::verify(&api.config.jwt_secret, token, api.env.now_ms())?)
}
