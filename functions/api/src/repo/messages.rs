use ocomms_core::event::{ChannelEvent, kind};
use ocomms_core::ids::{ChannelId, MessageId, UserId};
use ocomms_core::mentions::Mentions;

use serde_json::value::RawValue;

use super::events::{self, EVENT_COLUMNS};
use crate::ports::{DbError, Sql, Value};
use crate::{ms, ts};

/// The keys and values of a message's JSON (an argument list for `jsonb_build_object`): see
/// [`MESSAGE_JSON`].
macro_rules! message_fields {
    () => {
        concat!(
            "'id', m.id, 'channel_id', m.channel_id, 'seq', m.seq, 'author_id', m.author_id,
       'text', m.text, 'client_msg_id', m.client_msg_id, 'created_at_ms', ",
            ms!("m.created_at"),
            ", 'edited_at_ms', CASE WHEN m.edited_at IS NULL THEN NULL ELSE ",
            ms!("m.edited_at"),
            " END, 'deleted', m.deleted_at IS NOT NULL, 'mentions', to_jsonb(m.mentions), 'mentions_channel', m.mentions_channel,
       'mentions_here', m.mentions_here, 'thread_root_id', m.thread_root_id,
       'also_to_channel', m.also_to_channel, 'reply_count', m.reply_count,
       'last_reply_at_ms', CASE WHEN m.last_reply_at IS NULL THEN NULL ELSE ",
            ms!("m.last_reply_at"),
            " END, 'files', m.files, 'ts', ",
            ts!("m.ts_us"),
            ", 'bot', m.bot, 'blocks', m.blocks, 'attachments', m.attachments"
        )
    };
}

/// The keys and values reads add: see [`READ_EXTRAS`].
macro_rules! read_extra_fields {
    () => {
        "'reactions', (SELECT coalesce(jsonb_agg(jsonb_build_object('emoji', r.emoji, 'count', r.n, 'user_ids', r.users)
                                            ORDER BY r.first, r.emoji), '[]'::jsonb)
                  FROM (SELECT emoji, count(*) AS n, jsonb_agg(user_id ORDER BY created_at, user_id) AS users,
                               min(created_at) AS first
                        FROM reactions WHERE message_id = m.id GROUP BY emoji) r),
    'pinned', EXISTS (SELECT 1 FROM pins p WHERE p.message_id = m.id)"
    };
}

/// The JSON shape of a message, built by PostgreSQL so that history, events and the POST
/// reply are the same object. `m` is the messages row. Reactions and pins are not part of
/// it: they change through their own events, and an edit event must not carry a stale copy.
pub const MESSAGE_JSON: &str = concat!("jsonb_build_object(", message_fields!(), ")");

/// What reads add to [`MESSAGE_JSON`]: reactions grouped by emoji (in the order each was
/// first used, with who reacted in order) and whether the message is pinned.
pub const READ_EXTRAS: &str = concat!("jsonb_build_object(", read_extra_fields!(), ")");

/// [`MESSAGE_JSON`] with [`READ_EXTRAS`] as `json`, for a page passed on as text: the same
/// keys and values, written in order. Building it as `jsonb` sorted and merged each object's
/// keys (`qsort_arg` was the top symbol), and 100 messages took 2.4 ms to execute, not 1.7.
const READ_JSON_TEXT: &str = concat!("json_build_object(", message_fields!(), ", ", read_extra_fields!(), ")");

pub enum Posted {
    /// Newly stored; the event is what rooms must be told.
    New(ChannelEvent),
    /// A retry of an earlier post with the same `client_msg_id`: the stored message.
    Existing(serde_json::Value),
    /// The thread root went away (deleted) between the check and the insert.
    RootGone,
}

/// What a new message says, beyond its text: already parsed and validated by the handler.
pub struct NewMessage<'a> {
    pub id: MessageId,
    pub channel: ChannelId,
    pub author: UserId,
    pub text: &'a str,
    pub client_msg_id: Option<&'a str>,
    pub mentions: &'a Mentions,
    pub thread_root: Option<MessageId>,
    pub also_to_channel: bool,
    /// Uploaded files of the author's in this channel (checked by the handler), in order.
    pub files: &'a [ocomms_core::ids::FileId],
    /// What an integration posts beyond text.
    pub extras: Option<&'a Extras>,
}

