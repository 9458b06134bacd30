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
//!
//! Beside the parser: [`snippet`] marks a hit's matches; [`engine_query`] is the request
//! Meilisearch answers within a scope PostgreSQL resolved.

use crate::ApiError;
use crate::civil::days_from_civil;

mod engine;
mod snippet;

pub use engine::{EngineQuery, Scope, engine_query};
pub use snippet::{Fragment, snippet};

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

pub(crate) const DAY_MS: i64 = 86_400_000;

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
}
