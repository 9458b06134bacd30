//! Profile pictures (migration 0016): uploads in our storage, served as thumbnails.

use ocomms_core::ids::UserId;
use uuid::Uuid;

use crate::ports::{DbError, Sql, Value};

/// The URL path an avatar is served at: what `users.avatar_url` holds.
pub fn url_path(id: Uuid) -> String {
    format!("/api/v1/avatars/{id}")
}

pub async fn start(db: &impl Sql, id: Uuid, user: UserId, upload_key: &str) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO avatars (id, user_id, upload_key) VALUES ($1, $2, $3)",
        &[Value::Uuid(id), Value::Uuid(user.0), Value::Text(upload_key.into())],
    )
    .await?;
    Ok(())
}

/// A pending upload of `user`: its upload key.
pub async fn pending(db: &impl Sql, id: Uuid, user: UserId) -> Result<Option<String>, DbError> {
    let rows = db
        .query(
            "SELECT upload_key FROM avatars WHERE id = $1 AND user_id = $2 AND state = 'pending'",
            &[Value::Uuid(id), Value::Uuid(user.0)],
        )
        .await?;
    rows.first().map(|r| r.text("upload_key")).transpose()
}

/// Makes the avatar the user's picture, replacing the one before, in one statement.
/// Returns the thumbnails no longer served (to remove from storage), or `None` when the
/// upload was not pending any more (a concurrent call finished it).
pub async fn finish(db: &impl Sql, id: Uuid, user: UserId, thumb_key: &str) -> Result<Option<Vec<String>>, DbError> {
    let rows = db
        .query(
            "WITH done AS (
                 UPDATE avatars SET state = 'ready', thumb_key = $3
                 WHERE id = $1 AND user_id = $2 AND state = 'pending' RETURNING id
             ), old AS (
                 UPDATE avatars SET state = 'replaced'
                 WHERE user_id = $2 AND state = 'ready' AND id <> $1 AND EXISTS (SELECT 1 FROM done)
                 RETURNING thumb_key
             ), profile AS (
                 UPDATE users SET avatar_url = $4 WHERE id = $2 AND EXISTS (SELECT 1 FROM done) RETURNING id
             )
             SELECT (SELECT count(*) FROM done)::int8 AS done, (SELECT count(*) FROM profile)::int8 AS p,
                    coalesce((SELECT array_to_string(array_agg(thumb_key), ',') FROM old), '') AS old",
            &[Value::Uuid(id), Value::Uuid(user.0), Value::Text(thumb_key.into()), Value::Text(url_path(id))],
        )
        .await?;
    let Some(r) = rows.first() else { return Ok(None) };
    if r.int("done")? == 0 {
        return Ok(None);
    }
    Ok(Some(r.text("old")?.split(',').filter(|k| !k.is_empty()).map(str::to_string).collect()))
}

/// Removes the user's picture; returns the thumbnails no longer served.
pub async fn clear(db: &impl Sql, user: UserId) -> Result<Vec<String>, DbError> {
    let rows = db
        .query(
            "WITH old AS (
                 UPDATE avatars SET state = 'replaced' WHERE user_id = $1 AND state = 'ready' RETURNING thumb_key
             ), profile AS (
                 UPDATE users SET avatar_url = '' WHERE id = $1 RETURNING id
             )
             SELECT thumb_key FROM old WHERE thumb_key IS NOT NULL",
            &[Value::Uuid(user.0)],
        )
        .await?;
    rows.iter().map(|r| r.text("thumb_key")).collect()
}

/// A served avatar's thumbnail key.
pub async fn served(db: &impl Sql, id: Uuid) -> Result<Option<String>, DbError> {
    let rows = db.query("SELECT thumb_key FROM avatars WHERE id = $1 AND state = 'ready'", &[Value::Uuid(id)]).await?;
    rows.first().map(|r| r.opt_text("thumb_key")).transpose().map(Option::flatten)
}

/// Drops a refused upload's row.
pub async fn discard(db: &impl Sql, id: Uuid) -> Result<(), DbError> {
    db.execute("DELETE FROM avatars WHERE id = $1 AND state = 'pending'", &[Value::Uuid(id)]).await?;
    Ok(())
}
