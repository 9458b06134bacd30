//! `cluster`: the fan-out cases through HAProxy in front of one host, then in front of
//! `--cluster-hosts` hosts (default 3), every host with the relay, in the same run.
//!
//! The extra hosts share the bench host's managed PostgreSQL, its JWT and rooms secrets (so
//! the fixture's tokens work on each of them), its compiled components (`--cache-dir`), the
//! flags and variables it runs with and its `prlimit`; each has a data dir of its own. The
//! relay is a real `valkey-server` or `redis-server` on a free loopback port; the proxy a
//! real HAProxy (round robin, active checks on `/readyz`, WebSockets tunnelled for an hour).
//! Sockets and posts go through the proxy, so the sockets spread over the hosts and a post
//! reaches the sockets of the other hosts through the relay. Every host reports `relay: up`
//! and HAProxy has every backend up before the first run.
//!
//! Whatever the scenario starts is stopped when it ends or fails (or is dropped on ^C): the
//! hosts with SIGTERM so they drain (SIGKILL after 30 s), the relay and the proxy killed.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::{Map, Value, json};

use crate::api::{Api, Fixture};
use crate::args::Args;
use crate::fanout::{Case, FanoutSummary};
use crate::host::{Host, LISTENING, temp_dir, under_prlimit};
use crate::proc::Proc;
use crate::stats::{r3, ratio};
use crate::target::{Hosts, Target, rss_of};
use crate::{Report, settle, step};

/// Files HAProxy keeps beyond its connections (listeners, checks, the stats socket).
const PROXY_FD_MARGIN: u64 = 1024;
/// Connections through the proxy beyond the sockets (senders, probes).
const PROXY_CONN_MARGIN: usize = 256;
/// How long a host may take to report `relay: up`, and HAProxy to see every backend up.
const READY_LIMIT: Duration = Duration::from_secs(60);
/// A host's drain after SIGTERM, before SIGKILL.
const HOST_GRACE: Duration = Duration::from_secs(30);

/// Every WebSocket through the proxy holds two of its files (the client's and the host's).
pub fn proxy_maxconn(nofile: u64) -> usize {
    (nofile.saturating_sub(PROXY_FD_MARGIN) / 2) as usize
}

/// The label of a cluster of `n` hosts in tables, the JSON and the chart.
pub fn label(n: usize) -> String {
    if n == 1 { "1 host + relay".into() } else { format!("{n} hosts + relay") }
}

/// The first of `names` in the `PATH` or in `extra` directories.
fn find_program(names: &[&str], extra: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).chain(extra.iter().map(PathBuf::from)).collect();
    names.iter().find_map(|n| dirs.iter().map(|d| d.join(n)).find(|p| p.is_file()))
}

fn program(given: Option<&PathBuf>, names: &[&str], extra: &[&str], missing: &str) -> Result<PathBuf> {
    match given {
        Some(p) if p.is_file() => Ok(p.clone()),
        Some(p) => bail!("no such program: {}", p.display()),
        None => find_program(names, extra).with_context(|| missing.to_string()),
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0").context("bind a loopback port")?.local_addr()?.port())
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            println!("note: cannot remove {}: {e}", self.0.display());
        }
    }
}

/// A helper server (the relay, the proxy): output to a log, killed when stopped or dropped.
struct Aux {
    name: &'static str,
    child: Option<Child>,
    pid: u32,
    log: PathBuf,
}