/// An integration's additions to a message: validated by the handler (`ocomms_core::slack`).
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// `{name?, icon_emoji?, icon_url?}`: what the message is shown under instead of the bot's
    /// own name.
    pub bot: Option<serde_json::Value>,
    pub blocks: Vec<serde_json::Value>,
    pub attachments: Vec<serde_json::Value>,
}

/// Keeps only mentioned ids that are active members of the channel's workspace, in order.
/// `$2` is the channel; `param` the comma-separated candidate ids.
fn known_mentions(param: &str) -> String {
    format!(
        "ARRAY(SELECT x.u FROM unnest(string_to_array({param}::text, ',')::uuid[]) WITH ORDINALITY AS x(u, i)
               WHERE EXISTS (SELECT 1 FROM channels c JOIN workspace_members wm ON wm.workspace_id = c.workspace_id
                             WHERE c.id = $2 AND wm.user_id = x.u AND wm.removed_at IS NULL
                               AND wm.deactivated_at IS NULL)
               ORDER BY x.i)"
    )
}

fn id_list(m: &Mentions) -> String {
    m.users.iter().map(uuid::Uuid::to_string).collect::<Vec<_>>().join(",")
}

/// The root's counters after a reply or a reply's deletion, for clients to update it.
const ROOT_JSON: &str = concat!(
    "jsonb_build_object('id', root.id, 'reply_count', root.reply_count, 'last_reply_at_ms', CASE WHEN root.last_reply_at IS NULL THEN NULL ELSE ",
    ms!("root.last_reply_at"),
    " END)"
);

/// Inserts the message and its `message.posted` event under the channel's next seq, in one
/// statement (so one transaction). A reply also bumps its root's counters and makes the
/// replier and the root's author follow the thread (an earlier unfollow is kept). Row locks
/// are always taken message first, channel second, so concurrent statements cannot deadlock.
///
/// The seq comes from `channel_next_seq` (migration 0019), so that posts racing for one
/// channel wait and re-check that small UPDATE only, not the whole statement. The parts for
/// replies, files and mentions are left out of the statement when the post has none: every
/// part costs executor start-up on each call, and most posts are plain top-level text.
///
/// The caller looks for an earlier post with the same `client_msg_id` first
/// ([`super::channels::access_in_session`]); one stored meanwhile (a retry racing its
/// original) fails the insert's unique index and comes back as [`Posted::Existing`].
pub async fn post(db: &impl Sql, new: &NewMessage<'_>) -> Result<Posted, DbError> {
    let none = Extras::default();
    let extras = new.extras.unwrap_or(&none);
    let mut params = vec![
        Value::Uuid(new.id.0),
        Value::Uuid(new.channel.0),
        Value::Uuid(new.author.0),
        Value::Text(new.text.into()),
        new.client_msg_id.map_or(Value::Null, |k| Value::Text(k.into())),
        new.thread_root.map_or(Value::Null, |r| Value::Uuid(r.0)),
        Value::Bool(new.mentions.channel),
        Value::Bool(new.mentions.here),
        Value::Bool(new.also_to_channel),
        extras.bot.as_ref().map_or(Value::Null, |b| Value::Json(b.clone())),
        Value::Json(serde_json::Value::Array(extras.blocks.clone())),
        Value::Json(serde_json::Value::Array(extras.attachments.clone())),
    ];
    // Optional parts take the next parameters: a statement names every parameter it gets.
    let mentions = if new.mentions.users.is_empty() {
        "'{}'::uuid[]".to_owned()
    } else {
        params.push(Value::Text(id_list(new.mentions)));
        known_mentions(&format!("${}", params.len()))
    };
    let (att, files) = if new.files.is_empty() {
        (String::new(), "'[]'::jsonb".to_owned())
    } else {
        params.push(super::files::id_list(new.files));
        let n = params.len();
        (
            format!(
                "att AS (UPDATE files f SET state = 'attached', message_id = $1
                         WHERE f.id = ANY (string_to_array(${n}::text, ',')::uuid[]) AND f.channel_id = $2
                           AND f.uploader_id = $3 AND f.state = 'ready' AND EXISTS (SELECT 1 FROM ch)
                         RETURNING f.*),"
            ),
            format!(
                "(SELECT coalesce(jsonb_agg({file} ORDER BY array_position(string_to_array(${n}::text, ',')::uuid[], f.id)),
                                  '[]'::jsonb) FROM att f)",
                file = super::files::MESSAGE_FILE_JSON
            ),
        )
    };
    let reply = new.thread_root.is_some();
    let (root, go, follow, root_json, root_join) = if reply {
        (
            "root AS (UPDATE messages SET reply_count = reply_count + 1, last_reply_at = now()
                      WHERE id = $6 AND channel_id = $2 AND thread_root_id IS NULL AND deleted_at IS NULL
                      RETURNING id, author_id, reply_count, last_reply_at),",
            "EXISTS (SELECT 1 FROM root)",
            ",
         follow AS (INSERT INTO thread_follows (root_id, user_id, following)
                    SELECT root.id, f.user_id, true FROM root, m, LATERAL (VALUES (m.author_id), (root.author_id)) f(user_id)
                    ON CONFLICT (root_id, user_id) DO NOTHING)",
            format!(" || CASE WHEN root.id IS NULL THEN '{{}}'::jsonb ELSE jsonb_build_object('root', {ROOT_JSON}) END"),
            " LEFT JOIN root ON true",
        )
    } else {
        ("", "true", "", String::new(), "")
    };
    let sql = format!(
        "WITH {root}
         ch AS (SELECT next_seq AS last_seq, next_ts_us AS last_ts_us FROM channel_next_seq($2, {go})),
         {att}
         m AS (INSERT INTO messages (id, channel_id, seq, author_id, text, client_msg_id, mentions, mentions_channel,
                                     mentions_here, thread_root_id, also_to_channel, files, ts_us, bot, blocks,
                                     attachments)
               SELECT $1, $2, last_seq, $3, $4, $5, {mentions}, $7, $8, $6, $9, {files},
                      last_ts_us, $10::jsonb, $11::jsonb, $12::jsonb
               FROM ch RETURNING *){follow},
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data, created_at)
                SELECT m.channel_id, m.seq, '{kind}', {MESSAGE_JSON}{root_json}, m.created_at
                FROM m{root_join}
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::MESSAGE_POSTED,
    );
    match db.query(&sql, &params).await {
        Ok(rows) => match rows.first() {
            Some(r) => Ok(Posted::New(events::from_row(new.channel, r)?)),
            None if reply => Ok(Posted::RootGone),
            None => Err(DbError::other("insert returned no row")),
        },
        // Lost a race with a concurrent retry carrying the same key: return the winner.
        Err(e) if e.is_unique_violation() && new.client_msg_id.is_some() => {
            let key = new.client_msg_id.unwrap_or_default();
            by_client_id(db, new.channel, new.author, key).await?.map(Posted::Existing).ok_or(e)
        }
        Err(e) => Err(e),
    }
}

