//! Direct messages: opening one finds the existing DM of the same people or creates it.

use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use ocomms_core::{ApiError, policy, validate};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::{channels, dms, workspaces};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenBody {
    /// The other participants; the caller is added, duplicates collapse.
    user_ids: Vec<UserId>,
}

/// `POST /workspaces/{ws}/dms`: 200 with the existing DM of exactly these people, or 201
/// with a new one (every member's open sockets subscribe through its `member.joined`s).
pub async fn open<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: OpenBody = req.json()?;
    policy::can_open_dm(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    let members = validate::dm_members(caller.user_id, &body.user_ids)?;
    check_active(api, ws, &members).await?;
    let key = dms::dm_key(&members);
    if let Some(ch) = dms::find(&api.sql, ws, &key, caller.user_id).await? {
        return Ok(Response::ok(json!({ "channel": ch })));
    }
    let id = ChannelId::from_bytes(api.env.random_array());
    match dms::create(&api.sql, id, ws, &members, caller.user_id).await? {
        dms::Opened::Created(ch, events) => {
            for ev in &events {
                api.publish(ev).await;
            }
            Ok(Response::created(json!({ "channel": ch })))
        }
        dms::Opened::Existing(ch) => Ok(Response::ok(json!({ "channel": ch }))),
        dms::Opened::MembersChanged => {
            check_active(api, ws, &members).await?;
            Err(ApiError::validation("the members changed meanwhile; try again").into())
        }
    }
}

/// 422 naming the first id that is not an active member of the workspace.
async fn check_active<P: Ports>(api: &Api<P>, ws: WorkspaceId, members: &[UserId]) -> Result<()> {
    match channels::not_active_in(&api.sql, ws, members).await?.first() {
        Some(bad) => Err(ApiError::validation(format!("user {bad} is not an active member of this workspace")).into()),
        None => Ok(()),
    }
}
