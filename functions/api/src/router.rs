//! Dispatch by path and method. Unknown paths are 404, known paths with another method 405,
//! and every error leaves here as `{"error": {"code", "message"}}`.

use ocomms_core::ApiError;

use crate::Api;
use crate::error::{Error, Internal};
use crate::http::{Method, Request, Response};
use crate::ports::{Env as _, Ports};
use crate::routes::{
    accounts, app_config, auth, avatars, channels, commands, dms, files, hooks, integrations, invites, members,
    messages, notifications, reactions, reads, search, sso, users, workspaces,
};

pub const PREFIX: &str = "/api/v1/";
/// Slack-compatible incoming webhooks: `/hooks/{secret}`, outside the versioned API.
pub const HOOKS_PREFIX: &str = "/hooks/";
/// The runtime's call to run a round of the delivery queue, with the internal secret. Not
/// part of the public API (nor of its OpenAPI document).
pub const INTERNAL_DELIVERIES: &str = "/api/v1/internal/deliveries";

pub async fn dispatch<P: Ports>(api: &Api<P>, req: Request) -> Response {
    match route(api, &req).await {
        Ok(r) => r,
        Err(Error::Client(e)) => Response::error(&e),
        Err(Error::Internal(e)) => {
            api.env.log_error(&format!("{:?} {}: {}", req.method, req.path, crate::error::chain(&e)));
            Response::error(&e.public())
        }
    }
}

/// The refusal for a request no route serves: 404, or 405 with `Allow` for a known path
/// asked with another method. `None`: a handler takes it. Needs no configuration, so a
/// runtime that builds the API per request can answer these without building it.
pub fn unrouted(method: Method, path: &str) -> Option<Response> {
    if path.starts_with(HOOKS_PREFIX) || path == INTERNAL_DELIVERIES || crate::webapi::is_method(path) {
        return None;
    }
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Some(Response::error(&ApiError::not_found("route")));
    };
    check_route(method, &segments(rest)).err()
}

fn segments(rest: &str) -> Vec<&str> {
    rest.trim_end_matches('/').split('/').collect()
}

