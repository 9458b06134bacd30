//! Account mail and sessions: sign-up verification, password reset, magic-link sign-in, the
//! list of one's sessions, and the install admins' view of the mail outbox.
//!
//! Every route that mails a link answers the same 202 whether or not the address has an
//! account, and is limited per client address and per recipient, so it neither reveals who
//! is registered nor lets anyone flood an inbox.

use ocomms_core::email::{self, Template};
use ocomms_core::event::UserNotice;
use ocomms_core::ids::UserId;
use ocomms_core::limits::Limit;
use ocomms_core::{ApiError, ErrorCode, validate};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::auth::{check_email, signed_in};
use super::authenticate;
use crate::Api;
use crate::auth::{cookie, password, refresh};
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, Ports};
use crate::repo::email::{self as repo, NewLink, Purpose};
use crate::repo::{sessions, users};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    token: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailBody {
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetBody {
    token: String,
    password: String,
}

fn link_invalid(message: &str) -> crate::error::Error {
    ApiError::new(ErrorCode::LinkInvalid, message).into()
}

/// A fresh token for a link, and the hash stored for it.
fn new_token<P: Ports>(api: &Api<P>) -> (String, String) {
    let token = refresh::generate(api.env.random_array());
    let hash = refresh::hash(&token);
    (token, hash)
}

/// Mails a sign-up link that creates the account, or tells the owner of an address that
/// already has one (called by `POST /auth/signup`).
pub(crate) async fn send_signup_link<P: Ports>(
    api: &Api<P>,
    req: &Request,
    email: &str,
    display_name: &str,
    password_hash: &str,
) -> Result<()> {
    let origin = api.config.link_origin(req);
    if users::email_taken(&api.sql, email).await? {
        repo::queue(&api.sql, &email::render(email, Template::AccountExists { origin: &origin })).await?;
        return Ok(());
    }
    let (token, hash) = new_token(api);
    let link = NewLink {
        token_hash: &hash,
        purpose: Purpose::Verify,
        user: None,
        email,
        browser_hash: None,
        signup: Some((display_name, password_hash)),
        ttl_secs: email::VERIFY_TTL_SECS,
    };
    let mail = email::render(email, Template::Verify { origin: &origin, token: &token });
    repo::create_link(&api.sql, &link, &mail).await?;
    Ok(())
}

/// `POST /auth/verify-email {token}`: creates the account the sign-up link carries and
/// signs it in.
pub async fn verify_email<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let body: TokenBody = req.json()?;
    let Some(signup) = repo::redeem_signup(&api.sql, &refresh::hash(body.token.trim())).await? else {
        return Err(link_invalid("this link is unknown, used or expired; sign up again for a new one"));
    };
    let id = UserId::from_bytes(api.env.random_array());
    match users::create(&api.sql, id, &signup.email, &signup.display_name, &signup.password_hash, true).await? {
        users::CreateOutcome::Created(user) => signed_in(api, req, user, "signup", 201).await,
        users::CreateOutcome::EmailTaken => {
            Err(link_invalid("this address already has an account: sign in, or reset the password"))
        }
    }
}

/// The limits on mailing `email` on behalf of this client.
async fn may_mail<P: Ports>(api: &Api<P>, req: &Request, email: &str) -> Result<()> {
    crate::limits::check(api, Limit::EmailAddress, &crate::limits::client_address(api, req)).await?;
    crate::limits::check(api, Limit::EmailRecipient, email).await
}

/// `POST /auth/password-reset {email}`: mails a reset link (or, for an address with no
/// account, a mail saying so). Always 202.
pub async fn request_reset<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let body: EmailBody = req.json()?;
    let email = validate::email(&body.email)?;
    may_mail(api, req, &email).await?;
    let origin = api.config.link_origin(req);
    match users::by_email(&api.sql, &email).await? {
        Some((user, _)) => {
            let (token, hash) = new_token(api);
            let link = NewLink {
                token_hash: &hash,
                purpose: Purpose::Reset,
                user: Some(user.id),
                email: &email,
                browser_hash: None,
                signup: None,
                ttl_secs: email::RESET_TTL_SECS,
            };
            let mail = email::render(&email, Template::Reset { origin: &origin, token: &token });
            repo::create_link(&api.sql, &link, &mail).await?;
        }
        None => repo::queue(&api.sql, &email::render(&email, Template::NoAccount { origin: &origin })).await?,
    }
    Ok(check_email())
}

/// `POST /auth/password-reset/confirm {token, password}`: sets the new password, ends every
/// session (whoever had the old password is out), tells the owner, and signs in.
pub async fn confirm_reset<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let body: ResetBody = req.json()?;
    validate::password(&body.password)?;
    let Some(user) = repo::redeem(&api.sql, &refresh::hash(body.token.trim()), Purpose::Reset, None).await? else {
        return Err(link_invalid("this reset link is unknown, used or expired; ask for a new one"));
    };
    let hash = password::hash(&body.password, api.env.random_array())?;
    users::set_password(&api.sql, user, &hash).await?;
    sessions::revoke_all(&api.sql, user).await?;
    let reason = "the password was reset".to_string();
    api.notify(user, UserNotice::SessionsEnded { session_id: None, reason }).await;
    let account = users::by_id(&api.sql, user).await?.ok_or_else(|| link_invalid("the account is gone"))?;
    let origin = api.config.link_origin(req);
    repo::queue(&api.sql, &email::render(&account.email, Template::PasswordChanged { origin: &origin })).await?;
    signed_in(api, req, account, "password_reset", 200).await
}

