//! Shared scenarios beyond `realtime.rs` and `bad_input.rs`, run against the real host
//! (`host::*`) and the edge Worker under `wrangler dev` (`edge::*`): notices to a user's
//! sockets (ended sessions, read markers), presence and typing across users, and the
//! send-to-receive latency of one message, measured the same way on both targets.

use std::time::{Duration, Instant};

use crate::common::{Host, Target, Ws, WsAuth};
use ocomms_core::event::{ClientFrame, Presence, ServerFrame, kind};
use serde_json::json;

/// Logging out ends that session's sockets (a `session_ended` frame, then close 4003); the
/// user's other session keeps its socket and its events.
async fn logout_closes_exactly_that_sessions_sockets(host: &Host) {
    let s1 = host.signup("ann@example.com").await;
    let s2 = host.login("ann@example.com").await;
    let (_, general) = host.create_workspace(&s1.access, "Acme").await;
    let (mut ws1, _) = Ws::connect(host, &s1.access, false).await;
    let mut ws2 = Ws::open(host, true, WsAuth::Header(&s2.access)).await;
    ws2.hello().await;

    host.post_empty("/api/v1/auth/logout", Some(&s1.access)).await.expect_status(204, "logout");
    loop {
        match ws1.next_frame().await {
            ServerFrame::SessionEnded { reason } => {
                assert!(!reason.is_empty());
                break;
            }
            ServerFrame::Presence { .. } => {}
            other => panic!("expected session_ended, got {other:?}"),
        }
    }
    assert_eq!(ws1.expect_close().await.map(|c| c.0), Some(4003), "the ended session's socket closes with 4003");

    let seq = host.post_message(&s2.access, &general, "still here").await;
    let ev = ws2.next_event().await;
    assert_eq!((ev.channel_id.to_string(), ev.seq, ev.kind.as_str()), (general, seq, kind::MESSAGE_POSTED));
    ws2.close().await;
}

/// Marking a channel read reaches every socket of that user (other devices update their
/// badges), and nobody else's.
async fn read_markers_reach_every_socket_of_the_user(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let (ws_id, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws_id).await;
    let seq = host.post_message(&ann.access, &general, "read me").await;
    let (mut bob1, _) = Ws::connect(host, &bob.access, false).await;
    let (mut bob2, _) = Ws::connect(host, &bob.access, true).await;
    let (mut ann_ws, _) = Ws::connect(host, &ann.access, false).await;

    let r = host.post(&format!("/api/v1/channels/{general}/read"), Some(&bob.access), json!({ "seq": seq })).await;
    r.expect_status(200, "mark read");
    for ws in [&mut bob1, &mut bob2] {
        let marker = loop {
            match ws.next_frame().await {
                ServerFrame::ReadMarker { channel_id, last_read_seq } => break (channel_id.to_string(), last_read_seq),
                ServerFrame::Presence { .. } => {}
                other => panic!("expected read_marker, got {other:?}"),
            }
        };
        assert_eq!(marker, (general.clone(), seq));
    }
    ann_ws.expect_no_event(Duration::from_millis(300)).await;
    for ws in [bob1, bob2, ann_ws] {
        ws.close().await;
    }
}

/// The next presence frame about `user`, skipping other presence and typing frames.
async fn presence_of(ws: &mut Ws, user: &str) -> Presence {
    loop {
        match ws.next_frame().await {
            ServerFrame::Presence { user_id, status } if user_id.to_string() == user => return status,
            ServerFrame::Presence { .. } | ServerFrame::Typing { .. } => {}
            other => panic!("expected presence of {user}, got {other:?}"),
        }
    }
}

