//! Account mail and sessions on every target, with the mail going through a real SMTP server
//! (aiosmtpd, requiring authentication): sign-up that waits for the mailed link and answers
//! the same for a taken address, password reset, magic links bound to the asking browser,
//! the per-recipient mail limit, the refresh token in an `HttpOnly` cookie, the list of
//! one's sessions with revoking, and the install admins' outbox.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

use crate::common::{Host, HostOptions, PASSWORD, Reply, Session, free_port};

/// aiosmtpd (`tests/mail/smtp_sink.py`): the mail it accepted, one JSON object each.
struct SmtpSink {
    url: String,
    mails: Arc<Mutex<Vec<Value>>>,
    _child: tokio::process::Child,
}

fn smtp_python() -> std::path::PathBuf {
    let python = std::env::var_os("OCOMMS_SMTP_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::common::workspace_root().join("target/mail/venv/bin/python"));
    assert!(python.is_file(), "no Python with aiosmtpd at {}: run the tests with `cargo xtask test`", python.display());
    python
}

impl SmtpSink {
    async fn start() -> SmtpSink {
        SmtpSink::start_with(false).await
    }

    /// With `starttls`, it requires STARTTLS with a certificate of the test CA
    /// (`tests/mail/ca.pem`) before AUTH.
    async fn start_with(starttls: bool) -> SmtpSink {
        let port = free_port();
        let dir = crate::common::workspace_root().join("tests/mail");
        let mut args = vec![port.to_string(), "ocomms".into(), "mail-secret".into()];
        if starttls {
            args.extend([dir.join("server.pem"), dir.join("server.key")].map(|p| p.display().to_string()));
        }
        let mut child = tokio::process::Command::new(smtp_python())
            .arg(dir.join("smtp_sink.py"))
            .args(&args)
            .stdout(Stdio::piped())
            // aiosmtpd warns that AUTH without TLS is unsafe: this one listens on loopback.
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP server");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
        assert!(matches!(ready, Ok(Ok(Some(ref l))) if l == "ready"), "the SMTP server did not start: {ready:?}");
        let mails = Arc::new(Mutex::new(Vec::new()));
        let sink = mails.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        let tls = if starttls { "?tls=required" } else { "" };
        SmtpSink { url: format!("smtp://ocomms:mail-secret@127.0.0.1:{port}{tls}"), mails, _child: child }
    }

    /// The first mail to `to` whose subject is `subject`, waiting for it.
    async fn mail(&self, to: &str, subject: &str) -> Value {
        let started = Instant::now();
        loop {
            let found =
                self.mails.lock().unwrap().iter().find(|m| m["to"][0] == to && m["subject"] == subject).cloned();
            if let Some(m) = found {
                return m;
            }
            let seen: Vec<_> =
                self.mails.lock().unwrap().iter().map(|m| (m["to"].clone(), m["subject"].clone())).collect();
            assert!(started.elapsed() < Duration::from_secs(30), "no mail {subject:?} to {to}; got {seen:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn count_to(&self, to: &str) -> usize {
        self.mails.lock().unwrap().iter().filter(|m| m["to"][0] == to).count()
    }
}

/// The token of the mail's link (`…#token=T`), checked to be in both parts.
fn token_in(mail: &Value, path: &str) -> String {
    let text = mail["text"].as_str().unwrap_or_default();
    let at = text.find(&format!("{path}#token=")).unwrap_or_else(|| panic!("no {path} link in {text}"));
    let token: String = text[at + path.len() + 7..].chars().take_while(|c| !c.is_whitespace()).collect();
    assert!(mail["html"].as_str().unwrap_or_default().contains(&token), "the HTML part lacks the link: {mail}");
    assert_eq!(mail["authenticated"], true, "the host sent without authenticating: {mail}");
    token
}

fn set_cookie(r: &Reply, name: &str) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no Set-Cookie {name}: {r:?}"))
        .to_string()
}

fn cookie_value(set_cookie: &str) -> String {
    set_cookie.split(';').next().and_then(|kv| kv.split_once('=')).map(|(_, v)| v.to_string()).unwrap_or_default()
}

async fn post_with(host: &Host, path: &str, headers: &[(&str, String)], body: Value) -> Reply {
    let mut rb = host.request(reqwest::Method::POST, path, None).json(&body);
    for (k, v) in headers {
        rb = rb.header(*k, v);
    }
    host.send(rb).await
}

fn with_mail(sink: &SmtpSink) -> HostOptions {
    HostOptions {
        variables: vec![
            ("EMAIL_VERIFICATION", "required".to_owned()),
            ("INSTALL_ADMINS", "root@acc.test".to_owned()),
            // The default limits, but every request here comes from 127.0.0.1.
            ("RATE_LIMITS", "email_address=1000/1".to_owned()),
        ],
        smtp_url: Some(sink.url.clone()),
        ..HostOptions::default()
    }
}

async fn signup_verified(host: &Host, sink: &SmtpSink, email: &str) -> Session {
    let r = host
        .post("/api/v1/auth/signup", None, json!({ "email": email, "password": PASSWORD, "display_name": "Acc" }))
        .await;
    r.expect_status(202, "sign-up waits for the link");
    let token = token_in(&sink.mail(email, "Confirm your email address").await, "/verify-email");
    let r = host.post("/api/v1/auth/verify-email", None, json!({ "token": token })).await;
    r.expect_status(201, "the link creates the account");
    Session::from_reply(&r)
}

async fn login(host: &Host, email: &str, password: &str) -> Reply {
    host.post("/api/v1/auth/login", None, json!({ "email": email, "password": password })).await
}

/// Sign-up, reset and magic links, mailed through SMTP.
async fn mailed_links(host: &Host, sink: &SmtpSink) {
    // Sign-up: nothing exists until the link is followed; the link works once.
    let r = host
        .post(
            "/api/v1/auth/signup",
            None,
            json!({ "email": "ann@acc.test", "password": PASSWORD, "display_name": "Ann" }),
        )
        .await;
    r.expect_status(202, "sign-up");
    let first_answer = r.body.clone();
    login(host, "ann@acc.test", PASSWORD).await.expect_error(401, "invalid_credentials", "no account before the link");
    let mail = sink.mail("ann@acc.test", "Confirm your email address").await;
    assert!(mail["from"].as_str().unwrap_or_default().contains("chat@ocomms.test"), "{mail}");
    let token = token_in(&mail, "/verify-email");
    let r = host.post("/api/v1/auth/verify-email", None, json!({ "token": token })).await;
    r.expect_status(201, "verify");
    assert_eq!(r.body["user"]["email"], "ann@acc.test");
    let ann = Session::from_reply(&r);
    host.post("/api/v1/auth/verify-email", None, json!({ "token": token })).await.expect_error(
        400,
        "link_invalid",
        "a used link",
    );
    login(host, "ann@acc.test", PASSWORD).await.expect_status(200, "the account signs in");

    // The same address again: the same answer, and its owner is told instead.
    let r = host
        .post(
            "/api/v1/auth/signup",
            None,
            json!({ "email": "ann@acc.test", "password": "another-password", "display_name": "Eve" }),
        )
        .await;
    r.expect_status(202, "sign-up with a taken address");
    assert_eq!(r.body, first_answer, "sign-up must not reveal that the address is taken");
    let told = sink.mail("ann@acc.test", "You already have an account").await;
    assert!(!told["text"].as_str().unwrap_or_default().contains("#token="), "{told}");
    login(host, "ann@acc.test", "another-password").await.expect_error(401, "invalid_credentials", "unchanged");

    // Password reset: ends every session, mails the owner, and the link works once.
    let r = host.post("/api/v1/auth/password-reset", None, json!({ "email": "ann@acc.test" })).await;
    r.expect_status(202, "reset requested");
    assert_eq!(r.body, first_answer);
    let reset = token_in(&sink.mail("ann@acc.test", "Reset your password").await, "/reset-password");
    host.post("/api/v1/auth/password-reset/confirm", None, json!({ "token": reset, "password": "short" }))
        .await
        .expect_error(422, "validation_failed", "a too-short password keeps the link");
    let r = host
        .post("/api/v1/auth/password-reset/confirm", None, json!({ "token": reset, "password": "new-password-1" }))
        .await;
    r.expect_status(200, "reset confirmed");
    host.get("/api/v1/me", Some(&ann.access)).await.expect_error(401, "unauthenticated", "old sessions end");
    sink.mail("ann@acc.test", "Your password was changed").await;
    login(host, "ann@acc.test", PASSWORD).await.expect_error(401, "invalid_credentials", "old password");
    login(host, "ann@acc.test", "new-password-1").await.expect_status(200, "new password");
    host.post("/api/v1/auth/password-reset/confirm", None, json!({ "token": reset, "password": "new-password-2" }))
        .await
        .expect_error(400, "link_invalid", "a used reset link");
    // An address with no account: the same answer, and a mail saying so.
    let r = host.post("/api/v1/auth/password-reset", None, json!({ "email": "nobody@acc.test" })).await;
    assert_eq!((r.status, &r.body), (202, &first_answer));
    let none = sink.mail("nobody@acc.test", "No account with this address").await;
    assert!(!none["text"].as_str().unwrap_or_default().contains("#token="));

    // Magic link: bound to the browser (its cookie) that asked.
    let r = host.post("/api/v1/auth/magic-link", None, json!({ "email": "ann@acc.test" })).await;
    r.expect_status(202, "magic link requested");
    let c = set_cookie(&r, "ocomms_magic");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/api/v1/auth/magic-link", "Max-Age=900"] {
        assert!(c.contains(attr), "{attr} missing: {c}");
    }
    let browser = format!("ocomms_magic={}", cookie_value(&c));
    let magic = token_in(&sink.mail("ann@acc.test", "Your sign-in link").await, "/magic-link");
    let redeem = "/api/v1/auth/magic-link/redeem";
    host.post(redeem, None, json!({ "token": magic })).await.expect_error(400, "link_invalid", "no browser cookie");
    post_with(host, redeem, &[("cookie", "ocomms_magic=someone-elses".into())], json!({ "token": magic }))
        .await
        .expect_error(400, "link_invalid", "another browser");
    let r = post_with(host, redeem, &[("cookie", browser.clone())], json!({ "token": magic })).await;
    r.expect_status(200, "the asking browser signs in");
    assert_eq!(r.body["user"]["email"], "ann@acc.test");
    assert!(set_cookie(&r, "ocomms_magic").contains("Max-Age=0"), "the nonce is cleared");
    post_with(host, redeem, &[("cookie", browser)], json!({ "token": magic })).await.expect_error(
        400,
        "link_invalid",
        "a used magic link",
    );

    // At most 5 mails an hour to one address, whoever asks.
    let before = sink.count_to("flood@acc.test");
    let mut last = None;
    for _ in 0..6 {
        last = Some(host.post("/api/v1/auth/magic-link", None, json!({ "email": "flood@acc.test" })).await);
    }
    let last = last.unwrap();
    last.expect_error(429, "rate_limited", "the sixth mail to one address in an hour");
    assert!(last.headers.get("retry-after").is_some(), "{last:?}");
    sink.mail("flood@acc.test", "No account with this address").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.count_to("flood@acc.test") - before, 5, "five mails, not six");

    // Bad input: a clear 4xx, before anything is sent.
    host.post("/api/v1/auth/magic-link", None, json!({ "email": "not-an-address" })).await.expect_error(
        422,
        "validation_failed",
        "bad address",
    );
    host.post("/api/v1/auth/verify-email", None, json!({ "token": "x", "extra": 1 })).await.expect_error(
        422,
        "validation_failed",
        "unknown field",
    );
}

