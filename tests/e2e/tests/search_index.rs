//! The Meilisearch index follows PostgreSQL: posts, edits, deletes, pins and replies made
//! through the API reach it, nothing is lost while Meilisearch is down (the queue in
//! PostgreSQL holds them until it is back), and `wasm-host reindex` rebuilds it.
//!
//! Meilisearch is a real server: `OCOMMS_MEILISEARCH_BIN`, else `../shared/bin/meilisearch`
//! beside the repository, else `meilisearch` on PATH. Without one these tests say so loudly
//! and end early; `OCOMMS_REQUIRE_MEILISEARCH=1` (set by CI) makes that a failure.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{Host, HostOptions, Session, Target, workspace_root};

const KEY: &str = "ocomms-e2e-master-key-0123456789";
const CONVERGE: Duration = Duration::from_secs(30);

fn meilisearch_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OCOMMS_MEILISEARCH_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let shared = workspace_root().parent()?.join("shared").join("bin").join("meilisearch");
    if shared.is_file() {
        return Some(shared);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("meilisearch")).find(|p| p.is_file())
}

fn available(test: &str) -> bool {
    if meilisearch_binary().is_some() {
        return true;
    }
    let msg = "no Meilisearch binary found (set OCOMMS_MEILISEARCH_BIN, or put `meilisearch` on PATH)";
    assert!(
        std::env::var_os("OCOMMS_REQUIRE_MEILISEARCH").is_none(),
        "{test}: {msg}, and OCOMMS_REQUIRE_MEILISEARCH is set"
    );
    eprintln!("\n!!! SKIPPED {test}: {msg} !!!\n");
    false
}

/// A Meilisearch server on a loopback port with its own database directory.
struct Meili {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    http: reqwest::Client,
}

impl Meili {
    async fn start() -> Meili {
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        let dir = std::env::temp_dir().join(format!("ocomms-meili-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the Meilisearch directory");
        let mut m = Meili { child: None, port, dir, http: reqwest::Client::new() };
        m.launch().await;
        m
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn launch(&mut self) {
        let bin = meilisearch_binary().expect("a Meilisearch binary (check available first)");
        let log = std::fs::File::create(self.dir.join("meili.log")).expect("create the log");
        let child = Command::new(bin)
            .args([
                "--http-addr",
                &format!("127.0.0.1:{}", self.port),
                "--master-key",
                KEY,
                "--no-analytics",
                "--env",
                "development",
            ])
            .arg("--db-path")
            .arg(self.dir.join("db"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log"))
            .stderr(log)
            .spawn()
            .expect("start Meilisearch");
        self.child = Some(child);
        let started = Instant::now();
        loop {
            let ok =
                self.http.get(format!("{}/health", self.url())).send().await.is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "Meilisearch did not start: {}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("meili.log")).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every document of the messages index, by id (empty when there is no index yet).
    async fn documents(&self) -> BTreeMap<String, Value> {
        let r = self
            .http
            .get(format!("{}/indexes/messages/documents?limit=10000", self.url()))
            .bearer_auth(KEY)
            .send()
            .await;
        let Ok(r) = r else { return BTreeMap::new() };
        if !r.status().is_success() {
            return BTreeMap::new();
        }
        let body: Value = r.json().await.unwrap_or_default();
        body["results"]
            .as_array()
            .map(|docs| docs.iter().filter_map(|d| Some((d["id"].as_str()?.to_owned(), d.clone()))).collect())
            .unwrap_or_default()
    }
}

impl Drop for Meili {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

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
    if !available("search_index::the_index_follows_every_change") {
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
    let (_ws, general) = host.create_workspace(&ann.access, "Acme").await;

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
    meili.launch().await;
    let want = expected(&host, &ann, &general).await;
    assert!(want.values().any(|(t, _, _)| t == "edited while down"));
    converged(&meili, &want, "after Meilisearch came back").await;
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
        .expect("run wasm-host reindex");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "reindex failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&format!("reindexed {} messages", want.len())), "{stdout}");
    converged(&meili, &want, "after a reindex").await;
}