async fn by_client_id(
    db: &impl Sql,
    channel: ChannelId,
    author: UserId,
    key: &str,
) -> Result<Option<serde_json::Value>, DbError> {
    let sql = format!(
        "SELECT {MESSAGE_JSON} AS msg FROM messages m
         WHERE m.channel_id = $1 AND m.author_id = $2 AND m.client_msg_id = $3"
    );
    let rows = db.query(&sql, &[Value::Uuid(channel.0), Value::Uuid(author.0), Value::Text(key.into())]).await?;
    rows.first().map(|r| r.json("msg")).transpose()
}

/// One page of the timeline, as [`history`] returns it.
#[derive(Debug)]
pub struct Page {
    /// The messages, oldest first: a JSON array as PostgreSQL wrote it. The page is passed on
    /// as text because building a tree of each message only to serialize it again was most of
    /// the component's CPU on a history request (profiled: 72 % in serde_json and the
    /// allocator for 100 messages).
    pub messages: Box<RawValue>,
    /// How many messages the page holds.
    pub len: usize,
    /// The oldest message's `seq`: where the next older page ends.
    pub oldest_seq: Option<i64>,
}

/// One page of the channel's timeline before `before` (exclusive), returned oldest first:
/// top-level messages and replies also sent to the channel. A deleted root that has replies
/// stays as a tombstone so its thread can still be opened.
pub async fn history(db: &impl Sql, channel: ChannelId, before: Option<i64>, limit: u32) -> Result<Page, DbError> {
    let sql = format!(
        "SELECT '[' || coalesce(string_agg(p.msg::text, ',' ORDER BY p.seq), '') || ']' AS messages, count(*) AS n, min(p.seq) AS oldest
         FROM (SELECT {READ_JSON_TEXT} AS msg, m.seq FROM messages m
               WHERE m.channel_id = $1 AND m.seq < $2 AND (m.thread_root_id IS NULL OR m.also_to_channel)
                 AND (m.deleted_at IS NULL OR (m.thread_root_id IS NULL AND m.reply_count > 0))
               ORDER BY m.seq DESC LIMIT $3) p"
    );
    let rows = db
        .query(&sql, &[Value::Uuid(channel.0), Value::Int(before.unwrap_or(i64::MAX)), Value::Int(i64::from(limit))])
        .await?;
    let r = rows.first().ok_or_else(|| DbError::other("an aggregate returned no row"))?;
    let messages =
        RawValue::from_string(r.text("messages")?).map_err(|e| DbError::other(format!("column messages: {e}")))?;
    let len = usize::try_from(r.int("n")?).map_err(|e| DbError::other(format!("column n: {e}")))?;
    Ok(Page { messages, len, oldest_seq: r.opt_int("oldest")? })
}

