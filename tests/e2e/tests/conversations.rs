//! Conversations on the real host: mentions, threads, reactions (with their cap), pins, read
//! state with unread and mention counts, presence and the replay of all of it after a
//! reconnect.

use std::time::Duration;

use crate::common::{Host, HostOptions, Incoming, Reply, Session, Ws, assert_contiguous};
use ocomms_core::event::{ClientFrame, Presence, ServerFrame, kind};
use serde_json::{Value, json};

async fn post(host: &Host, who: &Session, channel: &str, body: Value) -> Reply {
    host.post(&format!("/api/v1/channels/{channel}/messages"), Some(&who.access), body).await
}

async fn react(host: &Host, who: &Session, message: &str, emoji: &str) -> Reply {
    host.post(&format!("/api/v1/messages/{message}/reactions"), Some(&who.access), json!({ "emoji": emoji })).await
}

async fn unreact(host: &Host, who: &Session, message: &str, emoji_path: &str) -> Reply {
    let path = format!("/api/v1/messages/{message}/reactions/{emoji_path}");
    host.send(host.request(reqwest::Method::DELETE, &path, Some(&who.access))).await
}

async fn unreads(host: &Host, who: &Session, ws: &str, channel: &str) -> (i64, i64, i64) {
    let r = host.get(&format!("/api/v1/workspaces/{ws}/unreads"), Some(&who.access)).await;
    r.expect_status(200, "unreads");
    let list = r.body["channels"].as_array().cloned().unwrap_or_default();
    let c = list
        .iter()
        .find(|c| c["channel_id"] == json!(channel))
        .unwrap_or_else(|| panic!("channel {channel} missing from unreads: {r:?}"));
    (
        c["unread_count"].as_i64().unwrap_or(-1),
        c["mention_count"].as_i64().unwrap_or(-1),
        c["last_read_seq"].as_i64().unwrap_or(-1),
    )
}

/// Ann owns a workspace with Bob in it; Eve is in another workspace.
async fn acme(host: &Host) -> (Session, Session, Session, String, String) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    host.create_workspace(&eve.access, "Elsewhere").await;
    (ann, bob, eve, ws, general)
}

async fn mentions_are_parsed_and_counted_as_unreads(host: &Host) {
    let (ann, bob, eve, ws, general) = acme(host).await;
    let base = unreads(host, &bob, &ws, &general).await;
    assert_eq!((base.0, base.1), (0, 0), "nothing unread after joining");

    let text = format!("hi <@{}> and <@{}> (not here), `@here in code`, see @channel-ops", bob.user_id, eve.user_id);
    let r = post(host, &ann, &general, json!({ "text": text })).await;
    r.expect_status(201, "post with mentions");
    let m = &r.body["message"];
    assert_eq!(m["text"], json!(text), "markdown source is stored as written");
    assert_eq!(m["mentions"], json!([bob.user_id]), "only workspace members are mentioned: {m}");
    assert_eq!((m["mentions_channel"].clone(), m["mentions_here"].clone()), (json!(false), json!(false)));

    let r = post(host, &ann, &general, json!({ "text": "@here standup" })).await;
    assert_eq!(r.body["message"]["mentions_here"], json!(true));
    post(host, &ann, &general, json!({ "text": "no mention" })).await.expect_status(201, "plain");
    let last = post(host, &bob, &general, json!({ "text": "my own message is never unread" })).await;
    let last_seq = last.body["message"]["seq"].as_i64().unwrap_or_default();
    let (unread, mentioned, _) = unreads(host, &bob, &ws, &general).await;
    assert_eq!((unread, mentioned), (3, 2), "three from Ann, two of which mention Bob");
    let (unread, mentioned, _) = unreads(host, &ann, &ws, &general).await;
    assert_eq!((unread, mentioned), (1, 0), "Ann sees Bob's one message");

    // Marking read: moves forward only, never past the end, and reaches Bob's other socket.
    let (mut bob_phone, _) = Ws::connect(host, &bob.access, true).await;
    let read_path = format!("/api/v1/channels/{general}/read");
    let mark = |seq: i64| host.post(&read_path, Some(&bob.access), json!({ "seq": seq }));
    let r = mark(last_seq - 2).await;
    r.expect_status(200, "mark read");
    assert_eq!(r.body["last_read_seq"], json!(last_seq - 2));
    assert_eq!(unreads(host, &bob, &ws, &general).await, (1, 0, last_seq - 2));
    loop {
        match bob_phone.next_significant().await {
            ServerFrame::ReadMarker { channel_id, last_read_seq } => {
                assert_eq!((channel_id.to_string(), last_read_seq), (general.clone(), last_seq - 2));
                break;
            }
            ServerFrame::Event { .. } => {}
            other => panic!("expected a read marker, got {other:?}"),
        }
    }
    mark(1).await.expect_status(200, "older marks are ignored");
    assert_eq!(unreads(host, &bob, &ws, &general).await.2, last_seq - 2, "the marker never moves back");
    let r = mark(1_000_000).await;
    assert_eq!(r.body["last_read_seq"], json!(last_seq), "clamped to the channel's last seq");
    assert_eq!(unreads(host, &bob, &ws, &general).await, (0, 0, last_seq));
    mark(-1).await.expect_error(422, "validation_failed", "negative seq");
    host.post(&format!("/api/v1/channels/{general}/read"), Some(&eve.access), json!({ "seq": 1 })).await.expect_error(
        404,
        "not_found",
        "an outsider marking read",
    );
    host.get(&format!("/api/v1/workspaces/{ws}/unreads"), Some(&eve.access)).await.expect_error(
        404,
        "not_found",
        "an outsider's unreads",
    );
}