async fn route<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response, Error> {
    use Method::*;
    if let Some(refusal) = unrouted(req.method, &req.path) {
        return Ok(refusal);
    }
    if let Some(rest) = req.path.strip_prefix(HOOKS_PREFIX) {
        if let Some(token) = rest.strip_prefix(commands::RESPONSE_PATH) {
            return commands::respond(api, req, token).await;
        }
        return hooks::incoming(api, req, rest).await;
    }
    if req.path == INTERNAL_DELIVERIES {
        return internal_deliveries(api, req).await;
    }
    if crate::webapi::is_method(&req.path) {
        return crate::webapi::dispatch(api, req).await;
    }
    // `unrouted` let through only listed routes under the prefix.
    let Some(rest) = req.path.strip_prefix(PREFIX) else {
        return Err(ApiError::not_found("route").into());
    };
    let segs = segments(rest);
    match (req.method, segs.as_slice()) {
        (Get, ["openapi.json"]) => Ok(openapi()),
        (Post, ["auth", "signup"]) => auth::signup(api, req).await,
        (Post, ["auth", "login"]) => auth::login(api, req).await,
        (Post, ["auth", "refresh"]) => auth::refresh(api, req).await,
        (Post, ["auth", "logout"]) => auth::logout(api, req).await,
        (Get, ["auth", "providers"]) => sso::providers(api, req).await,
        (Get, ["auth", "oidc", "start"]) => sso::start(api, req).await,
        (Get, ["auth", "oidc", "callback"]) => sso::callback(api, req).await,
        (Get, ["auth", "oidc", "logout"]) => sso::logout(api, req).await,
        (Post, ["auth", "verify-email"]) => accounts::verify_email(api, req).await,
        (Post, ["auth", "password-reset"]) => accounts::request_reset(api, req).await,
        (Post, ["auth", "password-reset", "confirm"]) => accounts::confirm_reset(api, req).await,
        (Post, ["auth", "magic-link"]) => accounts::request_magic_link(api, req).await,
        (Post, ["auth", "magic-link", "redeem"]) => accounts::redeem_magic_link(api, req).await,
        (Get, ["auth", "sessions"]) => accounts::list_sessions(api, req).await,
        (Delete, ["auth", "sessions"]) => accounts::end_other_sessions(api, req).await,
        (Delete, ["auth", "sessions", s]) => accounts::end_session(api, req, s).await,
        (Get, ["admin", "outbox"]) => accounts::outbox(api, req).await,
        (Get, ["me"]) => users::me(api, req).await,
        (Post, ["me", "avatar"]) => avatars::start(api, req).await,
        (Delete, ["me", "avatar"]) => avatars::clear(api, req).await,
        (Post, ["me", "avatar", a, "complete"]) => avatars::complete(api, req, a).await,
        (Get, ["avatars", a]) => avatars::serve(api, req, a).await,
        (Patch, ["me"]) => users::update_me(api, req).await,
        (Get, ["me", "notifications"]) => notifications::get(api, req).await,
        (Patch, ["me", "notifications"]) => notifications::update(api, req).await,
        (Get, ["users", u]) => users::get(api, req, id(u)?).await,
        (Get, ["workspaces"]) => workspaces::list(api, req).await,
        (Post, ["workspaces"]) => workspaces::create(api, req).await,
        (Get, ["workspaces", ws]) => workspaces::get(api, req, id(ws)?).await,
        (Patch, ["workspaces", ws]) => workspaces::update(api, req, id(ws)?).await,
        (Get, ["workspaces", ws, "invites"]) => invites::list(api, req, id(ws)?).await,
        (Post, ["workspaces", ws, "invites"]) => invites::create(api, req, id(ws)?).await,
        (Delete, ["workspaces", ws, "invites", code]) => invites::revoke(api, req, id(ws)?, code).await,
        (Get, ["workspaces", ws, "apps"]) => integrations::list(api, req, id(ws)?).await,
        (Post, ["workspaces", ws, "apps"]) => integrations::create(api, req, id(ws)?).await,
        (Delete, ["workspaces", ws, "apps", app]) => integrations::revoke(api, req, id(ws)?, id(app)?).await,
        (Post, ["workspaces", ws, "apps", app, "hooks"]) => {
            integrations::create_hook(api, req, id(ws)?, id(app)?).await
        }
        (Delete, ["workspaces", ws, "hooks", h]) => integrations::revoke_hook(api, req, id(ws)?, id(h)?).await,
        (Post, ["workspaces", ws, "apps", app, "tokens"]) => {
            integrations::create_token(api, req, id(ws)?, id(app)?).await
        }
        (Delete, ["workspaces", ws, "tokens", t]) => integrations::revoke_token(api, req, id(ws)?, id(t)?).await,
        (Put, ["workspaces", ws, "apps", app, "events"]) => app_config::set_events(api, req, id(ws)?, id(app)?).await,
        (Post, ["workspaces", ws, "apps", app, "commands"]) => {
            app_config::create_command(api, req, id(ws)?, id(app)?).await
        }
        (Delete, ["workspaces", ws, "commands", c]) => app_config::delete_command(api, req, id(ws)?, id(c)?).await,
        (Get, ["workspaces", ws, "commands"]) => app_config::list_commands(api, req, id(ws)?).await,
        (Post, ["workspaces", ws, "apps", app, "outgoing-hooks"]) => {
            app_config::create_outgoing(api, req, id(ws)?, id(app)?).await
        }
        (Delete, ["workspaces", ws, "outgoing-hooks", o]) => {
            app_config::delete_outgoing(api, req, id(ws)?, id(o)?).await
        }
        (Get, ["workspaces", ws, "apps", app, "deliveries"]) => app_config::log(api, req, id(ws)?, id(app)?).await,
        (Post, ["workspaces", ws, "deliveries", d, "retry"]) => app_config::retry(api, req, id(ws)?, d).await,
        (Post, ["channels", ch, "commands"]) => commands::invoke(api, req, id(ch)?).await,
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
        (Get, ["workspaces", ws, "search"]) => search::search(api, req, id(ws)?).await,
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
        (Post, ["channels", ch, "files"]) => files::start(api, req, id(ch)?).await,
        (Get, ["channels", ch, "files"]) => files::list(api, req, id(ch)?).await,
        (Post, ["files", f, "complete"]) => files::complete(api, req, id(f)?).await,
        (Get, ["files", f]) => files::download(api, req, id(f)?).await,
        (Get, ["files", f, "url"]) => files::url(api, req, id(f)?).await,
        (Get, ["files", f, "thumbnail"]) => files::thumbnail(api, req, id(f)?).await,
        (Delete, ["files", f]) => files::delete(api, req, id(f)?).await,
        (Put, ["channels", ch, "notifications"]) => notifications::set_channel_level(api, req, id(ch)?).await,
        (Get, ["workspaces", ws, "unreads"]) => reads::unreads(api, req, id(ws)?).await,
        // Listed in ROUTES but without a handler: a programming error the route test catches.
        _ => Err(Internal::NoHandler { method: req.method, path: req.path.clone() }.into()),
    }
}

