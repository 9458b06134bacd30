//! Editing and deleting messages: authorization, live events, and what backfill reveals.

use crate::common::{Host, Ws, assert_contiguous};
use ocomms_core::event::kind;
use serde_json::json;

async fn edits_and_deletes_are_ordered_events_and_deleted_text_is_gone(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws_id, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws_id).await;
    let (mut bob_ws, _) = Ws::connect(host, &bob.access, false).await;

    let posted = host
        .post(&format!("/api/v1/channels/{general}/messages"), Some(&ann.access), json!({"text": "secret plan"}))
        .await;
    posted.expect_status(201, "post");
    let id = posted.str_at("/message/id");
    let seq_posted = bob_ws.next_event().await.seq;

    // Only the author edits; Bob (a member) and Eve (an outsider) cannot.
    let path = format!("/api/v1/messages/{id}");
    let edit = |token: &str, text: &str| {
        let req = host.request(reqwest::Method::PATCH, &path, Some(token)).json(&json!({ "text": text }));
        host.send(req)
    };
    edit(&bob.access, "hijacked").await.expect_error(403, "forbidden", "a member editing another's message");
    edit(&eve.access, "hijacked").await.expect_error(404, "not_found", "an outsider editing");
    edit(&ann.access, "   ").await.expect_error(422, "validation_failed", "an empty edit");
    let edited = edit(&ann.access, "revised plan").await;
    edited.expect_status(200, "author edits");
    assert_eq!(edited.body["message"]["text"], "revised plan");
    assert!(edited.body["message"]["edited_at_ms"].is_i64(), "edited_at is set: {:?}", edited.body);

    let ev = bob_ws.next_event().await;
    assert_eq!((ev.kind.as_str(), ev.seq), (kind::MESSAGE_EDITED, seq_posted + 1));
    assert_eq!(ev.data["text"], "revised plan");
    let history = host.history(&bob.access, &general).await;
    assert_eq!(history.last().map(|m| m["text"].clone()), Some(json!("revised plan")));
    // The edited-out text is erased from the event log too, not just superseded: a second
    // edit, and backfill from the start shows only the latest text.
    edit(&ann.access, "final plan").await.expect_status(200, "a second edit");
    assert_eq!(bob_ws.next_event().await.data["text"], "final plan");
    let log = host.all_events_after(&bob.access, &general, 0, 50).await;
    let dump = serde_json::to_string(&log.iter().map(|e| &e.data).collect::<Vec<_>>()).unwrap();
    assert!(!dump.contains("secret plan") && !dump.contains("revised plan"), "edited-out text in the log: {dump}");
    let posted_ev = log.iter().find(|e| e.seq == seq_posted).expect("the posted event");
    assert_eq!((posted_ev.kind.as_str(), posted_ev.data["text"].as_str()), (kind::MESSAGE_POSTED, Some("final plan")));

    // Bob cannot delete Ann's message; Ann can, and the text leaves the event log too.
    let delete = |token: &str| host.send(host.request(reqwest::Method::DELETE, &path, Some(token)));
    delete(&bob.access).await.expect_error(403, "forbidden", "a member deleting another's message");
    delete(&eve.access).await.expect_error(404, "not_found", "an outsider deleting");
    delete(&ann.access).await.expect_status(204, "author deletes");
    let ev = bob_ws.next_event().await;
    assert_eq!((ev.kind.as_str(), ev.seq), (kind::MESSAGE_DELETED, seq_posted + 3));
    assert_eq!(ev.data["id"], json!(id));
    assert!(ev.data.get("text").is_none(), "a tombstone carries no text: {:?}", ev.data);

    assert!(host.history(&bob.access, &general).await.iter().all(|m| m["id"] != json!(id)));
    let log = host.all_events_after(&bob.access, &general, 0, 50).await;
    let dump = serde_json::to_string(&log.iter().map(|e| &e.data).collect::<Vec<_>>()).unwrap();
    assert!(
        !dump.contains("secret plan") && !dump.contains("revised plan") && !dump.contains("final plan"),
        "deleted text is still in the log: {dump}"
    );
    assert_contiguous(&log.iter().map(|e| e.seq).collect::<Vec<_>>(), 1, seq_posted + 3, "event log");

    // A deleted message is gone for every further action.
    edit(&ann.access, "again").await.expect_error(404, "not_found", "editing a deleted message");
    delete(&ann.access).await.expect_error(404, "not_found", "deleting twice");
    host.send(host.request(reqwest::Method::DELETE, "/api/v1/messages/not-a-uuid", Some(&ann.access)))
        .await
        .expect_error(404, "not_found", "a malformed id");
    host.send(host.request(reqwest::Method::PUT, &path, Some(&ann.access))).await.expect_error(
        405,
        "method_not_allowed",
        "PUT on a message",
    );

    // The owner (admin rights) may delete Bob's message as moderation.
    let bobs =
        host.post(&format!("/api/v1/channels/{general}/messages"), Some(&bob.access), json!({"text": "spam"})).await;
    let bobs_path = format!("/api/v1/messages/{}", bobs.str_at("/message/id"));
    host.send(host.request(reqwest::Method::DELETE, &bobs_path, Some(&ann.access)))
        .await
        .expect_status(204, "owner deletes a member's message");
    bob_ws.close().await;
}

