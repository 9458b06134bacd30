//! Single sign-on with an OpenID provider the operator configured: the authorization code
//! flow with PKCE. The browser is sent to the provider (`/auth/oidc/start`) and comes back to
//! `/auth/oidc/callback`, which validates the ID token, finds or creates the account, and
//! sends the browser on to the app with its session in the refresh cookie.
//!
//! Accounts are found by the provider's (issuer, subject); the first sign-in links an
//! existing account by its email address only when the provider says it verified that
//! address, and otherwise creates one.

use ocomms_core::{ApiError, ErrorCode, validate};
use serde_json::json;

use super::auth::signed_in;
use crate::Api;
use crate::auth::oidc::{self, Attempt, Metadata, OidcConfig};
use crate::auth::{cookie, password, refresh};
use crate::error::Result;
use crate::http::{Request, Response};
use crate::ports::{Env as _, OutMethod, OutReply, OutRequest, Outbound as _, Ports};
use crate::repo::{sso as repo, users};

pub const CALLBACK_PATH: &str = "/api/v1/auth/oidc/callback";

/// `GET /auth/providers`: how one may sign in here, for the sign-in page.
pub async fn providers<P: Ports>(api: &Api<P>, _req: &Request) -> Result<Response> {
    let sso = api.config.oidc.as_ref().map(|c| json!({ "name": c.name, "start_url": "/api/v1/auth/oidc/start" }));
    Ok(Response::ok(json!({
        "password": true,
        "magic_link": true,
        "email_verification": api.config.email_verification,
        "oidc": sso,
    })))
}

fn configured<P: Ports>(api: &Api<P>) -> Result<&OidcConfig> {
    api.config.oidc.as_ref().ok_or_else(|| ApiError::not_found("single sign-on (it is not configured)").into())
}

/// A request to the provider: none of the app-address checks (the operator chose it).
async fn call<P: Ports>(
    api: &Api<P>,
    method: OutMethod,
    url: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Result<OutReply> {
    let out = api
        .outbound
        .as_ref()
        .ok_or_else(|| ApiError::new(ErrorCode::Unavailable, "this runtime makes no outgoing requests"))?;
    let mut headers = headers;
    headers.push(("accept".into(), "application/json".into()));
    out.send(&OutRequest { method, url, headers, body, to_app: false }).await.map_err(|e| {
        api.env.log_error(&format!("single sign-on: {url}: {e}"));
        ApiError::new(ErrorCode::Unavailable, "the identity provider did not answer").into()
    })
}

async fn metadata<P: Ports>(api: &Api<P>, config: &OidcConfig) -> Result<Metadata> {
    let reply = call(api, OutMethod::Get, &oidc::discovery_url(&config.issuer), Vec::new(), &[]).await?;
    oidc::parse_metadata(config, &reply.body).map_err(|e| {
        api.env.log_error(&format!("single sign-on: {e}"));
        ApiError::new(ErrorCode::Unavailable, "the identity provider's configuration is not usable").into()
    })
}

fn redirect(location: &str) -> Response {
    Response { status: 302, headers: Vec::new(), body: Vec::new() }
        .with_header("location", location)
        .with_header("cache-control", "no-store")
        .with_header("referrer-policy", "no-referrer")
}

/// `GET /auth/oidc/start`: to the provider, with this attempt's state, nonce and PKCE
/// challenge; the browser keeps a nonce cookie the callback checks.
pub async fn start<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let config = configured(api)?;
    let meta = metadata(api, config).await?;
    let attempt = Attempt::new([api.env.random_array(), api.env.random_array(), api.env.random_array()]);
    let browser = cookie::get(req, cookie::SSO).unwrap_or_else(|| refresh::generate(api.env.random_array()));
    repo::start(&api.sql, &refresh::hash(&attempt.state), &refresh::hash(&browser), &attempt.nonce, &attempt.verifier)
        .await?;
    let callback = format!("{}{CALLBACK_PATH}", api.config.link_origin(req));
    let set = cookie::set_lax(req, cookie::SSO, &browser, cookie::SSO_PATH, repo::ATTEMPT_TTL_SECS);
    Ok(redirect(&oidc::authorization_url(config, &meta, &attempt, &callback)).with_header("set-cookie", &set))
}

