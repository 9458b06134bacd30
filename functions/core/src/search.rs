//! Message search queries in the syntax people know from Slack, parsed into a [`Query`]
//! that every search backend answers the same way.
//!
//! ```text
//! deploy "release notes" rollb* -staging from:@ann in:#ops has:link has:pin is:thread
//! before:2026-01-31 after:2025-12-01 on:2026-01-05
//! ```
//!
//! - words match whole words (and, for text without spaces such as CJK, substrings);
//! - `"..."` is a phrase: its words in that order; an unclosed quote runs to the end;
//! - `word*` is a prefix; `-word` / `-"phrase"` exclude;
//! - `from:` takes `me` or a member's `@handle` (the display name without spaces, or the
//!   email's local part), `in:` a channel name with or without `#`;
//! - `has:link`, `has:pin`, `is:thread`; `before:`/`after:`/`on:` take `YYYY-MM-DD` (UTC
//!   days; `before` and `after` exclude the day itself, as in Slack).
//!
//! Anything else shaped like `name:value` with a letters-only name is an unknown operator,
//! refused with a 422 that names it; other colons (`12:30`, `https://...`) are plain text.

use crate::ApiError;
use crate::civil::days_from_civil;

/// Longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 500;
/// Most words, phrases and prefixes one query may hold (included and excluded together).
pub const MAX_TERMS: usize = 16;
/// Shortest prefix before `*`, in characters.
pub const MIN_PREFIX_CHARS: usize = 2;

/// What to match in message text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// One word, lower-cased.
    Word(String),
    /// Words in order, lower-cased.
    Phrase(Vec<String>),
    /// The start of a word, lower-cased, without the `*`.
    Prefix(String),
}

/// A parsed query. Empty lists mean "no constraint".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub terms: Vec<Term>,
    pub excluded: Vec<Term>,
    /// `from:` handles, lower-cased, without `@`; `me` stays `me`.
    pub from: Vec<String>,
    /// `in:` channel names, lower-cased, without `#`.
    pub in_channels: Vec<String>,
    pub has_link: bool,
    pub has_pin: bool,
    pub is_thread: bool,
    /// Messages strictly before this instant (epoch ms), from `before:` or `on:`.
    pub before_ms: Option<i64>,
    /// Messages at or after this instant (epoch ms), from `after:` or `on:`.
    pub after_ms: Option<i64>,
}

const DAY_MS: i64 = 86_400_000;

impl Query {
    /// Parses `raw`, refusing what cannot be searched with a message that says why.
    pub fn parse(raw: &str) -> Result<Query, ApiError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(ApiError::validation("the search query is empty"));
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::validation(format!("the search query is longer than {MAX_QUERY_CHARS} characters")));
        }
        let mut q = Query::default();
        for token in tokens(text) {
            q.add(token)?;
        }
        if q.terms.len() + q.excluded.len() > MAX_TERMS {
            return Err(ApiError::validation(format!("a search may hold at most {MAX_TERMS} words and phrases")));
        }
        if q.terms.is_empty() && !q.has_filter() {
            return Err(ApiError::validation("add a word to look for or a filter (from:, in:, has:, is:, before:...)"));
        }
        if let (Some(after), Some(before)) = (q.after_ms, q.before_ms)
            && after >= before
        {
            return Err(ApiError::validation("the date range is empty (after: is not before before:)"));
        }
        Ok(q)
    }

    fn has_filter(&self) -> bool {
        !self.from.is_empty()
            || !self.in_channels.is_empty()
            || self.has_link
            || self.has_pin
            || self.is_thread
            || self.before_ms.is_some()
            || self.after_ms.is_some()
    }

    fn add(&mut self, token: Token) -> Result<(), ApiError> {
        match token {
            Token::Text { negated, text } => {
                if let Some((name, value)) = operator(&text) {
                    if negated {
                        return Err(ApiError::validation(format!("`-{name}:` cannot be negated")));
                    }
                    return self.operator(&name, value);
                }
                let Some(term) = term(&text)? else { return Ok(()) };
                if negated { self.excluded.push(term) } else { self.terms.push(term) }
            }
            Token::Phrase { negated, text } => {
                let words = words(&text);
                let term = match words.len() {
                    0 => return Ok(()),
                    1 => Term::Word(words.into_iter().next().unwrap_or_default()),
                    _ => Term::Phrase(words),
                };
                if negated { self.excluded.push(term) } else { self.terms.push(term) }
            }
        }
        Ok(())
    }

    fn operator(&mut self, name: &str, value: &str) -> Result<(), ApiError> {
        let missing = || ApiError::validation(format!("`{name}:` needs a value"));
        match name {
            "from" => {
                let handle = value.trim_start_matches('@').to_lowercase();
                if handle.is_empty() {
                    return Err(missing());
                }
                self.from.push(handle);
            }
            "in" => {
                let channel = value.trim_start_matches('#').to_lowercase();
                if channel.is_empty() {
                    return Err(missing());
                }
                self.in_channels.push(channel);
            }
            "has" => match value.to_lowercase().as_str() {
                "link" => self.has_link = true,
                "pin" => self.has_pin = true,
                "" => return Err(missing()),
                other => {
                    return Err(ApiError::validation(format!(
                        "unknown filter `has:{other}` (use has:link or has:pin)"
                    )));
                }
            },
            "is" => match value.to_lowercase().as_str() {
                "thread" => self.is_thread = true,
                "" => return Err(missing()),
                other => return Err(ApiError::validation(format!("unknown filter `is:{other}` (use is:thread)"))),
            },
            "before" => {
                let day = date(name, value)?;
                self.before_ms = Some(self.before_ms.map_or(day, |b| b.min(day)));
            }
            "after" => {
                let day = date(name, value)? + DAY_MS;
                self.after_ms = Some(self.after_ms.map_or(day, |a| a.max(day)));
            }
            "on" => {
                let day = date(name, value)?;
                self.after_ms = Some(self.after_ms.map_or(day, |a| a.max(day)));
                self.before_ms = Some(self.before_ms.map_or(day + DAY_MS, |b| b.min(day + DAY_MS)));
            }
            other => {
                return Err(ApiError::validation(format!(
                    "unknown search operator `{other}:` (use from:, in:, has:, is:, before:, after: or on:)"
                )));
            }
        }
        Ok(())
    }
}

