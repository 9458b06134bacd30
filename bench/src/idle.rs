//! `idle`: many open sockets doing nothing (authenticated ones on the host, joined ones on
//! the Socket.IO reference); what each costs the server in RSS.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::args::Args;
use crate::sockets::{Opened, Ws, open, open_many, open_socketio};
use crate::stats::{Latency, Table, r3};
use crate::target::Target;

pub const GIB: f64 = (1u64 << 30) as f64;
/// Time given to the server to settle before each RSS reading.
const SETTLE: Duration = Duration::from_secs(2);

/// Reads (and so answers pings on) a socket until told to stop.
fn drain(mut ws: Ws, socketio: bool, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    use futures::SinkExt as _;
    use tokio_tungstenite::tungstenite::Message;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                m = ws.next() => match m {
                    Some(Ok(Message::Text(t))) if socketio && t.as_str() == "2" => {
                        if ws.send(Message::text("3")).await.is_err() { break }
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                },
                _ = stop.changed() => break,
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    })
}

/// Opens `count` sockets on `target`: on the host spread round-robin over the fixture's
/// members, on Socket.IO all in one room.
pub async fn open_on(target: &Target<'_>, count: usize, concurrency: usize, deadline: Instant) -> Opened {
    let addr = target.addr();
    match target {
        Target::Ours { fx, .. } => {
            let members = &fx.members;
            open_many(count, concurrency, deadline, |i| {
                let token = members.get(i % members.len().max(1)).map(|u| u.token.clone()).unwrap_or_default();
                async move { open(addr, &token).await.map(|(ws, _)| ws) }
            })
            .await
        }
        Target::SocketIo { .. } => {
            open_many(count, concurrency, deadline, |_| async move { open_socketio(addr, "idle").await }).await
        }
    }
}

/// What the comparison needs from one idle run.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdleSummary {
    pub sockets: usize,
    pub bytes_per_socket: f64,
    pub sockets_per_gib: f64,
}

pub async fn run(target: &Target<'_>, args: &Args, table: &mut Table) -> Result<(Value, IdleSummary)> {
    let name = format!("idle ({})", target.label());
    let k = args.idle_sockets;
    if let Target::Ours { fx, .. } = target
        && fx.members.is_empty()
    {
        bail!("no users to own the sockets");
    }
    let rss = || target.rss();
    let leftover = target.wait_sockets(0.0, Duration::from_secs(10)).await;
    tokio::time::sleep(SETTLE).await;
    let rss_before = rss()?;
    let cpu0 = crate::cpu::Sample::take(&target.pids(), target.shared_pids());
    let opened = open_on(target, k, args.connect_concurrency, Instant::now() + args.idle_time).await;
    let cpu = cpu0.since();
    let n = opened.sockets.len();
    let socketio = target.kind() == crate::target::Kind::SocketIo;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks: Vec<_> = opened.sockets.into_iter().map(|(ws, _)| drain(ws, socketio, stop_rx.clone())).collect();
    tokio::time::sleep(SETTLE).await;
    let gauge = target.sockets().await.unwrap_or(f64::NAN);
    let rss_after = rss()?;
    let grown = rss_after as f64 - rss_before as f64;
    let per_socket = if n > 0 { grown / n as f64 } else { 0.0 };
    let per_gib = if per_socket > 0.0 { GIB / per_socket } else { 0.0 };
    let open_lat = Latency::of(opened.open_us);
    let open_rate = if opened.elapsed.as_secs_f64() > 0.0 { n as f64 / opened.elapsed.as_secs_f64() } else { 0.0 };

    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    let after_close = target.wait_sockets(0.0, Duration::from_secs(15)).await;

    table.add(&name, "sockets requested", k);
    table.add(&name, "sockets open (server count)", format!("{n} ({gauge})"));
    table.add(&name, "open errors", opened.errors);
    table.add(&name, "open time s", format!("{:.2}", opened.elapsed.as_secs_f64()));
    table.add(&name, "opens/s", format!("{open_rate:.0}"));
    table.add(&name, "open p50/p99 ms", format!("{:.1}/{:.1}", open_lat.p50_ms, open_lat.p99_ms));
    table.add(&name, &format!("opening: {}", crate::cpu::LABEL), cpu.row());
    table.add(&name, "server RSS before MiB", format!("{:.1}", rss_before as f64 / 1048576.0));
    table.add(&name, "server RSS after MiB", format!("{:.1}", rss_after as f64 / 1048576.0));
    table.add(&name, "bytes per socket", format!("{per_socket:.0}"));
    table.add(&name, "sockets per GiB", format!("{per_gib:.0}"));
    if opened.timed_out {
        table.add(&name, "note", format!("deadline {:?} hit while opening", args.idle_time));
    }
    if let Some(e) = &opened.first_error {
        table.add(&name, "first error", e);
    }
    let v = json!({
        "server": target.label(),
        "sockets_requested": k,
        "sockets_open": n,
        "server_socket_count": gauge,
        "sockets_left_from_before": leftover,
        "sockets_left_after_close": after_close,
        "open_errors": opened.errors,
        "first_error": opened.first_error,
        "deadline_hit": opened.timed_out,
        "open_secs": r3(opened.elapsed.as_secs_f64()),
        "opens_per_sec": r3(open_rate),
        "open_latency": open_lat.json(),
        "open_cpu": cpu.json(),
        "server_rss_before_bytes": rss_before,
        "server_rss_after_bytes": rss_after,
        "bytes_per_socket": per_socket.round(),
        "sockets_per_gib": per_gib.round(),
        "note": "VmRSS of the server process only (the host's PostgreSQL is another process); kernel socket buffers are not in RSS",
    });
    Ok((v, IdleSummary { sockets: n, bytes_per_socket: per_socket, sockets_per_gib: per_gib }))
}
