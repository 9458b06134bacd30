//! Command-line flags. Every scenario is bounded by a count and a deadline.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

pub const USAGE: &str = "usage: ocomms-bench [--quick] [options]
       ocomms-bench replot [bench.json [latency.png]]   (redraw the chart of a saved run)
       ocomms-bench serve-native ...   (started by the bench itself; see src/native.rs)

Starts its own wasm-host (temporary data dir, managed PostgreSQL), the same API compiled
natively, and the Socket.IO reference server, all on 127.0.0.1; runs the scenarios; prints
tables and writes JSON and a PNG chart. Figures only: nothing is asserted.

general:
  --quick                 a small profile (about a minute of load) for smoke runs and CI;
                          flags after it still apply
  --scenarios LIST        comma-separated, any of: post, native, idle, fanout, socketio,
                          edge, runtime, cluster (default: all but cluster). post = the
                          command path through the WASM component; native = the same load on
                          the natively compiled API; socketio = the idle and fan-out runs
                          against the Socket.IO reference; edge = the edge Worker under
                          wrangler dev (local workerd) beside the host; runtime = the trivial
                          test component served by the host and by the wasmtime CLI;
                          cluster = the fan-out runs through HAProxy in front of 1 host, then
                          of --cluster-hosts hosts, all with the relay
  --host PATH             host binary (default: wasm-host next to this binary, else
                          <workspace>/target/release/ocomms)
  --manifest PATH         Spin manifest (default <workspace>/spin.toml)
  --out PATH              JSON report (default <workspace>/bench/out/bench.json)
  --png PATH              latency chart (default <workspace>/bench/out/latency.png)
  --host-nofile N         open-file limit given to the servers with prlimit (default 262144;
                          falls back to the bench's own hard limit if that cannot be set)
  --users N               users that own the one-channel sockets (default 8; each signup
                          costs an argon2id hash, sockets are spread round-robin over them)
  --connect-concurrency N WebSocket handshakes in flight at once (default 64)
  --startup-secs S        deadline for a server to start listening (default 180)

post / native (HTTP command path):
  --post-clients C        concurrent clients (default 16)
  --post-secs S           deadline for posting (default 10)
  --post-max N            total posts at most (default 50000)
  --noop-secs S           deadline for GET /api/v1/nope (default 5)
  --noop-max N            requests per no-op, history or runtime load at most (default 500000)

idle (memory per socket):
  --idle-sockets K        sockets to open (default 15000; capped by the open-file limit)
  --idle-secs S           deadline for opening them (default 60)

fanout (WebSocket delivery, ours and Socket.IO's):
  --fanout-sockets LIST   socket counts, one run each (default 1000,10000)
  --fanout-layouts LIST   one (every socket in one channel), many (spread over C channels)
                          (default one,many)
  --fanout-channels C     channels of the many layout (default 100)
  --fanout-senders M      concurrent HTTP senders (default 4)
  --fanout-rate R         messages per second, all senders together, one channel (default 10)
  --fanout-many-rate R    the same for the many layout (default 100)
  --fanout-capacity-rate R  the largest one-channel run once more at R msg/s, more than
                          either server delivers, for its ceiling (default 40; 0 skips it;
                          --quick skips it)
  --fanout-secs S         posting time per run: R x S messages (default 10)
  --fanout-grace-secs S   wait for stragglers after the last post (default 10)
  --fanout-open-secs S    deadline for opening the sockets (default 60)

edge (needs `cargo xtask build edge`: the bundle and wrangler):
  --edge-sockets N        sockets in one channel, on the Worker and then on the host
                          (default 100); the posts use the fanout flags' rate and time
  --wrangler PATH         wrangler (default <workspace>/edge-gateway/node_modules/.bin/wrangler)
  --edge-bundle PATH      the Worker (default <workspace>/target/edge/dist/worker.mjs)

runtime (the reference runtime):
  --wasmtime PATH         the wasmtime CLI, the same version as the host's wasmtime (default
                          <workspace>/bench/wasmtime-cli/bin/wasmtime; cargo xtask bench
                          installs it there)
  --fixture PATH          the trivial component (default
                          <workspace>/target/components/looper.wasm: cargo xtask build fixtures)
  --runtime-secs S        deadline of each GET load (default 5)

cluster (needs redis-server or valkey-server, and haproxy):
  --cluster-hosts N       hosts of the larger cluster (default 3; the smaller one has 1)
  --relay-server PATH     the relay (default valkey-server or redis-server on the PATH)
  --haproxy PATH          the proxy (default haproxy on the PATH or in /usr/sbin)

socketio:
  --node PATH             node binary (default node)
  --socketio-dir PATH     the reference server (default <workspace>/bench/socketio; its
                          node_modules must be installed: `npm ci` there, or cargo xtask bench)

  -h, --help              this text";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Post,
    Native,
    Idle,
    Fanout,
    SocketIo,
    Edge,
    Runtime,
    Cluster,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Post => "post",
            Scenario::Native => "native",
            Scenario::Idle => "idle",
            Scenario::Fanout => "fanout",
            Scenario::SocketIo => "socketio",
            Scenario::Edge => "edge",
            Scenario::Runtime => "runtime",
            Scenario::Cluster => "cluster",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    One,
    Many,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::One => "one channel",
            Layout::Many => "many channels",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Args {
    pub quick: bool,
    pub scenarios: Vec<Scenario>,
    pub host: PathBuf,
    pub manifest: PathBuf,
    pub out: PathBuf,
    pub png: PathBuf,
    pub host_nofile: u64,
    pub users: usize,
    pub connect_concurrency: usize,
    pub startup: Duration,
    pub post_clients: usize,
    pub post_time: Duration,
    pub post_max: u64,
    pub noop_time: Duration,
    pub noop_max: u64,
    pub idle_sockets: usize,
    pub idle_time: Duration,
    pub fanout_sockets: Vec<usize>,
    pub fanout_layouts: Vec<Layout>,
    pub fanout_channels: usize,
    pub fanout_senders: usize,
    pub fanout_rate: f64,
    pub fanout_many_rate: f64,
    pub fanout_capacity_rate: f64,
    pub fanout_time: Duration,
    pub fanout_grace: Duration,
    pub fanout_open_time: Duration,
    pub node: PathBuf,
    pub socketio_dir: PathBuf,
    pub edge_sockets: usize,
    pub wrangler: PathBuf,
    pub edge_bundle: PathBuf,
    pub wasmtime: PathBuf,
    pub fixture: PathBuf,
    pub runtime_time: Duration,
    pub cluster_hosts: usize,
    pub relay_server: Option<PathBuf>,
    pub haproxy: Option<PathBuf>,
}

/// Where `cargo xtask bench` installs the wasmtime CLI (`cargo install --root`), inside
/// the bench's own directory so that a rebuild of the workspace keeps it.
pub const WASMTIME_CLI_DIR: &str = "bench/wasmtime-cli";

/// The workspace root (the bench crate's parent directory).
pub fn workspace_root() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

/// The host built in the same profile as this binary, else the release one.
pub fn default_host() -> PathBuf {
    let sibling = std::env::current_exe().ok().and_then(|p| p.parent().map(|d| d.join("ocomms")));
    match sibling {
        Some(p) if p.is_file() => p,
        _ => workspace_root().join("target/release/ocomms"),
    }
}

impl Args {
    fn defaults() -> Self {
        let root = workspace_root();
        Self {
            quick: false,
            // Not `cluster`: it needs a relay and HAProxy, and doubles the fan-out time.
            scenarios: vec![
                Scenario::Post,
                Scenario::Native,
                Scenario::Idle,
                Scenario::Fanout,
                Scenario::SocketIo,
                Scenario::Edge,
                Scenario::Runtime,
            ],
            host: default_host(),
            manifest: root.join("spin.toml"),
            out: root.join("bench/out/bench.json"),
            png: root.join("bench/out/latency.png"),
            host_nofile: 262_144,
            users: 8,
            connect_concurrency: 64,
            startup: Duration::from_secs(180),
            post_clients: 16,
            post_time: Duration::from_secs(10),
            post_max: 50_000,
            noop_time: Duration::from_secs(5),
            noop_max: 500_000,
            idle_sockets: 15_000,
            idle_time: Duration::from_secs(60),
            fanout_sockets: vec![1_000, 10_000],
            fanout_layouts: vec![Layout::One, Layout::Many],
            fanout_channels: 100,
            fanout_senders: 4,
            fanout_rate: 10.0,
            fanout_many_rate: 100.0,
            fanout_capacity_rate: 40.0,
            fanout_time: Duration::from_secs(10),
            fanout_grace: Duration::from_secs(10),
            fanout_open_time: Duration::from_secs(60),
            node: PathBuf::from("node"),
            socketio_dir: root.join("bench/socketio"),
            edge_sockets: 100,
            wrangler: root.join("edge-gateway/node_modules/.bin/wrangler"),
            edge_bundle: root.join("target/edge/dist/worker.mjs"),
            wasmtime: root.join(WASMTIME_CLI_DIR).join("bin/wasmtime"),
            fixture: root.join("target/components/looper.wasm"),
            runtime_time: Duration::from_secs(5),
            cluster_hosts: 3,
            relay_server: None,
            haproxy: None,
        }
    }

    /// Small enough to finish in well under two minutes once built.
    fn quick(&mut self) {
        self.quick = true;
        self.users = 4;
        self.post_clients = 8;
        self.post_time = Duration::from_secs(3);
        self.noop_time = Duration::from_secs(2);
        self.idle_sockets = 500;
        self.idle_time = Duration::from_secs(20);
        self.fanout_sockets = vec![200];
        self.fanout_channels = 10;
        self.fanout_senders = 2;
        self.fanout_rate = 10.0;
        self.fanout_many_rate = 20.0;
        self.fanout_capacity_rate = 0.0;
        self.fanout_time = Duration::from_secs(3);
        self.fanout_grace = Duration::from_secs(3);
        self.fanout_open_time = Duration::from_secs(20);
        self.edge_sockets = 20;
        self.runtime_time = Duration::from_secs(2);
    }

    /// Parses flags; `Ok(None)` means help was printed.
    pub fn parse(argv: impl IntoIterator<Item = String>) -> Result<Option<Self>> {
        let mut a = Self::defaults();
        let mut it = argv.into_iter();
        while let Some(flag) = it.next() {
            match flag.as_str() {
                "-h" | "--help" => {
                    println!("{USAGE}");
                    return Ok(None);
                }
                "--quick" => {
                    a.quick();
                    continue;
                }
                _ => {}
            }
            let value = it.next().with_context(|| format!("{flag} needs a value\n\n{USAGE}"))?;
            let ctx = || format!("bad value {value:?} for {flag}");
            match flag.as_str() {
                "--scenarios" => a.scenarios = list(&value, scenario)?,
                "--host" => a.host = value.into(),
                "--manifest" => a.manifest = value.into(),
                "--out" => a.out = value.into(),
                "--png" => a.png = value.into(),
                "--host-nofile" => a.host_nofile = value.parse().with_context(ctx)?,
                "--users" => a.users = value.parse().with_context(ctx)?,
                "--connect-concurrency" => a.connect_concurrency = value.parse().with_context(ctx)?,
                "--startup-secs" => a.startup = secs(&value).with_context(ctx)?,
                "--post-clients" => a.post_clients = value.parse().with_context(ctx)?,
                "--post-secs" => a.post_time = secs(&value).with_context(ctx)?,
                "--post-max" => a.post_max = value.parse().with_context(ctx)?,
                "--noop-secs" => a.noop_time = secs(&value).with_context(ctx)?,
                "--noop-max" => a.noop_max = value.parse().with_context(ctx)?,
                "--idle-sockets" => a.idle_sockets = value.parse().with_context(ctx)?,
                "--idle-secs" => a.idle_time = secs(&value).with_context(ctx)?,
                "--fanout-sockets" => {
                    a.fanout_sockets =
                        list(&value, |s| s.parse::<usize>().map_err(anyhow::Error::from)).with_context(ctx)?
                }
                "--fanout-layouts" => a.fanout_layouts = list(&value, layout)?,
                "--fanout-channels" => a.fanout_channels = value.parse().with_context(ctx)?,
                "--fanout-senders" => a.fanout_senders = value.parse().with_context(ctx)?,
                "--fanout-rate" => a.fanout_rate = value.parse().with_context(ctx)?,
                "--fanout-many-rate" => a.fanout_many_rate = value.parse().with_context(ctx)?,
                "--fanout-capacity-rate" => a.fanout_capacity_rate = value.parse().with_context(ctx)?,
                "--fanout-secs" => a.fanout_time = secs(&value).with_context(ctx)?,
                "--fanout-grace-secs" => a.fanout_grace = secs(&value).with_context(ctx)?,
                "--fanout-open-secs" => a.fanout_open_time = secs(&value).with_context(ctx)?,
                "--node" => a.node = value.into(),
                "--socketio-dir" => a.socketio_dir = value.into(),
                "--edge-sockets" => a.edge_sockets = value.parse().with_context(ctx)?,
                "--wrangler" => a.wrangler = value.into(),
                "--edge-bundle" => a.edge_bundle = value.into(),
                "--wasmtime" => a.wasmtime = value.into(),
                "--fixture" => a.fixture = value.into(),
                "--runtime-secs" => a.runtime_time = secs(&value).with_context(ctx)?,
                "--cluster-hosts" => a.cluster_hosts = value.parse().with_context(ctx)?,
                "--relay-server" => a.relay_server = Some(value.into()),
                "--haproxy" => a.haproxy = Some(value.into()),
                other => bail!("unknown argument {other:?}\n\n{USAGE}"),
            }
        }
        a.check()?;
        Ok(Some(a))
    }

    pub fn has(&self, s: Scenario) -> bool {
        self.scenarios.contains(&s)
    }

    /// Messages one fan-out run posts, for the largest rate (bounds memory and time).
    pub fn fanout_messages_max(&self) -> f64 {
        self.fanout_rate.max(self.fanout_many_rate).max(self.fanout_capacity_rate) * self.fanout_time.as_secs_f64()
    }

    fn check(&self) -> Result<()> {
        if self.scenarios.is_empty() {
            bail!("--scenarios names no scenario");
        }
        if self.users == 0 || self.users > 1000 {
            bail!("--users must be 1..=1000");
        }
        if self.connect_concurrency == 0 || self.connect_concurrency > 4096 {
            bail!("--connect-concurrency must be 1..=4096");
        }
        if self.post_clients == 0 || self.post_clients > 4096 {
            bail!("--post-clients must be 1..=4096");
        }
        if self.edge_sockets == 0 || self.edge_sockets > 10_000 {
            bail!("--edge-sockets must be 1..=10000");
        }
        if self.idle_sockets > 1_000_000 || self.fanout_sockets.iter().any(|&n| n == 0 || n > 1_000_000) {
            bail!("socket counts must be 1..=1000000");
        }
        if self.fanout_layouts.is_empty() {
            bail!("--fanout-layouts names no layout");
        }
        if self.fanout_channels == 0 || self.fanout_channels > 10_000 {
            bail!("--fanout-channels must be 1..=10000");
        }
        if self.fanout_senders == 0 || self.fanout_senders > 1024 {
            bail!("--fanout-senders must be 1..=1024");
        }
        for r in [self.fanout_rate, self.fanout_many_rate] {
            if !(r > 0.0 && r <= 100_000.0) {
                bail!("fan-out rates must be in (0, 100000]");
            }
        }
        if self.fanout_messages_max() > 1_000_000.0 {
            bail!("a fan-out run may post at most 1000000 messages (rate x secs)");
        }
        if !(2..=16).contains(&self.cluster_hosts) {
            bail!("--cluster-hosts must be 2..=16");
        }
        if self.host_nofile < 1024 {
            bail!("--host-nofile must be at least 1024");
        }
        Ok(())
    }
}

fn list<T: PartialEq>(value: &str, item: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let v = item(s)?;
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(out)
}

fn scenario(s: &str) -> Result<Scenario> {
    Ok(match s {
        "post" => Scenario::Post,
        "native" => Scenario::Native,
        "idle" => Scenario::Idle,
        "fanout" => Scenario::Fanout,
        "socketio" => Scenario::SocketIo,
        "edge" => Scenario::Edge,
        "runtime" => Scenario::Runtime,
        "cluster" => Scenario::Cluster,
        other => bail!("unknown scenario {other:?}: use post, native, idle, fanout, socketio, edge, runtime, cluster"),
    })
}

fn layout(s: &str) -> Result<Layout> {
    Ok(match s {
        "one" => Layout::One,
        "many" => Layout::Many,
        other => bail!("unknown layout {other:?}: use one, many"),
    })
}

fn secs(s: &str) -> Result<Duration> {
    let v: f64 = s.parse()?;
    if !(v > 0.0 && v <= 3600.0) {
        bail!("seconds must be in (0, 3600]");
    }
    Ok(Duration::from_secs_f64(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Args>> {
        Args::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn quick_then_flags_override() -> Result<()> {
        let a = parse(&["--quick", "--fanout-sockets", "300,50,300"])?.context("parsed")?;
        assert!(a.quick);
        assert_eq!(a.fanout_sockets, vec![300, 50]);
        assert_eq!(a.idle_sockets, 500);
        Ok(())
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse(&["--scenarios", "post,bogus"]).is_err());
        assert!(parse(&["--fanout-layouts", ""]).is_err());
        assert!(parse(&["--fanout-sockets", "0"]).is_err());
        assert!(parse(&["--fanout-rate", "1000", "--fanout-secs", "3600"]).is_err());
        assert!(parse(&["--post-secs"]).is_err());
        assert!(parse(&["--cluster-hosts", "1"]).is_err());
    }

    #[test]
    fn cluster_is_selected_by_name_only() -> Result<()> {
        assert!(!Args::defaults().has(Scenario::Cluster));
        let a = parse(&["--scenarios", "cluster", "--cluster-hosts", "4"])?.context("parsed")?;
        assert_eq!(a.scenarios, vec![Scenario::Cluster]);
        assert_eq!(a.cluster_hosts, 4);
        Ok(())
    }
}
