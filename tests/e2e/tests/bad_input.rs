//! Bad input, on the real host and on the edge Worker (`host::*`, `edge::*`): every bad
//! request gets a clear 4xx JSON error (`{"error":{"code","message"}}`) and changes nothing;
//! forged, expired and foreign tokens are refused over HTTP and WebSocket; outsiders cannot
//! touch a channel.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::{Host, Incoming, PASSWORD, Reply, Target, WAIT, Ws, WsAuth};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ocomms_core::event::{ClientFrame, ServerFrame};
use reqwest::Method;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// What a user can observe of a workspace: its event logs, histories and listings.
#[derive(Debug, PartialEq)]
struct Snapshot {
    events: Vec<usize>,
    history: Vec<Value>,
    workspaces: Vec<Value>,
    channels: Vec<Value>,
}

async fn snapshot(host: &Host, token: &str, ws: &str, channels: &[&str]) -> Snapshot {
    let mut events = Vec::new();
    let mut history = Vec::new();
    for ch in channels {
        events.push(host.event_count(token, ch).await);
        history.extend(host.history(token, ch).await);
    }
    Snapshot { events, history, workspaces: host.workspaces(token).await, channels: host.channels(token, ws).await }
}

/// Malformed, mistyped, untyped, oversized, misrouted and misdirected requests.
async fn bad_requests_get_clear_errors_and_change_nothing(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.post_message(&ann.access, &general, "before").await;
    let tok = Some(ann.access.as_str());
    let before = snapshot(host, &ann.access, &ws, &[&general]).await;
    assert_eq!(before.events, [2]);

    let messages = format!("/api/v1/channels/{general}/messages");
    let channels = format!("/api/v1/workspaces/{ws}/channels");
    let raw_post = |path: &str, content_type: Option<&str>, body: Vec<u8>| {
        let mut rb = host.request(Method::POST, path, tok).body(body);
        if let Some(ct) = content_type {
            rb = rb.header("content-type", ct);
        }
        rb
    };
    let json_ct = Some("application/json");

    // Malformed JSON.
    for body in [&b"{\"text\": "[..], b"not json", b"", b"{\"text\":\"a\"} trailing", b"\xff\xfe"] {
        let r = host.send(raw_post(&messages, json_ct, body.to_vec())).await;
        let what = format!("malformed body {:?}", String::from_utf8_lossy(body));
        r.expect_error(400, "invalid_json", &what);
    }
    host.send(raw_post(&channels, json_ct, b"{\"name\": \"x\"".to_vec())).await.expect_error(
        400,
        "invalid_json",
        "truncated channel",
    );

    // Well-formed JSON of the wrong shape.
    for body in [
        json!({ "text": 5 }),
        json!({ "text": ["a"] }),
        json!({ "text": null }),
        json!({}),
        json!([]),
        json!("text"),
        json!({ "text": "ok", "unexpected": true }),
        json!({ "text": "ok", "client_msg_id": 7 }),
    ] {
        host.post(&messages, tok, body.clone()).await.expect_error(422, "validation_failed", &format!("body {body}"));
    }
    host.post(&channels, tok, json!({ "name": "ok", "kind": "galaxy" })).await.expect_error(
        422,
        "validation_failed",
        "unknown channel kind",
    );
    host.post(&channels, tok, json!({ "name": "has space" })).await.expect_error(
        422,
        "validation_failed",
        "bad channel name",
    );
    host.post(&channels, tok, json!({ "name": "dm-1", "kind": "dm" })).await.expect_error(
        422,
        "validation_failed",
        "a dm cannot be created",
    );
    host.post(&messages, tok, json!({ "text": "   " })).await.expect_error(422, "validation_failed", "blank text");
    host.post(&messages, tok, json!({ "text": "bell\u{7}" })).await.expect_error(
        422,
        "validation_failed",
        "control characters",
    );
    host.post(&format!("/api/v1/workspaces/{ws}/invites"), tok, json!({ "role": "owner" })).await.expect_error(
        422,
        "validation_failed",
        "an invite for an owner",
    );
    host.post("/api/v1/auth/signup", None, json!({ "email": "nope", "password": "long enough", "display_name": "x" }))
        .await
        .expect_error(422, "validation_failed", "bad email");
    host.post(
        "/api/v1/auth/signup",
        None,
        json!({ "email": "x@example.com", "password": "short", "display_name": "x" }),
    )
    .await
    .expect_error(422, "validation_failed", "short password");
    host.post(
        "/api/v1/auth/signup",
        None,
        json!({ "email": "ANN@example.com", "password": "long enough", "display_name": "x" }),
    )
    .await
    .expect_error(409, "email_taken", "an email in use, in other case");

    // No or the wrong content type.
    let valid = br#"{"text":"no content type"}"#.to_vec();
    host.send(raw_post(&messages, None, valid.clone())).await.expect_error(
        415,
        "unsupported_media_type",
        "no content type",
    );
    for ct in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
        host.send(raw_post(&messages, Some(ct), valid.clone())).await.expect_error(
            415,
            "unsupported_media_type",
            &format!("content type {ct}"),
        );
    }
    // The parameterised form is fine; proven below by the post that does change things.

    // Oversized: over the host's 1 MiB buffer, over the API's 64 KiB body limit, and a
    // message text over 16 KiB in a small body.
    let huge = format!(r#"{{"text":"{}"}}"#, "a".repeat(1024 * 1024 + 1024)).into_bytes();
    host.send(raw_post(&messages, json_ct, huge)).await.expect_error(413, "payload_too_large", "body over 1 MiB");
    let big = format!(r#"{{"text":"{}"}}"#, "a".repeat(100 * 1024)).into_bytes();
    host.send(raw_post(&messages, json_ct, big)).await.expect_error(413, "payload_too_large", "body over 64 KiB");
    let long_text = "é".repeat(8 * 1024) + "a"; // 16 KiB + 1 byte of UTF-8
    host.post(&messages, tok, json!({ "text": long_text })).await.expect_error(
        413,
        "payload_too_large",
        "text over 16 KiB",
    );

    // Unknown routes and malformed ids.
    for path in [
        "/api/v1/nope".to_string(),
        "/api/v1/".to_string(),
        "/api/v2/workspaces".to_string(),
        "/api/v1/channels/not-a-uuid/messages".to_string(),
        format!("/api/v1/channels/{}/messages", "00000000-0000-4000-8000-000000000000"),
        format!("/api/v1/channels/{general}/messages/extra"),
        "/internal/nope".to_string(),
    ] {
        let r = host.get(&path, tok).await;
        if host.target() == Target::Spin && !path.starts_with("/api/") {
            // Spin routes only `/api/...` to the component; it answers the rest itself.
            r.expect_status(404, &format!("GET {path} outside the component's route"));
        } else {
            r.expect_error(404, "not_found", &format!("GET {path}"));
        }
    }
    // Other paths belong to the web client's router: they get its page, never an API error.
    // The edge Worker serves no web client (docs/edge.md): there they are a JSON 404.
    let page = host.get("/some/client/route", tok).await;
    match host.target() {
        Target::Edge => {
            page.expect_error(404, "not_found", "a client-side route at the edge");
        }
        // docs/spin.md: the web client is the rooms host's (wasm-host), not Spin's.
        Target::Spin => {
            page.expect_status(404, "a client-side route on Spin");
        }
        Target::Host => {
            page.expect_status(200, "a client-side route");
            assert!(page.content_type.as_deref().is_some_and(|c| c.starts_with("text/html")), "{page:?}");
        }
    }
    host.post(
        &format!("/api/v1/channels/{}/messages", "00000000-0000-4000-8000-000000000000"),
        tok,
        json!({"text": "x"}),
    )
    .await
    .expect_error(404, "not_found", "post to a channel that does not exist");
    host.accept_invite(&ann.access, "no-such-code").await.expect_error(410, "gone", "an unknown invite code");

    // Known routes, wrong method: 405 with the methods the path takes (RFC 9110 `Allow`).
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/workspaces".to_string(), "GET, HEAD, POST"),
        (Method::GET, "/api/v1/auth/signup".to_string(), "POST"),
        (Method::PUT, messages.clone(), "GET, HEAD, POST"),
        (Method::PUT, format!("/api/v1/channels/{general}"), "GET, HEAD, PATCH"),
        (Method::DELETE, format!("/api/v1/channels/{general}/messages"), "GET, HEAD, POST"),
        (Method::GET, format!("/api/v1/channels/{general}/join"), "POST"),
    ] {
        let r = host.send(host.request(method.clone(), &path, tok)).await;
        r.expect_error(405, "method_not_allowed", &format!("{method} {path}"));
        let got = r.headers.get("allow").and_then(|v| v.to_str().ok());
        assert_eq!(got, Some(allow), "Allow of {method} {path}");
    }

    // Bad query parameters.
    for q in ["limit=abc", "before=x", "limit=-1"] {
        host.get(&format!("{messages}?{q}"), tok).await.expect_error(400, "bad_request", &format!("history ?{q}"));
    }
    for q in ["limit=0", "limit=201"] {
        host.get(&format!("{messages}?{q}"), tok).await.expect_error(
            422,
            "validation_failed",
            &format!("history ?{q}"),
        );
    }
    host.get(&format!("/api/v1/channels/{general}/events?after=-1"), tok).await.expect_error(
        400,
        "bad_request",
        "negative after",
    );

    // No credentials at all.
    let r = host.post(&messages, None, json!({ "text": "anonymous" })).await;
    r.expect_error(401, "unauthenticated", "no token");
    assert_eq!(r.headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));

    // Nothing changed.
    let after = snapshot(host, &ann.access, &ws, &[&general]).await;
    assert_eq!(after, before, "a rejected request changed state");

    // The limits are limits, not off by one: exactly 16 KiB of text is accepted, with a
    // parameterised JSON content type.
    let max_text = "é".repeat(8 * 1024);
    let r = host
        .send(raw_post(
            &messages,
            Some("application/json; charset=utf-8"),
            serde_json::to_vec(&json!({ "text": max_text })).unwrap(),
        ))
        .await;
    r.expect_status(201, "exactly 16 KiB of text");
    assert_eq!(host.event_count(&ann.access, &general).await, 3);
    // And the API still answers normally (Spin has no /healthz of ours: ask the API).
    host.get("/api/v1/me", Some(&ann.access)).await.expect_status(200, "the API after the bad requests");
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn sign(alg: Algorithm, secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret)).expect("sign a test token")
}

