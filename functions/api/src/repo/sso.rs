//! Single sign-on (migration 0017): login attempts and linked provider identities.

use ocomms_core::ids::UserId;

use crate::ports::{DbError, Sql, Value};

/// How long a login attempt may take at the provider.
pub const ATTEMPT_TTL_SECS: i64 = 10 * 60;

pub async fn start(
    db: &impl Sql,
    state_hash: &str,
    browser_hash: &str,
    nonce: &str,
    verifier: &str,
) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO oidc_logins (state_hash, browser_hash, nonce, verifier, expires_at)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::float8))",
        &[
            Value::Text(state_hash.into()),
            Value::Text(browser_hash.into()),
            Value::Text(nonce.into()),
            Value::Text(verifier.into()),
            Value::Float(ATTEMPT_TTL_SECS as f64),
        ],
    )
    .await?;
    // Attempts never finished are dropped as new ones start.
    db.execute("DELETE FROM oidc_logins WHERE expires_at < now() - interval '1 hour'", &[]).await?;
    Ok(())
}

/// Takes the attempt (once), if live and started by this browser: its nonce and verifier.
pub async fn take(db: &impl Sql, state_hash: &str, browser_hash: &str) -> Result<Option<(String, String)>, DbError> {
    let rows = db
        .query(
            "DELETE FROM oidc_logins WHERE state_hash = $1 AND browser_hash = $2 AND expires_at > now()
             RETURNING nonce, verifier",
            &[Value::Text(state_hash.into()), Value::Text(browser_hash.into())],
        )
        .await?;
    rows.first().map(|r| Ok((r.text("nonce")?, r.text("verifier")?))).transpose()
}

/// The account linked to the provider's subject, if active.
pub async fn linked(db: &impl Sql, issuer: &str, subject: &str) -> Result<Option<UserId>, DbError> {
    let rows = db
        .query(
            "SELECT i.user_id FROM oidc_identities i JOIN users u ON u.id = i.user_id
             WHERE i.issuer = $1 AND i.subject = $2 AND u.deactivated_at IS NULL",
            &[Value::Text(issuer.into()), Value::Text(subject.into())],
        )
        .await?;
    rows.first().map(|r| r.uuid("user_id").map(UserId)).transpose()
}

pub async fn link(db: &impl Sql, issuer: &str, subject: &str, user: UserId) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO oidc_identities (issuer, subject, user_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        &[Value::Text(issuer.into()), Value::Text(subject.into()), Value::Uuid(user.0)],
    )
    .await?;
    Ok(())
}
