//! `backup` and `restore` as an operator runs them, against a real host with its managed
//! PostgreSQL and embedded file store: a backup taken while messages are being posted, one
//! taken after, each restored into a new data directory and served by a new host. The
//! restored install has every row of every table and every stored file of the source (the
//! quiet backup), or a consistent earlier state of it (the live one), and sessions issued
//! before the backup still work when the secrets were archived. Damaged archives and
//! non-empty targets are refused without writing anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Host, HostOptions, Session, Target, host_binary, unique_temp_dir};

/// Runs the binary with `args` and no configuration from the test's environment.
async fn run(args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(host_binary());
    cmd.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("SPIN_VARIABLE_") || n.starts_with("OCOMMS_")) {
            cmd.env_remove(&name);
        }
    }
    cmd.output().await.expect("run the binary")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

async fn backup(data_dir: &Path, output: &Path, secrets: bool) -> String {
    let (d, o) = (data_dir.to_string_lossy(), output.to_string_lossy());
    let mut args = vec!["backup", "--output", &o, "--data-dir", &d];
    if secrets {
        args.push("--include-secrets");
    }
    let out = run(&args).await;
    assert!(out.status.success(), "backup failed: {}", text(&out));
    println!("{}", text(&out));
    text(&out)
}

async fn restore(input: &Path, data_dir: &Path) -> Output {
    let (i, d) = (input.to_string_lossy(), data_dir.to_string_lossy());
    run(&["restore", "--input", &i, "--data-dir", &d]).await
}

/// A new host on a directory holding a restored data directory at `<dir>/data`.
async fn restored_host(archive: &Path) -> Host {
    let dir = unique_temp_dir();
    let out = restore(archive, &dir.join("data")).await;
    assert!(out.status.success(), "restore failed: {}", text(&out));
    Host::start_in(dir, HostOptions::default()).await
}

/// The managed PostgreSQL of a running host's data directory.
async fn db(data_dir: &Path) -> tokio_postgres::Client {
    let read = |n: &str| std::fs::read_to_string(data_dir.join(n)).unwrap().trim().to_owned();
    let url = format!("postgresql://postgres:{}@127.0.0.1:{}/ocomms", read("pg-password"), read("pg-port"));
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect to the host's db");
    tokio::spawn(conn);
    client
}

/// Every row of every table of the public schema, as JSON text, sorted.
async fn all_rows(client: &tokio_postgres::Client) -> BTreeMap<String, Vec<String>> {
    let tables = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for t in tables {
        let name: String = t.get(0);
        let rows =
            client.query(&format!("SELECT to_jsonb(t)::text FROM public.\"{name}\" t ORDER BY 1"), &[]).await.unwrap();
        out.insert(name, rows.iter().map(|r| r.get(0)).collect());
    }
    out
}

/// Every file under `root`, relative path to bytes.
fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Uploads `body` into `channel` and sends it in a message; the file's id.
async fn share_file(host: &Host, s: &Session, channel: &str, name: &str, content_type: &str, body: &[u8]) -> String {
    let r = host
        .post(
            &format!("/api/v1/channels/{channel}/files"),
            Some(&s.access),
            json!({ "name": name, "content_type": content_type, "size": body.len() }),
        )
        .await;
    r.expect_status(201, "start an upload");
    let upload = &r.body["upload"];
    let put = reqwest::Client::new()
        .put(upload["url"].as_str().unwrap())
        .header("content-type", upload["headers"]["content-type"].as_str().unwrap())
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 200, "PUT {name}");
    let id = r.str_at("/file/id");
    host.post_empty(&format!("/api/v1/files/{id}/complete"), Some(&s.access)).await.expect_status(200, "complete");
    host.post(
        &format!("/api/v1/channels/{channel}/messages"),
        Some(&s.access),
        json!({ "text": format!("here is {name}"), "file_ids": [id] }),
    )
    .await
    .expect_status(201, "send the file");
    id
}

/// The file's bytes as a member downloads them through the API.
async fn download(host: &Host, token: &str, id: &str) -> Vec<u8> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let resp = client.get(host.url(&format!("/api/v1/files/{id}"))).bearer_auth(token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 302, "download {id}");
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let got = client.get(&location).send().await.unwrap();
    assert_eq!(got.status().as_u16(), 200, "fetch {id}");
    got.bytes().await.unwrap().to_vec()
}

/// Bytes that do not compress, so a file is more than a few bytes of the archive.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x04\x00\x00\x00\x03\x08\x02\x00\x00\x00\x3b\x96\x39\x91\x00\x00\x00\x10\x49\x44\x41\x54\x78\x9c\x63\x38\x21\x27\x07\x47\x0c\x38\x39\x00\xf5\xc7\x0c\x31\x07\xeb\xad\x99\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// What the source install holds, for the checks after the restores.
struct Source {
    ann: Session,
    bob: Session,
    general: String,
    live: String,
    files: Vec<(String, Vec<u8>)>,
}

