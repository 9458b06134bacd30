//! Message search on PostgreSQL (the embedded default backend): one statement in which the
//! caller's readable channels are part of the query, never a filter applied afterwards.
//!
//! Words, phrases and prefixes go through the generated `search_tsv` (`simple` config:
//! whole words, any language) and rank with `ts_rank`; words in scripts written without
//! spaces (CJK, Thai...) match as substrings through the trigram index on `lower(text)`.
//! The filters `in:`, `from:` and `has:link` are words of `search_tsv` too (migration 0008),
//! so the index intersects them with the searched words instead of checking each match.

use ocomms_core::ids::{ChannelId, MessageId, UserId, WorkspaceId};
use ocomms_core::search::{Query, Scope, Term, is_unspaced_script};
use serde::Serialize;
use uuid::Uuid;

use crate::ports::{DbError, PLAN_PER_CALL, Row, Sql, Value};

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Best match first (newest first among equals).
    Relevance,
    /// Newest first.
    Newest,
}

/// One message that matched, before its snippet is made.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub message_id: MessageId,
    pub channel_id: ChannelId,
    pub channel_name: String,
    pub channel_kind: String,
    pub author_id: UserId,
    pub author_name: String,
    pub seq: i64,
    pub thread_root_id: Option<MessageId>,
    pub created_at_ms: i64,
    #[serde(skip)]
    pub text: String,
}

impl Hit {
    fn from_row(r: &Row) -> Result<Self, DbError> {
        Ok(Self {
            message_id: MessageId(r.uuid("id")?),
            channel_id: ChannelId(r.uuid("channel_id")?),
            channel_name: r.text("channel_name")?,
            channel_kind: r.text("channel_kind")?,
            author_id: UserId(r.uuid("author_id")?),
            author_name: r.text("author_name")?,
            seq: r.int("seq")?,
            thread_root_id: r.opt_uuid("thread_root_id")?.map(MessageId),
            created_at_ms: r.int("created_at_ms")?,
            text: r.text("text")?,
        })
    }
}

/// Statement parameters, numbered as they are added.
struct Params(Vec<Value>);

impl Params {
    fn add(&mut self, v: Value) -> String {
        self.0.push(v);
        format!("${}", self.0.len())
    }
}

/// `%text%` for LIKE, with LIKE's wildcards escaped.
fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The condition one term puts on `m`, and its tsquery when it has one (for ranking).
fn term_sql(term: &Term, p: &mut Params) -> (String, Option<String>) {
    let unspaced = |w: &str| is_unspaced_script(w);
    match term {
        Term::Word(w) | Term::Prefix(w) if unspaced(w) => {
            (format!("lower(m.text) LIKE {}", p.add(Value::Text(contains_pattern(w)))), None)
        }
        Term::Word(w) => {
            let q = format!("plainto_tsquery('simple', {})", p.add(Value::Text(w.clone())));
            (format!("m.search_tsv @@ {q}"), Some(q))
        }
        Term::Prefix(w) => {
            let q = format!("to_tsquery('simple', {} || ':*')", p.add(Value::Text(w.clone())));
            (format!("m.search_tsv @@ {q}"), Some(q))
        }
        Term::Phrase(words) if words.iter().any(|w| unspaced(w)) => {
            // No word boundaries to keep the order by: every word must occur.
            let all: Vec<String> = words
                .iter()
                .map(|w| format!("lower(m.text) LIKE {}", p.add(Value::Text(contains_pattern(w)))))
                .collect();
            (format!("({})", all.join(" AND ")), None)
        }
        Term::Phrase(words) => {
            let words = p.add(Value::Text(words.join(" ")));
            let q = format!("phraseto_tsquery('simple', {words})");
            // Every word as well, which the index answers (the order is checked on the rows):
            // PostgreSQL takes a phrase for nearly as common as its words, and walked back
            // through a million messages for one made of a common and a rarer word.
            (format!("(m.search_tsv @@ plainto_tsquery('simple', {words}) AND m.search_tsv @@ {q})"), Some(q))
        }
    }
}

