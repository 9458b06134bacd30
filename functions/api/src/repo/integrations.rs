//! Integrations: apps (each with a bot user that is a member of the workspace) and their
//! incoming webhooks. Secrets are stored as SHA-256 hashes; the URL holding one is shown
//! once, when the hook is made.

use ocomms_core::ids::{AppId, ChannelId, HookId, TokenId, UserId, WorkspaceId};
use serde::Serialize;

use crate::ms;
use crate::ports::{DbError, Row, Sql, Value};

/// Burst a hook may post at once; it refills at one message a second (Slack's pace).
pub const HOOK_BURST: f64 = 20.0;

#[derive(Debug, Clone, Serialize)]
pub struct App {
    pub id: AppId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub description: String,
    pub bot_user_id: UserId,
    pub created_by: UserId,
    pub created_at_ms: i64,
    /// Live hooks, oldest first.
    pub hooks: Vec<Hook>,
    /// Live bot tokens, oldest first (never the tokens themselves).
    pub tokens: Vec<Token>,
    /// Signs what we send the app (Slack's signing secret); admins read it to set the app up.
    pub signing_secret: String,
    /// Where events go, once the URL answered the verification challenge.
    pub events_url: Option<String>,
    /// Event subscriptions, Slack's names.
    pub events: Vec<String>,
    /// Slash commands, by name.
    pub commands: Vec<crate::repo::app_delivery::Command>,
    /// Outgoing webhooks, oldest first.
    pub outgoing_hooks: Vec<crate::repo::app_delivery::OutgoingHook>,
}

/// A bot token as admins see it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Token {
    pub id: TokenId,
    pub app_id: AppId,
    pub scopes: Vec<String>,
    pub created_by: UserId,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
}

const TOKEN_JSON: &str = concat!(
    "jsonb_build_object('id', t.id, 'app_id', t.app_id, 'scopes', to_jsonb(t.scopes), 'created_by', t.created_by,
      'created_at_ms', ",
    ms!("t.created_at"),
    ", 'last_used_at_ms', CASE WHEN t.last_used_at IS NULL THEN NULL ELSE ",
    ms!("t.last_used_at"),
    " END)"
);

/// A hook as admins see it: never its secret.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Hook {
    pub id: HookId,
    pub app_id: AppId,
    pub channel_id: ChannelId,
    pub created_by: UserId,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
}

const HOOK_JSON: &str = concat!(
    "jsonb_build_object('id', h.id, 'app_id', h.app_id, 'channel_id', h.channel_id, 'created_by', h.created_by,
      'created_at_ms', ",
    ms!("h.created_at"),
    ", 'last_used_at_ms', CASE WHEN h.last_used_at IS NULL THEN NULL ELSE ",
    ms!("h.last_used_at"),
    " END)"
);

fn app_columns() -> String {
    format!(
        "a.id, a.workspace_id, a.name, a.description, a.bot_user_id, a.created_by, {created} AS created_at_ms,
         (SELECT coalesce(jsonb_agg({HOOK_JSON} ORDER BY h.created_at, h.id), '[]'::jsonb)
          FROM incoming_hooks h WHERE h.app_id = a.id AND h.revoked_at IS NULL) AS hooks,
         (SELECT coalesce(jsonb_agg({TOKEN_JSON} ORDER BY t.created_at, t.id), '[]'::jsonb)
          FROM app_tokens t WHERE t.app_id = a.id AND t.revoked_at IS NULL) AS tokens,
         a.signing_secret, a.events_url, to_jsonb(a.events) AS events,
         (SELECT coalesce(jsonb_agg({COMMAND_JSON} ORDER BY c.name), '[]'::jsonb)
          FROM app_commands c WHERE c.app_id = a.id) AS commands,
         (SELECT coalesce(jsonb_agg({OUTGOING_JSON} ORDER BY o.created_at, o.id), '[]'::jsonb)
          FROM outgoing_hooks o WHERE o.app_id = a.id) AS outgoing_hooks",
        created = ms!("a.created_at"),
        COMMAND_JSON = crate::repo::app_delivery::COMMAND_JSON,
        OUTGOING_JSON = crate::repo::app_delivery::OUTGOING_JSON,
    )
}

