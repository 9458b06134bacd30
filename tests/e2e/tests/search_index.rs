//! The Meilisearch index follows PostgreSQL: posts, edits, deletes, pins and replies made
//! through the API reach it, nothing is lost while Meilisearch is down (the queue in
//! PostgreSQL holds them until it is back), and `ocomms reindex` rebuilds it.
//!
//! Meilisearch is a real server (`common::meili`).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::meili::{KEY, Meili, meilisearch_available};
use crate::common::{Host, HostOptions, Session, Target};

const CONVERGE: Duration = Duration::from_secs(30);

/// What the index should hold: every live message of the channel, with its text and flags.
async fn expected(host: &Host, who: &Session, channel: &str) -> BTreeMap<String, (String, bool, bool)> {
    let mut out = BTreeMap::new();
    let mut all = host.history(&who.access, channel).await;
    // Replies only in a thread are not in the history: add every thread's.
    let roots: Vec<String> = all
        .iter()
        .filter(|m| m["reply_count"].as_i64().unwrap_or(0) > 0)
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect();
    for root in roots {
        let r = host.get(&format!("/api/v1/messages/{root}/thread?limit=200"), Some(&who.access)).await;
        r.expect_status(200, "thread");
        all.extend(r.body["replies"].as_array().cloned().unwrap_or_default());
    }
    for m in all {
        if m["deleted"] == true {
            continue;
        }
        let id = m["id"].as_str().unwrap_or_default().to_owned();
        let is_thread = m["thread_root_id"].is_string() || m["reply_count"].as_i64().unwrap_or(0) > 0;
        out.insert(id, (m["text"].as_str().unwrap_or_default().to_owned(), is_thread, m["pinned"] == true));
    }
    out
}

async fn converged(meili: &Meili, want: &BTreeMap<String, (String, bool, bool)>, what: &str) {
    let started = Instant::now();
    loop {
        let docs = meili.documents().await;
        let got: BTreeMap<String, (String, bool, bool)> = docs
            .iter()
            .map(|(id, d)| {
                let text = d["text"].as_str().unwrap_or_default().to_owned();
                (id.clone(), (text, d["is_thread"] == true, d["pinned"] == true))
            })
            .collect();
        if &got == want {
            return;
        }
        assert!(
            started.elapsed() < CONVERGE,
            "{what}: the index did not converge\nwant {want:#?}\ngot {got:#?}\n{}",
            meili.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn engine_of(r: &crate::common::Reply) -> String {
    r.headers.get("x-search-engine").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

/// Rows waiting in PostgreSQL's search queue.
async fn queue_length(db: &ocomms_testsupport::TestDb) -> i64 {
    let client = db.connect().await.expect("connect to the test database");
    client.query_one("SELECT count(*) FROM search_outbox", &[]).await.expect("count the queue").get(0)
}

async fn post(host: &Host, who: &Session, channel: &str, body: Value) -> String {
    let r = host.post(&format!("/api/v1/channels/{channel}/messages"), Some(&who.access), body).await;
    r.expect_status(201, "post");
    r.str_at("/message/id")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_index_follows_every_change_and_loses_nothing_while_meilisearch_is_down() {
    if !meilisearch_available("search_index::the_index_follows_every_change") {
        return;
    }
    let mut meili = Meili::start().await;
    let db = ocomms_testsupport::fresh_db().await.expect("a fresh test database");
    let host = Target::Host
        .start_with(HostOptions {
            database_url: Some(db.url.clone()),
            meilisearch: Some((meili.url(), KEY.to_owned())),
            ..HostOptions::default()
        })
        .await;
    let ann = host.signup("ann@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;

    // Posts, an edit, a delete, a pin and a reply all reach the index.
    let a = post(&host, &ann, &general, json!({ "text": "first deploy note" })).await;
    let b = post(&host, &ann, &general, json!({ "text": "a typo wrod" })).await;
    let c = post(&host, &ann, &general, json!({ "text": "to be deleted" })).await;
    post(&host, &ann, &general, json!({ "text": "a reply", "thread_root_id": a })).await;
    let r = host
        .send(
            host.request(reqwest::Method::PATCH, &format!("/api/v1/messages/{b}"), Some(&ann.access))
                .json(&json!({ "text": "a typo word" })),
        )
        .await;
    assert!(r.status < 300, "edit: {r:?}");
    let r = host.send(host.request(reqwest::Method::DELETE, &format!("/api/v1/messages/{c}"), Some(&ann.access))).await;
    assert!(r.status < 300, "delete: {r:?}");
    let r = host.post_empty(&format!("/api/v1/messages/{b}/pin"), Some(&ann.access)).await;
    assert!(r.status < 300, "pin: {r:?}");
    converged(&meili, &expected(&host, &ann, &general).await, "after posts, an edit, a delete, a pin and a reply")
        .await;

    // Meilisearch goes away; changes go on; nothing is lost when it is back.
    meili.stop();
    let mut later = Vec::new();
    for i in 0..5 {
        later.push(post(&host, &ann, &general, json!({ "text": format!("while down {i}") })).await);
    }
    let r = host
        .send(
            host.request(reqwest::Method::PATCH, &format!("/api/v1/messages/{}", later[0]), Some(&ann.access))
                .json(&json!({ "text": "edited while down" })),
        )
        .await;
    assert!(r.status < 300, "edit while down: {r:?}");
    let r = host
        .send(host.request(reqwest::Method::DELETE, &format!("/api/v1/messages/{}", later[1]), Some(&ann.access)))
        .await;
    assert!(r.status < 300, "delete while down: {r:?}");
    let r = host.send(host.request(reqwest::Method::DELETE, &format!("/api/v1/messages/{a}"), Some(&ann.access))).await;
    assert!(r.status < 300, "delete an indexed message while down: {r:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let queued = queue_length(&db).await;
    assert!(queued >= 8, "the changes wait in the queue while Meilisearch is down ({queued} queued)");
    // Searches go on meanwhile: PostgreSQL answers, and says so.
    let r = host.get(&format!("/api/v1/workspaces/{ws}/search?q=%22while+down%22"), Some(&ann.access)).await;
    r.expect_status(200, "search while Meilisearch is down");
    assert_eq!(engine_of(&r), "postgres");
    assert_eq!(r.body["hits"].as_array().map(Vec::len), Some(4), "{r:?}");
    meili.launch().await;
    let want = expected(&host, &ann, &general).await;
    assert!(want.values().any(|(t, _, _)| t == "edited while down"));
    converged(&meili, &want, "after Meilisearch came back").await;
    let r = host.get(&format!("/api/v1/workspaces/{ws}/search?q=%22while+down%22"), Some(&ann.access)).await;
    r.expect_status(200, "search once Meilisearch is back");
    assert_eq!(engine_of(&r), "meilisearch");
    assert_eq!(r.body["hits"].as_array().map(Vec::len), Some(4), "{r:?}");
    let started = Instant::now();
    loop {
        let left = queue_length(&db).await;
        if left == 0 {
            break;
        }
        assert!(started.elapsed() < CONVERGE, "the queue did not empty ({left} left)");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A rebuild from PostgreSQL gives the same index, with a summary.
    let out = Command::new(crate::common::host_binary())
        .args(["reindex", "--database-url", &db.url, "--meilisearch-url", &meili.url(), "--meilisearch-key", KEY])
        .env_remove("OCOMMS_DATABASE_URL")
        .output()
        .expect("run ocomms reindex");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "reindex failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("reindexed {} messages", want.len())), "{stdout}");
    converged(&meili, &want, "after a reindex").await;
}