async fn threads_replies_counts_following_and_also_send_to_channel(host: &Host) {
    let (ann, bob, eve, ws, general) = acme(host).await;
    let (mut ann_ws, _) = Ws::connect(host, &ann.access, false).await;
    let root = post(host, &ann, &general, json!({ "text": "root" })).await;
    let root_id = root.str_at("/message/id");
    ann_ws.next_event().await;

    let r = post(host, &bob, &general, json!({ "text": "reply 1", "thread_root_id": root_id })).await;
    r.expect_status(201, "reply");
    let reply1 = r.str_at("/message/id");
    assert_eq!(r.body["message"]["thread_root_id"], json!(root_id));
    assert_eq!(r.body["message"]["root"]["reply_count"], json!(1));
    let ev = ann_ws.next_event().await;
    assert_eq!(ev.kind, kind::MESSAGE_POSTED);
    assert_eq!((ev.data["thread_root_id"].clone(), ev.data["root"]["reply_count"].clone()), (json!(root_id), json!(1)));
    assert!(ev.data["root"]["last_reply_at_ms"].is_i64());

    let r =
        post(host, &ann, &general, json!({ "text": "reply 2", "thread_root_id": root_id, "also_to_channel": true }))
            .await;
    r.expect_status(201, "reply also sent to the channel");
    assert_eq!(r.body["message"]["root"]["reply_count"], json!(2));

    // Bad replies change nothing.
    let before = host.event_count(&ann.access, &general).await;
    post(host, &ann, &general, json!({ "text": "nested", "thread_root_id": reply1 })).await.expect_error(
        422,
        "validation_failed",
        "a reply to a reply",
    );
    post(host, &ann, &general, json!({ "text": "x", "also_to_channel": true })).await.expect_error(
        422,
        "validation_failed",
        "also_to_channel without a thread",
    );
    post(host, &ann, &general, json!({ "text": "x", "thread_root_id": "00000000-0000-4000-8000-000000000000" }))
        .await
        .expect_error(404, "not_found", "an unknown root");
    post(host, &ann, &general, json!({ "text": "x", "thread_root_id": "nope" })).await.expect_error(
        422,
        "validation_failed",
        "a malformed root id",
    );
    assert_eq!(host.event_count(&ann.access, &general).await, before, "refused replies stored nothing");

    // The channel shows the root (with counts) and the also-sent reply, not the plain reply.
    let history = host.history(&bob.access, &general).await;
    let texts: Vec<&str> = history.iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["root", "reply 2"], "{history:?}");
    assert_eq!(history[0]["reply_count"], json!(2));

    let thread = host.get(&format!("/api/v1/messages/{root_id}/thread"), Some(&bob.access)).await;
    thread.expect_status(200, "thread");
    assert_eq!(thread.body["root"]["id"], json!(root_id));
    let replies: Vec<&str> =
        thread.body["replies"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(replies, ["reply 1", "reply 2"]);
    assert_eq!(thread.body["following"], json!(true), "repliers follow the thread");
    host.get(&format!("/api/v1/messages/{root_id}/thread"), Some(&eve.access)).await.expect_error(
        404,
        "not_found",
        "an outsider reading a thread",
    );
    host.get(&format!("/api/v1/messages/{reply1}/thread"), Some(&bob.access)).await.expect_error(
        422,
        "validation_failed",
        "a reply has no thread of its own",
    );

    // Following: Ann (the root's author) follows automatically; unfollowing sticks. Replies
    // in a followed thread count as mentions, so following is what notifies.
    let follow = |who: &Session, method: reqwest::Method| {
        host.send(host.request(method, &format!("/api/v1/messages/{root_id}/follow"), Some(&who.access)))
    };
    let ann_mentions = || async { unreads(host, &ann, &ws, &general).await.1 };
    assert_eq!(ann_mentions().await, 1, "Bob's reply in the thread Ann follows counts for her");
    follow(&ann, reqwest::Method::DELETE).await.expect_status(200, "unfollow");
    assert_eq!(ann_mentions().await, 0, "an unfollowed thread's replies do not count");
    post(host, &bob, &general, json!({ "text": "reply 3", "thread_root_id": root_id })).await.expect_status(201, "r3");
    let t = host.get(&format!("/api/v1/messages/{root_id}/thread"), Some(&ann.access)).await;
    assert_eq!(t.body["following"], json!(false), "a later reply does not re-follow");
    assert_eq!(ann_mentions().await, 0);
    follow(&ann, reqwest::Method::PUT).await.expect_status(200, "follow again");
    let t = host.get(&format!("/api/v1/messages/{root_id}/thread"), Some(&ann.access)).await;
    assert_eq!(t.body["following"], json!(true));
    assert_eq!(ann_mentions().await, 2, "following again counts the unread replies 1 and 3");
    follow(&eve, reqwest::Method::PUT).await.expect_error(404, "not_found", "an outsider following");

    // Deleting a reply lowers the root's count; deleting the root leaves a tombstone that
    // keeps the thread reachable.
    let del = |id: &str, who: &Session| {
        host.send(host.request(reqwest::Method::DELETE, &format!("/api/v1/messages/{id}"), Some(&who.access)))
    };
    del(&reply1, &bob).await.expect_status(204, "delete a reply");
    let history = host.history(&bob.access, &general).await;
    assert_eq!(history[0]["reply_count"], json!(2));
    del(&root_id, &ann).await.expect_status(204, "delete the root");
    let history = host.history(&bob.access, &general).await;
    assert_eq!(history[0]["id"], json!(root_id));
    assert_eq!((history[0]["deleted"].clone(), history[0]["text"].clone()), (json!(true), json!("")));
    let t = host.get(&format!("/api/v1/messages/{root_id}/thread"), Some(&bob.access)).await;
    t.expect_status(200, "a deleted root's thread");
    assert_eq!(t.body["replies"].as_array().map(Vec::len), Some(2));
}

