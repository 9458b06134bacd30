//! Block Kit blocks and legacy attachments, the subset the web client renders, validated
//! once when posted and stored normalised beside the message.
//!
//! Normalised output has one shape whatever the input's quirks, so the client reads it
//! without re-validating. mrkdwn texts are converted to our markdown here (and keep
//! `"type":"mrkdwn"`, meaning "render as markdown"); `plain_text` is kept as sent, for the
//! client escapes it instead.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::{is_http_url, mrkdwn, parse_ts};

pub const MAX_BLOCKS: usize = 50;
pub const MAX_BLOCK_ID_CHARS: usize = 255;
pub const MAX_SECTION_TEXT_CHARS: usize = 3000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_FIELD_CHARS: usize = 2000;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_CONTEXT_TEXT_CHARS: usize = 3000;
pub const MAX_HEADER_CHARS: usize = 150;
pub const MAX_IMAGE_URL_CHARS: usize = 3000;
pub const MAX_ALT_TEXT_CHARS: usize = 2000;
pub const MAX_IMAGE_TITLE_CHARS: usize = 2000;
pub const MAX_ATTACHMENTS: usize = 20;
pub const MAX_ATTACHMENT_FIELDS: usize = 20;
/// Longest [`fallback_text`], in characters.
pub const MAX_FALLBACK_CHARS: usize = 4000;
/// Latest attachment `ts` kept (9999-12-31T23:59:59Z); later ones are nonsense.
const MAX_ATTACHMENT_TS: i64 = 253_402_300_799;

/// Why blocks or attachments were refused, in Slack's error codes. The detail names the
/// block or attachment and the rule, for the developer reading the response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("invalid_blocks: {0}")]
    InvalidBlocks(String),
    #[error("invalid_attachments: {0}")]
    InvalidAttachments(String),
}

impl BlockError {
    /// The `error` of Slack's `{"ok": false}` response.
    pub fn slack_code(&self) -> &'static str {
        match self {
            BlockError::InvalidBlocks(_) => "invalid_blocks",
            BlockError::InvalidAttachments(_) => "invalid_attachments",
        }
    }

    /// What was wrong, without the code.
    pub fn detail(&self) -> &str {
        match self {
            BlockError::InvalidBlocks(d) | BlockError::InvalidAttachments(d) => d,
        }
    }
}

type Obj = Map<String, Value>;

// ---------------------------------------------------------------------------------------
// Blocks
// ---------------------------------------------------------------------------------------

/// Validates and normalises a message's `blocks`: a JSON array, or a string holding one
/// (form-encoded bodies send it so). Supported: `section`, `context`, `divider`, `header`
/// and `image`; any other type is refused rather than silently not shown.
///
/// Output per block (`block_id` only when given):
/// - `{"type":"section","text"?:T,"fields"?:[T],"accessory"?:{"type":"image","image_url","alt_text"}}`
///   (a non-image accessory is dropped: it would be an interactive element we do not run);
/// - `{"type":"context","elements":[T | {"type":"image","image_url","alt_text"}]}`;
/// - `{"type":"divider"}`; `{"type":"header","text":T}`;
/// - `{"type":"image","image_url","alt_text","title"?:T}`;
///
/// where `T` is `{"type":"mrkdwn"|"plain_text","text"}`, mrkdwn already our markdown.
pub fn normalize_blocks(v: &Value) -> Result<Vec<Value>, BlockError> {
    let items = json_array(v, "blocks").map_err(BlockError::InvalidBlocks)?;
    blocks(&items).map_err(BlockError::InvalidBlocks)
}

fn blocks(items: &[Value]) -> Result<Vec<Value>, String> {
    if items.len() > MAX_BLOCKS {
        return Err(format!("{} blocks; at most {MAX_BLOCKS} are allowed", items.len()));
    }
    let mut ids = Vec::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(block(item, &mut ids).map_err(|why| format!("block {i}{why}"))?);
    }
    Ok(out)
}

