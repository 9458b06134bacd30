//! `ocomms-bench search`: message search at scale, PostgreSQL against Meilisearch, in one run.
//!
//! 1. A host with its managed PostgreSQL (searches answered by PostgreSQL); a workspace, 200
//!    channels and 20 authors made through the API.
//! 2. N messages (default 1,000,000; [`corpus`]) copied into `messages` with the search
//!    indexes dropped, then the indexes built: PostgreSQL's index throughput.
//! 3. A fixed mix of 1,000 queries through `GET /workspaces/{id}/search`, one at a time.
//! 4. Meilisearch, and a second host on the same database indexing into it: from that host's
//!    start until the index is marked ready is Meilisearch's index throughput (the host's
//!    own indexer: read from PostgreSQL, send, wait for Meilisearch to apply).
//! 5. The same queries through the second host, answered by Meilisearch.
//!
//! Every search must answer 200 from the backend under test (`x-search-engine`); figures
//! only, never assertions on time.

pub mod corpus;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use crate::api::Api;
use crate::args::{default_host, workspace_root};
use crate::host::{Host, under_prlimit, usable_nofile};
use crate::proc::Proc;
use crate::stats::{Compare, Latency, r3};
use corpus::{Query, Rng, Vocabulary};

const USAGE: &str = "\
ocomms-bench search: message search at scale, PostgreSQL vs Meilisearch, in one run

  --messages N        messages to generate (default 1000000)
  --channels N        channels they are spread over (default 200)
  --queries N         queries in the fixed mix (default 1000)
  --seed N            corpus and query seed (default 1)
  --host PATH         the wasm-host binary (default: beside this binary, else target/release)
  --manifest PATH     spin.toml (default: the repository's)
  --meilisearch PATH  the Meilisearch binary (default: OCOMMS_MEILISEARCH_BIN, then
                      ../shared/bin/meilisearch beside the repository, then PATH)
  --out PATH          JSON figures (default bench/out/search.json)
  --postgres-only     skip Meilisearch (for tuning PostgreSQL)
  --hold              with --postgres-only: print the database URL after the queries and
                      keep the host and its database up until a line is read on stdin";

const AUTHORS: usize = 20;
const DAYS: i64 = 365;
const VOCABULARY: usize = 20_000;
const MEILI_KEY: &str = "ocomms-bench-master-key-0123456789";
const LISTENING: &str = "ocomms listening on http://";
/// The kinds of query in the mix, as [`corpus::queries`] names them.
const KINDS: [&str; 8] = ["word", "two words", "phrase", "prefix", "in:", "from:", "has:link", "date"];

#[derive(Debug)]
struct Args {
    messages: usize,
    channels: usize,
    queries: usize,
    seed: u64,
    host: PathBuf,
    manifest: PathBuf,
    meilisearch: Option<PathBuf>,
    out: PathBuf,
    postgres_only: bool,
    hold: bool,
}

fn parse(argv: &[String]) -> Result<Option<Args>> {
    let root = workspace_root();
    let mut a = Args {
        messages: 1_000_000,
        channels: 200,
        queries: 1_000,
        seed: 1,
        host: default_host(),
        manifest: root.join("spin.toml"),
        meilisearch: None,
        out: root.join("bench/out/search.json"),
        postgres_only: false,
        hold: false,
    };
    let mut it = argv.iter();
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            return Ok(None);
        }
        if flag == "--postgres-only" || flag == "--hold" {
            a.postgres_only |= flag == "--postgres-only";
            a.hold |= flag == "--hold";
            continue;
        }
        let value = it.next().with_context(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        let num = || value.parse::<usize>().with_context(|| format!("{flag} {value}: not a number"));
        match flag.as_str() {
            "--messages" => a.messages = num()?,
            "--channels" => a.channels = num()?.max(1),
            "--queries" => a.queries = num()?.max(1),
            "--seed" => a.seed = num()? as u64,
            "--host" => a.host = value.into(),
            "--manifest" => a.manifest = value.into(),
            "--meilisearch" => a.meilisearch = Some(value.into()),
            "--out" => a.out = value.into(),
            other => bail!("unknown flag {other}\n\n{USAGE}"),
        }
    }
    Ok(Some(a))
}