/// A message's Slack `ts`.
pub async fn ts_of(db: &impl Sql, id: MessageId) -> Result<Option<String>, DbError> {
    let sql = format!("SELECT {ts} AS ts FROM messages WHERE id = $1", ts = ts!("ts_us"));
    let rows = db.query(&sql, &[Value::Uuid(id.0)]).await?;
    rows.first().map(|r| r.text("ts")).transpose()
}

/// Slack's `conversations.history`: live top-level messages (and replies sent to the
/// channel too) with `ts` in `(oldest, latest)` (bounds included when `inclusive`), newest
/// first, with their reactions.
pub async fn history_by_ts(
    db: &impl Sql,
    channel: ChannelId,
    oldest_us: i64,
    latest_us: i64,
    inclusive: bool,
    limit: u32,
) -> Result<Vec<serde_json::Value>, DbError> {
    let sql = format!(
        "SELECT {MESSAGE_JSON} || {READ_EXTRAS} AS msg FROM messages m
         WHERE m.channel_id = $1 AND (m.thread_root_id IS NULL OR m.also_to_channel) AND m.deleted_at IS NULL
           AND CASE WHEN $4 THEN m.ts_us >= $2::int8 AND m.ts_us <= $3::int8 ELSE m.ts_us > $2::int8 AND m.ts_us < $3::int8 END
         ORDER BY m.ts_us DESC LIMIT $5"
    );
    let rows = db
        .query(
            &sql,
            &[
                Value::Uuid(channel.0),
                Value::Int(oldest_us),
                Value::Int(latest_us),
                Value::Bool(inclusive),
                Value::Int(i64::from(limit)),
            ],
        )
        .await?;
    rows.into_iter().map(|r| r.into_json("msg")).collect()
}

/// A thread: its root (possibly a tombstone), and replies after `after`, oldest first, with
/// whether `viewer` follows it.
pub struct Thread {
    pub root: serde_json::Value,
    pub replies: Vec<serde_json::Value>,
    pub following: bool,
}

pub async fn thread(
    db: &impl Sql,
    root: MessageId,
    viewer: UserId,
    after: i64,
    limit: u32,
) -> Result<Option<Thread>, DbError> {
    let sql = format!(
        "SELECT {MESSAGE_JSON} || {READ_EXTRAS} AS msg,
                coalesce((SELECT following FROM thread_follows f WHERE f.root_id = $1 AND f.user_id = $2), false) AS following
         FROM messages m WHERE m.id = $1 AND m.thread_root_id IS NULL"
    );
    let rows = db.query(&sql, &[Value::Uuid(root.0), Value::Uuid(viewer.0)]).await?;
    let Some(r) = rows.first() else { return Ok(None) };
    let (root_json, following) = (r.json("msg")?, r.bool("following")?);
    let sql = format!(
        "SELECT {MESSAGE_JSON} || {READ_EXTRAS} AS msg FROM messages m
         WHERE m.thread_root_id = $1 AND m.deleted_at IS NULL AND m.seq > $2 ORDER BY m.seq LIMIT $3"
    );
    let rows = db.query(&sql, &[Value::Uuid(root.0), Value::Int(after), Value::Int(i64::from(limit))]).await?;
    let replies = rows.into_iter().map(|r| r.into_json("msg")).collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Thread { root: root_json, replies, following }))
}