/// One block; errors start with the block's type, after the caller's "block N".
fn block(v: &Value, ids: &mut Vec<String>) -> Result<Value, String> {
    let o = v.as_object().ok_or(": not a JSON object")?;
    let kind = o.get("type").and_then(Value::as_str).ok_or(": has no \"type\"")?;
    let mut out = Obj::new();
    out.insert("type".into(), kind.into());
    let filled = match kind {
        "section" => section(o, &mut out),
        "context" => context(o, &mut out),
        "divider" => Ok(()),
        "header" => header(o, &mut out),
        "image" => image_block(o, &mut out),
        _ => Err(format!("unsupported type (supported: section, context, divider, header, image): {kind:?}")),
    };
    filled.and_then(|()| block_id(o, ids, &mut out)).map_err(|why| format!(" ({kind}): {why}"))?;
    Ok(Value::Object(out))
}

/// Slack refuses a `block_id` that is too long or used twice in one message.
fn block_id(o: &Obj, ids: &mut Vec<String>, out: &mut Obj) -> Result<(), String> {
    let Some(id) = o.get("block_id") else { return Ok(()) };
    let id = id.as_str().ok_or("block_id is not a string")?;
    check_len("block_id", id, MAX_BLOCK_ID_CHARS)?;
    if ids.iter().any(|seen| seen == id) {
        return Err(format!("block_id {id:?} is used twice"));
    }
    ids.push(id.to_owned());
    out.insert("block_id".into(), id.into());
    Ok(())
}

fn section(o: &Obj, out: &mut Obj) -> Result<(), String> {
    if let Some(t) = o.get("text") {
        out.insert("text".into(), text_object(t, MAX_SECTION_TEXT_CHARS, false).map_err(|e| format!("text: {e}"))?);
    }
    if let Some(f) = o.get("fields") {
        let fields = list(f, "fields", MAX_FIELDS)?;
        let fields = fields
            .iter()
            .enumerate()
            .map(|(i, f)| text_object(f, MAX_FIELD_CHARS, false).map_err(|e| format!("fields[{i}]: {e}")));
        out.insert("fields".into(), Value::Array(fields.collect::<Result<_, _>>()?));
    }
    if !out.contains_key("text") && !out.contains_key("fields") {
        return Err("needs a text or fields".into());
    }
    match o.get("accessory") {
        None => {}
        Some(Value::Object(a)) if a.get("type").and_then(Value::as_str) == Some("image") => {
            out.insert("accessory".into(), image_element(a).map_err(|e| format!("accessory: {e}"))?);
        }
        Some(Value::Object(a)) if a.get("type").is_some_and(Value::is_string) => {}
        Some(_) => return Err("accessory is not an element object".into()),
    }
    Ok(())
}

fn context(o: &Obj, out: &mut Obj) -> Result<(), String> {
    let elements = list(o.get("elements").unwrap_or(&Value::Null), "elements", MAX_CONTEXT_ELEMENTS)?;
    let elements =
        elements.iter().enumerate().map(|(i, e)| context_element(e).map_err(|e| format!("elements[{i}]: {e}")));
    out.insert("elements".into(), Value::Array(elements.collect::<Result<_, _>>()?));
    Ok(())
}

fn context_element(v: &Value) -> Result<Value, String> {
    match v.get("type").and_then(Value::as_str) {
        Some("image") => image_element(v.as_object().ok_or("not an object")?),
        Some("mrkdwn" | "plain_text") => text_object(v, MAX_CONTEXT_TEXT_CHARS, false),
        Some(other) => Err(format!("unsupported element type {other:?} (supported: mrkdwn, plain_text, image)")),
        None => Err("has no \"type\"".into()),
    }
}

fn header(o: &Obj, out: &mut Obj) -> Result<(), String> {
    let text = o.get("text").ok_or("needs a text")?;
    out.insert("text".into(), text_object(text, MAX_HEADER_CHARS, true).map_err(|e| format!("text: {e}"))?);
    Ok(())
}