impl App {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            id: AppId(r.uuid("id")?),
            workspace_id: WorkspaceId(r.uuid("workspace_id")?),
            name: r.text("name")?,
            description: r.text("description")?,
            bot_user_id: UserId(r.uuid("bot_user_id")?),
            created_by: UserId(r.uuid("created_by")?),
            created_at_ms: r.int("created_at_ms")?,
            hooks: serde_json::from_value(r.json("hooks")?).map_err(|e| DbError::other(format!("hooks: {e}")))?,
            tokens: serde_json::from_value(r.json("tokens")?).map_err(|e| DbError::other(format!("tokens: {e}")))?,
            signing_secret: r.text("signing_secret")?,
            events_url: r.opt_text("events_url")?,
            events: serde_json::from_value(r.json("events")?).map_err(|e| DbError::other(format!("events: {e}")))?,
            commands: serde_json::from_value(r.json("commands")?)
                .map_err(|e| DbError::other(format!("commands: {e}")))?,
            outgoing_hooks: serde_json::from_value(r.json("outgoing_hooks")?)
                .map_err(|e| DbError::other(format!("outgoing hooks: {e}")))?,
        })
    }
}

pub struct NewApp<'a> {
    pub id: AppId,
    pub workspace: WorkspaceId,
    pub name: &'a str,
    pub description: &'a str,
    pub bot: UserId,
    pub creator: UserId,
    pub signing_secret: &'a str,
}

pub enum Created {
    App(Box<App>),
    NameTaken,
}

/// Makes the app and its bot: a user that cannot log in (no password, an address under the
/// reserved `.invalid` domain) and a member of the workspace.
pub async fn create_app(db: &impl Sql, new: &NewApp<'_>) -> Result<Created, DbError> {
    let sql = format!(
        "WITH bot AS (INSERT INTO users (id, email, display_name, password_hash, bot)
                      VALUES ($5::uuid, $5::uuid::text || '@bots.invalid', $3, '', true) RETURNING id),
         wm AS (INSERT INTO workspace_members (workspace_id, user_id, role) SELECT $2, id, 'member' FROM bot),
         a AS (INSERT INTO apps (id, workspace_id, name, description, bot_user_id, created_by, signing_secret)
               SELECT $1, $2, $3, $4, id, $6, $7 FROM bot RETURNING *)
         SELECT {cols} FROM a",
        cols = app_columns(),
    );
    let params = [
        Value::Uuid(new.id.0),
        Value::Uuid(new.workspace.0),
        Value::Text(new.name.into()),
        Value::Text(new.description.into()),
        Value::Uuid(new.bot.0),
        Value::Uuid(new.creator.0),
        Value::Text(new.signing_secret.into()),
    ];
    match db.query(&sql, &params).await {
        Ok(rows) => {
            let r = rows.first().ok_or_else(|| DbError::other("insert returned no row"))?;
            Ok(Created::App(Box::new(App::from_row(r)?)))
        }
        Err(e) if e.is_unique_violation() => Ok(Created::NameTaken),
        Err(e) => Err(e),
    }
}

/// The workspace's live apps, oldest first.
pub async fn list(db: &impl Sql, ws: WorkspaceId) -> Result<Vec<App>, DbError> {
    let sql = format!(
        "SELECT {cols} FROM apps a WHERE a.workspace_id = $1 AND a.revoked_at IS NULL ORDER BY a.created_at, a.id",
        cols = app_columns()
    );
    db.query(&sql, &[Value::Uuid(ws.0)]).await?.iter().map(App::from_row).collect()
}

/// A live app of the workspace.
pub async fn get(db: &impl Sql, ws: WorkspaceId, app: AppId) -> Result<Option<App>, DbError> {
    let sql = format!(
        "SELECT {cols} FROM apps a WHERE a.id = $1 AND a.workspace_id = $2 AND a.revoked_at IS NULL",
        cols = app_columns()
    );
    db.query(&sql, &[Value::Uuid(app.0), Value::Uuid(ws.0)]).await?.first().map(App::from_row).transpose()
}