/// Every route, as `/`-separated segments under [`PREFIX`] where `{name}` matches any one
/// segment. The dispatcher refuses anything not listed here before it matches handlers, so
/// this table is the complete API surface: the OpenAPI document is checked against it.
pub const ROUTES: &[(Method, &str)] = {
    use Method::*;
    &[
        (Get, "/openapi.json"),
        (Post, "/auth/signup"),
        (Post, "/auth/login"),
        (Post, "/auth/refresh"),
        (Post, "/auth/logout"),
        (Get, "/auth/providers"),
        (Get, "/auth/oidc/start"),
        (Get, "/auth/oidc/callback"),
        (Get, "/auth/oidc/logout"),
        (Post, "/auth/verify-email"),
        (Post, "/auth/password-reset"),
        (Post, "/auth/password-reset/confirm"),
        (Post, "/auth/magic-link"),
        (Post, "/auth/magic-link/redeem"),
        (Get, "/auth/sessions"),
        (Delete, "/auth/sessions"),
        (Delete, "/auth/sessions/{s}"),
        (Get, "/admin/outbox"),
        (Get, "/me"),
        (Post, "/me/avatar"),
        (Delete, "/me/avatar"),
        (Post, "/me/avatar/{a}/complete"),
        (Get, "/avatars/{a}"),
        (Patch, "/me"),
        (Get, "/me/notifications"),
        (Patch, "/me/notifications"),
        (Get, "/users/{u}"),
        (Get, "/workspaces"),
        (Post, "/workspaces"),
        (Get, "/workspaces/{ws}"),
        (Patch, "/workspaces/{ws}"),
        (Get, "/workspaces/{ws}/invites"),
        (Post, "/workspaces/{ws}/invites"),
        (Delete, "/workspaces/{ws}/invites/{code}"),
        (Get, "/workspaces/{ws}/apps"),
        (Post, "/workspaces/{ws}/apps"),
        (Delete, "/workspaces/{ws}/apps/{app}"),
        (Post, "/workspaces/{ws}/apps/{app}/hooks"),
        (Delete, "/workspaces/{ws}/hooks/{h}"),
        (Post, "/workspaces/{ws}/apps/{app}/tokens"),
        (Delete, "/workspaces/{ws}/tokens/{t}"),
        (Put, "/workspaces/{ws}/apps/{app}/events"),
        (Post, "/workspaces/{ws}/apps/{app}/commands"),
        (Delete, "/workspaces/{ws}/commands/{c}"),
        (Get, "/workspaces/{ws}/commands"),
        (Post, "/workspaces/{ws}/apps/{app}/outgoing-hooks"),
        (Delete, "/workspaces/{ws}/outgoing-hooks/{o}"),
        (Get, "/workspaces/{ws}/apps/{app}/deliveries"),
        (Post, "/workspaces/{ws}/deliveries/{d}/retry"),
        (Post, "/channels/{ch}/commands"),
        (Get, "/invites/{code}"),
        (Post, "/invites/{code}/accept"),
        (Get, "/workspaces/{ws}/members"),
        (Patch, "/workspaces/{ws}/members/{u}"),
        (Delete, "/workspaces/{ws}/members/{u}"),
        (Post, "/workspaces/{ws}/members/{u}/deactivate"),
        (Post, "/workspaces/{ws}/members/{u}/reactivate"),
        (Get, "/workspaces/{ws}/search"),
        (Get, "/workspaces/{ws}/channels"),
        (Post, "/workspaces/{ws}/channels"),
        (Get, "/channels/{ch}"),
        (Post, "/channels/{ch}/join"),
        (Post, "/channels/{ch}/leave"),
        (Patch, "/channels/{ch}"),
        (Post, "/channels/{ch}/archive"),
        (Post, "/channels/{ch}/unarchive"),
        (Get, "/channels/{ch}/members"),
        (Post, "/channels/{ch}/members"),
        (Delete, "/channels/{ch}/members/{u}"),
        (Post, "/workspaces/{ws}/dms"),
        (Get, "/channels/{ch}/messages"),
        (Post, "/channels/{ch}/messages"),
        (Get, "/channels/{ch}/events"),
        (Patch, "/messages/{m}"),
        (Delete, "/messages/{m}"),
        (Get, "/messages/{m}/thread"),
        (Put, "/messages/{m}/follow"),
        (Delete, "/messages/{m}/follow"),
        (Post, "/messages/{m}/reactions"),
        (Delete, "/messages/{m}/reactions/{e}"),
        (Post, "/messages/{m}/pin"),
        (Delete, "/messages/{m}/pin"),
        (Get, "/channels/{ch}/pins"),
        (Post, "/channels/{ch}/read"),
        (Post, "/channels/{ch}/files"),
        (Get, "/channels/{ch}/files"),
        (Post, "/files/{f}/complete"),
        (Get, "/files/{f}"),
        (Get, "/files/{f}/url"),
        (Get, "/files/{f}/thumbnail"),
        (Delete, "/files/{f}"),
        (Put, "/channels/{ch}/notifications"),
        (Get, "/workspaces/{ws}/unreads"),
    ]
};