fn meilisearch_binary(given: Option<PathBuf>) -> Result<PathBuf> {
    let found = given
        .or_else(|| std::env::var_os("OCOMMS_MEILISEARCH_BIN").filter(|p| !p.is_empty()).map(PathBuf::from))
        .or_else(|| {
            let p = workspace_root().parent()?.join("shared/bin/meilisearch");
            p.is_file().then_some(p)
        })
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("meilisearch")).find(|p| p.is_file())
        });
    found.context("no Meilisearch binary: pass --meilisearch PATH or set OCOMMS_MEILISEARCH_BIN")
}

/// What the API made: the workspace, its channels (id, name) and the authors (id, handle).
struct Setup {
    ws: String,
    token: String,
    channels: Vec<String>,
    handles: Vec<String>,
}

async fn setup(api: &Api, channels: usize) -> Result<Setup> {
    use reqwest::Method;
    let owner = api.signup("owner@bench.example", "Bench owner").await?;
    let v = api.call(Method::POST, "/api/v1/workspaces", Some(&owner.token), json!({ "name": "search" })).await?;
    let ws = v["workspace"]["id"].as_str().context("workspace id")?.to_owned();
    let v = api.call(Method::POST, &format!("/api/v1/workspaces/{ws}/invites"), Some(&owner.token), json!({})).await?;
    let code = v["invite"]["code"].as_str().context("invite code")?.to_owned();
    let mut handles = Vec::new();
    for i in 0..AUTHORS {
        let u = api.signup(&format!("author{i}@bench.example"), &format!("Bench a{i}")).await?;
        api.call(Method::POST, &format!("/api/v1/invites/{code}/accept"), Some(&u.token), json!({})).await?;
        handles.push(format!("bencha{i}"));
    }
    let mut names = Vec::new();
    for i in 0..channels {
        let name = format!("bench-{i}");
        let path = format!("/api/v1/workspaces/{ws}/channels");
        api.call(Method::POST, &path, Some(&owner.token), json!({ "name": name })).await?;
        names.push(name);
    }
    Ok(Setup { ws, token: owner.token, channels: names, handles })
}

