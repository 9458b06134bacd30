//! What apps receive: slash commands, event subscriptions, outgoing webhooks, the delivery
//! queue (filled by PostgreSQL triggers, migration 0013) and slash commands' `response_url`s.

use ocomms_core::ids::{AppId, ChannelId, CommandId, MessageId, OutgoingHookId, UserId, WorkspaceId};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::ms;
use crate::ports::{DbError, Row, Sql, Value};

/// Who is told that the queue has work: hosts `LISTEN` on it (the triggers notify too).
pub const NOTIFY_CHANNEL: &str = "ocomms_deliveries";
/// Finished deliveries stay this long in the log.
const KEEP_FINISHED: &str = "7 days";

/// A slash command as admins see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Command {
    pub id: CommandId,
    pub app_id: AppId,
    /// Without the slash.
    pub name: String,
    pub url: String,
    pub description: String,
    pub usage_hint: String,
    pub created_at_ms: i64,
}

pub const COMMAND_JSON: &str = concat!(
    "jsonb_build_object('id', c.id, 'app_id', c.app_id, 'name', c.name, 'url', c.url, 'description', c.description,
      'usage_hint', c.usage_hint, 'created_at_ms', ",
    ms!("c.created_at"),
    ")"
);

/// An outgoing webhook as admins see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutgoingHook {
    pub id: OutgoingHookId,
    pub app_id: AppId,
    /// `None`: every public channel (then trigger words are required).
    pub channel_id: Option<ChannelId>,
    pub trigger_words: Vec<String>,
    pub url: String,
    /// Slack's verification token, sent in each payload.
    pub token: String,
    pub created_at_ms: i64,
}

pub const OUTGOING_JSON: &str = concat!(
    "jsonb_build_object('id', o.id, 'app_id', o.app_id, 'channel_id', o.channel_id,
      'trigger_words', to_jsonb(o.trigger_words), 'url', o.url, 'token', o.token, 'created_at_ms', ",
    ms!("o.created_at"),
    ")"
);

fn one_json<T: serde::de::DeserializeOwned>(rows: &[Row], col: &str) -> Result<Option<T>, DbError> {
    rows.first()
        .map(|r| serde_json::from_value(r.json(col)?).map_err(|e| DbError::other(format!("{col}: {e}"))))
        .transpose()
}

fn text_array(items: &[String]) -> Value {
    Value::Json(Json::Array(items.iter().cloned().map(Json::String).collect()))
}

/// Sets where a live app's events go and which it gets; `false` if there is no such app.
pub async fn set_events(
    db: &impl Sql,
    ws: WorkspaceId,
    app: AppId,
    url: Option<&str>,
    events: &[String],
) -> Result<bool, DbError> {
    let n = db
        .execute(
            "UPDATE apps SET events_url = $3,
                    events = ARRAY(SELECT jsonb_array_elements_text($4::jsonb))
             WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL",
            &[
                Value::Uuid(app.0),
                Value::Uuid(ws.0),
                url.map_or(Value::Null, |u| Value::Text(u.into())),
                text_array(events),
            ],
        )
        .await?;
    Ok(n > 0)
}

pub struct NewCommand<'a> {
    pub id: CommandId,
    pub app: AppId,
    pub workspace: WorkspaceId,
    pub name: &'a str,
    pub url: &'a str,
    pub description: &'a str,
    pub usage_hint: &'a str,
    pub creator: UserId,
}

