//! Single sign-on against a real OpenID Provider (oidc-provider, started by the test) on
//! every target: the code flow with PKCE through the provider's login form, accounts made
//! just in time or linked by an address the provider verified, never by an unverified one,
//! a provider key rotation, attempts that are replayed, forged or finished in another
//! browser, and signing out at the provider.

use serde_json::{Value, json};

use crate::common::{ANY_PORT_CALLBACK, ANY_PORT_ROOT, Browser, Host, HostOptions, OidcProvider, PASSWORD, Target};

const CLIENT: &str = "ocomms-sso";
const SECRET: &str = "sso-client-secret-for-tests";

async fn provider() -> OidcProvider {
    OidcProvider::start(CLIENT, SECRET, ANY_PORT_CALLBACK, ANY_PORT_ROOT).await
}

fn options(p: &OidcProvider) -> HostOptions {
    HostOptions {
        variables: vec![
            ("OIDC_ISSUER", p.issuer.clone()),
            ("OIDC_CLIENT_ID", p.client_id.clone()),
            ("OIDC_CLIENT_SECRET", p.client_secret.clone()),
            ("OIDC_NAME", "Test IdP".to_owned()),
        ],
        ..HostOptions::default()
    }
}

/// The session a finished sign-in left in the browser: the refresh cookie, redeemed as the
/// web client does on load. Returns the access token and the user.
async fn session_of(host: &Host, callback: &reqwest::Response) -> (String, Value) {
    let location = callback.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert_eq!((callback.status().as_u16(), location), (302, "/"), "the callback signs in: {callback:?}");
    let cookie = callback
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("ocomms_refresh="))
        .unwrap_or_else(|| panic!("no refresh cookie: {callback:?}"))
        .to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("Path=/api/v1/auth/refresh"), "{cookie}");
    let value = cookie.split(';').next().unwrap().to_owned();
    let r = host
        .send(
            host.request(reqwest::Method::POST, "/api/v1/auth/refresh", None)
                .header("x-ocomms-session", "cookie")
                .header("cookie", value)
                .json(&json!({})),
        )
        .await;
    r.expect_status(200, "the session's cookie refreshes");
    let access = r.str_at("/tokens/access_token");
    let me = host.get("/api/v1/me", Some(&access)).await;
    me.expect_status(200, "me");
    (access, me.body["user"].clone())
}