/// The channels of workspace `$1` that user `$2` can read right now: public ones (not for
/// guests) while a member of the workspace, and the others they are in.
const READABLE: &str = "readable AS (
     SELECT c.id, c.name, c.kind::text AS kind FROM channels c
     JOIN workspace_members wm ON wm.workspace_id = c.workspace_id AND wm.user_id = $2
          AND wm.removed_at IS NULL AND wm.deactivated_at IS NULL
     LEFT JOIN channel_members cm ON cm.channel_id = c.id AND cm.user_id = $2
     WHERE c.workspace_id = $1 AND (cm.user_id IS NOT NULL OR (c.kind = 'public' AND wm.role <> 'guest')))";

/// What a [`Hit`] is read from, over `messages m JOIN readable r JOIN users u`.
fn hit_columns() -> String {
    format!(
        "m.id, m.channel_id, r.name AS channel_name, r.kind AS channel_kind, m.author_id,
         u.display_name AS author_name, m.seq, m.thread_root_id, {} AS created_at_ms, m.text",
        crate::ms!("m.created_at")
    )
}

/// The condition `from:` puts on a user `fu` (a display name without spaces, an email's
/// local part, or `me`).
fn from_condition(q: &Query, p: &mut Params, user: &str) -> Option<String> {
    if q.from.is_empty() {
        return None;
    }
    let any: Vec<String> = q
        .from
        .iter()
        .map(|handle| match handle.as_str() {
            "me" => format!("{user}.id = $2"),
            _ => {
                let h = p.add(Value::Text(handle.clone()));
                format!(
                    "(lower(replace({user}.display_name, ' ', '')) = {h} OR lower(split_part({user}.email, '@', 1)) = {h})"
                )
            }
        })
        .collect();
    Some(format!("({})", any.join(" OR ")))
}

/// The condition `in:` puts on a readable channel `r`.
fn in_condition(q: &Query, p: &mut Params) -> Option<String> {
    if q.in_channels.is_empty() {
        return None;
    }
    let any: Vec<String> =
        q.in_channels.iter().map(|c| format!("lower(r.name) = {}", p.add(Value::Text(c.clone())))).collect();
    Some(format!("({})", any.join(" OR ")))
}

/// What a search engine needs from PostgreSQL for `q`: whether its index is ready (filled and
/// kept up to date by a host), and the [`Scope`]: the channels the caller can read, narrowed
/// by `in:`, and the workspace's users `from:` names. One statement, so the scope is one
/// consistent snapshot of memberships.
pub async fn engine_scope(db: &impl Sql, ws: WorkspaceId, caller: UserId, q: &Query) -> Result<(bool, Scope), DbError> {
    let mut p = Params(vec![Value::Uuid(ws.0), Value::Uuid(caller.0)]);
    let channels_where = in_condition(q, &mut p).unwrap_or_else(|| "true".to_owned());
    let authors = match from_condition(q, &mut p, "fu") {
        None => "NULL::text".to_owned(),
        Some(cond) => format!(
            "(SELECT coalesce(string_agg(fu.id::text, ','), '') FROM users fu
              JOIN workspace_members fm ON fm.user_id = fu.id AND fm.workspace_id = $1 WHERE {cond})"
        ),
    };
    let sql = format!(
        "WITH {READABLE}
         SELECT coalesce((SELECT index_ready FROM search_index_state), false) AS ready,
                (SELECT coalesce(string_agg(r.id::text, ','), '') FROM readable r WHERE {channels_where}) AS channels,
                {authors} AS authors"
    );
    let rows = db.query(&sql, &p.0).await?;
    let Some(row) = rows.first() else { return Ok((false, Scope::default())) };
    let split = |s: String| s.split(',').filter(|id| !id.is_empty()).map(str::to_owned).collect::<Vec<_>>();
    let scope = Scope { channel_ids: split(row.text("channels")?), author_ids: row.opt_text("authors")?.map(split) };
    Ok((row.bool("ready")?, scope))
}

