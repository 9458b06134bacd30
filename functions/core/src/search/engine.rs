//! The request an external search engine (Meilisearch) answers for a [`Query`] whose scope
//! PostgreSQL resolved, built here so that every adapter sends the same.

use super::{Query, Term};

/// What PostgreSQL resolved for a query that an external engine answers: the channels the
/// caller can read (narrowed by `in:`), and the authors `from:` names (`None`: any author).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub channel_ids: Vec<String>,
    pub author_ids: Option<Vec<String>>,
}

/// A Meilisearch search (`POST /indexes/messages/search`) answering a [`Query`] within a
/// [`Scope`]: what the engine adapter sends, built here so that every adapter sends the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineQuery {
    /// Words and phrases quoted, exclusions as `-"..."`, the one prefix last and bare.
    pub q: String,
    /// Authorization (`channel_id IN [...]`) and every filter of the query, joined by `AND`.
    pub filter: String,
    /// Sort by `created_at_ms:desc` instead of relevance.
    pub newest_first: bool,
    pub offset: u32,
    pub limit: u32,
}

impl EngineQuery {
    /// The sort a newest-first query asks for (the index's first ranking rule is `sort`).
    pub const NEWEST_FIRST: &'static str = "created_at_ms:desc";

    /// The request body, as Meilisearch's search route takes it. Every term must match
    /// (`matchingStrategy: all`), as on PostgreSQL; only ids are returned.
    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "q": self.q,
            "filter": self.filter,
            "matchingStrategy": "all",
            "attributesToRetrieve": ["id"],
            "offset": self.offset,
            "limit": self.limit,
        });
        if self.newest_first {
            body["sort"] = serde_json::json!([Self::NEWEST_FIRST]);
        }
        body
    }
}

/// The Meilisearch search answering `q` within `scope`, or `None` when nothing can match (no
/// readable channel, no such author).
///
/// Words and phrases are sent quoted, so they match whole words as on PostgreSQL (a bare last
/// word would be a prefix); prefixes go last, bare, which is the one prefix Meilisearch
/// matches; exclusions are `-"..."`. Authorization is the `channel_id` filter, part of the
/// query like every other filter.
pub fn engine_query(q: &Query, scope: &Scope, newest_first: bool, offset: u32, limit: u32) -> Option<EngineQuery> {
    if scope.channel_ids.is_empty() || scope.author_ids.as_ref().is_some_and(Vec::is_empty) {
        return None;
    }
    let quoted = |t: &Term| match t {
        Term::Word(w) | Term::Prefix(w) => format!("\"{w}\""),
        Term::Phrase(ws) => format!("\"{}\"", ws.join(" ")),
    };
    let mut parts: Vec<String> = q.terms.iter().filter(|t| !matches!(t, Term::Prefix(_))).map(quoted).collect();
    parts.extend(q.excluded.iter().map(|t| format!("-{}", quoted(t))));
    parts.extend(q.terms.iter().filter_map(|t| match t {
        Term::Prefix(p) => Some(p.clone()),
        _ => None,
    }));
    let list = |ids: &[String]| ids.iter().map(|id| format!("\"{id}\"")).collect::<Vec<_>>().join(", ");
    let mut filter = vec![format!("channel_id IN [{}]", list(&scope.channel_ids))];
    if let Some(authors) = &scope.author_ids {
        filter.push(format!("author_id IN [{}]", list(authors)));
    }
    if let Some(after) = q.after_ms {
        filter.push(format!("created_at_ms >= {after}"));
    }
    if let Some(before) = q.before_ms {
        filter.push(format!("created_at_ms < {before}"));
    }
    for (on, attribute) in [(q.has_link, "has_link"), (q.has_pin, "pinned"), (q.is_thread, "is_thread")] {
        if on {
            filter.push(format!("{attribute} = true"));
        }
    }
    Some(EngineQuery { q: parts.join(" "), filter: filter.join(" AND "), newest_first, offset, limit })
}

#[cfg(test)]
mod tests {
    use super::super::DAY_MS;
    use super::*;

    fn parse(s: &str) -> Query {
        Query::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
    }

    #[test]
    fn meilisearch_requests_quote_words_and_filter_by_scope() {
        let q = parse(r#"deploy roll* "release notes" -staging from:@ann has:pin on:2026-01-01"#);
        let scope = Scope { channel_ids: vec!["c1".into(), "c2".into()], author_ids: Some(vec!["u1".into()]) };
        let body = engine_query(&q, &scope, true, 20, 21).expect("a request").body();
        assert_eq!(body["q"], r#""deploy" "release notes" -"staging" roll"#);
        assert_eq!(
            body["filter"],
            format!(
                r#"channel_id IN ["c1", "c2"] AND author_id IN ["u1"] AND created_at_ms >= {} AND created_at_ms < {} AND pinned = true"#,
                20_454 * DAY_MS,
                20_455 * DAY_MS
            )
        );
        assert_eq!(body["sort"], serde_json::json!(["created_at_ms:desc"]));
        assert_eq!((body["offset"].as_u64(), body["limit"].as_u64()), (Some(20), Some(21)));
        assert!(engine_query(&q, &Scope::default(), false, 0, 1).is_none(), "no readable channel");
        let nobody = Scope { channel_ids: vec!["c1".into()], author_ids: Some(vec![]) };
        assert!(engine_query(&q, &nobody, false, 0, 1).is_none(), "from: names nobody");
        let filters_only =
            engine_query(&parse("is:thread"), &Scope { channel_ids: vec!["c".into()], author_ids: None }, false, 0, 1)
                .expect("a request")
                .body();
        assert_eq!(filters_only["q"], "");
        assert_eq!(filters_only["matchingStrategy"], "all");
        assert!(filters_only.get("sort").is_none());
    }
}
