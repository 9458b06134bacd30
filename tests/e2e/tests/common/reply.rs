//! HTTP replies, signed-in sessions and event pages, with the assertions scenarios share.

use ocomms_core::event::ChannelEvent;
use serde_json::Value;
/// A buffered HTTP reply; `body` is `Null` when the body is empty or not JSON.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let text = resp.text().await.unwrap_or_else(|e| panic!("read the reply body ({status}): {e:#}"));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, content_type, headers, text, body }
    }

    pub fn expect_status(&self, status: u16, what: &str) -> &Self {
        assert_eq!(self.status, status, "{what}: expected HTTP {status}, got {}: {}", self.status, self.text);
        self
    }

    /// A string at a JSON pointer, or a panic naming the reply.
    pub fn str_at(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("reply has no string at {pointer}: {self:?}"))
            .to_string()
    }

    pub fn error_code(&self) -> Option<&str> {
        self.body.pointer("/error/code").and_then(Value::as_str)
    }

    /// Asserts a clear API error: the status, `Content-Type: application/json`, and exactly
    /// `{"error": {"code": <code>, "message": <non-empty text>}}`.
    pub fn expect_error(&self, status: u16, code: &str, what: &str) -> &Self {
        assert_eq!(self.status, status, "{what}: expected HTTP {status} {code}, got {}: {}", self.status, self.text);
        let ct = self.content_type.as_deref().unwrap_or("");
        assert!(ct.starts_with("application/json"), "{what}: error content-type is {ct:?}, not JSON: {}", self.text);
        let obj =
            self.body.as_object().unwrap_or_else(|| panic!("{what}: error body is not a JSON object: {}", self.text));
        assert_eq!(obj.len(), 1, "{what}: error body has fields besides `error`: {}", self.text);
        let err = self.body["error"].as_object().unwrap_or_else(|| panic!("{what}: no `error` object: {}", self.text));
        assert_eq!(err.get("code").and_then(Value::as_str), Some(code), "{what}: wrong error code: {}", self.text);
        let message = err.get("message").and_then(Value::as_str).unwrap_or("");
        assert!(!message.trim().is_empty(), "{what}: the error has no message: {}", self.text);
        self
    }
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub access: String,
    pub refresh: String,
}

impl Session {
    pub fn from_reply(r: &Reply) -> Session {
        assert_eq!(r.body["tokens"]["token_type"], "Bearer", "unexpected token type: {r:?}");
        Session {
            user_id: r.str_at("/user/id"),
            access: r.str_at("/tokens/access_token"),
            refresh: r.str_at("/tokens/refresh_token"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EventsPage {
    pub events: Vec<ChannelEvent>,
    pub has_more: bool,
    pub last_seq: i64,
}

/// Asserts `seqs` is exactly `from..=to`, naming the first gap or duplicate.
pub fn assert_contiguous(seqs: &[i64], from: i64, to: i64, what: &str) {
    let expected: Vec<i64> = (from..=to).collect();
    if seqs != expected.as_slice() {
        let mut sorted = seqs.to_vec();
        sorted.sort_unstable();
        let dups: Vec<i64> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
        let missing: Vec<i64> = expected.iter().copied().filter(|s| !seqs.contains(s)).collect();
        panic!("{what}: seqs {seqs:?} are not exactly {from}..={to} (duplicates {dups:?}, missing {missing:?})");
    }
}
