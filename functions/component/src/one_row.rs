//! Queries that always return at least one row.
//!
//! Spin 4.0 (through at least 4.0.2 and the 4.1 previews of August 2026) never answers a
//! synchronous spin:postgres `query` whose statement matches no rows: the request hangs
//! (spinframework/spin#3671, fixed upstream by #3673). "No row matched" is ordinary control
//! flow here, so every query is rewritten to return one extra row whatever it matches:
//!
//! ```sql
//! WITH <the statement's own CTEs>,
//!      __ocomms_q AS (<the statement's final part>),
//!      __ocomms_n AS (SELECT row_number() OVER () AS __ocomms_row, __ocomms_q.* FROM __ocomms_q)
//! SELECT __ocomms_n.* FROM (VALUES (0)) AS __ocomms_one (x) LEFT JOIN __ocomms_n ON true
//! ORDER BY __ocomms_n.__ocomms_row
//! ```
//!
//! The padding row has a NULL `__ocomms_row` and is dropped by [`unwrap_rows`], as is the
//! column; the statement's own columns keep their names, types and order. A data-modifying
//! final part (`INSERT ... RETURNING`) is fine as a top-level CTE, which is why the
//! statement's CTEs are spliced in front rather than nested. A statement starting with
//! `WITH` that cannot be split is an error, never sent unwrapped (it could hang on Spin).
//!
//! A runtime that answers such queries says so in the component's environment
//! ([`EMPTY_RESULTS_ENV`] = `answered`; our host does): there the statements go as written,
//! without the padding's window, sort and join on every query.

use ocomms_api::ports::{DbError, Row, Value};

/// Set to `answered` by a runtime that answers queries matching no rows.
pub const EMPTY_RESULTS_ENV: &str = "OCOMMS_PG_EMPTY_RESULTS";

/// Whether the runtime said it answers queries that match no rows.
pub fn runtime_answers_empty_results() -> bool {
    std::env::var(EMPTY_RESULTS_ENV).is_ok_and(|v| v == "answered")
}

/// The marker column: the row's position in the statement's result, NULL on the padding row.
pub const MARKER: &str = "__ocomms_row";

/// `sql` rewritten to return one padding row besides its own.
pub fn at_least_one_row(sql: &str) -> Result<String, DbError> {
    let sql = sql.trim().trim_end_matches(';').trim_end();
    let (head, body) = split_with(sql).map_err(|why| DbError::other(format!("cannot wrap statement: {why}")))?;
    let ctes = match head {
        Some(head) => format!("{head},\n"),
        None => "WITH ".to_owned(),
    };
    Ok(format!(
        "{ctes}__ocomms_q AS ({body}),\n\
         __ocomms_n AS (SELECT row_number() OVER () AS {MARKER}, __ocomms_q.* FROM __ocomms_q)\n\
         SELECT __ocomms_n.* FROM (VALUES (0)) AS __ocomms_one (x) LEFT JOIN __ocomms_n ON true\n\
         ORDER BY __ocomms_n.{MARKER}"
    ))
}

/// The statement's own rows from a wrapped query's: the padding row and the marker column
/// removed, in the statement's order.
pub fn unwrap_rows(mut rows: Vec<Row>) -> Result<Vec<Row>, DbError> {
    let Some(first) = rows.first() else {
        return Err(DbError::other("a wrapped query returned no row at all"));
    };
    let at = first
        .columns
        .iter()
        .position(|c| c == MARKER)
        .ok_or_else(|| DbError::other("a wrapped query returned no marker column"))?;
    let columns: std::sync::Arc<[String]> =
        first.columns.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, c)| c.clone()).collect();
    let mut out = Vec::with_capacity(rows.len());
    let mut positions = Vec::with_capacity(rows.len());
    for row in &mut rows {
        match row.values.get(at) {
            Some(Value::Null) => continue,
            Some(Value::Int(n)) => positions.push(*n),
            other => return Err(DbError::other(format!("unexpected marker value {other:?}"))),
        }
        let mut values = std::mem::take(&mut row.values);
        values.remove(at);
        out.push(Row { columns: columns.clone(), values });
    }
    // Rows arrive ordered by the marker already; keep that order explicit.
    let mut indexed: Vec<(i64, Row)> = positions.into_iter().zip(out).collect();
    indexed.sort_by_key(|(n, _)| *n);
    Ok(indexed.into_iter().map(|(_, r)| r).collect())
}