fn image_block(o: &Obj, out: &mut Obj) -> Result<(), String> {
    let Value::Object(image) = image_element(o)? else { return Err("not an image".into()) };
    out.extend(image.into_iter().filter(|(k, _)| k != "type"));
    if let Some(title) = o.get("title") {
        let title = text_object(title, MAX_IMAGE_TITLE_CHARS, true).map_err(|e| format!("title: {e}"))?;
        out.insert("title".into(), title);
    }
    Ok(())
}

/// An image element or block's picture: both must be there, as Slack requires.
fn image_element(o: &Obj) -> Result<Value, String> {
    let url = o.get("image_url").and_then(Value::as_str).ok_or("needs an image_url (slack_file is not supported)")?;
    check_len("image_url", url, MAX_IMAGE_URL_CHARS)?;
    if !is_http_url(url) {
        return Err("image_url is not an absolute http(s) URL".into());
    }
    let alt = o.get("alt_text").and_then(Value::as_str).ok_or("needs an alt_text")?;
    if alt.trim().is_empty() {
        return Err("alt_text is empty".into());
    }
    check_len("alt_text", alt, MAX_ALT_TEXT_CHARS)?;
    Ok(json!({"type": "image", "image_url": url, "alt_text": alt}))
}

/// A text object; `plain_only` where Slack allows only `plain_text` (headers, titles).
fn text_object(v: &Value, max_chars: usize, plain_only: bool) -> Result<Value, String> {
    let o = v.as_object().ok_or("not a text object")?;
    let kind = o.get("type").and_then(Value::as_str).ok_or("text object has no \"type\"")?;
    let text = o.get("text").and_then(Value::as_str).ok_or("text object has no \"text\" string")?;
    if let Some(flag) = ["emoji", "verbatim"].into_iter().find(|f| o.get(*f).is_some_and(|v| !v.is_boolean())) {
        return Err(format!("{flag} is not a boolean"));
    }
    if text.is_empty() {
        return Err("text is empty".into());
    }
    check_len("text", text, max_chars)?;
    let text = match kind {
        "plain_text" => text.to_owned(),
        "mrkdwn" if !plain_only => mrkdwn::to_markdown(text),
        "mrkdwn" => return Err("must be plain_text".into()),
        other => return Err(format!("unsupported text type {other:?} (supported: mrkdwn, plain_text)")),
    };
    Ok(json!({"type": kind, "text": text}))
}

fn list<'a>(v: &'a Value, what: &str, max: usize) -> Result<&'a [Value], String> {
    let items = v.as_array().ok_or_else(|| format!("{what} is not an array"))?;
    match items.len() {
        0 => Err(format!("{what} is empty")),
        n if n > max => Err(format!("{what} has {n} items; at most {max} are allowed")),
        _ => Ok(items),
    }
}

fn check_len(what: &str, s: &str, max_chars: usize) -> Result<(), String> {
    let n = s.chars().count();
    if n > max_chars { Err(format!("{what} is {n} characters; at most {max_chars} are allowed")) } else { Ok(()) }
}

/// A JSON array, or a string holding one; an empty string is no items.
fn json_array<'a>(v: &'a Value, what: &str) -> Result<Cow<'a, [Value]>, String> {
    match v {
        Value::Array(items) => Ok(Cow::Borrowed(items)),
        Value::String(s) if s.trim().is_empty() => Ok(Cow::Owned(Vec::new())),
        // serde_json refuses nesting deeper than 128, so hostile strings cannot overflow
        // the stack.
        Value::String(s) => match serde_json::from_str(s) {
            Ok(Value::Array(items)) => Ok(Cow::Owned(items)),
            Ok(_) => Err(format!("{what} is not a JSON array")),
            Err(e) => Err(format!("{what} is not valid JSON: {e}")),
        },
        _ => Err(format!("{what} is not a JSON array")),
    }
}

// ---------------------------------------------------------------------------------------
// Attachments
// ---------------------------------------------------------------------------------------

