//! Direct messages: channels of kind `dm` found again by their member set.

use ocomms_core::event::{ChannelEvent, kind};
use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};

use super::channels::{Channel, id_list};
use super::events::{self, EVENT_COLUMNS};
use crate::ports::{DbError, Sql, Value};

/// The DM's identity: its sorted member ids joined by `,` (unique per workspace).
pub fn dm_key(sorted_members: &[UserId]) -> String {
    sorted_members.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}

/// The DM of exactly these members, if it exists.
pub async fn find(db: &impl Sql, ws: WorkspaceId, key: &str, user: UserId) -> Result<Option<Channel>, DbError> {
    let rows = db
        .query(
            "SELECT id FROM channels WHERE workspace_id = $1 AND dm_key = $2",
            &[Value::Uuid(ws.0), Value::Text(key.into())],
        )
        .await?;
    match rows.first() {
        None => Ok(None),
        Some(r) => super::channels::read(db, ChannelId(r.uuid("id")?), user).await,
    }
}

pub enum Opened {
    /// Created now; the events are every member's `member.joined`, seqs 1..=n.
    Created(Box<Channel>, Vec<ChannelEvent>),
    /// Someone opened the same set first (a concurrent request).
    Existing(Box<Channel>),
    /// A member stopped being active between the check and the insert: nothing was created.
    MembersChanged,
}

/// Creates the DM, its members and their `member.joined` events (`{user_id, by}`, seqs 1..=n
/// in member order) in one statement, provided every member is still active. The unique
/// `dm_key` index makes a concurrent open of the same set fail here; the winner is returned.
pub async fn create(
    db: &impl Sql,
    id: ChannelId,
    ws: WorkspaceId,
    sorted_members: &[UserId],
    by: UserId,
) -> Result<Opened, DbError> {
    let key = dm_key(sorted_members);
    let n = i64::try_from(sorted_members.len()).map_err(|_| DbError::other("too many members"))?;
    let sql = format!(
        "WITH mem AS (SELECT m.user_id, m.ord FROM unnest(string_to_array($5::text, ',')::uuid[]) WITH ORDINALITY AS m(user_id, ord)),
         ok AS (SELECT count(*) = $6::int8 AS all_active FROM mem
                JOIN workspace_members wm ON wm.workspace_id = $2 AND wm.user_id = mem.user_id
                 AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL),
         c AS (INSERT INTO channels (id, workspace_id, name, kind, created_by, dm_key, last_seq)
               SELECT $1, $2, $3, 'dm', $4, $3, $6::int8 FROM ok WHERE all_active RETURNING *),
         cm AS (INSERT INTO channel_members (channel_id, user_id, last_read_seq)
                SELECT c.id, mem.user_id, c.last_seq FROM c, mem),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT c.id, mem.ord, '{kind}', jsonb_build_object('user_id', mem.user_id, 'by', $4::uuid) FROM c, mem
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev ORDER BY seq",
        kind = kind::MEMBER_JOINED,
    );
    let params = [
        Value::Uuid(id.0),
        Value::Uuid(ws.0),
        Value::Text(key.clone()),
        Value::Uuid(by.0),
        id_list(sorted_members),
        Value::Int(n),
    ];
    match db.query(&sql, &params).await {
        Ok(rows) if rows.is_empty() => Ok(Opened::MembersChanged),
        Ok(rows) => {
            let evs = rows.iter().map(|r| events::from_row(id, r)).collect::<Result<Vec<_>, _>>()?;
            // Read back in a second statement: the creating one cannot see its own members.
            let ch = super::channels::read(db, id, by).await?.ok_or_else(|| DbError::other("created DM vanished"))?;
            Ok(Opened::Created(Box::new(ch), evs))
        }
        Err(e) if e.is_unique_violation() => match find(db, ws, &key, by).await? {
            Some(ch) => Ok(Opened::Existing(Box::new(ch))),
            None => Err(e),
        },
        Err(e) => Err(e),
    }
}
