//! Live delivery over WebSockets: two users in one channel, reconnect-and-backfill without
//! gaps or duplicates, and the JSON and MessagePack encodings side by side.
//!
//! Part of the shared scenario suite: every scenario runs against the real host (with its
//! managed PostgreSQL) as `host::<name>` and against the edge Worker under `wrangler dev` as
//! `edge::<name>`.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::{Host, Ws, WsAuth, assert_contiguous};
use ocomms_core::event::{ChannelEvent, ClientFrame, MSGPACK_SUBPROTOCOL, ServerFrame, Subscription, kind};
use ocomms_core::ids::ChannelId;

fn last_seq_of(subs: &[Subscription], channel: &str) -> i64 {
    subs.iter()
        .find(|s| s.channel_id.to_string() == channel)
        .unwrap_or_else(|| panic!("the hello does not list channel {channel}: {subs:?}"))
        .last_seq
}

/// Scenario 1: two users share a workspace and a channel; one posts, the other's socket gets
/// the `message.posted` event with the committed seq. One socket authenticates with an
/// `Authorization` header on the upgrade, the other with an `auth` frame.
async fn two_users_in_a_channel_see_each_others_messages_live(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;

    let (ws_id, general) = host.create_workspace(&ann.access, "Acme").await;
    let code = host.create_invite(&ann.access, &ws_id).await;
    let accepted = host.accept_invite(&bob.access, &code).await;
    accepted.expect_status(200, "accept invite");
    assert_eq!(accepted.str_at("/workspace/role"), "member");

    // Accepting joined Bob to #general: its log is Ann's join then Bob's.
    let log = host.all_events_after(&bob.access, &general, 0, 50).await;
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    assert!(log.iter().all(|e| e.kind == kind::MEMBER_JOINED));
    assert_eq!(log[1].data["user_id"], bob.user_id.as_str());
    let bobs_channels = host.channels(&bob.access, &ws_id).await;
    let general_row = bobs_channels.iter().find(|c| c["id"] == general.as_str()).unwrap();
    assert_eq!(general_row["name"], "general");
    assert_eq!(general_row["is_member"], true);

    // A second, shared public channel.
    let random = host.create_channel(&ann.access, &ws_id, "random", "public").await;
    let joined = host.join_channel(&bob.access, &random).await;
    assert_eq!(joined.body["channel"]["is_member"], true);
    assert_eq!(joined.body["channel"]["last_seq"], 2);

    // Ann: header auth. Bob: auth frame.
    let mut ann_ws = Ws::open(host, false, WsAuth::Header(&ann.access)).await;
    let (ann_id, ann_subs) = ann_ws.hello().await;
    assert_eq!(ann_id.to_string(), ann.user_id);
    assert_eq!(last_seq_of(&ann_subs, &general), 2);
    assert_eq!(last_seq_of(&ann_subs, &random), 2);
    let mut bob_ws = Ws::open(host, false, WsAuth::Frame(&bob.access)).await;
    let (bob_id, bob_subs) = bob_ws.hello().await;
    assert_eq!(bob_id.to_string(), bob.user_id);
    assert_eq!(bob_subs.len(), 2, "Bob is in exactly #general and #random: {bob_subs:?}");
    assert_eq!(last_seq_of(&bob_subs, &general), 2);
    assert_eq!(last_seq_of(&bob_subs, &random), 2);

    // Ann posts in #random: Bob (and Ann's own socket) get it with the committed seq.
    let seq = host.post_message(&ann.access, &random, "hello from ann").await;
    assert_eq!(seq, 3);
    for (who, ws) in [("bob", &mut bob_ws), ("ann", &mut ann_ws)] {
        let ev = ws.next_event().await;
        assert_eq!(ev.kind, kind::MESSAGE_POSTED, "{who}");
        assert_eq!(ev.channel_id.to_string(), random, "{who}");
        assert_eq!(ev.seq, 3, "{who}");
        assert_eq!(ev.data["text"], "hello from ann", "{who}");
        assert_eq!(ev.data["author_id"], ann.user_id.as_str(), "{who}");
        assert_eq!(ev.data["seq"], 3, "{who}");
    }

    // Bob answers in #general.
    let seq = host.post_message(&bob.access, &general, "hi ann").await;
    assert_eq!(seq, 3);
    let ev = ann_ws.next_event().await;
    assert_eq!((ev.channel_id.to_string(), ev.seq, ev.kind.as_str()), (general.clone(), 3, kind::MESSAGE_POSTED));
    assert_eq!(ev.data["text"], "hi ann");
    assert_eq!(bob_ws.next_event().await, ev, "both sockets see the same event");

    // The live event is exactly the stored one.
    let stored = host.events_page(&ann.access, &general, 2, None).await;
    assert_eq!(stored.events, vec![ev]);
    assert_eq!(stored.last_seq, 3);
    let history = host.history(&bob.access, &random).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["text"], "hello from ann");
    assert_eq!(history[0]["seq"], 3);

    // Joining a channel while connected subscribes the open socket first (`subscribed`
    // with the seq before the join), then delivers the join and what follows.
    let ops = host.create_channel(&ann.access, &ws_id, "ops", "public").await;
    host.join_channel(&bob.access, &ops).await;
    match bob_ws.next_significant().await {
        ServerFrame::Subscribed { subscription } => {
            assert_eq!(subscription, Subscription { channel_id: ops.parse::<ChannelId>().unwrap(), last_seq: 1 });
        }
        other => panic!("expected `subscribed` for #ops, got {other:?}"),
    }
    let ev = bob_ws.next_event().await;
    assert_eq!((ev.channel_id.to_string(), ev.seq, ev.kind.as_str()), (ops.clone(), 2, kind::MEMBER_JOINED));
    assert_eq!(ev.data["user_id"], bob.user_id.as_str());
    let seq = host.post_message(&ann.access, &ops, "ops message").await;
    let ev = bob_ws.next_event().await;
    assert_eq!((ev.channel_id.to_string(), ev.seq), (ops.clone(), seq));

    // Leaving unsubscribes: Bob sees his own `member.left`, then `unsubscribed`, then
    // nothing more from #ops.
    let left = host.post_empty(&format!("/api/v1/channels/{ops}/leave"), Some(&bob.access)).await;
    left.expect_status(204, "leave");
    let ev = bob_ws.next_event().await;
    assert_eq!((ev.channel_id.to_string(), ev.seq, ev.kind.as_str()), (ops.clone(), 4, kind::MEMBER_LEFT));
    match bob_ws.next_significant().await {
        ServerFrame::Unsubscribed { channel_id } => assert_eq!(channel_id.to_string(), ops),
        other => panic!("expected `unsubscribed` for #ops, got {other:?}"),
    }
    host.post_message(&ann.access, &ops, "bob is gone").await;
    let seq = host.post_message(&ann.access, &general, "but still in general").await;
    let ev = bob_ws.next_event().await;
    assert_eq!((ev.channel_id.to_string(), ev.seq), (general.clone(), seq), "no #ops event after leaving");

    ann_ws.close().await;
    bob_ws.close().await;
}