/// Adds a command; `None` when the workspace already has one of that name.
pub async fn create_command(db: &impl Sql, new: &NewCommand<'_>) -> Result<Option<Command>, DbError> {
    let sql = format!(
        "WITH c AS (INSERT INTO app_commands (id, app_id, workspace_id, name, url, description, usage_hint, created_by)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *)
         SELECT {COMMAND_JSON} AS command FROM c"
    );
    let params = [
        Value::Uuid(new.id.0),
        Value::Uuid(new.app.0),
        Value::Uuid(new.workspace.0),
        Value::Text(new.name.into()),
        Value::Text(new.url.into()),
        Value::Text(new.description.into()),
        Value::Text(new.usage_hint.into()),
        Value::Uuid(new.creator.0),
    ];
    match db.query(&sql, &params).await {
        Ok(rows) => one_json(&rows, "command"),
        Err(e) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes a command of the workspace; `false` if there was none.
pub async fn delete_command(db: &impl Sql, ws: WorkspaceId, id: CommandId) -> Result<bool, DbError> {
    let n = db
        .execute(
            "DELETE FROM app_commands WHERE id = $1 AND workspace_id = $2",
            &[Value::Uuid(id.0), Value::Uuid(ws.0)],
        )
        .await?;
    Ok(n > 0)
}

/// A command as the composer offers it.
#[derive(Debug, Clone, Serialize)]
pub struct CommandListing {
    pub name: String,
    pub description: String,
    pub usage_hint: String,
    pub app_name: String,
}

/// The workspace's commands, by name.
pub async fn list_commands(db: &impl Sql, ws: WorkspaceId) -> Result<Vec<CommandListing>, DbError> {
    db.query(
        "SELECT c.name, c.description, c.usage_hint, a.name AS app_name
         FROM app_commands c JOIN apps a ON a.id = c.app_id AND a.revoked_at IS NULL
         WHERE c.workspace_id = $1 ORDER BY c.name",
        &[Value::Uuid(ws.0)],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(CommandListing {
            name: r.text("name")?,
            description: r.text("description")?,
            usage_hint: r.text("usage_hint")?,
            app_name: r.text("app_name")?,
        })
    })
    .collect()
}

/// Where a command goes and who answers it.
#[derive(Debug, Clone)]
pub struct CommandTarget {
    pub app: AppId,
    pub app_name: String,
    pub bot: UserId,
    pub url: String,
    pub signing_secret: String,
    pub workspace_name: String,
}

/// The live app's command of that name in the workspace.
pub async fn command_target(db: &impl Sql, ws: WorkspaceId, name: &str) -> Result<Option<CommandTarget>, DbError> {
    let rows = db
        .query(
            "SELECT a.id, a.name, a.bot_user_id, c.url, a.signing_secret, w.name AS workspace_name
             FROM app_commands c JOIN apps a ON a.id = c.app_id AND a.revoked_at IS NULL
             JOIN workspaces w ON w.id = c.workspace_id
             WHERE c.workspace_id = $1 AND c.name = $2",
            &[Value::Uuid(ws.0), Value::Text(name.into())],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(CommandTarget {
                app: AppId(r.uuid("id")?),
                app_name: r.text("name")?,
                bot: UserId(r.uuid("bot_user_id")?),
                url: r.text("url")?,
                signing_secret: r.text("signing_secret")?,
                workspace_name: r.text("workspace_name")?,
            })
        })
        .transpose()
}

pub struct NewOutgoing<'a> {
    pub id: OutgoingHookId,
    pub app: AppId,
    pub workspace: WorkspaceId,
    pub channel: Option<ChannelId>,
    pub trigger_words: &'a [String],
    pub url: &'a str,
    pub token: &'a str,
    pub creator: UserId,
}

pub async fn create_outgoing(db: &impl Sql, new: &NewOutgoing<'_>) -> Result<OutgoingHook, DbError> {
    let sql = format!(
        "WITH o AS (INSERT INTO outgoing_hooks (id, app_id, workspace_id, channel_id, trigger_words, url, token, created_by)
                    VALUES ($1, $2, $3, $4, ARRAY(SELECT jsonb_array_elements_text($5::jsonb)), $6, $7, $8)
                    RETURNING *)
         SELECT {OUTGOING_JSON} AS hook FROM o"
    );
    let params = [
        Value::Uuid(new.id.0),
        Value::Uuid(new.app.0),
        Value::Uuid(new.workspace.0),
        new.channel.map_or(Value::Null, |c| Value::Uuid(c.0)),
        text_array(new.trigger_words),
        Value::Text(new.url.into()),
        Value::Text(new.token.into()),
        Value::Uuid(new.creator.0),
    ];
    one_json(&db.query(&sql, &params).await?, "hook")?.ok_or_else(|| DbError::other("insert returned no row"))
}

