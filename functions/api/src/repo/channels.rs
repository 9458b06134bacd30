use ocomms_core::event::{ChannelEvent, kind};
use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use ocomms_core::policy::{ChannelAccess, ChannelKind, Role};
use serde::Serialize;

use super::events;
use crate::ms;
use crate::ports::{DbError, Row, Sql, Value};

#[derive(Debug, Clone, Serialize)]
pub struct Channel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub kind: ChannelKind,
    pub topic: String,
    pub archived: bool,
    pub last_seq: i64,
    pub created_at_ms: i64,
    /// Whether the caller is a member; filled by listing queries.
    pub is_member: bool,
}

const COLUMNS: &str = concat!(
    "c.id, c.workspace_id, c.name, c.kind, c.topic, c.archived_at IS NOT NULL AS archived, c.last_seq, ",
    ms!("c.created_at"),
    " AS created_ms"
);

impl Channel {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            id: ChannelId(r.uuid("id")?),
            workspace_id: WorkspaceId(r.uuid("workspace_id")?),
            name: r.text("name")?,
            kind: ChannelKind::parse(&r.text("kind")?).ok_or_else(|| DbError::other("unknown channel kind"))?,
            topic: r.text("topic")?,
            archived: r.bool("archived")?,
            last_seq: r.int("last_seq")?,
            created_at_ms: r.int("created_ms")?,
            is_member: r.bool("is_member")?,
        })
    }
}

pub enum CreateOutcome {
    /// The channel, and its first event: the creator's `member.joined` at seq 1.
    Created(Channel, ChannelEvent),
    NameTaken,
}

/// The creator's join, as the create statements store it (seq 1, commit time).
pub fn creator_joined(channel: ChannelId, creator: UserId, at_ms: i64) -> ChannelEvent {
    ChannelEvent {
        channel_id: channel,
        seq: 1,
        kind: kind::MEMBER_JOINED.into(),
        data: serde_json::json!({ "user_id": creator }),
        at_ms,
    }
}

/// Creates a channel with its creator as first member (seq 1, `member.joined`).
pub async fn create(
    db: &impl Sql,
    id: ChannelId,
    ws: WorkspaceId,
    name: &str,
    kind: ChannelKind,
    topic: &str,
    creator: UserId,
) -> Result<CreateOutcome, DbError> {
    let sql = format!(
        "WITH c AS (INSERT INTO channels (id, workspace_id, name, kind, topic, created_by, last_seq)
                    VALUES ($1, $2, $3, $4, $5, $6, 1) RETURNING *),
         cm AS (INSERT INTO channel_members (channel_id, user_id, last_read_seq) SELECT id, $6, 1 FROM c),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT id, 1, 'member.joined', jsonb_build_object('user_id', $6::uuid) FROM c)
         SELECT {COLUMNS}, true AS is_member FROM c"
    );
    let res = db
        .query(
            &sql,
            &[
                Value::Uuid(id.0),
                Value::Uuid(ws.0),
                Value::Text(name.into()),
                Value::Text(kind.as_str().into()),
                Value::Text(topic.into()),
                Value::Uuid(creator.0),
            ],
        )
        .await;
    match res {
        Ok(rows) => rows
            .first()
            .map(Channel::from_row)
            .transpose()?
            .map(|ch| {
                let ev = creator_joined(ch.id, creator, ch.created_at_ms);
                CreateOutcome::Created(ch, ev)
            })
            .ok_or_else(|| DbError::other("insert returned no row")),
        Err(e) if e.is_unique_violation() => Ok(CreateOutcome::NameTaken),
        Err(e) => Err(e),
    }
}

/// Channels of a workspace the user can see: public ones, and any they belong to.
pub async fn list_visible(db: &impl Sql, ws: WorkspaceId, user: UserId, role: Role) -> Result<Vec<Channel>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS}, (cm.user_id IS NOT NULL) AS is_member FROM channels c
         LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2
         WHERE c.workspace_id = $1 AND (cm.user_id IS NOT NULL OR (c.kind = 'public' AND $3))
         ORDER BY c.name, c.id"
    );
    let rows = db.query(&sql, &[Value::Uuid(ws.0), Value::Uuid(user.0), Value::Bool(role != Role::Guest)]).await?;
    rows.iter().map(Channel::from_row).collect()
}

/// The channel and what the user is to it, in one round trip.
pub async fn access(
    db: &impl Sql,
    channel: ChannelId,
    user: UserId,
) -> Result<Option<(Channel, ChannelAccess)>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS}, (cm.user_id IS NOT NULL) AS is_member, wm.role FROM channels c
         LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2
         LEFT JOIN workspace_members wm ON wm.workspace_id = c.workspace_id AND wm.user_id = $2 AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL
         WHERE c.id = $1"
    );
    let rows = db.query(&sql, &[Value::Uuid(channel.0), Value::Uuid(user.0)]).await?;
    let Some(r) = rows.first() else { return Ok(None) };
    let ch = Channel::from_row(r)?;
    let role = r.opt_text("role")?.and_then(|s| Role::parse(&s));
    let access = ChannelAccess {
        role,
        kind: ch.kind,
        // A membership row of someone no longer in the workspace grants nothing.
        is_channel_member: ch.is_member && role.is_some(),
        archived: ch.archived,
    };
    Ok(Some((ch, access)))
}

pub async fn join(db: &impl Sql, channel: ChannelId, user: UserId) -> Result<Option<ChannelEvent>, DbError> {
    events::append_membership(
        db,
        channel,
        user,
        "INSERT INTO channel_members (channel_id, user_id, last_read_seq)
         SELECT id, $2, last_seq + 1 FROM channels WHERE id = $1
         ON CONFLICT (channel_id, user_id) DO NOTHING RETURNING user_id",
        kind::MEMBER_JOINED,
    )
    .await
}

pub async fn leave(db: &impl Sql, channel: ChannelId, user: UserId) -> Result<Option<ChannelEvent>, DbError> {
    events::append_membership(
        db,
        channel,
        user,
        "DELETE FROM channel_members WHERE channel_id = $1 AND user_id = $2 RETURNING user_id",
        kind::MEMBER_LEFT,
    )
    .await
}