/// Others see a user come online, go away (said so), come back, type, and go offline when
/// the last socket closes; a new socket learns who is already there right after `hello`.
async fn presence_and_typing_reach_the_others(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let (ws_id, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws_id).await;
    let (mut ann_ws, _) = Ws::connect(host, &ann.access, false).await;

    let mut bob_ws = Ws::open(host, false, WsAuth::Frame(&bob.access)).await;
    bob_ws.hello().await;
    assert_eq!(presence_of(&mut bob_ws, &ann.user_id).await, Presence::Online, "the snapshot after hello");
    assert_eq!(presence_of(&mut ann_ws, &bob.user_id).await, Presence::Online);

    bob_ws.send_frame(&ClientFrame::SetPresence { status: Presence::Away }).await;
    assert_eq!(presence_of(&mut ann_ws, &bob.user_id).await, Presence::Away);
    bob_ws.send_frame(&ClientFrame::SetPresence { status: Presence::Online }).await;
    assert_eq!(presence_of(&mut ann_ws, &bob.user_id).await, Presence::Online);
    bob_ws.send_frame(&ClientFrame::SetPresence { status: Presence::Offline }).await;
    match bob_ws.next_significant().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, "bad_presence"),
        other => panic!("setting offline answered with {other:?}"),
    }

    bob_ws.send_frame(&ClientFrame::Typing { channel_id: general.parse().unwrap() }).await;
    let typing = loop {
        match ann_ws.next_frame().await {
            ServerFrame::Typing { channel_id, seq, user_id } => {
                break (channel_id.to_string(), seq, user_id.to_string());
            }
            ServerFrame::Presence { .. } => {}
            other => panic!("expected typing, got {other:?}"),
        }
    };
    assert_eq!(typing, (general.clone(), 2, bob.user_id.clone()), "typing carries the channel's seq");

    bob_ws.close().await;
    assert_eq!(presence_of(&mut ann_ws, &bob.user_id).await, Presence::Offline);
    ann_ws.close().await;
}

/// The next event's seq and when it arrived, counted from `started`.
async fn received_at(ws: &mut Ws, started: Instant) -> (i64, std::time::Duration) {
    let event = ws.next_event().await;
    (event.seq, started.elapsed())
}

/// Send-to-receive latency: from just before `POST .../messages` to the event on another
/// user's sockets, for messages sent one at a time. The receiver has two sockets, one
/// authenticated by header and one by a first frame (which the edge relays through the
/// Worker). Prints percentiles (docs/edge.md quotes them) and checks that every message
/// arrived on both, in order.
async fn send_to_receive_latency(host: &Host) {
    const WARMUP: usize = 5;
    const SAMPLES: usize = 40;
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let (ws_id, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws_id).await;
    let mut by_header = Ws::open(host, false, WsAuth::Header(&bob.access)).await;
    by_header.hello().await;
    let (mut by_frame, _) = Ws::connect(host, &bob.access, false).await;
    let path = format!("/api/v1/channels/{general}/messages");
    let (mut header_micros, mut frame_micros) = (Vec::new(), Vec::new());
    let mut last_seq = 2;
    for i in 0..WARMUP + SAMPLES {
        let started = Instant::now();
        let post = host.post(&path, Some(&ann.access), json!({ "text": format!("m{i}") }));
        let (reply, (seq_h, at_h), (seq_f, at_f)) =
            tokio::join!(post, received_at(&mut by_header, started), received_at(&mut by_frame, started));
        reply.expect_status(201, "post");
        assert_eq!((seq_h, seq_f), (last_seq + 1, last_seq + 1), "events arrive in order, without gaps");
        last_seq = seq_h;
        if i >= WARMUP {
            header_micros.push(at_h.as_micros() as u64);
            frame_micros.push(at_f.as_micros() as u64);
        }
    }
    let target = match host.target() {
        Target::Host => "host (wasm-host)",
        Target::Edge => "edge (wrangler dev / workerd)",
        Target::Spin => "spin (spin up, wasm-host rooms)",
    };
    for (auth, micros) in [("header-auth socket", &mut header_micros), ("auth-frame socket", &mut frame_micros)] {
        micros.sort_unstable();
        let pct = |p: usize| micros[(micros.len() * p / 100).min(micros.len() - 1)] as f64 / 1000.0;
        println!(
            "send-to-receive latency, {target}, {auth}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms over {SAMPLES} messages",
            pct(50),
            pct(90),
            pct(99),
        );
    }
    by_header.close().await;
    by_frame.close().await;
}

crate::common::both_targets!(
    logout_closes_exactly_that_sessions_sockets,
    read_markers_reach_every_socket_of_the_user,
    presence_and_typing_reach_the_others,
    send_to_receive_latency,
);

// The same, behind a transaction pooler.
crate::common::through_pgbouncer!(
    logout_closes_exactly_that_sessions_sockets,
    read_markers_reach_every_socket_of_the_user,
);
