//! Command-line flags. Every scenario is bounded by a count and a deadline.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

pub const USAGE: &str = "usage: ocomms-bench [options]

Starts its own wasm-host (temporary data dir, managed PostgreSQL) on 127.0.0.1, runs the
scenarios, prints a table and writes JSON. Figures only: nothing is asserted.

general:
  --scenarios LIST        comma-separated: post,idle,fanout (default all three)
  --host PATH             host binary (default <workspace>/target/debug/wasm-host)
  --manifest PATH         Spin manifest (default <workspace>/spin.toml)
  --out PATH              JSON report (default <workspace>/bench/out/host.json)
  --host-nofile N         open-file limit given to the host with prlimit (default 262144;
                          falls back to the bench's own hard limit if that cannot be set)
  --users N               users that own the WebSockets (default 8; each signup costs an
                          argon2id hash, sockets are spread round-robin over them)
  --connect-concurrency N WebSocket handshakes in flight at once (default 64)
  --startup-secs S        deadline for the host to start listening (default 180)

post (HTTP):
  --post-clients C        concurrent clients (default 16)
  --post-secs S           deadline for posting (default 10)
  --post-max N            total posts at most (default 20000)
  --noop-secs S           deadline for GET /api/v1/nope (default 5)
  --noop-max N            total no-op requests at most (default 20000)

idle (memory per socket):
  --idle-sockets K        sockets to open (default 5000)
  --idle-secs S           deadline for opening them (default 60)

fanout (WebSocket delivery):
  --fanout-sockets S      subscribed sockets (default 1000)
  --fanout-messages M     messages posted (default 200)
  --fanout-rate R         messages per second (default 10)
  --fanout-grace-secs S   wait for stragglers after the last post (default 10)
  --fanout-open-secs S    deadline for opening the sockets (default 60)

  -h, --help              this text";

#[derive(Debug, Clone)]
pub struct Args {
    pub scenarios: Vec<Scenario>,
    pub host: PathBuf,
    pub manifest: PathBuf,
    pub out: PathBuf,
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
    pub fanout_sockets: usize,
    pub fanout_messages: usize,
    pub fanout_rate: f64,
    pub fanout_grace: Duration,
    pub fanout_open_time: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Post,
    Idle,
    Fanout,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Post => "post",
            Scenario::Idle => "idle",
            Scenario::Fanout => "fanout",
        }
    }
}

/// The workspace root (the bench crate's parent directory).
pub fn workspace_root() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    dir.parent().unwrap_or(dir).to_path_buf()
}

impl Args {
    fn defaults() -> Self {
        let root = workspace_root();
        Self {
            // Run order: idle before fanout so the idle RSS growth is not hidden by memory the
            // allocator kept from the fan-out sockets.
            scenarios: vec![Scenario::Post, Scenario::Idle, Scenario::Fanout],
            host: root.join("target/debug/wasm-host"),
            manifest: root.join("spin.toml"),
            out: root.join("bench/out/host.json"),
            host_nofile: 262_144,
            users: 8,
            connect_concurrency: 64,
            startup: Duration::from_secs(180),
            post_clients: 16,
            post_time: Duration::from_secs(10),
            post_max: 20_000,
            noop_time: Duration::from_secs(5),
            noop_max: 20_000,
            idle_sockets: 5_000,
            idle_time: Duration::from_secs(60),
            fanout_sockets: 1_000,
            fanout_messages: 200,
            fanout_rate: 10.0,
            fanout_grace: Duration::from_secs(10),
            fanout_open_time: Duration::from_secs(60),
        }
    }

    /// Parses flags; `Ok(None)` means help was printed.
    pub fn parse(argv: impl IntoIterator<Item = String>) -> Result<Option<Self>> {
        let mut a = Self::defaults();
        let mut it = argv.into_iter();
        while let Some(flag) = it.next() {
            if matches!(flag.as_str(), "-h" | "--help") {
                println!("{USAGE}");
                return Ok(None);
            }
            let value = it.next().with_context(|| format!("{flag} needs a value\n\n{USAGE}"))?;
            let ctx = || format!("bad value {value:?} for {flag}");
            match flag.as_str() {
                "--scenarios" => {
                    let mut list = Vec::new();
                    for s in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        let sc = match s {
                            "post" => Scenario::Post,
                            "idle" => Scenario::Idle,
                            "fanout" => Scenario::Fanout,
                            other => bail!("unknown scenario {other:?}: use post, idle, fanout"),
                        };
                        if !list.contains(&sc) {
                            list.push(sc);
                        }
                    }
                    a.scenarios = list;
                }
                "--host" => a.host = value.into(),
                "--manifest" => a.manifest = value.into(),
                "--out" => a.out = value.into(),
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
                "--fanout-sockets" => a.fanout_sockets = value.parse().with_context(ctx)?,
                "--fanout-messages" => a.fanout_messages = value.parse().with_context(ctx)?,
                "--fanout-rate" => a.fanout_rate = value.parse().with_context(ctx)?,
                "--fanout-grace-secs" => a.fanout_grace = secs(&value).with_context(ctx)?,
                "--fanout-open-secs" => a.fanout_open_time = secs(&value).with_context(ctx)?,
                other => bail!("unknown argument {other:?}\n\n{USAGE}"),
            }
        }
        a.check()?;
        Ok(Some(a))
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
        if self.idle_sockets > 1_000_000 || self.fanout_sockets > 1_000_000 {
            bail!("socket counts are capped at 1000000");
        }
        if self.fanout_messages > 1_000_000 {
            bail!("--fanout-messages is capped at 1000000");
        }
        if !(self.fanout_rate > 0.0 && self.fanout_rate <= 100_000.0) {
            bail!("--fanout-rate must be in (0, 100000]");
        }
        if self.host_nofile < 1024 {
            bail!("--host-nofile must be at least 1024");
        }
        Ok(())
    }
}

fn secs(s: &str) -> Result<Duration> {
    let v: f64 = s.parse()?;
    if !(v > 0.0 && v <= 3600.0) {
        bail!("seconds must be in (0, 3600]");
    }
    Ok(Duration::from_secs_f64(v))
}
