//! What a run produces and how the figures are set side by side: the report the scenarios
//! fill in, the comparison tables (WASM vs native, ours vs Socket.IO) and the headline.

use anyhow::Result;
use serde_json::{Map, Value, json};

use crate::fanout::{Case, FanoutSummary};
use crate::idle::IdleSummary;
use crate::post::{self, PostSummary};
use crate::stats::{Compare, Table, r3, ratio};
use crate::{cluster, target};

/// The history load's row in the comparison tables.
pub const HISTORY_CASE: &str = "GET history, 50 messages";

/// Everything the run produces, filled in as scenarios finish.
#[derive(Debug)]
pub struct Report {
    pub table: Table,
    pub results: Map<String, Value>,
    pub wasm_native: Compare,
    pub ours_theirs: Compare,
    /// `cluster`: N hosts vs 1 host, both with the relay behind HAProxy.
    pub cluster: Compare,
    /// `edge`: the Worker under wrangler dev vs the host.
    pub edge: Compare,
    /// `edge`: the send-to-receive runs, Worker then host.
    pub edge_runs: Vec<(String, FanoutSummary)>,
    /// `runtime`: our host vs each way of running the wasmtime CLI.
    pub runtime: Vec<Compare>,
    pub runtime_loads: Vec<(String, post::LoadSummary)>,
    pub fanout: Vec<FanoutSummary>,
    /// `cluster` runs with their number of hosts.
    pub cluster_runs: Vec<(usize, FanoutSummary)>,
    pub post: Vec<(String, PostSummary)>,
    pub idle: Vec<(String, IdleSummary)>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
}

impl Report {
    /// A failed step is recorded and the run goes on with the next one.
    pub fn ok<T>(&mut self, name: &str, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                let msg = format!("{name}: {e:#}");
                println!("FAILED {msg}");
                self.results.insert(name.to_string(), json!({ "error": msg }));
                self.errors.push(msg);
                None
            }
        }
    }
}

pub fn record_post(report: &mut Report, label: &str, r: Option<(Value, PostSummary)>) {
    if let Some((v, s)) = r {
        for name in post::names(label) {
            report.table.print(&name, Some(&name));
        }
        report.results.insert(format!("post_{label}"), v);
        report.post.push((label.to_string(), s));
    }
}

pub fn compare_post(report: &mut Report) {
    let get = |l: &str| report.post.iter().find(|(k, _)| k == l).map(|(_, s)| *s);
    let (Some(w), Some(n)) = (get("wasm"), get("native")) else { return };
    let c = &mut report.wasm_native;
    for (case, a, b) in
        [("POST message", w.post, n.post), ("GET 404 (no db)", w.noop, n.noop), (HISTORY_CASE, w.history, n.history)]
    {
        c.num(case, "requests/s", a.requests_per_sec, b.requests_per_sec, 1);
        c.num(case, "p50 ms", a.latency.p50_ms, b.latency.p50_ms, 2);
        c.num(case, "p99 ms", a.latency.p99_ms, b.latency.p99_ms, 2);
        c.num(case, "max ms", a.latency.max_ms, b.latency.max_ms, 2);
        c.text(case, "errors", a.errors, b.errors);
    }
    for (case, l) in [("POST message", w.post), ("GET 404 (no db)", w.noop), (HISTORY_CASE, w.history)] {
        if let Some(ms) = l.component_ms {
            c.text(case, "in the component ms/request", format!("{ms:.3}"), "-");
        }
        if let Some(us) = l.instantiate_us {
            c.text(case, "instantiation µs/request", format!("{us:.1}"), "-");
        }
    }
}

pub fn compare_idle(report: &mut Report) {
    let get = |l: &str| report.idle.iter().find(|(k, _)| k == l).map(|(_, s)| *s);
    let (Some(o), Some(t)) = (get("ours"), get("socket.io")) else { return };
    let c = &mut report.ours_theirs;
    c.text("idle", "sockets open", o.sockets, t.sockets);
    c.num("idle", "server bytes/socket", o.bytes_per_socket, t.bytes_per_socket, 0);
    c.num("idle", "sockets per GiB", o.sockets_per_gib, t.sockets_per_gib, 0);
}

