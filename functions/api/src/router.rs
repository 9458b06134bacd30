//! Dispatch by path and method. Unknown paths are 404, known paths with another method 405,
//! and every error leaves here as `{"error": {"code", "message"}}`.

use ocomms_core::{ApiError, ErrorCode};

use crate::Api;
use crate::error::Error;
use crate::http::{Method, Request, Response};
use crate::ports::{Env, RoomPublisher, Sql};
use crate::routes::{auth, channels, dms, invites, members, messages, reactions, reads, users, workspaces};

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
        (Get, ["me"]) => users::me(api, req).await,
        (Patch, ["me"]) => users::update_me(api, req).await,
        (Get, ["users", u]) => users::get(api, req, id(u)?).await,
        (Get, ["workspaces"]) => workspaces::list(api, req).await,
        (Post, ["workspaces"]) => workspaces::create(api, req).await,
        (Get, ["workspaces", ws]) => workspaces::get(api, req, id(ws)?).await,
        (Patch, ["workspaces", ws]) => workspaces::update(api, req, id(ws)?).await,
        (Get, ["workspaces", ws, "invites"]) => invites::list(api, req, id(ws)?).await,
        (Post, ["workspaces", ws, "invites"]) => invites::create(api, req, id(ws)?).await,
        (Delete, ["workspaces", ws, "invites", code]) => invites::revoke(api, req, id(ws)?, code).await,
        (Get, ["invites", code]) => invites::preview(api, req, code).await,
        (Post, ["invites", code, "accept"]) => invites::accept(api, req, code).await,
        (Get, ["workspaces", ws, "members"]) => members::list(api, req, id(ws)?).await,
        (Patch, ["workspaces", ws, "members", u]) => members::change_role(api, req, id(ws)?, id(u)?).await,
        (Delete, ["workspaces", ws, "members", u]) => members::remove(api, req, id(ws)?, id(u)?).await,
        (Post, ["workspaces", ws, "members", u, "deactivate"]) => {
            members::set_deactivated(api, req, id(ws)?, id(u)?, true).await
        }
        (Post, ["workspaces", ws, "members", u, "reactivate"]) => {
            members::set_deactivated(api, req, id(ws)?, id(u)?, false).await
        }
        (Get, ["workspaces", ws, "channels"]) => channels::list(api, req, id(ws)?).await,
        (Post, ["workspaces", ws, "channels"]) => channels::create(api, req, id(ws)?).await,
        (Get, ["channels", ch]) => channels::get(api, req, id(ch)?).await,
        (Post, ["channels", ch, "join"]) => channels::join(api, req, id(ch)?).await,
        (Post, ["channels", ch, "leave"]) => channels::leave(api, req, id(ch)?).await,
        (Patch, ["channels", ch]) => channels::update(api, req, id(ch)?).await,
        (Post, ["channels", ch, "archive"]) => channels::set_archived(api, req, id(ch)?, true).await,
        (Post, ["channels", ch, "unarchive"]) => channels::set_archived(api, req, id(ch)?, false).await,
        (Get, ["channels", ch, "members"]) => channels::members(api, req, id(ch)?).await,
        (Post, ["channels", ch, "members"]) => channels::add_members(api, req, id(ch)?).await,
        (Delete, ["channels", ch, "members", u]) => channels::remove_member(api, req, id(ch)?, id(u)?).await,
        (Post, ["workspaces", ws, "dms"]) => dms::open(api, req, id(ws)?).await,
        (Get, ["channels", ch, "messages"]) => messages::history(api, req, id(ch)?).await,
        (Post, ["channels", ch, "messages"]) => messages::post(api, req, id(ch)?).await,
        (Get, ["channels", ch, "events"]) => messages::events(api, req, id(ch)?).await,
        (Patch, ["messages", m]) => messages::edit(api, req, id(m)?).await,
        (Delete, ["messages", m]) => messages::delete(api, req, id(m)?).await,
        (Get, ["messages", m, "thread"]) => messages::thread(api, req, id(m)?).await,
        (Put, ["messages", m, "follow"]) => messages::follow(api, req, id(m)?, true).await,
        (Delete, ["messages", m, "follow"]) => messages::follow(api, req, id(m)?, false).await,
        (Post, ["messages", m, "reactions"]) => reactions::add(api, req, id(m)?).await,
        (Delete, ["messages", m, "reactions", e]) => reactions::remove(api, req, id(m)?, e).await,
        (Post, ["messages", m, "pin"]) => reactions::pin(api, req, id(m)?).await,
        (Delete, ["messages", m, "pin"]) => reactions::unpin(api, req, id(m)?).await,
        (Get, ["channels", ch, "pins"]) => reactions::pins(api, req, id(ch)?).await,
        (Post, ["channels", ch, "read"]) => reads::mark(api, req, id(ch)?).await,
        (Get, ["workspaces", ws, "unreads"]) => reads::unreads(api, req, id(ws)?).await,
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
            | ["users", _]
            | ["workspaces"]
            | ["workspaces", _]
            | ["workspaces", _, "members"]
            | ["workspaces", _, "invites" | "members", _]
            | ["workspaces", _, "members", _, "deactivate" | "reactivate"]
            | ["invites", _]
            | ["workspaces", _, "invites" | "channels"]
            | ["invites", _, "accept"]
            | ["channels", _]
            | ["channels", _, "join" | "leave" | "messages" | "events"]
            | ["channels", _, "archive" | "unarchive" | "members"]
            | ["channels", _, "members", _]
            | ["workspaces", _, "dms"]
            | ["messages", _]
            | ["messages", _, "thread" | "follow" | "reactions" | "pin"]
            | ["messages", _, "reactions", _]
            | ["channels", _, "pins" | "read"]
            | ["workspaces", _, "unreads"]
    )
}

/// A path id; malformed ids are 404 (nothing can exist there), not 400.
fn id<T: std::str::FromStr>(s: &str) -> Result<T, Error> {
    s.parse().map_err(|_| ApiError::not_found("resource").into())
}