/// Scenario 2: a socket drops; while it is away messages are posted and a user joins; on
/// reconnect the hello's `last_seq` and `/events?after=` fill the gap exactly (no gap, no
/// duplicate), including a channel joined while away; then live events continue.
async fn reconnect_backfills_exactly_the_missed_events(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let cat = host.signup("cat@example.com").await;
    let (ws_id, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws_id).await;

    // Bob's client: socket, then the initial sync up to the hello's seq.
    let (mut bob_ws, subs) = Ws::connect(host, &bob.access, false).await;
    let hello_seq = last_seq_of(&subs, &general);
    assert_eq!(hello_seq, 2);
    let mut seen: HashMap<String, Vec<ChannelEvent>> = HashMap::new();
    let initial = host.all_events_after(&bob.access, &general, 0, 50).await;
    seen.entry(general.clone()).or_default().extend(initial.into_iter().filter(|e| e.seq <= hello_seq));

    let seq = host.post_message(&ann.access, &general, "m1").await;
    let ev = bob_ws.next_event().await;
    assert_eq!((ev.channel_id.to_string(), ev.seq), (general.clone(), seq));
    seen.entry(general.clone()).or_default().push(ev);

    // Bob goes away.
    bob_ws.close().await;

    // Meanwhile: messages, a new member, a new channel Bob joins (over HTTP) and its traffic.
    let mut posted = vec!["m1".to_string()];
    for text in ["m2", "m3", "m4"] {
        host.post_message(&ann.access, &general, text).await;
        posted.push(text.into());
    }
    host.add_to_workspace(&ann, &cat, &ws_id).await;
    host.post_message(&ann.access, &general, "m5").await;
    posted.push("m5".into());
    let dev = host.create_channel(&ann.access, &ws_id, "dev", "public").await;
    host.join_channel(&bob.access, &dev).await;
    host.post_message(&ann.access, &dev, "d1").await;

    // Bob is back (MessagePack this time; the protocol is the same).
    let (mut bob_ws, subs) = Ws::connect(host, &bob.access, true).await;
    assert_eq!(bob_ws.protocol.as_deref(), Some(MSGPACK_SUBPROTOCOL));
    assert_eq!(subs.len(), 2, "Bob is in #general and #dev: {subs:?}");
    let general_seq = last_seq_of(&subs, &general);
    let dev_seq = last_seq_of(&subs, &dev);
    assert_eq!(general_seq, 8, "general: 2 joins, m1..m4, Cat's join, m5");
    assert_eq!(dev_seq, 3, "dev: Ann's join, Bob's join, d1");

    // Backfill from the last seq Bob saw, in small pages to cross page boundaries.
    for (channel, upto) in [(&general, general_seq), (&dev, dev_seq)] {
        let have = seen.entry(channel.clone()).or_default();
        let after = have.last().map_or(0, |e| e.seq);
        let missed = host.all_events_after(&bob.access, channel, after, 2).await;
        assert!(missed.iter().all(|e| e.channel_id.to_string() == *channel));
        have.extend(missed.into_iter().filter(|e| e.seq <= upto));
        let seqs: Vec<i64> = have.iter().map(|e| e.seq).collect();
        assert_contiguous(&seqs, 1, upto, &format!("channel {channel} after backfill"));
    }
    let general_log = &seen[&general];
    let texts: Vec<&str> =
        general_log.iter().filter(|e| e.kind == kind::MESSAGE_POSTED).filter_map(|e| e.data["text"].as_str()).collect();
    assert_eq!(texts, posted.iter().map(String::as_str).collect::<Vec<_>>());
    let cat_join = &general_log[6];
    assert_eq!((cat_join.seq, cat_join.kind.as_str()), (7, kind::MEMBER_JOINED));
    assert_eq!(cat_join.data["user_id"], cat.user_id.as_str());

    // Live again: the socket carries on from the hello's seq without replaying anything.
    let s1 = host.post_message(&ann.access, &general, "m6").await;
    let s2 = host.post_message(&ann.access, &dev, "d2").await;
    let s3 = host.post_message(&cat.access, &general, "hi from cat").await;
    assert_eq!((s1, s2, s3), (general_seq + 1, dev_seq + 1, general_seq + 2));
    let mut live = Vec::new();
    for _ in 0..3 {
        live.push(bob_ws.next_event().await);
    }
    let live_general: Vec<i64> = live.iter().filter(|e| e.channel_id.to_string() == general).map(|e| e.seq).collect();
    let live_dev: Vec<i64> = live.iter().filter(|e| e.channel_id.to_string() == dev).map(|e| e.seq).collect();
    assert_eq!(live_general, [s1, s3], "live #general events, in order");
    assert_eq!(live_dev, [s2]);
    for e in live {
        seen.entry(e.channel_id.to_string()).or_default().push(e);
    }
    assert_contiguous(&seen[&general].iter().map(|e| e.seq).collect::<Vec<_>>(), 1, s3, "general, all");
    assert_contiguous(&seen[&dev].iter().map(|e| e.seq).collect::<Vec<_>>(), 1, s2, "dev, all");

    // And what Bob assembled is exactly the stored log.
    let stored = host.all_events_after(&bob.access, &general, 0, 200).await;
    assert_eq!(stored, seen[&general]);
    bob_ws.expect_no_event(Duration::from_millis(500)).await;
    bob_ws.close().await;
}

