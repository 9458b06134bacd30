//! Rate-limit buckets (migration 0014): one statement takes a token or says how many are
//! left, so concurrent requests cannot both take the last one.

use crate::ports::{DbError, Sql, Value};

/// Takes a token from `key`'s bucket (`burst` at most, refilled at `per_sec`). `Ok(None)`
/// when one was taken, `Ok(Some(left))` with the tokens left when the bucket is empty.
pub async fn take(db: &impl Sql, key: &str, burst: f64, per_sec: f64) -> Result<Option<f64>, DbError> {
    let rows = db
        .query(
            "WITH b AS (SELECT least($2::float8, tokens + extract(epoch FROM now() - at) * $3::float8) AS now_tokens
                        FROM rate_buckets WHERE key = $1),
                  took AS (INSERT INTO rate_buckets AS r (key, tokens, at) VALUES ($1, $2::float8 - 1, now())
                           ON CONFLICT (key) DO UPDATE
                               SET tokens = least($2::float8, r.tokens + extract(epoch FROM now() - r.at) * $3::float8) - 1,
                                   at = now()
                               WHERE least($2::float8, r.tokens + extract(epoch FROM now() - r.at) * $3::float8) >= 1
                           RETURNING 1)
             SELECT EXISTS (SELECT 1 FROM took) AS taken, coalesce((SELECT now_tokens FROM b), $2::float8) AS left",
            &[Value::Text(key.into()), Value::Float(burst), Value::Float(per_sec)],
        )
        .await?;
    let r = rows.first().ok_or_else(|| DbError::other("the bucket statement returned no row"))?;
    if r.bool("taken")? {
        return Ok(None);
    }
    Ok(Some(match r.get("left")? {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        _ => 0.0,
    }))
}

/// Drops buckets that have refilled long since (a day without use): they hold nothing a
/// fresh bucket would not.
pub async fn sweep(db: &impl Sql) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM rate_buckets WHERE key IN
             (SELECT key FROM rate_buckets WHERE at < now() - interval '1 day' LIMIT 1000)",
        &[],
    )
    .await?;
    Ok(())
}
