//! Channels: the row, its members, and every change to either as one statement that also
//! appends the channel's events under its next seqs.

use ocomms_core::event::{ChannelEvent, Subscription, kind};
use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use ocomms_core::policy::{ChannelAccess, ChannelKind, Role};
use serde::{Deserialize, Serialize};

use super::events::{self, EVENT_COLUMNS};
use crate::ms;
use crate::ports::{DbError, Row, Sql, Value};

/// A channel as clients see it. PostgreSQL builds the JSON ([`CHANNEL_JSON`]), so replies
/// and the `channel.updated` event carry the very same object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub kind: ChannelKind,
    pub topic: String,
    pub purpose: String,
    pub created_by: UserId,
    /// The workspace's `#general`: everyone joins it, nobody leaves it or archives it.
    pub is_default: bool,
    pub archived: bool,
    pub last_seq: i64,
    pub created_at_ms: i64,
    /// Active workspace members in the channel. Absent only from the hot-path [`access`]
    /// read, which handlers never send back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_count: Option<i64>,
    /// Direct messages only: every participant (sorted), so a client can name the DM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_ids: Option<Vec<UserId>>,
    /// Whether the caller is a member; not part of the stored event data.
    #[serde(default)]
    pub is_member: bool,
}

/// The channel's own fields as jsonb, over a `channels` row aliased `c`.
macro_rules! channel_fields {
    () => {
        concat!(
            "(jsonb_build_object('id', c.id, 'workspace_id', c.workspace_id, 'name', c.name, 'kind', c.kind,
               'topic', c.topic, 'purpose', c.purpose, 'created_by', c.created_by, 'is_default', c.is_default,
               'archived', c.archived_at IS NOT NULL, 'last_seq', c.last_seq, 'created_at_ms', ",
            ms!("c.created_at"),
            ") || CASE WHEN c.kind = 'dm'
                  THEN jsonb_build_object('member_ids', to_jsonb(string_to_array(c.dm_key, ',')))
                  ELSE '{}'::jsonb END)"
        )
    };
}

/// Active workspace members of channel `c`. Membership rows of people removed from or
/// deactivated in the workspace grant nothing, so they are not counted.
macro_rules! member_count {
    () => {
        "(SELECT count(*) FROM channel_members m
          JOIN workspace_members w ON w.workspace_id = c.workspace_id AND w.user_id = m.user_id
           AND w.removed_at IS NULL AND w.deactivated_at IS NULL
          WHERE m.channel_id = c.id)"
    };
}

const CHANNEL_FIELDS: &str = channel_fields!();
/// The full channel JSON (what clients get), over a `channels` row aliased `c`.
const CHANNEL_JSON: &str =
    concat!("(", channel_fields!(), " || jsonb_build_object('member_count', ", member_count!(), "))");

impl Channel {
    /// From a row with a `channel` jsonb column and an `is_member` bool column.
    fn from_row(r: &Row) -> Result<Self, DbError> {
        let mut ch = Self::from_json(r.json("channel")?)?;
        ch.is_member = r.bool("is_member")?;
        Ok(ch)
    }

    pub(crate) fn from_json(v: serde_json::Value) -> Result<Self, DbError> {
        serde_json::from_value(v).map_err(|e| DbError::other(format!("channel json: {e}")))
    }
}

/// Ids bound as one text parameter (`string_to_array($n::text, ',')::uuid[]`): the `Sql`
/// port has no array values, and UUIDs contain no commas.
pub(crate) fn id_list(ids: &[UserId]) -> Value {
    Value::Text(ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(","))
}