async fn me_status(host: &Host, token: &str) -> Reply {
    host.get("/api/v1/me", Some(token)).await
}

/// Tokens over HTTP and WebSocket: expired, foreign, wrong algorithm, `none`, wrong claims,
/// unknown session; the socket's bad-token close and its recovery from garbage frames.
async fn forged_and_expired_tokens_are_refused(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let (_, general) = host.create_workspace(&ann.access, "Acme").await;
    let secret = host.jwt_secret();
    assert!(secret.len() >= 32, "the generated secret is long enough");

    // The real token verifies with the host's secret: the claims we forge below differ from
    // a valid token in exactly one respect each.
    let mut v = Validation::new(Algorithm::HS256);
    v.validate_exp = false;
    v.required_spec_claims.clear();
    let real = jsonwebtoken::decode::<Value>(&ann.access, &DecodingKey::from_secret(secret.as_bytes()), &v)
        .expect("the host signs access tokens with <data-dir>/jwt-secret, HS256")
        .claims;
    assert_eq!(real["sub"], ann.user_id.as_str());
    let claims = |f: &dyn Fn(&mut Value)| {
        let mut c = json!({
            "sub": real["sub"], "sid": real["sid"], "iat": now_secs() - 10, "exp": now_secs() + 600,
            "iss": "ocomms", "typ": "access",
        });
        f(&mut c);
        c
    };

    // Control: a token we sign the same way is accepted.
    let good = sign(Algorithm::HS256, secret.as_bytes(), &claims(&|_| {}));
    me_status(host, &good).await.expect_status(200, "a well-formed self-signed token");

    let expired = sign(
        Algorithm::HS256,
        secret.as_bytes(),
        &claims(&|c| {
            c["iat"] = json!(now_secs() - 3600);
            c["exp"] = json!(now_secs() - 60);
        }),
    );
    let r = me_status(host, &expired).await;
    r.expect_error(401, "token_expired", "expired token");
    assert_eq!(r.headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));

    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let body = b64.encode(claims(&|_| {}).to_string());
    let alg_none = format!("{}.{body}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#));
    // The right signature over a header that claims `none`: still refused.
    let none_signed = {
        let signed = sign(Algorithm::HS256, secret.as_bytes(), &claims(&|_| {}));
        let sig = signed.rsplit('.').next().unwrap().to_string();
        format!("{}.{body}.{sig}", b64.encode(r#"{"alg":"none","typ":"JWT"}"#))
    };
    let forged: Vec<(&str, String)> = vec![
        ("another secret", sign(Algorithm::HS256, b"another-secret-another-secret-another", &claims(&|_| {}))),
        ("HS512 with the right secret", sign(Algorithm::HS512, secret.as_bytes(), &claims(&|_| {}))),
        ("HS384 with the right secret", sign(Algorithm::HS384, secret.as_bytes(), &claims(&|_| {}))),
        ("alg none, no signature", alg_none),
        ("alg none, valid HS256 signature", none_signed),
        ("wrong issuer", sign(Algorithm::HS256, secret.as_bytes(), &claims(&|c| c["iss"] = json!("evil")))),
        ("refresh typ", sign(Algorithm::HS256, secret.as_bytes(), &claims(&|c| c["typ"] = json!("refresh")))),
        (
            "unknown session",
            sign(
                Algorithm::HS256,
                secret.as_bytes(),
                &claims(&|c| c["sid"] = json!("00000000-0000-4000-8000-000000000001")),
            ),
        ),
        (
            "unknown user",
            sign(
                Algorithm::HS256,
                secret.as_bytes(),
                &claims(&|c| c["sub"] = json!("00000000-0000-4000-8000-000000000002")),
            ),
        ),
        ("garbage", "not.a.jwt".to_string()),
        ("tampered payload", {
            let mut parts: Vec<String> = ann.access.split('.').map(str::to_string).collect();
            parts[1] = b64.encode(claims(&|c| c["exp"] = json!(now_secs() + 999_999)).to_string());
            parts.join(".")
        }),
    ];
    for (what, token) in &forged {
        me_status(host, token).await.expect_error(401, "unauthenticated", what);
        host.post(&format!("/api/v1/channels/{general}/messages"), Some(token), json!({ "text": "forged" }))
            .await
            .expect_error(401, "unauthenticated", what);
    }
    // Other schemes and empty bearer.
    for value in ["Basic YW5uOnB3", "Bearer", "Bearer ", format!("Token {}", ann.access).as_str()] {
        let r = host.send(host.request(Method::GET, "/api/v1/me", None).header("authorization", value)).await;
        r.expect_error(401, "unauthenticated", &format!("Authorization: {value}"));
    }
    assert_eq!(host.event_count(&ann.access, &general).await, 1, "no forged post landed");

    // WebSockets: a bad token in the auth frame or the header closes with 4001.
    for (what, auth, msgpack) in [
        ("expired token, auth frame", WsAuth::Frame(&expired), false),
        ("foreign token, auth frame, MessagePack", WsAuth::Frame(&forged[0].1), true),
        ("garbage token, header", WsAuth::Header("garbage"), false),
        ("HS512 token, header", WsAuth::Header(&forged[1].1), false),
    ] {
        let mut ws = Ws::open(host, msgpack, auth).await;
        let close = ws.expect_close().await;
        assert_eq!(close.as_ref().map(|c| c.0), Some(4001), "{what}: {close:?}");
    }
    // A first frame that is not `auth` also closes with 4001.
    let mut ws = Ws::open(host, false, WsAuth::None).await;
    ws.send_frame(&ClientFrame::Ping { nonce: Some(1) }).await;
    let close = ws.expect_close().await;
    assert_eq!(close.map(|c| c.0), Some(4001));
    let mut ws = Ws::open(host, false, WsAuth::None).await;
    ws.send_raw(Message::text("{garbage")).await;
    let close = ws.expect_close().await;
    assert_eq!(close.map(|c| c.0), Some(4001));
    // An oversized first frame is refused for its size before anything else.
    let mut ws = Ws::open(host, false, WsAuth::None).await;
    ws.send_raw(Message::text(" ".repeat(20 * 1024))).await;
    assert_eq!(ws.expect_close().await, Some((1009, "frame too large".to_string())));

    // An authenticated socket survives garbage: each bad frame gets an error frame, and the
    // socket keeps working.
    let (mut ws, _) = Ws::connect(host, &ann.access, false).await;
    let garbage = [
        Message::text("{not json"),
        Message::text(r#"{"type":"launch_missiles"}"#),
        Message::text(r#"{"type":"typing","channel_id":"not-a-uuid"}"#),
        Message::text(r#"{"no_type":1}"#),
        Message::binary(vec![0xc1, 0x00, 0xff]),
        Message::text(" ".repeat(20 * 1024)),
    ];
    for (i, msg) in garbage.into_iter().enumerate() {
        let oversized = i == 5;
        ws.send_raw(msg).await;
        if oversized {
            // Over the 16 KiB frame limit, a protocol error: the server closes with 1009
            // ("message too big") and says why.
            match ws.recv_within(WAIT).await {
                Incoming::Closed(Some((code, reason))) => {
                    assert_eq!((code, reason.as_str()), (1009, "frame too large"));
                }
                other => panic!("oversized frame answered with {other:?}"),
            }
            let (again, _) = Ws::connect(host, &ann.access, false).await;
            ws = again;
            continue;
        }
        match ws.next_significant().await {
            ServerFrame::Error { code, message } => {
                assert_eq!(code, "bad_frame", "garbage frame {i}");
                assert!(!message.is_empty());
            }
            other => panic!("garbage frame {i} answered with {other:?}"),
        }
        assert!(ws.ping(100 + i as u64).await.is_empty(), "the socket still answers pings");
    }
    ws.send_frame(&ClientFrame::Auth { token: ann.access.clone() }).await;
    match ws.next_significant().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, "already_authenticated"),
        other => panic!("a second auth frame answered with {other:?}"),
    }
    // Typing in a channel the socket is not subscribed to is an error, not a crash.
    ws.send_frame(&ClientFrame::Typing { channel_id: "00000000-0000-4000-8000-000000000003".parse().unwrap() }).await;
    match ws.next_significant().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, "not_subscribed"),
        other => panic!("typing in a foreign channel answered with {other:?}"),
    }
    // And it still delivers events.
    let seq = host.post_message(&ann.access, &general, "still here").await;
    let ev = ws.next_event().await;
    assert_eq!((ev.channel_id.to_string(), ev.seq), (general.clone(), seq));
    ws.close().await;
}

/// Someone from another workspace cannot read, post, join, list or invite; a member cannot
/// see a private channel they are not in, nor post before joining; sockets hear nothing of
/// channels they are not in.
async fn outsiders_cannot_touch_a_channel(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    let secret = host.create_channel(&ann.access, &ws, "secret", "private").await;
    let random = host.create_channel(&ann.access, &ws, "random", "public").await;
    host.post_message(&ann.access, &general, "general news").await;
    host.post_message(&ann.access, &secret, "secret plans").await;
    host.post_message(&ann.access, &random, "random stuff").await;
    let (eve_ws_id, eve_general) = host.create_workspace(&eve.access, "Evil Corp").await;
    let before = snapshot(host, &ann.access, &ws, &[&general, &secret, &random]).await;

    let (mut eve_ws, eve_subs) = Ws::connect(host, &eve.access, false).await;
    assert_eq!(eve_subs.len(), 1);
    assert_eq!(eve_subs[0].channel_id.to_string(), eve_general);
    let (mut bob_ws, bob_subs) = Ws::connect(host, &bob.access, true).await;
    assert_eq!(bob_subs.len(), 1, "Bob is only in #general: {bob_subs:?}");

    let eve_tok = Some(eve.access.as_str());
    for ch in [&general, &secret, &random] {
        for path in [
            format!("/api/v1/channels/{ch}"),
            format!("/api/v1/channels/{ch}/messages"),
            format!("/api/v1/channels/{ch}/events?after=0"),
        ] {
            host.get(&path, eve_tok).await.expect_error(404, "not_found", &format!("outsider GET {path}"));
        }
        host.post(&format!("/api/v1/channels/{ch}/messages"), eve_tok, json!({ "text": "spam" })).await.expect_error(
            404,
            "not_found",
            "outsider post",
        );
        host.post_empty(&format!("/api/v1/channels/{ch}/join"), eve_tok).await.expect_error(
            404,
            "not_found",
            "outsider join",
        );
        host.post_empty(&format!("/api/v1/channels/{ch}/leave"), eve_tok).await.expect_error(
            404,
            "not_found",
            "outsider leave",
        );
    }
    host.get(&format!("/api/v1/workspaces/{ws}/channels"), eve_tok).await.expect_error(
        404,
        "not_found",
        "outsider lists channels",
    );
    host.post(&format!("/api/v1/workspaces/{ws}/channels"), eve_tok, json!({ "name": "eves" })).await.expect_error(
        404,
        "not_found",
        "outsider creates a channel",
    );
    host.post_empty(&format!("/api/v1/workspaces/{ws}/invites"), eve_tok).await.expect_error(
        404,
        "not_found",
        "outsider invites",
    );
    assert!(host.workspaces(&eve.access).await.iter().all(|w| w["id"] == eve_ws_id.as_str()));

    // A member: the private channel is invisible; a public one can be read but not posted to
    // before joining; members cannot invite.
    let bob_tok = Some(bob.access.as_str());
    host.get(&format!("/api/v1/channels/{secret}/messages"), bob_tok).await.expect_error(
        404,
        "not_found",
        "member reads a private channel",
    );
    host.post(&format!("/api/v1/channels/{secret}/messages"), bob_tok, json!({ "text": "let me in" }))
        .await
        .expect_error(404, "not_found", "member posts to a private channel");
    host.post_empty(&format!("/api/v1/channels/{secret}/join"), bob_tok).await.expect_error(
        404,
        "not_found",
        "member joins a private channel",
    );
    assert!(host.channels(&bob.access, &ws).await.iter().all(|c| c["id"] != secret.as_str()), "#secret is listed");
    let preview = host.history(&bob.access, &random).await;
    assert_eq!(preview.len(), 1, "public channels can be previewed");
    host.post(&format!("/api/v1/channels/{random}/messages"), bob_tok, json!({ "text": "drive-by" }))
        .await
        .expect_error(403, "forbidden", "posting before joining");
    host.post_empty(&format!("/api/v1/workspaces/{ws}/invites"), bob_tok).await.expect_error(
        403,
        "forbidden",
        "a member invites",
    );

    // Live: Ann posts everywhere; Bob hears only #general, Eve nothing.
    host.post_message(&ann.access, &secret, "more secrets").await;
    host.post_message(&ann.access, &random, "more random").await;
    let seq = host.post_message(&ann.access, &general, "for everyone").await;
    let ev = bob_ws.next_event().await;
    assert_eq!((ev.channel_id.to_string(), ev.seq), (general.clone(), seq), "Bob's first event is #general's");
    eve_ws.expect_no_event(Duration::from_millis(1500)).await;
    bob_ws.expect_no_event(Duration::from_millis(300)).await;

    // Eve's rejected attempts changed nothing (Ann's three later posts aside).
    let after = snapshot(host, &ann.access, &ws, &[&general, &secret, &random]).await;
    assert_eq!(after.events, before.events.iter().map(|n| n + 1).collect::<Vec<_>>());
    assert_eq!(after.workspaces, before.workspaces);
    let texts: Vec<&str> = after.history.iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(!texts.iter().any(|t| ["spam", "let me in", "drive-by"].contains(t)), "{texts:?}");
    eve_ws.close().await;
    bob_ws.close().await;
}

/// Names and labels read as they are: direction overrides and zero-width spaces are refused
/// (`ann\u{202e}gnp.exe` would show as `annexe.png`), and text is stored composed (NFC).
async fn names_cannot_hide_what_they_say(host: &Host) {
    let r = host
        .post(
            "/api/v1/auth/signup",
            None,
            json!({ "email": "spoof@example.com", "password": PASSWORD, "display_name": "ann\u{202e}gnp.exe" }),
        )
        .await;
    r.expect_error(422, "validation_failed", "a display name with a right-to-left override");
    assert!(r.text.contains("invisible"), "{}", r.text);
    let ann = host.signup("ann@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    let patch =
        |path: String, body: Value| host.send(host.request(Method::PATCH, &path, Some(&ann.access)).json(&body));
    for (path, body, what) in [
        ("/api/v1/me".to_owned(), json!({ "display_name": "admin\u{200b}" }), "a zero-width space in a name"),
        ("/api/v1/me".to_owned(), json!({ "status_text": "\u{2067}away" }), "an isolate in a status"),
        (format!("/api/v1/workspaces/{ws}"), json!({ "name": "Ac\u{2060}me" }), "a word joiner in a workspace name"),
        (format!("/api/v1/channels/{general}"), json!({ "topic": "read \u{202d}this" }), "an override in a topic"),
        (format!("/api/v1/channels/{general}"), json!({ "purpose": "\u{feff}x" }), "a BOM in a purpose"),
    ] {
        patch(path, body).await.expect_error(422, "validation_failed", what);
    }
    let r = patch("/api/v1/me".to_owned(), json!({ "display_name": "Ame\u{301}lie" })).await;
    r.expect_status(200, "a decomposed name");
    assert_eq!(r.body["user"]["display_name"], "Am\u{e9}lie", "stored composed: {}", r.text);
    let r = patch(
        format!("/api/v1/channels/{general}"),
        json!({ "topic": "\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{645}" }),
    )
    .await;
    r.expect_status(200, "a Persian topic with a zero-width non-joiner");
}

crate::common::both_targets!(
    bad_requests_get_clear_errors_and_change_nothing,
    forged_and_expired_tokens_are_refused,
    outsiders_cannot_touch_a_channel,
    names_cannot_hide_what_they_say,
);