/// Revokes the app: its hooks stop, and its bot leaves the workspace's active members (its
/// messages stay, under its name). `false` if there was no such live app.
pub async fn revoke(db: &impl Sql, ws: WorkspaceId, app: AppId) -> Result<bool, DbError> {
    let rows = db
        .query(
            "WITH a AS (UPDATE apps SET revoked_at = now() WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL
                        RETURNING id, bot_user_id),
             h AS (UPDATE incoming_hooks SET revoked_at = now() WHERE app_id = (SELECT id FROM a) AND revoked_at IS NULL),
             t AS (UPDATE app_tokens SET revoked_at = now() WHERE app_id = (SELECT id FROM a) AND revoked_at IS NULL),
             d AS (UPDATE deliveries SET state = 'failed', last_error = 'app_revoked', finished_at = now()
                   WHERE app_id = (SELECT id FROM a) AND state = 'pending'),
             c AS (DELETE FROM app_commands WHERE app_id = (SELECT id FROM a)),
             o AS (DELETE FROM outgoing_hooks WHERE app_id = (SELECT id FROM a)),
             wm AS (UPDATE workspace_members SET deactivated_at = now()
                    WHERE workspace_id = $2 AND user_id = (SELECT bot_user_id FROM a))
             SELECT count(*) AS n FROM a",
            &[Value::Uuid(app.0), Value::Uuid(ws.0)],
        )
        .await?;
    Ok(rows.first().map(|r| r.int("n")).transpose()?.unwrap_or(0) > 0)
}

pub struct NewHook<'a> {
    pub id: HookId,
    pub app: AppId,
    pub channel: ChannelId,
    pub secret_hash: &'a str,
    pub creator: UserId,
}

pub async fn create_hook(db: &impl Sql, new: &NewHook<'_>) -> Result<Hook, DbError> {
    let sql = format!(
        "WITH h AS (INSERT INTO incoming_hooks (id, app_id, channel_id, secret_hash, bucket_tokens, created_by)
                    VALUES ($1, $2, $3, $4, $6::float8, $5) RETURNING *)
         SELECT {HOOK_JSON} AS hook FROM h"
    );
    let rows = db
        .query(
            &sql,
            &[
                Value::Uuid(new.id.0),
                Value::Uuid(new.app.0),
                Value::Uuid(new.channel.0),
                Value::Text(new.secret_hash.into()),
                Value::Uuid(new.creator.0),
                Value::Float(HOOK_BURST),
            ],
        )
        .await?;
    let r = rows.first().ok_or_else(|| DbError::other("insert returned no row"))?;
    serde_json::from_value(r.json("hook")?).map_err(|e| DbError::other(format!("hook: {e}")))
}

/// Revokes a live hook of a live app of the workspace; `false` if there was none.
pub async fn revoke_hook(db: &impl Sql, ws: WorkspaceId, hook: HookId) -> Result<bool, DbError> {
    let n = db
        .execute(
            "UPDATE incoming_hooks h SET revoked_at = now() FROM apps a
             WHERE h.id = $1 AND h.revoked_at IS NULL AND a.id = h.app_id AND a.workspace_id = $2
               AND a.revoked_at IS NULL",
            &[Value::Uuid(hook.0), Value::Uuid(ws.0)],
        )
        .await?;
    Ok(n > 0)
}

/// Where a hook posts, found by its secret's hash.
#[derive(Debug, Clone)]
pub struct HookTarget {
    pub hook: HookId,
    pub app: AppId,
    pub app_name: String,
    pub bot: UserId,
    pub channel: ChannelId,
    pub channel_archived: bool,
    /// The bot is still a member of the channel (an admin may have removed it).
    pub bot_in_channel: bool,
}

/// The live hook with this secret hash, of a live app.
pub async fn hook_by_secret(db: &impl Sql, secret_hash: &str) -> Result<Option<HookTarget>, DbError> {
    let rows = db
        .query(
            "SELECT h.id, h.app_id, a.name, a.bot_user_id, h.channel_id, c.archived_at IS NOT NULL AS archived,
                    EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_id = h.channel_id
                                                             AND cm.user_id = a.bot_user_id) AS member
             FROM incoming_hooks h JOIN apps a ON a.id = h.app_id JOIN channels c ON c.id = h.channel_id
             WHERE h.secret_hash = $1 AND h.revoked_at IS NULL AND a.revoked_at IS NULL",
            &[Value::Text(secret_hash.into())],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(HookTarget {
                hook: HookId(r.uuid("id")?),
                app: AppId(r.uuid("app_id")?),
                app_name: r.text("name")?,
                bot: UserId(r.uuid("bot_user_id")?),
                channel: ChannelId(r.uuid("channel_id")?),
                channel_archived: r.bool("archived")?,
                bot_in_channel: r.bool("member")?,
            })
        })
        .transpose()
}

