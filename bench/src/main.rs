//! `ocomms-bench`: load figures for the real host, side by side with the same API compiled
//! natively and with a Socket.IO reference server; printed as tables, written as JSON and
//! drawn as a PNG of latency percentiles.
//!
//! It starts its own `wasm-host` (temporary data dir, managed PostgreSQL) under `prlimit`,
//! on 127.0.0.1 only; the native server ([`native`], this binary's `serve-native` mode) on
//! the host's database; and `node bench/socketio/server.js`. Scenarios: [`post`] (the
//! command path, WASM and native), [`idle`] and [`fanout`] (ours and Socket.IO's), [`edge`]
//! (the edge Worker under `wrangler dev` beside the host), [`runtime`] (the trivial test
//! component on our host and on the wasmtime CLI), and [`cluster`] (the fan-out through
//! HAProxy to 1 host vs 3 hosts with a relay), each bounded by a count and a deadline. It
//! reports figures and never asserts timings.

mod api;
mod args;
mod chart;
mod cluster;
mod cpu;
mod edge;
mod fanout;
mod files;
mod host;
mod idle;
mod native;
mod post;
mod proc;
mod report;
mod runtime;
mod search;
mod sockets;
mod stats;
mod target;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow};
use serde_json::{Map, Value, json};

use crate::api::{Api, Fixture};
use crate::args::{Args, Layout, Scenario, workspace_root};
use crate::fanout::{Case, FanoutSummary};
use crate::host::{Host, under_prlimit, usable_nofile};
use crate::post::PostSummary;
use crate::proc::Proc;
use crate::report::{Report, compare_fanout, compare_idle, compare_post, headline, record_post};
use crate::stats::{Compare, Table, r3};
use crate::target::{Hosts, Target};

#[tokio::main]
async fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let r = match argv.first().map(String::as_str) {
        Some("serve-native") => native::serve(&argv[1..]).await,
        Some("replot") => chart::replot(&argv[1..]),
        Some("search") => search::run(&argv[1..]).await,
        Some("files") => files::run(&argv[1..]).await,
        _ => real_main(argv).await,
    };
    if let Err(e) = r {
        eprintln!("ocomms-bench: error: {e:#}");
        std::process::exit(1);
    }
}

/// Files the client needs at once beyond the scenario's sockets.
const FD_MARGIN: u64 = 512;
const SOCKETIO_LISTENING: &str = "socketio listening on http://";

fn loadavg() -> Vec<f64> {
    let s = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    s.split_whitespace().take(3).filter_map(|v| v.parse().ok()).collect()
}

