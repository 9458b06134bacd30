//! Workspaces: creation, the caller's view, settings.

use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use ocomms_core::policy::{Role, WorkspaceAccess, WorkspaceSettings};
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

fn role_at(r: &Row, column: &str) -> Result<Role, DbError> {
    Role::parse(&r.text(column)?).ok_or_else(|| DbError::other("unknown role"))
}

impl Workspace {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            id: WorkspaceId(r.uuid("id")?),
            name: r.text("name")?,
            role: role_at(r, "role")?,
            created_at_ms: r.int("created_ms")?,
        })
    }
}

/// A workspace as its members see it: settings, their role, how many active members.
#[derive(Debug, Clone, Serialize)]
pub struct Details {
    pub id: WorkspaceId,
    pub name: String,
    pub description: String,
    pub members_can_invite: bool,
    pub members_can_create_channels: bool,
    /// Members sign in through single sign-on only.
    pub sso_only: bool,
    pub role: Role,
    pub member_count: i64,
    pub created_at_ms: i64,
}

impl Details {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            id: WorkspaceId(r.uuid("id")?),
            name: r.text("name")?,
            description: r.text("description")?,
            members_can_invite: r.bool("members_can_invite")?,
            members_can_create_channels: r.bool("members_can_create_channels")?,
            sso_only: r.bool("sso_only")?,
            role: role_at(r, "role")?,
            member_count: r.int("member_count")?,
            created_at_ms: r.int("created_ms")?,
        })
    }
}

/// [`Details`] columns of workspace `w`, for the user bound as `$2`.
const DETAILS_COLUMNS: &str = concat!(
    "w.id, w.name, w.description, w.members_can_invite, w.members_can_create_channels, w.sso_only, ",
    ms!("w.created_at"),
    " AS created_ms,
     (SELECT role FROM workspace_members m WHERE m.workspace_id = w.id AND m.user_id = $2) AS role,
     (SELECT count(*) FROM workspace_members a
      WHERE a.workspace_id = w.id AND a.removed_at IS NULL AND a.deactivated_at IS NULL) AS member_count"
);

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

/// A workspace the user was deactivated in (still a member, reactivation gives access back).
#[derive(Debug, Clone, Serialize)]
pub struct DeactivatedIn {
    pub id: WorkspaceId,
    pub name: String,
    pub deactivated_at_ms: i64,
}

/// Where `user` is deactivated: what a person sees instead of "not in a workspace yet".
pub async fn deactivated_in(db: &impl Sql, user: UserId) -> Result<Vec<DeactivatedIn>, DbError> {
    let rows = db
        .query(
            concat!(
                "SELECT w.id, w.name, ",
                ms!("m.deactivated_at"),
                " AS at_ms FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id
                 WHERE m.user_id = $1 AND m.removed_at IS NULL AND m.deactivated_at IS NOT NULL
                 ORDER BY m.deactivated_at, w.id"
            ),
            &[Value::Uuid(user.0)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DeactivatedIn {
                id: WorkspaceId(r.uuid("id")?),
                name: r.text("name")?,
                deactivated_at_ms: r.int("at_ms")?,
            })
        })
        .collect()
}

/// Everyone who can see the workspace now (not removed, not deactivated).
pub async fn active_member_ids(db: &impl Sql, ws: WorkspaceId) -> Result<Vec<UserId>, DbError> {
    let rows = db
        .query(
            "SELECT user_id FROM workspace_members WHERE workspace_id = $1 AND removed_at IS NULL AND deactivated_at IS NULL",
            &[Value::Uuid(ws.0)],
        )
        .await?;
    rows.iter().map(|r| Ok(UserId(r.uuid("user_id")?))).collect()
}

/// The caller's active role in the workspace, if any.
pub async fn role_of(db: &impl Sql, ws: WorkspaceId, user: UserId) -> Result<Option<Role>, DbError> {
    Ok(access_of(db, ws, user).await?.map(|a| a.role))
}

/// The caller's active role and the workspace's settings, for policies that consult both.
pub async fn access_of(db: &impl Sql, ws: WorkspaceId, user: UserId) -> Result<Option<WorkspaceAccess>, DbError> {
    let rows = db
        .query(
            "SELECT m.role, w.members_can_invite, w.members_can_create_channels
             FROM workspace_members m JOIN workspaces w ON w.id = m.workspace_id
             WHERE m.workspace_id = $1 AND m.user_id = $2 AND m.removed_at IS NULL AND m.deactivated_at IS NULL",
            &[Value::Uuid(ws.0), Value::Uuid(user.0)],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(WorkspaceAccess {
                role: role_at(r, "role")?,
                settings: WorkspaceSettings {
                    members_can_invite: r.bool("members_can_invite")?,
                    members_can_create_channels: r.bool("members_can_create_channels")?,
                },
            })
        })
        .transpose()
}