pub async fn delete_outgoing(db: &impl Sql, ws: WorkspaceId, id: OutgoingHookId) -> Result<bool, DbError> {
    let n = db
        .execute(
            "DELETE FROM outgoing_hooks WHERE id = $1 AND workspace_id = $2",
            &[Value::Uuid(id.0), Value::Uuid(ws.0)],
        )
        .await?;
    Ok(n > 0)
}

/// What a `response_url` posts as, and where.
#[derive(Debug, Clone)]
pub struct ResponseTarget {
    pub app: AppId,
    pub app_name: String,
    pub bot: UserId,
    pub channel: ChannelId,
    pub user: UserId,
    pub thread_root: Option<MessageId>,
}

pub struct NewResponseUrl {
    pub token_hash: String,
    pub app: AppId,
    pub channel: ChannelId,
    pub user: UserId,
    pub thread_root: Option<MessageId>,
    pub ttl_ms: i64,
}

pub async fn create_response_url(db: &impl Sql, new: &NewResponseUrl) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO response_urls (token_hash, app_id, channel_id, user_id, thread_root_id, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + $6::int8 * interval '1 millisecond')",
        &[
            Value::Text(new.token_hash.clone()),
            Value::Uuid(new.app.0),
            Value::Uuid(new.channel.0),
            Value::Uuid(new.user.0),
            new.thread_root.map_or(Value::Null, |m| Value::Uuid(m.0)),
            Value::Int(new.ttl_ms),
        ],
    )
    .await?;
    Ok(())
}

/// Why a `response_url` answered nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseUrlRefusal {
    Unknown,
    Expired,
    UsedUp,
}

/// Takes one use of a `response_url`.
pub async fn use_response_url(
    db: &impl Sql,
    token_hash: &str,
    max_uses: i64,
) -> Result<Result<ResponseTarget, ResponseUrlRefusal>, DbError> {
    let rows = db
        .query(
            "UPDATE response_urls r SET uses = r.uses + 1 FROM apps a
             WHERE r.token_hash = $1 AND r.uses < $2::int8 AND r.expires_at > now() AND a.id = r.app_id
               AND a.revoked_at IS NULL
             RETURNING r.app_id, a.name, a.bot_user_id, r.channel_id, r.user_id, r.thread_root_id",
            &[Value::Text(token_hash.into()), Value::Int(max_uses)],
        )
        .await?;
    if let Some(r) = rows.first() {
        return Ok(Ok(ResponseTarget {
            app: AppId(r.uuid("app_id")?),
            app_name: r.text("name")?,
            bot: UserId(r.uuid("bot_user_id")?),
            channel: ChannelId(r.uuid("channel_id")?),
            user: UserId(r.uuid("user_id")?),
            thread_root: r.opt_uuid("thread_root_id")?.map(MessageId),
        }));
    }
    let rows = db
        .query(
            "SELECT r.uses >= $2::int8 AS used_up, r.expires_at <= now() AS expired FROM response_urls r
             WHERE r.token_hash = $1",
            &[Value::Text(token_hash.into()), Value::Int(max_uses)],
        )
        .await?;
    Ok(Err(match rows.first() {
        None => ResponseUrlRefusal::Unknown,
        Some(r) if r.bool("expired")? => ResponseUrlRefusal::Expired,
        Some(r) if r.bool("used_up")? => ResponseUrlRefusal::UsedUp,
        // The app was revoked.
        Some(_) => ResponseUrlRefusal::Unknown,
    }))
}

/// A delivery taken from the queue to send now.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub app: AppId,
    pub kind: String,
    pub url: String,
    pub payload: Json,
    /// Counting this one.
    pub attempts: u32,
    /// Why the previous attempt failed, if one did.
    pub last_error: Option<String>,
    pub signing_secret: String,
    pub bot: UserId,
    pub app_name: String,
}

