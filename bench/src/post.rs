//! `post` (the command path): concurrent clients posting over HTTP into one channel, then
//! the same load on a route the API answers without touching the database. Runs against the
//! host (the WASM component) and against the same handler compiled natively ([`crate::native`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use serde_json::{Value, json};

use crate::api::{Api, Fixture, delta};
use crate::args::Args;
use crate::stats::{Latency, Table, r3};

#[derive(Debug, Clone)]
enum Target {
    Post {
        url: String,
        token: String,
    },
    /// With the bearer token when there is one.
    Get {
        url: String,
        token: Option<String>,
    },
}

#[derive(Debug, Default)]
struct Worker {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    statuses: BTreeMap<u16, u64>,
    lat_us: Vec<u64>,
}

#[derive(Debug)]
struct Load {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    statuses: BTreeMap<u16, u64>,
    elapsed: Duration,
    lat: Latency,
}

async fn one(api: &Api, target: &Target, i: u64) -> Result<u16, reqwest::Error> {
    let resp = match target {
        Target::Post { url, token } => {
            api.http.post(url).bearer_auth(token).json(&json!({ "text": format!("bench post {i}") })).send().await?
        }
        Target::Get { url, token: None } => api.http.get(url).send().await?,
        Target::Get { url, token: Some(token) } => api.http.get(url).bearer_auth(token).send().await?,
    };
    let status = resp.status().as_u16();
    resp.bytes().await?;
    Ok(status)
}