/// Follows or unfollows a thread; the choice is remembered over later replies.
pub async fn set_following(db: &impl Sql, root: MessageId, user: UserId, following: bool) -> Result<(), DbError> {
    db.execute(
        "INSERT INTO thread_follows (root_id, user_id, following) VALUES ($1, $2, $3)
         ON CONFLICT (root_id, user_id) DO UPDATE SET following = EXCLUDED.following",
        &[Value::Uuid(root.0), Value::Uuid(user.0), Value::Bool(following)],
    )
    .await?;
    Ok(())
}

/// Where a message is, who wrote it and whether it is a reply; `None` if it does not exist
/// or is deleted.
pub struct Located {
    pub channel: ChannelId,
    pub author: UserId,
    pub thread_root: Option<MessageId>,
}

pub async fn locate(db: &impl Sql, id: MessageId) -> Result<Option<Located>, DbError> {
    let rows = db
        .query(
            "SELECT channel_id, author_id, thread_root_id FROM messages WHERE id = $1 AND deleted_at IS NULL",
            &[Value::Uuid(id.0)],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(Located {
                channel: ChannelId(r.uuid("channel_id")?),
                author: UserId(r.uuid("author_id")?),
                thread_root: r.opt_uuid("thread_root_id")?.map(MessageId),
            })
        })
        .transpose()
}

/// The live message of `channel` with Slack timestamp `ts_us`: its id and thread root.
pub async fn by_ts(
    db: &impl Sql,
    channel: ChannelId,
    ts_us: i64,
) -> Result<Option<(MessageId, Option<MessageId>)>, DbError> {
    let rows = db
        .query(
            "SELECT id, thread_root_id FROM messages WHERE channel_id = $1 AND ts_us = $2::int8 AND deleted_at IS NULL",
            &[Value::Uuid(channel.0), Value::Int(ts_us)],
        )
        .await?;
    rows.first().map(|r| Ok((MessageId(r.uuid("id")?), r.opt_uuid("thread_root_id")?.map(MessageId)))).transpose()
}

/// Like [`locate`], but also finds deleted roots (their threads stay readable).
pub async fn locate_root(db: &impl Sql, id: MessageId) -> Result<Option<Located>, DbError> {
    let rows = db
        .query(
            "SELECT channel_id, author_id, thread_root_id FROM messages
             WHERE id = $1 AND (deleted_at IS NULL OR (thread_root_id IS NULL AND reply_count > 0))",
            &[Value::Uuid(id.0)],
        )
        .await?;
    rows.first()
        .map(|r| {
            Ok(Located {
                channel: ChannelId(r.uuid("channel_id")?),
                author: UserId(r.uuid("author_id")?),
                thread_root: r.opt_uuid("thread_root_id")?.map(MessageId),
            })
        })
        .transpose()
}

/// Replaces the text (and so the mentions) and records a `message.edited` event under the
/// channel's next seq, in one statement. The earlier text is erased, not just superseded:
/// the stored events that carried it (its `message.posted`, earlier edits) now carry the new
/// one, so backfill cannot reveal what was edited out (a pasted password, say). `None` if
/// the message was deleted meanwhile.
pub async fn edit(
    db: &impl Sql,
    id: MessageId,
    channel: ChannelId,
    text: &str,
    mentions: &Mentions,
    replaced: &Replaced,
) -> Result<Option<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH target AS (SELECT id FROM messages WHERE id = $1 AND channel_id = $2 AND deleted_at IS NULL FOR UPDATE),
         ch AS (UPDATE channels SET last_seq = last_seq + 1 WHERE id = $2 AND EXISTS (SELECT 1 FROM target) RETURNING last_seq),
         m AS (UPDATE messages SET text = $3, mentions = {mentions}, mentions_channel = $5, mentions_here = $6,
                                   blocks = coalesce($7::jsonb, blocks),
                                   attachments = coalesce($8::jsonb, attachments), edited_at = now()
               WHERE id = (SELECT id FROM target) RETURNING *),
         scrub AS (UPDATE channel_events e
                   SET data = e.data || jsonb_build_object('text', m.text, 'mentions', to_jsonb(m.mentions),
                                                           'mentions_channel', m.mentions_channel,
                                                           'mentions_here', m.mentions_here, 'blocks', m.blocks,
                                                           'attachments', m.attachments)
                   FROM m
                   WHERE e.channel_id = $2 AND e.kind IN ('{posted}', '{kind}') AND e.data->>'id' = $1::text),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT m.channel_id, ch.last_seq, '{kind}', {MESSAGE_JSON} FROM m, ch
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::MESSAGE_EDITED,
        posted = kind::MESSAGE_POSTED,
        mentions = known_mentions("$4"),
    );
    let params = [
        Value::Uuid(id.0),
        Value::Uuid(channel.0),
        Value::Text(text.into()),
        Value::Text(id_list(mentions)),
        Value::Bool(mentions.channel),
        Value::Bool(mentions.here),
        replaced.blocks.clone().map_or(Value::Null, |b| Value::Json(serde_json::Value::Array(b))),
        replaced.attachments.clone().map_or(Value::Null, |a| Value::Json(serde_json::Value::Array(a))),
    ];
    let rows = db.query(&sql, &params).await?;
    rows.first().map(|r| events::from_row(channel, r)).transpose()
}