/// Validates and normalises a message's legacy `attachments` (an array, or a string holding
/// one). Unknown keys are ignored and unusable values (a link that is not http(s), an
/// unknown colour, a `ts` that is not a time) dropped, as Slack does; the structure itself
/// (objects, `fields`, `blocks`) is checked.
///
/// Output per attachment, each key only when present: `fallback`, `title`, `author_name`,
/// `footer` (plain text); `pretext`, `text` and each field's `value` (our markdown, converted
/// from mrkdwn whatever `mrkdwn_in` says, which is not kept); `color` (`#rrggbb`);
/// `author_link`, `author_icon`, `title_link`, `image_url`, `thumb_url`, `footer_icon`
/// (http(s) URLs); `ts` (integer seconds); `fields` (`[{"title"?, "value"?, "short"}]`);
/// `blocks` (as [`normalize_blocks`]).
pub fn normalize_attachments(v: &Value) -> Result<Vec<Value>, BlockError> {
    let items = json_array(v, "attachments").map_err(BlockError::InvalidAttachments)?;
    if items.len() > MAX_ATTACHMENTS {
        let why = format!("{} attachments; at most {MAX_ATTACHMENTS} are allowed", items.len());
        return Err(BlockError::InvalidAttachments(why));
    }
    let normalized = items
        .iter()
        .enumerate()
        .map(|(i, a)| attachment(a).map_err(|why| BlockError::InvalidAttachments(format!("attachment {i}: {why}"))));
    normalized.collect()
}

const PLAIN_KEYS: [&str; 4] = ["fallback", "title", "author_name", "footer"];
const MRKDWN_KEYS: [&str; 2] = ["pretext", "text"];
const URL_KEYS: [&str; 6] = ["author_link", "author_icon", "title_link", "image_url", "thumb_url", "footer_icon"];
/// An attachment with none of these shows nothing.
const CONTENT_KEYS: [&str; 7] = ["text", "pretext", "title", "fields", "image_url", "blocks", "fallback"];

fn attachment(v: &Value) -> Result<Value, String> {
    let o = v.as_object().ok_or("not a JSON object")?;
    let mut out = Obj::new();
    let strings = |keys: &'static [&'static str]| {
        keys.iter().filter_map(move |&k| Some((k, o.get(k)?.as_str().filter(|s| !s.trim().is_empty())?)))
    };
    for (k, s) in strings(&PLAIN_KEYS) {
        out.insert(k.into(), s.into());
    }
    for (k, s) in strings(&MRKDWN_KEYS) {
        out.insert(k.into(), mrkdwn::to_markdown(s).into());
    }
    for (k, s) in strings(&URL_KEYS).filter(|(_, s)| s.chars().count() <= MAX_IMAGE_URL_CHARS && is_http_url(s)) {
        out.insert(k.into(), s.into());
    }
    if let Some(c) = o.get("color").and_then(color) {
        out.insert("color".into(), c.into());
    }
    if let Some(ts) = o.get("ts").and_then(attachment_ts) {
        out.insert("ts".into(), ts.into());
    }
    attachment_fields(o, &mut out)?;
    if let Some(b) = o.get("blocks") {
        let b = normalize_blocks(b).map_err(|e| format!("blocks: {}", e.detail()))?;
        if !b.is_empty() {
            out.insert("blocks".into(), b.into());
        }
    }
    if !CONTENT_KEYS.iter().any(|k| out.contains_key(*k)) {
        return Err(format!("shows nothing: it has none of {}", CONTENT_KEYS.join(", ")));
    }
    Ok(Value::Object(out))
}

fn attachment_fields(o: &Obj, out: &mut Obj) -> Result<(), String> {
    let Some(fields) = o.get("fields").filter(|f| !f.is_null()) else { return Ok(()) };
    let fields = fields.as_array().ok_or("fields is not an array")?;
    if fields.len() > MAX_ATTACHMENT_FIELDS {
        return Err(format!("fields has {} items; at most {MAX_ATTACHMENT_FIELDS} are allowed", fields.len()));
    }
    let mut kept = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let f = f.as_object().ok_or_else(|| format!("fields[{i}] is not an object"))?;
        let text = |k: &str| f.get(k).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        let (title, value) = (text("title"), text("value"));
        if title.is_none() && value.is_none() {
            continue;
        }
        let mut field = Obj::new();
        if let Some(t) = title {
            field.insert("title".into(), t.into());
        }
        if let Some(v) = value {
            field.insert("value".into(), mrkdwn::to_markdown(v).into());
        }
        field.insert("short".into(), f.get("short").and_then(Value::as_bool).unwrap_or(false).into());
        kept.push(Value::Object(field));
    }
    if !kept.is_empty() {
        out.insert("fields".into(), kept.into());
    }
    Ok(())
}