/// Takes up to `limit` deliveries that are due, each the oldest pending one of its app, and
/// holds them for `lease_ms`: no other sender takes them meanwhile, and if this one dies they
/// are taken again once the lease runs out.
pub async fn claim(db: &impl Sql, lease_ms: i64, limit: i64) -> Result<Vec<Claimed>, DbError> {
    let rows = db
        .query(
            "WITH heads AS (SELECT DISTINCT ON (app_id) id, next_at, lease_until FROM deliveries
                            WHERE state = 'pending' ORDER BY app_id, id),
                  due AS (SELECT id FROM heads WHERE next_at <= now() AND (lease_until IS NULL OR lease_until < now())
                          ORDER BY next_at, id LIMIT $2::int8)
             UPDATE deliveries d SET lease_until = now() + $1::int8 * interval '1 millisecond', attempts = d.attempts + 1
             FROM due, apps a
             WHERE d.id = due.id AND a.id = d.app_id AND d.state = 'pending'
               AND (d.lease_until IS NULL OR d.lease_until < now())
             RETURNING d.id, d.app_id, d.kind, d.url, d.payload, d.attempts, d.last_error, a.signing_secret, a.bot_user_id, a.name",
            &[Value::Int(lease_ms), Value::Int(limit)],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Claimed {
                id: r.int("id")?,
                app: AppId(r.uuid("app_id")?),
                kind: r.text("kind")?,
                url: r.text("url")?,
                payload: r.json("payload")?,
                attempts: u32::try_from(r.int("attempts")?).unwrap_or(u32::MAX),
                last_error: r.opt_text("last_error")?,
                signing_secret: r.text("signing_secret")?,
                bot: UserId(r.uuid("bot_user_id")?),
                app_name: r.text("name")?,
            })
        })
        .collect()
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        status: u16,
    },
    /// Tried again after `retry_in_ms`, or failed for good when `None`.
    Failed {
        status: Option<u16>,
        error: String,
        retry_in_ms: Option<i64>,
    },
}

pub async fn finish(db: &impl Sql, id: i64, outcome: &Outcome) -> Result<(), DbError> {
    match outcome {
        Outcome::Delivered { status } => {
            db.execute(
                "UPDATE deliveries SET state = 'delivered', last_status = $2::int8, last_error = NULL,
                        lease_until = NULL, finished_at = now()
                 WHERE id = $1::int8",
                &[Value::Int(id), Value::Int(i64::from(*status))],
            )
            .await?
        }
        Outcome::Failed { status, error, retry_in_ms } => {
            db.execute(
                "UPDATE deliveries SET last_status = $2::int8, last_error = $3, lease_until = NULL,
                        state = CASE WHEN $4::int8 IS NULL THEN 'failed' ELSE 'pending' END,
                        next_at = CASE WHEN $4::int8 IS NULL THEN next_at ELSE now() + $4::int8 * interval '1 millisecond' END,
                        finished_at = CASE WHEN $4::int8 IS NULL THEN now() END
                 WHERE id = $1::int8",
                &[
                    Value::Int(id),
                    status.map_or(Value::Null, |s| Value::Int(i64::from(s))),
                    Value::Text(error.clone()),
                    retry_in_ms.map_or(Value::Null, Value::Int),
                ],
            )
            .await?
        }
    };
    Ok(())
}

/// Milliseconds until the next delivery is due (0: now), `None` when nothing is pending.
pub async fn next_due_in_ms(db: &impl Sql) -> Result<Option<i64>, DbError> {
    // Clamped here, not with SQL's GREATEST, which skips NULLs: `greatest(0, NULL)` is 0,
    // and an empty queue read as "due now" had every host run rounds back to back.
    let rows = db
        .query(
            "SELECT (extract(epoch FROM min(greatest(h.next_at, coalesce(h.lease_until, h.next_at)) - now()))
                     * 1000)::int8 AS wait_ms
             FROM (SELECT DISTINCT ON (app_id) next_at, lease_until FROM deliveries
                   WHERE state = 'pending' ORDER BY app_id, id) h",
            &[],
        )
        .await?;
    Ok(rows.first().map(|r| r.opt_int("wait_ms")).transpose()?.flatten().map(|ms| ms.max(0)))
}