/// A `YYYY-MM-DD` day as epoch milliseconds at 00:00 UTC.
fn date(name: &str, value: &str) -> Result<i64, ApiError> {
    let bad = || ApiError::validation(format!("`{name}:{value}` is not a date: write YYYY-MM-DD"));
    let mut parts = value.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i64, u32, u32) =
        (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    let days = days_from_civil(y, m, d);
    if !(1..=12).contains(&m) || crate::civil::civil_from_days(days) != (y, m, d) {
        return Err(bad());
    }
    Ok(days * DAY_MS)
}

/// `name:value` when `name` is letters only and the value does not start with `//` (a URL).
fn operator(text: &str) -> Option<(String, &str)> {
    let (name, value) = text.split_once(':')?;
    let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphabetic());
    (is_name && !value.starts_with("//")).then(|| (name.to_ascii_lowercase(), value))
}

/// A bare token as a term: `word`, `prefix*`; `None` when nothing searchable is left.
fn term(text: &str) -> Result<Option<Term>, ApiError> {
    if let Some(stem) = text.strip_suffix('*') {
        let stem_words = words(stem);
        return match stem_words.as_slice() {
            [] => Ok(None),
            [one] if one.chars().count() < MIN_PREFIX_CHARS => {
                Err(ApiError::validation(format!("a prefix needs at least {MIN_PREFIX_CHARS} characters before `*`")))
            }
            [one] => Ok(Some(Term::Prefix(one.clone()))),
            // `foo-ba*`: the words in order, the last one a prefix, is more than we offer.
            _ => Ok(Some(Term::Phrase(stem_words))),
        };
    }
    let ws = words(text);
    Ok(match ws.len() {
        0 => None,
        1 => ws.into_iter().next().map(Term::Word),
        _ => Some(Term::Phrase(ws)),
    })
}

/// Lower-cased words: runs of letters and digits (any script), split at everything else.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Whether `word` is in a script written without spaces between words (Han, Hiragana,
/// Katakana, Hangul, Thai, Lao, Khmer, Myanmar): such text is searched by substring, since
/// no word boundary can be found in it.
pub fn is_unspaced_script(word: &str) -> bool {
    word.chars().any(|c| {
        matches!(c as u32,
            0x0E00..=0x0EFF // Thai, Lao
            | 0x1000..=0x109F // Myanmar
            | 0x1780..=0x17FF // Khmer
            | 0x3040..=0x30FF // Hiragana, Katakana
            | 0x3400..=0x4DBF // CJK extension A
            | 0x4E00..=0x9FFF // CJK unified ideographs
            | 0xAC00..=0xD7AF // Hangul syllables
            | 0xF900..=0xFAFF // CJK compatibility ideographs
            | 0x20000..=0x2FFFF) // CJK extensions B and later
    })
}

