//! Channel management and direct messages against the real host: rename, topic and purpose,
//! archive, the member roster, DMs; who may do each, what a refusal leaves unchanged, and
//! what open sockets of other members see.

use std::time::Duration;

use crate::common::{Host, Reply, Session, WAIT, Ws};
use ocomms_core::event::{ChannelEvent, Presence, ServerFrame, kind};
use reqwest::Method;
use serde_json::{Value, json};

const QUIET: Duration = Duration::from_millis(600);

async fn patch(host: &Host, token: &str, channel: &str, body: Value) -> Reply {
    host.send(host.request(Method::PATCH, &format!("/api/v1/channels/{channel}"), Some(token)).json(&body)).await
}

async fn archive(host: &Host, token: &str, channel: &str) -> Reply {
    host.post_empty(&format!("/api/v1/channels/{channel}/archive"), Some(token)).await
}

async fn unarchive(host: &Host, token: &str, channel: &str) -> Reply {
    host.post_empty(&format!("/api/v1/channels/{channel}/unarchive"), Some(token)).await
}

async fn add_members(host: &Host, token: &str, channel: &str, ids: &[&str]) -> Reply {
    host.post(&format!("/api/v1/channels/{channel}/members"), Some(token), json!({ "user_ids": ids })).await
}

async fn remove_member(host: &Host, token: &str, channel: &str, user: &str) -> Reply {
    host.send(host.request(Method::DELETE, &format!("/api/v1/channels/{channel}/members/{user}"), Some(token))).await
}

async fn members(host: &Host, token: &str, channel: &str) -> Reply {
    host.get(&format!("/api/v1/channels/{channel}/members"), Some(token)).await
}

async fn open_dm(host: &Host, token: &str, ws: &str, ids: &[&str]) -> Reply {
    host.post(&format!("/api/v1/workspaces/{ws}/dms"), Some(token), json!({ "user_ids": ids })).await
}

async fn post_text(host: &Host, token: &str, channel: &str, text: &str) -> Reply {
    host.post(&format!("/api/v1/channels/{channel}/messages"), Some(token), json!({ "text": text })).await
}

/// `owner` invites `user` with `role`, who accepts.
async fn add_with_role(host: &Host, owner: &Session, user: &Session, ws: &str, role: &str) {
    let r = host.post(&format!("/api/v1/workspaces/{ws}/invites"), Some(&owner.access), json!({ "role": role })).await;
    r.expect_status(201, "create invite");
    let code = r.str_at("/invite/code");
    host.accept_invite(&user.access, &code).await.expect_status(200, "accept invite");
}