impl Aux {
    fn spawn(name: &'static str, mut cmd: Command, log: PathBuf) -> Result<Self> {
        let file = File::create(&log).with_context(|| format!("create {}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("start {name}: {cmd:?}"))?;
        Ok(Self { name, pid: child.id(), child: Some(child), log })
    }

    /// Waits until something accepts on `port`; fails at once if the process exits.
    async fn wait_listening(&mut self, port: u16, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(());
            }
            if let Some(c) = self.child.as_mut()
                && let Some(status) = c.try_wait()?
            {
                bail!("{} exited with {status} before listening; see {}", self.name, self.log.display());
            }
            if Instant::now() > deadline {
                bail!("{} did not listen on {port} within {limit:?}; see {}", self.name, self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(&mut self) -> String {
        let Some(mut child) = self.child.take() else { return "already stopped".into() };
        if let Ok(Some(status)) = child.try_wait() {
            return format!("had already exited: {status}");
        }
        let _ = child.kill();
        let _ = child.wait();
        "killed".into()
    }
}

impl Drop for Aux {
    fn drop(&mut self) {
        if self.child.is_some() {
            let outcome = self.stop();
            println!("{} {outcome}", self.name);
        }
    }
}

/// `redis-server` (or `valkey-server`) on a free loopback port, nothing kept on disk.
struct Relay {
    aux: Aux,
    port: u16,
}

impl Relay {
    async fn start(binary: &Path, dir: &Path, log: PathBuf) -> Result<Self> {
        let port = free_port()?;
        let mut cmd = Command::new(binary);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir);
        let mut aux = Aux::spawn("relay", cmd, log)?;
        aux.wait_listening(port, Duration::from_secs(20)).await?;
        Ok(Self { aux, port })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

/// What every extra host shares with the bench host.
struct Shared {
    binary: PathBuf,
    manifest: PathBuf,
    workdir: PathBuf,
    database_url: String,
    relay_url: String,
    cache_dir: PathBuf,
    jwt_secret: String,
    rooms_secret: String,
    nofile: u64,
    startup: Duration,
}

impl Shared {
    /// The bench host's command line and variables, plus the database, the relay, the
    /// shared component cache and the shared secrets.
    fn command(&self, data_dir: &Path) -> Command {
        let mut cmd = crate::host::command(&self.binary, &self.manifest, &self.workdir, data_dir, self.nofile);
        cmd.arg("--relay-url")
            .arg(&self.relay_url)
            .arg("--cache-dir")
            .arg(&self.cache_dir)
            // The URL carries the database password: the variable keeps it out of `ps`.
            .env("OCOMMS_DATABASE_URL", &self.database_url)
            .env("SPIN_VARIABLE_JWT_SECRET", &self.jwt_secret)
            .env("SPIN_VARIABLE_ROOMS_SECRET", &self.rooms_secret);
        cmd
    }
}

/// One host of a cluster; stopped with SIGTERM and its data dir removed when dropped.
struct ClusterHost {
    proc: Proc,
    data_dir: PathBuf,
}

impl ClusterHost {
    fn stop(&mut self) -> String {
        let outcome = self.proc.stop(HOST_GRACE);
        if self.data_dir.exists()
            && let Err(e) = std::fs::remove_dir_all(&self.data_dir)
        {
            println!("note: cannot remove {}: {e}", self.data_dir.display());
        }
        outcome
    }
}

impl Drop for ClusterHost {
    fn drop(&mut self) {
        if self.data_dir.exists() {
            let outcome = self.stop();
            println!("cluster host {} {outcome}", self.proc.pid);
        }
    }
}

/// `n` hosts with the relay and HAProxy in front of them.
struct Cluster {
    hosts: Vec<ClusterHost>,
    proxy: Option<Aux>,
    proxy_addr: SocketAddr,
}

impl Cluster {
    async fn start(
        n: usize,
        shared: &Shared,
        dir: &Path,
        out_dir: &Path,
        haproxy: &Path,
        maxconn: usize,
    ) -> Result<Self> {
        // All at once, as a cluster starts: their migrations take turns on the advisory lock.
        let mut starts = Vec::with_capacity(n);
        for i in 0..n {
            let data_dir = dir.join(format!("cluster{n}-host{i}"));
            std::fs::create_dir_all(&data_dir).with_context(|| format!("create {}", data_dir.display()))?;
            let cmd = shared.command(&data_dir);
            let log = out_dir.join(format!("cluster{n}-host{i}.log"));
            let limit = shared.startup;
            starts.push(tokio::task::spawn_blocking(move || {
                Proc::start("cluster host", cmd, log, LISTENING, limit).map(|proc| ClusterHost { proc, data_dir })
            }));
        }
        let mut cluster = Cluster { hosts: Vec::new(), proxy: None, proxy_addr: SocketAddr::from(([127, 0, 0, 1], 0)) };
        let mut failed = None;
        for r in futures::future::join_all(starts).await {
            match r {
                Ok(Ok(h)) => cluster.hosts.push(h),
                Ok(Err(e)) => failed = failed.or(Some(e)),
                Err(e) => failed = failed.or(Some(e.into())),
            }
        }
        if let Some(e) = failed {
            // Dropping `cluster` stops the hosts that did start.
            return Err(e.context("start a cluster host"));
        }
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build()?;
        for h in &cluster.hosts {
            wait_relay_up(&http, h.proc.addr).await?;
            println!(
                "cluster host pid {} on http://{}, ready in {:.1}s, relay up",
                h.proc.pid,
                h.proc.addr,
                h.proc.startup.as_secs_f64()
            );
        }

        let port = free_port()?;
        let sock = dir.join(format!("haproxy-{n}.sock"));
        let backends: Vec<SocketAddr> = cluster.hosts.iter().map(|h| h.proc.addr).collect();
        let cfg = dir.join(format!("haproxy-{n}.cfg"));
        std::fs::write(&cfg, haproxy_config(port, &backends, maxconn, &sock))
            .with_context(|| format!("write {}", cfg.display()))?;
        let mut cmd = under_prlimit(shared.nofile, haproxy);
        cmd.arg("-db").arg("-f").arg(&cfg);
        let proxy = cluster.proxy.insert(Aux::spawn("haproxy", cmd, out_dir.join(format!("cluster{n}-haproxy.log")))?);
        proxy.wait_listening(port, Duration::from_secs(20)).await?;
        wait_backends_up(&sock, n).await?;
        cluster.proxy_addr = SocketAddr::from(([127, 0, 0, 1], port));
        println!("haproxy pid {} on http://{}, {n} backend(s) up, maxconn {maxconn}", proxy.pid, cluster.proxy_addr);
        Ok(cluster)
    }

    fn proxy_pid(&self) -> u32 {
        self.proxy.as_ref().map_or(0, |p| p.pid)
    }

    /// Kills the proxy, then SIGTERMs every host at once and waits for each.
    fn stop(&mut self) -> (String, Vec<String>) {
        let proxy = self.proxy.as_mut().map_or_else(|| "not started".into(), Aux::stop);
        let hosts = std::thread::scope(|s| {
            let stops: Vec<_> = self.hosts.iter_mut().map(|h| s.spawn(move || h.stop())).collect();
            stops.into_iter().map(|t| t.join().unwrap_or_else(|_| "stop panicked".into())).collect()
        });
        (proxy, hosts)
    }
}

/// Round robin over the hosts, each checked on `/readyz` every second (out after two
/// failures); WebSockets stay up to an hour once upgraded.
fn haproxy_config(port: u16, backends: &[SocketAddr], maxconn: usize, stats: &Path) -> String {
    let servers: String = backends.iter().enumerate().map(|(i, a)| format!("    server host{} {a}\n", i + 1)).collect();
    format!(
        "global\n    maxconn {maxconn}\n    stats socket {stats} mode 600 level user\n\ndefaults\n    mode http\n    \
         maxconn {maxconn}\n    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n    timeout \
         http-request 20s\n    timeout http-keep-alive 20s\n    timeout tunnel 1h\n    retries 2\n    option \
         redispatch\n\nfrontend ocomms\n    bind 127.0.0.1:{port}\n    default_backend hosts\n\nbackend hosts\n    \
         balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n    default-server \
         check inter 1s fall 2 rise 1\n{servers}",
        stats = stats.display()
    )
}

/// Waits until the host's `/readyz` answers 200 and names the relay up.
async fn wait_relay_up(http: &reqwest::Client, addr: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + READY_LIMIT;
    loop {
        let last = match http.get(format!("http://{addr}/readyz")).send().await {
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                if status.is_success() && text.contains("relay: up") {
                    return Ok(());
                }
                format!("{status}: {}", text.trim())
            }
            Err(e) => e.to_string(),
        };
        if Instant::now() > deadline {
            bail!("host {addr} did not report `relay: up` within {READY_LIMIT:?}; last /readyz: {last}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (server, status, last check) of backend `hosts` in HAProxy's `show stat` CSV.
fn parse_stat(csv: &str) -> Vec<(String, String, String)> {
    let mut lines = csv.lines();
    let Some(header) = lines.next().and_then(|h| h.strip_prefix("# ")) else { return Vec::new() };
    let cols: Vec<&str> = header.split(',').collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(px), Some(sv), Some(st), Some(ck)) = (col("pxname"), col("svname"), col("status"), col("check_status"))
    else {
        return Vec::new();
    };
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.get(px) == Some(&"hosts") && !matches!(f.get(sv), Some(&"BACKEND" | &"FRONTEND") | None))
        .map(|f| {
            let get = |i: usize| f.get(i).copied().unwrap_or_default().to_string();
            (get(sv), get(st), get(ck))
        })
        .collect()
}

/// Waits until HAProxy has `n` backends up, each after a passed check (its stats socket).
async fn wait_backends_up(sock: &Path, n: usize) -> Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let deadline = Instant::now() + READY_LIMIT;
    let mut last = Vec::new();
    loop {
        let stat = async {
            let mut s = tokio::net::UnixStream::connect(sock).await?;
            s.write_all(b"show stat\n").await?;
            let mut out = String::new();
            s.read_to_string(&mut out).await?;
            anyhow::Ok(out)
        };
        if let Ok(Ok(csv)) = tokio::time::timeout(Duration::from_secs(2), stat).await {
            last = parse_stat(&csv);
            if last.len() == n && last.iter().all(|(_, status, check)| status == "UP" && check.starts_with("L7OK")) {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("HAProxy does not have {n} backend(s) up after {READY_LIMIT:?}: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The scenario: the relay, then for 1 host and for `--cluster-hosts` hosts: the hosts,
/// HAProxy, every fan-out case through it, everything stopped; then the comparison.
pub async fn run(
    args: &Args,
    host: &Host,
    fx: &Fixture,
    nofile: u64,
    out_dir: &Path,
    report: &mut Report,
) -> Result<()> {
    let relay_bin = program(
        args.relay_server.as_ref(),
        &["valkey-server", "redis-server"],
        &[],
        "no valkey-server or redis-server on the PATH: install redis-server (`cargo xtask bench --scenarios cluster` \
         does), or name one with --relay-server",
    )?;
    let haproxy_bin = program(
        args.haproxy.as_ref(),
        &["haproxy"],
        &["/usr/sbin"],
        "no haproxy on the PATH or in /usr/sbin: install haproxy (`cargo xtask bench --scenarios cluster` does), or \
         name it with --haproxy",
    )?;
    let maxconn = proxy_maxconn(nofile);
    let cap = maxconn.saturating_sub(PROXY_CONN_MARGIN).max(1);
    let mut counts = args.fanout_sockets.clone();
    if counts.iter().any(|&n| n > cap) {
        let note = format!(
            "cluster: socket counts capped at {cap}: HAProxy holds two files per socket (open-file limit {nofile}, \
             maxconn {maxconn})"
        );
        println!("note: {note}");
        report.notes.push(note);
        counts.iter_mut().for_each(|n| *n = (*n).min(cap));
        counts.dedup();
    }
    let cases: Vec<Case> = counts
        .iter()
        .flat_map(|&sockets| args.fanout_layouts.iter().map(move |&layout| Case::new(args, sockets, layout)))
        .collect();

    let dir = TempDir(temp_dir("cluster-")?);
    let mut relay =
        step("start the relay", Relay::start(&relay_bin, &dir.0, out_dir.join("cluster-relay.log"))).await?;
    println!("relay ({}) pid {} on {}", relay_bin.display(), relay.aux.pid, relay.url());
    let shared = Shared {
        binary: args.host.clone(),
        manifest: args.manifest.clone(),
        workdir: crate::args::workspace_root(),
        database_url: host.database_url()?,
        relay_url: relay.url(),
        cache_dir: host.cache_dir(),
        jwt_secret: host.secret("jwt-secret")?,
        rooms_secret: host.secret("rooms-secret")?,
        nofile,
        startup: args.startup,
    };
    // The bench host's children: its managed PostgreSQL, which every cluster host uses.
    let postgres = crate::cpu::children(host.pid());

    let mut runs: Vec<(usize, FanoutSummary)> = Vec::new();
    let mut configs = Map::new();
    for n in [1, args.cluster_hosts] {
        let label = label(n);
        let start_name = format!("start {label} behind HAProxy");
        let r = step(&start_name, Cluster::start(n, &shared, &dir.0, out_dir, &haproxy_bin, maxconn)).await;
        let Some(mut cl) = report.ok(&format!("cluster {label}: start"), r) else { continue };
        let direct: Result<Vec<Api>> = cl.hosts.iter().map(|h| Api::new(h.proc.addr, h.proc.pid, 4)).collect();
        let api = Api::new(cl.proxy_addr, cl.proxy_pid(), args.connect_concurrency.max(args.fanout_senders) + 16);
        let (direct, api) = match (direct, api) {
            (Ok(d), Ok(a)) => (d, a),
            (Err(e), _) | (_, Err(e)) => {
                report.ok::<()>(&format!("cluster {label}: clients"), Err(e));
                continue;
            }
        };
        let shared_pids: Vec<u32> =
            postgres.iter().copied().chain([relay.aux.pid, cl.proxy_pid()]).filter(|&p| p != 0).collect();
        let hosts = Hosts { label: label.clone(), direct, shared: shared_pids, cluster: true, gauge: true };
        let target = Target::Ours { api: &api, fx, hosts: &hosts };
        for &case in &cases {
            let name = format!("fanout {label} {}", case.name());
            let r = step(&name, crate::fanout::run(&target, case, args, &mut report.table)).await;
            if let Some((mut v, s)) = report.ok(&name, r) {
                if let Some(o) = v.as_object_mut() {
                    o.insert("proxy".into(), json!("haproxy, round robin, checks on /readyz"));
                    o.insert("relay".into(), json!(relay_bin.display().to_string()));
                }
                report.results.insert(name.clone(), v);
                report.table.print(&name, Some(&name));
                runs.push((n, s));
            }
            settle().await;
        }
        let rss = rss_of(&hosts.pids()).unwrap_or(0);
        let started: Vec<Value> = cl
            .hosts
            .iter()
            .map(|h| json!({ "pid": h.proc.pid, "addr": h.proc.addr.to_string(), "startup_secs": r3(h.proc.startup.as_secs_f64()), "log": h.proc.log.display().to_string() }))
            .collect();
        let (proxy_exit, host_exits) = tokio::task::block_in_place(|| cl.stop());
        println!("{label}: haproxy {proxy_exit}; hosts {}", host_exits.join(", "));
        configs.insert(
            label,
            json!({
                "hosts": started,
                "hosts_rss_end_bytes": rss,
                "host_exits": host_exits,
                "proxy_pid": cl.proxy_pid(),
                "proxy_addr": cl.proxy_addr.to_string(),
                "proxy_exit": proxy_exit,
            }),
        );
    }
    let relay_exit = relay.aux.stop();
    println!("relay {relay_exit}");
    report.results.insert(
        "cluster".into(),
        json!({
            "configs": Value::Object(configs),
            "relay": { "binary": relay_bin.display().to_string(), "pid": relay.aux.pid, "exit": relay_exit },
            "proxy": { "binary": haproxy_bin.display().to_string(), "maxconn": maxconn, "balance": "roundrobin", "check": "GET /readyz every 1s, fall 2, rise 1" },
            "shared_cpu_pids": { "postgres": postgres, "relay": relay.aux.pid },
            "note": "same fan-out cases as `fanout`, through HAProxy; 1 host first, then the larger cluster; every host shares the bench host's PostgreSQL; on a machine with few cores the hosts share the same cores",
        }),
    );
    compare(report, &cases, &runs, args.cluster_hosts);
    report.cluster_runs.extend(runs);
    Ok(())
}

/// The side-by-side table: `n` hosts against 1 host, case by case.
fn compare(report: &mut Report, cases: &[Case], runs: &[(usize, FanoutSummary)], n: usize) {
    for case in cases {
        let name = case.name();
        let find = |k: usize| runs.iter().find(|(h, s)| *h == k && s.case == name).map(|(_, s)| s);
        let (Some(many), Some(one)) = (find(n), find(1)) else { continue };
        let c = &mut report.cluster;
        let posts = |s: &FanoutSummary| format!("{} / {}", s.posts_ok, s.posts_planned);
        let per_host = |s: &FanoutSummary| {
            s.sockets_per_host
                .as_ref()
                .map_or_else(|| "-".into(), |v| v.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" / "))
        };
        c.text(&name, "posts ok / planned (in time)", posts(many), posts(one));
        c.text(&name, "sockets per host", per_host(many), per_host(one));
        c.num(&name, "deliveries/s", many.deliveries_per_sec, one.deliveries_per_sec, 0);
        c.num(&name, "p50 ms", many.latency.p50_ms, one.latency.p50_ms, 2);
        c.num(&name, "p99 ms", many.latency.p99_ms, one.latency.p99_ms, 2);
        c.num(&name, "max ms", many.latency.max_ms, one.latency.max_ms, 2);
        c.text(
            &name,
            "missing / errors",
            format!("{} / {}", many.missing, many.errors),
            format!("{} / {}", one.missing, one.errors),
        );
        c.num(&name, "hosts CPU % of a core", many.cpu.server_pct(), one.cpu.server_pct(), 0);
        c.num(&name, "+ PostgreSQL, relay, HAProxy CPU %", many.server_cpu_pct, one.server_cpu_pct, 0);
        c.num(&name, "hosts RSS peak growth MiB", many.rss_peak_growth / 1048576.0, one.rss_peak_growth / 1048576.0, 1);
    }
}

/// The figures for the report's `headline`: per case, `n` hosts against 1 host.
pub fn headline(report: &Report, n: usize) -> Value {
    let mut cases = Vec::new();
    for (_, one) in report.cluster_runs.iter().filter(|(h, _)| *h == 1) {
        let Some((_, many)) = report.cluster_runs.iter().find(|(h, s)| *h == n && s.case == one.case) else {
            continue;
        };
        cases.push(json!({
            "case": one.case,
            "hosts": n,
            "one_host_deliveries_per_sec": r3(one.deliveries_per_sec),
            "hosts_deliveries_per_sec": r3(many.deliveries_per_sec),
            "deliveries_hosts_over_one": ratio(many.deliveries_per_sec, one.deliveries_per_sec).map(r3),
            "one_host_p99_ms": r3(one.latency.p99_ms),
            "hosts_p99_ms": r3(many.latency.p99_ms),
            "p99_hosts_over_one": ratio(many.latency.p99_ms, one.latency.p99_ms).map(r3),
            "one_host_missing": one.missing,
            "hosts_missing": many.missing,
            "one_host_errors": one.errors,
            "hosts_errors": many.errors,
        }));
    }
    Value::Array(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_are_read_from_show_stat() {
        let csv = "# pxname,svname,qcur,status,weight,check_status,\n\
                   ocomms,FRONTEND,,OPEN,,,\n\
                   hosts,host1,0,UP,1,L7OK,\n\
                   hosts,host2,0,DOWN,1,L4CON,\n\
                   hosts,BACKEND,0,UP,2,,\n";
        let got = parse_stat(csv);
        assert_eq!(
            got,
            vec![
                ("host1".to_string(), "UP".to_string(), "L7OK".to_string()),
                ("host2".to_string(), "DOWN".to_string(), "L4CON".to_string()),
            ]
        );
        assert!(parse_stat("").is_empty());
    }

    #[test]
    fn the_proxy_config_names_every_host_and_the_checks() {
        let hosts: Vec<SocketAddr> = vec!["127.0.0.1:4001".parse().unwrap(), "127.0.0.1:4002".parse().unwrap()];
        let cfg = haproxy_config(9000, &hosts, 9000, Path::new("/tmp/x.sock"));
        for needle in [
            "bind 127.0.0.1:9000",
            "balance roundrobin",
            "option httpchk GET /readyz",
            "timeout tunnel 1h",
            "server host1 127.0.0.1:4001",
            "server host2 127.0.0.1:4002",
            "maxconn 9000",
        ] {
            assert!(cfg.contains(needle), "{needle} in\n{cfg}");
        }
        assert_eq!(proxy_maxconn(20_000), 9488);
    }
}
