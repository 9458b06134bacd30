//! Slack mrkdwn (<https://api.slack.com/reference/surfaces/formatting>) to our markdown and
//! back.
//!
//! The two dialects share `_italic_`, `~strike~`, code and `>` quotes but differ where it
//! matters: `*x*` is bold in Slack and italic for us, links and mentions are `<...>`
//! constructs, and Slack text carries `&amp; &lt; &gt;` entities. Slack has no escapes, so
//! what is literal in Slack but would be markup for our renderer (`web/src/markdown.tsx`)
//! is backslash-escaped by [`to_markdown`], and [`to_mrkdwn`] reads our markdown the way
//! that renderer does, so a message survives the trip both ways. Both run on untrusted
//! input: they never panic, and no input makes them much worse than linear.

use std::borrow::Cow;

use super::is_http_url;

/// The web client renders spans nested deeper than this as literal text.
const MAX_DEPTH: usize = 6;

/// Where converted text goes: our markdown, or text without marks for notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Markdown,
    Plain,
}

/// Slack mrkdwn to our markdown, for what integrations post.
pub fn to_markdown(mrkdwn: &str) -> String {
    convert(mrkdwn, Target::Markdown)
}

/// Slack mrkdwn without its marks, for notifications and search when only mrkdwn is at hand:
/// links become their labels and mentions `@name` (or `@ID` when Slack gave no name).
pub fn plain(mrkdwn: &str) -> String {
    convert(mrkdwn, Target::Plain)
}

fn convert(mrkdwn: &str, target: Target) -> String {
    let text = unify_newlines(mrkdwn);
    let mut out = String::with_capacity(text.len() + 16);
    let mut after_pre = false;
    for segment in segments(&text) {
        match segment {
            Segment::Pre(code) => {
                push_pre(code, target, &mut out);
                after_pre = true;
            }
            Segment::Text(t) => {
                if after_pre && !t.is_empty() && !t.starts_with('\n') {
                    out.push('\n');
                }
                for (n, line) in t.split('\n').enumerate() {
                    if n > 0 {
                        out.push('\n');
                    }
                    convert_line(line, target, &mut out);
                }
                after_pre = false;
            }
        }
    }
    out
}

fn unify_newlines(s: &str) -> Cow<'_, str> {
    if s.contains('\r') { Cow::Owned(s.replace("\r\n", "\n").replace('\r', "\n")) } else { Cow::Borrowed(s) }
}

/// Slack's ``` blocks may start and end anywhere, even mid-line and spanning lines.
enum Segment<'a> {
    Text(&'a str),
    Pre(&'a str),
}

fn segments(s: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find("```")
        && let Some(len) = rest[open + 3..].find("```")
    {
        out.push(Segment::Text(&rest[..open]));
        out.push(Segment::Pre(&rest[open + 3..open + 3 + len]));
        rest = &rest[open + 6 + len..];
    }
    out.push(Segment::Text(rest));
    out
}

/// Our fences are whole lines, so a Slack block is moved onto lines of its own.
fn push_pre(code: &str, target: Target, out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    let code = code.strip_prefix('\n').unwrap_or(code);
    let code = code.strip_suffix('\n').unwrap_or(code);
    if target == Target::Markdown {
        out.push_str("```\n");
    }
    push_decoded(out, code);
    if target == Target::Markdown {
        out.push_str("\n```");
    }
}

// ---------------------------------------------------------------------------------------
// Lines of mrkdwn
// ---------------------------------------------------------------------------------------

/// A run of one line, by byte range.
struct Tok<'a> {
    start: usize,
    end: usize,
    kind: Kind<'a>,
}

