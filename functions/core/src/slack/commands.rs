//! Slash commands as Slack sends them: names, what a composer line invokes, the form posted
//! to the app, and how its answer (now, or later through `response_url`) is read.

use serde_json::{Map, Value};

/// Longest command name, without the slash (Slack's limit).
pub const MAX_NAME_CHARS: usize = 32;
/// How long an app has to acknowledge a command, as in Slack.
pub const ACK_TIMEOUT_MS: u64 = 3000;
/// A `response_url` takes this many answers ...
pub const RESPONSE_URL_USES: i64 = 5;
/// ... within this long.
pub const RESPONSE_URL_TTL_MS: i64 = 30 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("a command name is 1 to {MAX_NAME_CHARS} lower-case letters, digits, '-' or '_' after the slash")]
    BadName,
}

/// A command's name without its slash, lower case: `/Deploy` and `deploy` are `deploy`.
pub fn parse_name(raw: &str) -> Result<String, CommandError> {
    let name = raw.trim().strip_prefix('/').unwrap_or(raw.trim()).to_lowercase();
    let ok = (1..=MAX_NAME_CHARS).contains(&name.chars().count())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok { Ok(name) } else { Err(CommandError::BadName) }
}

/// What a composer line invokes: `/deploy prod now` is `("deploy", "prod now")`. `None` when
/// the line is not a command (no leading slash, or `//` to send a literal slash).
pub fn parse_invocation(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('/')?;
    if rest.starts_with('/') {
        return None;
    }
    let (name, text) = match rest.find(char::is_whitespace) {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    Some((parse_name(name).ok()?, text.to_string()))
}

/// The answer an app gave to a command, or posted to its `response_url`.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An empty 200: the app acknowledged and may answer later.
    Nothing,
    /// A message to show: to the channel (`in_channel`) or to the invoking user only.
    Message { in_channel: bool, payload: Map<String, Value> },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("the answer is not a JSON object")]
    NotAnObject,
    #[error("the answer is not UTF-8 text")]
    NotText,
}

/// Reads an app's answer: a JSON object (Slack's message fields plus `response_type`), plain
/// text (shown to the user alone, as Slack does), or nothing.
pub fn parse_reply(content_type: Option<&str>, body: &[u8]) -> Result<Reply, ReplyError> {
    let text = std::str::from_utf8(body).map_err(|_| ReplyError::NotText)?;
    if text.trim().is_empty() {
        return Ok(Reply::Nothing);
    }
    let is_json =
        content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json")) || text.trim_start().starts_with('{');
    if !is_json {
        let mut payload = Map::new();
        payload.insert("text".into(), Value::String(text.to_string()));
        return Ok(Reply::Message { in_channel: false, payload });
    }
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(payload)) => {
            let in_channel = payload.get("response_type").and_then(Value::as_str) == Some("in_channel");
            Ok(Reply::Message { in_channel, payload })
        }
        _ => Err(ReplyError::NotAnObject),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(parse_name("/Deploy").as_deref(), Ok("deploy"));
        assert_eq!(parse_name("on-call_2").as_deref(), Ok("on-call_2"));
        for bad in ["/", "", "de ploy", "dé", "/a/b", &"x".repeat(33)] {
            assert_eq!(parse_name(bad), Err(CommandError::BadName), "{bad:?}");
        }
    }

    #[test]
    fn invocations() {
        assert_eq!(parse_invocation("/deploy  prod now "), Some(("deploy".into(), "prod now".into())));
        assert_eq!(parse_invocation("/who"), Some(("who".into(), String::new())));
        assert_eq!(parse_invocation("/who\nis here"), Some(("who".into(), "is here".into())));
        assert_eq!(parse_invocation("//not a command"), None);
        assert_eq!(parse_invocation("hello /deploy"), None);
        assert_eq!(parse_invocation("/no!pe"), None);
    }

    #[test]
    fn replies() {
        assert_eq!(parse_reply(None, b""), Ok(Reply::Nothing));
        assert_eq!(parse_reply(Some("text/plain"), b"  \n"), Ok(Reply::Nothing));
        let Ok(Reply::Message { in_channel: false, payload }) = parse_reply(Some("text/plain"), b"on it") else {
            panic!("plain text is an ephemeral message")
        };
        assert_eq!(payload["text"], "on it");
        let r = parse_reply(Some("application/json"), br#"{"response_type":"in_channel","text":"done"}"#);
        assert!(matches!(r, Ok(Reply::Message { in_channel: true, .. })));
        let r = parse_reply(None, br#"{"text":"only you"}"#);
        assert!(matches!(r, Ok(Reply::Message { in_channel: false, .. })));
        assert_eq!(parse_reply(Some("application/json"), b"[1]"), Err(ReplyError::NotAnObject));
        assert_eq!(parse_reply(None, &[0xff]), Err(ReplyError::NotText));
    }
}