/// Copies `n` generated messages into `messages`, spread over the workspace's channels and
/// authors and over the last [`DAYS`] days, oldest first. Returns the time it took.
async fn load(db: &tokio_postgres::Client, ws: &str, n: usize, seed: u64, v: &Vocabulary) -> Result<Duration> {
    let ws: uuid::Uuid = ws.parse()?;
    let channels: Vec<(uuid::Uuid, i64)> = db
        .query("SELECT id, last_seq FROM channels WHERE workspace_id = $1 AND name LIKE 'bench-%'", &[&ws])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let authors: Vec<uuid::Uuid> = db
        .query(
            "SELECT u.id FROM users u JOIN workspace_members m ON m.user_id = u.id
             WHERE m.workspace_id = $1 AND u.email LIKE 'author%'",
            &[&ws],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if channels.is_empty() || authors.is_empty() {
        bail!("the setup made no channels or authors");
    }
    let mut seqs: Vec<i64> = channels.iter().map(|c| c.1).collect();
    let mut last_ts: Vec<i64> = vec![0; channels.len()];
    let started = Instant::now();
    let sink = db
        .copy_in("COPY messages (id, channel_id, seq, author_id, text, created_at, ts_us) FROM STDIN (FORMAT binary)")
        .await?;
    let types = [Type::UUID, Type::UUID, Type::INT8, Type::UUID, Type::TEXT, Type::TIMESTAMPTZ, Type::INT8];
    let writer = BinaryCopyInWriter::new(sink, &types);
    futures::pin_mut!(writer);
    let mut rng = Rng::new(seed);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
    let span_ms = DAYS as u64 * 86_400_000;
    for i in 0..n {
        let c = rng.below(channels.len());
        seqs[c] += 1;
        let id = uuid::Uuid::from_u128(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()));
        let at_ms = now - span_ms + span_ms * i as u64 / n.max(1) as u64;
        let at = UNIX_EPOCH + Duration::from_millis(at_ms);
        // Slack's ts: unique and increasing per channel, like the API makes them.
        last_ts[c] = (at_ms as i64 * 1000).max(last_ts[c] + 1);
        let text = corpus::message(v, &mut rng);
        let author = authors[rng.below(authors.len())];
        writer.as_mut().write(&[&id, &channels[c].0, &seqs[c], &author, &text, &at, &last_ts[c]]).await?;
        if (i + 1) % 100_000 == 0 {
            println!("    {} messages copied ({:.0}/s)", i + 1, (i + 1) as f64 / started.elapsed().as_secs_f64());
        }
    }
    writer.finish().await?;
    for (c, (id, _)) in channels.iter().enumerate() {
        db.execute(
            "UPDATE channels SET last_seq = $2, last_ts_us = greatest(last_ts_us, $3) WHERE id = $1",
            &[id, &seqs[c], &last_ts[c]],
        )
        .await?;
    }
    Ok(started.elapsed())
}

/// The search indexes of migration 0004, as it creates them.
const INDEXES: [(&str, &str); 2] = [
    ("messages_search_tsv_idx", "CREATE INDEX messages_search_tsv_idx ON messages USING gin (search_tsv)"),
    ("messages_text_trgm_idx", "CREATE INDEX messages_text_trgm_idx ON messages USING gin (lower(text) gin_trgm_ops)"),
];

/// Builds PostgreSQL's search indexes; returns the time and their size with the tsvector
/// column's (bytes).
async fn build_pg_indexes(db: &tokio_postgres::Client) -> Result<(Duration, u64)> {
    let started = Instant::now();
    for (name, ddl) in INDEXES {
        let t = Instant::now();
        db.batch_execute(&format!("SET maintenance_work_mem = '256MB'; {ddl}")).await?;
        println!("    {name}: {:.1}s", t.elapsed().as_secs_f64());
    }
    let took = started.elapsed();
    db.batch_execute("ANALYZE messages").await?;
    let row = db
        .query_one(
            "SELECT (pg_relation_size('messages_search_tsv_idx') + pg_relation_size('messages_text_trgm_idx'))::int8,
                    (SELECT coalesce(sum(pg_column_size(search_tsv)), 0) FROM messages)::int8",
            &[],
        )
        .await?;
    let (indexes, column): (i64, i64) = (row.get(0), row.get(1));
    Ok((took, (indexes + column) as u64))
}

/// Bytes a directory tree occupies on disk (allocated blocks, not apparent sizes).
fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One backend's answers: latency per query (µs) and the ids of the first page.
struct Answers {
    latency_us: Vec<u64>,
    kinds: Vec<&'static str>,
    pages: Vec<(Vec<String>, bool)>,
}

async fn run_queries(api: &Api, s: &Setup, queries: &[Query], engine: &str) -> Result<Answers> {
    let mut out = Answers { latency_us: Vec::new(), kinds: Vec::new(), pages: Vec::new() };
    // Warm-up: connections, component instances, caches.
    for q in queries.iter().take(20) {
        search_once(api, s, q, engine).await?;
    }
    let started = Instant::now();
    for (i, q) in queries.iter().enumerate() {
        let t = Instant::now();
        let page = search_once(api, s, q, engine).await?;
        out.latency_us.push(t.elapsed().as_micros() as u64);
        out.kinds.push(q.kind);
        out.pages.push(page);
        if (i + 1) % 250 == 0 {
            println!("    {engine}: {} queries, {:.1}s", i + 1, started.elapsed().as_secs_f64());
        }
    }
    Ok(out)
}