/// The refresh token in a cookie, sessions listed and ended, and the outbox for admins.
async fn cookies_sessions_outbox(host: &Host, sink: &SmtpSink) {
    let bo = signup_verified(host, sink, "bo@acc.test").await;
    let cookie_mode = ("x-ocomms-session", "cookie".to_owned());

    // Cookie mode: no refresh token in the body; an HttpOnly cookie scoped to the refresh route.
    let r = post_with(
        host,
        "/api/v1/auth/login",
        &[cookie_mode.clone(), ("user-agent", "Firefox/140".into())],
        json!({
            "email": "bo@acc.test", "password": PASSWORD
        }),
    )
    .await;
    r.expect_status(200, "login in cookie mode");
    assert!(r.body["tokens"].get("refresh_token").is_none(), "the refresh token must not be readable: {r:?}");
    let c = set_cookie(&r, "ocomms_refresh");
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/api/v1/auth/refresh"] {
        assert!(c.contains(attr), "{attr} missing: {c}");
    }
    let web_access = r.str_at("/tokens/access_token");
    let jar = format!("ocomms_refresh={}", cookie_value(&c));
    // The cookie alone (a cross-site form could send it) is not enough: the header is needed.
    let r = host.send(host.request(reqwest::Method::POST, "/api/v1/auth/refresh", None).header("cookie", &jar)).await;
    assert!((400..500).contains(&r.status), "refresh without the cookie-mode header: {r:?}");
    let r = post_with(host, "/api/v1/auth/refresh", &[cookie_mode.clone(), ("cookie", jar.clone())], json!({})).await;
    r.expect_status(200, "refresh from the cookie");
    let rotated = format!("ocomms_refresh={}", cookie_value(&set_cookie(&r, "ocomms_refresh")));
    assert_ne!(rotated, jar, "the cookie rotates");
    post_with(host, "/api/v1/auth/refresh", std::slice::from_ref(&cookie_mode), json!({})).await.expect_error(
        401,
        "unauthenticated",
        "no cookie",
    );

    // Sessions: the sign-up's and the cookie login's, the asking one marked current.
    let r = host.get("/api/v1/auth/sessions", Some(&bo.access)).await;
    r.expect_status(200, "list sessions");
    let sessions = r.body["sessions"].as_array().cloned().unwrap_or_default();
    assert_eq!(sessions.len(), 2, "{r:?}");
    let current: Vec<_> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["method"], "signup");
    let web = sessions.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(web["user_agent"], "Firefox/140");
    assert_eq!(web["method"], "password");

    // Someone else cannot see or end them.
    let cy = signup_verified(host, sink, "cy@acc.test").await;
    let web_id = web["id"].as_str().unwrap();
    host.delete(&format!("/api/v1/auth/sessions/{web_id}"), Some(&cy.access)).await.expect_error(
        404,
        "not_found",
        "another user's session",
    );
    host.get("/api/v1/me", Some(&web_access)).await.expect_status(200, "still live");
    // Its owner can.
    let r = host.delete(&format!("/api/v1/auth/sessions/{web_id}"), Some(&bo.access)).await;
    r.expect_status(204, "end one session");
    host.get("/api/v1/me", Some(&web_access)).await.expect_error(401, "unauthenticated", "the ended session");
    post_with(host, "/api/v1/auth/refresh", &[cookie_mode.clone(), ("cookie", rotated)], json!({})).await.expect_error(
        401,
        "unauthenticated",
        "its cookie is dead too",
    );
    // Sign out everywhere else.
    let other = Session::from_reply(login(host, "bo@acc.test", PASSWORD).await.expect_status(200, "login"));
    let r = host.delete("/api/v1/auth/sessions", Some(&bo.access)).await;
    r.expect_status(200, "end the others");
    assert_eq!(r.body["ended"], 1);
    host.get("/api/v1/me", Some(&other.access)).await.expect_error(401, "unauthenticated", "the other ended");
    host.get("/api/v1/me", Some(&bo.access)).await.expect_status(200, "the current one lives");

    // The outbox: install admins (verified) only.
    host.get("/api/v1/admin/outbox", Some(&bo.access)).await.expect_error(403, "forbidden", "not an admin");
    let root = signup_verified(host, sink, "root@acc.test").await;
    let r = host.get("/api/v1/admin/outbox", Some(&root.access)).await;
    r.expect_status(200, "admin reads the outbox");
    let mails = r.body["mails"].as_array().cloned().unwrap_or_default();
    assert!(mails.iter().any(|m| m["to"] == "bo@acc.test" && m["subject"] == "Confirm your email address"), "{r:?}");
    host.get("/api/v1/admin/outbox?before=x", Some(&root.access)).await.expect_error(
        400,
        "bad_request",
        "a bad cursor",
    );
}

