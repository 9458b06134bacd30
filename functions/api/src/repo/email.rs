//! One-time links sent by email, and the outbox the host sends mail from (migration 0015).

use ocomms_core::email::Email;
use ocomms_core::ids::UserId;
use serde::Serialize;

use crate::ports::{DbError, Sql, Value};

/// PostgreSQL's notification channel for new outbox rows (the host listens).
pub const NOTIFY_CHANNEL: &str = "ocomms_email";

/// What a link is for; stored in `email_tokens.purpose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Reset,
    Magic,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
            Purpose::Magic => "magic",
        }
    }
}

pub struct NewLink<'a> {
    pub token_hash: &'a str,
    pub purpose: Purpose,
    /// The account (reset, magic link); none for a sign-up, whose account does not exist yet.
    pub user: Option<UserId>,
    pub email: &'a str,
    pub browser_hash: Option<&'a str>,
    /// The account a sign-up link creates: display name and password hash.
    pub signup: Option<(&'a str, &'a str)>,
    pub ttl_secs: i64,
}

/// Stores a link and queues its mail, in one statement: either both happen or neither.
pub async fn create_link(db: &impl Sql, link: &NewLink<'_>, mail: &Email) -> Result<(), DbError> {
    db.query(
        "WITH link AS (
             INSERT INTO email_tokens (token_hash, purpose, user_id, email, browser_hash, expires_at,
                                       display_name, password_hash)
             VALUES ($1, $2, $3::uuid, $4, $5::text, now() + make_interval(secs => $6::float8), $11::text, $12::text)
             RETURNING 1
         )
         INSERT INTO email_outbox (to_addr, subject, text_body, html_body)
         SELECT $7, $8, $9, $10 FROM link
         RETURNING id",
        &[
            Value::Text(link.token_hash.into()),
            Value::Text(link.purpose.as_str().into()),
            link.user.map_or(Value::Null, |u| Value::Uuid(u.0)),
            Value::Text(link.email.into()),
            link.browser_hash.map_or(Value::Null, |h| Value::Text(h.into())),
            Value::Float(link.ttl_secs as f64),
            Value::Text(mail.to.clone()),
            Value::Text(mail.subject.clone()),
            Value::Text(mail.text.clone()),
            Value::Text(mail.html.clone()),
            link.signup.map_or(Value::Null, |(name, _)| Value::Text(name.into())),
            link.signup.map_or(Value::Null, |(_, hash)| Value::Text(hash.into())),
        ],
    )
    .await?;
    Ok(())
}

/// The account a sign-up link creates.
pub struct Signup {
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
}

/// Uses a sign-up link (atomically: once). Every other sign-up link to the address dies
/// with it: the address's owner chose this one.
pub async fn redeem_signup(db: &impl Sql, token_hash: &str) -> Result<Option<Signup>, DbError> {
    let rows = db
        .query(
            "WITH used AS (
                 UPDATE email_tokens SET used_at = now()
                 WHERE token_hash = $1 AND purpose = 'verify' AND used_at IS NULL AND expires_at > now()
                 RETURNING email, display_name, password_hash
             ), others AS (
                 UPDATE email_tokens SET used_at = now()
                 WHERE email IN (SELECT email FROM used) AND purpose = 'verify' AND used_at IS NULL
                   AND token_hash <> $1
                 RETURNING 1
             )
             SELECT email, display_name, password_hash FROM used",
            &[Value::Text(token_hash.into())],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(Signup {
                email: r.text("email")?,
                display_name: r.text("display_name")?,
                password_hash: r.text("password_hash")?,
            })
        })
        .transpose()
}

/// Queues a mail that carries no link.
pub async fn queue(db: &impl Sql, mail: &Email) -> Result<(), DbError> {
    db.query(
        "INSERT INTO email_outbox (to_addr, subject, text_body, html_body) VALUES ($1, $2, $3, $4) RETURNING id",
        &[
            Value::Text(mail.to.clone()),
            Value::Text(mail.subject.clone()),
            Value::Text(mail.text.clone()),
            Value::Text(mail.html.clone()),
        ],
    )
    .await?;
    Ok(())
}

/// Uses a link: marks it used, atomically (two clicks cannot both sign in), if it is live,
/// of `purpose`, for the address its account still has, and (for magic links) presented by
/// the browser that asked for it. Other live links of the same purpose for the account die
/// with it. Returns the account.
pub async fn redeem(
    db: &impl Sql,
    token_hash: &str,
    purpose: Purpose,
    browser_hash: Option<&str>,
) -> Result<Option<UserId>, DbError> {
    let rows = db
        .query(
            "WITH used AS (
                 UPDATE email_tokens t SET used_at = now()
                 FROM users u
                 WHERE t.token_hash = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > now()
                   AND (t.browser_hash IS NULL OR t.browser_hash = $3::text)
                   AND u.id = t.user_id AND u.email = t.email AND u.deactivated_at IS NULL
                 RETURNING t.user_id
             ), others AS (
                 UPDATE email_tokens SET used_at = now()
                 WHERE user_id IN (SELECT user_id FROM used) AND purpose = $2 AND used_at IS NULL
                   AND token_hash <> $1
                 RETURNING 1
             )
             SELECT user_id FROM used",
            &[
                Value::Text(token_hash.into()),
                Value::Text(purpose.as_str().into()),
                browser_hash.map_or(Value::Null, |h| Value::Text(h.into())),
            ],
        )
        .await?;
    rows.first().map(|r| r.uuid("user_id").map(UserId)).transpose()
}