fn sso_error(r: &reqwest::Response) -> String {
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert_eq!(r.status().as_u16(), 302, "{r:?}");
    assert!(location.starts_with("/#sso_error="), "expected a failure sent to the sign-in page: {location}");
    location
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn sign_in_with_a_provider(host: &Host, p: &OidcProvider) {
    let start = host.url("/api/v1/auth/oidc/start");
    let r = host.get("/api/v1/auth/providers", None).await;
    r.expect_status(200, "providers");
    assert_eq!(r.body["oidc"]["name"], "Test IdP");

    // A new person: an account made on the spot, its address verified, no password.
    let cb = p.sign_in(&no_redirects(), &start, "ann@sso.test").await;
    let (ann_token, ann) = session_of(host, &cb).await;
    assert_eq!(ann["email"], "ann@sso.test");
    let sessions = host.get("/api/v1/auth/sessions", Some(&ann_token)).await;
    assert_eq!(sessions.body["sessions"][0]["method"], "oidc", "{sessions:?}");
    for password in [PASSWORD, "", "!sso"] {
        let r = host.post("/api/v1/auth/login", None, json!({ "email": "ann@sso.test", "password": password })).await;
        r.expect_error(401, "invalid_credentials", "no password signs in an account made by single sign-on");
    }
    // The same person again is the same account.
    let (_, again) = session_of(host, &p.sign_in(&no_redirects(), &start, "ann@sso.test").await).await;
    assert_eq!(again["id"], ann["id"]);

    // An existing account is linked by the address the provider verified; once linked, a
    // new address at the provider still finds it (by subject).
    let bob = host.signup("bob@sso.test").await;
    let (_, linked) = session_of(host, &p.sign_in(&no_redirects(), &start, "bob@sso.test").await).await;
    assert_eq!(linked["id"], bob.user_id);
    p.set_account("bob@sso.test", json!({ "email": "robert@sso.test" })).await;
    let (_, moved) = session_of(host, &p.sign_in(&no_redirects(), &start, "bob@sso.test").await).await;
    assert_eq!(moved["id"], bob.user_id, "found by the provider's subject");

    // An address the provider did not verify links nothing and makes nothing.
    let carl = host.signup("unverified-carl@sso.test").await;
    sso_error(&p.sign_in(&no_redirects(), &start, "unverified-carl@sso.test").await);
    let r = host.get("/api/v1/me", Some(&carl.access)).await;
    assert_eq!(r.body["user"]["id"], carl.user_id);

    // The provider rotates its signing key, then retires the old one: each next sign-in
    // reads the key set as it is.
    p.rotate_keys().await;
    session_of(host, &p.sign_in(&no_redirects(), &start, "ann@sso.test").await).await;
    p.rotate_keys_retiring_old().await;
    let (_, rotated) = session_of(host, &p.sign_in(&no_redirects(), &start, "ann@sso.test").await).await;
    assert_eq!(rotated["id"], ann["id"]);

    // The user cancels at the provider.
    sso_error(&p.cancel_sign_in(&no_redirects(), &start).await);
}

async fn forged_and_replayed_attempts_fail(host: &Host, p: &OidcProvider) {
    let start = host.url("/api/v1/auth/oidc/start");
    // The start sends to the provider with PKCE and a browser cookie.
    let r = no_redirects().get(&start).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&p.issuer), "{to}");
    for part in ["code_challenge_method=S256", "code_challenge=", "state=", "nonce=", "client_id=ocomms-sso"] {
        assert!(to.contains(part), "{part} missing: {to}");
    }
    let sso_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(sso_cookie.contains("HttpOnly") && sso_cookie.contains("SameSite=Lax"), "{sso_cookie}");

    // A finished sign-in's callback, replayed, is refused (the attempt is spent).
    let mut browser = Browser::new();
    let cb = browser.sign_in(p, &start, "dee@sso.test").await;
    session_of(host, &cb).await;
    let callback_url = browser.last_callback_url().expect("the callback URL the provider sent back to");
    let replay = no_redirects()
        .get(&callback_url)
        .header("cookie", format!("ocomms_sso={}", browser.cookie("ocomms_sso").unwrap_or_default()))
        .send()
        .await
        .unwrap();
    sso_error(&replay);
    // Finished in another browser (without the start's cookie): refused.
    let mut first = Browser::new();
    let mut elsewhere = Browser::new();
    let url = first.authorization_redirect(p, &start, "eve@sso.test").await;
    let r = elsewhere.follow(&url).await;
    sso_error(&r);
    // A state nobody issued; no state at all.
    let r = no_redirects()
        .get(host.url("/api/v1/auth/oidc/callback?state=forged&code=x"))
        .header("cookie", "ocomms_sso=whatever")
        .send()
        .await
        .unwrap();
    sso_error(&r);
    host.get("/api/v1/auth/oidc/callback?code=x", None).await.expect_error(400, "bad_request", "no state");

    // Signing out at the provider returns to the app.
    let r = no_redirects().get(host.url("/api/v1/auth/oidc/logout")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&format!("{}/session/end", p.issuer)), "{to}");
    assert!(to.contains("post_logout_redirect_uri=") && to.contains("client_id=ocomms-sso"), "{to}");
    let out = browser.sign_out(p, &to).await;
    let back = out.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(back, host.url("/"), "the provider returns to the app");
}

async fn patch(host: &Host, ws: &str, token: &str, body: Value) -> crate::common::Reply {
    host.send(host.request(reqwest::Method::PATCH, &format!("/api/v1/workspaces/{ws}"), Some(token)).json(&body)).await
}

