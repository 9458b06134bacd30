//! `ocomms admin`: what an operator does to accounts without mail or a browser — the
//! first owner of a fresh install, a password reset for someone locked out, a promotion,
//! a deactivation. Each goes through the API's own validation and repositories, so an
//! account made here is the same as one made by signing up.
//!
//! Live sockets are not told: the commands change the database only, and clients see the
//! change when they next load it (a deactivated user's next request is refused, since
//! every request checks the session).

use ocomms_api::auth::password;
use ocomms_api::ports::{Sql, Value};
use ocomms_api::repo::{sessions, users, workspaces};
use ocomms_core::ids::{ChannelId, UserId, WorkspaceId};
use ocomms_core::validate;

use crate::db::PgSql;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("no account has the address {0}")]
    NoSuchUser(String),
    #[error("no workspace is named or has the id {0:?}")]
    NoSuchWorkspace(String),
    #[error("{0:?} names {1} workspaces: give its id instead (`ocomms admin list-workspaces`)")]
    AmbiguousWorkspace(String, usize),
    #[error("{email} is not a member of {workspace}")]
    NotAMember { email: String, workspace: String },
    #[error("an account with the address {0} exists already")]
    EmailTaken(String),
    #[error("database: {0}")]
    Db(String),
}

impl From<ocomms_api::ports::DbError> for AdminError {
    fn from(e: ocomms_api::ports::DbError) -> Self {
        Self::Db(e.to_string())
    }
}

impl From<ocomms_core::error::ApiError> for AdminError {
    fn from(e: ocomms_core::error::ApiError) -> Self {
        Self::Invalid(e.message)
    }
}

fn random<const N: usize>() -> Result<[u8; N], AdminError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AdminError::Invalid(format!("no randomness: {e}")))?;
    Ok(bytes)
}

/// A password for someone who will change it: 20 characters from an alphabet without
/// look-alikes (about 115 bits).
pub fn generate_password() -> Result<String, AdminError> {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let bytes: [u8; 20] = random()?;
    Ok(bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect())
}

fn hash(pw: &str) -> Result<String, AdminError> {
    validate::password(pw)?;
    password::hash(pw, random()?).map_err(|e| AdminError::Invalid(e.to_string()))
}

/// What `create-user` made.
#[derive(Debug)]
pub struct Created {
    pub user: UserId,
    pub workspace: Option<(WorkspaceId, String)>,
}

/// A verified account (the operator vouches for the address), and with `workspace` a new
/// workspace it owns: the first owner of an install.
pub async fn create_user(
    sql: &PgSql,
    email: &str,
    name: &str,
    pw: &str,
    workspace: Option<&str>,
) -> Result<Created, AdminError> {
    let email = validate::email(email)?;
    let name = validate::display_name(name, "name", validate::MAX_DISPLAY_NAME_CHARS)?;
    let ws_name =
        workspace.map(|w| validate::display_name(w, "workspace", validate::MAX_WORKSPACE_NAME_CHARS)).transpose()?;
    let hash = hash(pw)?;
    let id = UserId::from_bytes(random()?);
    match users::create(sql, id, &email, &name, &hash, true).await? {
        users::CreateOutcome::Created(_) => {}
        users::CreateOutcome::EmailTaken => return Err(AdminError::EmailTaken(email)),
    }
    let workspace = match ws_name {
        Some(ws_name) => {
            let ws = WorkspaceId::from_bytes(random()?);
            workspaces::create(sql, ws, &ws_name, id, ChannelId::from_bytes(random()?)).await?;
            Some((ws, ws_name))
        }
        None => None,
    };
    Ok(Created { user: id, workspace })
}

async fn user_by_email(sql: &PgSql, email: &str) -> Result<(UserId, String), AdminError> {
    let email = validate::email(email)?;
    let rows = sql.query("SELECT id FROM users WHERE email = $1 AND NOT bot", &[Value::Text(email.clone())]).await?;
    let row = rows.first().ok_or_else(|| AdminError::NoSuchUser(email.clone()))?;
    Ok((UserId(row.uuid("id")?), email))
}

/// Sets the password, marks the address verified (the operator vouches for it) and ends
/// every session, as a reset by mail does.
pub async fn reset_password(sql: &PgSql, email: &str, pw: &str) -> Result<(), AdminError> {
    let (id, _) = user_by_email(sql, email).await?;
    users::set_password(sql, id, &hash(pw)?).await?;
    sessions::revoke_all(sql, id).await?;
    Ok(())
}

/// A workspace by id or by its exact name (names are not unique: two matches are refused).
async fn find_workspace(sql: &PgSql, key: &str) -> Result<(WorkspaceId, String), AdminError> {
    let rows = match key.parse::<uuid::Uuid>() {
        Ok(id) => sql.query("SELECT id, name FROM workspaces WHERE id = $1", &[Value::Uuid(id)]).await?,
        Err(_) => sql.query("SELECT id, name FROM workspaces WHERE name = $1", &[Value::Text(key.into())]).await?,
    };
    match rows.as_slice() {
        [] => Err(AdminError::NoSuchWorkspace(key.into())),
        [row] => Ok((WorkspaceId(row.uuid("id")?), row.text("name")?)),
        many => Err(AdminError::AmbiguousWorkspace(key.into(), many.len())),
    }
}

