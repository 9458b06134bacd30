//! Dispatch by path and method. Unknown paths are 404, known paths with another method 405,
//! and every error leaves here as `{"error": {"code", "message"}}`.

use ocomms_core::{ApiError, ErrorCode};

use crate::Api;
use crate::error::Error;
use crate::http::{Method, Request, Response};
use crate::ports::{Env, RoomPublisher, Sql};
use crate::routes::{auth, channels, messages, workspaces};

pub const PREFIX: &str = "/api/v1/";

pub async fn dispatch<S: Sql, R: RoomPublisher, E: Env>(api: &Api<S, R, E>, req: Request) -> Response {
    match route(api, &req).await {
        Ok(r) => r,
        Err(Error::Client(e)) => Response::error(&e),
        Err(Error::Internal(msg)) => {
            api.env.log_error(&format!("{:?} {}: {msg}", req.method, req.path));
            Response::error(&ApiError::internal())
        }
    }
}

async fn route<S: Sql, R: RoomPublisher, E: Env>(api: &Api<S, R, E>, req: &Request) -> Result<Response, Error> {
    use Method::*;
    let Some(rest) = req.path.strip_prefix(PREFIX) else {
        return Err(ApiError::not_found("route").into());
    };
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match (req.method, segs.as_slice()) {
        (Post, ["auth", "signup"]) => auth::signup(api, req).await,
        (Post, ["auth", "login"]) => auth::login(api, req).await,
        (Post, ["auth", "refresh"]) => auth::refresh(api, req).await,
        (Post, ["auth", "logout"]) => auth::logout(api, req).await,
        (Get, ["me"]) => auth::me(api, req).await,
        (Get, ["workspaces"]) => workspaces::list(api, req).await,
        (Post, ["workspaces"]) => workspaces::create(api, req).await,
        (Post, ["workspaces", ws, "invites"]) => workspaces::create_invite(api, req, id(ws)?).await,
        (Post, ["invites", code, "accept"]) => workspaces::accept_invite(api, req, code).await,
        (Get, ["workspaces", ws, "channels"]) => channels::list(api, req, id(ws)?).await,
        (Post, ["workspaces", ws, "channels"]) => channels::create(api, req, id(ws)?).await,
        (Get, ["channels", ch]) => channels::get(api, req, id(ch)?).await,
        (Post, ["channels", ch, "join"]) => channels::join(api, req, id(ch)?).await,
        (Post, ["channels", ch, "leave"]) => channels::leave(api, req, id(ch)?).await,
        (Get, ["channels", ch, "messages"]) => messages::history(api, req, id(ch)?).await,
        (Post, ["channels", ch, "messages"]) => messages::post(api, req, id(ch)?).await,
        (Get, ["channels", ch, "events"]) => messages::events(api, req, id(ch)?).await,
        (Patch, ["messages", m]) => messages::edit(api, req, id(m)?).await,
        (Delete, ["messages", m]) => messages::delete(api, req, id(m)?).await,
        (_, segs) if known_path(segs) => {
            Err(ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed on this route").into())
        }
        _ => Err(ApiError::not_found("route").into()),
    }
}

fn known_path(segs: &[&str]) -> bool {
    matches!(
        segs,
        ["auth", "signup" | "login" | "refresh" | "logout"]
            | ["me"]
            | ["workspaces"]
            | ["workspaces", _, "invites" | "channels"]
            | ["invites", _, "accept"]
            | ["channels", _]
            | ["channels", _, "join" | "leave" | "messages" | "events"]
            | ["messages", _]
    )
}

/// A path id; malformed ids are 404 (nothing can exist there), not 400.
fn id<T: std::str::FromStr>(s: &str) -> Result<T, Error> {
    s.parse().map_err(|_| ApiError::not_found("resource").into())
}
