//! Read markers and unread counts.

use ocomms_core::event::UserNotice;
use ocomms_core::ids::{ChannelId, WorkspaceId};
use ocomms_core::{ApiError, policy};
use serde::Deserialize;
use serde_json::json;

use super::authenticate;
use crate::Api;
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::Ports;
use crate::repo::{channels, reads, workspaces};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkBody {
    /// The last seq the user has seen; the marker never moves back.
    seq: i64,
}

/// Marks the channel read up to `seq` and tells the user's other sessions.
pub async fn mark<P: Ports>(api: &Api<P>, req: &Request, ch: ChannelId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let body: MarkBody = req.json()?;
    if body.seq < 0 {
        return Err(ApiError::validation("seq must not be negative").into());
    }
    let (_, access) =
        channels::access(&api.sql, ch, caller.user_id).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    policy::can_read_channel(&access)?;
    if !access.is_channel_member {
        return Err(ApiError::forbidden("only members keep a read marker; join the channel first").into());
    }
    let last_read_seq =
        reads::mark(&api.sql, ch, caller.user_id, body.seq).await?.ok_or_else(|| ApiError::not_found("channel"))?;
    api.notify(caller.user_id, UserNotice::ReadMarker { channel_id: ch, last_read_seq }).await;
    Ok(Response::ok(json!({ "channel_id": ch, "last_read_seq": last_read_seq })))
}

/// Unread and mention counts for all of the caller's channels in a workspace.
pub async fn unreads<P: Ports>(api: &Api<P>, req: &Request, ws: WorkspaceId) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    policy::can_view_workspace(workspaces::role_of(&api.sql, ws, caller.user_id).await?)?;
    Ok(Response::ok(json!({ "channels": reads::unreads(&api.sql, ws, caller.user_id).await? })))
}