/// Splits a statement into its `WITH [RECURSIVE] cte, ...` head (if any) and its final
/// part.
fn split_with(sql: &str) -> Result<(Option<&str>, &str), String> {
    let mut lex = Lexer { s: sql.as_bytes(), i: 0 };
    lex.skip_blank();
    if !lex.eat_word("with") {
        return Ok((None, sql));
    }
    lex.skip_blank();
    lex.eat_word("recursive");
    loop {
        lex.skip_blank();
        if !lex.name() {
            return Err(format!("expected a CTE name at byte {}", lex.i));
        }
        lex.skip_blank();
        if lex.peek() == Some(b'(') {
            lex.group()?; // column list
            lex.skip_blank();
        }
        if !lex.eat_word("as") {
            return Err(format!("expected AS at byte {}", lex.i));
        }
        lex.skip_blank();
        if lex.eat_word("not") {
            lex.skip_blank();
        }
        if lex.eat_word("materialized") {
            lex.skip_blank();
        }
        if lex.peek() != Some(b'(') {
            return Err(format!("expected ( at byte {}", lex.i));
        }
        lex.group()?;
        let end = lex.i;
        lex.skip_blank();
        if lex.peek() == Some(b',') {
            lex.i += 1;
            continue;
        }
        if lex.i >= lex.s.len() {
            return Err("no statement after the CTEs".to_owned());
        }
        return Ok((Some(sql[..end].trim_end()), sql[lex.i..].trim()));
    }
}

