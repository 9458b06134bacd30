//! `fanout`: S sockets in one channel, one poster at a fixed rate; send-to-receive latency
//! and missing deliveries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::api::{Api, Fixture, delta};
use crate::args::Args;
use crate::host::Host;
use crate::idle::wait_sockets;
use crate::sockets::{Ws, open_many, subscribed};
use crate::stats::{Latency, Table, r3};

/// Send instants, nanoseconds after `base` plus one (0 = not sent yet), one per message.
struct Sent {
    base: Instant,
    at: Vec<AtomicU64>,
}

impl Sent {
    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64 + 1
    }
}

#[derive(Debug, Default)]
struct Received {
    unique: u64,
    duplicates: u64,
    resyncs: u64,
    lat_us: Vec<u64>,
    /// Latest receive, nanoseconds after `base` plus one.
    last_ns: u64,
    closed_early: bool,
}

/// The message index in a `message.posted` event whose text is `<marker><index>`.
fn index_of(frame: &str, marker: &str) -> Option<Result<usize, ()>> {
    // Cheap filter before parsing: most frames are ours, but presence frames are not.
    if !frame.contains(marker) {
        if frame.contains("\"resync\"") {
            return Some(Err(()));
        }
        return None;
    }
    let v: Value = serde_json::from_str(frame).ok()?;
    let ev = v.get("event")?;
    if v.get("type")?.as_str()? != "event" || ev.get("kind")?.as_str()? != "message.posted" {
        return None;
    }
    ev.get("data")?.get("text")?.as_str()?.strip_prefix(marker)?.parse().ok().map(Ok)
}

