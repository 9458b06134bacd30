//! Sessions against the real host: refresh-token rotation, reuse detection (which ends the
//! whole session), logout, and what each does to access tokens and sockets.

use crate::common::{Host, HostOptions, PASSWORD, Reply, Session, Target, Ws, WsAuth};
use reqwest::Method;
use serde_json::json;

async fn refresh(host: &Host, token: &str) -> Reply {
    host.post("/api/v1/auth/refresh", None, json!({ "refresh_token": token })).await
}

fn tokens_of(r: &Reply, user_id: &str) -> Session {
    r.expect_status(200, "refresh");
    assert_eq!(r.body["tokens"]["token_type"], "Bearer");
    assert!(r.body["tokens"]["expires_in"].as_i64().is_some_and(|s| s > 0), "{r:?}");
    Session {
        user_id: user_id.to_string(),
        access: r.str_at("/tokens/access_token"),
        refresh: r.str_at("/tokens/refresh_token"),
    }
}

async fn assert_session_ended(host: &Host, s: &Session, what: &str) {
    host.get("/api/v1/me", Some(&s.access)).await.expect_error(401, "unauthenticated", what);
    let mut ws = Ws::open(host, false, WsAuth::Frame(&s.access)).await;
    let close = ws.expect_close().await;
    assert_eq!(close.map(|c| c.0), Some(4001), "{what}: the socket is refused");
}

/// Scenario 6 and refresh-token reuse. This host uses a database from the shared test
/// cluster (`--database-url`) instead of its managed one, covering that start-up path.
#[tokio::test(flavor = "multi_thread")]
async fn refresh_rotates_tokens_and_reuse_ends_the_session() {
    let db = ocomms_testsupport::fresh_db().await.expect("a test database");
    let host =
        Target::Host.start_with(HostOptions { database_url: Some(db.url.clone()), ..HostOptions::default() }).await;
    assert!(!host.data_dir.join("pg").exists(), "no managed PostgreSQL with --database-url");

    let s1 = host.signup("ann@example.com").await;
    let other = host.login("ann@example.com").await;
    let (ws_id, general) = host.create_workspace(&s1.access, "Acme").await;

    // Rotation: each refresh returns a new pair; the new access token works.
    let s2 = tokens_of(&refresh(&host, &s1.refresh).await, &s1.user_id);
    assert_ne!(s2.refresh, s1.refresh, "the refresh token rotates");
    let me = host.get("/api/v1/me", Some(&s2.access)).await;
    me.expect_status(200, "me with the refreshed token");
    assert_eq!(me.str_at("/user/id"), s1.user_id);
    assert_eq!(me.str_at("/user/email"), "ann@example.com");
    let s3 = tokens_of(&refresh(&host, &s2.refresh).await, &s1.user_id);
    assert_ne!(s3.refresh, s2.refresh);
    assert_ne!(s3.refresh, s1.refresh);
    host.post_message(&s3.access, &general, "posted with a refreshed token").await;
    let (ws, subs) = Ws::connect(&host, &s3.access, false).await;
    assert_eq!(subs.len(), 1);
    ws.close().await;

    // Reuse of an already-rotated token: refused as reuse, and the session is over.
    refresh(&host, &s1.refresh).await.expect_error(401, "token_reused", "second use of the first refresh token");
    // The newest token of the family, never used, no longer works either...
    refresh(&host, &s3.refresh).await.expect_error(401, "unauthenticated", "the rotated token after reuse");
    // ...nor does any access token of the session.
    for (what, s) in [("first", &s1), ("second", &s2), ("third", &s3)] {
        assert_session_ended(&host, s, &format!("{what} access token after reuse")).await;
    }
    // Repeating the reuse still says so.
    refresh(&host, &s2.refresh).await.expect_error(401, "token_reused", "reuse of the second refresh token");

    // Another session of the same user is untouched.
    host.get("/api/v1/me", Some(&other.access)).await.expect_status(200, "the other session");
    assert_eq!(host.workspaces(&other.access).await.len(), 1);
    let other2 = tokens_of(&refresh(&host, &other.refresh).await, &other.user_id);
    host.get(&format!("/api/v1/workspaces/{ws_id}/channels"), Some(&other2.access))
        .await
        .expect_status(200, "the other session refreshed");

    // Two refreshes racing with one token: exactly one wins; the loser counts as reuse, which
    // ends the session, winner's new tokens included.
    let racer = host.login("ann@example.com").await;
    let (a, b) = tokio::join!(refresh(&host, &racer.refresh), refresh(&host, &racer.refresh));
    let (winner, loser) = match (a.status, b.status) {
        (200, _) => (a, b),
        (_, 200) => (b, a),
        _ => panic!("neither concurrent refresh succeeded: {a:?} / {b:?}"),
    };
    loser.expect_error(401, "token_reused", "the losing concurrent refresh");
    let won = tokens_of(&winner, &racer.user_id);
    assert_session_ended(&host, &won, "the racing session").await;

    // Garbage and malformed refresh requests.
    refresh(&host, "not-a-token").await.expect_error(401, "unauthenticated", "an unknown refresh token");
    refresh(&host, "").await.expect_error(401, "unauthenticated", "an empty refresh token");
    host.post("/api/v1/auth/refresh", None, json!({})).await.expect_error(
        422,
        "validation_failed",
        "no refresh_token field",
    );
    host.send(host.request(Method::POST, "/api/v1/auth/refresh", None).body(other2.refresh.clone()))
        .await
        .expect_error(415, "unsupported_media_type", "a bare token body");
    // None of which touched the live session.
    host.get("/api/v1/me", Some(&other2.access)).await.expect_status(200, "the live session");

    // Logging in again starts a fresh session; wrong credentials are refused alike.
    let fresh = host.login("ann@example.com").await;
    host.get("/api/v1/me", Some(&fresh.access)).await.expect_status(200, "a fresh login");
    for (email, password) in [("ann@example.com", "wrong password"), ("nobody@example.com", PASSWORD)] {
        host.post("/api/v1/auth/login", None, json!({ "email": email, "password": password })).await.expect_error(
            401,
            "invalid_credentials",
            &format!("login {email}"),
        );
    }
}