/// Just enough of PostgreSQL's lexical rules to find the CTE list's end: blanks and
/// comments, words, quoted names, strings (standard, `E''` and dollar-quoted) inside groups.
struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_blank(&mut self) {
        loop {
            match (self.peek(), self.s.get(self.i + 1).copied()) {
                (Some(c), _) if c.is_ascii_whitespace() => self.i += 1,
                (Some(b'-'), Some(b'-')) => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let mut depth = 0usize;
                    while self.i < self.s.len() {
                        if self.s[self.i..].starts_with(b"/*") {
                            depth += 1;
                            self.i += 2;
                        } else if self.s[self.i..].starts_with(b"*/") {
                            depth -= 1;
                            self.i += 2;
                            if depth == 0 {
                                break;
                            }
                        } else {
                            self.i += 1;
                        }
                    }
                }
                _ => return,
            }
        }
    }

    fn is_word_byte(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
    }

    /// Consumes `word` (case-insensitive) if it is the next whole word.
    fn eat_word(&mut self, word: &str) -> bool {
        let end = self.i + word.len();
        let matches = self.s.get(self.i..end).is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
            && !self.s.get(end).copied().is_some_and(Self::is_word_byte);
        if matches {
            self.i = end;
        }
        matches
    }

    /// A name: a word or a double-quoted identifier.
    fn name(&mut self) -> bool {
        match self.peek() {
            Some(b'"') => self.quoted(b'"', false).is_ok(),
            Some(c) if Self::is_word_byte(c) && !c.is_ascii_digit() => {
                while self.peek().is_some_and(Self::is_word_byte) {
                    self.i += 1;
                }
                true
            }
            _ => false,
        }
    }

    /// Skips a quoted token starting at the opening `q`; a doubled `q` is one character.
    fn quoted(&mut self, q: u8, backslash_escapes: bool) -> Result<(), String> {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            if backslash_escapes && c == b'\\' {
                self.i += 1;
            } else if c == q {
                if self.peek() == Some(q) {
                    self.i += 1;
                } else {
                    return Ok(());
                }
            }
        }
        Err(format!("unterminated quote from byte {start}"))
    }

    /// Skips a `$tag$ ... $tag$` string starting at its first `$`, if it is one.
    fn dollar_quoted(&mut self) -> Result<bool, String> {
        let rest = &self.s[self.i..];
        let Some(len) = rest[1..].iter().position(|&c| c == b'$') else { return Ok(false) };
        let tag = &rest[..len + 2];
        if !tag[1..tag.len() - 1].iter().all(|&c| c.is_ascii_alphanumeric() || c == b'_')
            || tag.get(1).is_some_and(u8::is_ascii_digit)
        {
            return Ok(false); // `$1`, a parameter
        }
        let body = &rest[tag.len()..];
        let close = body.windows(tag.len()).position(|w| w == tag).ok_or("unterminated dollar quote")?;
        self.i += tag.len() + close + tag.len();
        Ok(true)
    }

    /// Skips a parenthesized group starting at its `(`, nested groups and quotes included.
    fn group(&mut self) -> Result<(), String> {
        let start = self.i;
        let mut depth = 0usize;
        while self.i < self.s.len() {
            self.skip_blank();
            let Some(c) = self.peek() else { break };
            match c {
                b'(' => {
                    depth += 1;
                    self.i += 1;
                }
                b')' => {
                    depth -= 1;
                    self.i += 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                b'\'' => {
                    let escapes = self.i > 0
                        && matches!(self.s[self.i - 1], b'e' | b'E')
                        && !self.s.get(self.i.wrapping_sub(2)).copied().is_some_and(Self::is_word_byte);
                    self.quoted(b'\'', escapes)?;
                }
                b'"' => self.quoted(b'"', false)?,
                b'$' => {
                    if !self.dollar_quoted()? {
                        self.i += 1;
                    }
                }
                _ => self.i += 1,
            }
        }
        Err(format!("unbalanced parenthesis from byte {start}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str) -> (Option<&str>, &str) {
        split_with(sql).unwrap_or_else(|e| panic!("{e}: {sql}"))
    }

    #[test]
    fn statements_without_ctes_are_the_final_part() {
        assert_eq!(split("SELECT 1"), (None, "SELECT 1"));
        assert_eq!(split("  withdraw"), (None, "  withdraw"));
        let w = at_least_one_row("SELECT a FROM t WHERE b = $1;").expect("wraps");
        assert!(w.starts_with("WITH __ocomms_q AS (SELECT a FROM t WHERE b = $1),"), "{w}");
    }

    #[test]
    fn ctes_are_spliced_in_front() {
        let sql = "WITH a AS (SELECT ')' AS x), b (y) AS MATERIALIZED (SELECT \"wi)th\" FROM a) SELECT * FROM b";
        assert_eq!(
            split(sql),
            (Some("WITH a AS (SELECT ')' AS x), b (y) AS MATERIALIZED (SELECT \"wi)th\" FROM a)"), "SELECT * FROM b")
        );
        let sql = "with recursive r as not materialized (select 1 -- )\n union all select 2 /* ( */) insert into t select * from r returning id";
        let (head, body) = split(sql);
        assert!(head.is_some_and(|h| h.ends_with("*/)")), "{head:?}");
        assert_eq!(body, "insert into t select * from r returning id");
        let sql = "WITH f AS (SELECT $q$ ) $q$, E'\\')', $1::text) SELECT 1";
        assert_eq!(split(sql).1, "SELECT 1");
    }

    #[test]
    fn unsplittable_statements_are_errors() {
        for sql in ["WITH a AS SELECT 1", "WITH a AS (SELECT 1", "WITH (SELECT 1) SELECT 2", "WITH a AS (SELECT 1)"] {
            assert!(at_least_one_row(sql).is_err(), "{sql}");
        }
    }

    fn row(columns: &[&str], values: Vec<Value>) -> Row {
        Row { columns: columns.iter().map(|c| (*c).to_owned()).collect(), values }
    }

    #[test]
    fn the_padding_row_and_marker_are_removed() {
        let cols = [MARKER, "a"];
        let padding = vec![row(&cols, vec![Value::Null, Value::Null])];
        assert!(unwrap_rows(padding).expect("unwraps").is_empty());
        let rows = vec![
            row(&cols, vec![Value::Int(2), Value::Text("y".into())]),
            row(&cols, vec![Value::Int(1), Value::Text("x".into())]),
        ];
        let out = unwrap_rows(rows).expect("unwraps");
        assert_eq!(out.iter().map(|r| r.text("a").expect("a")).collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(&*out[0].columns, ["a".to_owned()]);
        assert!(unwrap_rows(Vec::new()).is_err());
        assert!(unwrap_rows(vec![row(&["a"], vec![Value::Null])]).is_err());
    }
}