async fn reactions_pins_and_their_replay_after_a_reconnect(host: &Host) {
    let (ann, bob, eve, _ws, general) = acme(host).await;
    let (mut bob_ws, subs) = Ws::connect(host, &bob.access, false).await;
    let start_seq = subs.iter().find(|s| s.channel_id.to_string() == general).map(|s| s.last_seq).unwrap_or(0);
    let msg = post(host, &ann, &general, json!({ "text": "ship it?" })).await.str_at("/message/id");

    react(host, &bob, &msg, ":ThumbsUp:").await.expect_status(201, "shortcode");
    react(host, &ann, &msg, ":thumbsup:").await.expect_status(201, "same emoji, other person");
    react(host, &ann, &msg, "🎉").await.expect_status(201, "unicode");
    let again = react(host, &ann, &msg, "🎉").await;
    again.expect_status(200, "reacting twice is idempotent");

    let before = host.event_count(&ann.access, &general).await;
    for bad in ["", "thumbsup", ":bad name:", "<b>x</b>", "👍 x", ":a:b:"] {
        react(host, &ann, &msg, bad).await.expect_error(422, "validation_failed", &format!("emoji {bad:?}"));
    }
    react(host, &eve, &msg, ":x:").await.expect_error(404, "not_found", "an outsider reacting");
    unreact(host, &ann, &msg, "%3Asmile%3A").await.expect_error(404, "not_found", "removing a reaction never left");
    assert_eq!(host.event_count(&ann.access, &general).await, before, "refused reactions stored nothing");

    let history = host.history(&bob.access, &general).await;
    let reactions = &history.last().unwrap()["reactions"];
    assert_eq!(
        reactions,
        &json!([
            { "emoji": ":thumbsup:", "count": 2, "user_ids": [bob.user_id, ann.user_id] },
            { "emoji": "🎉", "count": 1, "user_ids": [ann.user_id] },
        ])
    );
    unreact(host, &bob, &msg, "%3Athumbsup%3A").await.expect_status(204, "remove a reaction");
    unreact(host, &ann, &msg, "%F0%9F%8E%89").await.expect_status(204, "remove a unicode reaction");

    // Pins.
    let pin_path = format!("/api/v1/messages/{msg}/pin");
    host.post_empty(&pin_path, Some(&bob.access)).await.expect_status(201, "pin");
    host.post_empty(&pin_path, Some(&bob.access)).await.expect_error(409, "conflict", "pin twice");
    host.post_empty(&pin_path, Some(&eve.access)).await.expect_error(404, "not_found", "an outsider pinning");
    let pins = host.get(&format!("/api/v1/channels/{general}/pins"), Some(&ann.access)).await;
    assert_eq!(pins.body["pins"][0]["id"], json!(msg));
    assert_eq!(pins.body["pins"][0]["pinned_by"], json!(bob.user_id));
    host.get(&format!("/api/v1/channels/{general}/pins"), Some(&eve.access)).await.expect_error(
        404,
        "not_found",
        "an outsider listing pins",
    );
    host.send(host.request(reqwest::Method::DELETE, &pin_path, Some(&ann.access))).await.expect_status(204, "unpin");

    // Edits, deletes, reactions and pins are events; a client that was away replays them in
    // order from its last seq.
    let live: Vec<_> = {
        let mut v = Vec::new();
        for _ in 0..8 {
            v.push(bob_ws.next_event().await);
        }
        v
    };
    let kinds: Vec<&str> = live.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            kind::MESSAGE_POSTED,
            kind::REACTION_ADDED,
            kind::REACTION_ADDED,
            kind::REACTION_ADDED,
            kind::REACTION_REMOVED,
            kind::REACTION_REMOVED,
            kind::MESSAGE_PINNED,
            kind::MESSAGE_UNPINNED
        ]
    );
    bob_ws.close().await;
    let edit = host.request(reqwest::Method::PATCH, &format!("/api/v1/messages/{msg}"), Some(&ann.access));
    host.send(edit.json(&json!({ "text": "shipped" }))).await.expect_status(200, "edit while Bob is away");
    react(host, &ann, &msg, ":rocket:").await.expect_status(201, "react while Bob is away");
    host.send(host.request(reqwest::Method::DELETE, &format!("/api/v1/messages/{msg}"), Some(&ann.access)))
        .await
        .expect_status(204, "delete while Bob is away");
    react(host, &ann, &msg, ":x:").await.expect_error(404, "not_found", "reacting to a deleted message");

    let replay = host.all_events_after(&bob.access, &general, start_seq, 3).await;
    let seqs: Vec<i64> = replay.iter().map(|e| e.seq).collect();
    assert_contiguous(&seqs, start_seq + 1, start_seq + 11, "replay after reconnect");
    let tail: Vec<&str> = replay[8..].iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(tail, [kind::MESSAGE_EDITED, kind::REACTION_ADDED, kind::MESSAGE_DELETED]);
    assert!(!serde_json::to_string(&replay).unwrap().contains("shipped"), "deleted text is gone from the log");
}