/// `clients` loops sharing one counter; each stops at `max` total requests or `limit`.
async fn load(api: &Api, target: Target, expected: u16, clients: usize, limit: Duration, max: u64) -> Load {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + limit;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (api, target, counter) = (api.clone(), target.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            let mut w = Worker::default();
            while Instant::now() < deadline {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= max {
                    break;
                }
                let t = Instant::now();
                let r = one(&api, &target, i).await;
                let took = t.elapsed().as_micros() as u64;
                match r {
                    Ok(s) => {
                        *w.statuses.entry(s).or_default() += 1;
                        if s == expected {
                            w.ok += 1;
                            w.lat_us.push(took);
                        } else {
                            w.errors += 1;
                            w.first_error.get_or_insert_with(|| format!("status {s}"));
                        }
                    }
                    Err(e) => {
                        w.errors += 1;
                        w.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            w
        }));
    }
    let mut all = Load {
        ok: 0,
        errors: 0,
        first_error: None,
        statuses: BTreeMap::new(),
        elapsed: Duration::ZERO,
        lat: Latency::default(),
    };
    let mut lat = Vec::new();
    for t in tasks {
        match t.await {
            Ok(w) => {
                all.ok += w.ok;
                all.errors += w.errors;
                if all.first_error.is_none() {
                    all.first_error = w.first_error;
                }
                for (s, n) in w.statuses {
                    *all.statuses.entry(s).or_default() += n;
                }
                lat.extend(w.lat_us);
            }
            Err(e) => {
                all.errors += 1;
                all.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    all.elapsed = started.elapsed();
    all.lat = Latency::of(lat);
    all
}

/// One measured load: its label, target, the status that counts as success and its bounds.
struct Spec {
    name: String,
    target: Target,
    expected: u16,
    limit: Duration,
    max: u64,
}

/// Throughput and latency of one load, for the comparison and the chart.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadSummary {
    pub requests_per_sec: f64,
    pub latency: Latency,
    pub errors: u64,
    /// Mean time to create a component instance, when the server reports it.
    pub instantiate_us: Option<f64>,
    /// Mean wall time inside the component per request (host only).
    pub component_ms: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct PostSummary {
    pub post: LoadSummary,
    pub noop: LoadSummary,
    pub history: LoadSummary,
}

/// Runs one load with /metrics read around it (when the server has them); adds rows and
/// returns its JSON.
async fn measured(api: &Api, spec: Spec, args: &Args, table: &mut Table) -> Result<(Value, LoadSummary)> {
    let Spec { name, target, expected, limit, max } = spec;
    let name = name.as_str();
    // Warm-up, not counted: fills the instance pool and the HTTP connection pool.
    let _ =
        load(api, target.clone(), expected, args.post_clients, Duration::from_secs(5), 2 * args.post_clients as u64)
            .await;
    // The native server has no /metrics: its deltas are then all zero.
    let before = api.metrics().await.unwrap_or_default();
    let cpu0 = crate::cpu::Sample::take(&[api.host_pid], &[]);
    let l = load(api, target, expected, args.post_clients, limit, max).await;
    let cpu = cpu0.since();
    let after = api.metrics().await.unwrap_or_default();
    let secs = l.elapsed.as_secs_f64();
    let rps = if secs > 0.0 { l.ok as f64 / secs } else { 0.0 };
    let comp_reqs = delta(&before, &after, "ocomms_component_requests_total");
    let comp_secs = delta(&before, &after, "ocomms_component_seconds_total");
    let comp_mean_ms = (comp_reqs > 0.0).then(|| comp_secs * 1000.0 / comp_reqs);
    let inst_n = delta(&before, &after, "ocomms_component_instantiations_total");
    let inst_secs = delta(&before, &after, "ocomms_component_instantiate_seconds_total");
    let inst_us = (inst_n > 0.0).then(|| inst_secs * 1e6 / inst_n);
    table.add(name, "requests ok", l.ok);
    table.add(name, "errors", l.errors);
    table.add(name, "duration s", format!("{secs:.2}"));
    table.add(name, "requests/s", format!("{rps:.1}"));
    table.add(name, "latency p50 ms", format!("{:.2}", l.lat.p50_ms));
    table.add(name, "latency p99 ms", format!("{:.2}", l.lat.p99_ms));
    table.add(name, "latency max ms", format!("{:.2}", l.lat.max_ms));
    if let Some(ms) = comp_mean_ms {
        table.add(name, "component mean ms (/metrics)", format!("{ms:.3}"));
    }
    if let Some(us) = inst_us {
        table.add(name, "instantiation mean µs (/metrics)", format!("{us:.1}"));
    }
    table.add(name, crate::cpu::LABEL, cpu.row());
    if let Some(e) = &l.first_error {
        table.add(name, "first error", e);
    }
    let summary = LoadSummary {
        requests_per_sec: rps,
        latency: l.lat,
        errors: l.errors,
        instantiate_us: inst_us,
        component_ms: comp_mean_ms,
    };
    let v = json!({
        "clients": args.post_clients,
        "limit_secs": limit.as_secs_f64(),
        "max_requests": max,
        "requests_ok": l.ok,
        "errors": l.errors,
        "first_error": l.first_error,
        "statuses": l.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "duration_secs": r3(secs),
        "requests_per_sec": r3(rps),
        "latency": l.lat.json(),
        "cpu": cpu.json(),
        "metrics_delta": {
            "component_requests": comp_reqs,
            "component_seconds": comp_secs,
            "instantiations": inst_n,
            "instantiate_seconds": inst_secs,
            "http_server_errors": delta(&before, &after, "ocomms_http_server_errors_total"),
            "component_timeouts": delta(&before, &after, "ocomms_component_timeouts_total"),
        },
        "component_mean_ms": comp_mean_ms.map(r3),
        "instantiate_mean_us": inst_us.map(|v| (v * 10.0).round() / 10.0),
        "component_mean_note": "wall time in the component per request (host /metrics), including waits for the database and for CPU; instantiation is the part spent creating the instance",
    });
    Ok((v, summary))
}

/// Table names of the three loads against the server labelled `label` (wasm or native).
pub fn names(label: &str) -> [String; 3] {
    [format!("post ({label})"), format!("noop 404 ({label})"), format!("history ({label})")]
}

/// Messages per page in the history load: the web client's page.
pub const HISTORY_PAGE: u32 = 50;

/// The owner posts into the default channel; `api` points at the host or the native server
/// (both on the same database, `database_url`, so the same token and channel work on either).
pub async fn run(
    api: &Api,
    fx: &Fixture,
    label: &str,
    database_url: &str,
    args: &Args,
    table: &mut Table,
) -> Result<(Value, PostSummary)> {
    let [post_name, noop_name, history_name] = names(label);
    let post = Target::Post {
        url: api.url(&format!("/api/v1/channels/{}/messages", fx.channel)),
        token: fx.owner.token.clone(),
    };
    let spec = Spec { name: post_name, target: post, expected: 201, limit: args.post_time, max: args.post_max };
    let (post_json, post) = measured(api, spec, args, table).await?;
    let nope = Target::Get { url: api.url("/api/v1/nope"), token: None };
    let spec = Spec { name: noop_name, target: nope, expected: 404, limit: args.noop_time, max: args.noop_max };
    let (nope_json, noop) = measured(api, spec, args, table).await?;
    // The newest page of the channel the posts just filled: what opening a channel loads.
    // Planner statistics first, as autovacuum keeps them: the posts came within its naptime,
    // and a never-analyzed table's estimate (27 rows for a channel of 20,000) picks a bitmap
    // scan and a sort of the whole channel for every page (12.8 ms, not 0.85 ms).
    analyze(database_url).await?;
    let history = Target::Get {
        url: api.url(&format!("/api/v1/channels/{}/messages?limit={HISTORY_PAGE}", fx.channel)),
        token: Some(fx.owner.token.clone()),
    };
    let spec = Spec { name: history_name, target: history, expected: 200, limit: args.noop_time, max: args.noop_max };
    let (history_json, history) = measured(api, spec, args, table).await?;
    let v = json!({ "server": label, "post": post_json, "noop_404": nope_json, "history": history_json });
    Ok((v, PostSummary { post, noop, history }))
}

/// `args.post_clients` clients GET `path` until `limit` or `max` requests, expecting
/// `expected`: the reference-runtime loads.
pub async fn get(
    api: &Api,
    name: &str,
    path: &str,
    expected: u16,
    limit: Duration,
    args: &Args,
    table: &mut Table,
) -> Result<(Value, LoadSummary)> {
    let spec = Spec {
        name: name.to_string(),
        target: Target::Get { url: api.url(path), token: None },
        expected,
        limit,
        max: args.noop_max,
    };
    measured(api, spec, args, table).await
}

/// `ANALYZE messages`: see the history load in [`run`].
async fn analyze(database_url: &str) -> Result<()> {
    let (client, conn) =
        tokio_postgres::connect(database_url, tokio_postgres::NoTls).await.context("connect to analyze")?;
    let conn = tokio::spawn(conn);
    client.batch_execute("ANALYZE messages").await.context("ANALYZE messages")?;
    drop(client);
    conn.await.context("the analyze connection")?.context("the analyze connection")?;
    Ok(())
}