/// The hits with these ids, in the order given, that the caller can still read and that are
/// not deleted (an engine's index may lag behind a deletion or a removal by moments).
pub async fn hits_by_id(db: &impl Sql, ws: WorkspaceId, caller: UserId, ids: &[Uuid]) -> Result<Vec<Hit>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(Uuid::to_string).collect::<Vec<_>>().join(",");
    let sql = format!(
        "WITH {READABLE}
         SELECT {columns}
         FROM messages m
         JOIN readable r ON r.id = m.channel_id
         JOIN users u ON u.id = m.author_id
         WHERE m.id = ANY(string_to_array($3, ',')::uuid[]) AND m.deleted_at IS NULL
         ORDER BY array_position(string_to_array($3, ','), m.id::text)",
        columns = hit_columns(),
    );
    let rows = db.query(&sql, &[Value::Uuid(ws.0), Value::Uuid(caller.0), Value::Text(list)]).await?;
    rows.iter().map(Hit::from_row).collect()
}

/// The tsquery matching any of `ids` as the filter words `{kind}:{id}` that migration 0008
/// adds to `search_tsv` (`in` for a channel, `from` for an author).
fn filter_words(kind: &str, ids: &[String]) -> String {
    ids.iter().map(|id| format!("'{kind}:{id}'")).collect::<Vec<_>>().join(" | ")
}

/// Messages with a link, by the word migration 0008 adds to their `search_tsv`.
const HAS_LINK: &str = "m.search_tsv @@ '''has:link'''::tsquery";

/// What the page query keeps of a matching message.
const MATCH_COLUMNS: &str = "m.id, m.channel_id, m.author_id, m.seq, m.thread_root_id, m.created_at, m.text";

/// How many of the newest matches PostgreSQL ranks by relevance: every page a client can
/// reach (`MAX_OFFSET` plus the largest page).
pub const RANKED_MATCHES: u32 = 1100;

