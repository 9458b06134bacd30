//! `post`: concurrent clients posting over HTTP into one channel, then the same load on a
//! route the component answers without touching the database.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};

use crate::api::{Api, Fixture, delta};
use crate::args::Args;
use crate::stats::{Latency, Table, r3};

/// A component-time mean is reported only when the integer-seconds counter moved at least
/// this much (so its ±1 s truncation is at most 10%).
const MIN_COMPONENT_SECONDS: f64 = 10.0;

#[derive(Debug, Clone)]
enum Target {
    Post { url: String, token: String },
    Nope { url: String },
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
        Target::Nope { url } => api.http.get(url).send().await?,
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

/// Runs one load with /metrics read around it; adds rows and returns its JSON.
/// One measured load: its label, target, the status that counts as success and its bounds.
struct Spec {
    name: &'static str,
    target: Target,
    expected: u16,
    limit: Duration,
    max: u64,
}

async fn measured(api: &Api, spec: Spec, args: &Args, table: &mut Table) -> Result<Value> {
    let Spec { name, target, expected, limit, max } = spec;
    // Warm-up, not counted: fills the instance pool and the HTTP connection pool.
    let _ =
        load(api, target.clone(), expected, args.post_clients, Duration::from_secs(5), 2 * args.post_clients as u64)
            .await;
    let before = api.metrics().await?;
    let cpu0 = crate::cpu::Sample::take(api.host_pid);
    let l = load(api, target, expected, args.post_clients, limit, max).await;
    let cpu = cpu0.since(api.host_pid);
    let after = api.metrics().await?;
    let secs = l.elapsed.as_secs_f64();
    let rps = if secs > 0.0 { l.ok as f64 / secs } else { 0.0 };
    let comp_reqs = delta(&before, &after, "ocomms_component_requests_total");
    let comp_secs = delta(&before, &after, "ocomms_component_seconds_total");
    let comp_mean_ms = (comp_reqs > 0.0 && comp_secs >= MIN_COMPONENT_SECONDS).then(|| comp_secs * 1000.0 / comp_reqs);
    table.add(name, "requests ok", l.ok);
    table.add(name, "errors", l.errors);
    table.add(name, "duration s", format!("{secs:.2}"));
    table.add(name, "requests/s", format!("{rps:.1}"));
    table.add(name, "latency p50 ms", format!("{:.2}", l.lat.p50_ms));
    table.add(name, "latency p99 ms", format!("{:.2}", l.lat.p99_ms));
    table.add(name, "latency max ms", format!("{:.2}", l.lat.max_ms));
    match comp_mean_ms {
        Some(ms) => {
            table.add(name, "component mean ms (/metrics)", format!("{ms:.2} (±{:.0}%)", 100.0 / comp_secs.max(1.0)))
        }
        None => table.add(name, "component mean ms (/metrics)", format!("skipped: Δ{comp_secs:.0} s too coarse")),
    }
    table.add(name, crate::cpu::LABEL, cpu.row());
    if let Some(e) = &l.first_error {
        table.add(name, "first error", e);
    }
    Ok(json!({
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
            "component_seconds_integer": comp_secs,
            "http_server_errors": delta(&before, &after, "ocomms_http_server_errors_total"),
            "component_timeouts": delta(&before, &after, "ocomms_component_timeouts_total"),
        },
        "component_mean_ms": comp_mean_ms.map(r3),
        "component_mean_note": if comp_mean_ms.is_some() {
            "ocomms_component_seconds_total counts whole seconds: the mean is Δseconds/Δrequests, good to about ±1 s over the run; it is wall time in the component, including waits for the database and for CPU"
        } else {
            "skipped: ocomms_component_seconds_total counts whole seconds and moved too little over the run"
        },
    }))
}

pub async fn run(api: &Api, fx: &Fixture, args: &Args, table: &mut Table) -> Result<Value> {
    let post = Target::Post {
        url: api.url(&format!("/api/v1/channels/{}/messages", fx.channel)),
        token: fx.owner.token.clone(),
    };
    let spec = Spec { name: "post", target: post, expected: 201, limit: args.post_time, max: args.post_max };
    let post_json = measured(api, spec, args, table).await?;
    let nope = Target::Nope { url: api.url("/api/v1/nope") };
    let spec = Spec { name: "noop 404", target: nope, expected: 404, limit: args.noop_time, max: args.noop_max };
    let nope_json = measured(api, spec, args, table).await?;
    Ok(json!({ "post": post_json, "noop_404": nope_json }))
}