async fn real_main(argv: Vec<String>) -> Result<()> {
    let Some(mut args) = Args::parse(argv)? else { return Ok(()) };
    let mut report = Report {
        table: Table::default(),
        results: Map::new(),
        wasm_native: Compare::new("command path: WASM component vs the same API compiled natively", "wasm", "native"),
        ours_theirs: Compare::new("fan-out: ours vs Socket.IO (same load generator, same run)", "ours", "socket.io"),
        cluster: Compare::new(
            &format!(
                "cluster: {n} hosts vs 1 host, each with the relay, behind HAProxy (same load, same run)",
                n = args.cluster_hosts
            ),
            &format!("{} hosts", args.cluster_hosts),
            "1 host",
        ),
        edge: Compare::new(
            "edge: the Worker under wrangler dev (local workerd) vs the host (same load, same run)",
            "edge",
            "host",
        ),
        edge_runs: Vec::new(),
        runtime: Vec::new(),
        runtime_loads: Vec::new(),
        fanout: Vec::new(),
        cluster_runs: Vec::new(),
        post: Vec::new(),
        idle: Vec::new(),
        notes: Vec::new(),
        errors: Vec::new(),
    };
    // Both sides of every socket are on this machine: the bench holds one end, a server the
    // other. The bench raises its own soft limit; the servers get theirs from prlimit.
    let own_nofile = rlimit::increase_nofile_limit(u64::MAX).context("raise the open-file limit")?;
    let nofile = usable_nofile(args.host_nofile)?;
    if nofile < args.host_nofile {
        report.notes.push(format!(
            "prlimit cannot set nofile={} here (no CAP_SYS_RESOURCE); servers get {nofile}, the hard limit",
            args.host_nofile
        ));
    }
    let cap = own_nofile.min(nofile).saturating_sub(FD_MARGIN) as usize;
    if args.idle_sockets > cap {
        report.notes.push(format!(
            "idle sockets capped at {cap} (open-file limit {}), not {}",
            own_nofile.min(nofile),
            args.idle_sockets
        ));
        args.idle_sockets = cap;
    }
    if args.fanout_sockets.iter().any(|&n| n > cap) {
        report.notes.push(format!("fan-out socket counts capped at {cap} by the open-file limit"));
        args.fanout_sockets.iter_mut().for_each(|n| *n = (*n).min(cap));
        args.fanout_sockets.dedup();
    }
    for n in &report.notes {
        println!("note: {n}");
    }
    let out_dir = args.out.parent().map(Path::to_path_buf).unwrap_or_else(|| workspace_root().join("bench/out"));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    if let Some(d) = args.png.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("create {}", d.display()))?;
    }

    println!("ocomms-bench{}: starting {}", if args.quick { " --quick" } else { "" }, args.host.display());
    let started = Instant::now();
    let (bin, manifest, root, log, limit) =
        (args.host.clone(), args.manifest.clone(), workspace_root(), out_dir.join("host.log"), args.startup);
    let mut host =
        tokio::task::spawn_blocking(move || Host::start(&bin, &manifest, &root, log, nofile, limit)).await??;
    println!(
        "host pid {} on http://{} (nofile {}), ready in {:.1}s; log {}",
        host.pid(),
        host.proc.addr,
        host.nofile,
        host.proc.startup.as_secs_f64(),
        host.proc.log.display()
    );
    let rss_start = host.rss().unwrap_or(0);
    let load_before = loadavg();
    println!("load average before the scenarios: {load_before:?} ({} CPUs)", cpus());

    let outcome = tokio::select! {
        r = scenarios(&args, &host, nofile, &out_dir, &mut report) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted")),
    };
    if let Err(e) = &outcome {
        report.errors.push(format!("{e:#}"));
    }
    let rss_end = host.rss().unwrap_or(0);
    let hwm = crate::proc::status_bytes(host.pid(), "VmHWM").unwrap_or(0);
    let running = host.proc.is_running();
    let exit = tokio::task::block_in_place(|| host.stop());
    println!("host {exit}");
    let mib = |b: u64| format!("{:.1}", b as f64 / 1048576.0);
    report.table.add("host", "startup s", format!("{:.2}", host.proc.startup.as_secs_f64()));
    report.table.add(
        "host",
        "RSS at start / end / peak (VmHWM) MiB",
        format!("{} / {} / {}", mib(rss_start), mib(rss_end), mib(hwm)),
    );

    let report_json = json!({
        "generated_at_unix_ms": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0),
        "machine": {
            "cpus": cpus(),
            "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
            "loadavg_before_scenarios": load_before,
            "loadavg_after_scenarios": loadavg(),
            "bench_nofile": own_nofile,
            "server_nofile": nofile,
        },
        "host": {
            "binary": args.host.display().to_string(),
            "profile": profile_of(&args.host),
            "pid": host.pid(),
            "startup_secs": r3(host.proc.startup.as_secs_f64()),
            "rss_start_bytes": rss_start,
            "rss_end_bytes": rss_end,
            "vm_hwm_bytes": hwm,
            "running_at_end": running,
            "exit": exit,
            "note": "RSS is the host process alone; its managed PostgreSQL is a separate process (counted in +children CPU)",
        },
        "config": config_json(&args),
        "headline": headline(&report, args.cluster_hosts),
        "compare": {
            "wasm_vs_native": report.wasm_native.json(),
            "ours_vs_socketio": report.ours_theirs.json(),
            "cluster_hosts_vs_one": report.cluster.json(),
            "edge_vs_host": report.edge.json(),
            "runtime": report.runtime.iter().map(Compare::json).collect::<Vec<_>>(),
        },
        "scenarios": Value::Object(report.results.clone()),
        "notes": report.notes,
        "errors": report.errors,
        "total_secs": r3(started.elapsed().as_secs_f64()),
    });
    std::fs::write(&args.out, serde_json::to_string_pretty(&report_json)? + "\n")
        .with_context(|| format!("write {}", args.out.display()))?;
    if let Err(e) = chart::draw_report(&report_json, &args.png) {
        report.errors.push(format!("chart: {e:#}"));
    }

    report.table.print("all figures", None);
    if !report.wasm_native.is_empty() {
        report.wasm_native.print();
    }
    if !report.ours_theirs.is_empty() {
        report.ours_theirs.print();
    }
    if !report.cluster.is_empty() {
        report.cluster.print();
    }
    if !report.edge.is_empty() {
        report.edge.print();
    }
    for c in &report.runtime {
        c.print();
    }
    println!("\nheadline: {}", serde_json::to_string_pretty(&report_json["headline"])?);
    for n in &report.notes {
        println!("note: {n}");
    }
    println!(
        "\nwrote {} and {} ({:.1}s in all)",
        args.out.display(),
        args.png.display(),
        started.elapsed().as_secs_f64()
    );
    if report.errors.is_empty() {
        Ok(())
    } else {
        for e in &report.errors {
            eprintln!("error: {e}");
        }
        Err(anyhow!("{} scenario(s) failed; see above and {}", report.errors.len(), args.out.display()))
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
}

