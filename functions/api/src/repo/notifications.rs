//! Notification preferences: each member's level per channel, and do not disturb.

use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use ocomms_core::notify::NotifyLevel;
use serde::{Deserialize, Serialize};

use crate::ms;
use crate::ports::{DbError, Sql, Value};

/// Everything a client needs to decide whether a message notifies.
#[derive(Debug, Clone, Serialize)]
pub struct Settings {
    /// Whether do not disturb is on now (a timed one that has run out is off).
    pub do_not_disturb: bool,
    /// When a timed do not disturb ends; `None` when off or until turned off.
    pub dnd_until_ms: Option<i64>,
    /// Channels whose level is not the default, in workspaces where the user is active.
    pub channels: Vec<ChannelLevel>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChannelLevel {
    pub channel_id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub level: NotifyLevel,
}

/// The user's settings; `None` for an unknown user.
pub async fn settings(db: &impl Sql, user: UserId) -> Result<Option<Settings>, DbError> {
    let sql = concat!(
        "SELECT u.dnd_on AND (u.dnd_until IS NULL OR u.dnd_until > now()) AS dnd,
                CASE WHEN u.dnd_on AND u.dnd_until > now() THEN ",
        ms!("u.dnd_until"),
        " END AS dnd_until_ms,
                coalesce((SELECT jsonb_agg(jsonb_build_object('channel_id', cm.channel_id, 'workspace_id', c.workspace_id,
                                                              'level', cm.notify_level)
                                           ORDER BY c.workspace_id, cm.channel_id)
                          FROM channel_members cm
                          JOIN channels c ON c.id = cm.channel_id
                          JOIN workspace_members wm ON wm.workspace_id = c.workspace_id AND wm.user_id = cm.user_id
                           AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL
                          WHERE cm.user_id = u.id AND cm.notify_level IS NOT NULL), '[]'::jsonb) AS channels
         FROM users u WHERE u.id = $1"
    );
    let rows = db.query(sql, &[Value::Uuid(user.0)]).await?;
    let Some(r) = rows.first() else { return Ok(None) };
    let channels = serde_json::from_value(r.json("channels")?)
        .map_err(|e| DbError::other(format!("notification levels json: {e}")))?;
    Ok(Some(Settings { do_not_disturb: r.bool("dnd")?, dnd_until_ms: r.opt_int("dnd_until_ms")?, channels }))
}

/// Turns do not disturb on (for `minutes`, or until turned off) or off.
pub async fn set_dnd(db: &impl Sql, user: UserId, on: bool, minutes: Option<i64>) -> Result<(), DbError> {
    db.execute(
        "UPDATE users SET dnd_on = $2,
                          dnd_until = CASE WHEN $2 AND $3::int8 IS NOT NULL
                                           THEN now() + make_interval(mins => $3::int8::int4) END
         WHERE id = $1",
        &[Value::Uuid(user.0), Value::Bool(on), minutes.map_or(Value::Null, Value::Int)],
    )
    .await?;
    Ok(())
}

/// Sets the user's level in a channel. False if they are not in it.
pub async fn set_level(db: &impl Sql, channel: ChannelId, user: UserId, level: NotifyLevel) -> Result<bool, DbError> {
    let rows = db
        .query(
            "UPDATE channel_members SET notify_level = $3::text WHERE channel_id = $1 AND user_id = $2 RETURNING 1 AS ok",
            &[Value::Uuid(channel.0), Value::Uuid(user.0), level.stored().map_or(Value::Null, |s| Value::Text(s.into()))],
        )
        .await?;
    Ok(!rows.is_empty())
}