/// Logout ends exactly one session, by access token or by refresh token.
#[tokio::test(flavor = "multi_thread")]
async fn logout_ends_the_session() {
    let host = Target::Host.start().await;
    let s1 = host.signup("ann@example.com").await;
    let s2 = host.login("ann@example.com").await;
    let s3 = host.login("ann@example.com").await;
    let (_, general) = host.create_workspace(&s1.access, "Acme").await;
    let (ws, _) = Ws::connect(&host, &s1.access, false).await;
    ws.close().await;

    // Logout with the access token.
    let r = host.post_empty("/api/v1/auth/logout", Some(&s1.access)).await;
    r.expect_status(204, "logout");
    assert!(r.text.is_empty());
    assert_session_ended(&host, &s1, "access token after logout").await;
    host.post(&format!("/api/v1/channels/{general}/messages"), Some(&s1.access), json!({ "text": "ghost" }))
        .await
        .expect_error(401, "unauthenticated", "posting after logout");
    refresh(&host, &s1.refresh).await.expect_error(401, "unauthenticated", "refresh after logout");
    host.post_empty("/api/v1/auth/logout", Some(&s1.access)).await.expect_error(401, "unauthenticated", "logout twice");

    // The other sessions are untouched.
    host.get("/api/v1/me", Some(&s2.access)).await.expect_status(200, "second session");
    host.post_message(&s2.access, &general, "still logged in").await;

    // Logout with only a refresh token (an expired access token cannot name its session).
    host.post("/api/v1/auth/logout", None, json!({ "refresh_token": s2.refresh }))
        .await
        .expect_status(204, "logout by refresh token");
    assert_session_ended(&host, &s2, "access token after logout by refresh token").await;
    host.post("/api/v1/auth/logout", None, json!({ "refresh_token": "unknown" })).await.expect_error(
        401,
        "unauthenticated",
        "logout with an unknown refresh token",
    );

    // The third session still works, and nothing the ended sessions tried landed.
    let history = host.history(&s3.access, &general).await;
    let texts: Vec<&str> = history.iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["still logged in"]);
}