/// `POST /auth/magic-link {email}`: mails a sign-in link that works only in this browser,
/// which gets (or keeps) a nonce cookie the link is bound to. Always 202.
pub async fn request_magic_link<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let body: EmailBody = req.json()?;
    let email = validate::email(&body.email)?;
    may_mail(api, req, &email).await?;
    let nonce = cookie::get(req, cookie::MAGIC).unwrap_or_else(|| refresh::generate(api.env.random_array()));
    let origin = api.config.link_origin(req);
    match users::by_email(&api.sql, &email).await? {
        Some((user, _)) => {
            let (token, hash) = new_token(api);
            let browser = refresh::hash(&nonce);
            let link = NewLink {
                token_hash: &hash,
                purpose: Purpose::Magic,
                user: Some(user.id),
                email: &email,
                browser_hash: Some(&browser),
                signup: None,
                ttl_secs: email::MAGIC_TTL_SECS,
            };
            let mail = email::render(&email, Template::Magic { origin: &origin, token: &token });
            repo::create_link(&api.sql, &link, &mail).await?;
        }
        None => repo::queue(&api.sql, &email::render(&email, Template::NoAccount { origin: &origin })).await?,
    }
    let set = cookie::set(req, cookie::MAGIC, &nonce, cookie::MAGIC_PATH, email::MAGIC_TTL_SECS);
    Ok(check_email().with_header("set-cookie", &set))
}

/// `POST /auth/magic-link/redeem {token}`: signs in, from the browser that asked.
pub async fn redeem_magic_link<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let body: TokenBody = req.json()?;
    let Some(nonce) = cookie::get(req, cookie::MAGIC) else {
        return Err(link_invalid("open the link in the browser where you asked for it"));
    };
    let browser = refresh::hash(&nonce);
    let token = refresh::hash(body.token.trim());
    let Some(user) = repo::redeem(&api.sql, &token, Purpose::Magic, Some(&browser)).await? else {
        return Err(link_invalid(
            "this sign-in link is unknown, used, expired, or was asked for in another browser; ask for a new one",
        ));
    };
    users::mark_verified(&api.sql, user).await?;
    let account = users::by_id(&api.sql, user).await?.ok_or_else(|| link_invalid("the account is gone"))?;
    let resp = signed_in(api, req, account, "magic_link", 200).await?;
    Ok(resp.with_header("set-cookie", &cookie::clear(req, cookie::MAGIC, cookie::MAGIC_PATH)))
}

/// `GET /auth/sessions`: the caller's live sessions, the current one marked.
pub async fn list_sessions<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let list = sessions::list(&api.sql, caller.user_id).await?;
    let items: Vec<_> = list
        .into_iter()
        .map(|s| {
            let current = s.id == caller.session_id;
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["current"] = json!(current);
            v
        })
        .collect();
    Ok(Response::ok(json!({ "sessions": items })))
}

/// `DELETE /auth/sessions/{id}`: ends one of the caller's sessions (the current one too).
pub async fn end_session<P: Ports>(api: &Api<P>, req: &Request, id: &str) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let not_found = || ApiError::not_found("no such session");
    let id = Uuid::parse_str(id).map_err(|_| not_found())?;
    if !sessions::revoke_own(&api.sql, caller.user_id, id).await? {
        return Err(not_found().into());
    }
    let notice = UserNotice::SessionsEnded { session_id: Some(id), reason: "signed out from another session".into() };
    api.notify(caller.user_id, notice).await;
    Ok(Response::no_content())
}

/// `DELETE /auth/sessions`: ends every session of the caller but the current one.
pub async fn end_other_sessions<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let ended = sessions::revoke_others(&api.sql, caller.user_id, Some(caller.session_id)).await?;
    for id in &ended {
        let reason = "signed out from another session".to_string();
        api.notify(caller.user_id, UserNotice::SessionsEnded { session_id: Some(*id), reason }).await;
    }
    Ok(Response::ok(json!({ "ended": ended.len() })))
}

/// `GET /admin/outbox?before=`: the mail the install sent or holds, for its admins (the
/// verified accounts listed in `install_admins`).
pub async fn outbox<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let caller = authenticate(api, req).await?;
    let before = req.query_num::<i64>("before")?;
    let forbidden = || ApiError::forbidden("only the install's admins (install_admins) read the outbox");
    let me = users::by_id(&api.sql, caller.user_id).await?.ok_or_else(forbidden)?;
    if !api.config.install_admins.contains(&me.email) || !users::is_verified(&api.sql, caller.user_id).await? {
        return Err(forbidden().into());
    }
    let mails = repo::outbox(&api.sql, before, 50).await?;
    Ok(Response::ok(json!({ "mails": mails })))
}