enum Kind<'a> {
    /// Text with entities still encoded and marks not yet paired.
    Text,
    /// An inline code span's content.
    Code(&'a str),
    /// A bare http(s) URL, entities encoded.
    Url(&'a str),
    Angle(Angle<'a>),
}

/// A `<...>` construct; labels are `None` when absent or empty, and still encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Angle<'a> {
    User(&'a str, Option<&'a str>),
    Channel(&'a str, Option<&'a str>),
    /// `<!here>`, `<!subteam^ID|@team>`, `<!date^...|fallback>`: the part after `!`.
    Special(&'a str, Option<&'a str>),
    Link(&'a str, Option<&'a str>),
}

fn convert_line(src: &str, target: Target, out: &mut String) {
    let line = Line::new(src);
    let marks = pair_marks(&line);
    // A `[` before this could start one of our links, so it is escaped.
    let link_close = src.rfind("](");
    for (k, tok) in line.toks.iter().enumerate() {
        match (target, &tok.kind, &line.md[k]) {
            (Target::Markdown, Kind::Text, _) => md_text(&line, k, &marks, link_close, out),
            (Target::Markdown, _, Some(md)) => out.push_str(md),
            (Target::Markdown, kind, None) => md_bare_candidate(&line, k, kind, &marks, out),
            (Target::Plain, Kind::Text, _) => plain_text(src, tok, &marks, out),
            (Target::Plain, kind, _) => plain_token(kind, out),
        }
    }
}

/// A line's tokens, the markdown of those that are not text, and the characters our
/// markdown shows around each token: Slack's flanking rules and our escapes are decided on
/// the text as shown (`<#C1|dev>` ends in a word character), not as sent.
struct Line<'a> {
    src: &'a str,
    toks: Vec<Tok<'a>>,
    /// The markdown of each token; `None` for text and for URLs that may show bare, which
    /// depends on the marks around them.
    md: Vec<Option<String>>,
    /// Per token, the last character shown before it and the first shown after it.
    before: Vec<Option<char>>,
    after: Vec<Option<char>>,
}

impl<'a> Line<'a> {
    fn new(src: &'a str) -> Self {
        let toks = tokens(src);
        let md: Vec<Option<String>> = toks.iter().map(|t| fixed_md(&t.kind)).collect();
        let ends: Vec<_> = toks.iter().zip(&md).map(|(t, md)| shown_ends(src, t, md.as_deref())).collect();
        let mut before = Vec::with_capacity(toks.len());
        let mut last = None;
        for &(_, last_shown) in &ends {
            before.push(last);
            last = last_shown.or(last);
        }
        let mut after = vec![None; toks.len()];
        let mut first = None;
        for (k, &(first_shown, _)) in ends.iter().enumerate().rev() {
            after[k] = first;
            first = first_shown.or(first);
        }
        Line { src, toks, md, before, after }
    }

    /// The characters shown either side of the `len` bytes at `p` in text token `k`.
    fn around(&self, k: usize, p: usize, len: usize) -> (Option<char>, Option<char>) {
        let t = &self.toks[k];
        let prev = if p > t.start { self.src[..p].chars().next_back() } else { self.before[k] };
        let next = if p + len < t.end { self.src[p + len..].chars().next() } else { self.after[k] };
        (prev, next)
    }
}

/// The first and last characters a token shows. A URL that may show bare counts as its
/// `[url](url)` form, so marks pair the same whichever it becomes.
fn shown_ends(src: &str, t: &Tok, md: Option<&str>) -> (Option<char>, Option<char>) {
    match (&t.kind, md) {
        (_, Some(md)) => (md.chars().next(), md.chars().next_back()),
        (Kind::Text, None) => {
            let text = &src[t.start..t.end];
            let entity = [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')].into_iter().find(|(e, _)| text.ends_with(e));
            let first = entity_at(text).map(|(c, _)| c).or_else(|| text.chars().next());
            (first, entity.map(|(_, c)| c).or_else(|| text.chars().next_back()))
        }
        (_, None) => (Some('['), Some(')')),
    }
}

fn tokens(line: &str) -> Vec<Tok<'_>> {
    let b = line.as_bytes();
    let mut toks = Vec::new();
    let (mut i, mut text_start) = (0, 0);
    while i < b.len() {
        let special = match b[i] {
            b'`' => code_at(line, i),
            b'<' => angle_at(line, i),
            b'h' if !prev_is_word(line, i) => url_at(line, i),
            _ => None,
        };
        let Some((kind, end)) = special else {
            i += 1;
            continue;
        };
        if text_start < i {
            toks.push(Tok { start: text_start, end: i, kind: Kind::Text });
        }
        toks.push(Tok { start: i, end, kind });
        (i, text_start) = (end, end);
    }
    if text_start < b.len() {
        toks.push(Tok { start: text_start, end: b.len(), kind: Kind::Text });
    }
    toks
}

