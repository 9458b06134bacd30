//! `idle`: many authenticated sockets doing nothing; what each costs the host in RSS.

use std::time::{Duration, Instant};

use anyhow::Result;
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::api::{Api, Fixture};
use crate::args::Args;
use crate::host::Host;
use crate::sockets::{Ws, open_many};
use crate::stats::{Latency, Table, r3};

const GIB: f64 = (1u64 << 30) as f64;
/// Time given to the host to settle before each RSS reading.
const SETTLE: Duration = Duration::from_secs(2);

/// Polls the host's socket gauge until it is at most `target` or `limit` passes.
pub async fn wait_sockets(api: &Api, target: f64, limit: Duration) -> f64 {
    let deadline = Instant::now() + limit;
    loop {
        let n = api.metrics().await.ok().and_then(|m| m.get("ocomms_websockets").copied()).unwrap_or(f64::NAN);
        if n <= target || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads (and so answers pings on) a socket until told to stop.
fn drain(mut ws: Ws, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                m = ws.next() => if !matches!(m, Some(Ok(_))) { break },
                _ = stop.changed() => break,
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    })
}

pub async fn run(api: &Api, host: &Host, fx: &Fixture, args: &Args, table: &mut Table) -> Result<Value> {
    let k = args.idle_sockets;
    let leftover = wait_sockets(api, 0.0, Duration::from_secs(10)).await;
    tokio::time::sleep(SETTLE).await;
    let rss_before = host.rss()?;
    let cpu0 = crate::cpu::Sample::take(host.pid);
    let opened = open_many(api.addr, &fx.members, k, args.connect_concurrency, Instant::now() + args.idle_time).await;
    let cpu = cpu0.since(host.pid);
    let n = opened.sockets.len();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = opened.sockets.into_iter().map(|(ws, _)| drain(ws, stop_rx.clone())).collect();
    tokio::time::sleep(SETTLE).await;
    let gauge = api.metrics().await?.get("ocomms_websockets").copied().unwrap_or(f64::NAN);
    let rss_after = host.rss()?;
    let grown = rss_after as f64 - rss_before as f64;
    let per_socket = if n > 0 { grown / n as f64 } else { 0.0 };
    let per_gib = if per_socket > 0.0 { GIB / per_socket } else { 0.0 };
    let open_lat = Latency::of(opened.open_us);
    let open_rate = if opened.elapsed.as_secs_f64() > 0.0 { n as f64 / opened.elapsed.as_secs_f64() } else { 0.0 };

    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let after_close = wait_sockets(api, 0.0, Duration::from_secs(15)).await;

    table.add("idle", "sockets requested", k);
    table.add("idle", "sockets open (host gauge)", format!("{n} ({gauge})"));
    table.add("idle", "open errors", opened.errors);
    table.add("idle", "open time s", format!("{:.2}", opened.elapsed.as_secs_f64()));
    table.add("idle", "opens/s", format!("{open_rate:.0}"));
    table.add("idle", "open p50/p99 ms", format!("{:.1}/{:.1}", open_lat.p50_ms, open_lat.p99_ms));
    table.add("idle", &format!("opening: {}", crate::cpu::LABEL), cpu.row());
    table.add("idle", "host RSS before MiB", format!("{:.1}", rss_before as f64 / 1048576.0));
    table.add("idle", "host RSS after MiB", format!("{:.1}", rss_after as f64 / 1048576.0));
    table.add("idle", "bytes per socket", format!("{per_socket:.0}"));
    table.add("idle", "sockets per GiB", format!("{per_gib:.0}"));
    if opened.timed_out {
        table.add("idle", "note", format!("deadline {:?} hit while opening", args.idle_time));
    }
    if let Some(e) = &opened.first_error {
        table.add("idle", "first error", e);
    }
    Ok(json!({
        "sockets_requested": k,
        "sockets_open": n,
        "host_socket_gauge": gauge,
        "sockets_left_from_before": leftover,
        "sockets_left_after_close": after_close,
        "open_errors": opened.errors,
        "first_error": opened.first_error,
        "deadline_hit": opened.timed_out,
        "open_secs": r3(opened.elapsed.as_secs_f64()),
        "opens_per_sec": r3(open_rate),
        "open_latency": open_lat.json(),
        "open_cpu": cpu.json(),
        "users": fx.members.len(),
        "host_rss_before_bytes": rss_before,
        "host_rss_after_bytes": rss_after,
        "bytes_per_socket": per_socket.round(),
        "sockets_per_gib": per_gib.round(),
        "note": "VmRSS of the host process only (its PostgreSQL is another process); kernel socket buffers are not in RSS",
    }))
}