/// Scenario 3: the same user on a JSON socket and a MessagePack socket: both get the same
/// hello and the same event, decoded equal, and equal to the stored event.
async fn json_and_msgpack_sockets_carry_the_same_frames(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let (ws_id, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws_id).await;

    let mut json_ws = Ws::open(host, false, WsAuth::Frame(&bob.access)).await;
    assert_eq!(json_ws.protocol, None, "no subprotocol asked, none chosen");
    // The MessagePack socket authenticates with a MessagePack (binary) auth frame.
    let mut mp_ws = Ws::open(host, true, WsAuth::Frame(&bob.access)).await;
    assert_eq!(mp_ws.protocol.as_deref(), Some(MSGPACK_SUBPROTOCOL));
    let json_hello = json_ws.hello().await;
    let mp_hello = mp_ws.hello().await;
    assert_eq!(json_hello, mp_hello);
    assert_eq!(last_seq_of(&json_hello.1, &general), 2);

    // A message with non-ASCII text, newlines and an idempotency key.
    let text = "grüße 👋\n— *markdown* `code`";
    let r = host
        .post(
            &format!("/api/v1/channels/{general}/messages"),
            Some(&ann.access),
            serde_json::json!({ "text": text, "client_msg_id": "key-1" }),
        )
        .await;
    r.expect_status(201, "post");
    let from_json = json_ws.next_event().await;
    let from_mp = mp_ws.next_event().await;
    assert_eq!(from_json, from_mp, "JSON and MessagePack decode to the same event");
    assert_eq!(from_json.seq, 3);
    assert_eq!(from_json.kind, kind::MESSAGE_POSTED);
    assert_eq!(from_json.data["text"], text);
    assert_eq!(from_json.data["client_msg_id"], "key-1");
    assert_eq!(from_json.data, r.body["message"], "the event carries the message as the API returned it");
    let stored = host.events_page(&bob.access, &general, 2, None).await;
    assert_eq!(stored.events, vec![from_json.clone()]);

    // A retry with the same key returns the stored message and publishes nothing new.
    let retry = host
        .post(
            &format!("/api/v1/channels/{general}/messages"),
            Some(&ann.access),
            serde_json::json!({ "text": text, "client_msg_id": "key-1" }),
        )
        .await;
    retry.expect_status(200, "idempotent retry");
    assert_eq!(retry.body["message"]["id"], from_json.data["id"]);

    // Client frames in either encoding: MessagePack ping on the MessagePack socket, JSON ping
    // on the JSON one; and a JSON text frame is understood on the MessagePack socket too,
    // while the answer stays MessagePack.
    assert!(mp_ws.ping(41).await.is_empty());
    assert!(json_ws.ping(42).await.is_empty());
    mp_ws.send_raw(tokio_tungstenite::tungstenite::Message::text(r#"{"type":"ping","nonce":43}"#)).await;
    assert_eq!(mp_ws.next_significant().await, ServerFrame::Pong { nonce: Some(43) });

    // Typing from Ann reaches both of Bob's sockets, identically.
    let (mut ann_ws, _) = Ws::connect(host, &ann.access, true).await;
    ann_ws.send_frame(&ClientFrame::Typing { channel_id: general.parse().unwrap() }).await;
    let typing = |f: ServerFrame| match f {
        ServerFrame::Typing { channel_id, seq, user_id } => Some((channel_id, seq, user_id)),
        _ => None,
    };
    let mut got = Vec::new();
    for ws in [&mut json_ws, &mut mp_ws] {
        let t = loop {
            if let Some(t) = typing(ws.next_frame().await) {
                break t;
            }
        };
        got.push(t);
    }
    assert_eq!(got[0], got[1]);
    assert_eq!(got[0].2.to_string(), ann.user_id);
    assert_eq!(got[0].1, 3, "typing carries the channel's current seq");

    // The next post reaches both, still equal.
    host.post_message(&ann.access, &general, "second").await;
    let a = json_ws.next_event().await;
    let b = mp_ws.next_event().await;
    assert_eq!(a, b);
    assert_eq!(a.seq, 4, "the idempotent retry did not take a seq");

    json_ws.close().await;
    mp_ws.close().await;
    ann_ws.close().await;
}

/// A socket is "subscribed to all of the user's channels", including channels the user
/// creates (or gets, with a new workspace) while the socket is open.
///
/// Creating a channel (or a workspace, with its #general) publishes the creator's
/// `member.joined` (seq 1), which subscribes the creator's open sockets.
async fn channels_created_while_connected_are_live_for_their_creator(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let (ws_id, _) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws_id).await;
    let (mut ann_ws, subs) = Ws::connect(host, &ann.access, false).await;
    assert_eq!(subs.len(), 1);

    // Ann creates #ops with her socket open; Bob joins and posts.
    let ops = host.create_channel(&ann.access, &ws_id, "ops", "public").await;
    host.join_channel(&bob.access, &ops).await;
    let seq = host.post_message(&bob.access, &ops, "hello ops").await;
    let mut got = Vec::new();
    while got.last().is_none_or(|e: &ChannelEvent| e.seq < seq) {
        let ev = ann_ws.next_event().await;
        assert_eq!(ev.channel_id.to_string(), ops);
        got.push(ev);
    }
    assert_eq!(
        got.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3],
        "the creator's own join, then Bob's join and post, reach the creator"
    );

    // The same for a new workspace's #general.
    let (ws2, general2) = host.create_workspace(&ann.access, "Second").await;
    host.add_to_workspace(&ann, &bob, &ws2).await;
    for seq in [1, 2] {
        let ev = ann_ws.next_event().await;
        assert_eq!((ev.channel_id.to_string(), ev.seq, ev.kind.as_str()), (general2.clone(), seq, kind::MEMBER_JOINED));
    }
    ann_ws.close().await;
}

crate::common::both_targets!(
    two_users_in_a_channel_see_each_others_messages_live,
    reconnect_backfills_exactly_the_missed_events,
    json_and_msgpack_sockets_carry_the_same_frames,
    channels_created_while_connected_are_live_for_their_creator,
);

// The same, behind a transaction pooler.
crate::common::through_pgbouncer!(
    two_users_in_a_channel_see_each_others_messages_live,
    reconnect_backfills_exactly_the_missed_events,
    json_and_msgpack_sockets_carry_the_same_frames,
);
