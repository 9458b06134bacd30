//! Slack's Web API, the subset bots and scripts use most, under `/api/{method}`: Slack's
//! method names, arguments (query string, form or JSON body) and answers (`{"ok": true,
//! ...}`, or `{"ok": false, "error": "..."}` with status 200, as Slack does), called with an
//! app's bot token (`Authorization: Bearer xoxb-...` or a `token` argument). Slack's own
//! SDKs work against it with their base URL changed. The bot sees what a member of the
//! workspace in its channels sees, and each method also needs its scope.

mod messages;
mod methods;
pub mod params;
pub mod shapes;

use serde_json::{Value, json};

use crate::Api;
use crate::error::{Error, Result};
use crate::http::{Method, Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::integrations::{self as repo, BotCaller};
use params::Params;

/// Where Slack's methods live: `/api/chat.postMessage` beside our own `/api/v1/`.
pub const PREFIX: &str = "/api/";

/// How a call fails, in Slack's terms.
#[derive(Debug)]
pub enum Fail {
    /// `{"ok": false, "error": code}`.
    Slack(&'static str),
    /// `missing_scope`, with the scope it needed and those the token has.
    MissingScope(&'static str),
    /// Slack's `ratelimited`, with 429 and `Retry-After` (seconds).
    RateLimited(u64),
    /// Anything else: logged, answered as `internal_error`.
    Internal(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        match e {
            Error::Client(c) if c.code == ocomms_core::ErrorCode::RateLimited => {
                Self::RateLimited(c.retry_after_secs.unwrap_or(1))
            }
            e => Self::Internal(e),
        }
    }
}

impl From<crate::ports::DbError> for Fail {
    fn from(e: crate::ports::DbError) -> Self {
        Self::Internal(e.into())
    }
}

pub type Outcome = std::result::Result<Value, Fail>;

/// Whether `path` names a Slack method (`/api/x.y`), not our versioned API.
pub fn is_method(path: &str) -> bool {
    path.strip_prefix(PREFIX).is_some_and(|m| m.contains('.') && !m.contains('/'))
}

pub async fn dispatch<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let name = req.path.strip_prefix(PREFIX).unwrap_or("");
    let (outcome, scopes) = call(api, req, name).await;
    Ok(match outcome {
        Ok(mut body) => {
            body["ok"] = json!(true);
            reply(&body, scopes.as_deref())
        }
        Err(Fail::Slack(code)) => reply(&json!({ "ok": false, "error": code }), scopes.as_deref()),
        Err(Fail::MissingScope(needed)) => reply(
            &json!({ "ok": false, "error": "missing_scope", "needed": needed,
                     "provided": scopes.as_deref().unwrap_or(&[]).join(",") }),
            scopes.as_deref(),
        ),
        Err(Fail::RateLimited(secs)) => {
            let mut r = reply(&json!({ "ok": false, "error": "ratelimited" }), scopes.as_deref());
            r.status = 429;
            r.with_header("retry-after", &secs.to_string())
        }
        Err(Fail::Internal(e)) => {
            api.env.log_error(&format!("{name}: {}", crate::error::chain(&e)));
            reply(&json!({ "ok": false, "error": "internal_error" }), scopes.as_deref())
        }
    })
}

/// Runs the method; also returns the caller's scopes for the `x-oauth-scopes` header.
async fn call<P: Ports>(api: &Api<P>, req: &Request, name: &str) -> (Outcome, Option<Vec<String>>) {
    if !matches!(req.method, Method::Get | Method::Post) {
        // As the incoming webhooks say it: the Web API takes GET and POST only.
        return (Err(Fail::Slack("invalid_method")), None);
    }
    let params = match Params::read(req) {
        Ok(p) => p,
        Err(params::Unreadable(code)) => return (Err(Fail::Slack(code)), None),
    };
    if name == "api.test" {
        // Slack's echo: no token needed.
        return (Ok(json!({ "args": params.0 })), None);
    }
    let caller = match authenticate(api, req, &params).await {
        Ok(c) => c,
        Err(f) => return (Err(f), None),
    };
    let scopes = Some(caller.scopes.clone());
    (methods::run(api, &caller, name, &params).await, scopes)
}

async fn authenticate<P: Ports>(api: &Api<P>, req: &Request, params: &Params) -> std::result::Result<BotCaller, Fail> {
    let token = req.bearer().map(str::to_string).or_else(|| params.str("token"));
    let Some(token) = token else { return Err(Fail::Slack("not_authed")) };
    repo::bot_caller(&api.sql, &crate::auth::refresh::hash(&token)).await?.ok_or(Fail::Slack("invalid_auth"))
}

fn reply(body: &Value, scopes: Option<&[String]>) -> Response {
    let r = Response::ok(body.clone());
    match scopes {
        Some(s) => r.with_header("x-oauth-scopes", &s.join(",")),
        None => r,
    }
}