/// Runs for every route on every request, so it allocates nothing.
fn pattern_matches(pattern: &str, segs: &[&str]) -> bool {
    let fits = |p: &str, s: &str| (p.starts_with('{') && !s.is_empty()) || p == s;
    let pat = pattern.strip_prefix('/').unwrap_or(pattern);
    // Most patterns differ in their first segment, a literal: compare it in place before
    // splitting anything. (The scan is about a fifth of the component's own time on a 404;
    // a byte-wise version of the rest measured no faster.)
    if let Some(first) = segs.first()
        && !pat.starts_with('{')
        && !(pat.as_bytes().starts_with(first.as_bytes())
            && matches!(pat.as_bytes().get(first.len()), None | Some(b'/')))
    {
        return false;
    }
    let mut pats = pat.split('/');
    segs.iter().all(|s| pats.next().is_some_and(|p| fits(p, s))) && pats.next().is_none()
}

/// 404 for paths no route has, 405 with `Allow` for a known path with another method.
fn check_route(method: Method, segs: &[&str]) -> Result<(), Response> {
    // One pass: the common case, a listed route, returns at its entry.
    let mut allowed = Vec::new();
    for (m, p) in ROUTES {
        if pattern_matches(p, segs) {
            if *m == method {
                return Ok(());
            }
            allowed.push(*m);
        }
    }
    if allowed.is_empty() {
        Err(Response::error(&ApiError::not_found("route")))
    } else {
        Err(Response::method_not_allowed(&allowed))
    }
}

/// The OpenAPI description of this API, as served at `/api/v1/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

fn openapi() -> Response {
    Response {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: OPENAPI_JSON.as_bytes().to_vec(),
    }
}

/// `POST /api/v1/internal/deliveries` with `Authorization: Bearer <internal secret>`: one
/// round of the delivery queue, answering when the next delivery falls due.
async fn internal_deliveries<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response, Error> {
    let Some(secret) = api.config.internal_secret.as_deref() else {
        return Err(ApiError::not_found("route").into());
    };
    let given = req.bearer().unwrap_or("").as_bytes();
    if !constant_time_eq(given, secret) {
        return Err(ApiError::unauthenticated("the internal secret is required").into());
    }
    if req.method != Method::Post {
        return Ok(Response::method_not_allowed(&[Method::Post]));
    }
    let round = crate::deliver::run_round(api).await?;
    Ok(Response::ok(serde_json::to_value(round).unwrap_or_default()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A path id; malformed ids are 404 (nothing can exist there), not 400.
fn id<T: std::str::FromStr>(s: &str) -> Result<T, Error> {
    s.parse().map_err(|_| ApiError::not_found("resource").into())
}
