//! `ocomms-bench`: load figures for the real host, printed as a table and written as JSON.
//!
//! It starts its own `wasm-host` (temporary data dir, managed PostgreSQL) under `prlimit`,
//! on 127.0.0.1 only, and runs the scenarios in [`post`], [`idle`] and [`fanout`], each
//! bounded by a count and a deadline. It reports figures and never asserts timings.

mod api;
mod args;
mod cpu;
mod fanout;
mod host;
mod idle;
mod post;
mod sockets;
mod stats;

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::{Map, Value, json};

use crate::api::Api;
use crate::args::{Args, Scenario, workspace_root};
use crate::host::Host;
use crate::stats::{Table, r3};

#[tokio::main]
async fn main() {
    if let Err(e) = real_main().await {
        eprintln!("ocomms-bench: error: {e:#}");
        std::process::exit(1);
    }
}

/// Sockets the client needs at once, beyond the scenario's own.
const FD_MARGIN: u64 = 512;

async fn real_main() -> Result<()> {
    let Some(args) = Args::parse(std::env::args().skip(1))? else { return Ok(()) };
    let own_nofile = rlimit::increase_nofile_limit(u64::MAX).context("raise the open-file limit")?;
    let needed = [
        args.scenarios.contains(&Scenario::Idle).then_some(args.idle_sockets),
        args.scenarios.contains(&Scenario::Fanout).then_some(args.fanout_sockets),
        args.scenarios.contains(&Scenario::Post).then_some(args.post_clients),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0) as u64;
    if needed + FD_MARGIN > own_nofile {
        bail!(
            "the bench may open only {own_nofile} files; {needed} sockets need {}: lower the socket counts",
            needed + FD_MARGIN
        );
    }
    let out_dir =
        args.out.parent().map(std::path::Path::to_path_buf).unwrap_or_else(|| workspace_root().join("bench/out"));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    let log = out_dir.join("host.log");

    println!("ocomms-bench: starting {} (log: {})", args.host.display(), log.display());
    let started = Instant::now();
    let (bin, manifest, root, nofile, limit) =
        (args.host.clone(), args.manifest.clone(), workspace_root(), args.host_nofile, args.startup);
    let mut host =
        tokio::task::spawn_blocking(move || Host::start(&bin, &manifest, &root, log, nofile, limit)).await??;
    println!(
        "host pid {} on http://{} (nofile {}), ready in {:.1}s",
        host.pid,
        host.addr,
        host.nofile,
        host.startup.as_secs_f64()
    );
    if needed + FD_MARGIN > host.nofile {
        println!("note: the host may open only {} files for {needed} sockets", host.nofile);
    }
    let rss_start = host.rss().unwrap_or(0);
    // Other processes on the machine compete with the host and the bench for CPU.
    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let loadavg: Vec<f64> = loadavg.split_whitespace().take(3).filter_map(|v| v.parse().ok()).collect();
    println!("load average before the scenarios: {loadavg:?}");

    let mut table = Table::default();
    let mut results = Map::new();
    let outcome = tokio::select! {
        r = scenarios(&args, &host, &mut table, &mut results) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    let rss_end = host.rss().unwrap_or(0);
    let hwm = host.status_bytes("VmHWM").unwrap_or(0);
    let running = host.is_running();
    let exit = tokio::task::block_in_place(|| host.stop());
    println!("host {exit}");

    table.add("host", "startup s", format!("{:.2}", host.startup.as_secs_f64()));
    table.add("host", "RSS at start MiB", format!("{:.1}", rss_start as f64 / 1048576.0));
    table.add("host", "RSS at end MiB", format!("{:.1}", rss_end as f64 / 1048576.0));
    table.add("host", "peak RSS (VmHWM) MiB", format!("{:.1}", hwm as f64 / 1048576.0));
    table.print("summary", None);

    let report = json!({
        "generated_at_unix_ms": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0),
        "machine": {
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
            "loadavg_before_scenarios": loadavg,
        },
        "host": {
            "binary": args.host.display().to_string(),
            "pid": host.pid,
            "addr": host.addr.to_string(),
            "nofile": host.nofile,
            "startup_secs": r3(host.startup.as_secs_f64()),
            "rss_start_bytes": rss_start,
            "rss_end_bytes": rss_end,
            "vm_hwm_bytes": hwm,
            "running_at_end": running,
            "exit": exit,
            "note": "RSS is the host process alone; its managed PostgreSQL is a separate process",
        },
        "config": config_json(&args),
        "scenarios": Value::Object(results),
        "total_secs": r3(started.elapsed().as_secs_f64()),
        "error": outcome.as_ref().err().map(|e| format!("{e:#}")),
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("write {}", args.out.display()))?;
    println!("\nwrote {} ({:.1}s in all)", args.out.display(), started.elapsed().as_secs_f64());
    outcome
}

async fn scenarios(args: &Args, host: &Host, table: &mut Table, results: &mut Map<String, Value>) -> Result<()> {
    let pool = args.post_clients.max(args.connect_concurrency) + 16;
    let api = Api::new(host.addr, host.pid, pool)?;
    let needs_members = args.scenarios.iter().any(|s| matches!(s, Scenario::Idle | Scenario::Fanout));
    let fx = api.fixture(if needs_members { args.users } else { 0 }).await.context("set up users and a workspace")?;
    println!("setup: owner + {} users in one workspace in {:.1}s", fx.members.len(), fx.setup.as_secs_f64());
    results.insert("setup".into(), json!({ "users": fx.members.len(), "secs": r3(fx.setup.as_secs_f64()) }));
    for sc in &args.scenarios {
        let t = Instant::now();
        let cpu0 = cpu::Sample::take(host.pid);
        println!("\n==> {}", sc.name());
        let r = match sc {
            Scenario::Post => post::run(&api, &fx, args, table).await,
            Scenario::Idle => idle::run(&api, host, &fx, args, table).await,
            Scenario::Fanout => fanout::run(&api, host, &fx, args, table).await,
        };
        let mut v = r.with_context(|| format!("scenario {}", sc.name()))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("scenario_secs".into(), json!(r3(t.elapsed().as_secs_f64())));
            o.insert("scenario_cpu".into(), cpu0.since(host.pid).json());
            o.insert("host_rss_end_bytes".into(), json!(host.rss().unwrap_or(0)));
        }
        results.insert(sc.name().into(), v);
        match sc {
            Scenario::Post => {
                table.print("post", Some("post"));
                table.print("noop 404", Some("noop 404"));
            }
            other => table.print(other.name(), Some(other.name())),
        }
        println!("({:.1}s)", t.elapsed().as_secs_f64());
        // Leave nothing of one scenario in the next one's figures.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

fn config_json(a: &Args) -> Value {
    json!({
        "scenarios": a.scenarios.iter().map(|s| s.name()).collect::<Vec<_>>(),
        "users": a.users,
        "connect_concurrency": a.connect_concurrency,
        "post_clients": a.post_clients,
        "post_secs": a.post_time.as_secs_f64(),
        "post_max": a.post_max,
        "noop_secs": a.noop_time.as_secs_f64(),
        "noop_max": a.noop_max,
        "idle_sockets": a.idle_sockets,
        "idle_secs": a.idle_time.as_secs_f64(),
        "fanout_sockets": a.fanout_sockets,
        "fanout_messages": a.fanout_messages,
        "fanout_rate": a.fanout_rate,
        "fanout_grace_secs": a.fanout_grace.as_secs_f64(),
        "host_nofile_requested": a.host_nofile,
        "profile": if a.host.components().any(|c| c.as_os_str() == "release") { "release" } else { "debug (dependencies at opt-level 2)" },
    })
}
