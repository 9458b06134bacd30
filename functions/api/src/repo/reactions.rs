//! Reactions and pins: small facts about a message, each change an event in the channel.

use ocomms_core::event::{ChannelEvent, kind};
use ocomms_core::ids::{ChannelId, MessageId, UserId};

use super::events::{self, EVENT_COLUMNS};
use super::messages::{MESSAGE_JSON, READ_EXTRAS};
use crate::ports::{DbError, Row, Sql, Value};

/// Distinct emoji one message may carry: enough for any real conversation, bounded against
/// a flood of one-off reactions.
pub const MAX_EMOJI_KINDS_PER_MESSAGE: i64 = 50;
/// Reactions one person may leave on one message.
pub const MAX_REACTIONS_PER_USER_PER_MESSAGE: i64 = 20;
pub const MAX_PINS_PER_CHANNEL: i64 = 100;

pub enum Added {
    New(ChannelEvent),
    /// Already there: nothing changed, nothing to announce.
    Exists,
    /// The message does not exist (any more).
    Gone,
    UserCap,
    KindCap,
}

fn outcome(channel: ChannelId, event_kind: &str, rows: &[Row]) -> Result<Added, DbError> {
    let r = rows.first().ok_or_else(|| DbError::other("function returned no row"))?;
    Ok(match r.text("r_outcome")?.as_str() {
        "added" => Added::New(ChannelEvent {
            channel_id: channel,
            seq: r.int("r_seq")?,
            kind: event_kind.into(),
            data: r.json("r_data")?,
            at_ms: r.int("r_at_ms")?,
        }),
        "exists" => Added::Exists,
        "gone" => Added::Gone,
        "user_cap" => Added::UserCap,
        "kind_cap" | "cap" => Added::KindCap,
        other => return Err(DbError::other(format!("unknown outcome {other}"))),
    })
}

/// Adds a reaction under the caps (enforced in PostgreSQL, see migration 0002).
pub async fn add(
    db: &impl Sql,
    message: MessageId,
    channel: ChannelId,
    user: UserId,
    emoji: &str,
) -> Result<Added, DbError> {
    let rows = db
        .query(
            "SELECT r_outcome, r_seq, r_data, r_at_ms FROM add_reaction($1, $2, $3, $4, $5::int8::int4, $6::int8::int4)",
            &[
                Value::Uuid(message.0),
                Value::Uuid(channel.0),
                Value::Uuid(user.0),
                Value::Text(emoji.into()),
                Value::Int(MAX_EMOJI_KINDS_PER_MESSAGE),
                Value::Int(MAX_REACTIONS_PER_USER_PER_MESSAGE),
            ],
        )
        .await?;
    outcome(channel, kind::REACTION_ADDED, &rows)
}

/// Removes the caller's reaction; `None` if they had not reacted so (or the message is gone).
pub async fn remove(
    db: &impl Sql,
    message: MessageId,
    channel: ChannelId,
    user: UserId,
    emoji: &str,
) -> Result<Option<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH target AS (SELECT id FROM messages WHERE id = $1 AND channel_id = $2 AND deleted_at IS NULL FOR UPDATE),
         r AS (DELETE FROM reactions WHERE message_id = (SELECT id FROM target) AND user_id = $3 AND emoji = $4
               RETURNING message_id),
         ch AS (UPDATE channels SET last_seq = last_seq + 1 WHERE id = $2 AND EXISTS (SELECT 1 FROM r) RETURNING last_seq),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT $2, last_seq, '{kind}',
                       jsonb_build_object('message_id', $1::uuid, 'user_id', $3::uuid, 'emoji', $4::text)
                FROM ch RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::REACTION_REMOVED,
    );
    let params = [Value::Uuid(message.0), Value::Uuid(channel.0), Value::Uuid(user.0), Value::Text(emoji.into())];
    let rows = db.query(&sql, &params).await?;
    rows.first().map(|r| events::from_row(channel, r)).transpose()
}

pub async fn pin(db: &impl Sql, message: MessageId, channel: ChannelId, user: UserId) -> Result<Added, DbError> {
    let rows = db
        .query(
            "SELECT r_outcome, r_seq, r_data, r_at_ms FROM pin_message($1, $2, $3, $4::int8::int4)",
            &[Value::Uuid(message.0), Value::Uuid(channel.0), Value::Uuid(user.0), Value::Int(MAX_PINS_PER_CHANNEL)],
        )
        .await?;
    outcome(channel, kind::MESSAGE_PINNED, &rows)
}

/// Unpins; `None` if it was not pinned.
pub async fn unpin(
    db: &impl Sql,
    message: MessageId,
    channel: ChannelId,
    user: UserId,
) -> Result<Option<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH target AS (SELECT id FROM messages WHERE id = $1 AND channel_id = $2 FOR UPDATE),
         p AS (DELETE FROM pins WHERE channel_id = $2 AND message_id = (SELECT id FROM target) RETURNING message_id),
         ch AS (UPDATE channels SET last_seq = last_seq + 1 WHERE id = $2 AND EXISTS (SELECT 1 FROM p) RETURNING last_seq),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT $2, last_seq, '{kind}', jsonb_build_object('message_id', $1::uuid, 'user_id', $3::uuid)
                FROM ch RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::MESSAGE_UNPINNED,
    );
    let rows = db.query(&sql, &[Value::Uuid(message.0), Value::Uuid(channel.0), Value::Uuid(user.0)]).await?;
    rows.first().map(|r| events::from_row(channel, r)).transpose()
}

/// The channel's pinned messages, most recently pinned first.
pub async fn pinned(db: &impl Sql, channel: ChannelId) -> Result<Vec<serde_json::Value>, DbError> {
    let sql = format!(
        "SELECT {MESSAGE_JSON} || {READ_EXTRAS} || jsonb_build_object('pinned_by', p.pinned_by) AS msg
         FROM pins p JOIN messages m ON m.id = p.message_id
         WHERE p.channel_id = $1 AND m.deleted_at IS NULL ORDER BY p.pinned_at DESC, m.seq DESC"
    );
    let rows = db.query(&sql, &[Value::Uuid(channel.0)]).await?;
    rows.into_iter().map(|r| r.into_json("msg")).collect()
}