/// A mail as the outbox page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxMail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub state: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
}

/// The newest mails first, `limit` at most, older than `before` (an id) when given.
pub async fn outbox(db: &impl Sql, before: Option<i64>, limit: i64) -> Result<Vec<OutboxMail>, DbError> {
    let sql = concat!(
        "SELECT id, to_addr, subject, text_body, state, attempts, last_error, ",
        crate::ms!("created_at"),
        " AS created_at_ms FROM email_outbox WHERE ($1::int8 IS NULL OR id < $1::int8) ORDER BY id DESC LIMIT $2::int8"
    );
    let rows = db.query(sql, &[before.map_or(Value::Null, Value::Int), Value::Int(limit)]).await?;
    rows.iter()
        .map(|r| {
            Ok(OutboxMail {
                id: r.int("id")?,
                to: r.text("to_addr")?,
                subject: r.text("subject")?,
                text: r.text("text_body")?,
                state: r.text("state")?,
                attempts: r.int("attempts")? as i32,
                last_error: r.opt_text("last_error")?,
                created_at_ms: r.int("created_at_ms")?,
            })
        })
        .collect()
}

/// A mail the sender took, with a lease.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub attempts: i32,
    pub mail: Email,
}

/// How long a sender holds a mail before another may take it (a crashed sender's mail is
/// sent again after this).
pub const LEASE_SECS: f64 = 60.0;
/// Tries before a mail is given up on, and the wait after the n-th failure.
pub const MAX_ATTEMPTS: i32 = 6;
pub fn retry_after_secs(attempts: i32) -> f64 {
    30.0 * f64::from(1 << attempts.clamp(0, 10))
}

/// Takes up to `limit` due mails.
pub async fn claim(db: &impl Sql, limit: i64) -> Result<Vec<Claimed>, DbError> {
    let rows = db
        .query(
            "UPDATE email_outbox SET lease_until = now() + make_interval(secs => $2::float8), attempts = attempts + 1
             WHERE id IN (
                 SELECT id FROM email_outbox
                 WHERE state = 'pending' AND next_at <= now() AND (lease_until IS NULL OR lease_until < now())
                 ORDER BY id LIMIT $1::int8 FOR UPDATE SKIP LOCKED
             )
             RETURNING id, attempts, to_addr, subject, text_body, html_body",
            &[Value::Int(limit), Value::Float(LEASE_SECS)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                id: r.int("id")?,
                attempts: r.int("attempts")? as i32,
                mail: Email {
                    to: r.text("to_addr")?,
                    subject: r.text("subject")?,
                    text: r.text("text_body")?,
                    html: r.text("html_body")?,
                },
            })
        })
        .collect()
}

/// How a claimed mail ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    Sent,
    /// No mail server: the host logged it; admins read it on the outbox page.
    Logged,
    Failed(&'a str),
}

pub async fn finish(db: &impl Sql, claimed: &Claimed, outcome: Outcome<'_>) -> Result<(), DbError> {
    match outcome {
        Outcome::Sent | Outcome::Logged => {
            let state = if matches!(outcome, Outcome::Sent) { "sent" } else { "logged" };
            db.execute(
                "UPDATE email_outbox SET state = $2, sent_at = now(), lease_until = NULL, last_error = NULL
                 WHERE id = $1::int8",
                &[Value::Int(claimed.id), Value::Text(state.into())],
            )
            .await?;
        }
        Outcome::Failed(error) => {
            let give_up = claimed.attempts >= MAX_ATTEMPTS;
            db.execute(
                "UPDATE email_outbox SET lease_until = NULL, last_error = $2,
                     state = CASE WHEN $3::bool THEN 'failed' ELSE 'pending' END,
                     next_at = now() + make_interval(secs => $4::float8)
                 WHERE id = $1::int8",
                &[
                    Value::Int(claimed.id),
                    Value::Text(error.chars().take(500).collect()),
                    Value::Bool(give_up),
                    Value::Float(retry_after_secs(claimed.attempts)),
                ],
            )
            .await?;
        }
    }
    Ok(())
}

/// Milliseconds until the next pending mail is due, if any.
pub async fn next_due_ms(db: &impl Sql) -> Result<Option<i64>, DbError> {
    // Clamped in Rust: SQL's `greatest(0, NULL)` is 0, which made an empty outbox "due now".
    let rows = db
        .query(
            "SELECT (extract(epoch FROM min(greatest(next_at, coalesce(lease_until, next_at))) - now()) * 1000)::int8 AS ms
             FROM email_outbox WHERE state = 'pending'",
            &[],
        )
        .await?;
    Ok(rows.first().map(|r| r.opt_int("ms")).transpose()?.flatten().map(|ms| ms.max(0)))
}

/// Drops sent mail and used or expired links after a week: they hold addresses and links.
pub async fn prune(db: &impl Sql) -> Result<(), DbError> {
    db.execute("DELETE FROM email_outbox WHERE state <> 'pending' AND created_at < now() - interval '7 days'", &[])
        .await?;
    db.execute("DELETE FROM email_tokens WHERE expires_at < now() - interval '7 days'", &[]).await?;
    Ok(())
}