/// Drops finished deliveries past their time in the log, and spent `response_url`s.
pub async fn prune(db: &impl Sql) -> Result<(), DbError> {
    db.execute(
        &format!(
            "WITH old AS (DELETE FROM deliveries WHERE id IN
                             (SELECT id FROM deliveries WHERE state <> 'pending'
                              AND finished_at < now() - interval '{KEEP_FINISHED}' LIMIT 1000))
             DELETE FROM response_urls WHERE token_hash IN
                 (SELECT token_hash FROM response_urls WHERE expires_at < now() LIMIT 1000)"
        ),
        &[],
    )
    .await?;
    Ok(())
}

/// One line of an app's delivery log.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub id: i64,
    pub kind: String,
    /// The event type, or the outgoing webhook's trigger word.
    pub what: String,
    pub state: String,
    pub attempts: i64,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub next_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
}

/// The app's newest deliveries first, before `before` (an id) when given.
pub async fn log(
    db: &impl Sql,
    ws: WorkspaceId,
    app: AppId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<LogEntry>, DbError> {
    let sql = concat!(
        "SELECT d.id, d.kind, coalesce(d.payload->>'type', d.payload->>'trigger_word', '') AS what, d.state, d.attempts,
                d.last_status::int8 AS last_status, d.last_error, ",
        ms!("d.created_at"),
        " AS created_at_ms, CASE WHEN d.state = 'pending' THEN ",
        ms!("d.next_at"),
        " END AS next_at_ms, CASE WHEN d.finished_at IS NOT NULL THEN ",
        ms!("d.finished_at"),
        " END AS finished_at_ms
         FROM deliveries d JOIN apps a ON a.id = d.app_id
         WHERE d.app_id = $1 AND a.workspace_id = $2 AND ($3::int8 IS NULL OR d.id < $3::int8)
         ORDER BY d.id DESC LIMIT $4::int8"
    );
    db.query(sql, &[Value::Uuid(app.0), Value::Uuid(ws.0), before.map_or(Value::Null, Value::Int), Value::Int(limit)])
        .await?
        .iter()
        .map(|r| {
            Ok(LogEntry {
                id: r.int("id")?,
                kind: r.text("kind")?,
                what: r.text("what")?,
                state: r.text("state")?,
                attempts: r.int("attempts")?,
                last_status: r.opt_int("last_status")?,
                last_error: r.opt_text("last_error")?,
                created_at_ms: r.int("created_at_ms")?,
                next_at_ms: r.opt_int("next_at_ms")?,
                finished_at_ms: r.opt_int("finished_at_ms")?,
            })
        })
        .collect()
}

/// Sends a failed delivery of a live app of the workspace again, from its first attempt;
/// `false` if there is no such failed delivery.
pub async fn retry(db: &impl Sql, ws: WorkspaceId, id: i64) -> Result<bool, DbError> {
    let rows = db
        .query(
            "WITH u AS (UPDATE deliveries d SET state = 'pending', attempts = 0, next_at = now(), lease_until = NULL,
                               finished_at = NULL
                        FROM apps a
                        WHERE d.id = $1::int8 AND d.state = 'failed' AND a.id = d.app_id AND a.workspace_id = $2
                          AND a.revoked_at IS NULL
                        RETURNING d.id)
             SELECT count(*) AS n, (SELECT count(*) FROM (SELECT pg_notify($3, '') FROM u) s) AS told FROM u",
            &[Value::Int(id), Value::Uuid(ws.0), Value::Text(NOTIFY_CHANNEL.into())],
        )
        .await?;
    Ok(rows.first().map(|r| r.int("n")).transpose()?.unwrap_or(0) > 0)
}
