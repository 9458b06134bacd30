//! Invites: creation, listing, revocation, preview and redemption.

use ocomms_core::ids::{UserId, WorkspaceId};
use ocomms_core::policy::Role;
use serde::Serialize;

use crate::ms;
use crate::ports::{DbError, Row, Sql, Value};

/// When invite `i` can still be accepted. The one definition used by the list, the preview
/// and redemption, so they can never disagree.
/// An invite is live while its creator could still make it: an active member whose role
/// (and, for a member, the workspace's current "members can invite") allows the role it
/// grants (`policy::can_invite`). Switching member invites off, or demoting or removing the
/// creator, ends their invites at once.
const VALID: &str = "(i.revoked_at IS NULL AND (i.max_uses IS NULL OR i.uses < i.max_uses)
                      AND (i.expires_at IS NULL OR i.expires_at > now())
                      AND EXISTS (SELECT 1 FROM workspace_members cm JOIN workspaces cw ON cw.id = cm.workspace_id
                                  WHERE cm.workspace_id = i.workspace_id AND cm.user_id = i.created_by
                                    AND cm.removed_at IS NULL AND cm.deactivated_at IS NULL
                                    AND CASE cm.role WHEN 'owner' THEN true
                                                     WHEN 'admin' THEN i.role <> 'admin'
                                                     WHEN 'member' THEN cw.members_can_invite AND i.role <> 'admin'
                                                     ELSE false END))";

/// Most invites `list` returns (newest first); older ones are rarely worth showing.
pub const LIST_LIMIT: i64 = 500;

#[derive(Debug, Clone, Serialize)]
pub struct Invite {
    pub code: String,
    pub workspace_id: WorkspaceId,
    pub role: Role,
    pub uses: i64,
    pub max_uses: Option<i64>,
    pub expires_at_ms: Option<i64>,
    pub revoked: bool,
    /// Can it be accepted right now (not revoked, expired or used up)?
    pub valid: bool,
    pub created_by: UserId,
    pub created_at_ms: i64,
}

const COLUMNS: &str = concat!(
    "i.code, i.workspace_id, i.role, i.uses::int8 AS uses, i.max_uses::int8 AS max_uses,
     CASE WHEN i.expires_at IS NULL THEN NULL ELSE ",
    ms!("i.expires_at"),
    " END AS expires_ms, i.revoked_at IS NOT NULL AS revoked, i.created_by, ",
    ms!("i.created_at"),
    " AS created_ms"
);

fn role_at(r: &Row, column: &str) -> Result<Role, DbError> {
    Role::parse(&r.text(column)?).ok_or_else(|| DbError::other("unknown role"))
}

impl Invite {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            code: r.text("code")?,
            workspace_id: WorkspaceId(r.uuid("workspace_id")?),
            role: role_at(r, "role")?,
            uses: r.int("uses")?,
            max_uses: r.opt_int("max_uses")?,
            expires_at_ms: r.opt_int("expires_ms")?,
            revoked: r.bool("revoked")?,
            valid: r.bool("valid")?,
            created_by: UserId(r.uuid("created_by")?),
            created_at_ms: r.int("created_ms")?,
        })
    }
}

pub async fn create(
    db: &impl Sql,
    code: &str,
    ws: WorkspaceId,
    by: UserId,
    role: Role,
    max_uses: Option<i64>,
    expires_in_secs: Option<i64>,
) -> Result<Invite, DbError> {
    let sql = format!(
        "WITH i AS (INSERT INTO invites (code, workspace_id, created_by, role, max_uses, expires_at)
                    VALUES ($1, $2, $3, $4, $5::int8::int4,
                            CASE WHEN $6::int8 IS NULL THEN NULL
                                 ELSE now() + make_interval(secs => $6::int8::float8) END)
                    RETURNING *)
         SELECT {COLUMNS}, {VALID} AS valid FROM i"
    );
    let rows = db
        .query(
            &sql,
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
    rows.first().map(Invite::from_row).transpose()?.ok_or_else(|| DbError::other("insert returned no row"))
}

/// The workspace's invites, newest first, at most [`LIST_LIMIT`].
pub async fn list(db: &impl Sql, ws: WorkspaceId) -> Result<Vec<Invite>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS}, {VALID} AS valid FROM invites i WHERE i.workspace_id = $1
         ORDER BY i.created_at DESC, i.code LIMIT $2"
    );
    let rows = db.query(&sql, &[Value::Uuid(ws.0), Value::Int(LIST_LIMIT)]).await?;
    rows.iter().map(Invite::from_row).collect()
}