/// The roles `promote` grants, highest last.
const RANKS: [&str; 4] = ["guest", "member", "admin", "owner"];

/// Raises a member to `role` (admin or owner). Lowering is the web client's, where the
/// policies about the last owner apply; here a lower or equal role is refused.
pub async fn promote(sql: &PgSql, email: &str, workspace: &str, role: &str) -> Result<String, AdminError> {
    let new_rank = RANKS
        .iter()
        .position(|r| *r == role)
        .filter(|rank| *rank >= 2)
        .ok_or_else(|| AdminError::Invalid(format!("{role:?} is not a role to promote to: admin or owner")))?;
    let (user, email) = user_by_email(sql, email).await?;
    let (ws, ws_name) = find_workspace(sql, workspace).await?;
    let rows = sql
        .query(
            "SELECT role FROM workspace_members WHERE workspace_id = $1 AND user_id = $2 AND removed_at IS NULL",
            &[Value::Uuid(ws.0), Value::Uuid(user.0)],
        )
        .await?;
    let current = rows.first().ok_or(AdminError::NotAMember { email: email.clone(), workspace: ws_name.clone() })?;
    let current = current.text("role")?;
    if RANKS.iter().position(|r| *r == current).is_some_and(|rank| rank >= new_rank) {
        return Err(AdminError::Invalid(format!("{email} is already {current} of {ws_name}")));
    }
    sql.execute(
        "UPDATE workspace_members SET role = $3 WHERE workspace_id = $1 AND user_id = $2 AND removed_at IS NULL",
        &[Value::Uuid(ws.0), Value::Uuid(user.0), Value::Text(role.into())],
    )
    .await?;
    Ok(ws_name)
}

/// Turns an account off everywhere (or back on). Its sessions end at once: every request
/// checks that the user is active. Its messages stay.
pub async fn set_deactivated(sql: &PgSql, email: &str, deactivate: bool) -> Result<bool, AdminError> {
    let (id, _) = user_by_email(sql, email).await?;
    let changed = if deactivate {
        sql.execute(
            "UPDATE users SET deactivated_at = now() WHERE id = $1 AND deactivated_at IS NULL",
            &[Value::Uuid(id.0)],
        )
        .await?
    } else {
        sql.execute(
            "UPDATE users SET deactivated_at = NULL WHERE id = $1 AND deactivated_at IS NOT NULL",
            &[Value::Uuid(id.0)],
        )
        .await?
    };
    if deactivate {
        sessions::revoke_all(sql, id).await?;
    }
    Ok(changed > 0)
}

/// One line of `list-workspaces`.
#[derive(Debug, serde::Serialize)]
pub struct WorkspaceSummary {
    pub id: uuid::Uuid,
    pub name: String,
    pub owners: Vec<String>,
    pub members: i64,
    pub channels: i64,
    pub messages: i64,
    pub created_at: String,
}

pub async fn list_workspaces(sql: &PgSql) -> Result<Vec<WorkspaceSummary>, AdminError> {
    let rows = sql
        .query(
            "SELECT w.id, w.name, to_char(w.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') AS created_at,
                    coalesce((SELECT string_agg(u.email, ',' ORDER BY u.email) FROM workspace_members m
                              JOIN users u ON u.id = m.user_id
                              WHERE m.workspace_id = w.id AND m.role = 'owner' AND m.removed_at IS NULL), '') AS owners,
                    (SELECT count(*) FROM workspace_members m
                      WHERE m.workspace_id = w.id AND m.removed_at IS NULL AND m.deactivated_at IS NULL) AS members,
                    (SELECT count(*) FROM channels c WHERE c.workspace_id = w.id AND c.kind <> 'dm') AS channels,
                    (SELECT count(*) FROM messages x JOIN channels c ON c.id = x.channel_id
                      WHERE c.workspace_id = w.id AND x.deleted_at IS NULL) AS messages
               FROM workspaces w ORDER BY w.created_at, w.id",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(WorkspaceSummary {
                id: r.uuid("id")?,
                name: r.text("name")?,
                owners: r.text("owners")?.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                members: r.int("members")?,
                channels: r.int("channels")?,
                messages: r.int("messages")?,
                created_at: r.text("created_at")?,
            })
        })
        .collect()
}

/// One line of `list-users`.
#[derive(Debug, serde::Serialize)]
pub struct UserSummary {
    pub id: uuid::Uuid,
    pub email: String,
    pub name: String,
    pub verified: bool,
    pub active: bool,
    pub workspaces: i64,
}

pub async fn list_users(sql: &PgSql) -> Result<Vec<UserSummary>, AdminError> {
    let rows = sql
        .query(
            "SELECT u.id, u.email, u.display_name, u.email_verified_at IS NOT NULL AS verified,
                    u.deactivated_at IS NULL AS active,
                    (SELECT count(*) FROM workspace_members m WHERE m.user_id = u.id AND m.removed_at IS NULL) AS workspaces
               FROM users u WHERE NOT u.bot ORDER BY u.email",
            &[],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(UserSummary {
                id: r.uuid("id")?,
                email: r.text("email")?,
                name: r.text("display_name")?,
                verified: r.bool("verified")?,
                active: r.bool("active")?,
                workspaces: r.int("workspaces")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.chars().count(), 20);
        assert_ne!(a, b);
        validate::password(&a).unwrap();
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() && !"0O1lI".contains(c)));
    }
}