async fn populate(host: &Host) -> Source {
    let ann = host.signup("ann@example.com").await;
    let bob = host.signup("bob@example.com").await;
    let cat = host.signup("cat@example.com").await;
    let (ws, general) = host.create_workspace(&ann.access, "Acme").await;
    host.add_to_workspace(&ann, &bob, &ws).await;
    host.add_to_workspace(&ann, &cat, &ws).await;
    let (ws2, _) = host.create_workspace(&cat.access, "Side project").await;
    let design = host.create_channel(&ann.access, &ws, "design", "public").await;
    host.join_channel(&bob.access, &design).await.expect_status(200, "join");
    let live = host.create_channel(&ann.access, &ws, "live", "public").await;
    for i in 0..5 {
        host.post_message(&ann.access, &general, &format!("hello {i}")).await;
        host.post_message(&bob.access, &design, &format!("design note {i}")).await;
    }
    let root = host
        .post(&format!("/api/v1/channels/{general}/messages"), Some(&ann.access), json!({"text": "a thread"}))
        .await;
    let root_id = root.str_at("/message/id");
    for i in 0..3 {
        host.post(
            &format!("/api/v1/channels/{general}/messages"),
            Some(&bob.access),
            json!({ "text": format!("reply {i}"), "thread_root_id": root_id }),
        )
        .await
        .expect_status(201, "reply");
    }
    for (who, emoji) in [(&bob, ":thumbsup:"), (&cat, ":tada:")] {
        host.post(&format!("/api/v1/messages/{root_id}/reactions"), Some(&who.access), json!({ "emoji": emoji }))
            .await
            .expect_status(201, "react");
    }
    let mut files = Vec::new();
    for (i, (name, ct, body)) in [
        ("red.png", "image/png", PNG.to_vec()),
        ("big.bin", "application/octet-stream", noise(300_000, 1)),
        ("notes.txt", "text/plain", b"minutes of the meeting\n".to_vec()),
    ]
    .into_iter()
    .enumerate()
    {
        let channel = if i == 1 { &design } else { &general };
        let who = if i == 1 { &bob } else { &ann };
        files.push((share_file(host, who, channel, name, ct, &body).await, body));
    }
    let _ = ws2;
    Source { ann, bob, general, live, files }
}

/// Posts "live N" for N = 0, 1, ... into `channel` until told to stop; how many it posted.
fn keep_posting(host: &Host, token: String, channel: String, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<usize> {
    let base = host.base.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::new();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let r = http
                .post(format!("{base}/api/v1/channels/{channel}/messages"))
                .bearer_auth(&token)
                .json(&json!({ "text": format!("live {n}") }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201, "post live {n}");
            n += 1;
        }
        n
    })
}