/// `#rrggbb`, lower case; Slack's three named colours are its brand colours.
fn color(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    let named = match s {
        "good" => Some("#2eb67d"),
        "warning" => Some("#ecb22e"),
        "danger" => Some("#e01e5a"),
        _ => None,
    };
    if let Some(hex) = named {
        return Some(hex.to_owned());
    }
    let hex = s.strip_prefix('#').unwrap_or(s);
    (hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("#{}", hex.to_ascii_lowercase()))
}

/// Epoch seconds from a number or a numeric string (a Slack `ts` included).
fn attachment_ts(v: &Value) -> Option<i64> {
    let secs = match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => i,
            None => n.as_f64().filter(|f| f.is_finite() && *f >= 0.0 && *f <= MAX_ATTACHMENT_TS as f64)?.floor() as i64,
        },
        Value::String(s) => parse_ts(s.trim())? / 1_000_000,
        _ => return None,
    };
    (0..=MAX_ATTACHMENT_TS).contains(&secs).then_some(secs)
}

// ---------------------------------------------------------------------------------------
// Fallback text
// ---------------------------------------------------------------------------------------

/// The text of a message posted without `text`, from its normalised blocks and attachments:
/// what notifications show and search indexes. Plain text, one part a line, at most
/// [`MAX_FALLBACK_CHARS`] characters.
pub fn fallback_text(blocks: &[Value], attachments: &[Value]) -> String {
    let mut parts = Vec::new();
    for b in blocks {
        block_texts(b, &mut parts);
    }
    for a in attachments {
        attachment_texts(a, &mut parts);
    }
    let mut text = parts.into_iter().filter(|p| !p.trim().is_empty()).collect::<Vec<_>>().join("\n");
    if let Some((cut, _)) = text.char_indices().nth(MAX_FALLBACK_CHARS) {
        text.truncate(cut);
    }
    text
}

fn block_texts(b: &Value, parts: &mut Vec<String>) {
    parts.extend(b.get("text").and_then(text_of));
    parts.extend(b.get("title").and_then(text_of));
    for key in ["fields", "elements"] {
        let items = b.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        parts.extend(items.iter().filter_map(text_of));
    }
}

/// A normalised text object's text, without markdown.
fn text_of(t: &Value) -> Option<String> {
    let text = t.get("text")?.as_str()?;
    match t.get("type")?.as_str()? {
        "mrkdwn" => Some(markdown_plain(text)),
        "plain_text" => Some(text.to_owned()),
        _ => None,
    }
}

/// Reads our markdown as the client does (via mrkdwn), so escapes, links and marks all go.
fn markdown_plain(md: &str) -> String {
    mrkdwn::plain(&mrkdwn::to_mrkdwn(md))
}

fn attachment_texts(a: &Value, parts: &mut Vec<String>) {
    let field = |k: &str| a.get(k).and_then(Value::as_str);
    if let Some(fallback) = field("fallback") {
        parts.push(fallback.to_owned());
        return;
    }
    let before = parts.len();
    parts.extend(field("pretext").map(markdown_plain));
    parts.extend(field("title").map(str::to_owned));
    parts.extend(field("text").map(markdown_plain));
    if parts.len() > before {
        return;
    }
    for f in a.get("fields").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        let title = f.get("title").and_then(Value::as_str);
        let value = f.get("value").and_then(Value::as_str).map(markdown_plain);
        parts.push([title.map(str::to_owned), value].into_iter().flatten().collect::<Vec<_>>().join(": "));
    }
    for b in a.get("blocks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        block_texts(b, parts);
    }
}

#[cfg(test)]
#[path = "blocks_tests.rs"]
mod tests;
