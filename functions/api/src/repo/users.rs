use ocomms_core::ids::UserId;
use serde::Serialize;

use crate::ports::{DbError, Row, Sql, Value};

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub created_at_ms: i64,
}

impl User {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            id: UserId(r.uuid("id")?),
            email: r.text("email")?,
            display_name: r.text("display_name")?,
            created_at_ms: r.time_ms("created_at")?,
        })
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
) -> Result<CreateOutcome, DbError> {
    let res = db
        .query(
            "INSERT INTO users (id, email, display_name, password_hash) VALUES ($1, $2, $3, $4)
             RETURNING id, email, display_name, created_at",
            &[
                Value::Uuid(id.0),
                Value::Text(email.into()),
                Value::Text(display_name.into()),
                Value::Text(password_hash.into()),
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

/// The active account with this email and its password hash.
pub async fn by_email(db: &impl Sql, email: &str) -> Result<Option<(User, String)>, DbError> {
    let rows = db
        .query(
            "SELECT id, email, display_name, created_at, password_hash FROM users
             WHERE email = $1 AND deactivated_at IS NULL",
            &[Value::Text(email.into())],
        )
        .await?;
    rows.first().map(|r| Ok((User::from_row(r)?, r.text("password_hash")?))).transpose()
}

pub async fn by_id(db: &impl Sql, id: UserId) -> Result<Option<User>, DbError> {
    let rows =
        db.query("SELECT id, email, display_name, created_at FROM users WHERE id = $1", &[Value::Uuid(id.0)]).await?;
    rows.first().map(User::from_row).transpose()
}
