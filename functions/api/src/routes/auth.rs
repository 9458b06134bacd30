//! Sign-up, login, token refresh and logout.

use ocomms_core::event::UserNotice;
use ocomms_core::ids::UserId;
use ocomms_core::limits::Limit;
use ocomms_core::{ApiError, ErrorCode, validate};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::authenticate;
use crate::Api;
use crate::auth::{Caller, cookie, jwt, password, refresh};
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::{sessions, users};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignupBody {
    email: String,
    password: String,
    display_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    refresh_token: String,
}

/// `POST /auth/signup`. With email verification (the default) nothing is created yet: the
/// address gets a link that creates the account, or, if it already has one, a mail saying
/// so. Either way the answer is the same 202, so sign-up tells nobody which addresses have
/// accounts.
pub async fn signup<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let body: SignupBody = req.json()?;
    let email = validate::email(&body.email)?;
    validate::password(&body.password)?;
    let name = validate::display_name(&body.display_name, "display_name", validate::MAX_DISPLAY_NAME_CHARS)?;
    // Counted once the request is well formed: a malformed one costs nothing to refuse.
    let address = crate::limits::client_address(api, req);
    crate::limits::check(api, Limit::SignupAddress, &address).await?;
    if api.config.email_verification {
        crate::limits::check(api, Limit::EmailRecipient, &email).await?;
    }
    let hash = password::hash(&body.password, api.env.random_array())?;
    if api.config.email_verification {
        super::accounts::send_signup_link(api, req, &email, &name, &hash).await?;
        return Ok(check_email());
    }
    let id = UserId::from_bytes(api.env.random_array());
    let user = match users::create(&api.sql, id, &email, &name, &hash, false).await? {
        users::CreateOutcome::Created(u) => u,
        users::CreateOutcome::EmailTaken => {
            return Err(ApiError::new(ErrorCode::EmailTaken, "an account with this email exists").into());
        }
    };
    signed_in(api, req, user, "signup", 201).await
}

/// The answer to every request that mails a link: the same whoever the address belongs to.
pub(crate) fn check_email() -> Response {
    Response::json(202, &json!({ "status": "check_email" }))
}

pub async fn login<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let body: LoginBody = req.json()?;
    let bad = || ApiError::new(ErrorCode::InvalidCredentials, "wrong email or password");
    let Ok(email) = validate::email(&body.email) else { return Err(bad().into()) };
    crate::limits::check(api, Limit::LoginAddress, &crate::limits::client_address(api, req)).await?;
    // Per account, whoever tries: a guesser spreading over many addresses meets this one.
    crate::limits::check(api, Limit::LoginAccount, &email).await?;
    let found = users::by_email(&api.sql, &email).await?;
    // Verify against a dummy hash when the email is unknown, so timing does not reveal it.
    let stored = found.as_ref().map_or(password::DUMMY_HASH, |(_, h)| h.as_str());
    let ok = password::verify(&body.password, stored);
    let Some((user, _)) = found.filter(|_| ok) else { return Err(bad().into()) };
    signed_in(api, req, user, "password", 200).await
}

/// `POST /auth/refresh`: the refresh token from the body, or in cookie mode from its cookie.
pub async fn refresh<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let token = if cookie::wanted(req) {
        if !req.body.is_empty() {
            req.json::<serde_json::Value>()?;
        }
        cookie::get(req, cookie::REFRESH)
    } else {
        Some(req.json::<RefreshBody>()?.refresh_token)
    };
    let token = token.ok_or_else(|| ApiError::unauthenticated("no session cookie"))?;
    let address = crate::limits::client_address(api, req);
    crate::limits::check(api, Limit::RefreshAddress, &address).await?;
    match sessions::redeem(&api.sql, &refresh::hash(&token)).await? {
        sessions::Redeem::Rotated { family, user } => {
            sessions::touch(&api.sql, family, &address).await?;
            let (tokens, set_cookie) = issue_pair(api, req, Caller { user_id: user, session_id: family }).await?;
            Ok(with_cookie(Response::ok(json!({ "tokens": tokens })), set_cookie))
        }
        sessions::Redeem::Reused { family, user } => {
            if let (Some(family), Some(user)) = (family, user) {
                let reason = "refresh token reuse: the session was ended".to_string();
                api.notify(user, UserNotice::SessionsEnded { session_id: Some(family), reason }).await;
            }
            Err(ApiError::new(ErrorCode::TokenReused, "refresh token was already used; the session has been ended")
                .into())
        }
        sessions::Redeem::Invalid => Err(ApiError::unauthenticated("invalid refresh token").into()),
    }
}

