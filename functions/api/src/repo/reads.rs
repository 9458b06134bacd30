//! Read state: each member's last-read seq per channel, and the unread and mention counts
//! derived from it.

use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use serde::Serialize;

use crate::ports::{DbError, Sql, Value};

/// Moves the read marker forward (never back, never past the channel's last seq). `None`
/// if the user is not a member.
pub async fn mark(db: &impl Sql, channel: ChannelId, user: UserId, seq: i64) -> Result<Option<i64>, DbError> {
    let rows = db
        .query(
            "UPDATE channel_members cm SET last_read_seq = greatest(cm.last_read_seq, least($3, c.last_seq))
             FROM channels c WHERE c.id = cm.channel_id AND cm.channel_id = $1 AND cm.user_id = $2
             RETURNING cm.last_read_seq",
            &[Value::Uuid(channel.0), Value::Uuid(user.0), Value::Int(seq)],
        )
        .await?;
    rows.first().map(|r| r.int("last_read_seq")).transpose()
}

#[derive(Debug, Clone, Serialize)]
pub struct Unread {
    pub channel_id: ChannelId,
    pub last_seq: i64,
    pub last_read_seq: i64,
    /// Messages from others after the marker that show in the channel (not thread-only).
    pub unread_count: i64,
    /// Of those (and of thread replies), the ones that mention the user, `@channel`/`@here`,
    /// any message in a direct message, and replies in threads the user follows (following is
    /// what makes a thread notify, as in Slack).
    pub mention_count: i64,
}

/// Unread and mention counts for every channel of the workspace the user belongs to, in one
/// query.
pub async fn unreads(db: &impl Sql, ws: WorkspaceId, user: UserId) -> Result<Vec<Unread>, DbError> {
    let rows = db
        .query(
            "SELECT c.id, c.last_seq, cm.last_read_seq,
                    count(m.id) FILTER (WHERE m.thread_root_id IS NULL OR m.also_to_channel) AS unread,
                    count(m.id) FILTER (WHERE $2 = ANY (m.mentions) OR m.mentions_channel OR m.mentions_here
                                           OR (c.kind = 'dm' AND (m.thread_root_id IS NULL OR m.also_to_channel))
                                           OR EXISTS (SELECT 1 FROM thread_follows f
                                                      WHERE f.root_id = m.thread_root_id AND f.user_id = $2
                                                        AND f.following))
                        AS mentioned
             FROM channel_members cm
             JOIN channels c ON c.id = cm.channel_id AND c.workspace_id = $1
             LEFT JOIN messages m ON m.channel_id = c.id AND m.seq > cm.last_read_seq AND m.deleted_at IS NULL
                                 AND m.author_id <> $2
             WHERE cm.user_id = $2
             GROUP BY c.id, c.last_seq, cm.last_read_seq
             ORDER BY c.id",
            &[Value::Uuid(ws.0), Value::Uuid(user.0)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Unread {
                channel_id: ChannelId(r.uuid("id")?),
                last_seq: r.int("last_seq")?,
                last_read_seq: r.int("last_read_seq")?,
                unread_count: r.int("unread")?,
                mention_count: r.int("mentioned")?,
            })
        })
        .collect()
}
