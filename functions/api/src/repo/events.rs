//! The channel event log: append (with the channel's next seq) and read for backfill.

use ocomms_core::event::ChannelEvent;
use ocomms_core::ids::ChannelId;

use crate::ms;
use crate::ports::{DbError, Row, Sql, Value};

/// Columns every event-returning statement selects, in this shape.
pub const EVENT_COLUMNS: &str = concat!("seq, kind, data, ", ms!("created_at"), " AS at_ms");

pub fn from_row(channel: ChannelId, r: &Row) -> Result<ChannelEvent, DbError> {
    Ok(ChannelEvent {
        channel_id: channel,
        seq: r.int("seq")?,
        kind: r.text("kind")?,
        data: r.json("data")?,
        at_ms: r.int("at_ms")?,
    })
}

/// Events after `after`, oldest first, at most `limit`.
pub async fn after(db: &impl Sql, channel: ChannelId, after: i64, limit: u32) -> Result<Vec<ChannelEvent>, DbError> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM channel_events WHERE channel_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
    let rows = db.query(&sql, &[Value::Uuid(channel.0), Value::Int(after), Value::Int(i64::from(limit))]).await?;
    rows.iter().map(|r| from_row(channel, r)).collect()
}

/// Appends a membership event, but only if `change` (a data-modifying CTE named `change`
/// that returns a row when something changed) did change something. `$1` is the channel
/// and `$2` the user.
pub async fn append_membership(
    db: &impl Sql,
    channel: ChannelId,
    user: ocomms_core::ids::UserId,
    change: &str,
    kind: &str,
) -> Result<Option<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH change AS ({change}),
         ch AS (UPDATE channels SET last_seq = last_seq + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM change) RETURNING last_seq),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT $1, last_seq, $3, jsonb_build_object('user_id', $2::uuid) FROM ch
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev"
    );
    let rows = db.query(&sql, &[Value::Uuid(channel.0), Value::Uuid(user.0), Value::Text(kind.into())]).await?;
    rows.first().map(|r| from_row(channel, r)).transpose()
}
