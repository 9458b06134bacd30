//! A Web API call's arguments, wherever the client put them: the query string, a form body
//! or a JSON body (Slack's SDKs use all three). Form and query values are strings; JSON keeps
//! its types, so `blocks` may be an array or, from a form, a JSON string.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::http::{Request, percent_decode};

/// Why the arguments could not be read: Slack's `invalid_form_data` / `invalid_json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable(pub &'static str);

/// A numeric argument that is not a whole number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotANumber;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub BTreeMap<String, Value>);

impl Params {
    pub fn read(req: &Request) -> Result<Self, Unreadable> {
        let mut map = BTreeMap::new();
        form_into(&req.query, &mut map).map_err(|()| Unreadable("invalid_form_data"))?;
        let kind = req.header("content-type").unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if !req.body.is_empty() {
            let text = std::str::from_utf8(&req.body).map_err(|_| Unreadable("invalid_form_data"))?;
            if kind == "application/json" {
                match serde_json::from_str::<Value>(text) {
                    Ok(Value::Object(o)) => map.extend(o),
                    _ => return Err(Unreadable("invalid_json")),
                }
            } else {
                form_into(text, &mut map).map_err(|()| Unreadable("invalid_form_data"))?;
            }
        }
        Ok(Self(map))
    }

    /// A string argument; numbers and booleans as Slack's forms would send them.
    pub fn str(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    }

    pub fn flag(&self, name: &str) -> bool {
        matches!(self.str(name).as_deref(), Some("true" | "1"))
    }

    /// A whole number argument; `Err` when present but not one.
    pub fn int(&self, name: &str) -> Result<Option<i64>, NotANumber> {
        self.str(name).map(|s| s.trim().parse::<i64>().map_err(|_| NotANumber)).transpose()
    }

    /// The arguments as a JSON object (what the shared message parser reads).
    pub fn object(&self) -> serde_json::Map<String, Value> {
        self.0.clone().into_iter().collect()
    }
}

fn form_into(text: &str, map: &mut BTreeMap<String, Value>) -> Result<(), ()> {
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k).ok_or(())?;
        let v = percent_decode(v).ok_or(())?;
        map.insert(k, Value::String(v));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn req(query: &str, content_type: Option<&str>, body: &str) -> Request {
        let mut r = Request::new(Method::Post, &format!("/api/chat.postMessage?{query}"));
        if let Some(ct) = content_type {
            r.headers.push(("content-type".into(), ct.into()));
        }
        r.body = body.as_bytes().to_vec();
        r
    }

    #[test]
    fn query_form_and_json_all_carry_arguments() {
        let p = Params::read(&req("channel=C1", Some("application/x-www-form-urlencoded"), "text=hi+there&limit=5"))
            .unwrap();
        assert_eq!(p.str("channel").as_deref(), Some("C1"));
        assert_eq!(p.str("text").as_deref(), Some("hi there"));
        assert_eq!(p.int("limit"), Ok(Some(5)));
        let p =
            Params::read(&req("", Some("application/json; charset=utf-8"), r#"{"text":"x","limit":7,"as_user":true}"#))
                .unwrap();
        assert_eq!((p.str("text").as_deref(), p.int("limit"), p.flag("as_user")), (Some("x"), Ok(Some(7)), true));
        assert_eq!(p.int("nope"), Ok(None));
        assert_eq!(Params::read(&req("", Some("application/json"), "[1]")), Err(Unreadable("invalid_json")));
        assert_eq!(Params::read(&req("a=%zz", None, "")), Err(Unreadable("invalid_form_data")));
        let p = Params::read(&req("limit=ten", None, "")).unwrap();
        assert_eq!(p.int("limit"), Err(NotANumber));
    }
}
