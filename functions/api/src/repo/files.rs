//! Files: the row the API keeps for each object in storage, from the upload's start to its
//! removal. Visibility follows the channel (and, once attached, the message).

use ocomms_core::ids::{ChannelId, FileId, MessageId, UserId, WorkspaceId};
use serde::Serialize;

use crate::ms;
use crate::ports::{DbError, Row, Sql, Value};

/// A file as clients see it. Never the storage key.
#[derive(Debug, Clone, Serialize)]
pub struct File {
    pub id: FileId,
    pub channel_id: ChannelId,
    pub uploader_id: UserId,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    /// `pending` (uploading), `ready` (uploaded, not yet sent) or `attached` (in a message).
    pub state: String,
    pub message_id: Option<MessageId>,
    /// Pictures: their size in pixels as shown (EXIF orientation applied).
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Whether `GET /files/{id}/thumbnail` has one: pictures up to 720 pixels a side.
    pub thumbnail: bool,
    pub created_at_ms: i64,
}

/// What the API needs besides what clients see.
#[derive(Debug, Clone)]
pub struct Stored {
    pub file: File,
    pub workspace_id: WorkspaceId,
    pub storage_key: String,
    pub thumb_key: Option<String>,
}

const COLUMNS: &str = concat!(
    "f.id, f.channel_id, f.uploader_id, f.name, f.content_type, f.size, f.state, f.message_id, f.width, f.height, ",
    "f.thumb_key, f.workspace_id, f.storage_key, ",
    ms!("f.created_at"),
    " AS created_at_ms"
);

impl Stored {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            file: File {
                id: FileId(r.uuid("id")?),
                channel_id: ChannelId(r.uuid("channel_id")?),
                uploader_id: UserId(r.uuid("uploader_id")?),
                name: r.text("name")?,
                content_type: r.text("content_type")?,
                size: r.int("size")?,
                state: r.text("state")?,
                message_id: r.opt_uuid("message_id")?.map(MessageId),
                width: r.opt_int("width")?,
                height: r.opt_int("height")?,
                thumbnail: r.opt_text("thumb_key")?.is_some(),
                created_at_ms: r.int("created_at_ms")?,
            },
            workspace_id: WorkspaceId(r.uuid("workspace_id")?),
            storage_key: r.text("storage_key")?,
            thumb_key: r.opt_text("thumb_key")?,
        })
    }
}

pub struct NewFile<'a> {
    pub id: FileId,
    pub channel: ChannelId,
    pub uploader: UserId,
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
}

pub enum Started {
    Pending(Box<Stored>),
    /// The workspace's files (pending ones included) would pass the quota.
    OverQuota,
}

/// Records a pending upload, unless it would take the workspace past `quota` bytes. The
/// workspace row is locked first, so concurrent starts cannot race past the quota together.
pub async fn start(db: &impl Sql, new: &NewFile<'_>, quota: i64) -> Result<Started, DbError> {
    let sql = format!(
        "WITH ws AS (SELECT w.id FROM workspaces w JOIN channels c ON c.workspace_id = w.id
                     WHERE c.id = $2 FOR UPDATE OF w),
         used AS (SELECT coalesce(sum(size), 0) AS bytes FROM files
                  WHERE workspace_id = (SELECT id FROM ws) AND state <> 'deleted'),
         f AS (INSERT INTO files (id, workspace_id, channel_id, uploader_id, name, content_type, size, storage_key)
               -- The object key: ids only, so no name can become a path.
               SELECT $1, ws.id, $2, $3, $4, $5, $6::int8, 'ws/' || ws.id || '/' || $1::uuid
               FROM ws, used WHERE used.bytes + $6::int8 <= $7::int8
               RETURNING *)
         SELECT {COLUMNS} FROM f"
    );
    let rows = db
        .query(
            &sql,
            &[
                Value::Uuid(new.id.0),
                Value::Uuid(new.channel.0),
                Value::Uuid(new.uploader.0),
                Value::Text(new.name.into()),
                Value::Text(new.content_type.into()),
                Value::Int(new.size),
                Value::Int(quota),
            ],
        )
        .await?;
    match rows.first() {
        Some(r) => Ok(Started::Pending(Box::new(Stored::from_row(r)?))),
        None => Ok(Started::OverQuota),
    }
}

pub async fn get(db: &impl Sql, id: FileId) -> Result<Option<Stored>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM files f WHERE f.id = $1 AND f.state <> 'deleted'");
    let rows = db.query(&sql, &[Value::Uuid(id.0)]).await?;
    rows.first().map(Stored::from_row).transpose()
}

/// What the stored bytes of an upload turned out to be.
pub struct Completed<'a> {
    pub content_type: &'a str,
    pub dims: Option<(i64, i64)>,
    pub thumb_key: Option<&'a str>,
}

/// Marks a pending upload uploaded. `None` if it is no longer pending (completed twice, or
/// deleted meanwhile).
pub async fn complete(db: &impl Sql, id: FileId, done: &Completed<'_>) -> Result<Option<Stored>, DbError> {
    let sql = format!(
        "WITH f AS (UPDATE files SET state = 'ready', completed_at = now(), content_type = $2,
                           width = $3::int8, height = $4::int8, thumb_key = $5::text
                    WHERE id = $1 AND state = 'pending' RETURNING *)
         SELECT {COLUMNS} FROM f"
    );
    let (w, h) = done.dims.map_or((Value::Null, Value::Null), |(w, h)| (Value::Int(w), Value::Int(h)));
    let thumb = done.thumb_key.map_or(Value::Null, |k| Value::Text(k.into()));
    let rows = db.query(&sql, &[Value::Uuid(id.0), Value::Text(done.content_type.into()), w, h, thumb]).await?;
    rows.first().map(Stored::from_row).transpose()
}

