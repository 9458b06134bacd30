//! Login sessions: refresh-token families.

use ocomms_core::ids::UserId;
use uuid::Uuid;

use crate::ports::{DbError, Sql, Value};

pub async fn insert_token(
    db: &impl Sql,
    token_hash: &str,
    family: Uuid,
    user: UserId,
    ttl_secs: i64,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at)
         VALUES ($1, $2, $3, now() + make_interval(secs => $4))",
        &[Value::Text(token_hash.into()), Value::Uuid(family), Value::Uuid(user.0), Value::Float(ttl_secs as f64)],
    )
    .await?;
    Ok(())
}

pub enum Redeem {
    /// The token was live; it is now used, and the caller issues the next one in `family`.
    Rotated { family: Uuid, user: UserId },
    /// The token had been used before: the family is now revoked.
    Reused { family: Option<Uuid>, user: Option<UserId> },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Marks a refresh token used, atomically, so two concurrent refreshes cannot both win.
pub async fn redeem(db: &impl Sql, token_hash: &str) -> Result<Redeem, DbError> {
    let rows = db
        .query(
            "UPDATE refresh_tokens SET used_at = now()
             WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now()
               AND user_id IN (SELECT id FROM users WHERE deactivated_at IS NULL)
             RETURNING family_id, user_id",
            &[Value::Text(token_hash.into())],
        )
        .await?;
    if let Some(r) = rows.first() {
        return Ok(Redeem::Rotated { family: r.uuid("family_id")?, user: UserId(r.uuid("user_id")?) });
    }
    let revoked = db
        .query(
            "WITH used AS (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL)
             UPDATE refresh_tokens SET revoked_at = now()
             WHERE family_id IN (SELECT family_id FROM used) AND revoked_at IS NULL
             RETURNING family_id, user_id",
            &[Value::Text(token_hash.into())],
        )
        .await?;
    let was_used = !revoked.is_empty()
        || !db
            .query(
                "SELECT 1 AS one FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL",
                &[Value::Text(token_hash.into())],
            )
            .await?
            .is_empty();
    let family = revoked.first().map(|r| r.uuid("family_id")).transpose()?;
    let user = revoked.first().map(|r| r.uuid("user_id").map(UserId)).transpose()?;
    Ok(if was_used { Redeem::Reused { family, user } } else { Redeem::Invalid })
}

/// Ends a session: every token of the family, and with it every access token naming it.
/// Returns the session's user when something was revoked.
pub async fn revoke_family(db: &impl Sql, family: Uuid) -> Result<Option<UserId>, DbError> {
    let rows = db
        .query(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL
             RETURNING user_id",
            &[Value::Uuid(family)],
        )
        .await?;
    rows.first().map(|r| r.uuid("user_id").map(UserId)).transpose()
}

/// Ends every session of a user (removal, deactivation).
pub async fn revoke_all(db: &impl Sql, user: UserId) -> Result<(), DbError> {
    db.execute(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
        &[Value::Uuid(user.0)],
    )
    .await?;
    Ok(())
}

pub async fn family_of(db: &impl Sql, token_hash: &str) -> Result<Option<Uuid>, DbError> {
    let rows = db
        .query("SELECT family_id FROM refresh_tokens WHERE token_hash = $1", &[Value::Text(token_hash.into())])
        .await?;
    rows.first().map(|r| r.uuid("family_id")).transpose()
}

/// Is the session still live and its user active? Checked on every request, so logout and
/// deactivation take effect at once rather than when the access token expires.
pub async fn is_live(db: &impl Sql, user: UserId, family: Uuid) -> Result<bool, DbError> {
    let rows = db
        .query(
            "SELECT 1 AS one FROM users u WHERE u.id = $1 AND u.deactivated_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = $2 AND t.revoked_at IS NOT NULL)
               AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = $2 AND t.user_id = $1)",
            &[Value::Uuid(user.0), Value::Uuid(family)],
        )
        .await?;
    Ok(!rows.is_empty())
}
