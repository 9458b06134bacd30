//! Message search (`GET /workspaces/{id}/search`) on every target: the query syntax, what a
//! caller may see, edits and deletes, snippets, sorting and pages, and bad queries.

use serde_json::{Value, json};

use crate::common::{Host, Reply, Session};

crate::common::both_targets!(
    the_query_syntax_finds_what_it_says,
    only_readable_channels_are_searched,
    bad_queries_are_refused_clearly
);

async fn search(host: &Host, who: &Session, ws: &str, q: &str) -> Reply {
    let q = urlencode(q);
    host.get(&format!("/api/v1/workspaces/{ws}/search?q={q}"), Some(&who.access)).await
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The texts of the hits, rebuilt from their snippets, in order.
async fn texts(host: &Host, who: &Session, ws: &str, q: &str) -> Vec<String> {
    let r = search(host, who, ws, q).await;
    r.expect_status(200, &format!("search {q:?}"));
    hits_text(&r)
}

fn hits_text(r: &Reply) -> Vec<String> {
    r.body["hits"]
        .as_array()
        .unwrap_or_else(|| panic!("no hits array: {r:?}"))
        .iter()
        .map(|h| {
            h["snippet"].as_array().map(|f| f.iter().filter_map(|p| p["text"].as_str()).collect()).unwrap_or_default()
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

async fn post(host: &Host, who: &Session, channel: &str, body: Value) -> Value {
    let r = host.post(&format!("/api/v1/channels/{channel}/messages"), Some(&who.access), body).await;
    r.expect_status(201, "post");
    r.body["message"].clone()
}

async fn the_query_syntax_finds_what_it_says(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob.lee@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    let ops = host.create_channel(&ann.access, &ws, "ops", "public").await;
    host.join_channel(&bob.access, &ops).await;

    host.post_message(&ann.access, &general, "Deploy the release notes today").await;
    host.post_message(&bob.access, &general, "notes on the release, not deployed").await;
    let root = post(host, &ann, &ops, json!({ "text": "rollback plan for the deploy" })).await;
    post(host, &bob, &ops, json!({ "text": "rolling restart done", "thread_root_id": root["id"] })).await;
    host.post_message(&bob.access, &ops, "see https://example.com/runbook").await;
    host.post_message(&ann.access, &general, "明日は東京タワーへ行きます").await;
    let pinned = post(host, &ann, &general, json!({ "text": "the pinned checklist" })).await;
    let pin =
        host.post_empty(&format!("/api/v1/messages/{}/pin", pinned["id"].as_str().unwrap()), Some(&ann.access)).await;
    assert!(pin.status < 300, "pin: {pin:?}");

    // Whole words, all of them.
    assert_eq!(
        texts(host, &ann, &ws, "deploy").await,
        ["rollback plan for the deploy", "Deploy the release notes today"]
    );
    assert_eq!(texts(host, &ann, &ws, "release notes").await.len(), 2);
    // A phrase keeps the order.
    assert_eq!(texts(host, &ann, &ws, "\"release notes\"").await, ["Deploy the release notes today"]);
    // Prefixes, exclusions.
    assert_eq!(sorted(texts(host, &ann, &ws, "roll*").await), ["rollback plan for the deploy", "rolling restart done"]);
    assert_eq!(texts(host, &ann, &ws, "deploy -rollback").await, ["Deploy the release notes today"]);
    // CJK text without spaces is found by a part of it.
    assert_eq!(texts(host, &ann, &ws, "東京").await, ["明日は東京タワーへ行きます"]);
    // Filters.
    // A handle is a display name without spaces, or an email's local part.
    assert!(texts(host, &ann, &ws, "from:@bob").await.is_empty());
    let from_bob = sorted(texts(host, &ann, &ws, "from:@Bob.Lee").await);
    assert_eq!(
        from_bob,
        ["notes on the release, not deployed", "rolling restart done", "see https://example.com/runbook"]
    );
    assert_eq!(texts(host, &bob, &ws, "from:me in:#ops").await.len(), 2);
    assert_eq!(texts(host, &ann, &ws, "has:link").await, ["see https://example.com/runbook"]);
    assert_eq!(texts(host, &ann, &ws, "has:pin").await, ["the pinned checklist"]);
    assert_eq!(
        sorted(texts(host, &ann, &ws, "is:thread").await),
        ["rollback plan for the deploy", "rolling restart done"]
    );
    assert_eq!(texts(host, &ann, &ws, "deploy in:general").await, ["Deploy the release notes today"]);
    assert!(texts(host, &ann, &ws, "deploy in:#nowhere").await.is_empty());
    assert!(texts(host, &ann, &ws, "deploy before:2000-01-01").await.is_empty());
    assert_eq!(texts(host, &ann, &ws, "deploy after:2000-01-01").await.len(), 2);

    // A hit says where it is; a reply names its thread; the snippet marks the match.
    let r = search(host, &ann, &ws, "restart").await;
    r.expect_status(200, "search restart");
    let hit = &r.body["hits"][0];
    assert_eq!(hit["channel_id"], ops.as_str());
    assert_eq!(hit["channel_name"], "ops");
    assert_eq!(hit["author_name"], "bob.lee");
    assert_eq!(hit["thread_root_id"], root["id"]);
    assert_eq!(
        hit["snippet"],
        json!([{ "text": "rolling ", "hit": false }, { "text": "restart", "hit": true }, { "text": " done", "hit": false }])
    );

    // Edits and deletes reach the results at once.
    let edited = post(host, &ann, &general, json!({ "text": "typo wrod here" })).await;
    let id = edited["id"].as_str().unwrap();
    assert_eq!(texts(host, &ann, &ws, "wrod").await.len(), 1);
    let r = host
        .send(
            host.request(reqwest::Method::PATCH, &format!("/api/v1/messages/{id}"), Some(&ann.access))
                .json(&json!({ "text": "typo word here" })),
        )
        .await;
    assert!(r.status < 300, "edit: {r:?}");
    assert!(texts(host, &ann, &ws, "wrod").await.is_empty());
    assert_eq!(texts(host, &ann, &ws, "word").await, ["typo word here"]);
    let r =
        host.send(host.request(reqwest::Method::DELETE, &format!("/api/v1/messages/{id}"), Some(&ann.access))).await;
    assert!(r.status == 200 || r.status == 204, "delete: {r:?}");
    assert!(texts(host, &ann, &ws, "word").await.is_empty(), "a deleted message is never a hit");

    // Newest first, and pages that add up to the whole.
    for i in 0..5 {
        host.post_message(&ann.access, &general, &format!("paged item {i}")).await;
    }
    let newest = texts(host, &ann, &ws, "paged").await;
    assert_eq!(newest.len(), 5);
    let r = host.get(&format!("/api/v1/workspaces/{ws}/search?q=paged&sort=newest&limit=2"), Some(&ann.access)).await;
    r.expect_status(200, "page 1");
    let mut all = hits_text(&r);
    assert_eq!(all, ["paged item 4", "paged item 3"]);
    let mut cursor = r.body["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let r = host
            .get(&format!("/api/v1/workspaces/{ws}/search?q=paged&sort=newest&limit=2&cursor={c}"), Some(&ann.access))
            .await;
        r.expect_status(200, "next page");
        all.extend(hits_text(&r));
        cursor = r.body["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(all, ["paged item 4", "paged item 3", "paged item 2", "paged item 1", "paged item 0"]);
}

async fn only_readable_channels_are_searched(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let eve = host.signup("eve@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    let secret = host.create_channel(&ann.access, &ws, "secret", "private").await;
    host.post_message(&ann.access, &secret, "launch codes in secret").await;
    host.post_message(&ann.access, &general, "launch party on friday").await;
    let archived = host.create_channel(&ann.access, &ws, "old", "public").await;
    host.post_message(&ann.access, &archived, "launch retro notes").await;
    host.post_empty(&format!("/api/v1/channels/{archived}/archive"), Some(&ann.access))
        .await
        .expect_status(200, "archive");

    // Bob is not in #secret: no hit from it, whatever the query names.
    assert_eq!(sorted(texts(host, &bob, &ws, "launch").await), ["launch party on friday", "launch retro notes"]);
    assert!(texts(host, &bob, &ws, "launch in:#secret").await.is_empty());
    assert!(texts(host, &bob, &ws, "codes").await.is_empty());
    assert_eq!(texts(host, &ann, &ws, "codes").await, ["launch codes in secret"]);
    // Added, he finds it; removed again, he does not.
    let r = host
        .post(&format!("/api/v1/channels/{secret}/members"), Some(&ann.access), json!({ "user_ids": [bob.user_id] }))
        .await;
    assert!(r.status < 300, "add bob: {r:?}");
    assert_eq!(texts(host, &bob, &ws, "codes").await, ["launch codes in secret"]);
    let r = host
        .send(host.request(
            reqwest::Method::DELETE,
            &format!("/api/v1/channels/{secret}/members/{}", bob.user_id),
            Some(&ann.access),
        ))
        .await;
    assert!(r.status < 300, "remove bob: {r:?}");
    assert!(texts(host, &bob, &ws, "codes").await.is_empty());
    // Not in the workspace: 404, as for every workspace route; removed: the same.
    search(host, &eve, &ws, "launch").await.expect_error(404, "not_found", "an outsider searches");
    let r = host
        .send(host.request(
            reqwest::Method::DELETE,
            &format!("/api/v1/workspaces/{ws}/members/{}", bob.user_id),
            Some(&ann.access),
        ))
        .await;
    assert!(r.status < 300, "remove bob from the workspace: {r:?}");
    let bob = host.login("bob@example.com").await;
    search(host, &bob, &ws, "launch").await.expect_error(404, "not_found", "a removed member searches");
}

async fn bad_queries_are_refused_clearly(host: &Host) {
    let ann = host.signup("ann@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.post_message(&ann.access, &general, "something to find").await;
    let long = "a".repeat(1000);
    for (q, why) in [
        ("", "empty"),
        ("   ", "empty"),
        (long.as_str(), "longer"),
        ("label:x", "unknown search operator"),
        ("x has:emoji", "has:emoji"),
        ("x before:2026-13-01", "not a date"),
        ("x before:yesterday", "not a date"),
        ("x after:2026-01-02 before:2026-01-02", "date range"),
        ("-alone", "add a word"),
        ("a*", "prefix"),
    ] {
        let r = search(host, &ann, &ws, q).await;
        r.expect_error(422, "validation_failed", &format!("query {q:?}"));
        assert!(r.text.contains(why), "{q:?} should say {why:?}: {}", r.text);
    }
    // Unbalanced quotes are a phrase to the end, not an error.
    assert_eq!(texts(host, &ann, &ws, "\"something to").await, ["something to find"]);
    for (params, what) in [
        ("q=x&sort=oldest", "an unknown sort"),
        ("q=x&limit=0", "a zero limit"),
        ("q=x&limit=101", "too large a limit"),
        ("q=x&cursor=abc", "a made-up cursor"),
        ("q=x&cursor=5000", "a cursor past the end"),
    ] {
        host.get(&format!("/api/v1/workspaces/{ws}/search?{params}"), Some(&ann.access)).await.expect_error(
            422,
            "validation_failed",
            what,
        );
    }
    host.get(&format!("/api/v1/workspaces/{ws}/search?q=x&limit=ten"), Some(&ann.access)).await.expect_error(
        400,
        "bad_request",
        "limit not a number",
    );
    host.get(&format!("/api/v1/workspaces/{ws}/search?q=x"), None).await.expect_status(401, "no token");
}