pub enum CreateOutcome {
    /// The channel, and its first event: the creator's `member.joined` at seq 1.
    Created(Box<Channel>, ChannelEvent),
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
    // The statement's snapshot cannot see its own member row, hence the literal count.
    let sql = format!(
        "WITH c AS (INSERT INTO channels (id, workspace_id, name, kind, topic, created_by, last_seq)
                    VALUES ($1, $2, $3, $4, $5, $6, 1) RETURNING *),
         cm AS (INSERT INTO channel_members (channel_id, user_id, last_read_seq) SELECT id, $6, 1 FROM c),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT id, 1, 'member.joined', jsonb_build_object('user_id', $6::uuid) FROM c)
         SELECT {CHANNEL_FIELDS} || jsonb_build_object('member_count', 1) AS channel, true AS is_member FROM c"
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
                CreateOutcome::Created(Box::new(ch), ev)
            })
            .ok_or_else(|| DbError::other("insert returned no row")),
        Err(e) if e.is_unique_violation() => Ok(CreateOutcome::NameTaken),
        Err(e) => Err(e),
    }
}

/// Channels of a workspace the user can see: public ones (unless a guest), and any they
/// belong to, direct messages included.
pub async fn list_visible(db: &impl Sql, ws: WorkspaceId, user: UserId, role: Role) -> Result<Vec<Channel>, DbError> {
    let sql = format!(
        "SELECT {CHANNEL_JSON} AS channel, (cm.user_id IS NOT NULL) AS is_member FROM channels c
         LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2
         WHERE c.workspace_id = $1 AND (cm.user_id IS NOT NULL OR (c.kind = 'public' AND $3))
         ORDER BY c.name, c.id"
    );
    let rows = db.query(&sql, &[Value::Uuid(ws.0), Value::Uuid(user.0), Value::Bool(role != Role::Guest)]).await?;
    rows.iter().map(Channel::from_row).collect()
}

/// The full channel (with `member_count`) and whether `user` is in it. Authorize first.
pub async fn read(db: &impl Sql, channel: ChannelId, user: UserId) -> Result<Option<Channel>, DbError> {
    let sql = format!(
        "SELECT {CHANNEL_JSON} AS channel, EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_id = c.id AND cm.user_id = $2) AS is_member
         FROM channels c WHERE c.id = $1"
    );
    let rows = db.query(&sql, &[Value::Uuid(channel.0), Value::Uuid(user.0)]).await?;
    rows.first().map(Channel::from_row).transpose()
}

/// The channel and what the user is to it, in one round trip. On the hot path (every post),
/// so it skips `member_count`.
pub async fn access(
    db: &impl Sql,
    channel: ChannelId,
    user: UserId,
) -> Result<Option<(Channel, ChannelAccess)>, DbError> {
    let sql = format!(
        "SELECT {CHANNEL_FIELDS} AS channel, (cm.user_id IS NOT NULL) AS is_member, wm.role FROM channels c
         LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2
         LEFT JOIN workspace_members wm ON wm.workspace_id = c.workspace_id AND wm.user_id = $2 AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL
         WHERE c.id = $1"
    );
    let rows = db.query(&sql, &[Value::Uuid(channel.0), Value::Uuid(user.0)]).await?;
    rows.first().map(access_from_row).transpose()
}

/// A channel and the caller's access from a row of [`access`]'s columns.
fn access_from_row(r: &Row) -> Result<(Channel, ChannelAccess), DbError> {
    let ch = Channel::from_row(r)?;
    let role = r.opt_text("role")?.and_then(|s| Role::parse(&s));
    let access = ChannelAccess {
        role,
        kind: ch.kind,
        // A membership row of someone no longer in the workspace grants nothing.
        is_channel_member: ch.is_member && role.is_some(),
        archived: ch.archived,
    };
    Ok((ch, access))
}

/// What posting reads before it writes, in one statement ([`access_in_session`]).
#[derive(Debug)]
pub struct PostingAccess {
    /// The caller's session is live ([`super::sessions::is_live`]); nothing else is read if not.
    pub live: bool,
    /// The channel and the caller's [`access`] to it (`None`: no such channel).
    pub access: Option<(Channel, ChannelAccess)>,
    /// The caller's message here with the post's `client_msg_id`: the post is a retry of
    /// one that went through.
    pub earlier: Option<serde_json::Value>,
}

