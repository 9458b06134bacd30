//! `runtime`: the reference runtime. The trivial spin-sdk test component (the `looper`
//! fixture, which answers 200 `ok`) served by our host and by the wasmtime CLI of the same
//! wasmtime version (`wasmtime serve`, as it comes and with the pooling allocator),
//! the same GET load against each. Both create one instance per request; the difference is
//! the request path around the instance.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use crate::Report;
use crate::api::Api;
use crate::args::{Args, workspace_root};
use crate::host::Host;
use crate::post::LoadSummary;
use crate::proc::Proc;

const WASMTIME_LISTENING: &str = "Serving HTTP on http://";

/// `wasmtime <version> (<commit> <date>)` -> the version.
fn cli_version(wasmtime: &Path) -> Result<String> {
    let out =
        Command::new(wasmtime).arg("--version").output().with_context(|| format!("run {}", wasmtime.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace().nth(1).map(str::to_owned).with_context(|| format!("no version in {text:?}"))
}

/// The wasmtime version the host links, from the workspace's lockfile.
fn host_version() -> Result<String> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).context("read Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasmtime\"" {
            let v = lines.next().and_then(|l| l.strip_prefix("version = \"")).and_then(|v| v.strip_suffix('"'));
            return v.map(str::to_owned).context("Cargo.lock: wasmtime has no version line");
        }
    }
    bail!("Cargo.lock has no wasmtime package")
}

/// A manifest with the fixture on every path.
fn manifest(fixture: &Path) -> String {
    let source = serde_json::Value::String(fixture.to_string_lossy().into_owned());
    format!(
        "spin_manifest_version = 2\n\n[application]\nname = \"reference\"\n\n[[trigger.http]]\nroute = \"/...\"\n\
         component = \"looper\"\n\n[component.looper]\nsource = {source}\n"
    )
}

pub async fn run(args: &Args, host: &Host, out_dir: &Path, report: &mut Report) -> Result<()> {
    if !args.fixture.is_file() {
        bail!("no fixture component at {}: run `cargo xtask build fixtures`", args.fixture.display());
    }
    if !args.wasmtime.is_file() {
        bail!(
            "no wasmtime CLI at {}: `cargo xtask bench` installs it (cargo install wasmtime-cli --root {})",
            args.wasmtime.display(),
            crate::args::WASMTIME_CLI_DIR
        );
    }
    let fixture = args.fixture.canonicalize()?;
    let (cli, ours) = (cli_version(&args.wasmtime)?, host_version()?);
    println!("wasmtime CLI {cli}, host's wasmtime {ours}");
    if cli != ours {
        report.notes.push(format!("runtime: the wasmtime CLI is {cli}, the host links wasmtime {ours}"));
    }

    // Our host: the fixture alone, on the bench host's database (no second PostgreSQL).
    let dir = crate::host::temp_dir("runtime-")?;
    let manifest_path = dir.join("spin.toml");
    std::fs::write(&manifest_path, manifest(&fixture))?;
    let mut cmd = crate::host::command(&args.host, &manifest_path, &workspace_root(), &dir.join("data"), host.nofile);
    cmd.arg("--database-url").arg(host.database_url()?);
    let log = out_dir.join("runtime-host.log");
    let limit = args.startup;
    let ours_proc =
        tokio::task::spawn_blocking(move || Proc::start("host (fixture)", cmd, log, crate::host::LISTENING, limit))
            .await??;
    let mut loads: Vec<(String, LoadSummary)> = Vec::new();
    let r = load(args, &ours_proc, "runtime (our host)", report).await;
    if let Some(s) = report.ok("runtime (our host)", r) {
        loads.push(("our host".into(), s));
    }
    drop(ours_proc);
    let _ = std::fs::remove_dir_all(&dir);

    // The CLI, first with its defaults, then with the pooling allocator our host uses.
    // `-S cli`: the component imports wasi:cli (Rust's std does), which `serve` leaves out
    // unless asked.
    for (label, opts) in [
        ("wasmtime serve -S cli", &["-S", "cli"][..]),
        ("wasmtime serve -S cli -O pooling-allocator", &["-S", "cli", "-O", "pooling-allocator=y"][..]),
    ] {
        let mut cmd = Command::new("sh");
        // wasmtime prints where it listens on stderr: one stream, and `exec` keeps the pid.
        cmd.args(["-c", "exec \"$0\" serve --addr 127.0.0.1:0 \"$@\" 2>&1"])
            .arg(&args.wasmtime)
            .args(opts)
            .arg(&fixture);
        let log = out_dir.join(format!("{}.log", label.replace([' ', '='], "-")));
        let p = tokio::task::spawn_blocking(move || {
            Proc::start("wasmtime", cmd, log, WASMTIME_LISTENING, std::time::Duration::from_secs(60))
        })
        .await??;
        let name = format!("runtime ({label})");
        let r = load(args, &p, &name, report).await;
        if let Some(s) = report.ok(&name, r) {
            loads.push((label.to_string(), s));
        }
    }
    report.results.insert(
        "runtime_versions".into(),
        json!({ "wasmtime_cli": cli, "host_wasmtime": ours, "fixture": fixture.display().to_string() }),
    );
    compare(report, &loads);
    Ok(())
}

async fn load(args: &Args, p: &Proc, name: &str, report: &mut Report) -> Result<LoadSummary> {
    println!("{name}: pid {} on http://{}, ready in {:.2}s", p.pid, p.addr, p.startup.as_secs_f64());
    let api = Api::new(p.addr, p.pid, args.post_clients + 16)?;
    let (v, s) =
        crate::step(name, crate::post::get(&api, name, "/", 200, args.runtime_time, args, &mut report.table)).await?;
    report.table.print(name, Some(name));
    report.results.insert(name.to_string(), v);
    Ok(s)
}

fn compare(report: &mut Report, loads: &[(String, LoadSummary)]) {
    let Some((_, ours)) = loads.iter().find(|(l, _)| l == "our host") else { return };
    for (label, theirs) in loads.iter().filter(|(l, _)| l != "our host") {
        let mut c = crate::stats::Compare::new(
            &format!("runtime: the trivial component on our host vs {label} (same load, same run)"),
            "our host",
            label,
        );
        let case = "GET / (200 ok)";
        c.num(case, "requests/s", ours.requests_per_sec, theirs.requests_per_sec, 1);
        c.num(case, "p50 ms", ours.latency.p50_ms, theirs.latency.p50_ms, 2);
        c.num(case, "p99 ms", ours.latency.p99_ms, theirs.latency.p99_ms, 2);
        c.num(case, "max ms", ours.latency.max_ms, theirs.latency.max_ms, 2);
        c.text(case, "errors", ours.errors, theirs.errors);
        if let Some(us) = ours.instantiate_us {
            c.text(case, "instantiation µs/request", format!("{us:.1}"), "-");
        }
        report.runtime.push(c);
    }
    report.runtime_loads = loads.to_vec();
}
