//! The platform-neutral request and response every adapter converts to and from.

use ocomms_core::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;

/// Largest JSON body the API reads; adapters should refuse larger bodies before buffering.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Other,
}

impl Method {
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_uppercase().as_str() {
            "GET" | "HEAD" => Self::Get,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            _ => Self::Other,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Path without the query string, e.g. `/api/v1/channels/…/messages`.
    pub path: String,
    /// The raw query string without `?`.
    pub query: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: Method, path_and_query: &str) -> Self {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        Self { method, path: path.to_string(), query: query.to_string(), headers: Vec::new(), body: Vec::new() }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn bearer(&self) -> Option<&str> {
        let v = self.header("authorization")?;
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
    }

    /// Parses a JSON body. A missing or wrong content type, oversized body or malformed
    /// JSON each get their own code, so clients can tell them apart.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge, format!("body exceeds {MAX_BODY_BYTES} bytes")));
        }
        let ct = self.header("content-type").unwrap_or("");
        if !ct.trim_start().to_ascii_lowercase().starts_with("application/json") {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType, "expected Content-Type: application/json"));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            let code = if e.is_data() { ErrorCode::ValidationFailed } else { ErrorCode::InvalidJson };
            ApiError::new(code, format!("invalid request body: {e}"))
        })
    }

    /// One query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .split('&')
            .filter_map(|kv| kv.split_once('=').or(Some((kv, ""))))
            .find_map(|(k, v)| (percent_decode(k).as_deref() == Some(name)).then(|| percent_decode(v)).flatten())
    }

    /// A numeric query parameter; present but malformed is a 400, not a silent default.
    pub fn query_num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, ApiError> {
        match self.query_param(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("query parameter {name} must be a number"))),
        }
    }
}

pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }
    pub fn ok(value: serde_json::Value) -> Self {
        Self::json(200, &value)
    }
    pub fn created(value: serde_json::Value) -> Self {
        Self::json(201, &value)
    }
    pub fn no_content() -> Self {
        Self { status: 204, headers: Vec::new(), body: Vec::new() }
    }
    pub fn error(e: &ApiError) -> Self {
        let mut r = Self::json(e.status(), &e.to_json());
        if e.code == ErrorCode::Unauthenticated || e.code == ErrorCode::TokenExpired {
            r.headers.push(("www-authenticate".into(), "Bearer".into()));
        }
        r
    }
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_decode() {
        let r = Request::new(Method::Get, "/x?after=5&q=a%20b+c&flag&bad=%zz");
        assert_eq!(r.path, "/x");
        assert_eq!(r.query_param("after").as_deref(), Some("5"));
        assert_eq!(r.query_param("q").as_deref(), Some("a b c"));
        assert_eq!(r.query_param("flag").as_deref(), Some(""));
        assert_eq!(r.query_param("bad"), None);
        assert_eq!(r.query_num::<i64>("after").unwrap(), Some(5));
        assert!(r.query_num::<i64>("q").is_err());
    }

    #[test]
    fn json_body_errors_are_distinct() {
        #[derive(serde::Deserialize, Debug)]
        struct B {
            #[allow(dead_code, reason = "shape only")]
            n: u32,
        }
        let mut r = Request::new(Method::Post, "/x");
        r.body = br#"{"n":1}"#.to_vec();
        assert_eq!(r.json::<B>().unwrap_err().code, ErrorCode::UnsupportedMediaType);
        r.headers.push(("content-type".into(), "application/json; charset=utf-8".into()));
        assert!(r.json::<B>().is_ok());
        r.body = b"{".to_vec();
        assert_eq!(r.json::<B>().unwrap_err().code, ErrorCode::InvalidJson);
        r.body = br#"{"n":"x"}"#.to_vec();
        assert_eq!(r.json::<B>().unwrap_err().code, ErrorCode::ValidationFailed);
        r.body = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(r.json::<B>().unwrap_err().code, ErrorCode::PayloadTooLarge);
    }
}