/// Ends the session named by the access token (or by a refresh token in the body, so a
/// client with an expired access token can still log out).
pub async fn logout<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let family = if req.bearer().is_some() {
        let caller = authenticate(api, req).await?;
        // The token names the session; a body, if sent anyway, must still be a valid one.
        if !req.body.is_empty() {
            req.json::<RefreshBody>()?;
        }
        caller.session_id
    } else {
        let body: RefreshBody = req.json()?;
        sessions::family_of(&api.sql, &refresh::hash(&body.refresh_token))
            .await?
            .ok_or_else(|| ApiError::unauthenticated("invalid refresh token"))?
    };
    if let Some(user) = sessions::revoke_family(&api.sql, family).await? {
        let notice = UserNotice::SessionsEnded { session_id: Some(family), reason: "logged out".into() };
        api.notify(user, notice).await;
    }
    let resp = Response::no_content();
    Ok(if cookie::wanted(req) {
        resp.with_header("set-cookie", &cookie::clear(req, cookie::REFRESH, cookie::REFRESH_PATH))
    } else {
        resp
    })
}

/// A new session for `user`, begun by `method`; answers `{user, tokens}` with `status`.
pub(crate) async fn signed_in<P: Ports>(
    api: &Api<P>,
    req: &Request,
    user: users::User,
    method: &str,
    status: u16,
) -> Result<Response> {
    if method != "oidc"
        && let Some(ws) = crate::repo::workspaces::requiring_sso(&api.sql, user.id).await?
    {
        return Err(ApiError::forbidden(format!("{ws} requires single sign-on: sign in with it")).into());
    }
    let family = Uuid::from_bytes(api.env.random_array());
    let address = crate::limits::client_address(api, req);
    let origin =
        sessions::Origin { method, user_agent: req.header("user-agent").unwrap_or(""), address: address.as_str() };
    sessions::record(&api.sql, family, user.id, &origin).await?;
    let (tokens, set_cookie) = issue_pair(api, req, Caller { user_id: user.id, session_id: family }).await?;
    Ok(with_cookie(Response::json(status, &json!({ "user": user, "tokens": tokens })), set_cookie))
}

fn with_cookie(resp: Response, set_cookie: Option<String>) -> Response {
    match set_cookie {
        Some(c) => resp.with_header("set-cookie", &c),
        None => resp,
    }
}

/// The next access and refresh tokens of a session. In cookie mode the refresh token goes
/// into the returned `Set-Cookie` value instead of the body.
async fn issue_pair<P: Ports>(
    api: &Api<P>,
    req: &Request,
    caller: Caller,
) -> Result<(serde_json::Value, Option<String>)> {
    let refresh_token = refresh::generate(api.env.random_array());
    sessions::insert_token(
        &api.sql,
        &refresh::hash(&refresh_token),
        caller.session_id,
        caller.user_id,
        api.config.refresh_ttl_secs,
    )
    .await?;
    let access = jwt::issue(&api.config.jwt_secret, caller, api.env.now_ms(), api.config.access_ttl_secs)?;
    let mut tokens = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": api.config.access_ttl_secs,
    });
    if cookie::wanted(req) {
        let c = cookie::set(req, cookie::REFRESH, &refresh_token, cookie::REFRESH_PATH, api.config.refresh_ttl_secs);
        return Ok((tokens, Some(c)));
    }
    tokens["refresh_token"] = json!(refresh_token);
    Ok((tokens, None))
}