fn profile_of(bin: &Path) -> &'static str {
    if bin.components().any(|c| c.as_os_str() == "release") { "release" } else { "debug (dependencies at opt-level 2)" }
}

/// Runs one scenario step with a header and its duration.
async fn step<T>(name: &str, f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    let t = Instant::now();
    println!("\n==> {name}");
    let r = f.await;
    println!("({name}: {:.1}s{})", t.elapsed().as_secs_f64(), if r.is_err() { ", FAILED" } else { "" });
    r
}

async fn scenarios(args: &Args, host: &Host, nofile: u64, out_dir: &Path, report: &mut Report) -> Result<()> {
    let pool = args.post_clients.max(args.connect_concurrency) + 16;
    let api = Api::new(host.proc.addr, host.pid(), pool)?;
    let sockets_on_host = args.has(Scenario::Idle)
        || args.has(Scenario::Fanout)
        || args.has(Scenario::Cluster)
        || args.has(Scenario::Edge);
    let many =
        (args.has(Scenario::Fanout) || args.has(Scenario::Cluster)) && args.fanout_layouts.contains(&Layout::Many);
    let channels =
        if many { args.fanout_channels.min(args.fanout_sockets.iter().copied().max().unwrap_or(1)) } else { 0 };
    let fx = api
        .fixture(if sockets_on_host { args.users } else { 0 }, channels)
        .await
        .context("set up users, a workspace and channels")?;
    println!(
        "setup: owner + {} users in one workspace, {} channels with a user each, in {:.1}s",
        fx.members.len(),
        fx.spread.len(),
        fx.setup.as_secs_f64()
    );
    report.results.insert(
        "setup".into(),
        json!({ "users": fx.members.len(), "spread_channels": fx.spread.len(), "secs": r3(fx.setup.as_secs_f64()) }),
    );

    if args.has(Scenario::Post) {
        let r = step("post (wasm)", post::run(&api, &fx, "wasm", &host.database_url()?, args, &mut report.table)).await;
        let r = report.ok("post (wasm)", r);
        record_post(report, "wasm", r);
    }
    if args.has(Scenario::Native) {
        let r = step("post (native)", native_post(args, host, &fx, out_dir, &mut report.table)).await;
        let r = report.ok("post (native)", r);
        record_post(report, "native", r);
    }
    compare_post(report);

    // The Socket.IO reference runs beside the host for the socket scenarios.
    let mut node = None;
    if args.has(Scenario::SocketIo) {
        let r = step("start Socket.IO reference", start_socketio(args, nofile, out_dir)).await;
        node = report.ok("socketio", r);
        if let Some(p) = &node {
            println!("socket.io pid {} on http://{}, ready in {:.1}s", p.pid, p.addr, p.startup.as_secs_f64());
        }
    }
    let http =
        reqwest::Client::builder().no_proxy().pool_max_idle_per_host(pool).timeout(Duration::from_secs(20)).build()?;
    let single = Hosts::single(&api);
    let ours = Target::Ours { api: &api, fx: &fx, hosts: &single };
    let theirs = node.as_ref().map(|p| Target::SocketIo { http: &http, addr: p.addr, pid: p.pid });

    if args.has(Scenario::Idle) {
        let mut targets = vec![ours];
        targets.extend(theirs);
        for t in targets {
            let name = format!("idle ({})", t.label());
            let r = step(&name, idle::run(&t, args, &mut report.table)).await;
            if let Some((v, s)) = report.ok(&name, r) {
                report.results.insert(name.clone(), v);
                report.table.print(&name, Some(&name));
                report.idle.push((t.label().to_string(), s));
            }
            settle().await;
        }
        compare_idle(report);
    }

    if args.has(Scenario::Fanout) || theirs.is_some() {
        let cases = args.fanout_sockets.iter().flat_map(|&n| args.fanout_layouts.iter().map(move |&l| (n, l)));
        let cases: Vec<Case> = cases.map(|(n, l)| Case::new(args, n, l)).chain(Case::capacity(args)).collect();
        for case in cases {
            let mut pair: Vec<FanoutSummary> = Vec::new();
            let mut targets = Vec::new();
            if args.has(Scenario::Fanout) {
                targets.push(ours);
            }
            targets.extend(theirs);
            for t in targets {
                let name = format!("fanout {} {}", t.label(), case.name());
                let r = step(&name, fanout::run(&t, case, args, &mut report.table)).await;
                if let Some((v, s)) = report.ok(&name, r) {
                    report.results.insert(name.clone(), v);
                    report.table.print(&name, Some(&name));
                    pair.push(s);
                }
                settle().await;
            }
            compare_fanout(report, &case, &pair);
            report.fanout.extend(pair);
        }
    }
    if let Some(mut p) = node {
        let rss = p.rss().unwrap_or(0);
        let exit = tokio::task::block_in_place(|| p.stop(Duration::from_secs(10)));
        println!("socket.io {exit}");
        report.results.insert("socketio_server".into(), json!({ "rss_end_bytes": rss, "exit": exit, "pid": p.pid }));
    }
    if args.has(Scenario::Edge) {
        let r = edge::run(args, host, &api, &fx, out_dir, report).await;
        report.ok("edge", r);
    }
    if args.has(Scenario::Runtime) {
        let r = step("runtime", runtime::run(args, host, out_dir, report)).await;
        report.ok("runtime", r);
    }
    if args.has(Scenario::Cluster) {
        let r = cluster::run(args, host, &fx, nofile, out_dir, report).await;
        report.ok("cluster", r);
    }
    Ok(())
}