/// Attached files of a channel, newest first, before `before_ms` (exclusive) if given.
pub async fn list(db: &impl Sql, channel: ChannelId, before_ms: Option<i64>, limit: u32) -> Result<Vec<File>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM files f
         WHERE f.channel_id = $1 AND f.state = 'attached' AND ($2::int8 IS NULL OR {created} < $2::int8)
         ORDER BY f.created_at DESC, f.id DESC LIMIT $3",
        created = ms!("f.created_at"),
    );
    let rows = db
        .query(&sql, &[Value::Uuid(channel.0), before_ms.map_or(Value::Null, Value::Int), Value::Int(limit.into())])
        .await?;
    rows.iter().map(|r| Stored::from_row(r).map(|s| s.file)).collect()
}

/// The caller's uploaded, unsent files among `ids` in `channel`, as a message carries them.
pub async fn sendable(db: &impl Sql, ids: &[FileId], channel: ChannelId, uploader: UserId) -> Result<usize, DbError> {
    let rows = db
        .query(
            "SELECT count(*) AS n FROM files
             WHERE id = ANY (string_to_array($1::text, ',')::uuid[]) AND channel_id = $2 AND uploader_id = $3
               AND state = 'ready'",
            &[id_list(ids), Value::Uuid(channel.0), Value::Uuid(uploader.0)],
        )
        .await?;
    Ok(rows.first().map(|r| r.int("n")).transpose()?.unwrap_or(0).try_into().unwrap_or(0))
}

pub(crate) fn id_list(ids: &[FileId]) -> Value {
    Value::Text(ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
}

/// A file's JSON as a message carries it, over a `files` row aliased `f`.
pub const MESSAGE_FILE_JSON: &str = "jsonb_build_object('id', f.id, 'name', f.name, 'content_type', f.content_type,
    'size', f.size, 'width', f.width, 'height', f.height, 'thumbnail', f.thumb_key IS NOT NULL)";

/// Marks a file deleted; an attached one also leaves its message, whose `message.edited`
/// event (the message without it) is returned for the room.
pub async fn delete(db: &impl Sql, id: FileId) -> Result<Option<Option<ocomms_core::event::ChannelEvent>>, DbError> {
    use ocomms_core::event::kind;
    let sql = format!(
        "WITH f AS (UPDATE files SET state = 'deleted', deleted_at = now()
                    WHERE id = $1 AND state <> 'deleted' RETURNING id, channel_id, message_id),
         ch AS (UPDATE channels SET last_seq = last_seq + 1
                WHERE id = (SELECT channel_id FROM f) AND (SELECT message_id FROM f) IS NOT NULL
                  AND EXISTS (SELECT 1 FROM messages WHERE id = (SELECT message_id FROM f) AND deleted_at IS NULL)
                RETURNING last_seq),
         m AS (UPDATE messages SET files = coalesce((SELECT jsonb_agg(e) FROM jsonb_array_elements(files) e
                                                      WHERE e->>'id' <> $1::text), '[]'::jsonb)
               WHERE id = (SELECT message_id FROM f) AND EXISTS (SELECT 1 FROM ch) RETURNING *),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT m.channel_id, ch.last_seq, '{kind}', {message} FROM m, ch
                RETURNING channel_id, {events})
         SELECT (SELECT count(*) FROM f) AS deleted, ev.* FROM (SELECT 1) one LEFT JOIN ev ON true",
        kind = kind::MESSAGE_EDITED,
        message = super::messages::MESSAGE_JSON,
        events = super::events::EVENT_COLUMNS,
    );
    let rows = db.query(&sql, &[Value::Uuid(id.0)]).await?;
    let Some(r) = rows.first() else { return Ok(None) };
    if r.int("deleted")? == 0 {
        return Ok(None);
    }
    if r.opt_int("seq")?.is_none() {
        return Ok(Some(None));
    }
    Ok(Some(Some(super::events::from_row(ChannelId(r.uuid("channel_id")?), r)?)))
}

/// Uploads abandoned (pending for an hour, or uploaded and never sent for a day) become
/// deleted, so their objects are removed and they stop counting against the quota.
pub async fn expire_abandoned(db: &impl Sql, limit: i64) -> Result<u64, DbError> {
    db.execute(
        "UPDATE files SET state = 'deleted', deleted_at = now()
         WHERE id IN (SELECT id FROM files
                      WHERE (state = 'pending' AND created_at < now() - interval '1 hour')
                         OR (state = 'ready' AND completed_at < now() - interval '1 day')
                      ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)",
        &[Value::Int(limit)],
    )
    .await
}

/// Deleted files whose objects may still be in storage: `(id, keys)`.
pub async fn unpurged(db: &impl Sql, limit: i64) -> Result<Vec<(FileId, Vec<String>)>, DbError> {
    let rows = db
        .query(
            "SELECT id, storage_key, thumb_key FROM files WHERE state = 'deleted' AND purged_at IS NULL
             ORDER BY deleted_at LIMIT $1",
            &[Value::Int(limit)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let mut keys = vec![r.text("storage_key")?];
            keys.extend(r.opt_text("thumb_key")?);
            Ok((FileId(r.uuid("id")?), keys))
        })
        .collect()
}

pub async fn mark_purged(db: &impl Sql, id: FileId) -> Result<(), DbError> {
    db.execute("UPDATE files SET purged_at = now() WHERE id = $1", &[Value::Uuid(id.0)]).await?;
    Ok(())
}