/// Scenarios 1 and 2: a live backup and a quiet one of a running host, both restored.
#[tokio::test(flavor = "multi_thread")]
async fn live_backups_restore_to_the_same_install() {
    let host = Target::Host.start().await;
    let src = populate(&host).await;
    let work = unique_temp_dir();
    let (live_archive, quiet_archive) = (work.join("live.ocomms"), work.join("quiet.ocomms"));

    // Posts continue while the first backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let poster = keep_posting(&host, src.ann.access.clone(), src.live.clone(), stop.clone());
    // Some posts before the backup starts, so that it has a prefix to check.
    while host.event_count(&src.ann.access, &src.live).await < 5 {
        tokio::task::yield_now().await;
    }
    let out = backup(&host.data_dir, &live_archive, true).await;
    assert!(out.contains("SECRETS INCLUDED"), "{out}");
    stop.store(true, Ordering::Relaxed);
    let posted = poster.await.unwrap();

    // Then a second backup of the host, still running, with nothing changing.
    backup(&host.data_dir, &quiet_archive, true).await;
    let source_db = db(&host.data_dir).await;
    let source_rows = all_rows(&source_db).await;
    let source_files = tree(&host.data_dir.join("files"));

    // The quiet archive: every row of every table, every stored file.
    let restored = restored_host(&quiet_archive).await;
    let restored_db = db(&restored.data_dir).await;
    let restored_rows = all_rows(&restored_db).await;
    assert_eq!(restored_rows.keys().collect::<Vec<_>>(), source_rows.keys().collect::<Vec<_>>(), "tables");
    for (table, rows) in &source_rows {
        assert_eq!(&restored_rows[table], rows, "the rows of {table}");
    }
    assert!(source_rows["messages"].len() > 20 + posted.min(1), "{}", source_rows["messages"].len());
    let restored_files = tree(&restored.data_dir.join("files"));
    for (id, body) in &src.files {
        let key: String =
            source_db.query_one("SELECT storage_key FROM files WHERE id = $1::text::uuid", &[id]).await.unwrap().get(0);
        let path = format!("ocomms-files/{key}");
        assert_eq!(restored_files.get(&path), Some(body), "{path}");
    }
    for (path, bytes) in &restored_files {
        assert_eq!(source_files.get(path), Some(bytes), "restored {path} differs from the source's");
    }
    // Sessions from before the backup: the access token reads the history, the refresh
    // token signs in again, and the files download with their bytes.
    let history = restored.history(&src.bob.access, &src.general).await;
    assert_eq!(history, host.history(&src.bob.access, &src.general).await, "the history through the API");
    let refreshed = restored.post("/api/v1/auth/refresh", None, json!({ "refresh_token": src.ann.refresh })).await;
    refreshed.expect_status(200, "refresh with a token issued before the backup");
    let fresh = refreshed.str_at("/tokens/access_token");
    for (id, body) in &src.files {
        assert_eq!(&download(&restored, &fresh, id).await, body, "file {id} through the restored host");
    }
    let me = restored.send(restored.request(Method::GET, "/api/v1/me", Some(&src.bob.access))).await;
    me.expect_status(200, "an access token from before the backup");
    drop(restored);

    // The live archive: a consistent earlier state.
    let restored = restored_host(&live_archive).await;
    let live_db = db(&restored.data_dir).await;
    let live_rows = all_rows(&live_db).await;
    check_earlier_state(&live_rows, &source_rows);
    // The live channel's messages are a prefix of what was posted, without gaps, and the
    // channel's counter agrees with them.
    let texts: Vec<String> = live_db
        .query("SELECT text FROM messages WHERE channel_id = $1::text::uuid ORDER BY seq", &[&src.live])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let expected: Vec<String> = (0..texts.len()).map(|i| format!("live {i}")).collect();
    assert_eq!(texts, expected, "the live channel holds a prefix of the posts");
    assert!(!texts.is_empty() && texts.len() <= posted, "{} of {posted}", texts.len());
    let (last_seq, max_seq): (i64, Option<i64>) = {
        let r = live_db
            .query_one(
                "SELECT c.last_seq, (SELECT max(seq) FROM channel_events e WHERE e.channel_id = c.id)
                 FROM channels c WHERE c.id = $1::text::uuid",
                &[&src.live],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(Some(last_seq), max_seq, "the channel's counter and its events");
    let seqs: Vec<i64> =
        restored.all_events_after(&src.ann.access, &src.live, 0, 100).await.iter().map(|e| e.seq).collect();
    crate::common::assert_contiguous(&seqs, 1, last_seq, "the restored live channel's events");
    // Every file its rows reference is there with its bytes.
    for (id, body) in &src.files {
        assert_eq!(&download(&restored, &src.bob.access, id).await, body, "file {id} in the live restore");
    }
}

/// Rows of the live restore that differ from the source's final rows: only those a later
/// write changes legitimately (the same row by id or key, in columns that move on).
fn check_earlier_state(live: &BTreeMap<String, Vec<String>>, source: &BTreeMap<String, Vec<String>>) {
    /// Columns later traffic updates in place.
    const MOVING: &[(&str, &str)] = &[
        ("channels", "last_seq"),
        ("channels", "last_ts_us"),
        // Rate-limit buckets, refilled and drawn on by every request.
        ("rate_buckets", "at"),
        ("rate_buckets", "tokens"),
    ];
    /// A row's identity: its `id`, or for tables without one, its `key`.
    fn identity(v: &Value) -> Option<String> {
        v.get("id").or_else(|| v.get("key")).map(Value::to_string)
    }
    for (table, rows) in live {
        let final_rows: BTreeSet<&String> = source[table].iter().collect();
        let by_id: BTreeMap<String, Value> = source[table]
            .iter()
            .map(|r| serde_json::from_str::<Value>(r).unwrap())
            .filter_map(|v| Some((identity(&v)?, v)))
            .collect();
        for row in rows {
            if final_rows.contains(row) {
                continue;
            }
            let old: Value = serde_json::from_str(row).unwrap();
            let id = identity(&old);
            let Some(new) = id.and_then(|id| by_id.get(&id)) else {
                panic!("{table}: the live restore has a row the source does not: {row}");
            };
            for (column, value) in old.as_object().unwrap() {
                if &new[column] != value {
                    assert!(
                        MOVING.contains(&(table.as_str(), column.as_str())),
                        "{table}.{column} differs from the source: {value} then {}",
                        new[column]
                    );
                }
            }
        }
    }
}

/// Scenario 3: damaged archives, non-empty targets, and an archive without secrets.
#[tokio::test(flavor = "multi_thread")]
async fn bad_archives_and_targets_are_refused_untouched() {
    let host = Target::Host.start().await;
    let src = populate(&host).await;
    let work = unique_temp_dir();
    let archive = work.join("plain.ocomms");
    let out = backup(&host.data_dir, &archive, false).await;
    assert!(out.contains("secrets: not included: a host restored from this archive generates new ones"), "{out}");

    // A flipped byte in the middle: refused, naming the entry, nothing written.
    let mut bytes = std::fs::read(&archive).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    let damaged = work.join("damaged.ocomms");
    std::fs::write(&damaged, &bytes).unwrap();
    let target = work.join("target");
    let out = restore(&damaged, &target).await;
    assert!(!out.status.success(), "a damaged archive restored: {}", text(&out));
    let msg = text(&out);
    assert!(msg.contains("entry \"") || msg.contains("after \""), "the entry is named: {msg}");
    assert!(msg.contains("nothing was restored"), "{msg}");
    assert!(!target.exists(), "the restore wrote {}", target.display());
    // Cut short: refused too.
    let truncated = work.join("truncated.ocomms");
    std::fs::write(&truncated, &std::fs::read(&archive).unwrap()[..at]).unwrap();
    let out = restore(&truncated, &target).await;
    assert!(!out.status.success() && !target.exists(), "{}", text(&out));

    // A data directory that is not empty: refused, left as it was.
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("keep.txt"), b"mine").unwrap();
    let out = restore(&archive, &target).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("is not empty"), "{}", text(&out));
    assert_eq!(tree(&target).keys().collect::<Vec<_>>(), ["keep.txt"]);

    // A database that is not empty: refused (the source's own database), left as it was.
    let before = all_rows(&db(&host.data_dir).await).await;
    let read = |n: &str| std::fs::read_to_string(host.data_dir.join(n)).unwrap().trim().to_owned();
    let url = format!("postgresql://postgres:{}@127.0.0.1:{}/ocomms", read("pg-password"), read("pg-port"));
    let empty = work.join("empty");
    let (i, d) = (archive.to_string_lossy(), empty.to_string_lossy());
    let out = run(&["restore", "--input", &i, "--data-dir", &d, "--database-url", &url]).await;
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("is not empty"), "{}", text(&out));
    assert!(!empty.exists());
    assert_eq!(all_rows(&db(&host.data_dir).await).await, before);

    // The archive without secrets restores, says so, and old sessions end there.
    let dir = unique_temp_dir();
    let out = restore(&archive, &dir.join("data")).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("the archive has none: the host generates new ones"), "{}", text(&out));
    let restored = Host::start_in(dir, HostOptions::default()).await;
    restored
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": src.bob.refresh }))
        .await
        .expect_status(200, "the refresh token is in the database, the session continues");
    let old = restored.send(restored.request(Method::GET, "/api/v1/me", Some(&src.ann.access))).await;
    old.expect_status(401, "an access token signed with the old secret");
    let _: PathBuf = work;
}

