use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use ocomms_core::policy::Role;
use serde::Serialize;

use crate::ms;
use crate::ports::{DbError, Row, Sql, Value};

#[derive(Debug, Clone, Serialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub role: Role,
    pub created_at_ms: i64,
}

impl Workspace {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            id: WorkspaceId(r.uuid("id")?),
            name: r.text("name")?,
            role: Role::parse(&r.text("role")?).ok_or_else(|| DbError::other("unknown role"))?,
            created_at_ms: r.int("created_ms")?,
        })
    }
}

/// Creates the workspace, its owner membership and its default `#general` channel (with the
/// owner's join as its first event) in one statement.
pub async fn create(
    db: &impl Sql,
    id: WorkspaceId,
    name: &str,
    owner: UserId,
    general: ChannelId,
) -> Result<Workspace, DbError> {
    let rows = db
        .query(
            concat!(
                "WITH w AS (INSERT INTO workspaces (id, name, created_by) VALUES ($1, $2, $3) RETURNING id, name, created_at),
                 m AS (INSERT INTO workspace_members (workspace_id, user_id, role) SELECT id, $3, 'owner' FROM w),
                 c AS (INSERT INTO channels (id, workspace_id, name, kind, is_default, created_by, last_seq)
                       SELECT $4, id, 'general', 'public', true, $3, 1 FROM w),
                 cm AS (INSERT INTO channel_members (channel_id, user_id, last_read_seq) SELECT $4, $3, 1 FROM w),
                 ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                        SELECT $4, 1, 'member.joined', jsonb_build_object('user_id', $3::uuid) FROM w)
                 SELECT id, name, 'owner' AS role, ",
                ms!("created_at"),
                " AS created_ms FROM w"
            ),
            &[Value::Uuid(id.0), Value::Text(name.into()), Value::Uuid(owner.0), Value::Uuid(general.0)],
        )
        .await?;
    rows.first().map(Workspace::from_row).transpose()?.ok_or_else(|| DbError::other("insert returned no row"))
}

pub async fn list_for(db: &impl Sql, user: UserId) -> Result<Vec<Workspace>, DbError> {
    let rows = db
        .query(
            concat!(
                "SELECT w.id, w.name, m.role, ",
                ms!("w.created_at"),
                " AS created_ms FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id
                 WHERE m.user_id = $1 AND m.removed_at IS NULL AND m.deactivated_at IS NULL ORDER BY w.created_at, w.id"
            ),
            &[Value::Uuid(user.0)],
        )
        .await?;
    rows.iter().map(Workspace::from_row).collect()
}

/// The caller's active role in the workspace, if any.
pub async fn role_of(db: &impl Sql, ws: WorkspaceId, user: UserId) -> Result<Option<Role>, DbError> {
    let rows = db
        .query(
            "SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2 AND removed_at IS NULL AND deactivated_at IS NULL",
            &[Value::Uuid(ws.0), Value::Uuid(user.0)],
        )
        .await?;
    Ok(rows.first().map(|r| r.text("role")).transpose()?.and_then(|r| Role::parse(&r)))
}

#[derive(Debug, Clone, Serialize)]
pub struct Invite {
    pub code: String,
    pub workspace_id: WorkspaceId,
    pub role: Role,
    pub max_uses: Option<i64>,
    pub expires_at_ms: Option<i64>,
}

pub async fn create_invite(
    db: &impl Sql,
    code: &str,
    ws: WorkspaceId,
    by: UserId,
    role: Role,
    max_uses: Option<i64>,
    expires_in_secs: Option<i64>,
) -> Result<Invite, DbError> {
    let rows = db
        .query(
            concat!(
                "INSERT INTO invites (code, workspace_id, created_by, role, max_uses, expires_at)
                 VALUES ($1, $2, $3, $4, $5::int8::int4,
                         CASE WHEN $6::int8 IS NULL THEN NULL ELSE now() + make_interval(secs => $6::int8::float8) END)
                 RETURNING max_uses::int8 AS max_uses, CASE WHEN expires_at IS NULL THEN NULL ELSE ",
                ms!("expires_at"),
                " END AS expires_ms"
            ),
            &[
                Value::Text(code.into()),
                Value::Uuid(ws.0),
                Value::Uuid(by.0),
                Value::Text(role.as_str().into()),
                max_uses.map_or(Value::Null, Value::Int),
                expires_in_secs.map_or(Value::Null, Value::Int),
            ],
        )
        .await?;
    let r = rows.first().ok_or_else(|| DbError::other("insert returned no row"))?;
    Ok(Invite {
        code: code.into(),
        workspace_id: ws,
        role,
        max_uses: r.opt_int("max_uses")?,
        expires_at_ms: r.opt_int("expires_ms")?,
    })
}

pub enum Redeem {
    Joined {
        workspace: WorkspaceId,
        role: Role,
    },
    AlreadyMember {
        workspace: WorkspaceId,
    },
    /// Unknown, revoked, expired or used up; the caller cannot tell which, on purpose.
    Invalid,
    /// The user was removed from this workspace; an invite does not undo a removal.
    Removed,
}

/// Accepts an invite: takes one use and adds the membership in one statement, unless the
/// user is already a member (then no use is taken).
pub async fn redeem_invite(db: &impl Sql, code: &str, user: UserId) -> Result<Redeem, DbError> {
    let existing = db
        .query(
            "SELECT i.workspace_id, m.removed_at IS NOT NULL AS removed FROM invites i
             JOIN workspace_members m ON m.workspace_id = i.workspace_id AND m.user_id = $2
             WHERE i.code = $1",
            &[Value::Text(code.into()), Value::Uuid(user.0)],
        )
        .await?;
    if let Some(r) = existing.first() {
        let ws = WorkspaceId(r.uuid("workspace_id")?);
        return Ok(if r.bool("removed")? { Redeem::Removed } else { Redeem::AlreadyMember { workspace: ws } });
    }
    let rows = db
        .query(
            "WITH i AS (UPDATE invites SET uses = uses + 1
                        WHERE code = $1 AND revoked_at IS NULL
                          AND (max_uses IS NULL OR uses < max_uses)
                          AND (expires_at IS NULL OR expires_at > now())
                        RETURNING workspace_id, role)
             INSERT INTO workspace_members (workspace_id, user_id, role)
             SELECT workspace_id, $2, role FROM i
             ON CONFLICT (workspace_id, user_id) DO NOTHING
             RETURNING workspace_id, role",
            &[Value::Text(code.into()), Value::Uuid(user.0)],
        )
        .await?;
    match rows.first() {
        None => Ok(Redeem::Invalid),
        Some(r) => Ok(Redeem::Joined {
            workspace: WorkspaceId(r.uuid("workspace_id")?),
            role: Role::parse(&r.text("role")?).ok_or_else(|| DbError::other("unknown role"))?,
        }),
    }
}

/// Default channels (`#general`) a new member joins automatically.
pub async fn default_channels(db: &impl Sql, ws: WorkspaceId) -> Result<Vec<ChannelId>, DbError> {
    let rows = db
        .query(
            "SELECT id FROM channels WHERE workspace_id = $1 AND is_default AND archived_at IS NULL",
            &[Value::Uuid(ws.0)],
        )
        .await?;
    rows.iter().map(|r| r.uuid("id").map(ChannelId)).collect()
}
