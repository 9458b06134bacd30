//! The platform-neutral request and response every adapter converts to and from.

use ocomms_core::{ApiError, ErrorCode};
use serde::de::DeserializeOwned;

/// Largest JSON body the API reads; adapters should refuse larger bodies before buffering.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Largest request body a runtime buffers before handing the request on (413 above it).
/// Bigger than [`MAX_BODY_BYTES`] so routes with other bodies can come.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Largest total size of request headers a runtime accepts (400 above it).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Largest response body a runtime collects from a component; a bigger one is a fault of
/// the component, answered 500. A full page of history (100 messages of 16 KiB) fits.
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

/// Headers' size as counted against [`MAX_HEADER_BYTES`]: name, value and `: ` + CRLF each.
pub fn header_bytes<'a>(headers: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> usize {
    headers.into_iter().map(|(k, v)| k.len() + v.len() + 4).sum()
}

/// The refusal for headers over [`MAX_HEADER_BYTES`].
pub fn headers_too_large() -> ApiError {
    ApiError::new(ErrorCode::BadRequest, format!("request headers exceed {MAX_HEADER_BYTES} bytes"))
}

/// The refusal for a body over [`MAX_REQUEST_BYTES`].
pub fn request_too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, format!("request body exceeds {MAX_REQUEST_BYTES} bytes"))
}

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

    /// The method's name on the wire (`Other` stands for every method the API has no route for).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Other => "OTHER",
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
    /// The client's address as the runtime saw it (the peer, or Cloudflare's
    /// `CF-Connecting-IP`); a proxy's header replaces it only when configured
    /// ([`crate::Config::client_address_header`]).
    pub client_addr: Option<String>,
}

impl Request {
    pub fn new(method: Method, path_and_query: &str) -> Self {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        Self {
            method,
            path: path.to_string(),
            query: query.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            client_addr: None,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The last line of a header sent more than once: what the nearest proxy added (HAProxy's
    /// `option forwardfor` adds a line after any the client forged).
    pub fn last_header(&self, name: &str) -> Option<&str> {
        self.headers.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Where the client reached us (scheme and host), as Spin reports it or the proxy says.
    pub fn origin(&self) -> String {
        if let Some(url) = self.header("spin-full-url")
            && let Some((scheme, rest)) = url.split_once("://")
        {
            return format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest));
        }
        let scheme = self.header("x-forwarded-proto").unwrap_or("http");
        format!("{scheme}://{}", self.header("host").unwrap_or("localhost"))
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
        let mut value: serde_json::Value = serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("invalid request body: {e}")))?;
        // serde would also read a struct from an array of its fields; a body is an object.
        if !value.is_object() {
            return Err(ApiError::validation("invalid request body: expected a JSON object"));
        }
        integral_floats_as_integers(&mut value);
        serde_json::from_value(value).map_err(|e| ApiError::validation(format!("invalid request body: {e}")))
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

/// JSON has one number type: `5.0` is the integer 5 (as JSON Schema's `integer` says), so a
/// float without a fraction that fits an `i64` or `u64` is read as that integer.
fn integral_floats_as_integers(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0) {
                // `i64::MAX as f64` is 2^63 and `u64::MAX as f64` 2^64: the first floats past
                // each range, so the half-open ranges hold exactly the floats that fit.
                if (i64::MIN as f64..i64::MAX as f64).contains(&f) {
                    *n = serde_json::Number::from(f as i64);
                } else if (0.0..u64::MAX as f64).contains(&f) {
                    *n = serde_json::Number::from(f as u64);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// Decodes a query-string component, where `+` stands for a space.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    decode(s, true)
}

/// Decodes a path segment, where `+` is a plus sign (`:+1:` is a shortcode).
pub(crate) fn percent_decode_path(s: &str) -> Option<String> {
    decode(s, false)
}

fn decode(s: &str, plus_is_space: bool) -> Option<String> {
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
            b'+' if plus_is_space => {
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
    /// 200 with `value` serialized: for bodies that carry JSON text through unparsed.
    pub fn ok_serialized(value: &impl serde::Serialize) -> Self {
        Self {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(value).unwrap_or_default(),
        }
    }
    /// 200 with an object of `fields`, moved in: `json!` copies every value it is given
    /// through serialization, which for a page of messages cost as much as parsing them.
    pub fn ok_fields<const N: usize>(fields: [(&str, serde_json::Value); N]) -> Self {
        Self::ok(serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()))
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
        if let Some(secs) = e.retry_after_secs {
            r.headers.push(("retry-after".into(), secs.to_string()));
        }
        r
    }
    /// 405 for a path that has routes, but none for the request's method. `Allow` names the
    /// methods it has (RFC 9110, 15.5.6), HEAD with GET since a GET route also answers HEAD.
    pub fn method_not_allowed(allowed: &[Method]) -> Self {
        let mut r = Self::error(&ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this route"));
        let mut names = Vec::new();
        for m in [Method::Get, Method::Post, Method::Put, Method::Patch, Method::Delete] {
            if allowed.contains(&m) {
                names.push(m.as_str());
                if m == Method::Get {
                    names.push("HEAD");
                }
            }
        }
        r.headers.push(("allow".into(), names.join(", ")));
        r
    }
    /// This response with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn body_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_header_reads_first_or_last_line() {
        let mut r = Request::new(Method::Get, "/x");
        r.headers.push(("x-forwarded-for".into(), "10.9.9.9".into()));
        r.headers.push(("X-Forwarded-For".into(), "198.51.100.4".into()));
        assert_eq!(r.header("x-forwarded-for"), Some("10.9.9.9"));
        assert_eq!(r.last_header("x-forwarded-for"), Some("198.51.100.4"), "the nearest proxy's line");
        assert_eq!(r.last_header("x-real-ip"), None);
    }

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
        assert_eq!(percent_decode_path(":+1:").as_deref(), Some(":+1:"), "in a path, + is a plus");
        assert_eq!(percent_decode_path("%3A%2B1%3A").as_deref(), Some(":+1:"));
        assert_eq!(percent_decode_path("%zz"), None);
    }

    #[test]
    fn integral_floats_become_integers_within_range() {
        let mut v: serde_json::Value = serde_json::from_str(
            "[5.0, -0.0, 5.5, -9.223372036854775808e18, 9.223372036854775808e18, 1.8446744073709552e19]",
        )
        .unwrap();
        integral_floats_as_integers(&mut v);
        assert_eq!(v[0], serde_json::json!(5));
        assert_eq!(v[1], serde_json::json!(0));
        assert!(v[2].is_f64());
        assert_eq!(v[3].as_i64(), Some(i64::MIN));
        assert_eq!(v[4].as_u64(), Some(1 << 63));
        assert!(v[5].is_f64(), "2^64 fits no integer type");
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
        r.body = br#"[1]"#.to_vec();
        assert_eq!(r.json::<B>().unwrap_err().code, ErrorCode::ValidationFailed, "serde reads [1] as B; we do not");
        r.body = br#"{"n":7.0}"#.to_vec();
        assert_eq!(r.json::<B>().unwrap().n, 7, "7.0 is the integer 7");
        for bad in [&br#"{"n":7.5}"#[..], br#"{"n":-1.0}"#, br#"{"n":1e300}"#] {
            r.body = bad.to_vec();
            assert_eq!(r.json::<B>().unwrap_err().code, ErrorCode::ValidationFailed, "{:?}", std::str::from_utf8(bad));
        }
        r.body = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(r.json::<B>().unwrap_err().code, ErrorCode::PayloadTooLarge);
    }
}