/// `GET /auth/oidc/callback?code&state`: back from the provider. Success sends the browser to
/// the app signed in; a failure sends it to the sign-in page with the reason
/// (`/#sso_error=`), since a person, not a program, follows this redirect.
pub async fn callback<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let config = configured(api)?;
    let state = req.query_param("state").filter(|s| !s.is_empty());
    let Some(state) = state else {
        return Err(ApiError::new(ErrorCode::BadRequest, "the provider's answer has no state").into());
    };
    let fail = |message: &str| {
        let to = format!("/#sso_error={}", oidc::encode(message));
        Ok(redirect(&to).with_header("set-cookie", &cookie::clear(req, cookie::SSO, cookie::SSO_PATH)))
    };
    let Some(browser) = cookie::get(req, cookie::SSO) else {
        return fail("sign-in must finish in the browser where it started");
    };
    let Some((nonce, verifier)) = repo::take(&api.sql, &refresh::hash(&state), &refresh::hash(&browser)).await? else {
        return fail("this sign-in attempt is unknown, used or expired; start again");
    };
    if let Some(error) = req.query_param("error") {
        let detail = req.query_param("error_description").unwrap_or_default();
        return fail(&format!("the identity provider refused: {error} {detail}"));
    }
    let Some(code) = req.query_param("code").filter(|c| !c.is_empty()) else {
        return fail("the identity provider sent no code");
    };
    let meta = metadata(api, config).await?;
    let callback = format!("{}{CALLBACK_PATH}", api.config.link_origin(req));
    let (body, basic) = oidc::token_request(config, &code, &verifier, &callback);
    let headers =
        vec![("content-type".into(), "application/x-www-form-urlencoded".into()), ("authorization".into(), basic)];
    let answer = call(api, OutMethod::Post, &meta.token_endpoint, headers, body.as_bytes()).await?;
    let id_token = match oidc::id_token_of(answer.status, &answer.body) {
        Ok(t) => t,
        Err(e) => {
            api.env.log_error(&format!("single sign-on: {e}"));
            return fail("the identity provider did not complete the sign-in");
        }
    };
    // The keys are read at every sign-in, so a provider's key rotation needs nothing of us.
    let jwks = call(api, OutMethod::Get, &meta.jwks_uri, Vec::new(), &[]).await?;
    let identity = match oidc::verify(config, &meta, &jwks.body, &id_token, &nonce, api.env.now_ms()) {
        Ok(i) => i,
        Err(e) => {
            api.env.log_error(&format!("single sign-on: {e}"));
            return fail("the identity provider's answer did not check out");
        }
    };
    let Some(user) = account(api, &identity).await? else {
        return fail("the identity provider did not vouch for an email address this server can use");
    };
    // The browser's session, as in cookie mode.
    let mut as_browser = req.clone();
    as_browser.headers.push((cookie::MODE_HEADER.into(), "cookie".into()));
    let signed = signed_in(api, &as_browser, user, "oidc", 200).await?;
    let mut resp = redirect("/").with_header("set-cookie", &cookie::clear(req, cookie::SSO, cookie::SSO_PATH));
    for (k, v) in signed.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie")) {
        resp = resp.with_header(k, v);
    }
    Ok(resp)
}

/// The account of the provider's identity: linked before, or linked now by a verified
/// email, or created. `None` when the provider vouches for no address and none is linked.
async fn account<P: Ports>(api: &Api<P>, identity: &oidc::Identity) -> Result<Option<users::User>> {
    if let Some(id) = repo::linked(&api.sql, &identity.issuer, &identity.subject).await? {
        return Ok(users::by_id(&api.sql, id).await?);
    }
    let Some(email) = identity.email.as_deref().and_then(|e| validate::email(e).ok()) else { return Ok(None) };
    let user = match users::by_email(&api.sql, &email).await? {
        Some((u, _)) => {
            users::mark_verified(&api.sql, u.id).await?;
            u
        }
        None => {
            let local = email.split('@').next().unwrap_or("user").to_string();
            let name = identity
                .name
                .as_deref()
                .and_then(|n| validate::display_name(n, "name", validate::MAX_DISPLAY_NAME_CHARS).ok())
                .or_else(|| validate::display_name(&local, "name", validate::MAX_DISPLAY_NAME_CHARS).ok())
                .unwrap_or_else(|| "user".to_string());
            let id = ocomms_core::ids::UserId::from_bytes(api.env.random_array());
            match users::create(&api.sql, id, &email, &name, password::NO_PASSWORD, true).await? {
                users::CreateOutcome::Created(u) => u,
                // Deactivated, a bot's address, or made concurrently: not ours to take over.
                users::CreateOutcome::EmailTaken => return Ok(None),
            }
        }
    };
    repo::link(&api.sql, &identity.issuer, &identity.subject, user.id).await?;
    Ok(Some(user))
}

/// `GET /auth/oidc/logout`: after signing out here (`POST /auth/logout`), out at the provider
/// too, back to the app.
pub async fn logout<P: Ports>(api: &Api<P>, req: &Request) -> Result<Response> {
    let config = configured(api)?;
    let meta = metadata(api, config).await?;
    let home = format!("{}/", api.config.link_origin(req));
    Ok(redirect(&oidc::logout_url(config, &meta, &home).unwrap_or(home)))
}