/// Whether session `family` of `user` is live, [`access`], and the message a retry with
/// `client_msg_id` would repeat, in one statement: posting needs all three on every request
/// (browsers send a `client_msg_id` with every post).
pub async fn access_in_session(
    db: &impl Sql,
    channel: ChannelId,
    user: UserId,
    family: uuid::Uuid,
    client_msg_id: Option<&str>,
) -> Result<PostingAccess, DbError> {
    let earlier = match client_msg_id {
        Some(_) => format!(
            "(SELECT {json} FROM messages m
              WHERE m.channel_id = c.id AND m.author_id = $2 AND m.client_msg_id = $4)",
            json = super::messages::MESSAGE_JSON
        ),
        None => "NULL::jsonb".to_owned(),
    };
    let sql = format!(
        "SELECT s.live, CASE WHEN c.id IS NULL THEN NULL ELSE {CHANNEL_FIELDS} END AS channel,
                (cm.user_id IS NOT NULL) AS is_member, wm.role, {earlier} AS earlier
         FROM (SELECT {live} AS live) s
         LEFT JOIN channels c ON c.id = $1
         LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2
         LEFT JOIN workspace_members wm ON wm.workspace_id = c.workspace_id AND wm.user_id = $2 AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL",
        live = super::sessions::live_condition("$2", "$3"),
    );
    let mut params = vec![Value::Uuid(channel.0), Value::Uuid(user.0), Value::Uuid(family)];
    if let Some(key) = client_msg_id {
        params.push(Value::Text(key.into()));
    }
    let rows = db.query(&sql, &params).await?;
    let r = rows.first().ok_or_else(|| DbError::other("the access statement returned no row"))?;
    let mut found = PostingAccess { live: r.bool("live")?, access: None, earlier: None };
    if !found.live || matches!(r.get("channel")?, Value::Null) {
        return Ok(found);
    }
    found.access = Some(access_from_row(r)?);
    if !matches!(r.get("earlier")?, Value::Null) {
        found.earlier = Some(r.json("earlier")?);
    }
    Ok(found)
}

pub async fn join(db: &impl Sql, channel: ChannelId, user: UserId) -> Result<Option<ChannelEvent>, DbError> {
    events::append_membership(
        db,
        channel,
        user,
        "INSERT INTO channel_members (channel_id, user_id, last_read_seq)
         SELECT id, $2, last_seq + 1 FROM channels WHERE id = $1 AND archived_at IS NULL
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

/// A channel change; `None` fields stay as they are.
#[derive(Debug, Default, Clone, Copy)]
pub struct Patch<'a> {
    pub name: Option<&'a str>,
    pub topic: Option<&'a str>,
    pub purpose: Option<&'a str>,
}

pub enum UpdateOutcome {
    /// The channel after the change (without `is_member`) and its `channel.updated` event.
    Updated(Box<Channel>, ChannelEvent),
    NameTaken,
    /// Archived meanwhile (or a DM, which the handler refuses before asking).
    Frozen,
}

/// Applies the patch and appends `channel.updated` (data: the channel after the change)
/// under the next seq, in one statement.
pub async fn update(db: &impl Sql, channel: ChannelId, patch: Patch<'_>) -> Result<UpdateOutcome, DbError> {
    let sql = format!(
        "WITH c AS (UPDATE channels SET name = COALESCE($2::text, name), topic = COALESCE($3::text, topic),
                           purpose = COALESCE($4::text, purpose), last_seq = last_seq + 1
                    WHERE id = $1 AND kind <> 'dm' AND archived_at IS NULL RETURNING *),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT c.id, c.last_seq, '{kind}', {CHANNEL_JSON} FROM c
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::CHANNEL_UPDATED,
    );
    let text = |v: Option<&str>| v.map_or(Value::Null, |s| Value::Text(s.into()));
    let res = db.query(&sql, &[Value::Uuid(channel.0), text(patch.name), text(patch.topic), text(patch.purpose)]).await;
    match res {
        Ok(rows) => {
            let Some(r) = rows.first() else { return Ok(UpdateOutcome::Frozen) };
            let ev = events::from_row(channel, r)?;
            Ok(UpdateOutcome::Updated(Box::new(Channel::from_json(ev.data.clone())?), ev))
        }
        Err(e) if e.is_unique_violation() => Ok(UpdateOutcome::NameTaken),
        Err(e) => Err(e),
    }
}