/// A workspace requiring single sign-on: only an owner signed in through it may switch it
/// on; then members' other sessions end, and they sign in (and join) through the provider only.
async fn a_workspace_can_require_sso(host: &Host, p: &OidcProvider) {
    let start = host.url("/api/v1/auth/oidc/start");
    let (owner_token, _) = session_of(host, &p.sign_in(&no_redirects(), &start, "olga@sso.test").await).await;
    let olga = host.post("/api/v1/workspaces", Some(&owner_token), json!({ "name": "Locked" })).await;
    olga.expect_status(201, "create a workspace");
    let ws = olga.str_at("/workspace/id");
    let invite = host.post(&format!("/api/v1/workspaces/{ws}/invites"), Some(&owner_token), json!({})).await;
    let code = invite.str_at("/invite/code");
    let bob = host.signup("bob@sso.test").await;
    host.post_empty(&format!("/api/v1/invites/{code}/accept"), Some(&bob.access)).await.expect_status(200, "join");

    // An owner signed in with a password cannot lock themselves out.
    let olga_pw = host.signup("olga2@sso.test").await;
    let r = patch(host, &ws, &owner_token, json!({ "sso_only": true })).await;
    r.expect_status(200, "required by an owner signed in through the provider");
    assert_eq!(r.body["workspace"]["sso_only"], true);
    host.get("/api/v1/me", Some(&olga_pw.access)).await.expect_status(200, "an unrelated account is untouched");

    // Bob's password session has ended, a new one is refused, the provider lets him in.
    host.get("/api/v1/me", Some(&bob.access)).await.expect_error(401, "unauthenticated", "ended");
    host.post("/api/v1/auth/login", None, json!({ "email": "bob@sso.test", "password": PASSWORD })).await.expect_error(
        403,
        "forbidden",
        "a password sign-in of a member",
    );
    let (bob_sso, me) = session_of(host, &p.sign_in(&no_redirects(), &start, "bob@sso.test").await).await;
    assert_eq!(me["id"], bob.user_id);
    host.get(&format!("/api/v1/workspaces/{ws}"), Some(&bob_sso)).await.expect_status(200, "in through the provider");

    // Joining takes a session that began with the provider.
    let invite = host.post(&format!("/api/v1/workspaces/{ws}/invites"), Some(&owner_token), json!({})).await;
    let code = invite.str_at("/invite/code");
    let cy = host.signup("cy@sso.test").await;
    host.post_empty(&format!("/api/v1/invites/{code}/accept"), Some(&cy.access)).await.expect_error(
        403,
        "forbidden",
        "joining with a password session",
    );

    // Turning it on from a password session is refused.
    let r = host.post(&format!("/api/v1/workspaces/{ws}/invites"), Some(&owner_token), json!({})).await;
    let code = r.str_at("/invite/code");
    let (dan_sso, _) = session_of(host, &p.sign_in(&no_redirects(), &start, "dan@sso.test").await).await;
    host.post_empty(&format!("/api/v1/invites/{code}/accept"), Some(&dan_sso)).await.expect_status(200, "dan joins");
    patch(host, &ws, &owner_token, json!({ "sso_only": false })).await.expect_status(200, "off again");
    let dan_pw = host.post("/api/v1/auth/login", None, json!({ "email": "dan@sso.test", "password": PASSWORD })).await;
    dan_pw.expect_error(401, "invalid_credentials", "an account made by the provider has no password");
    let other = host.signup("eve@sso.test").await;
    let mine = host.post("/api/v1/workspaces", Some(&other.access), json!({ "name": "Eve's" })).await;
    let eves = mine.str_at("/workspace/id");
    let r = patch(host, &eves, &other.access, json!({ "sso_only": true })).await;
    r.expect_error(409, "conflict", "from a password session");
}

async fn without_a_provider_sso_is_off(host: &Host) {
    let r = host.get("/api/v1/auth/providers", None).await;
    r.expect_status(200, "providers");
    assert_eq!(r.body["oidc"], Value::Null);
    host.get("/api/v1/auth/oidc/start", None).await.expect_error(404, "not_found", "not configured");
}

mod host {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn sign_in_with_a_provider() {
        let p = provider().await;
        let host = Target::Host.start_with(options(&p)).await;
        super::sign_in_with_a_provider(&host, &p).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn forged_and_replayed_attempts_fail() {
        let p = provider().await;
        let host = Target::Host.start_with(options(&p)).await;
        super::forged_and_replayed_attempts_fail(&host, &p).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_workspace_can_require_sso() {
        let p = provider().await;
        let host = Target::Host.start_with(options(&p)).await;
        super::a_workspace_can_require_sso(&host, &p).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn without_a_provider_sso_is_off() {
        let host = Target::Host.start().await;
        super::without_a_provider_sso_is_off(&host).await;
        // Nothing to require without a provider.
        let ann = host.signup("ann@nosso.test").await;
        let ws =
            host.post("/api/v1/workspaces", Some(&ann.access), json!({ "name": "Open" })).await.str_at("/workspace/id");
        let r = patch(&host, &ws, &ann.access, json!({ "sso_only": true })).await;
        r.expect_error(422, "validation_failed", "sso_only without a provider");
    }
}

mod edge {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn sign_in_with_a_provider() {
        let p = provider().await;
        let host = Target::Edge.start_with(options(&p)).await;
        super::sign_in_with_a_provider(&host, &p).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn forged_and_replayed_attempts_fail() {
        let p = provider().await;
        let host = Target::Edge.start_with(options(&p)).await;
        super::forged_and_replayed_attempts_fail(&host, &p).await;
    }
}