/// User ids of the members list, sorted.
fn member_ids(r: &Reply) -> Vec<String> {
    let mut ids: Vec<String> = r.body["members"]
        .as_array()
        .unwrap_or_else(|| panic!("no members: {r:?}"))
        .iter()
        .map(|m| m["user_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// The next frame that is not presence or typing must be `subscribed` to `channel`.
async fn expect_subscribed(ws: &mut Ws, channel: &str, who: &str) {
    match ws.next_significant().await {
        ServerFrame::Subscribed { subscription } => {
            assert_eq!(subscription.channel_id.to_string(), channel, "{who}: subscribed to another channel")
        }
        other => panic!("{who}: expected `subscribed` to {channel}, got {other:?}"),
    }
}

/// The next significant frame must be an event of `kind` in `channel`.
async fn expect_event(ws: &mut Ws, channel: &str, kind: &str, who: &str) -> ChannelEvent {
    match ws.next_significant().await {
        ServerFrame::Event { event } => {
            assert_eq!((event.kind.as_str(), event.channel_id.to_string().as_str()), (kind, channel), "{who}");
            event
        }
        other => panic!("{who}: expected a {kind} event, got {other:?}"),
    }
}

fn channel_in<'a>(list: &'a [Value], id: &str) -> Option<&'a Value> {
    list.iter().find(|c| c["id"] == id)
}

/// Rename, topic and purpose; archive and unarchive; who may, what others see live, and
/// that a refusal changes nothing.
async fn update_and_archive_channels(host: &Host) {
    let ann = host.signup("ann@example.com").await; // owner
    let bob = host.signup("bob@example.com").await; // member, creates #proj
    let carol = host.signup("carol@example.com").await; // admin, not in #proj
    let dave = host.signup("dave@example.com").await; // member in #proj
    let eve = host.signup("eve@example.com").await; // member, not in #proj
    let gina = host.signup("gina@example.com").await; // guest
    let zed = host.signup("zed@example.com").await; // outsider
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    add_with_role(host, &ann, &carol, &ws, "admin").await;
    host.add_to_workspace(&ann, &dave, &ws).await;
    host.add_to_workspace(&ann, &eve, &ws).await;
    add_with_role(host, &ann, &gina, &ws, "guest").await;

    let proj = host.create_channel(&bob.access, &ws, "proj", "public").await;
    host.join_channel(&dave.access, &proj).await;
    let (mut dave_ws, _) = Ws::connect(host, &dave.access, false).await;
    let mut seq = host.events_page(&bob.access, &proj, 0, None).await.last_seq;
    assert_eq!(seq, 2, "bob's and dave's joins");

    // Topic and purpose by the creator: one channel.updated with the whole channel.
    let r = patch(host, &bob.access, &proj, json!({ "topic": " Ship it ", "purpose": "Where we plan" })).await;
    r.expect_status(200, "creator sets topic and purpose");
    assert_eq!(
        (r.body["channel"]["topic"].as_str(), r.body["channel"]["purpose"].as_str()),
        (Some("Ship it"), Some("Where we plan"))
    );
    assert_eq!(r.body["channel"]["is_member"], true);
    assert_eq!(r.body["channel"]["member_count"], 2);
    assert_eq!(r.body["channel"]["created_by"], bob.user_id.as_str());
    assert_eq!(r.body["channel"]["is_default"], false);
    seq += 1;
    let ev = expect_event(&mut dave_ws, &proj, kind::CHANNEL_UPDATED, "dave sees the topic change").await;
    assert_eq!(ev.seq, seq);
    assert_eq!(ev.data["topic"], "Ship it");
    assert_eq!(ev.data["purpose"], "Where we plan");
    assert_eq!(ev.data["name"], "proj");
    assert_eq!(ev.data["last_seq"], seq, "the event carries the channel after the change");
    assert!(ev.data.get("is_member").is_none(), "per-caller fields stay out of the event: {:?}", ev.data);

    // Any member (not a guest) may describe; only the creator or an admin may rename.
    patch(host, &dave.access, &proj, json!({ "topic": "dave's topic" })).await.expect_status(200, "member sets topic");
    seq += 1;
    assert_eq!(expect_event(&mut dave_ws, &proj, kind::CHANNEL_UPDATED, "dave").await.seq, seq);
    let refusals = [
        (&dave, json!({ "name": "daves" }), 403, "forbidden", "a member who did not create it renames"),
        (&dave, json!({ "name": "daves", "topic": "x" }), 403, "forbidden", "rename and topic, rename refused"),
        (&eve, json!({ "topic": "x" }), 403, "forbidden", "a member outside the channel sets the topic"),
        (&gina, json!({ "topic": "x" }), 403, "forbidden", "a guest outside the channel"),
        (&zed, json!({ "topic": "x" }), 404, "not_found", "an outsider"),
        (&bob, json!({}), 422, "validation_failed", "an empty patch"),
        (&bob, json!({ "name": "has space" }), 422, "validation_failed", "a bad name"),
        (&bob, json!({ "name": "" }), 422, "validation_failed", "an empty name"),
        (&bob, json!({ "purpose": "p".repeat(251) }), 422, "validation_failed", "purpose over 250"),
        (&bob, json!({ "topic": "t".repeat(251) }), 422, "validation_failed", "topic over 250"),
        (&bob, json!({ "colour": "red" }), 422, "validation_failed", "an unknown field"),
        (&bob, json!({ "name": "General" }), 409, "conflict", "the name of another channel"),
    ];
    for (who, body, status, code, what) in refusals {
        patch(host, &who.access, &proj, body).await.expect_error(status, code, what);
    }
    // A 251-character purpose is refused, 250 accepted.
    patch(host, &bob.access, &proj, json!({ "purpose": "p".repeat(250) })).await.expect_status(200, "purpose of 250");
    seq += 1;
    assert_eq!(expect_event(&mut dave_ws, &proj, kind::CHANNEL_UPDATED, "dave").await.seq, seq);
    assert_eq!(host.events_page(&bob.access, &proj, 0, None).await.last_seq, seq, "refusals appended nothing");

    // An admin who is not in the public channel may rename it (and set no topic).
    let r = patch(host, &carol.access, &proj, json!({ "name": "#Project-X" })).await;
    r.expect_status(200, "admin renames");
    assert_eq!(r.body["channel"]["name"], "project-x");
    assert_eq!(r.body["channel"]["is_member"], false);
    seq += 1;
    let ev = expect_event(&mut dave_ws, &proj, kind::CHANNEL_UPDATED, "dave sees the rename").await;
    assert_eq!((ev.seq, ev.data["name"].as_str()), (seq, Some("project-x")));
    patch(host, &carol.access, &proj, json!({ "topic": "x" })).await.expect_error(
        403,
        "forbidden",
        "admin outside sets topic",
    );
    let listed = host.channels(&eve.access, &ws).await;
    assert_eq!(channel_in(&listed, &proj).unwrap()["name"], "project-x");
    assert_eq!(channel_in(&listed, &proj).unwrap()["purpose"], "p".repeat(250));

    // Archive: the creator or an admin; never #general; archiving twice is a conflict.
    archive(host, &dave.access, &proj).await.expect_error(403, "forbidden", "a member archives");
    archive(host, &gina.access, &proj).await.expect_error(403, "forbidden", "a guest archives");
    archive(host, &zed.access, &proj).await.expect_error(404, "not_found", "an outsider archives");
    unarchive(host, &bob.access, &proj).await.expect_error(409, "conflict", "unarchive an active channel");
    let r = archive(host, &bob.access, &proj).await;
    r.expect_status(200, "the creator archives");
    assert_eq!(r.body["channel"]["archived"], true);
    seq += 1;
    let ev = expect_event(&mut dave_ws, &proj, kind::CHANNEL_ARCHIVED, "dave sees the archive").await;
    assert_eq!((ev.seq, ev.data["by"].as_str()), (seq, Some(bob.user_id.as_str())));
    archive(host, &carol.access, &proj).await.expect_error(409, "conflict", "archive twice");

    // Archived means read-only: reading works, nothing else does, and nothing is appended.
    assert_eq!(
        host.get(&format!("/api/v1/channels/{proj}"), Some(&dave.access)).await.body["channel"]["archived"],
        true
    );
    host.history(&dave.access, &proj).await;
    post_text(host, &dave.access, &proj, "hello?").await.expect_error(403, "forbidden", "post when archived");
    host.post_empty(&format!("/api/v1/channels/{proj}/join"), Some(&eve.access)).await.expect_error(
        403,
        "forbidden",
        "join when archived",
    );
    patch(host, &bob.access, &proj, json!({ "topic": "x" })).await.expect_error(
        403,
        "forbidden",
        "topic when archived",
    );
    patch(host, &carol.access, &proj, json!({ "name": "y" })).await.expect_error(
        403,
        "forbidden",
        "rename when archived",
    );
    add_members(host, &bob.access, &proj, &[&eve.user_id]).await.expect_error(403, "forbidden", "add when archived");
    remove_member(host, &bob.access, &proj, &dave.user_id).await.expect_error(403, "forbidden", "remove when archived");
    host.post_empty(&format!("/api/v1/channels/{proj}/leave"), Some(&dave.access)).await.expect_error(
        403,
        "forbidden",
        "leave when archived",
    );
    assert_eq!(host.events_page(&bob.access, &proj, 0, None).await.last_seq, seq, "refusals appended nothing");
    dave_ws.expect_no_event(QUIET).await;

    // Unarchive by an admin (not a member); then it is writable again.
    unarchive(host, &dave.access, &proj).await.expect_error(403, "forbidden", "a member unarchives");
    let r = unarchive(host, &carol.access, &proj).await;
    r.expect_status(200, "an admin unarchives");
    assert_eq!(r.body["channel"]["archived"], false);
    seq += 1;
    let ev = expect_event(&mut dave_ws, &proj, kind::CHANNEL_UNARCHIVED, "dave sees the unarchive").await;
    assert_eq!((ev.seq, ev.data["by"].as_str()), (seq, Some(carol.user_id.as_str())));
    unarchive(host, &carol.access, &proj).await.expect_error(409, "conflict", "unarchive twice");
    assert_eq!(host.post_message(&dave.access, &proj, "back").await, seq + 1);

    // #general: never archived, never left; the owner may still describe it.
    let general_seq = host.events_page(&ann.access, &general, 0, None).await.last_seq;
    archive(host, &ann.access, &general).await.expect_error(403, "forbidden", "archive #general");
    host.post_empty(&format!("/api/v1/channels/{general}/leave"), Some(&bob.access)).await.expect_error(
        403,
        "forbidden",
        "leave #general",
    );
    patch(host, &ann.access, &general, json!({ "topic": "Company-wide" }))
        .await
        .expect_status(200, "topic of #general");
    let page = host.events_page(&ann.access, &general, 0, None).await;
    assert_eq!(page.last_seq, general_seq + 1);
    assert_eq!(page.events.last().map(|e| e.kind.as_str()), Some(kind::CHANNEL_UPDATED));

    // Wrong methods and ids.
    host.send(host.request(Method::PUT, &format!("/api/v1/channels/{proj}/archive"), Some(&bob.access)))
        .await
        .expect_error(405, "method_not_allowed", "PUT archive");
    archive(host, &bob.access, "not-a-uuid").await.expect_error(404, "not_found", "malformed id");
    dave_ws.close().await;
}

/// A private channel's roster: adding (all or nothing), listing, removing; an admin outside
/// it cannot see it; an added user's socket subscribes at once, a removed one's unsubscribes.
async fn private_channel_members(host: &Host) {
    let ann = host.signup("ann@example.com").await; // owner
    let bob = host.signup("bob@example.com").await; // member, creates #secret
    let carol = host.signup("carol@example.com").await; // admin, never in #secret
    let dave = host.signup("dave@example.com").await; // member, added then removed
    let gina = host.signup("gina@example.com").await; // guest, added
    let zed = host.signup("zed@example.com").await; // another workspace
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.create_workspace(&zed.access, "Other").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    add_with_role(host, &ann, &carol, &ws, "admin").await;
    host.add_to_workspace(&ann, &dave, &ws).await;
    add_with_role(host, &ann, &gina, &ws, "guest").await;

    let secret = host.create_channel(&bob.access, &ws, "secret", "private").await;
    host.post_message(&bob.access, &secret, "the plan").await;

    // Carol (admin) is not in it: it does not exist for her.
    let base = format!("/api/v1/channels/{secret}");
    host.get(&base, Some(&carol.access)).await.expect_error(404, "not_found", "admin gets a private channel");
    host.get(&format!("{base}/messages"), Some(&carol.access)).await.expect_error(404, "not_found", "admin history");
    host.get(&format!("{base}/events"), Some(&carol.access)).await.expect_error(404, "not_found", "admin events");
    members(host, &carol.access, &secret).await.expect_error(404, "not_found", "admin members");
    post_text(host, &carol.access, &secret, "hi").await.expect_error(404, "not_found", "admin posts");
    add_members(host, &carol.access, &secret, &[&carol.user_id]).await.expect_error(
        404,
        "not_found",
        "admin adds herself",
    );
    patch(host, &carol.access, &secret, json!({ "name": "mine" })).await.expect_error(
        404,
        "not_found",
        "admin renames",
    );
    archive(host, &carol.access, &secret).await.expect_error(404, "not_found", "admin archives");
    remove_member(host, &carol.access, &secret, &bob.user_id).await.expect_error(404, "not_found", "admin removes");
    host.post_empty(&format!("{base}/join"), Some(&carol.access)).await.expect_error(404, "not_found", "admin joins");
    host.post_empty(&format!("{base}/join"), Some(&gina.access)).await.expect_error(404, "not_found", "guest joins");
    assert!(channel_in(&host.channels(&carol.access, &ws).await, &secret).is_none(), "listed for carol");

    // Sockets open now, so they see what follows (and nothing from the setup).
    let (mut dave_ws, _) = Ws::connect(host, &dave.access, false).await;
    let (mut gina_ws, _) = Ws::connect(host, &gina.access, true).await;
    let (mut bob_ws, _) = Ws::connect(host, &bob.access, false).await;

    // All or nothing: one id outside the workspace refuses the whole request, naming it.
    let before = host.event_count(&bob.access, &secret).await;
    for (ids, what) in [
        (vec![dave.user_id.as_str(), zed.user_id.as_str()], "a user of another workspace"),
        (vec![dave.user_id.as_str(), "7b0c1f36-3a8e-4c8e-9d55-2f1f6c7c0a11"], "an unknown user"),
    ] {
        let r = add_members(host, &bob.access, &secret, &ids).await;
        r.expect_error(422, "validation_failed", what);
        assert!(r.body["error"]["message"].as_str().unwrap().contains(ids[1]), "the error names the id: {r:?}");
    }
    for (body, what) in [
        (json!({ "user_ids": [] }), "no ids"),
        (json!({ "user_ids": ["nope"] }), "a malformed id"),
        (
            json!({ "user_ids": (0..101).map(|i| format!("00000000-0000-4000-8000-{i:012}")).collect::<Vec<_>>() }),
            "101 ids",
        ),
        (json!({ "users": [dave.user_id] }), "a wrong field"),
    ] {
        host.post(&format!("{base}/members"), Some(&bob.access), body).await.expect_error(
            422,
            "validation_failed",
            what,
        );
    }
    assert_eq!(host.event_count(&bob.access, &secret).await, before, "refusals appended nothing");
    assert_eq!(member_ids(&members(host, &bob.access, &secret).await), sorted(&[&bob.user_id]));

    // A member adds Dave and the guest (duplicates collapse): consecutive member.joined events.
    let last = host.events_page(&bob.access, &secret, 0, None).await.last_seq;
    let r = add_members(host, &bob.access, &secret, &[&dave.user_id, &gina.user_id, &dave.user_id]).await;
    r.expect_status(200, "add dave and gina");
    assert_eq!(r.body["added"], json!([dave.user_id, gina.user_id]));
    assert_eq!(r.body["channel"]["member_count"], 3);
    for (ws_, who, user, nth) in [(&mut dave_ws, "dave", &dave, 1), (&mut gina_ws, "gina", &gina, 2)] {
        expect_subscribed(ws_, &secret, who).await;
        let ev = expect_event(ws_, &secret, kind::MEMBER_JOINED, who).await;
        assert_eq!(ev.seq, last + nth, "{who}");
        assert_eq!(ev.data, json!({ "user_id": user.user_id, "by": bob.user_id }), "{who}");
    }
    // Dave's socket was subscribed before Gina's join, so it sees hers too.
    let ev = expect_event(&mut dave_ws, &secret, kind::MEMBER_JOINED, "dave sees gina join").await;
    assert_eq!((ev.seq, ev.data["user_id"].as_str()), (last + 2, Some(gina.user_id.as_str())));
    for (i, who) in [(1, "bob"), (2, "bob")] {
        assert_eq!(bob_ws.next_event().await.seq, last + i, "{who}");
    }
    // ...and then the messages.
    let seq = host.post_message(&bob.access, &secret, "welcome").await;
    for (ws_, who) in [(&mut dave_ws, "dave"), (&mut gina_ws, "gina")] {
        let ev = expect_event(ws_, &secret, kind::MESSAGE_POSTED, who).await;
        assert_eq!((ev.seq, ev.data["text"].as_str()), (seq, Some("welcome")), "{who}");
    }
    bob_ws.next_event().await;
    assert_eq!(host.history(&gina.access, &secret).await.len(), 2, "the guest reads the history");
    post_text(host, &gina.access, &secret, "hi all").await.expect_status(201, "the guest posts");
    for ws_ in [&mut dave_ws, &mut gina_ws, &mut bob_ws] {
        assert_eq!(ws_.next_event().await.kind, kind::MESSAGE_POSTED);
    }

    // Adding members again adds nobody and appends nothing.
    let count = host.event_count(&bob.access, &secret).await;
    let r = add_members(host, &dave.access, &secret, &[&bob.user_id, &dave.user_id]).await;
    r.expect_status(200, "re-adding members");
    assert_eq!(r.body["added"], json!([]));
    assert_eq!(host.event_count(&bob.access, &secret).await, count);
    // Guests cannot add anyone, even into a channel they are in.
    add_members(host, &gina.access, &secret, &[&ann.user_id]).await.expect_error(403, "forbidden", "a guest adds");

    // The roster: names and workspace roles.
    let r = members(host, &gina.access, &secret).await;
    r.expect_status(200, "members");
    assert_eq!(member_ids(&r), sorted(&[&bob.user_id, &dave.user_id, &gina.user_id]));
    let row = |id: &str| r.body["members"].as_array().unwrap().iter().find(|m| m["user_id"] == id).cloned().unwrap();
    assert_eq!(row(&gina.user_id)["role"], "guest");
    assert_eq!(row(&bob.user_id)["role"], "member");
    assert_eq!(row(&dave.user_id)["display_name"], "dave");
    let page = host.get(&format!("{base}/members?limit=2"), Some(&bob.access)).await;
    page.expect_status(200, "first page");
    let next = page.str_at("/next_after");
    let rest = host.get(&format!("{base}/members?limit=2&after={next}"), Some(&bob.access)).await;
    assert_eq!(rest.body["members"].as_array().unwrap().len(), 1, "second page: {rest:?}");
    assert_eq!(rest.body["next_after"], Value::Null);
    host.get(&format!("{base}/members?limit=0"), Some(&bob.access)).await.expect_error(
        422,
        "validation_failed",
        "limit 0",
    );

    // Removal: the creator or an admin who can see it; not oneself; not a non-member.
    let count = host.event_count(&bob.access, &secret).await;
    remove_member(host, &dave.access, &secret, &gina.user_id).await.expect_error(403, "forbidden", "a member removes");
    remove_member(host, &gina.access, &secret, &dave.user_id).await.expect_error(403, "forbidden", "a guest removes");
    remove_member(host, &bob.access, &secret, &bob.user_id).await.expect_error(422, "validation_failed", "remove self");
    remove_member(host, &bob.access, &secret, &carol.user_id).await.expect_error(404, "not_found", "a non-member");
    remove_member(host, &bob.access, &secret, "nope").await.expect_error(404, "not_found", "a malformed user id");
    assert_eq!(host.event_count(&bob.access, &secret).await, count, "refusals appended nothing");

    remove_member(host, &bob.access, &secret, &dave.user_id).await.expect_status(204, "the creator removes dave");
    let ev = expect_event(&mut dave_ws, &secret, kind::MEMBER_LEFT, "dave sees his removal").await;
    assert_eq!(ev.data, json!({ "user_id": dave.user_id, "by": bob.user_id }));
    match dave_ws.next_significant().await {
        ServerFrame::Unsubscribed { channel_id } => assert_eq!(channel_id.to_string(), secret),
        other => panic!("dave: expected `unsubscribed`, got {other:?}"),
    }
    let left = expect_event(&mut gina_ws, &secret, kind::MEMBER_LEFT, "gina sees dave leave").await;
    assert_eq!(left.seq, ev.seq);
    bob_ws.next_event().await;
    // Nothing more reaches Dave; the channel is hidden from him again.
    host.post_message(&bob.access, &secret, "after dave").await;
    dave_ws.expect_no_event(QUIET).await;
    host.get(&base, Some(&dave.access)).await.expect_error(404, "not_found", "removed dave gets it");
    host.get(&format!("{base}/messages"), Some(&dave.access)).await.expect_error(404, "not_found", "removed history");
    members(host, &dave.access, &secret).await.expect_error(404, "not_found", "removed dave lists members");
    host.post_empty(&format!("{base}/join"), Some(&dave.access)).await.expect_error(404, "not_found", "rejoin");
    assert!(channel_in(&host.channels(&dave.access, &ws).await, &secret).is_none());
    remove_member(host, &bob.access, &secret, &dave.user_id).await.expect_error(404, "not_found", "remove twice");

    // Nobody is removed from #general, not even by the owner.
    let g = host.event_count(&ann.access, &general).await;
    remove_member(host, &ann.access, &general, &bob.user_id).await.expect_error(
        403,
        "forbidden",
        "remove from #general",
    );
    assert_eq!(host.event_count(&ann.access, &general).await, g);

    // An admin who is in the channel may remove (Carol cannot: she does not see it).
    add_members(host, &bob.access, &secret, &[&carol.user_id]).await.expect_status(200, "add carol");
    remove_member(host, &carol.access, &secret, &gina.user_id).await.expect_status(204, "an admin removes");
    host.get(&base, Some(&gina.access)).await.expect_error(404, "not_found", "removed guest gets it");
    dave_ws.close().await;
    gina_ws.close().await;
    bob_ws.close().await;
}

/// Public channels: members outside may read the roster but not add to it; guests need an
/// invitation into a channel and may receive one from a member.
async fn public_channel_members_and_guests(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let gina = host.signup("gina@example.com").await;
    let (ws, _) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    add_with_role(host, &ann, &gina, &ws, "guest").await;
    let open = host.create_channel(&ann.access, &ws, "open", "public").await;

    // Bob is not in #open: he may read its roster but not add people.
    assert_eq!(member_ids(&members(host, &bob.access, &open).await), sorted(&[&ann.user_id]));
    add_members(host, &bob.access, &open, &[&gina.user_id]).await.expect_error(403, "forbidden", "a non-member adds");
    // A guest sees no public channel until added, cannot join, cannot list it.
    members(host, &gina.access, &open).await.expect_error(403, "forbidden", "a guest lists members");
    host.post_empty(&format!("/api/v1/channels/{open}/join"), Some(&gina.access)).await.expect_error(
        403,
        "forbidden",
        "a guest joins",
    );
    assert!(channel_in(&host.channels(&gina.access, &ws).await, &open).is_none());

    let (mut gina_ws, _) = Ws::connect(host, &gina.access, false).await;
    let r = add_members(host, &ann.access, &open, &[&gina.user_id]).await;
    r.expect_status(200, "a member adds the guest");
    assert_eq!(r.body["added"], json!([gina.user_id]));
    expect_subscribed(&mut gina_ws, &open, "gina").await;
    expect_event(&mut gina_ws, &open, kind::MEMBER_JOINED, "gina").await;
    let listed = host.channels(&gina.access, &ws).await;
    assert_eq!(channel_in(&listed, &open).unwrap()["is_member"], true);
    host.post_message(&gina.access, &open, "thanks").await;
    // The guest may leave (then needs a new invitation, as for a private channel).
    host.post_empty(&format!("/api/v1/channels/{open}/leave"), Some(&gina.access)).await.expect_status(204, "leave");
    members(host, &gina.access, &open).await.expect_error(403, "forbidden", "the guest after leaving");
    gina_ws.close().await;
}

/// Direct messages: found again by their member set, from either side and in any order;
/// 1 to 8 members; only active members of the workspace; frozen membership and name.
async fn direct_messages(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let mut others = Vec::new();
    for name in ["bob", "carol", "dave", "erin", "fred", "gus", "hal", "ivy"] {
        others.push(host.signup(&format!("{name}@example.com")).await);
    }
    let gina = host.signup("gina@example.com").await;
    let zed = host.signup("zed@example.com").await;
    let (ws, _) = host.create_workspace(&ann.access, "Acme").await;
    let (zed_ws_id, _) = host.create_workspace(&zed.access, "Other").await;
    for o in &others {
        host.add_to_workspace(&ann, o, &ws).await;
    }
    add_with_role(host, &ann, &gina, &ws, "guest").await;
    let (bob, carol) = (&others[0], &others[1]);

    let (mut bob_ws, _) = Ws::connect(host, &bob.access, false).await;
    let (mut ann_ws, _) = Ws::connect(host, &ann.access, true).await;

    // Ann opens a DM with Bob: both members' sockets subscribe at once.
    let r = open_dm(host, &ann.access, &ws, &[&bob.user_id]).await;
    r.expect_status(201, "open a DM");
    let dm = r.str_at("/channel/id");
    assert_eq!(r.body["channel"]["kind"], "dm");
    assert_eq!(r.body["channel"]["member_ids"], json!(sorted(&[&ann.user_id, &bob.user_id])));
    assert_eq!(r.body["channel"]["member_count"], 2);
    assert_eq!(r.body["channel"]["last_seq"], 2);
    assert_eq!(r.body["channel"]["is_member"], true);
    let log = host.all_events_after(&bob.access, &dm, 0, 50).await;
    assert_eq!(
        log.iter().map(|e| (e.seq, e.kind.as_str())).collect::<Vec<_>>(),
        [(1, kind::MEMBER_JOINED), (2, kind::MEMBER_JOINED)]
    );
    let joined: Vec<String> = log.iter().map(|e| e.data["user_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(joined, sorted(&[&ann.user_id, &bob.user_id]));
    for (ws_, who) in [(&mut bob_ws, "bob"), (&mut ann_ws, "ann")] {
        expect_subscribed(ws_, &dm, who).await;
    }
    let seq = host.post_message(&ann.access, &dm, "psst").await;
    assert_eq!(seq, 3);
    for (ws_, who) in [(&mut bob_ws, "bob"), (&mut ann_ws, "ann")] {
        loop {
            let ev = ws_.next_event().await;
            assert_eq!(ev.channel_id.to_string(), dm, "{who}");
            if ev.kind == kind::MESSAGE_POSTED {
                assert_eq!((ev.seq, ev.data["text"].as_str()), (3, Some("psst")), "{who}");
                break;
            }
            assert_eq!(ev.kind, kind::MEMBER_JOINED, "{who}");
        }
    }

    // The same set again, in any order, from either side: the same DM, 200, nothing new.
    for (who, ids, what) in [
        (&ann, vec![bob.user_id.as_str()], "ann again"),
        (&ann, vec![bob.user_id.as_str(), ann.user_id.as_str(), bob.user_id.as_str()], "with self and a duplicate"),
        (bob, vec![ann.user_id.as_str()], "from bob's side"),
    ] {
        let r = open_dm(host, &who.access, &ws, &ids).await;
        r.expect_status(200, what);
        assert_eq!(r.str_at("/channel/id"), dm, "{what}");
    }
    assert_eq!(host.event_count(&ann.access, &dm).await, 3);

    // Group DMs: order does not matter; 8 members (caller included) is the most.
    let r = open_dm(host, &ann.access, &ws, &[&bob.user_id, &carol.user_id]).await;
    r.expect_status(201, "a group DM");
    let group = r.str_at("/channel/id");
    assert_ne!(group, dm);
    let r = open_dm(host, &carol.access, &ws, &[&bob.user_id, &ann.user_id]).await;
    r.expect_status(200, "the group from carol's side");
    assert_eq!(r.str_at("/channel/id"), group);
    let seven: Vec<&str> = others[..7].iter().map(|o| o.user_id.as_str()).collect();
    let r = open_dm(host, &ann.access, &ws, &seven).await;
    r.expect_status(201, "a DM of 8");
    assert_eq!(r.body["channel"]["member_ids"].as_array().unwrap().len(), 8);
    assert_eq!(r.body["channel"]["last_seq"], 8);
    let eight: Vec<&str> = others.iter().map(|o| o.user_id.as_str()).collect();
    let before = host.channels(&ann.access, &ws).await.len();
    open_dm(host, &ann.access, &ws, &eight).await.expect_error(422, "validation_failed", "a DM of 9");

    // Only active members of this workspace; the bad id is named; nothing is created.
    let r = open_dm(host, &ann.access, &ws, &[&bob.user_id, &zed.user_id]).await;
    r.expect_error(422, "validation_failed", "a DM with another workspace's user");
    assert!(r.body["error"]["message"].as_str().unwrap().contains(&zed.user_id), "names zed: {r:?}");
    open_dm(host, &ann.access, &ws, &["5d9e3c1a-0c4b-4f7e-8a8e-1b2c3d4e5f60"]).await.expect_error(
        422,
        "validation_failed",
        "an unknown user",
    );
    open_dm(host, &ann.access, &ws, &["nope"]).await.expect_error(422, "validation_failed", "a malformed id");
    open_dm(host, &zed.access, &ws, &[&ann.user_id]).await.expect_error(404, "not_found", "an outsider opens one");
    open_dm(host, &ann.access, &zed_ws_id, &[&zed.user_id]).await.expect_error(
        404,
        "not_found",
        "in a foreign workspace",
    );
    assert_eq!(host.channels(&ann.access, &ws).await.len(), before, "refusals created nothing");

    // Concurrent first opens of one set agree on a single DM (the unique dm_key decides).
    let trio = [others[2].user_id.as_str(), others[3].user_id.as_str()];
    let opens = (0..6).map(|_| open_dm(host, &ann.access, &ws, &trio));
    let replies = futures::future::join_all(opens).await;
    let ids: std::collections::BTreeSet<String> = replies.iter().map(|r| r.str_at("/channel/id")).collect();
    assert_eq!(ids.len(), 1, "concurrent opens made several DMs: {ids:?}");
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "exactly one open creates: {:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(replies.iter().all(|r| r.status == 201 || r.status == 200));
    let trio_dm = ids.into_iter().next().unwrap();
    assert_eq!(host.event_count(&ann.access, &trio_dm).await, 3, "one member.joined per member, once");

    // A note to self; a guest may open DMs with members.
    let r = open_dm(host, &ann.access, &ws, &[]).await;
    r.expect_status(201, "a note to self");
    assert_eq!(r.body["channel"]["member_ids"], json!([ann.user_id]));
    let me = r.str_at("/channel/id");
    assert_eq!(open_dm(host, &ann.access, &ws, &[&ann.user_id]).await.str_at("/channel/id"), me);
    let r = open_dm(host, &gina.access, &ws, &[&bob.user_id]).await;
    r.expect_status(201, "a guest opens a DM");
    host.post_message(&gina.access, &r.str_at("/channel/id"), "hi bob").await;

    // The list shows each user their own DMs (with member_ids), nobody else's.
    let list = host.channels(&ann.access, &ws).await;
    let row = channel_in(&list, &dm).unwrap();
    assert_eq!((row["kind"].as_str(), row["is_member"].as_bool()), (Some("dm"), Some(true)));
    assert_eq!(row["member_ids"], json!(sorted(&[&ann.user_id, &bob.user_id])));
    assert!(channel_in(&list, &me).is_some());
    let carols = host.channels(&carol.access, &ws).await;
    assert!(channel_in(&carols, &dm).is_none() && channel_in(&carols, &group).is_some());
    assert!(channel_in(&host.channels(&carol.access, &ws).await, &me).is_none());

    // A DM's name, lifecycle and membership are fixed; outsiders cannot see it.
    let count = host.event_count(&ann.access, &dm).await;
    patch(host, &ann.access, &dm, json!({ "topic": "x" })).await.expect_error(403, "forbidden", "topic of a DM");
    patch(host, &ann.access, &dm, json!({ "name": "x" })).await.expect_error(403, "forbidden", "rename a DM");
    archive(host, &ann.access, &dm).await.expect_error(403, "forbidden", "archive a DM");
    add_members(host, &ann.access, &dm, &[&carol.user_id]).await.expect_error(403, "forbidden", "add to a DM");
    remove_member(host, &ann.access, &dm, &bob.user_id).await.expect_error(403, "forbidden", "remove from a DM");
    host.post_empty(&format!("/api/v1/channels/{dm}/leave"), Some(&bob.access)).await.expect_error(
        403,
        "forbidden",
        "leave a DM",
    );
    for (path, what) in [
        (format!("/api/v1/channels/{dm}"), "get"),
        (format!("/api/v1/channels/{dm}/messages"), "history"),
        (format!("/api/v1/channels/{dm}/members"), "members"),
    ] {
        host.get(&path, Some(&carol.access)).await.expect_error(404, "not_found", what);
    }
    host.post_empty(&format!("/api/v1/channels/{dm}/join"), Some(&carol.access)).await.expect_error(
        404,
        "not_found",
        "join someone's DM",
    );
    assert_eq!(host.event_count(&ann.access, &dm).await, count, "refusals appended nothing");
    assert_eq!(member_ids(&members(host, &bob.access, &dm).await), sorted(&[&ann.user_id, &bob.user_id]));
    bob_ws.close().await;
    ann_ws.close().await;
}

/// Being removed from one channel is not going offline: Ann, who shares #general with Bob,
/// must not be told he went offline when he leaves #ops; she is when his socket closes.
async fn leaving_a_channel_keeps_presence(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    let ops = host.create_channel(&ann.access, &ws, "ops", "private").await;
    add_members(host, &ann.access, &ops, &[&bob.user_id]).await.expect_status(200, "add Bob to #ops");
    let (mut ann_ws, _) = Ws::connect(host, &ann.access, false).await;
    let (bob_ws, _) = Ws::connect(host, &bob.access, false).await;

    let bob_offline = |f: &ServerFrame| matches!(f, ServerFrame::Presence { user_id, status: Presence::Offline } if user_id.to_string() == bob.user_id);
    remove_member(host, &ann.access, &ops, &bob.user_id).await.expect_status(204, "remove Bob from #ops");
    let mut seen = frames_until_event(&mut ann_ws, &ops, kind::MEMBER_LEFT).await;
    // Another room's event, then a quiet spell: anything the removal caused has arrived.
    host.post_message(&ann.access, &general, "still here?").await;
    seen.extend(frames_until_event(&mut ann_ws, &general, kind::MESSAGE_POSTED).await);
    tokio::time::sleep(QUIET).await;
    seen.extend(ann_ws.ping(1).await);
    assert!(!seen.iter().any(bob_offline), "Bob was shown offline while connected: {seen:?}");

    bob_ws.close().await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "Ann never saw Bob go offline");
        if bob_offline(&ann_ws.next_frame().await) {
            break;
        }
    }
    ann_ws.close().await;
}

/// Every frame up to and including the first event of `kind` in `channel`.
async fn frames_until_event(ws: &mut Ws, channel: &str, kind: &str) -> Vec<ServerFrame> {
    let mut out = Vec::new();
    loop {
        let f = ws.next_frame().await;
        let done =
            matches!(&f, ServerFrame::Event { event } if event.kind == kind && event.channel_id.to_string() == channel);
        out.push(f);
        if done {
            return out;
        }
    }
}

crate::common::both_targets!(
    leaving_a_channel_keeps_presence,
    update_and_archive_channels,
    private_channel_members,
    public_channel_members_and_guests,
    direct_messages,
);
