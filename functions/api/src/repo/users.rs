//! Accounts and profiles.

use ocomms_core::ids::UserId;
use serde::Serialize;

use crate::ports::{DbError, Row, Sql, Value};

/// The account as its owner sees it (`/me`, sign-up, login).
#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub avatar_url: String,
    pub status_text: String,
    pub time_zone: String,
    pub created_at_ms: i64,
}

const COLUMNS: &str = concat!(
    "id, email, display_name, avatar_url, status_text, time_zone, ",
    crate::ms!("created_at"),
    " AS created_at_ms"
);

impl User {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            id: UserId(r.uuid("id")?),
            email: r.text("email")?,
            display_name: r.text("display_name")?,
            avatar_url: r.text("avatar_url")?,
            status_text: r.text("status_text")?,
            time_zone: r.text("time_zone")?,
            created_at_ms: r.int("created_at_ms")?,
        })
    }
}

/// What colleagues see of a user: no email, no account dates.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub id: UserId,
    pub display_name: String,
    pub avatar_url: String,
    pub status_text: String,
    pub time_zone: String,
}

impl From<User> for Profile {
    fn from(u: User) -> Self {
        Self {
            id: u.id,
            display_name: u.display_name,
            avatar_url: u.avatar_url,
            status_text: u.status_text,
            time_zone: u.time_zone,
        }
    }
}

pub enum CreateOutcome {
    Created(User),
    EmailTaken,
}

pub async fn create(
    db: &impl Sql,
    id: UserId,
    email: &str,
    display_name: &str,
    password_hash: &str,
    verified: bool,
) -> Result<CreateOutcome, DbError> {
    let sql = format!(
        "INSERT INTO users (id, email, display_name, password_hash, email_verified_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $5::bool THEN now() END) RETURNING {COLUMNS}"
    );
    let res = db
        .query(
            &sql,
            &[
                Value::Uuid(id.0),
                Value::Text(email.into()),
                Value::Text(display_name.into()),
                Value::Text(password_hash.into()),
                Value::Bool(verified),
            ],
        )
        .await;
    match res {
        Ok(rows) => rows
            .first()
            .map(User::from_row)
            .transpose()?
            .map(CreateOutcome::Created)
            .ok_or_else(|| DbError::other("insert returned no row")),
        Err(e) if e.is_unique_violation() => Ok(CreateOutcome::EmailTaken),
        Err(e) => Err(e),
    }
}

/// The active account with this email and its password hash (a bot has none).
pub async fn by_email(db: &impl Sql, email: &str) -> Result<Option<(User, String)>, DbError> {
    let sql =
        format!("SELECT {COLUMNS}, password_hash FROM users WHERE email = $1 AND deactivated_at IS NULL AND NOT bot");
    let rows = db.query(&sql, &[Value::Text(email.into())]).await?;
    rows.first().map(|r| Ok((User::from_row(r)?, r.text("password_hash")?))).transpose()
}

/// Does any account (active or not, person or bot) hold this address?
pub async fn email_taken(db: &impl Sql, email: &str) -> Result<bool, DbError> {
    let rows = db.query("SELECT 1 AS one FROM users WHERE email = $1", &[Value::Text(email.into())]).await?;
    Ok(!rows.is_empty())
}

/// Sets a new password (a reset, which also proves the address is the owner's).
pub async fn set_password(db: &impl Sql, id: UserId, password_hash: &str) -> Result<(), DbError> {
    db.execute(
        "UPDATE users SET password_hash = $2, email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1",
        &[Value::Uuid(id.0), Value::Text(password_hash.into())],
    )
    .await?;
    Ok(())
}

/// Marks the address verified (a magic link followed proves it too).
pub async fn mark_verified(db: &impl Sql, id: UserId) -> Result<(), DbError> {
    db.execute(
        "UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1",
        &[Value::Uuid(id.0)],
    )
    .await?;
    Ok(())
}

/// Is this address a verified, active account's? (Install admins must have proved theirs.)
pub async fn is_verified(db: &impl Sql, id: UserId) -> Result<bool, DbError> {
    let rows = db
        .query(
            "SELECT 1 AS one FROM users WHERE id = $1 AND email_verified_at IS NOT NULL AND deactivated_at IS NULL",
            &[Value::Uuid(id.0)],
        )
        .await?;
    Ok(!rows.is_empty())
}

pub async fn by_id(db: &impl Sql, id: UserId) -> Result<Option<User>, DbError> {
    let rows = db.query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"), &[Value::Uuid(id.0)]).await?;
    rows.first().map(User::from_row).transpose()
}

/// A profile change; `None` fields stay as they are. Values are already validated.
#[derive(Debug, Clone, Default)]
pub struct ProfilePatch {
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub status_text: Option<String>,
    pub time_zone: Option<String>,
}

pub async fn update_profile(db: &impl Sql, id: UserId, patch: &ProfilePatch) -> Result<Option<User>, DbError> {
    let sql = format!(
        "UPDATE users SET display_name = coalesce($2::text, display_name), avatar_url = coalesce($3::text, avatar_url),
                          status_text = coalesce($4::text, status_text), time_zone = coalesce($5::text, time_zone)
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let text = |v: &Option<String>| v.as_ref().map_or(Value::Null, |s| Value::Text(s.clone()));
    let params = [
        Value::Uuid(id.0),
        text(&patch.display_name),
        text(&patch.avatar_url),
        text(&patch.status_text),
        text(&patch.time_zone),
    ];
    let rows = db.query(&sql, &params).await?;
    rows.first().map(User::from_row).transpose()
}

/// `target`'s profile if `viewer` may see it: themself, or someone active in a workspace
/// where the viewer is active too. Anyone else is indistinguishable from a missing user.
pub async fn profile_for(db: &impl Sql, viewer: UserId, target: UserId) -> Result<Option<Profile>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users u WHERE u.id = $2 AND ($1::uuid = $2::uuid OR EXISTS (
           SELECT 1 FROM workspace_members a JOIN workspace_members b ON b.workspace_id = a.workspace_id
           WHERE a.user_id = $1 AND b.user_id = $2
             AND a.removed_at IS NULL AND a.deactivated_at IS NULL
             AND b.removed_at IS NULL AND b.deactivated_at IS NULL))"
    );
    let rows = db.query(&sql, &[Value::Uuid(viewer.0), Value::Uuid(target.0)]).await?;
    rows.first().map(|r| User::from_row(r).map(Profile::from)).transpose()
}
