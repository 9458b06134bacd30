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
use crate::auth::{Caller, jwt, password, refresh};
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

pub async fn signup<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let body: SignupBody = req.json()?;
    let email = validate::email(&body.email)?;
    validate::password(&body.password)?;
    let name = validate::display_name(&body.display_name, "display_name", validate::MAX_DISPLAY_NAME_CHARS)?;
    // Counted once the request is well formed: a malformed one costs nothing to refuse.
    crate::limits::check(api, Limit::SignupAddress, &crate::limits::client_address(api, req)).await?;
    let hash = password::hash(&body.password, api.env.random_array())?;
    let id = UserId::from_bytes(api.env.random_array());
    let user = match users::create(&api.sql, id, &email, &name, &hash).await? {
        users::CreateOutcome::Created(u) => u,
        users::CreateOutcome::EmailTaken => {
            return Err(ApiError::new(ErrorCode::EmailTaken, "an account with this email exists").into());
        }
    };
    let tokens = start_session(api, user.id).await?;
    Ok(Response::created(json!({ "user": user, "tokens": tokens })))
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
    let tokens = start_session(api, user.id).await?;
    Ok(Response::ok(json!({ "user": user, "tokens": tokens })))
}

pub async fn refresh<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let body: RefreshBody = req.json()?;
    crate::limits::check(api, Limit::RefreshAddress, &crate::limits::client_address(api, req)).await?;
    match sessions::redeem(&api.sql, &refresh::hash(&body.refresh_token)).await? {
        sessions::Redeem::Rotated { family, user } => {
            let tokens = issue_pair(api, Caller { user_id: user, session_id: family }).await?;
            Ok(Response::ok(json!({ "tokens": tokens })))
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
    Ok(Response::no_content())
}

async fn start_session<P: Ports>(api: &Api<P>, user: UserId) -> Result<serde_json::Value> {
    let family = Uuid::from_bytes(api.env.random_array());
    issue_pair(api, Caller { user_id: user, session_id: family }).await
}

async fn issue_pair<P: Ports>(api: &Api<P>, caller: Caller) -> Result<serde_json::Value> {
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
    Ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": api.config.access_ttl_secs,
        "refresh_token": refresh_token,
    }))
}