/// Takes one message from the hook's bucket. `false` when it is empty: the caller waits a
/// second (the refill rate) and tries again.
pub async fn take_token(db: &impl Sql, hook: HookId) -> Result<bool, DbError> {
    let n = db
        .execute(
            "UPDATE incoming_hooks
             SET bucket_tokens = least($2::float8, bucket_tokens + extract(epoch FROM now() - bucket_at)) - 1,
                 bucket_at = now(), last_used_at = now()
             WHERE id = $1 AND least($2::float8, bucket_tokens + extract(epoch FROM now() - bucket_at)) >= 1",
            &[Value::Uuid(hook.0), Value::Float(HOOK_BURST)],
        )
        .await?;
    Ok(n > 0)
}

pub struct NewToken<'a> {
    pub id: TokenId,
    pub app: AppId,
    pub token_hash: &'a str,
    pub scopes: &'a [String],
    pub creator: UserId,
}

pub async fn create_token(db: &impl Sql, new: &NewToken<'_>) -> Result<Token, DbError> {
    let sql = format!(
        "WITH t AS (INSERT INTO app_tokens (id, app_id, token_hash, scopes, created_by)
                    VALUES ($1, $2, $3, string_to_array($4::text, ','), $5) RETURNING *)
         SELECT {TOKEN_JSON} AS token FROM t"
    );
    let rows = db
        .query(
            &sql,
            &[
                Value::Uuid(new.id.0),
                Value::Uuid(new.app.0),
                Value::Text(new.token_hash.into()),
                Value::Text(new.scopes.join(",")),
                Value::Uuid(new.creator.0),
            ],
        )
        .await?;
    let r = rows.first().ok_or_else(|| DbError::other("insert returned no row"))?;
    serde_json::from_value(r.json("token")?).map_err(|e| DbError::other(format!("token: {e}")))
}

/// Revokes a live token of a live app of the workspace; `false` if there was none.
pub async fn revoke_token(db: &impl Sql, ws: WorkspaceId, token: TokenId) -> Result<bool, DbError> {
    let n = db
        .execute(
            "UPDATE app_tokens t SET revoked_at = now() FROM apps a
             WHERE t.id = $1 AND t.revoked_at IS NULL AND a.id = t.app_id AND a.workspace_id = $2
               AND a.revoked_at IS NULL",
            &[Value::Uuid(token.0), Value::Uuid(ws.0)],
        )
        .await?;
    Ok(n > 0)
}

/// Who a Web API call is from: the app behind a live token, its bot and what it may do.
#[derive(Debug, Clone)]
pub struct BotCaller {
    pub token: TokenId,
    pub app: AppId,
    pub app_name: String,
    pub bot: UserId,
    pub workspace: WorkspaceId,
    pub scopes: Vec<String>,
}

/// The caller behind a token's hash, recording its use; `None` for an unknown or revoked
/// token or app.
pub async fn bot_caller(db: &impl Sql, token_hash: &str) -> Result<Option<BotCaller>, DbError> {
    let rows = db
        .query(
            "UPDATE app_tokens t SET last_used_at = now() FROM apps a
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND a.id = t.app_id AND a.revoked_at IS NULL
             RETURNING t.id, a.id AS app_id, a.name, a.bot_user_id, a.workspace_id, array_to_string(t.scopes, ',') AS scopes",
            &[Value::Text(token_hash.into())],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(BotCaller {
                token: TokenId(r.uuid("id")?),
                app: AppId(r.uuid("app_id")?),
                app_name: r.text("name")?,
                bot: UserId(r.uuid("bot_user_id")?),
                workspace: WorkspaceId(r.uuid("workspace_id")?),
                scopes: r.text("scopes")?.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect(),
            })
        })
        .transpose()
}