fn reader(
    mut ws: Ws,
    marker: Arc<str>,
    sent: Arc<Sent>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<Received> {
    tokio::spawn(async move {
        let m = sent.at.len();
        let mut seen = vec![false; m];
        let mut r = Received { lat_us: Vec::with_capacity(m), ..Received::default() };
        while (r.unique as usize) < m {
            let msg = tokio::select! {
                msg = ws.next() => msg,
                _ = stop.changed() => break,
            };
            let text = match msg {
                Some(Ok(Message::Text(t))) => t,
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    r.closed_early = true;
                    break;
                }
                Some(Ok(_)) => continue,
            };
            let now = sent.now_ns();
            match index_of(text.as_str(), &marker) {
                Some(Ok(i)) => {
                    let Some(slot) = seen.get_mut(i) else { continue };
                    if *slot {
                        r.duplicates += 1;
                        continue;
                    }
                    *slot = true;
                    r.unique += 1;
                    r.last_ns = r.last_ns.max(now);
                    let at = sent.at.get(i).map_or(0, |a| a.load(Ordering::Acquire));
                    if at > 0 {
                        r.lat_us.push(now.saturating_sub(at) / 1000);
                    }
                }
                Some(Err(())) => r.resyncs += 1,
                None => {}
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
        r
    })
}

pub async fn run(api: &Api, host: &Host, fx: &Fixture, args: &Args, table: &mut Table) -> Result<Value> {
    let s = args.fanout_sockets;
    let m = args.fanout_messages;
    wait_sockets(api, 0.0, Duration::from_secs(10)).await;
    let rss_before = host.rss()?;
    let opened =
        open_many(api.addr, &fx.members, s, args.connect_concurrency, Instant::now() + args.fanout_open_time).await;
    let unsubscribed = opened.sockets.iter().filter(|(_, hello)| !subscribed(hello, &fx.channel)).count();
    if unsubscribed > 0 {
        bail!("{unsubscribed} sockets are not subscribed to the channel");
    }
    let n = opened.sockets.len();
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let marker: Arc<str> = Arc::from(format!("fanout-{nonce:x}-"));
    let sent = Arc::new(Sent { base: Instant::now(), at: (0..m).map(|_| AtomicU64::new(0)).collect() });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let readers: Vec<_> =
        opened.sockets.into_iter().map(|(ws, _)| reader(ws, marker.clone(), sent.clone(), stop_rx.clone())).collect();
    // Let presence frames from the last joins pass before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = host.rss()?;
    let before = api.metrics().await?;
    let cpu0 = crate::cpu::Sample::take(host.pid);

    // The poster: one message per tick, each request on its own task so a slow response
    // does not lower the rate. Bounded by M and by M/R + grace.
    let period = Duration::from_secs_f64(1.0 / args.fanout_rate);
    let post_deadline = Instant::now() + period.mul_f64(m as f64) + args.fanout_grace;
    let url = api.url(&format!("/api/v1/channels/{}/messages", fx.channel));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let first_send_ns = sent.now_ns();
    let mut posts = Vec::with_capacity(m);
    for i in 0..m {
        tick.tick().await;
        if Instant::now() >= post_deadline {
            break;
        }
        let (http, url, token, sent, text) =
            (api.http.clone(), url.clone(), fx.owner.token.clone(), sent.clone(), format!("{marker}{i}"));
        posts.push(tokio::spawn(async move {
            let t = Instant::now();
            if let Some(a) = sent.at.get(i) {
                a.store(sent.now_ns(), Ordering::Release);
            }
            let r = http.post(&url).bearer_auth(&token).json(&json!({ "text": text })).send().await;
            let ok = match r {
                Ok(resp) => resp.status().as_u16() == 201 && resp.bytes().await.is_ok(),
                Err(_) => false,
            };
            (ok, t.elapsed().as_micros() as u64)
        }));
    }
    let posted = posts.len();
    let post_elapsed_ns = sent.now_ns() - first_send_ns;
    let (mut post_errors, mut post_lat) = (0u64, Vec::with_capacity(posted));
    for p in posts {
        match p.await {
            Ok((true, us)) => post_lat.push(us),
            _ => post_errors += 1,
        }
    }
    // Readers stop on their own once they have every message; stragglers get the grace.
    let stopper = {
        let grace = args.fanout_grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let _ = stop_tx.send(true);
        })
    };
    let mut lat = Vec::with_capacity(n * posted);
    let (mut unique, mut dups, mut resyncs, mut closed, mut last_ns) = (0u64, 0u64, 0u64, 0u64, 0u64);
    for r in readers {
        if let Ok(r) = r.await {
            unique += r.unique;
            dups += r.duplicates;
            resyncs += r.resyncs;
            closed += u64::from(r.closed_early);
            last_ns = last_ns.max(r.last_ns);
            lat.extend(r.lat_us);
        }
    }
    stopper.abort();
    let cpu = cpu0.since(host.pid);
    let after = api.metrics().await?;
    let expected = (n * (posted - post_errors as usize)) as u64;
    let missing = expected.saturating_sub(unique);
    let window = last_ns.saturating_sub(first_send_ns) as f64 / 1e9;
    let per_sec = if window > 0.0 { unique as f64 / window } else { 0.0 };
    let offered = posted as f64 / (post_elapsed_ns as f64 / 1e9).max(1e-9);
    let lat = Latency::of(lat);
    let post_lat = Latency::of(post_lat);
    let left = wait_sockets(api, 0.0, Duration::from_secs(15)).await;

    table.add("fanout", "sockets (users)", format!("{n} ({})", fx.members.len()));
    table.add("fanout", "open errors", opened.errors);
    table.add("fanout", "messages posted (errors)", format!("{posted} ({post_errors})"));
    table.add("fanout", "post rate msg/s", format!("{offered:.1}"));
    table.add("fanout", "deliveries", unique);
    table.add("fanout", "deliveries/s", format!("{per_sec:.0}"));
    table.add("fanout", "latency p50 ms", format!("{:.2}", lat.p50_ms));
    table.add("fanout", "latency p99 ms", format!("{:.2}", lat.p99_ms));
    table.add("fanout", "latency max ms", format!("{:.2}", lat.max_ms));
    table.add("fanout", "missing deliveries", missing);
    table.add("fanout", "duplicates / resyncs", format!("{dups} / {resyncs}"));
    table.add("fanout", "poster HTTP p50 ms", format!("{:.2}", post_lat.p50_ms));
    table.add("fanout", crate::cpu::LABEL, cpu.row());
    if let Some(e) = &opened.first_error {
        table.add("fanout", "first open error", e);
    }
    Ok(json!({
        "sockets": n,
        "sockets_requested": s,
        "users": fx.members.len(),
        "open_errors": opened.errors,
        "first_open_error": opened.first_error,
        "open_secs": r3(opened.elapsed.as_secs_f64()),
        "messages_requested": m,
        "messages_posted": posted,
        "post_errors": post_errors,
        "rate_requested": args.fanout_rate,
        "rate_achieved": r3(offered),
        "poster_http_latency": post_lat.json(),
        "deliveries_expected": expected,
        "deliveries": unique,
        "missing": missing,
        "duplicates": dups,
        "resyncs": resyncs,
        "sockets_closed_early": closed,
        "delivery_window_secs": r3(window),
        "deliveries_per_sec": r3(per_sec),
        "latency": lat.json(),
        "cpu_while_posting_and_delivering": cpu.json(),
        "latency_note": "client send instant (just before the POST) to the client receiving the event frame; client and host share the CPUs",
        "metrics_delta": {
            "deliveries": delta(&before, &after, "ocomms_deliveries_total"),
            "events_published": delta(&before, &after, "ocomms_events_published_total"),
            "lagged": delta(&before, &after, "ocomms_lagged_total"),
        },
        "host_rss_before_bytes": rss_before,
        "host_rss_open_bytes": rss_open,
        "sockets_left_after_close": left,
    }))
}