/// Revokes an invite of this workspace (again is a no-op); `false` if there is no such
/// invite in it.
pub async fn revoke(db: &impl Sql, ws: WorkspaceId, code: &str) -> Result<bool, DbError> {
    let n = db
        .execute(
            "UPDATE invites SET revoked_at = coalesce(revoked_at, now()) WHERE code = $1 AND workspace_id = $2",
            &[Value::Text(code.into()), Value::Uuid(ws.0)],
        )
        .await?;
    Ok(n > 0)
}

/// What an invite link's landing page shows.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub workspace_id: WorkspaceId,
    pub workspace_name: String,
    pub role: Role,
    pub valid: bool,
    /// The caller is already an active member (accepting changes nothing).
    pub already_member: bool,
}

pub async fn preview(db: &impl Sql, code: &str, user: UserId) -> Result<Option<Preview>, DbError> {
    let sql = format!(
        "SELECT i.workspace_id, w.name, i.role, {VALID} AS valid,
                EXISTS (SELECT 1 FROM workspace_members m WHERE m.workspace_id = i.workspace_id AND m.user_id = $2
                          AND m.removed_at IS NULL AND m.deactivated_at IS NULL) AS member
         FROM invites i JOIN workspaces w ON w.id = i.workspace_id WHERE i.code = $1"
    );
    let rows = db.query(&sql, &[Value::Text(code.into()), Value::Uuid(user.0)]).await?;
    rows.first()
        .map(|r| {
            Ok(Preview {
                workspace_id: WorkspaceId(r.uuid("workspace_id")?),
                workspace_name: r.text("name")?,
                role: role_at(r, "role")?,
                valid: r.bool("valid")?,
                already_member: r.bool("member")?,
            })
        })
        .transpose()
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
    /// The user was removed from, or is deactivated in, this workspace: an invite undoes
    /// neither (leaving by choice is undone: that is a `Joined`).
    Barred,
}

/// Accepts an invite. Joining and taking a use happen in one statement, and only together:
/// the invite row is locked first, so concurrent acceptances of the last use cannot both
/// pass (the loser re-checks the committed `uses`), and a use is only taken when a
/// membership was actually added.
pub async fn redeem(db: &impl Sql, code: &str, user: UserId) -> Result<Redeem, DbError> {
    if let Some(known) = membership(db, code, user).await? {
        return Ok(known);
    }
    let sql = format!(
        "WITH i AS (SELECT i.code, i.workspace_id, i.role FROM invites i WHERE i.code = $1 AND {VALID}
                    FOR NO KEY UPDATE),
         joined AS (INSERT INTO workspace_members (workspace_id, user_id, role)
                    SELECT workspace_id, $2, role FROM i
                    ON CONFLICT (workspace_id, user_id) DO UPDATE
                        SET role = EXCLUDED.role, removed_at = NULL, left_by_choice = false, joined_at = now()
                        WHERE workspace_members.removed_at IS NOT NULL AND workspace_members.left_by_choice
                          AND workspace_members.deactivated_at IS NULL
                    RETURNING workspace_id, role),
         used AS (UPDATE invites SET uses = uses + 1 WHERE code = $1 AND EXISTS (SELECT 1 FROM joined))
         SELECT workspace_id, role FROM joined"
    );
    let rows = db.query(&sql, &[Value::Text(code.into()), Value::Uuid(user.0)]).await?;
    match rows.first() {
        Some(r) => Ok(Redeem::Joined { workspace: WorkspaceId(r.uuid("workspace_id")?), role: role_at(r, "role")? }),
        // Nothing added: the invite is not valid, or a concurrent request made them a member.
        None => Ok(membership(db, code, user).await?.unwrap_or(Redeem::Invalid)),
    }
}

/// The outcome when the user already has a membership row in the invite's workspace; `None`
/// when there is none, or when they left by choice and may join again.
async fn membership(db: &impl Sql, code: &str, user: UserId) -> Result<Option<Redeem>, DbError> {
    let rows = db
        .query(
            "SELECT i.workspace_id,
                    ((m.removed_at IS NOT NULL AND NOT m.left_by_choice) OR m.deactivated_at IS NOT NULL) AS barred,
                    (m.removed_at IS NOT NULL AND m.left_by_choice AND m.deactivated_at IS NULL) AS left
             FROM invites i JOIN workspace_members m ON m.workspace_id = i.workspace_id AND m.user_id = $2
             WHERE i.code = $1",
            &[Value::Text(code.into()), Value::Uuid(user.0)],
        )
        .await?;
    let Some(r) = rows.first() else { return Ok(None) };
    if r.bool("left")? {
        // They left by choice: the invite brings them back like a newcomer.
        return Ok(None);
    }
    let workspace = WorkspaceId(r.uuid("workspace_id")?);
    Ok(Some(if r.bool("barred")? { Redeem::Barred } else { Redeem::AlreadyMember { workspace } }))
}
