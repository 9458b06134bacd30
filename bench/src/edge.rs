//! `edge`: the edge Worker under `wrangler dev` (local workerd, one Durable Object per
//! channel) beside the host, with the same loads. The Worker runs on the bench host's
//! database with the host's JWT secret, so the fixture's tokens and channels are valid on
//! both: POST and GET 404 ([`crate::post`]), then send-to-receive through `--edge-sockets`
//! sockets in one channel ([`crate::fanout`]), on the Worker and then on the host.
//!
//! Local workerd is a development server, not Cloudflare's network: the figures say what
//! the Worker's own code and its Durable Objects cost on this machine, next to the host.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use crate::Report;
use crate::api::{Api, Fixture};
use crate::args::{Args, Layout};
use crate::fanout::{Case, FanoutSummary};
use crate::host::Host;
use crate::post::PostSummary;
use crate::proc::Proc;
use crate::target::{Hosts, Target};

/// `wrangler dev` and the workerd it started.
struct Wrangler {
    proc: Proc,
    dir: PathBuf,
    workerd: u32,
}

impl Drop for Wrangler {
    fn drop(&mut self) {
        let outcome = self.proc.stop(Duration::from_secs(15));
        println!("wrangler {outcome}");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The host's database and secret, and the settings every benchmark server gets (no rate
/// limits, no email verification, room for the scenario's sockets per user).
fn wrangler_toml(bundle: &Path, database_url: &str, jwt_secret: &str, sockets_per_user: usize) -> String {
    let vars = [
        ("DATABASE_URL", database_url.to_owned()),
        ("JWT_SECRET", jwt_secret.to_owned()),
        ("PUBLIC_URL", "http://localhost".to_owned()),
        ("RATE_LIMITS", ocomms_core::limits::Limits::unlimited_setting()),
        ("EMAIL_VERIFICATION", "off".to_owned()),
        ("MAX_SOCKETS_PER_USER", sockets_per_user.to_string()),
    ];
    ocomms_testsupport::wrangler::local_config("ocomms-bench", bundle, &vars)
}

/// Starts `wrangler dev` on a free port and waits for the Worker's `/healthz`.
async fn start(args: &Args, host: &Host, out_dir: &Path, sockets_per_user: usize) -> Result<Wrangler> {
    for (what, path) in [("wrangler", &args.wrangler), ("the edge bundle", &args.edge_bundle)] {
        if !path.is_file() {
            bail!("{what} is missing ({}): run `cargo xtask build edge`", path.display());
        }
    }
    let bundle = args.edge_bundle.canonicalize()?;
    let dir = crate::host::temp_dir("edge-")?;
    let config = dir.join("wrangler.toml");
    let toml = wrangler_toml(&bundle, &host.database_url()?, &host.secret("jwt-secret")?, sockets_per_user);
    std::fs::write(&config, toml).with_context(|| format!("write {}", config.display()))?;
    let port = free_port()?;
    let mut cmd = Command::new(&args.wrangler);
    cmd.arg("dev")
        .arg("--config")
        .arg(&config)
        .args(["--ip", "127.0.0.1", "--port", &port.to_string()])
        .args(["--inspector-port", &free_port()?.to_string()])
        .arg("--persist-to")
        .arg(dir.join("state"))
        // `warn`: no line per request in wrangler's own process.
        .args(["--show-interactive-dev-session=false", "--log-level", "warn"])
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_SEND_METRICS", "false")
        .env("WRANGLER_LOG_PATH", dir.join("wrangler-logs"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("NO_COLOR", "1")
        .env("CI", "1");
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    let mut proc = Proc::spawn("wrangler", cmd, out_dir.join("wrangler.log"), addr)?;
    let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build()?;
    loop {
        let r = http.get(format!("http://{addr}/healthz")).send().await;
        if r.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if !proc.is_running() {
            bail!("wrangler exited before serving; see {}", proc.log.display());
        }
        if started.elapsed() > args.startup {
            bail!("the Worker did not answer /healthz within {:?}; see {}", args.startup, proc.log.display());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    proc.startup = started.elapsed();
    let workerd = crate::cpu::descendants_named(proc.pid, "workerd");
    let Some(&workerd) = workerd.first() else {
        bail!("wrangler serves, but no workerd process runs under it (pid {})", proc.pid)
    };
    Ok(Wrangler { proc, dir, workerd })
}

/// The Worker, then the host with the same socket load; adds the `edge vs host` comparison.
pub async fn run(
    args: &Args,
    host: &Host,
    host_api: &Api,
    fx: &Fixture,
    out_dir: &Path,
    report: &mut Report,
) -> Result<()> {
    let sockets_per_user = args.edge_sockets.div_ceil(fx.members.len().max(1));
    let w = crate::step("start the edge Worker (wrangler dev)", start(args, host, out_dir, sockets_per_user)).await?;
    println!(
        "wrangler pid {}, workerd pid {}, on http://{}, ready in {:.1}s",
        w.proc.pid,
        w.workerd,
        w.proc.addr,
        w.proc.startup.as_secs_f64()
    );
    let pool = args.post_clients.max(args.connect_concurrency) + 16;
    // Measured as workerd; wrangler's own process and the host's tree (its PostgreSQL) count
    // in `+children`.
    let api = Api::new(w.proc.addr, w.workerd, pool)?;
    report.table.add("edge", "wrangler dev ready s", format!("{:.2}", w.proc.startup.as_secs_f64()));

    let r =
        crate::step("post (edge)", crate::post::run(&api, fx, "edge", &host.database_url()?, args, &mut report.table))
            .await;
    let post = report.ok("post (edge)", r);
    if let Some((v, s)) = post {
        for name in crate::post::names("edge") {
            report.table.print(&name, Some(&name));
        }
        report.results.insert("post_edge".into(), v);
        report.post.push(("edge".into(), s));
    }

    let case = Case::new(args, args.edge_sockets, Layout::One);
    let edge_hosts = Hosts {
        label: "edge".into(),
        direct: vec![api.clone()],
        shared: vec![w.proc.pid, host.pid()],
        cluster: false,
        gauge: false,
    };
    let host_hosts = Hosts { label: "host".into(), ..Hosts::single(host_api) };
    let mut runs = Vec::new();
    for hosts in [&edge_hosts, &host_hosts] {
        let target = Target::Ours { api: &hosts.direct[0], fx, hosts };
        let name = format!("fanout {} {}", hosts.label, case.name());
        let r = crate::step(&name, crate::fanout::run(&target, case, args, &mut report.table)).await;
        if let Some((v, s)) = report.ok(&name, r) {
            report.results.insert(name.clone(), v);
            report.table.print(&name, Some(&name));
            runs.push((hosts.label.clone(), s));
        }
        crate::settle().await;
    }
    let rss = crate::target::rss_of(&[w.proc.pid, w.workerd]).unwrap_or(0);
    report.results.insert(
        "edge_server".into(),
        json!({
            "wrangler_pid": w.proc.pid,
            "workerd_pid": w.workerd,
            "startup_secs": crate::stats::r3(w.proc.startup.as_secs_f64()),
            "rss_end_bytes_wrangler_and_workerd": rss,
            "note": "local workerd under wrangler dev on the bench host's database; sockets and posts as on the host",
        }),
    );
    drop(w);
    compare(report, &runs);
    Ok(())
}

fn compare(report: &mut Report, runs: &[(String, FanoutSummary)]) {
    let post = |l: &str| report.post.iter().find(|(k, _)| k == l).map(|(_, s)| *s);
    let (edge, host): (Option<PostSummary>, Option<PostSummary>) = (post("edge"), post("wasm"));
    let c = &mut report.edge;
    if let (Some(e), Some(h)) = (edge, host) {
        for (case, a, b) in [
            ("POST message", e.post, h.post),
            ("GET 404 (no db)", e.noop, h.noop),
            (crate::report::HISTORY_CASE, e.history, h.history),
        ] {
            c.num(case, "requests/s", a.requests_per_sec, b.requests_per_sec, 1);
            c.num(case, "p50 ms", a.latency.p50_ms, b.latency.p50_ms, 2);
            c.num(case, "p99 ms", a.latency.p99_ms, b.latency.p99_ms, 2);
            c.text(case, "errors", a.errors, b.errors);
        }
    }
    let find = |l: &str| runs.iter().find(|(k, _)| k == l).map(|(_, s)| s);
    if let (Some(e), Some(h)) = (find("edge"), find("host")) {
        let case = format!("send to receive, {}", e.case);
        c.num(&case, "p50 ms", e.latency.p50_ms, h.latency.p50_ms, 2);
        c.num(&case, "p99 ms", e.latency.p99_ms, h.latency.p99_ms, 2);
        c.num(&case, "max ms", e.latency.max_ms, h.latency.max_ms, 2);
        c.num(&case, "deliveries/s", e.deliveries_per_sec, h.deliveries_per_sec, 0);
        c.text(
            &case,
            "missing / errors",
            format!("{} / {}", e.missing, e.errors),
            format!("{} / {}", h.missing, h.errors),
        );
        c.num(&case, "CPU % of a core (server +children)", e.server_cpu_pct, h.server_cpu_pct, 0);
    }
    report.edge_runs = runs.to_vec();
}