async fn a_reaction_flood_stops_at_the_caps_even_when_concurrent(host: &Host) {
    let (ann, bob, _eve, ws, general) = acme(host).await;
    let cat = host.signup("cat@example.com").await;
    host.add_to_workspace(&ann, &cat, &ws).await;
    let msg = post(host, &ann, &general, json!({ "text": "react to me" })).await.str_at("/message/id");
    // Three people send twenty distinct emoji each, all at once: the message keeps exactly
    // fifty kinds; the rest are refused with 429.
    let mut tasks = Vec::new();
    for (n, who) in [&ann, &bob, &cat].into_iter().enumerate() {
        for i in 0..20 {
            let url = host.url(&format!("/api/v1/messages/{msg}/reactions"));
            let (http, token) = (host.http().clone(), who.access.clone());
            tasks.push(tokio::spawn(async move {
                let body = json!({ "emoji": format!(":e{n}_{i}:") });
                let r = http.post(url).bearer_auth(token).json(&body).send().await;
                r.map(|r| r.status().as_u16()).unwrap_or(0)
            }));
        }
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let created = statuses.iter().filter(|s| **s == 201).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((created, limited), (50, 10), "{statuses:?}");
    let history = host.history(&ann.access, &general).await;
    assert_eq!(history.last().unwrap()["reactions"].as_array().map(Vec::len), Some(50));
    // Dan has reacted to nothing yet, so only the kind cap applies to him.
    let dan = host.signup("dan@example.com").await;
    host.add_to_workspace(&ann, &dan, &ws).await;
    let existing = history.last().unwrap()["reactions"][0]["emoji"].as_str().unwrap().to_string();
    react(host, &dan, &msg, &existing).await.expect_status(201, "an existing kind can still gain people");
    react(host, &dan, &msg, ":brand_new:").await.expect_error(429, "rate_limited", "a 51st kind");

    // One person's cap on another message, sequentially: twenty, then refused.
    let other = post(host, &ann, &general, json!({ "text": "again" })).await.str_at("/message/id");
    for i in 0..20 {
        react(host, &bob, &other, &format!(":b{i}:")).await.expect_status(201, "under the personal cap");
    }
    let before = host.event_count(&ann.access, &general).await;
    react(host, &bob, &other, ":b20:").await.expect_error(429, "rate_limited", "a 21st reaction by one person");
    assert_eq!(host.event_count(&ann.access, &general).await, before);
}

/// Both targets with a one-second idle limit.
fn idle_after_one_second() -> HostOptions {
    HostOptions { away_after_secs: Some(1), ..HostOptions::default() }
}

/// Runs with a one-second idle limit ([`idle_after_one_second`]).
async fn presence_goes_away_when_idle_and_offline_when_the_last_socket_closes(host: &Host) {
    let (ann, bob, _eve, _ws, general) = acme(host).await;
    let (mut bob_ws, _) = Ws::connect(host, &bob.access, false).await;
    let (mut ann_ws, _) = Ws::connect(host, &ann.access, false).await;

    // Bob hears Ann come online, then (both idle for a second) away; Ann's snapshot on
    // connecting already listed Bob.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match bob_ws.recv_within(Duration::from_secs(10)).await {
            Incoming::Frame(ServerFrame::Presence { user_id, status }) if user_id.to_string() == ann.user_id => {
                seen.push(status)
            }
            Incoming::Frame(_) => {}
            Incoming::Closed(c) => panic!("closed: {c:?}"),
        }
    }
    assert_eq!(seen, [Presence::Online, Presence::Away]);

    // Typing is activity: Ann is back, and Bob sees her typing.
    ann_ws.send_frame(&ClientFrame::Typing { channel_id: general.parse().unwrap() }).await;
    let mut got_online = false;
    let mut got_typing = false;
    while !(got_online && got_typing) {
        match bob_ws.next_frame().await {
            ServerFrame::Presence { user_id, status: Presence::Online } if user_id.to_string() == ann.user_id => {
                got_online = true
            }
            ServerFrame::Typing { user_id, .. } if user_id.to_string() == ann.user_id => got_typing = true,
            _ => {}
        }
    }
    // Offline is not something a client sets.
    ann_ws.send_frame(&ClientFrame::SetPresence { status: Presence::Offline }).await;
    loop {
        if let ServerFrame::Error { code, .. } = ann_ws.next_frame().await {
            assert_eq!(code, "bad_presence");
            break;
        }
    }
    ann_ws.close().await;
    loop {
        if let ServerFrame::Presence { user_id, status } = bob_ws.next_frame().await
            && user_id.to_string() == ann.user_id
            && status == Presence::Offline
        {
            break;
        }
    }
}

crate::common::both_targets!(
    mentions_are_parsed_and_counted_as_unreads,
    threads_replies_counts_following_and_also_send_to_channel,
    reactions_pins_and_their_replay_after_a_reconnect,
    a_reaction_flood_stops_at_the_caps_even_when_concurrent,
    presence_goes_away_when_idle_and_offline_when_the_last_socket_closes with idle_after_one_second,
);

// The same, behind a transaction pooler.
crate::common::through_pgbouncer!(
    mentions_are_parsed_and_counted_as_unreads,
    threads_replies_counts_following_and_also_send_to_channel,
    reactions_pins_and_their_replay_after_a_reconnect,
);
