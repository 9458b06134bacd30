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
    let sql = format!("SELECT 1 AS one WHERE {}", live_condition("$1", "$2"));
    let rows = db.query(&sql, &[Value::Uuid(user.0), Value::Uuid(family)]).await?;
    Ok(!rows.is_empty())
}

/// SQL that is true when session `family` of `user` (parameters, e.g. `$1`, `$2`) is live and
/// the user active: [`is_live`], and statements that check the session along with their
/// own reads.
pub(crate) fn live_condition(user: &str, family: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM users u WHERE u.id = {user} AND u.deactivated_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = {family} AND t.revoked_at IS NOT NULL)
                   AND EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = {family} AND t.user_id = {user}))"
    )
}

/// What the owner sees of a session, to recognise it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionInfo {
    pub id: Uuid,
    /// How it began: `password`, `signup`, `magic_link`, `password_reset`.
    pub method: String,
    pub user_agent: String,
    pub address: String,
    pub created_at_ms: i64,
    pub last_seen_at_ms: i64,
}

/// How a session began, and from where.
pub struct Origin<'a> {
    pub method: &'a str,
    pub user_agent: &'a str,
    pub address: &'a str,
}

pub async fn record(db: &impl Sql, family: Uuid, user: UserId, origin: &Origin<'_>) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO sessions (id, user_id, method, user_agent, address) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING",
        &[
            Value::Uuid(family),
            Value::Uuid(user.0),
            Value::Text(origin.method.into()),
            Value::Text(origin.user_agent.chars().take(300).collect()),
            Value::Text(origin.address.chars().take(100).collect()),
        ],
    )
    .await?;
    Ok(())
}

/// The session was used (a refresh): what "last seen" shows.
pub async fn touch(db: &impl Sql, family: Uuid, address: &str) -> Result<(), DbError> {
    db.execute(
        "UPDATE sessions SET last_seen_at = now(), address = $2 WHERE id = $1",
        &[Value::Uuid(family), Value::Text(address.chars().take(100).collect())],
    )
    .await?;
    Ok(())
}

/// The user's live sessions, most recently used first.
pub async fn list(db: &impl Sql, user: UserId) -> Result<Vec<SessionInfo>, DbError> {
    let sql = concat!(
        "SELECT s.id, s.method, s.user_agent, s.address, ",
        crate::ms!("s.created_at"),
        " AS created_at_ms, ",
        crate::ms!("s.last_seen_at"),
        " AS last_seen_at_ms
         FROM sessions s
         WHERE s.user_id = $1
           AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = s.id AND t.revoked_at IS NOT NULL)
           AND EXISTS (SELECT 1 FROM refresh_tokens t
                       WHERE t.family_id = s.id AND t.used_at IS NULL AND t.expires_at > now())
         ORDER BY s.last_seen_at DESC LIMIT 200"
    );
    let rows = db.query(sql, &[Value::Uuid(user.0)]).await?;
    rows.iter()
        .map(|r| {
            Ok(SessionInfo {
                id: r.uuid("id")?,
                method: r.text("method")?,
                user_agent: r.text("user_agent")?,
                address: r.text("address")?,
                created_at_ms: r.int("created_at_ms")?,
                last_seen_at_ms: r.int("last_seen_at_ms")?,
            })
        })
        .collect()
}

/// Ends one of `user`'s sessions; false when it is not theirs or already over.
pub async fn revoke_own(db: &impl Sql, user: UserId, family: Uuid) -> Result<bool, DbError> {
    let rows = db
        .query(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND user_id = $2 AND revoked_at IS NULL
             RETURNING family_id",
            &[Value::Uuid(family), Value::Uuid(user.0)],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Ends every session of `user` but `keep`; returns the ended ones.
pub async fn revoke_others(db: &impl Sql, user: UserId, keep: Option<Uuid>) -> Result<Vec<Uuid>, DbError> {
    let rows = db
        .query(
            "UPDATE refresh_tokens SET revoked_at = now()
             WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR family_id <> $2::uuid)
             RETURNING family_id",
            &[Value::Uuid(user.0), keep.map_or(Value::Null, Value::Uuid)],
        )
        .await?;
    let mut ids = rows.iter().map(|r| r.uuid("family_id")).collect::<Result<Vec<_>, _>>()?;
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// How the session began (`oidc` for single sign-on).
pub async fn method_of(db: &impl Sql, family: Uuid) -> Result<Option<String>, DbError> {
    let rows = db.query("SELECT method FROM sessions WHERE id = $1", &[Value::Uuid(family)]).await?;
    rows.first().map(|r| r.text("method")).transpose()
}
