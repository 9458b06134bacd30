use ocomms_core::event::{ChannelEvent, kind};
use ocomms_core::ids::{ChannelId, MessageId, UserId};

use super::events::{self, EVENT_COLUMNS};
use crate::ms;
use crate::ports::{DbError, Sql, Value};

/// The JSON shape of a message, built by PostgreSQL so that history, events and the POST
/// reply are byte-for-byte the same object. `m` is the messages row.
const MESSAGE_JSON: &str = concat!(
    "jsonb_build_object('id', m.id, 'channel_id', m.channel_id, 'seq', m.seq, 'author_id', m.author_id,
       'text', m.text, 'client_msg_id', m.client_msg_id, 'created_at_ms', ",
    ms!("m.created_at"),
    ", 'edited_at_ms', CASE WHEN m.edited_at IS NULL THEN NULL ELSE ",
    ms!("m.edited_at"),
    " END)"
);

pub enum Posted {
    /// Newly stored; the event is what rooms must be told.
    New(ChannelEvent),
    /// A retry of an earlier post with the same `client_msg_id`: the stored message.
    Existing(serde_json::Value),
}

/// Inserts the message and its `message.posted` event under the channel's next seq, in one
/// statement (so one transaction).
pub async fn post(
    db: &impl Sql,
    id: MessageId,
    channel: ChannelId,
    author: UserId,
    text: &str,
    client_msg_id: Option<&str>,
) -> Result<Posted, DbError> {
    if let Some(key) = client_msg_id
        && let Some(m) = by_client_id(db, channel, author, key).await?
    {
        return Ok(Posted::Existing(m));
    }
    let sql = format!(
        "WITH ch AS (UPDATE channels SET last_seq = last_seq + 1 WHERE id = $2 RETURNING last_seq),
         m AS (INSERT INTO messages (id, channel_id, seq, author_id, text, client_msg_id)
               SELECT $1, $2, last_seq, $3, $4, $5 FROM ch RETURNING *),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data, created_at)
                SELECT m.channel_id, m.seq, '{kind}', {MESSAGE_JSON}, m.created_at FROM m
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::MESSAGE_POSTED,
    );
    let params = [
        Value::Uuid(id.0),
        Value::Uuid(channel.0),
        Value::Uuid(author.0),
        Value::Text(text.into()),
        client_msg_id.map_or(Value::Null, |k| Value::Text(k.into())),
    ];
    match db.query(&sql, &params).await {
        Ok(rows) => {
            let r = rows.first().ok_or_else(|| DbError::other("insert returned no row"))?;
            Ok(Posted::New(events::from_row(channel, r)?))
        }
        // Lost a race with a concurrent retry carrying the same key: return the winner.
        Err(e) if e.is_unique_violation() && client_msg_id.is_some() => {
            let key = client_msg_id.unwrap_or_default();
            by_client_id(db, channel, author, key).await?.map(Posted::Existing).ok_or(e)
        }
        Err(e) => Err(e),
    }
}

async fn by_client_id(
    db: &impl Sql,
    channel: ChannelId,
    author: UserId,
    key: &str,
) -> Result<Option<serde_json::Value>, DbError> {
    let sql = format!(
        "SELECT {MESSAGE_JSON} AS msg FROM messages m
         WHERE m.channel_id = $1 AND m.author_id = $2 AND m.client_msg_id = $3"
    );
    let rows = db.query(&sql, &[Value::Uuid(channel.0), Value::Uuid(author.0), Value::Text(key.into())]).await?;
    rows.first().map(|r| r.json("msg")).transpose()
}

/// One page of history before `before` (exclusive), newest first from the database,
/// returned oldest first.
pub async fn history(
    db: &impl Sql,
    channel: ChannelId,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<serde_json::Value>, DbError> {
    let sql = format!(
        "SELECT {MESSAGE_JSON} AS msg FROM messages m
         WHERE m.channel_id = $1 AND m.seq < $2 AND m.deleted_at IS NULL
         ORDER BY m.seq DESC LIMIT $3"
    );
    let rows = db
        .query(&sql, &[Value::Uuid(channel.0), Value::Int(before.unwrap_or(i64::MAX)), Value::Int(i64::from(limit))])
        .await?;
    let mut out = rows.iter().map(|r| r.json("msg")).collect::<Result<Vec<_>, _>>()?;
    out.reverse();
    Ok(out)
}

/// Who wrote a message and where, for authorization; `None` if it does not exist or is
/// deleted.
pub async fn locate(db: &impl Sql, id: MessageId) -> Result<Option<(ChannelId, UserId)>, DbError> {
    let rows = db
        .query("SELECT channel_id, author_id FROM messages WHERE id = $1 AND deleted_at IS NULL", &[Value::Uuid(id.0)])
        .await?;
    rows.first().map(|r| Ok((ChannelId(r.uuid("channel_id")?), UserId(r.uuid("author_id")?)))).transpose()
}

/// Replaces the text and records a `message.edited` event under the channel's next seq, in
/// one statement. `None` if the message was deleted meanwhile.
pub async fn edit(
    db: &impl Sql,
    id: MessageId,
    channel: ChannelId,
    text: &str,
) -> Result<Option<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH target AS (SELECT id FROM messages WHERE id = $1 AND channel_id = $2 AND deleted_at IS NULL FOR UPDATE),
         ch AS (UPDATE channels SET last_seq = last_seq + 1 WHERE id = $2 AND EXISTS (SELECT 1 FROM target) RETURNING last_seq),
         m AS (UPDATE messages SET text = $3, edited_at = now() WHERE id = (SELECT id FROM target) RETURNING *),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT m.channel_id, ch.last_seq, '{kind}', {MESSAGE_JSON} FROM m, ch
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::MESSAGE_EDITED,
    );
    let rows = db.query(&sql, &[Value::Uuid(id.0), Value::Uuid(channel.0), Value::Text(text.into())]).await?;
    rows.first().map(|r| events::from_row(channel, r)).transpose()
}

/// Tombstones a message: the text is erased (not just hidden), also from the stored events
/// that carried it, so backfill cannot reveal it; a `message.deleted` event is recorded; all
/// in one statement. `None` if it was already deleted.
pub async fn delete(
    db: &impl Sql,
    id: MessageId,
    channel: ChannelId,
    by: UserId,
) -> Result<Option<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH target AS (SELECT id FROM messages WHERE id = $1 AND channel_id = $2 AND deleted_at IS NULL FOR UPDATE),
         ch AS (UPDATE channels SET last_seq = last_seq + 1 WHERE id = $2 AND EXISTS (SELECT 1 FROM target) RETURNING last_seq),
         m AS (UPDATE messages SET text = '', deleted_at = now() WHERE id = (SELECT id FROM target) RETURNING *),
         scrub AS (UPDATE channel_events SET data = data || jsonb_build_object('text', '', 'deleted', true)
                   WHERE channel_id = $2 AND kind IN ('{posted}', '{edited}') AND data->>'id' = $1::text
                     AND EXISTS (SELECT 1 FROM ch)),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT m.channel_id, ch.last_seq, '{kind}',
                       jsonb_build_object('id', m.id, 'channel_id', m.channel_id, 'seq', m.seq, 'deleted_by', $3::uuid)
                FROM m, ch
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::MESSAGE_DELETED,
        posted = kind::MESSAGE_POSTED,
        edited = kind::MESSAGE_EDITED,
    );
    let rows = db.query(&sql, &[Value::Uuid(id.0), Value::Uuid(channel.0), Value::Uuid(by.0)]).await?;
    rows.first().map(|r| events::from_row(channel, r)).transpose()
}
