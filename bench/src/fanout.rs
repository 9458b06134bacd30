//! `fanout`: N sockets, in one channel or spread over C channels; M senders post over HTTP
//! at a fixed total rate; every socket records when each message reaches it. Runs the same
//! way against the host and against the Socket.IO reference.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::args::{Args, Layout};
use crate::sockets::{Ws, open, open_many, open_socketio, subscribed};
use crate::stats::{Latency, Table, r3};
use crate::target::{Kind, Target, rss_sampler};

/// One fan-out run: how many sockets, laid out how, and how many messages a second.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    pub sockets: usize,
    pub layout: Layout,
    /// Messages per second, all senders together.
    pub rate: f64,
    /// Offered more than a server can deliver: the run measures its ceiling, where the other
    /// runs measure latency at a rate both servers keep up with.
    pub capacity: bool,
}

impl Case {
    /// A run at the layout's rate (`--fanout-rate` or `--fanout-many-rate`).
    pub fn new(args: &Args, sockets: usize, layout: Layout) -> Self {
        let rate = match layout {
            Layout::One => args.fanout_rate,
            Layout::Many => args.fanout_many_rate,
        };
        Case { sockets, layout, rate, capacity: false }
    }

    /// The largest one-channel run again at `--fanout-capacity-rate`, if that is set and the
    /// one-channel layout is selected.
    pub fn capacity(args: &Args) -> Option<Self> {
        let sockets = *args.fanout_sockets.iter().max()?;
        (args.fanout_capacity_rate > 0.0 && args.fanout_layouts.contains(&Layout::One)).then_some(Case {
            sockets,
            layout: Layout::One,
            rate: args.fanout_capacity_rate,
            capacity: true,
        })
    }

    pub fn name(&self) -> String {
        if self.capacity {
            format!("{} sockets, {}, {} msg/s", self.sockets, self.layout.name(), self.rate)
        } else {
            format!("{} sockets, {}", self.sockets, self.layout.name())
        }
    }
}

/// What the comparison and the chart need from one run.
#[derive(Debug, Clone)]
pub struct FanoutSummary {
    pub kind: Kind,
    pub case: String,
    pub deliveries_per_sec: f64,
    pub latency: Latency,
    pub missing: u64,
    pub errors: u64,
    pub posts_ok: u64,
    pub posts_planned: usize,
    pub server_cpu_pct: f64,
    /// CPU while posting and delivering (servers, +children, bench, other).
    pub cpu: crate::cpu::Usage,
    pub rss_peak_growth: f64,
    /// Behind a proxy: each host's socket gauge once the sockets were open.
    pub sockets_per_host: Option<Vec<f64>>,
}