/// Whether anything answers on the managed cluster's recorded port.
async fn managed_pg_answers(data_dir: &Path) -> bool {
    let port = std::fs::read_to_string(data_dir.join("pg-port")).unwrap();
    tokio::net::TcpStream::connect(format!("127.0.0.1:{}", port.trim())).await.is_ok()
}

/// An install whose service is stopped: the commands start its PostgreSQL for themselves
/// and leave it stopped again, and the archive holds what the install held.
#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_install_is_backed_up_and_left_stopped() {
    let mut host = Target::Host.start().await;
    let ann = host.signup("ann@example.com").await;
    let (_, general) = host.create_workspace(&ann.access, "Stopped").await;
    for i in 0..5 {
        host.post_message(&ann.access, &general, &format!("before the stop {i}")).await;
    }
    let source = all_rows(&db(&host.data_dir).await).await;
    host.kill().await;
    host.stop_managed_pg().await;
    assert!(!managed_pg_answers(&host.data_dir).await, "the install is stopped");

    let users = run(&["admin", "list-users", "--json", "--data-dir", &host.data_dir.to_string_lossy()]).await;
    assert!(users.status.success(), "{}", text(&users));
    assert!(String::from_utf8_lossy(&users.stdout).contains("ann@example.com"), "{}", text(&users));
    assert!(!managed_pg_answers(&host.data_dir).await, "admin stopped the cluster it started");

    let archive = unique_temp_dir().join("stopped.ocomms");
    let said = backup(&host.data_dir, &archive, true).await;
    assert!(said.contains("not running"), "{said}");
    assert!(!managed_pg_answers(&host.data_dir).await, "backup stopped the cluster it started");

    let restored = restored_host(&archive).await;
    assert_eq!(all_rows(&db(&restored.data_dir).await).await, source, "every row, as it was when it stopped");
    let texts: Vec<_> = restored.history(&ann.access, &general).await.iter().map(|m| m["text"].clone()).collect();
    assert_eq!(texts.len(), 5, "{texts:?}");
}