/// What an edit replaces beyond the text (an app's `chat.update`): `None` keeps it.
#[derive(Debug, Clone, Default)]
pub struct Replaced {
    pub blocks: Option<Vec<serde_json::Value>>,
    pub attachments: Option<Vec<serde_json::Value>>,
}

/// Tombstones a message: the text and mentions are erased (not just hidden), also from the
/// stored events that carried them, so backfill cannot reveal them; its reactions and pin go;
/// a reply's root loses one from its count; a `message.deleted` event is recorded; all in one
/// statement. `None` if it was already deleted.
pub async fn delete(
    db: &impl Sql,
    id: MessageId,
    channel: ChannelId,
    by: UserId,
) -> Result<Option<ChannelEvent>, DbError> {
    let sql = format!(
        "WITH target AS (SELECT id, thread_root_id FROM messages
                         WHERE id = $1 AND channel_id = $2 AND deleted_at IS NULL FOR UPDATE),
         root AS (UPDATE messages SET reply_count = greatest(reply_count - 1, 0)
                  WHERE id = (SELECT thread_root_id FROM target) RETURNING id, reply_count, last_reply_at),
         ch AS (UPDATE channels SET last_seq = last_seq + 1
                WHERE id = $2 AND EXISTS (SELECT 1 FROM target) AND (SELECT count(*) FROM root) >= 0
                RETURNING last_seq),
         m AS (UPDATE messages SET text = '', mentions = '{{}}', mentions_channel = false, mentions_here = false,
                                   files = '[]', deleted_at = now()
               WHERE id = (SELECT id FROM target) RETURNING *),
         unfile AS (UPDATE files SET state = 'deleted', deleted_at = now()
                    WHERE message_id = $1 AND state = 'attached' AND EXISTS (SELECT 1 FROM ch)),
         unpin AS (DELETE FROM pins WHERE message_id = $1 AND EXISTS (SELECT 1 FROM ch)),
         unreact AS (DELETE FROM reactions WHERE message_id = $1 AND EXISTS (SELECT 1 FROM ch)),
         scrub AS (UPDATE channel_events
                   SET data = data || jsonb_build_object('text', '', 'deleted', true, 'mentions', '[]'::jsonb,
                                                         'mentions_channel', false, 'mentions_here', false,
                                                         'files', '[]'::jsonb)
                   WHERE channel_id = $2 AND kind IN ('{posted}', '{edited}') AND data->>'id' = $1::text
                     AND EXISTS (SELECT 1 FROM ch)),
         ev AS (INSERT INTO channel_events (channel_id, seq, kind, data)
                SELECT m.channel_id, ch.last_seq, '{kind}',
                       jsonb_build_object('id', m.id, 'channel_id', m.channel_id, 'seq', m.seq, 'deleted_by', $3::uuid,
                                          'thread_root_id', m.thread_root_id)
                       || CASE WHEN root.id IS NULL THEN '{{}}'::jsonb ELSE jsonb_build_object('root', {ROOT_JSON}) END
                FROM m CROSS JOIN ch LEFT JOIN root ON true
                RETURNING {EVENT_COLUMNS})
         SELECT * FROM ev",
        kind = kind::MESSAGE_DELETED,
        posted = kind::MESSAGE_POSTED,
        edited = kind::MESSAGE_EDITED,
    );
    let rows = db.query(&sql, &[Value::Uuid(id.0), Value::Uuid(channel.0), Value::Uuid(by.0)]).await?;
    rows.first().map(|r| events::from_row(channel, r)).transpose()
}
