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

use crate::Api;
use crate::auth::{Caller, jwt};
use crate::error::Result;
use crate::http::Request;
use crate::ports::{Env as _, Ports};
use crate::repo::sessions;

/// The bearer token's caller, provided the session is live and the user active.
pub async fn authenticate<P: Ports>(api: &Api<P>, req: &Request) -> Result<Caller> {
    let token = req.bearer().ok_or_else(|| ApiError::unauthenticated("missing bearer token"))?;
    let caller = jwt::verify(&api.config.jwt_secret, token, api.env.now_ms())?;
    if !sessions::is_live(&api.sql, caller.user_id, caller.session_id).await? {
        return Err(ApiError::unauthenticated("session has ended").into());
    }
    Ok(caller)
}