async fn run_mailed_links(host: &Host, sink: &SmtpSink) {
    mailed_links(host, sink).await;
}

mod host {
    use super::*;
    use crate::common::Target;

    #[tokio::test(flavor = "multi_thread")]
    async fn mailed_links() {
        let sink = SmtpSink::start().await;
        let host = Target::Host.start_with(with_mail(&sink)).await;
        run_mailed_links(&host, &sink).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn cookies_sessions_outbox() {
        let sink = SmtpSink::start().await;
        let host = Target::Host.start_with(with_mail(&sink)).await;
        super::cookies_sessions_outbox(&host, &sink).await;
    }

    /// A relay that requires STARTTLS, with a certificate from a private CA the host is told
    /// to trust; without that trust nothing is sent in the clear, and the outbox says why.
    #[tokio::test(flavor = "multi_thread")]
    async fn mail_over_starttls_to_a_relay_with_a_private_ca() {
        let sink = SmtpSink::start_with(true).await;
        let ca = crate::common::workspace_root().join("tests/mail/ca.pem").display().to_string();
        let mut opts = with_mail(&sink);
        opts.host_args = vec!["--smtp-ca".into(), ca];
        let host = Target::Host.start_with(opts).await;
        let mail = {
            signup_verified(&host, &sink, "tls@acc.test").await;
            sink.mail("tls@acc.test", "Confirm your email address").await
        };
        assert_eq!(mail["tls"], true, "{mail}");

        // The same relay without trusting its CA: nothing is sent, and the log says why.
        let untrusting = Target::Host.start_with(with_mail(&sink)).await;
        untrusting
            .post(
                "/api/v1/auth/signup",
                None,
                json!({ "email": "root@acc.test", "password": PASSWORD, "display_name": "Root" }),
            )
            .await
            .expect_status(202, "sign-up");
        let started = Instant::now();
        while !untrusting.log_text().contains("mail not sent") {
            assert!(started.elapsed() < Duration::from_secs(30), "no send failure logged:\n{}", untrusting.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = untrusting.log_text().to_lowercase();
        assert!(log.contains("certificate") || log.contains("unknownissuer"), "{log}");
        assert_eq!(sink.count_to("root@acc.test"), 0);
    }

    /// No mail server: the mail waits on the outbox page, and the log shows the link.
    #[tokio::test(flavor = "multi_thread")]
    async fn without_a_mail_server_links_are_logged() {
        let opts =
            HostOptions { variables: vec![("EMAIL_VERIFICATION", "required".to_owned())], ..HostOptions::default() };
        let host = Target::Host.start_with(opts).await;
        host.post(
            "/api/v1/auth/signup",
            None,
            json!({ "email": "dee@acc.test", "password": PASSWORD, "display_name": "Dee" }),
        )
        .await
        .expect_status(202, "sign-up");
        let started = Instant::now();
        while !host.log_text().contains("/verify-email#token=") {
            assert!(started.elapsed() < Duration::from_secs(20), "no link in the log:\n{}", host.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

mod edge {
    use super::*;
    use crate::common::Target;

    #[tokio::test(flavor = "multi_thread")]
    async fn mailed_links() {
        let sink = SmtpSink::start().await;
        let host = Target::Edge.start_with(with_mail(&sink)).await;
        run_mailed_links(&host, &sink).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn cookies_sessions_outbox() {
        let sink = SmtpSink::start().await;
        let host = Target::Edge.start_with(with_mail(&sink)).await;
        super::cookies_sessions_outbox(&host, &sink).await;
    }
}