/// A `client_msg_id` makes a post idempotent for its author in its channel, and nowhere else.
async fn a_client_msg_id_is_the_authors_in_one_channel(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws_id, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws_id).await;
    let random = host.create_channel(&ann.access, &ws_id, "random", "public").await;
    let post = |token: &str, ch: &str, body: serde_json::Value| {
        let (token, path) = (token.to_owned(), format!("/api/v1/channels/{ch}/messages"));
        async move { host.post(&path, Some(&token), body).await }
    };

    let first = post(&ann.access, &general, json!({ "text": "once", "client_msg_id": "k-1" })).await;
    first.expect_status(201, "a post with a key");
    let id = first.str_at("/message/id");
    let again = post(&ann.access, &general, json!({ "text": "once", "client_msg_id": "k-1" })).await;
    again.expect_status(200, "the retry");
    assert_eq!(again.str_at("/message/id"), id, "the retry answers the stored message");

    // Another author's key, and the same key in another channel, are new posts.
    let bobs = post(&bob.access, &general, json!({ "text": "mine", "client_msg_id": "k-1" })).await;
    bobs.expect_status(201, "Bob's post with Ann's key");
    let elsewhere = post(&ann.access, &random, json!({ "text": "there", "client_msg_id": "k-1" })).await;
    elsewhere.expect_status(201, "the same key in another channel");
    let ids = [id.clone(), bobs.str_at("/message/id"), elsewhere.str_at("/message/id")];
    assert!(ids[0] != ids[1] && ids[0] != ids[2] && ids[1] != ids[2], "three messages: {ids:?}");

    // An outsider learns nothing from a key, and a bad key is refused before anything.
    post(&eve.access, &general, json!({ "text": "once", "client_msg_id": "k-1" })).await.expect_error(
        404,
        "not_found",
        "an outsider retrying Ann's key",
    );
    post(&ann.access, &general, json!({ "text": "x", "client_msg_id": "k".repeat(65) })).await.expect_error(
        422,
        "validation_failed",
        "a key over 64 characters",
    );
    let history = host.history(&ann.access, &general).await;
    let texts: Vec<_> = history.iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts.iter().filter(|t| **t == "once").count(), 1, "one stored post for the retried key: {texts:?}");
    assert!(!texts.contains(&"x"), "the refused post left nothing: {texts:?}");
}