/// `` `code` `` on one line; an empty pair of backticks is text.
fn code_at(line: &str, i: usize) -> Option<(Kind<'_>, usize)> {
    let len = line[i + 1..].find('`')?;
    (len > 0).then(|| (Kind::Code(&line[i + 1..i + 1 + len]), i + 2 + len))
}

fn url_at(line: &str, i: usize) -> Option<(Kind<'_>, usize)> {
    let len = autolink_len(&line[i..], true)?;
    let url = &line[i..i + len];
    is_http_url(&decode(url)).then_some((Kind::Url(url), i + len))
}

/// A well-formed `<...>` at `i`: closed on its line with no `<` inside, and of a known kind.
/// Anything else is text, its `<` shown as typed.
fn angle_at(line: &str, i: usize) -> Option<(Kind<'_>, usize)> {
    let rest = &line[i..];
    let close = rest[1..].find(['<', '>'])? + 1;
    if rest.as_bytes()[close] != b'>' || close == 1 {
        return None;
    }
    let inner = &rest[1..close];
    let (head, label) = match inner.split_once('|') {
        Some((head, label)) => (head, Some(label).filter(|l| !l.is_empty())),
        None => (inner, None),
    };
    let angle = match *head.as_bytes().first()? {
        b'@' => Angle::User(slack_id(&head[1..])?, label),
        b'#' => Angle::Channel(slack_id(&head[1..])?, label),
        b'!' if head.len() > 1 => Angle::Special(&head[1..], label),
        _ if has_scheme(head) => Angle::Link(head, label),
        _ => return None,
    };
    Some((Kind::Angle(angle), i + close + 1))
}

/// Slack ids are `U024BE7LH`-like; ours are UUIDs. Both are kept exactly as given.
fn slack_id(s: &str) -> Option<&str> {
    (!s.is_empty() && s.bytes().all(is_id_byte)).then_some(s)
}

fn is_id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-'))
}

// ---------------------------------------------------------------------------------------
// Emphasis
// ---------------------------------------------------------------------------------------

/// What Slack makes of a `*`, `_` or `~`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Text,
    Open,
    Close,
}

/// Pairs the marks of a line's text by Slack's rules: an opener is at the start or after a
/// non-word character and before a non-space; a closer is after a non-space and before the
/// end or a non-word character; a span is not empty and on one line.
fn pair_marks(line: &Line) -> Vec<Mark> {
    let mut marks = vec![Mark::Text; line.src.len()];
    for mark in [b'*', b'_', b'~'] {
        let at: Vec<(usize, usize)> = line
            .toks
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t.kind, Kind::Text))
            .flat_map(|(k, t)| (t.start..t.end).filter(move |&p| line.src.as_bytes()[p] == mark).map(move |p| (k, p)))
            .collect();
        pair_mark(line, &at, &mut marks);
    }
    marks
}

/// Pairs each opener with the first closer after it, left to right, in linear time.
fn pair_mark(line: &Line, at: &[(usize, usize)], marks: &mut [Mark]) {
    let closers: Vec<usize> = at.iter().filter(|&&(k, p)| can_close(line.around(k, p, 1))).map(|&(_, p)| p).collect();
    let (mut next, mut free_from) = (0, 0);
    for &(k, p) in at {
        if p < free_from || !can_open(line.around(k, p, 1)) {
            continue;
        }
        while closers.get(next).is_some_and(|&c| c < p + 2) {
            next += 1;
        }
        let Some(&c) = closers.get(next) else { break };
        marks[p] = Mark::Open;
        marks[c] = Mark::Close;
        free_from = c + 1;
        next += 1;
    }
}

fn can_open((prev, next): (Option<char>, Option<char>)) -> bool {
    next.is_some_and(|c| !c.is_whitespace()) && !prev.is_some_and(char::is_alphanumeric)
}

fn can_close((prev, next): (Option<char>, Option<char>)) -> bool {
    prev.is_some_and(|c| !c.is_whitespace()) && !next.is_some_and(char::is_alphanumeric)
}