/// A piece of a result's snippet: matched text is `hit`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fragment {
    pub text: String,
    pub hit: bool,
}

/// Characters of context kept before the first match.
const LEAD_CHARS: usize = 40;

/// Up to `max_chars` characters of `text` around its first match of the query's terms, cut
/// into fragments with the matches marked. Every backend's hits get their snippet here, so
/// they read the same whatever found them.
pub fn snippet(text: &str, q: &Query, max_chars: usize) -> Vec<Fragment> {
    let chars: Vec<char> = text.chars().collect();
    // One lower-case char per char, so indexes stay aligned.
    let lower: Vec<char> = chars.iter().map(|c| c.to_lowercase().next().unwrap_or(*c)).collect();
    let mut needles: Vec<(Vec<char>, bool, bool)> = Vec::new(); // (chars, whole word, prefix)
    for term in &q.terms {
        let (list, prefix): (Vec<&String>, bool) = match term {
            Term::Word(w) => (vec![w], false),
            Term::Prefix(p) => (vec![p], true),
            Term::Phrase(ws) => (ws.iter().collect(), false),
        };
        for w in list {
            needles.push((w.chars().collect(), !is_unspaced_script(w), prefix));
        }
    }
    let boundary = |i: usize| i == 0 || i >= lower.len() || !lower[i - 1].is_alphanumeric();
    let mut hits: Vec<(usize, usize)> = Vec::new();
    for (needle, whole, prefix) in &needles {
        if needle.is_empty() || needle.len() > lower.len() {
            continue;
        }
        for start in 0..=lower.len() - needle.len() {
            let end = start + needle.len();
            if lower[start..end] != needle[..] {
                continue;
            }
            let starts_word = boundary(start);
            let ends_word = end >= lower.len() || !lower[end].is_alphanumeric();
            let ok = if *prefix {
                starts_word
            } else if *whole {
                starts_word && ends_word
            } else {
                true
            };
            if ok {
                // A prefix marks the whole word it starts.
                let mut end = end;
                while *prefix && end < lower.len() && lower[end].is_alphanumeric() {
                    end += 1;
                }
                hits.push((start, end));
            }
        }
    }
    hits.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in hits {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let from = merged.first().map_or(0, |(s, _)| s.saturating_sub(LEAD_CHARS));
    let to = (from + max_chars).min(chars.len());
    let mut out: Vec<Fragment> = Vec::new();
    let mut push = |text: String, hit: bool| {
        if !text.is_empty() {
            out.push(Fragment { text, hit });
        }
    };
    let mut at = from;
    if from > 0 {
        push("…".to_owned(), false);
    }
    for (s, e) in merged.into_iter().filter(|(s, _)| *s < to) {
        let (s, e) = (s.max(at), e.min(to));
        push(chars[at..s].iter().collect(), false);
        push(chars[s..e].iter().collect(), true);
        at = e;
    }
    push(chars[at..to].iter().collect(), false);
    if to < chars.len() {
        push("…".to_owned(), false);
    }
    out
}

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

#[derive(Debug, PartialEq, Eq)]
enum Token {
    Text { negated: bool, text: String },
    Phrase { negated: bool, text: String },
}

/// Splits on whitespace outside quotes; a leading `-` negates; `"` opens a phrase that an
/// unmatched quote runs to the end.
fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut negated = false;
        if c == '-' {
            chars.next();
            negated = true;
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            let phrase: String = chars.by_ref().take_while(|&c| c != '"').collect();
            out.push(Token::Phrase { negated, text: phrase });
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            // `from:"Ann Lee"` is not a thing; a quote inside a word ends it.
            if c == '"' && !word.is_empty() {
                break;
            }
            word.push(c);
            chars.next();
        }
        if !word.is_empty() {
            out.push(Token::Text { negated, text: word });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Query {
        Query::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
    }

    fn refused(s: &str) -> String {
        Query::parse(s).expect_err(s).message
    }

    #[test]
    fn words_phrases_prefixes_and_exclusions() {
        let q = parse(r#"Deploy "Release  Notes" rollb* -staging -"old stuff" 12:30"#);
        assert_eq!(
            q.terms,
            [
                Term::Word("deploy".into()),
                Term::Phrase(vec!["release".into(), "notes".into()]),
                Term::Prefix("rollb".into()),
                Term::Phrase(vec!["12".into(), "30".into()]),
            ]
        );
        assert_eq!(q.excluded, [Term::Word("staging".into()), Term::Phrase(vec!["old".into(), "stuff".into()])]);
    }

    #[test]
    fn an_unclosed_quote_runs_to_the_end() {
        assert_eq!(parse(r#"say "hello there"#).terms[1], Term::Phrase(vec!["hello".into(), "there".into()]));
    }

    #[test]
    fn cjk_text_is_one_word_per_run() {
        assert_eq!(parse("東京タワー").terms, [Term::Word("東京タワー".into())]);
        assert_eq!(words("東京 タワー、夜"), ["東京", "タワー", "夜"]);
    }

    #[test]
    fn filters() {
        let q = parse("from:@Ann from:me in:#Ops in:random has:link has:PIN is:thread");
        assert_eq!(q.from, ["ann", "me"]);
        assert_eq!(q.in_channels, ["ops", "random"]);
        assert!(q.has_link && q.has_pin && q.is_thread);
        assert!(q.terms.is_empty());
    }

    #[test]
    fn dates_bound_the_range_in_utc_days() {
        let day = 20_454 * DAY_MS; // 2026-01-01
        let q = parse("x on:2026-01-01");
        assert_eq!((q.after_ms, q.before_ms), (Some(day), Some(day + DAY_MS)));
        let q = parse("x after:2025-12-31 before:2026-01-02");
        assert_eq!((q.after_ms, q.before_ms), (Some(day), Some(day + DAY_MS)));
        assert!(refused("x after:2026-01-01 before:2026-01-02").contains("date range is empty"));
        assert!(refused("x before:2026-02-30").contains("not a date"));
        assert!(refused("x before:yesterday").contains("not a date"));
        assert!(refused("x on:2026-1-1").contains("not a date"));
    }

    #[test]
    fn urls_and_times_are_text() {
        let q = parse("https://example.com/a");
        assert_eq!(q.terms, [Term::Phrase(vec!["https".into(), "example".into(), "com".into(), "a".into()])]);
    }

    #[test]
    fn what_cannot_be_searched_is_refused() {
        assert!(refused("").contains("empty"));
        assert!(refused("   ").contains("empty"));
        assert!(refused(&"a".repeat(MAX_QUERY_CHARS + 1)).contains("longer"));
        assert!(refused("-alone").contains("add a word"));
        assert!(refused("\"\" ---").contains("add a word"));
        assert!(refused("x label:foo").contains("unknown search operator `label:`"));
        assert!(refused("x has:emoji").contains("has:emoji"));
        assert!(refused("x is:open").contains("is:open"));
        assert!(refused("x from:@").contains("needs a value"));
        assert!(refused("x -from:ann").contains("cannot be negated"));
        assert!(refused("a*").contains("prefix needs"));
        let many = (0..=MAX_TERMS).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
        assert!(refused(&many).contains("at most"));
    }

    fn marked(frags: &[Fragment]) -> String {
        frags.iter().map(|f| if f.hit { format!("[{}]", f.text) } else { f.text.clone() }).collect()
    }

    #[test]
    fn snippets_mark_whole_words_prefixes_and_unspaced_substrings() {
        let q = parse(r#"deploy "release notes" roll*"#);
        let text = "Redeploy? No: Deploy the Release notes, then rollback. deployment";
        assert_eq!(
            marked(&snippet(text, &q, 200)),
            "Redeploy? No: [Deploy] the [Release] [notes], then [rollback]. deployment"
        );
        let q = parse("東京");
        assert_eq!(marked(&snippet("明日は東京タワーへ", &q, 200)), "明日は[東京]タワーへ");
        assert!(is_unspaced_script("東京") && is_unspaced_script("ภาษาไทย") && !is_unspaced_script("tokyo"));
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let q = parse("needle");
        let text = format!("{} needle {}", "a ".repeat(100), "b ".repeat(100));
        let frags = snippet(&text, &q, 60);
        let s = marked(&frags);
        assert!(s.starts_with('…') && s.ends_with('…') && s.contains("[needle]"), "{s}");
        assert!(frags.iter().map(|f| f.text.chars().count()).sum::<usize>() <= 62, "{s}");
        assert_eq!(marked(&snippet("no match here", &q, 5)), "no ma…");
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