/// History pages back from the newest: `limit` messages oldest first, `next_before` until the
/// first page, replies only when also sent to the channel, a deleted root with replies as a
/// tombstone, and the text of other deleted messages nowhere.
async fn history_pages_back_to_the_first_message(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (_, general) = host.create_workspace(&ann.access, "Acme").await;
    let path = format!("/api/v1/channels/{general}/messages");
    let post = |body: serde_json::Value| {
        let (token, path) = (ann.access.clone(), path.clone());
        async move {
            let r = host.post(&path, Some(&token), body).await;
            r.expect_status(201, "a post");
            r.str_at("/message/id")
        }
    };
    // The timeline: m1 (a root, deleted later with a reply kept), m2 .. m5, and the replies
    // "quiet" (thread only) and "loud" (also to the channel), and "gone" (deleted).
    let root = post(json!({ "text": "m1" })).await;
    post(json!({ "text": "quiet", "thread_root_id": root })).await;
    for i in 2..=5 {
        post(json!({ "text": format!("m{i}") })).await;
    }
    post(json!({ "text": "loud", "thread_root_id": root, "also_to_channel": true })).await;
    let gone = post(json!({ "text": "gone" })).await;
    for id in [&root, &gone] {
        let r = host.send(host.request(reqwest::Method::DELETE, &format!("/api/v1/messages/{id}"), Some(&ann.access)));
        r.await.expect_status(204, "a delete");
    }

    let page = |query: String| {
        let (token, path) = (ann.access.clone(), format!("{path}?{query}"));
        async move {
            let r = host.get(&path, Some(&token)).await;
            r.expect_status(200, "a page of history");
            let messages = r.body["messages"].as_array().cloned().unwrap_or_else(|| panic!("no messages: {r:?}"));
            let texts: Vec<String> = messages
                .iter()
                .map(|m| {
                    if m["deleted"] == json!(true) {
                        "(deleted)".into()
                    } else {
                        m["text"].as_str().unwrap_or("?").into()
                    }
                })
                .collect();
            let seqs: Vec<i64> = messages.iter().map(|m| m["seq"].as_i64().expect("a seq")).collect();
            (texts, seqs, r.body["next_before"].as_i64())
        }
    };
    let (texts, seqs, next) = page("limit=2".into()).await;
    assert_eq!(texts, ["m5", "loud"], "the newest page, oldest first");
    assert!(seqs[0] < seqs[1], "{seqs:?}");
    assert_eq!(next, Some(seqs[0]), "a full page points before its oldest message");
    let (texts, _, next) = page(format!("limit=2&before={}", next.unwrap_or_default())).await;
    assert_eq!(texts, ["m3", "m4"]);
    let (texts, seqs, next) = page(format!("limit=2&before={}", next.unwrap_or_default())).await;
    assert_eq!(texts, ["(deleted)", "m2"], "the deleted root stays, as a tombstone without its text");
    let (texts, _, last) = page(format!("limit=2&before={}", next.unwrap_or_default())).await;
    assert!(texts.is_empty() && last.is_none(), "nothing before the first message: {texts:?} {last:?}");
    let (texts, _, next) = page(format!("limit=3&before={}", seqs[1] + 1)).await;
    assert_eq!((texts.as_slice(), next), (&["(deleted)".to_string(), "m2".to_string()][..], None), "a short page ends");
    let (texts, _, _) = page("limit=50".into()).await;
    assert_eq!(texts, ["(deleted)", "m2", "m3", "m4", "m5", "loud"], "the whole timeline in one page");

    for (query, why) in
        [("limit=0", "a limit of zero"), ("limit=201", "a limit over 200"), ("before=x", "a bad cursor")]
    {
        let r = host.get(&format!("{path}?{query}"), Some(&ann.access)).await;
        assert!(matches!(r.status, 400 | 422), "{why}: {r:?}");
    }
    host.get(&path, Some(&eve.access)).await.expect_error(404, "not_found", "an outsider reading history");
}

crate::common::both_targets!(
    edits_and_deletes_are_ordered_events_and_deleted_text_is_gone,
    a_client_msg_id_is_the_authors_in_one_channel,
    history_pages_back_to_the_first_message,
);

// The same, behind a transaction pooler.
crate::common::through_pgbouncer!(edits_and_deletes_are_ordered_events_and_deleted_text_is_gone,);