/// Send instants (nanoseconds after `base`, plus one: 0 = not sent) and outcomes, per message.
struct Sent {
    base: Instant,
    at: Vec<AtomicU64>,
    ok: Vec<AtomicBool>,
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

/// The message index in a frame whose text carries `<marker><index>`. The same cheap scan
/// for both protocols, so the client spends the same per frame on either server.
fn marker_index(frame: &str, marker: &str) -> Option<usize> {
    let rest = &frame[frame.find(marker)? + marker.len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest.get(..digits)?.parse().ok()
}

/// Messages `k < m` that go to channel `c` of `channels` (message k goes to k mod channels).
fn expected_for(c: usize, channels: usize, m: usize) -> usize {
    m / channels + usize::from(c < m % channels)
}

fn reader(
    mut ws: Ws,
    kind: Kind,
    expected: usize,
    marker: Arc<str>,
    sent: Arc<Sent>,
    mut stop: tokio::sync::watch::Receiver<bool>,
    done: Arc<tokio::sync::watch::Sender<usize>>,
) -> tokio::task::JoinHandle<Received> {
    tokio::spawn(async move {
        let mut seen = vec![false; sent.at.len()];
        let mut r = Received { lat_us: Vec::with_capacity(expected), ..Received::default() };
        let mut stopped = false;
        while (r.unique as usize) < expected {
            let msg = tokio::select! {
                msg = ws.next() => msg,
                _ = stop.changed() => {
                    stopped = true;
                    break;
                }
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
            let t = text.as_str();
            match marker_index(t, &marker) {
                Some(i) => {
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
                // Engine.IO ping: answer, or the server drops the socket.
                None if kind == Kind::SocketIo && t == "2" => match ws.send(Message::text("3")).await {
                    Ok(()) => {}
                    Err(_) => {
                        r.closed_early = true;
                        break;
                    }
                },
                None if kind == Kind::Ours && t.contains("\"type\":\"resync\"") => r.resyncs += 1,
                None => {}
            }
        }
        if !stopped {
            done.send_modify(|n| *n += 1);
            // Open until every socket is done: closing is not delivery, and closes must not
            // land among the last posts (a channel's sockets finish at its last message).
            let _ = stop.wait_for(|&s| s).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
        r
    })
}

#[derive(Debug, Default)]
struct SenderResult {
    ok: u64,
    errors: u64,
    skipped: u64,
    first_error: Option<String>,
    http_us: Vec<u64>,
    late_us: Vec<u64>,
}

/// Where and how a sender posts message `k`.
#[derive(Clone)]
enum PostTo {
    Ours { base: String, token: String, channels: Arc<[String]> },
    SocketIo { url: String, rooms: Arc<[String]> },
}

impl PostTo {
    async fn post(&self, http: &reqwest::Client, k: usize, text: String) -> Result<u16, reqwest::Error> {
        let resp = match self {
            PostTo::Ours { base, token, channels } => {
                let ch = &channels[k % channels.len()];
                http.post(format!("{base}/api/v1/channels/{ch}/messages"))
                    .bearer_auth(token)
                    .json(&json!({ "text": text }))
                    .send()
                    .await?
            }
            PostTo::SocketIo { url, rooms } => {
                let sent_at = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                let room = &rooms[k % rooms.len()];
                http.post(url).json(&json!({ "room": room, "text": text, "sent_at": sent_at })).send().await?
            }
        };
        let status = resp.status().as_u16();
        resp.bytes().await?;
        Ok(status)
    }
}

/// Sender `s` of `senders` posts messages s, s+senders, ... each at `t0 + k * period`, one
/// request in flight at a time; nothing is sent after `deadline`.
#[allow(clippy::too_many_arguments, reason = "one call site; a struct would only rename them")]
fn sender(
    s: usize,
    senders: usize,
    m: usize,
    t0: Instant,
    period: Duration,
    deadline: Instant,
    to: PostTo,
    http: reqwest::Client,
    marker: Arc<str>,
    sent: Arc<Sent>,
) -> tokio::task::JoinHandle<SenderResult> {
    tokio::spawn(async move {
        let mut r = SenderResult::default();
        for k in (s..m).step_by(senders) {
            let at = t0 + period.mul_f64(k as f64);
            tokio::time::sleep_until(at.into()).await;
            let now = Instant::now();
            if now >= deadline {
                r.skipped += 1;
                continue;
            }
            r.late_us.push((now - at).as_micros() as u64);
            if let Some(a) = sent.at.get(k) {
                a.store(sent.now_ns(), Ordering::Release);
            }
            let t = Instant::now();
            match to.post(&http, k, format!("{marker}{k}")).await {
                Ok(201) => {
                    r.ok += 1;
                    r.http_us.push(t.elapsed().as_micros() as u64);
                    if let Some(o) = sent.ok.get(k) {
                        o.store(true, Ordering::Release);
                    }
                }
                Ok(status) => {
                    r.errors += 1;
                    r.first_error.get_or_insert_with(|| format!("status {status}"));
                }
                Err(e) => {
                    r.errors += 1;
                    r.first_error.get_or_insert_with(|| e.to_string());
                }
            }
        }
        r
    })
}

pub async fn run(target: &Target<'_>, case: Case, args: &Args, table: &mut Table) -> Result<(Value, FanoutSummary)> {
    let kind = target.kind();
    let name = format!("fanout {} {}", target.label(), case.name());
    let n = case.sockets;
    let channels = match case.layout {
        Layout::One => 1,
        Layout::Many => args.fanout_channels.clamp(1, n.max(1)),
    };
    let rate = case.rate;
    let m = ((rate * args.fanout_time.as_secs_f64()).ceil() as usize).max(1);
    let addr = target.addr();

    // What each socket joins and where each message goes: channel c of 0..channels.
    let (keys, to): (Vec<String>, PostTo) = match target {
        Target::Ours { api, fx, .. } => {
            let keys: Vec<String> = match case.layout {
                Layout::One => vec![fx.channel.clone()],
                Layout::Many => fx.spread.iter().take(channels).map(|(_, c)| c.clone()).collect(),
            };
            if keys.len() < channels {
                bail!("the fixture has {} spread channels, {channels} needed", keys.len());
            }
            let to =
                PostTo::Ours { base: api.base.clone(), token: fx.owner.token.clone(), channels: keys.clone().into() };
            (keys, to)
        }
        Target::SocketIo { .. } => {
            let keys: Vec<String> = match case.layout {
                Layout::One => vec!["bench-one".into()],
                Layout::Many => (0..channels).map(|c| format!("bench-{c}")).collect(),
            };
            (keys.clone(), PostTo::SocketIo { url: format!("http://{addr}/post"), rooms: keys.into() })
        }
    };

    target.wait_sockets(0.0, Duration::from_secs(10)).await;
    let rss_before = target.rss()?;
    let (rss_stop, rss_peak) = rss_sampler(target.pids());
    let deadline = Instant::now() + args.fanout_open_time;
    let opened = match target {
        Target::Ours { fx, .. } => {
            let (members, spread, layout) = (&fx.members, &fx.spread, case.layout);
            let default_channel = fx.channel.as_str();
            open_many(n, args.connect_concurrency, deadline, |i| {
                let (token, channel) = match layout {
                    Layout::One => {
                        (members.get(i % members.len().max(1)).map(|u| u.token.clone()), default_channel.to_string())
                    }
                    Layout::Many => match spread.get(i % channels) {
                        Some((u, c)) => (Some(u.token.clone()), c.clone()),
                        None => (None, String::new()),
                    },
                };
                async move {
                    let (ws, hello) = open(addr, &token.unwrap_or_default()).await?;
                    if !subscribed(&hello, &channel) {
                        bail!("socket not subscribed to channel {channel}");
                    }
                    Ok(ws)
                }
            })
            .await
        }
        Target::SocketIo { .. } => {
            let keys = &keys;
            open_many(n, args.connect_concurrency, deadline, |i| {
                let room = keys[i % channels].clone();
                async move { open_socketio(addr, &room).await }
            })
            .await
        }
    };
    let opened_n = opened.sockets.len();
    let mut per_channel = vec![0u64; channels];
    for (_, i) in &opened.sockets {
        per_channel[i % channels] += 1;
    }

    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let marker: Arc<str> = Arc::from(format!("fanout-{nonce:x}-"));
    let sent = Arc::new(Sent {
        base: Instant::now(),
        at: (0..m).map(|_| AtomicU64::new(0)).collect(),
        ok: (0..m).map(|_| AtomicBool::new(false)).collect(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (done_tx, mut done_rx) = tokio::sync::watch::channel(0usize);
    let done_tx = Arc::new(done_tx);
    let readers: Vec<_> = opened
        .sockets
        .into_iter()
        .map(|(ws, i)| {
            let expected = expected_for(i % channels, channels, m);
            reader(ws, kind, expected, marker.clone(), sent.clone(), stop_rx.clone(), done_tx.clone())
        })
        .collect();
    // Let presence frames from the last joins pass before the clock starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = target.rss()?;
    // Behind a proxy: how the sockets spread over the hosts.
    let per_host = match target.cluster_hosts() {
        Some(_) => target.sockets_per_server().await.ok(),
        None => None,
    };
    let cpu0 = crate::cpu::Sample::take(&target.pids(), target.shared_pids());

    let senders = args.fanout_senders.clamp(1, m);
    let period = Duration::from_secs_f64(1.0 / rate);
    let t0 = Instant::now() + Duration::from_millis(50);
    let post_deadline = t0 + period.mul_f64(m as f64) + args.fanout_grace;
    let first_send_ns = sent.now_ns();
    let tasks: Vec<_> = (0..senders)
        .map(|s| {
            let (to, http) = (to.clone(), target.http().clone());
            sender(s, senders, m, t0, period, post_deadline, to, http, marker.clone(), sent.clone())
        })
        .collect();
    let mut sr = SenderResult::default();
    for t in tasks {
        match t.await {
            Ok(r) => {
                sr.ok += r.ok;
                sr.errors += r.errors;
                sr.skipped += r.skipped;
                if sr.first_error.is_none() {
                    sr.first_error = r.first_error;
                }
                sr.http_us.extend(r.http_us);
                sr.late_us.extend(r.late_us);
            }
            Err(e) => {
                sr.errors += 1;
                sr.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let post_elapsed_ns = sent.now_ns().saturating_sub(first_send_ns);
    // Readers finish once they have every message; stragglers get the grace. Then all
    // sockets close at once, timed apart from delivery.
    let n_readers = readers.len();
    let _ = tokio::time::timeout(args.fanout_grace, done_rx.wait_for(|&n| n >= n_readers)).await;
    let cpu = cpu0.since();
    let closing = Instant::now();
    let _ = stop_tx.send(true);
    let mut lat = Vec::new();
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
    let close_secs = closing.elapsed().as_secs_f64();
    let _ = rss_stop.send(());
    let rss_peak = rss_peak.await.unwrap_or(0);
    let expected: u64 = (0..m)
        .filter(|&k| sent.ok.get(k).is_some_and(|o| o.load(Ordering::Acquire)))
        .map(|k| per_channel[k % channels])
        .sum();
    let missing = expected.saturating_sub(unique);
    let window = last_ns.saturating_sub(first_send_ns) as f64 / 1e9;
    let per_sec = if window > 0.0 { unique as f64 / window } else { 0.0 };
    let offered = sr.ok as f64 / (post_elapsed_ns as f64 / 1e9).max(1e-9);
    let lat = Latency::of(lat);
    let post_lat = Latency::of(sr.http_us);
    let late = Latency::of(sr.late_us);
    let left = target.wait_sockets(0.0, Duration::from_secs(15)).await;
    let errors = opened.errors + sr.errors + closed;
    let mib = |b: u64| b as f64 / 1048576.0;

    table.add(&name, "sockets (channels)", format!("{opened_n} ({channels})"));
    if let Some(per_host) = &per_host {
        let list: Vec<String> = per_host.iter().map(|n| format!("{n:.0}")).collect();
        table.add(&name, "sockets per host (host gauges)", list.join(" / "));
    }
    table.add(&name, "open errors / time s", format!("{} / {:.1}", opened.errors, opened.elapsed.as_secs_f64()));
    table.add(&name, "senders; rate msg/s asked / got", format!("{senders}; {rate:.0} / {offered:.1}"));
    table.add(&name, "messages posted ok (errors, skipped)", format!("{} ({}, {})", sr.ok, sr.errors, sr.skipped));
    table.add(&name, "deliveries (expected)", format!("{unique} ({expected})"));
    table.add(&name, "deliveries/s", format!("{per_sec:.0}"));
    table.add(
        &name,
        "latency p50 / p99 / max ms",
        format!("{:.2} / {:.2} / {:.2}", lat.p50_ms, lat.p99_ms, lat.max_ms),
    );
    table.add(&name, "missing / duplicates / resyncs", format!("{missing} / {dups} / {resyncs}"));
    table.add(&name, "sockets closed early", closed);
    table.add(&name, "all sockets closed, after delivery s", format!("{close_secs:.2}"));
    table.add(&name, "sender HTTP p50 / p99 ms", format!("{:.2} / {:.2}", post_lat.p50_ms, post_lat.p99_ms));
    table.add(&name, "sender late p99 ms", format!("{:.2}", late.p99_ms));
    table.add(
        &name,
        "server RSS before / open / peak MiB",
        format!("{:.1} / {:.1} / {:.1}", mib(rss_before), mib(rss_open), mib(rss_peak)),
    );
    table.add(&name, crate::cpu::LABEL, cpu.row());
    if let Some(e) = &opened.first_error {
        table.add(&name, "first open error", e);
    }
    if let Some(e) = &sr.first_error {
        table.add(&name, "first post error", e);
    }
    let v = json!({
        "server": target.label(),
        "cluster_hosts": target.cluster_hosts(),
        "sockets_per_host": per_host.clone(),
        "layout": case.layout.name(),
        "sockets_requested": n,
        "sockets": opened_n,
        "channels": channels,
        "sockets_per_channel_min": per_channel.iter().min(),
        "sockets_per_channel_max": per_channel.iter().max(),
        "open_errors": opened.errors,
        "first_open_error": opened.first_error,
        "open_secs": r3(opened.elapsed.as_secs_f64()),
        "close_secs": r3(close_secs),
        "senders": senders,
        "messages_planned": m,
        "rate_requested": rate,
        "rate_achieved": r3(offered),
        "posts_ok": sr.ok,
        "post_errors": sr.errors,
        "posts_skipped_after_deadline": sr.skipped,
        "first_post_error": sr.first_error,
        "sender_http_latency": post_lat.json(),
        "sender_lateness": late.json(),
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
        "server_rss_before_bytes": rss_before,
        "server_rss_open_bytes": rss_open,
        "server_rss_peak_bytes": rss_peak,
        "sockets_left_after_close": left,
        "latency_note": "sender's instant just before the POST to the receiving socket reading the frame; client and server share the CPUs",
    });
    let summary = FanoutSummary {
        kind,
        case: case.name(),
        deliveries_per_sec: per_sec,
        latency: lat,
        missing,
        errors,
        posts_ok: sr.ok,
        posts_planned: m,
        server_cpu_pct: cpu.tree_pct(),
        cpu,
        rss_peak_growth: rss_peak.saturating_sub(rss_before) as f64,
        sockets_per_host: per_host,
    };
    Ok((v, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_is_found_in_both_protocols() {
        let ours = r#"{"type":"event","event":{"kind":"message.posted","data":{"text":"fanout-ab-17"}}}"#;
        let theirs = r#"42["message",{"room":"bench-3","text":"fanout-ab-204","sent_at":1}]"#;
        assert_eq!(marker_index(ours, "fanout-ab-"), Some(17));
        assert_eq!(marker_index(theirs, "fanout-ab-"), Some(204));
        assert_eq!(marker_index(theirs, "fanout-cd-"), None);
        assert_eq!(marker_index(r#""fanout-ab-""#, "fanout-ab-"), None);
    }

    #[test]
    fn messages_split_over_channels() {
        assert_eq!((0..3).map(|c| expected_for(c, 3, 10)).collect::<Vec<_>>(), vec![4, 3, 3]);
        assert_eq!(expected_for(0, 1, 10), 10);
        assert_eq!((0..4).map(|c| expected_for(c, 4, 10)).sum::<usize>(), 10);
    }
}