/// The workspace as `user` sees it; `None` unless they are an active member.
pub async fn details(db: &impl Sql, ws: WorkspaceId, user: UserId) -> Result<Option<Details>, DbError> {
    let sql = format!(
        "SELECT {DETAILS_COLUMNS} FROM workspaces w
         JOIN workspace_members me ON me.workspace_id = w.id AND me.user_id = $2
           AND me.removed_at IS NULL AND me.deactivated_at IS NULL
         WHERE w.id = $1"
    );
    let rows = db.query(&sql, &[Value::Uuid(ws.0), Value::Uuid(user.0)]).await?;
    rows.first().map(Details::from_row).transpose()
}

/// A settings change; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct SettingsPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub members_can_invite: Option<bool>,
    pub members_can_create_channels: Option<bool>,
    pub sso_only: Option<bool>,
}

/// Applies the patch and returns the workspace as `user` now sees it.
pub async fn update(
    db: &impl Sql,
    ws: WorkspaceId,
    user: UserId,
    patch: &SettingsPatch,
) -> Result<Option<Details>, DbError> {
    let sql = format!(
        "UPDATE workspaces w SET name = coalesce($3::text, w.name),
                description = coalesce($4::text, w.description),
                members_can_invite = coalesce($5::bool, w.members_can_invite),
                members_can_create_channels = coalesce($6::bool, w.members_can_create_channels),
                sso_only = coalesce($7::bool, w.sso_only)
         WHERE w.id = $1
         RETURNING {DETAILS_COLUMNS}"
    );
    let text = |v: &Option<String>| v.as_ref().map_or(Value::Null, |s| Value::Text(s.clone()));
    let flag = |v: Option<bool>| v.map_or(Value::Null, Value::Bool);
    let rows = db
        .query(
            &sql,
            &[
                Value::Uuid(ws.0),
                Value::Uuid(user.0),
                text(&patch.name),
                text(&patch.description),
                flag(patch.members_can_invite),
                flag(patch.members_can_create_channels),
                flag(patch.sso_only),
            ],
        )
        .await?;
    rows.first().map(Details::from_row).transpose()
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

/// The first workspace requiring single sign-on that `user` is an active member of: such a
/// member signs in through the provider only.
pub async fn requiring_sso(db: &impl Sql, user: UserId) -> Result<Option<String>, DbError> {
    let rows = db
        .query(
            "SELECT w.name FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id
             WHERE m.user_id = $1 AND w.sso_only AND m.removed_at IS NULL AND m.deactivated_at IS NULL
             ORDER BY w.created_at LIMIT 1",
            &[Value::Uuid(user.0)],
        )
        .await?;
    rows.first().map(|r| r.text("name")).transpose()
}

/// Ends every session of the workspace's active members that did not begin with single sign-on;
/// returns them (user, session) to notify.
pub async fn end_sessions_without_sso(db: &impl Sql, ws: WorkspaceId) -> Result<Vec<(UserId, uuid::Uuid)>, DbError> {
    let rows = db
        .query(
            "UPDATE refresh_tokens t SET revoked_at = now()
             FROM sessions s
             WHERE s.id = t.family_id AND s.method <> 'oidc' AND t.revoked_at IS NULL
               AND t.user_id IN (SELECT user_id FROM workspace_members
                                 WHERE workspace_id = $1 AND removed_at IS NULL AND deactivated_at IS NULL)
             RETURNING t.user_id, t.family_id",
            &[Value::Uuid(ws.0)],
        )
        .await?;
    let mut ended = rows
        .iter()
        .map(|r| Ok((UserId(r.uuid("user_id")?), r.uuid("family_id")?)))
        .collect::<Result<Vec<_>, DbError>>()?;
    ended.sort();
    ended.dedup();
    Ok(ended)
}

/// Does the workspace require single sign-on?
pub async fn details_sso_only(db: &impl Sql, ws: WorkspaceId) -> Result<bool, DbError> {
    let rows = db.query("SELECT sso_only FROM workspaces WHERE id = $1", &[Value::Uuid(ws.0)]).await?;
    rows.first().map(|r| r.bool("sso_only")).transpose().map(|v| v.unwrap_or(false))
}