// ---------------------------------------------------------------------------------------
// Output: our markdown
// ---------------------------------------------------------------------------------------

fn md_text(line: &Line, k: usize, marks: &[Mark], link_close: Option<usize>, out: &mut String) {
    let (src, tok) = (line.src, &line.toks[k]);
    let mut i = tok.start;
    while i < tok.end {
        let rest = &src[i..tok.end];
        if let Some((c, len)) = entity_at(rest) {
            out.push(c);
            i += len;
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        let (_, next) = line.around(k, i, c.len_utf8());
        match c {
            '*' if marks[i] != Mark::Text => out.push_str("**"),
            '*' | '_' | '~' if marks[i] == Mark::Text && md_could_misread(out, c, next) => push_escaped(out, c),
            '`' => push_escaped(out, c),
            '[' if link_close.is_some_and(|at| at > i) => push_escaped(out, c),
            '\\' if next.is_some_and(|n| n.is_ascii_punctuation()) => push_escaped(out, c),
            // Slack notifies for `<!here>` only; the word is text.
            '@' if !prev_is_word(out, out.len()) && special_word(&src[i + 1..]).is_some() => push_escaped(out, c),
            _ => out.push(c),
        }
        i += c.len_utf8();
    }
}

/// Whether our renderer could read this literal mark as markup: as an opener (`*`/`~`
/// before a non-space, `_` also only after a non-word character), or as the second half of
/// a `**`, `__` or `~~` with the mark just written.
fn md_could_misread(out: &str, c: char, next: Option<char>) -> bool {
    let prev = out.chars().next_back();
    let could_open = next.is_some_and(|n| !n.is_whitespace()) && (c != '_' || !prev.is_some_and(is_word));
    could_open || prev == Some(c)
}

/// The markdown of a token that does not depend on its neighbours: all but text and URLs
/// that may show bare.
fn fixed_md(kind: &Kind) -> Option<String> {
    let mut out = String::new();
    match kind {
        Kind::Text => return None,
        _ if bare_candidate(kind).is_some() => return None,
        Kind::Code(code) => {
            out.push('`');
            push_decoded(&mut out, code);
            out.push('`');
        }
        Kind::Url(url) => push_literal(&mut out, &decode(url)),
        Kind::Angle(a) => md_angle(*a, &mut out),
    }
    Some(out)
}

fn md_angle(angle: Angle, out: &mut String) {
    match angle {
        Angle::User(id, _) => {
            out.push_str("<@");
            out.push_str(id);
            out.push('>');
        }
        Angle::Channel(id, name) => {
            out.push('#');
            push_literal(out, &decode(name.unwrap_or(id)));
        }
        Angle::Special(cmd, label) => push_literal(out, &special_text(cmd, label)),
        Angle::Link(url, label) => {
            let url = decode(url);
            match (link_kind(&url), label) {
                (Some(kind), label) => {
                    let label = label.map_or(Cow::Borrowed(kind.shown(&url)), decode);
                    push_md_link(out, &label, &url);
                }
                (None, label) => push_literal(out, &label.map_or(url, decode)),
            }
        }
    }
}

/// The URL of a web link without a label, which shows bare where our autolinker would
/// link exactly it.
fn bare_candidate<'a>(kind: &Kind<'a>) -> Option<Cow<'a, str>> {
    let url = match *kind {
        Kind::Url(url) | Kind::Angle(Angle::Link(url, None)) => decode(url),
        _ => return None,
    };
    (link_kind(&url) == Some(LinkKind::Web)).then_some(url)
}

fn md_bare_candidate(line: &Line, k: usize, kind: &Kind, marks: &[Mark], out: &mut String) {
    let Some(url) = bare_candidate(kind) else { return };
    if bare_url_ok(line, k, marks, &url) {
        out.push_str(&url);
    } else {
        push_md_link(out, &url, &url);
    }
}