pub fn compare_fanout(report: &mut Report, case: &Case, pair: &[FanoutSummary]) {
    let find = |k| pair.iter().find(|s| s.kind == k);
    let (Some(o), Some(t)) = (find(target::Kind::Ours), find(target::Kind::SocketIo)) else { return };
    let c = &mut report.ours_theirs;
    let name = case.name();
    let posts = |s: &FanoutSummary| format!("{} / {}", s.posts_ok, s.posts_planned);
    c.text(&name, "posts ok / planned (in time)", posts(o), posts(t));
    c.num(&name, "deliveries/s", o.deliveries_per_sec, t.deliveries_per_sec, 0);
    c.num(&name, "p50 ms", o.latency.p50_ms, t.latency.p50_ms, 2);
    c.num(&name, "p99 ms", o.latency.p99_ms, t.latency.p99_ms, 2);
    c.num(&name, "max ms", o.latency.max_ms, t.latency.max_ms, 2);
    c.text(&name, "missing / errors", format!("{} / {}", o.missing, o.errors), format!("{} / {}", t.missing, t.errors));
    c.num(&name, "server CPU % of a core (+children)", o.server_cpu_pct, t.server_cpu_pct, 0);
    c.num(&name, "server RSS peak growth MiB", o.rss_peak_growth / 1048576.0, t.rss_peak_growth / 1048576.0, 1);
}

/// The figures a closing note quotes.
pub fn headline(report: &Report, cluster_hosts: usize) -> Value {
    let mut h = Map::new();
    let post = |l: &str| report.post.iter().find(|(k, _)| k == l).map(|(_, s)| *s);
    if let (Some(w), Some(n)) = (post("wasm"), post("native")) {
        h.insert("post_requests_per_sec_wasm".into(), json!(r3(w.post.requests_per_sec)));
        h.insert("post_requests_per_sec_native".into(), json!(r3(n.post.requests_per_sec)));
        h.insert(
            "post_throughput_native_over_wasm".into(),
            json!(ratio(n.post.requests_per_sec, w.post.requests_per_sec).map(r3)),
        );
        h.insert(
            "post_p99_wasm_over_native".into(),
            json!(ratio(w.post.latency.p99_ms, n.post.latency.p99_ms).map(r3)),
        );
        h.insert(
            "noop_throughput_native_over_wasm".into(),
            json!(ratio(n.noop.requests_per_sec, w.noop.requests_per_sec).map(r3)),
        );
    }
    if let Some(w) = post("wasm") {
        h.insert("instantiate_us_per_request".into(), json!(w.post.instantiate_us.map(r3)));
    }
    for (label, s) in &report.idle {
        h.insert(format!("idle_sockets_per_gib_{label}"), json!(s.sockets_per_gib.round()));
        h.insert(format!("idle_bytes_per_socket_{label}"), json!(s.bytes_per_socket.round()));
    }
    let mut cases = Vec::new();
    for o in report.fanout.iter().filter(|s| s.kind == target::Kind::Ours) {
        let t = report.fanout.iter().find(|s| s.kind == target::Kind::SocketIo && s.case == o.case);
        cases.push(json!({
            "case": o.case,
            "ours_deliveries_per_sec": r3(o.deliveries_per_sec),
            "socketio_deliveries_per_sec": t.map(|t| r3(t.deliveries_per_sec)),
            "deliveries_ours_over_socketio": t.and_then(|t| ratio(o.deliveries_per_sec, t.deliveries_per_sec)).map(r3),
            "ours_p99_ms": r3(o.latency.p99_ms),
            "socketio_p99_ms": t.map(|t| r3(t.latency.p99_ms)),
            "p99_ours_over_socketio": t.and_then(|t| ratio(o.latency.p99_ms, t.latency.p99_ms)).map(r3),
            "ours_missing": o.missing,
            "socketio_missing": t.map(|t| t.missing),
        }));
    }
    h.insert("fanout".into(), Value::Array(cases));
    if let (Some(e), Some(w)) = (post("edge"), post("wasm")) {
        h.insert("edge_post_requests_per_sec".into(), json!(r3(e.post.requests_per_sec)));
        h.insert("edge_post_p99_ms".into(), json!(r3(e.post.latency.p99_ms)));
        h.insert("post_host_over_edge".into(), json!(ratio(w.post.requests_per_sec, e.post.requests_per_sec).map(r3)));
    }
    for (label, s) in &report.edge_runs {
        h.insert(
            format!("send_to_receive_{label}"),
            json!({ "case": s.case, "p50_ms": r3(s.latency.p50_ms), "p99_ms": r3(s.latency.p99_ms), "missing": s.missing }),
        );
    }
    let ours = report.runtime_loads.iter().find(|(l, _)| l == "our host").map(|(_, s)| s.requests_per_sec);
    for (label, s) in report.runtime_loads.iter().filter(|(l, _)| l != "our host") {
        h.insert(
            format!("runtime_ours_over_{}", label.replace([' ', '-', '='], "_")),
            json!(ours.and_then(|o| ratio(o, s.requests_per_sec)).map(r3)),
        );
    }
    if !report.cluster_runs.is_empty() {
        h.insert("cluster".into(), cluster::headline(report, cluster_hosts));
    }
    Value::Object(h)
}