/// Archives (`archive`) or unarchives the channel and appends `channel.archived` or
/// `channel.unarchived` (`{by}`). `None` when it already was in that state (a concurrent
/// request won), or is a DM, or is the default channel being archived.
pub async fn set_archived(
    db: &impl Sql,
    channel: ChannelId,
    by: UserId,
    archive: bool,
) -> Result<Option<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH c AS (UPDATE channels SET archived_at = CASE WHEN $3::bool THEN now() END, last_seq = last_seq + 1
                    WHERE id = $1 AND kind <> 'dm' AND (archived_at IS NULL) = $3::bool AND NOT (is_default AND $3::bool)
                    RETURNING id, last_seq),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT id, last_seq, $4, jsonb_build_object('by', $2::uuid) FROM c
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev"
    );
    let kind = if archive { kind::CHANNEL_ARCHIVED } else { kind::CHANNEL_UNARCHIVED };
    let rows = db
        .query(&sql, &[Value::Uuid(channel.0), Value::Uuid(by.0), Value::Bool(archive), Value::Text(kind.into())])
        .await?;
    rows.first().map(|r| events::from_row(channel, r)).transpose()
}

/// A channel member as the member list shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub user_id: UserId,
    pub display_name: String,
    /// Their role in the workspace.
    pub role: Role,
}

/// Active members after `after` (by user id), at most `limit`.
pub async fn members(
    db: &impl Sql,
    channel: ChannelId,
    after: Option<UserId>,
    limit: u32,
) -> Result<Vec<Member>, DbError> {
    let sql =
        "SELECT u.id, u.display_name, wm.role FROM channel_members cm
         JOIN channels c ON c.id = cm.channel_id
         JOIN users u ON u.id = cm.user_id
         JOIN workspace_members wm ON wm.workspace_id = c.workspace_id AND wm.user_id = cm.user_id AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL
         WHERE cm.channel_id = $1 AND cm.user_id > $2
         ORDER BY cm.user_id LIMIT $3";
    let after = after.map_or(uuid::Uuid::nil(), |u| u.0);
    let rows = db.query(sql, &[Value::Uuid(channel.0), Value::Uuid(after), Value::Int(i64::from(limit))]).await?;
    rows.iter()
        .map(|r| {
            Ok(Member {
                user_id: UserId(r.uuid("id")?),
                display_name: r.text("display_name")?,
                role: Role::parse(&r.text("role")?).ok_or_else(|| DbError::other("unknown role"))?,
            })
        })
        .collect()
}

/// Those of `ids` who are not active members of the workspace, in the given order.
pub async fn not_active_in(db: &impl Sql, ws: WorkspaceId, ids: &[UserId]) -> Result<Vec<UserId>, DbError> {
    let sql =
        "SELECT u.id FROM unnest(string_to_array($2::text, ',')::uuid[]) WITH ORDINALITY AS u(id, ord)
         WHERE NOT EXISTS (SELECT 1 FROM workspace_members wm WHERE wm.workspace_id = $1 AND wm.user_id = u.id AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL)
         ORDER BY u.ord";
    let rows = db.query(sql, &[Value::Uuid(ws.0), id_list(ids)]).await?;
    rows.iter().map(|r| r.uuid("id").map(UserId)).collect()
}