/// Leave nothing of one run in the next one's figures.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(500)).await;
}

/// The command path on the natively compiled API, on the host's database.
async fn native_post(
    args: &Args,
    host: &Host,
    fx: &Fixture,
    out_dir: &Path,
    table: &mut Table,
) -> Result<(Value, PostSummary)> {
    let exe = std::env::current_exe().context("find this binary")?;
    let mut cmd = Command::new(exe);
    cmd.arg("serve-native")
        .arg("--database-url")
        .arg(host.database_url()?)
        .arg("--jwt-secret-file")
        .arg(host.jwt_secret_file());
    let log = out_dir.join("native.log");
    let mut p = tokio::task::spawn_blocking(move || {
        Proc::start("native", cmd, log, native::LISTENING, Duration::from_secs(60))
    })
    .await??;
    println!("native pid {} on http://{}, ready in {:.2}s", p.pid, p.addr, p.startup.as_secs_f64());
    let api = Api::new(p.addr, p.pid, args.post_clients + 16)?;
    let r = post::run(&api, fx, "native", &host.database_url()?, args, table).await;
    let rss = p.rss().unwrap_or(0);
    let exit = tokio::task::block_in_place(|| p.stop(Duration::from_secs(10)));
    println!("native {exit}");
    let (mut v, s) = r?;
    if let Some(o) = v.as_object_mut() {
        o.insert("server_rss_end_bytes".into(), json!(rss));
    }
    Ok((v, s))
}

async fn start_socketio(args: &Args, nofile: u64, out_dir: &Path) -> Result<Proc> {
    let dir = args.socketio_dir.clone();
    if !dir.join("node_modules/socket.io").is_dir() {
        anyhow::bail!("{} has no node_modules/socket.io: run `npm ci` there (cargo xtask bench does)", dir.display());
    }
    let node = which(&args.node).with_context(|| format!("{} not found: install Node.js", args.node.display()))?;
    let mut cmd = under_prlimit(nofile, &node);
    cmd.args(["server.js", "0"]).current_dir(&dir);
    let log = out_dir.join("socketio.log");
    tokio::task::spawn_blocking(move || Proc::start("socket.io", cmd, log, SOCKETIO_LISTENING, Duration::from_secs(30)))
        .await?
}

/// `prlimit` needs a path: resolve a bare program name on PATH.
fn which(program: &Path) -> Option<std::path::PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join(program)).find(|p| p.is_file())
}

fn config_json(a: &Args) -> Value {
    json!({
        "quick": a.quick,
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
        "fanout_layouts": a.fanout_layouts.iter().map(|l| l.name()).collect::<Vec<_>>(),
        "fanout_channels": a.fanout_channels,
        "fanout_senders": a.fanout_senders,
        "fanout_rate": a.fanout_rate,
        "fanout_capacity_rate": a.fanout_capacity_rate,
        "fanout_many_rate": a.fanout_many_rate,
        "fanout_secs": a.fanout_time.as_secs_f64(),
        "fanout_grace_secs": a.fanout_grace.as_secs_f64(),
        "edge_sockets": a.edge_sockets,
        "runtime_secs": a.runtime_time.as_secs_f64(),
        "cluster_hosts": a.cluster_hosts,
        "host_nofile_requested": a.host_nofile,
        "host_profile": profile_of(&a.host),
        "bench_profile": if cfg!(debug_assertions) { "debug" } else { "release" },
    })
}