/// Our autolinker starts after a non-word character (or at the start of a span) and runs to
/// whitespace or `<>"'`` ` `` minus trailing punctuation, so a URL shows bare only where
/// what follows cannot extend it: an end, a space, a quote, a `<`/`>`, or a span's closer.
fn bare_url_ok(line: &Line, k: usize, marks: &[Mark], url: &str) -> bool {
    let t = &line.toks[k];
    let opened = t.start > 0 && marks[t.start - 1] == Mark::Open;
    let rest = line.src[t.end..].trim_start_matches(is_url_stop);
    let closed = marks.get(line.src.len() - rest.len()) == Some(&Mark::Close);
    let ends = closed
        || rest.is_empty()
        || rest.starts_with(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        || rest.starts_with("&lt;")
        || rest.starts_with("&gt;");
    (opened || !line.before[k].is_some_and(is_word)) && ends && autolink_len(url, false) == Some(url.len())
}

fn push_md_link(out: &mut String, label: &str, url: &str) {
    out.push('[');
    push_literal(out, label);
    out.push_str("](");
    for c in url.chars() {
        if c.is_whitespace() || c.is_control() || matches!(c, '(' | ')' | '<' | '>') {
            let mut buf = [0; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out.push(')');
}

/// Text from a construct (a label, a channel name) shown as is: everything our renderer
/// could read as markup is escaped.
fn push_literal(out: &mut String, s: &str) {
    let mut prev = None;
    for c in s.chars() {
        match c {
            '\\' | '*' | '~' | '`' | '[' | ']' => push_escaped(out, c),
            '_' if !prev.is_some_and(is_word) => push_escaped(out, c),
            _ => out.push(c),
        }
        prev = Some(c);
    }
}

fn push_escaped(out: &mut String, c: char) {
    out.push('\\');
    out.push(c);
}

// ---------------------------------------------------------------------------------------
// Output: plain text
// ---------------------------------------------------------------------------------------

fn plain_text(line: &str, tok: &Tok, marks: &[Mark], out: &mut String) {
    let mut i = tok.start;
    while i < tok.end {
        let rest = &line[i..tok.end];
        if let Some((c, len)) = entity_at(rest) {
            out.push(c);
            i += len;
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        if marks[i] == Mark::Text {
            out.push(c);
        }
        i += c.len_utf8();
    }
}

fn plain_token(kind: &Kind, out: &mut String) {
    match kind {
        Kind::Text => {}
        Kind::Code(s) | Kind::Url(s) => push_decoded(out, s),
        Kind::Angle(a) => plain_angle(*a, out),
    }
}

fn plain_angle(angle: Angle, out: &mut String) {
    match angle {
        Angle::User(id, name) => {
            out.push('@');
            push_decoded(out, name.unwrap_or(id));
        }
        Angle::Channel(id, name) => {
            out.push('#');
            push_decoded(out, name.unwrap_or(id));
        }
        Angle::Special(cmd, label) => out.push_str(&special_text(cmd, label)),
        Angle::Link(_, Some(label)) => push_decoded(out, label),
        Angle::Link(url, None) => {
            let url = decode(url);
            out.push_str(link_kind(&url).map_or(&*url, |k| k.shown(&url)));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Shared by both outputs
// ---------------------------------------------------------------------------------------

/// `<!here>` and friends become our `@here` words; other specials show their label.
fn special_text(cmd: &str, label: Option<&str>) -> String {
    let name = cmd.split('^').next().unwrap_or(cmd);
    match name {
        "here" | "channel" | "everyone" => format!("@{name}"),
        "group" => "@channel".to_owned(),
        _ => label.map(|l| decode(l).into_owned()).unwrap_or_default(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    Web,
    Mail,
}

impl LinkKind {
    /// What a link without a label shows: the address of a mailto link, else the URL.
    fn shown(self, url: &str) -> &str {
        match self {
            LinkKind::Web => url,
            LinkKind::Mail => {
                let address = &url["mailto:".len()..];
                address.split('?').next().filter(|a| !a.is_empty()).unwrap_or(address)
            }
        }
    }
}

/// The links our renderer opens; other schemes show as text.
fn link_kind(url: &str) -> Option<LinkKind> {
    if is_http_url(url) {
        return Some(LinkKind::Web);
    }
    let mail = url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("mailto:"))
        && url.len() > 7
        && !url.chars().any(char::is_control);
    mail.then_some(LinkKind::Mail)
}

/// Length of the http(s) URL at the start of `s` as our renderer's autolinker matches it:
/// up to whitespace, a control character or `<>"'`` ` ``, less trailing `.,;:!?)]`, and
/// with a host. Unlike the renderer it also stops at `\`, which starts the escapes
/// [`to_markdown`] writes: text before one must not become part of a link. With `entities`
/// (reading Slack text), `&lt;`/`&gt;` end it, `&amp;` is one character and trailing marks
/// are left out, as they likely close a span (`_see https://x.y_`).
fn autolink_len(s: &str, entities: bool) -> Option<usize> {
    let mut i = ["https://", "http://"].into_iter().find(|p| s.starts_with(p))?.len();
    // An empty host is no link; stopping at control characters too means every match is
    // an `is_http_url`, so no text is scanned twice.
    if s[i..].starts_with(['/', '?', '#']) {
        return None;
    }
    let mut end = None;
    while let Some(c) = s[i..].chars().next() {
        let rest = &s[i..];
        if c.is_whitespace()
            || c.is_control()
            || matches!(c, '<' | '>' | '"' | '\'' | '`' | '\\')
            || (entities && (rest.starts_with("&lt;") || rest.starts_with("&gt;")))
        {
            break;
        }
        i += if entities && rest.starts_with("&amp;") { 5 } else { c.len_utf8() };
        let trailing = is_url_stop(c) || (entities && matches!(c, '*' | '_' | '~'));
        if !trailing {
            end = Some(i);
        }
    }
    end
}

/// `channel`, `here` or `everyone` as a whole word at the start of `s`, as our renderer
/// reads `@here` (case-sensitive, ended by a non-ASCII-word character).
fn special_word(s: &str) -> Option<&'static str> {
    let name = ["channel", "here", "everyone"].into_iter().find(|w| s.starts_with(w))?;
    let ended = !s[name.len()..].bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
    ended.then_some(name)
}

fn is_url_stop(c: char) -> bool {
    matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']')
}

/// A word character as our renderer's `isWord` sees it.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn prev_is_word(s: &str, i: usize) -> bool {
    s[..i].chars().next_back().is_some_and(is_word)
}

/// One of the three entities Slack escapes, at the start of `s`.
fn entity_at(s: &str) -> Option<(char, usize)> {
    [("&amp;", '&'), ("&lt;", '<'), ("&gt;", '>')].iter().find(|(e, _)| s.starts_with(e)).map(|&(e, c)| (c, e.len()))
}

/// Decodes left to right, so `&amp;lt;` is the text `&lt;`.
fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    push_decoded(&mut out, s);
    Cow::Owned(out)
}

fn push_decoded(out: &mut String, s: &str) {
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let (c, len) = entity_at(rest).unwrap_or(('&', 1));
        out.push(c);
        rest = &rest[len..];
    }
    out.push_str(rest);
}

// ---------------------------------------------------------------------------------------
// Our markdown to mrkdwn
// ---------------------------------------------------------------------------------------

/// Our markdown to Slack mrkdwn, for Web API reads. Markup is read as our web client reads
/// it (`**bold**` and `__bold__` are Slack's `*bold*`, `*x*`/`_x_` its `_x_`, `~~x~~` its
/// `~x~`, links `<url|label>`, bare URLs `<url>`, `@here` `<!here>`); `&`, `<` and `>` are
/// escaped everywhere else, code included, as Slack does. Fences lose their info string,
/// which Slack would show as code.
pub fn to_mrkdwn(markdown: &str) -> String {
    let text = unify_newlines(markdown);
    let mut out = String::with_capacity(text.len() + 16);
    let mut in_fence = false;
    for (n, line) in text.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        if is_fence(line) {
            out.push_str("```");
            in_fence = !in_fence;
        } else if in_fence {
            push_slack(&mut out, line);
        } else {
            Inline::new(line).run(0, &mut out);
        }
    }
    if in_fence {
        out.push_str("\n```");
    }
    out
}

/// A fence line as the client matches it: at most three whitespace characters, then ```.
fn is_fence(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("```") && line[..line.len() - t.len()].chars().count() <= 3
}

/// Delimiters whose closers are memoised: `*`, `**`, `_`, `__`, `~`, `~~`.
const DELIMITERS: usize = 6;

/// One line (or span) of our markdown being converted, with what speeds repeated searches.
struct Inline<'a> {
    s: &'a str,
    /// Per delimiter: the first closer after position `.0` + 1 (`.0 == usize::MAX`: unknown).
    closers: [(usize, Option<usize>); DELIMITERS],
    /// Where a link destination starting at each byte ends; computed on first use.
    dest_ends: Option<Vec<Option<usize>>>,
}

impl<'a> Inline<'a> {
    fn new(s: &'a str) -> Self {
        Inline { s, closers: [(usize::MAX, None); DELIMITERS], dest_ends: None }
    }

    fn run(&mut self, depth: usize, out: &mut String) {
        let s = self.s;
        let mut i = 0;
        while let Some(c) = s[i..].chars().next() {
            let next = match c {
                '\\' => self.escape(i, out),
                '`' => self.code(i, out),
                '<' => self.mention(i, out),
                '@' => self.special(i, out),
                '[' => self.link(i, out),
                'h' => self.autolink(i, out),
                '*' | '_' | '~' => Some(self.mark(i, c, depth, out)),
                _ => None,
            };
            i = next.unwrap_or_else(|| {
                push_slack_char(out, c);
                i + c.len_utf8()
            });
        }
    }

    fn escape(&self, i: usize, out: &mut String) -> Option<usize> {
        let c = self.s[i + 1..].chars().next().filter(char::is_ascii_punctuation)?;
        push_slack_char(out, c);
        Some(i + 2)
    }

    /// A run of backticks up to the next run of as many; Slack has single-backtick spans only.
    fn code(&self, i: usize, out: &mut String) -> Option<usize> {
        let s = self.s;
        let run = s[i..].bytes().take_while(|&b| b == b'`').count();
        let fence = &s[i..i + run];
        let Some(len) = s[i + run..].find(fence) else {
            out.push_str(fence);
            return Some(i + run);
        };
        let code = &s[i + run..i + run + len];
        let tick = if code.is_empty() || code.contains('`') { fence } else { "`" };
        out.push_str(tick);
        push_slack(out, code);
        out.push_str(tick);
        Some(i + run + len + run)
    }

    fn mention(&self, i: usize, out: &mut String) -> Option<usize> {
        let rest = self.s[i..].strip_prefix("<@")?;
        let id = &rest[..rest.bytes().take_while(|&b| is_id_byte(b)).count()];
        if id.is_empty() || !rest[id.len()..].starts_with('>') {
            return None;
        }
        out.push_str("<@");
        out.push_str(id);
        out.push('>');
        Some(i + 3 + id.len())
    }

    fn special(&self, i: usize, out: &mut String) -> Option<usize> {
        if prev_is_word(self.s, i) {
            return None;
        }
        let name = special_word(&self.s[i + 1..])?;
        out.push_str("<!");
        out.push_str(name);
        out.push('>');
        Some(i + 1 + name.len())
    }

    fn link(&mut self, i: usize, out: &mut String) -> Option<usize> {
        let s = self.s;
        let close = label_end(s, i)?;
        let end = self.dest_end(close + 2)?;
        let (label, url) = (&s[i + 1..close], &s[close + 2..end]);
        if label.is_empty() || link_kind(url).is_none() {
            push_slack(out, &s[i..=end]);
        } else {
            out.push('<');
            push_slack_url(out, url);
            out.push('|');
            push_slack(out, &unescape(label));
            out.push('>');
        }
        Some(end + 1)
    }

    fn dest_end(&mut self, at: usize) -> Option<usize> {
        let s = self.s.as_bytes();
        self.dest_ends.get_or_insert_with(|| destination_ends(s)).get(at).copied().flatten()
    }

    fn autolink(&self, i: usize, out: &mut String) -> Option<usize> {
        if prev_is_word(self.s, i) {
            return None;
        }
        let len = autolink_len(&self.s[i..], false)?;
        let url = &self.s[i..i + len];
        if !is_http_url(url) {
            return None;
        }
        // `|` would end the URL of a `<url>`; Slack links a bare URL by itself.
        let angled = !url.contains('|');
        if angled {
            out.push('<');
        }
        push_slack(out, url);
        if angled {
            out.push('>');
        }
        Some(i + len)
    }

    /// A span as the client reads it (the first valid closer wins), or the marks as text.
    fn mark(&mut self, i: usize, c: char, depth: usize, out: &mut String) -> usize {
        let s = self.s;
        let double = s[i + 1..].starts_with(c);
        let len = if double { 2 } else { 1 };
        let left_ok = c != '_' || !prev_is_word(s, i);
        let Some(end) = left_ok.then(|| self.closing(c, double, i + len)).flatten() else {
            push_slack(out, &s[i..i + len]);
            return i + len;
        };
        let slack = match (c, double) {
            ('~', _) => '~',
            (_, true) => '*',
            _ => '_',
        };
        out.push(slack);
        let inner = &s[i + len..end];
        if depth < MAX_DEPTH {
            Inline::new(inner).run(depth + 1, out);
        } else {
            push_slack(out, inner);
        }
        out.push(slack);
        end + len
    }

    /// The client's `closing()`, memoised: the first valid closer after `from` + 1 is also
    /// the first after any later `from` before it, so each search resumes where one ended.
    fn closing(&mut self, c: char, double: bool, from: usize) -> Option<usize> {
        let s = self.s.as_bytes();
        if s.get(from).is_none_or(|&b| b == b' ') {
            return None;
        }
        let slot = match c {
            '*' => 0,
            '_' => 2,
            _ => 4,
        } + usize::from(double);
        let (at, found) = self.closers[slot];
        if at <= from && found.is_none_or(|j| j > from) {
            return found;
        }
        let found = (from + 1..s.len()).find(|&j| is_closer(self.s, c, double, j));
        self.closers[slot] = (from, found);
        found
    }
}

fn is_closer(s: &str, c: char, double: bool, j: usize) -> bool {
    let b = s.as_bytes();
    let d = c as u8;
    let at = if double { b.get(j..j + 2) == Some(&[d, d][..]) } else { b[j] == d };
    let next = s.get(j + 1..).and_then(|r| r.chars().next());
    at && b[j - 1] != b' '
        && b[j - 1] != b'\\'
        && (double || next != Some(c))
        && (double || c != '_' || !next.is_some_and(is_word))
}

/// Where the label of a link starting at `i` ends (its `](`), honouring backslash escapes;
/// `None` if an unescaped `[` comes first.
fn label_end(s: &str, i: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' if b.get(j + 1).is_some_and(u8::is_ascii_punctuation) => j += 2,
            b'[' => return None,
            b']' if b.get(j + 1) == Some(&b'(') => return Some(j),
            _ => j += 1,
        }
    }
    None
}

/// For each position, the `)` ending a link destination that starts there, as the client
/// scans one (balanced parentheses, no space), computed right to left in one pass.
fn destination_ends(s: &[u8]) -> Vec<Option<usize>> {
    let mut ends = vec![None; s.len() + 1];
    for p in (0..s.len()).rev() {
        ends[p] = match s[p] {
            b' ' | b'\n' => None,
            b')' => Some(p),
            b'(' => ends[p + 1].and_then(|q| ends.get(q + 1).copied().flatten()),
            _ => ends[p + 1],
        };
    }
    ends
}

/// Drops our backslash escapes: Slack has none, and shows what our renderer shows.
fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(&n) if c == '\\' && n.is_ascii_punctuation() => {
                out.push(n);
                chars.next();
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn push_slack(out: &mut String, s: &str) {
    for c in s.chars() {
        push_slack_char(out, c);
    }
}

fn push_slack_char(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        _ => out.push(c),
    }
}

/// A URL inside `<...|...>`: `|` would end it and `<>` are not allowed there.
fn push_slack_url(out: &mut String, url: &str) {
    for c in url.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("%3C"),
            '>' => out.push_str("%3E"),
            '|' => out.push_str("%7C"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
#[path = "mrkdwn_tests.rs"]
mod tests;