/// Adds those of `users` who are active workspace members and not yet in the channel, with
/// one `member.joined` (`{user_id, by}`) each under consecutive seqs, in one statement.
/// Returns the events in seq order (empty when nobody was new). Refuses (adds nobody) when
/// the channel is a DM or archived.
pub async fn add_members(
    db: &impl Sql,
    channel: ChannelId,
    by: UserId,
    users: &[UserId],
) -> Result<Vec<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH want AS (SELECT w.user_id, w.ord FROM unnest(string_to_array($2::text, ',')::uuid[]) WITH ORDINALITY AS w(user_id, ord)),
         new AS (SELECT want.user_id, row_number() OVER (ORDER BY want.ord) AS n FROM want
                 JOIN channels c ON c.id = $1 AND c.kind <> 'dm' AND c.archived_at IS NULL
                 JOIN workspace_members wm ON wm.workspace_id = c.workspace_id AND wm.user_id = want.user_id AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL
                 WHERE NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_id = $1 AND cm.user_id = want.user_id)),
         ch AS (UPDATE channels SET last_seq = last_seq + (SELECT count(*) FROM new)
                WHERE id = $1 AND archived_at IS NULL AND EXISTS (SELECT 1 FROM new)
                RETURNING last_seq - (SELECT count(*) FROM new) AS base),
         ins AS (INSERT INTO channel_members (channel_id, user_id, last_read_seq)
                 SELECT $1, new.user_id, ch.base + new.n FROM new, ch),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT $1, ch.base + new.n, '{kind}', jsonb_build_object('user_id', new.user_id, 'by', $3::uuid)
                FROM new, ch
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev ORDER BY seq",
        kind = kind::MEMBER_JOINED,
    );
    let params = [Value::Uuid(channel.0), id_list(users), Value::Uuid(by.0)];
    // A concurrent join of one of them commits a row this statement's snapshot did not see:
    // the insert then fails as a whole, and a retry (with a fresh snapshot) skips that user.
    let mut attempt = 0;
    loop {
        match db.query(&sql, &params).await {
            Ok(rows) => return rows.iter().map(|r| events::from_row(channel, r)).collect(),
            Err(e) if e.is_unique_violation() && attempt < 3 => attempt += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Removes `user` and appends `member.left` (`{user_id, by}`), in one statement. `None` if
/// they were not a member, or the channel is a DM, the default channel or archived.
pub async fn remove_member(
    db: &impl Sql,
    channel: ChannelId,
    user: UserId,
    by: UserId,
) -> Result<Option<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH change AS (DELETE FROM channel_members WHERE channel_id = $1 AND user_id = $2
                           AND EXISTS (SELECT 1 FROM channels WHERE id = $1 AND kind <> 'dm' AND NOT is_default AND archived_at IS NULL)
                         RETURNING user_id),
         ch AS (UPDATE channels SET last_seq = last_seq + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM change) RETURNING last_seq),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT $1, last_seq, '{kind}', jsonb_build_object('user_id', $2::uuid, 'by', $3::uuid) FROM ch
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::MEMBER_LEFT,
    );
    let rows = db.query(&sql, &[Value::Uuid(channel.0), Value::Uuid(user.0), Value::Uuid(by.0)]).await?;
    rows.first().map(|r| events::from_row(channel, r)).transpose()
}

/// The channels a user's sockets listen to (every channel they are in, in workspaces they
/// are still an active member of), with each one's stored seq.
pub async fn listened_by(db: &impl Sql, user: UserId) -> Result<Vec<Subscription>, DbError> {
    let rows = db
        .query(
            "SELECT c.id, c.last_seq FROM channel_members cm
             JOIN channels c ON c.id = cm.channel_id
             JOIN workspace_members wm ON wm.workspace_id = c.workspace_id AND wm.user_id = cm.user_id
                  AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL
             WHERE cm.user_id = $1",
            &[Value::Uuid(user.0)],
        )
        .await?;
    rows.iter()
        .map(|r| Ok(Subscription { channel_id: ChannelId(r.uuid("id")?), last_seq: r.int("last_seq")? }))
        .collect()
}