async fn search_once(api: &Api, s: &Setup, q: &Query, engine: &str) -> Result<(Vec<String>, bool)> {
    let sort = if q.newest { "newest" } else { "relevance" };
    let url = api.url(&format!("/api/v1/workspaces/{}/search?q={}&sort={sort}", s.ws, urlencode(&q.q)));
    let resp = api.http.get(url).bearer_auth(&s.token).send().await.with_context(|| format!("search {:?}", q.q))?;
    let status = resp.status();
    let answered = resp.headers().get("x-search-engine").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body: Value = resp.json().await.with_context(|| format!("search {:?}: not JSON", q.q))?;
    if !status.is_success() {
        bail!("search {:?}: {status}: {body}", q.q);
    }
    if answered != engine {
        bail!("search {:?} was answered by {answered:?}, not {engine}", q.q);
    }
    let ids = body["hits"]
        .as_array()
        .map(|h| h.iter().filter_map(|h| h["message_id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    Ok((ids, body["next_cursor"].is_string()))
}

fn percentiles(a: &Answers, kind: Option<&str>) -> Latency {
    Latency::of(
        a.latency_us
            .iter()
            .zip(&a.kinds)
            .filter(|(_, k)| kind.is_none_or(|want| **k == want))
            .map(|(l, _)| *l)
            .collect(),
    )
}

struct Meili {
    child: Child,
    url: String,
    dir: PathBuf,
}

impl Meili {
    async fn start(bin: &Path, work: &Path) -> Result<Meili> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = work.join("meilisearch");
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::File::create(work.join("meilisearch.log"))?;
        let child = Command::new(bin)
            .args(["--http-addr", &format!("127.0.0.1:{port}"), "--master-key", MEILI_KEY, "--no-analytics"])
            .args(["--env", "development", "--db-path"])
            .arg(dir.join("data.ms"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let m = Meili { child, url: format!("http://127.0.0.1:{port}"), dir };
        let http = reqwest::Client::new();
        let started = Instant::now();
        while !http.get(format!("{}/health", m.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            if started.elapsed() > Duration::from_secs(60) {
                bail!("Meilisearch did not start; see {}", work.join("meilisearch.log").display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(m)
    }
}

impl Drop for Meili {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A second host on `database_url`, indexing into and searching with Meilisearch; the same
/// JWT secret as the first, so the same tokens work.
fn start_meili_host(a: &Args, host: &Host, database_url: &str, meili: &Meili, work: &Path) -> Result<Proc> {
    let secret = std::fs::read_to_string(host.jwt_secret_file()).context("read the JWT secret")?;
    let data = work.join("host-meilisearch");
    std::fs::create_dir_all(&data)?;
    let mut cmd = under_prlimit(usable_nofile(65_536)?, &a.host);
    cmd.args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .arg("--manifest")
        .arg(&a.manifest)
        .args(["--database-url", database_url, "--meilisearch-url", &meili.url, "--meilisearch-key", MEILI_KEY])
        .env("SPIN_VARIABLE_JWT_SECRET", secret.trim())
        .env("NO_COLOR", "1")
        .current_dir(workspace_root());
    Proc::start("host (meilisearch)", cmd, work.join("host-meilisearch.log"), LISTENING, Duration::from_secs(180))
}

/// Waits until the index is ready and the queue is empty; returns how long that took.
async fn wait_ready(db: &tokio_postgres::Client, since: Instant) -> Result<Duration> {
    let mut last_print = Instant::now();
    loop {
        let row = db
            .query_one("SELECT index_ready, (SELECT count(*) FROM search_outbox) FROM search_index_state", &[])
            .await?;
        let (ready, queued): (bool, i64) = (row.get(0), row.get(1));
        if ready && queued == 0 {
            return Ok(since.elapsed());
        }
        if last_print.elapsed() > Duration::from_secs(30) {
            println!("    still indexing after {:.0}s", since.elapsed().as_secs_f64());
            last_print = Instant::now();
        }
        if since.elapsed() > Duration::from_secs(3 * 3600) {
            bail!("Meilisearch's index was not ready after 3 hours");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Of the queries whose whole answer fits on one page on both backends, how many got the
/// same hits, and the queries that did not.
fn agreement<'q>(queries: &'q [Query], pg: &Answers, meili: &Answers) -> (usize, usize, Vec<&'q str>) {
    let mut same = 0;
    let mut small = 0;
    let mut differ = Vec::new();
    for (q, ((p, p_more), (m, m_more))) in queries.iter().zip(pg.pages.iter().zip(&meili.pages)) {
        if *p_more || *m_more {
            continue;
        }
        small += 1;
        let (mut p, mut m) = (p.clone(), m.clone());
        p.sort();
        m.sort();
        if p == m {
            same += 1;
        } else {
            differ.push(q.q.as_str());
        }
    }
    (same, small, differ)
}

pub async fn run(argv: &[String]) -> Result<()> {
    let Some(a) = parse(argv)? else { return Ok(()) };
    let meili_bin = meilisearch_binary(a.meilisearch.clone())?;
    let out_dir = a.out.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&out_dir)?;
    let work = std::env::temp_dir().join(format!("ocomms-bench-search-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    println!(
        "search bench: {} messages over {} channels, {} queries, seed {}",
        a.messages, a.channels, a.queries, a.seed
    );

    println!("==> host (PostgreSQL search)");
    let (bin, manifest, root, log) = (a.host.clone(), a.manifest.clone(), workspace_root(), out_dir.join("host.log"));
    let nofile = usable_nofile(65_536)?;
    let mut host =
        tokio::task::spawn_blocking(move || Host::start(&bin, &manifest, &root, log, nofile, Duration::from_secs(180)))
            .await??;
    let api = Api::new(host.proc.addr, host.pid(), 4)?;
    let s = setup(&api, a.channels).await?;
    let database_url = host.database_url()?;
    let (db, conn) = tokio_postgres::connect(&database_url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);

    println!("==> {} messages", a.messages);
    let vocabulary = Vocabulary::new(VOCABULARY);
    for (name, _) in INDEXES {
        db.batch_execute(&format!("DROP INDEX {name}")).await?;
    }
    let loaded = load(&db, &s.ws, a.messages, a.seed, &vocabulary).await?;
    println!("    copied in {:.1}s", loaded.as_secs_f64());
    println!("==> PostgreSQL search indexes");
    let (pg_build, pg_size) = build_pg_indexes(&db).await?;
    let table_size: i64 = db.query_one("SELECT pg_table_size('messages')::int8", &[]).await?.get(0);

    let end_day = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64 / 86_400;
    let queries =
        corpus::queries(&vocabulary, &mut Rng::new(a.seed ^ 0xA5A5), a.queries, &s.channels, &s.handles, end_day, DAYS);
    println!("==> {} queries on PostgreSQL", queries.len());
    let pg = run_queries(&api, &s, &queries, "postgres").await?;
    if a.postgres_only {
        let all = percentiles(&pg, None);
        println!("postgres: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms", all.p50_ms, all.p95_ms, all.p99_ms);
        for kind in KINDS {
            println!("  {kind}: p95 {:.2} ms", percentiles(&pg, Some(kind)).p95_ms);
        }
        let mut slowest: Vec<(u64, &str)> =
            pg.latency_us.iter().zip(&queries).map(|(l, q)| (*l, q.q.as_str())).collect();
        slowest.sort_unstable_by(|a, b| b.cmp(a));
        println!("slowest: {:?}", &slowest[..slowest.len().min(15)]);
        if a.hold {
            println!("holding: {database_url} (a line on stdin stops)");
            tokio::task::spawn_blocking(|| std::io::stdin().read_line(&mut String::new())).await??;
        }
        drop(db);
        println!("host {}", host.stop());
        return Ok(());
    }

    println!("==> Meilisearch");
    let meili = Meili::start(&meili_bin, &work).await?;
    let indexing = Instant::now();
    let mut meili_host = start_meili_host(&a, &host, &database_url, &meili, &work)?;
    let meili_build = wait_ready(&db, indexing).await?;
    let meili_size = disk_usage(&meili.dir);
    println!("    indexed in {:.1}s", meili_build.as_secs_f64());
    let meili_api = Api::new(meili_host.addr, meili_host.pid, 4)?;
    println!("==> {} queries on Meilisearch", queries.len());
    let ms = run_queries(&meili_api, &s, &queries, "meilisearch").await?;

    let per_s = |d: Duration| a.messages as f64 / d.as_secs_f64().max(1e-9);
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let mut cmp =
        Compare::new(&format!("search, {} messages: PostgreSQL vs Meilisearch", a.messages), "postgres", "meilisearch");
    cmp.num("index", "messages/s", per_s(pg_build), per_s(meili_build), 0);
    cmp.num("index", "build s", pg_build.as_secs_f64(), meili_build.as_secs_f64(), 1);
    cmp.num("index", "size MiB", mib(pg_size), mib(meili_size), 1);
    let (all_pg, all_ms) = (percentiles(&pg, None), percentiles(&ms, None));
    for (figure, p, m) in [
        ("p50 ms", all_pg.p50_ms, all_ms.p50_ms),
        ("p95 ms", all_pg.p95_ms, all_ms.p95_ms),
        ("p99 ms", all_pg.p99_ms, all_ms.p99_ms),
        ("max ms", all_pg.max_ms, all_ms.max_ms),
    ] {
        cmp.num("all queries", figure, p, m, 2);
    }
    let mut by_kind = BTreeMap::new();
    for kind in KINDS {
        let (p, m) = (percentiles(&pg, Some(kind)), percentiles(&ms, Some(kind)));
        cmp.num(kind, "p95 ms", p.p95_ms, m.p95_ms, 2);
        by_kind.insert(kind, json!({ "postgres": p.json(), "meilisearch": m.json() }));
    }
    let (same, small, differ) = agreement(&queries, &pg, &ms);
    cmp.text("one-page answers", "same hits", format!("{same} of {small}"), "");
    println!();
    cmp.print();
    if !differ.is_empty() {
        println!("one-page answers that differ: {differ:?}");
    }
    let report = json!({
        "messages": a.messages,
        "channels": a.channels,
        "queries": queries.len(),
        "seed": a.seed,
        "copy_s": r3(loaded.as_secs_f64()),
        "messages_table_bytes": table_size,
        "postgres": {
            "index_s": r3(pg_build.as_secs_f64()),
            "index_messages_per_s": r3(per_s(pg_build)),
            "index_bytes": pg_size,
            "latency": all_pg.json(),
        },
        "meilisearch": {
            "index_s": r3(meili_build.as_secs_f64()),
            "index_messages_per_s": r3(per_s(meili_build)),
            "index_bytes": meili_size,
            "latency": all_ms.json(),
        },
        "by_kind": by_kind,
        "one_page_answers_with_the_same_hits": { "same": same, "of": small, "differ": differ },
        "load_average": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
    });
    std::fs::write(&a.out, serde_json::to_string_pretty(&report)?)?;
    println!("figures written to {}", a.out.display());

    let _ = meili_host.stop(Duration::from_secs(30));
    drop(meili);
    drop(db);
    println!("host {}", host.stop());
    let _ = std::fs::remove_dir_all(&work);
    Ok(())
}