/// The hits of page `offset..offset + limit`, and whether more follow.
pub async fn search(
    db: &impl Sql,
    ws: WorkspaceId,
    caller: UserId,
    q: &Query,
    sort: Sort,
    offset: u32,
    limit: u32,
) -> Result<(Vec<Hit>, bool), DbError> {
    // The scope first: the channels to search (readable now, narrowed by `in:`) and the
    // authors `from:` names, as ids. As values in the page statement, PostgreSQL plans with
    // them: from a subquery it guessed the readable channels hold a twentieth of the messages
    // and read every match of a common word rather than walk back in time.
    let (_, scope) = engine_scope(db, ws, caller, q).await?;
    let authors = scope.author_ids.as_deref();
    if scope.channel_ids.is_empty() || authors.is_some_and(<[String]>::is_empty) {
        // No channel to search, or nobody by that name.
        return Ok((Vec::new(), false));
    }
    let mut p = Params(vec![Value::Uuid(ws.0), Value::Uuid(caller.0)]);
    let mut conditions = vec!["m.deleted_at IS NULL".to_owned()];
    let channels = p.add(Value::Text(scope.channel_ids.join(",")));
    conditions.push(if q.terms.is_empty() {
        // Filters only: the channels' messages through the channel index.
        format!("m.channel_id = ANY (string_to_array({channels}, ',')::uuid[])")
    } else {
        // Words find their messages through the text indexes; the channel is then a filter
        // on those rows. Plain `m.channel_id` would let the planner also read every readable
        // channel's index entries to AND them in (tens of ms per million messages).
        format!("COALESCE(m.channel_id, m.channel_id) = ANY (string_to_array({channels}, ',')::uuid[])")
    });
    // `in:` and `from:` again as words of the index, to intersect with the searched words.
    if !q.in_channels.is_empty() {
        let words = p.add(Value::Text(filter_words("in", &scope.channel_ids)));
        conditions.push(format!("m.search_tsv @@ {words}::text::tsquery"));
    }
    if let Some(authors) = authors {
        let words = p.add(Value::Text(filter_words("from", authors)));
        conditions.push(format!("m.search_tsv @@ {words}::text::tsquery"));
    }
    let mut ranked = Vec::new();
    for term in &q.terms {
        let (cond, tsq) = term_sql(term, &mut p);
        conditions.push(cond);
        ranked.extend(tsq);
    }
    for term in &q.excluded {
        let (cond, _) = term_sql(term, &mut p);
        conditions.push(format!("NOT ({cond})"));
    }
    if q.has_link {
        conditions.push(HAS_LINK.to_owned());
    }
    if q.has_pin {
        conditions.push("EXISTS (SELECT 1 FROM pins pn WHERE pn.message_id = m.id)".to_owned());
    }
    if q.is_thread {
        conditions.push("(m.thread_root_id IS NOT NULL OR m.reply_count > 0)".to_owned());
    }
    if let Some(after) = q.after_ms {
        conditions.push(format!("m.created_at >= to_timestamp({}::int8 / 1000.0)", p.add(Value::Int(after))));
    }
    if let Some(before) = q.before_ms {
        conditions.push(format!("m.created_at < to_timestamp({}::int8 / 1000.0)", p.add(Value::Int(before))));
    }
    let rank = if ranked.is_empty() {
        "0::float8".to_owned()
    } else {
        format!("ts_rank(m.search_tsv, {})::float8", ranked.join(" && "))
    };
    let limit_param = p.add(Value::Int(i64::from(limit) + 1));
    let offset_param = p.add(Value::Int(i64::from(offset)));
    let conditions = conditions.join("\n                   AND ");
    // The page is chosen from `messages` alone; names are joined to its few rows only.
    let matches = match sort {
        // Newest first: an index walk back in time for common words, stopping at the page.
        Sort::Newest => format!(
            "SELECT {MATCH_COLUMNS}, 0::float8 AS rank FROM messages m
             WHERE {conditions}
             ORDER BY m.created_at DESC, m.id DESC
             LIMIT {limit_param} OFFSET {offset_param}"
        ),
        // By relevance among the newest RANKED_MATCHES matches: every page a client can
        // reach, at a cost that does not grow with the number of matches.
        Sort::Relevance => format!(
            "SELECT {MATCH_COLUMNS}, {rank} AS rank FROM (
                 SELECT {MATCH_COLUMNS}, m.search_tsv FROM messages m
                 WHERE {conditions}
                 ORDER BY m.created_at DESC, m.id DESC
                 LIMIT {RANKED_MATCHES}) m
             ORDER BY rank DESC, m.created_at DESC, m.id DESC
             LIMIT {limit_param} OFFSET {offset_param}"
        ),
    };
    let sql = format!(
        "{PLAN_PER_CALL}WITH {READABLE},
         page AS MATERIALIZED ({matches})
         SELECT {columns}, m.rank
         FROM page m
         JOIN readable r ON r.id = m.channel_id
         JOIN users u ON u.id = m.author_id
         ORDER BY m.rank DESC, m.created_at DESC, m.id DESC",
        columns = hit_columns(),
    );
    let rows = db.query(&sql, &p.0).await?;
    let more = rows.len() > limit as usize;
    let hits = rows.iter().take(limit as usize).map(Hit::from_row).collect::<Result<Vec<_>, _>>()?;
    Ok((hits, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_words_no_text_produces() {
        let ids =
            ["0db4f923-9603-4025-9291-6e4998504502".to_owned(), "71c1484b-b164-4260-8868-50eaf9a969ef".to_owned()];
        assert_eq!(
            filter_words("from", &ids),
            "'from:0db4f923-9603-4025-9291-6e4998504502' | 'from:71c1484b-b164-4260-8868-50eaf9a969ef'"
        );
        assert_eq!(filter_words("in", &ids[..1]), "'in:0db4f923-9603-4025-9291-6e4998504502'");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("東京"), "%東京%");
        assert_eq!(contains_pattern("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }

    #[test]
    fn terms_become_conditions_with_numbered_parameters() {
        let mut p = Params(vec![Value::Null, Value::Null]);
        let (cond, tsq) = term_sql(&Term::Word("deploy".into()), &mut p);
        assert_eq!(cond, "m.search_tsv @@ plainto_tsquery('simple', $3)");
        assert!(tsq.is_some());
        let (cond, tsq) = term_sql(&Term::Word("東京".into()), &mut p);
        assert_eq!(cond, "lower(m.text) LIKE $4");
        assert!(tsq.is_none());
        let (cond, _) = term_sql(&Term::Phrase(vec!["release".into(), "notes".into()]), &mut p);
        assert_eq!(
            cond,
            "(m.search_tsv @@ plainto_tsquery('simple', $5) AND m.search_tsv @@ phraseto_tsquery('simple', $5))"
        );
        assert_eq!(p.0[4], Value::Text("release notes".into()));
    }
}
