//! The servers the socket scenarios run against: OComms (the bench's host, or the hosts of a
//! cluster behind a proxy) and the Socket.IO reference. Same load, same client code, only
//! the wire protocol differs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::Value;

use crate::api::{Api, Fixture};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    SocketIo,
}

/// The OComms host processes behind a target: each reached directly for its `/metrics` (the
/// socket gauge) and measured by its pid (RSS, CPU).
#[derive(Debug)]
pub struct Hosts {
    pub label: String,
    /// One per host, on its own address; `host_pid` is the host's pid.
    pub direct: Vec<Api>,
    /// Processes the hosts share and that are not their descendants (in a cluster: the
    /// bench host's PostgreSQL, the relay, the proxy): counted in the `+children` CPU.
    pub shared: Vec<u32>,
    /// Hosts with the relay behind a proxy (the `cluster` scenario).
    pub cluster: bool,
    /// Whether `/metrics` has the `ocomms_websockets` gauge (the host's; the edge Worker
    /// has no `/metrics`).
    pub gauge: bool,
}

impl Hosts {
    /// The bench's own host, reached directly.
    pub fn single(api: &Api) -> Self {
        Self { label: "ours".into(), direct: vec![api.clone()], shared: Vec::new(), cluster: false, gauge: true }
    }

    pub fn pids(&self) -> Vec<u32> {
        self.direct.iter().map(|a| a.host_pid).collect()
    }
}

#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// `api` is where sockets and posts go: the host itself, or the proxy in front of the hosts.
    Ours {
        api: &'a Api,
        fx: &'a Fixture,
        hosts: &'a Hosts,
    },
    SocketIo {
        http: &'a reqwest::Client,
        addr: SocketAddr,
        pid: u32,
    },
}

impl Target<'_> {
    pub fn kind(&self) -> Kind {
        match self {
            Target::Ours { .. } => Kind::Ours,
            Target::SocketIo { .. } => Kind::SocketIo,
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Target::Ours { hosts, .. } => &hosts.label,
            Target::SocketIo { .. } => "socket.io",
        }
    }

    /// The server processes: their RSS and CPU are summed.
    pub fn pids(&self) -> Vec<u32> {
        match self {
            Target::Ours { hosts, .. } => hosts.pids(),
            Target::SocketIo { pid, .. } => vec![*pid],
        }
    }

    /// Shared processes counted in the `+children` CPU besides the servers' descendants.
    pub fn shared_pids(&self) -> &[u32] {
        match self {
            Target::Ours { hosts, .. } => &hosts.shared,
            Target::SocketIo { .. } => &[],
        }
    }

    /// The summed RSS of the server processes.
    pub fn rss(&self) -> Result<u64> {
        rss_of(&self.pids())
    }

    /// In the `cluster` scenario, how many hosts the proxy spreads over.
    pub fn cluster_hosts(&self) -> Option<usize> {
        match self {
            Target::Ours { hosts, .. } if hosts.cluster => Some(hosts.direct.len()),
            _ => None,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        match self {
            Target::Ours { api, .. } => api.addr,
            Target::SocketIo { addr, .. } => *addr,
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        match self {
            Target::Ours { api, .. } => &api.http,
            Target::SocketIo { http, .. } => http,
        }
    }

    /// Open sockets as the server counts them (the host's gauge, summed over the hosts;
    /// Socket.IO's client count).
    pub async fn sockets(&self) -> Result<f64> {
        Ok(self.sockets_per_server().await?.iter().sum())
    }

    /// Open sockets per server process, in the order of [`Target::pids`].
    pub async fn sockets_per_server(&self) -> Result<Vec<f64>> {
        match self {
            Target::Ours { hosts, .. } if !hosts.gauge => Ok(vec![f64::NAN; hosts.direct.len()]),
            Target::Ours { hosts, .. } => {
                let mut out = Vec::with_capacity(hosts.direct.len());
                for api in &hosts.direct {
                    out.push(api.metrics().await?.get("ocomms_websockets").copied().unwrap_or(f64::NAN));
                }
                Ok(out)
            }
            Target::SocketIo { http, addr, .. } => {
                let v: Value = http.get(format!("http://{addr}/stats")).send().await?.json().await?;
                Ok(vec![v.get("sockets").and_then(Value::as_f64).unwrap_or(f64::NAN)])
            }
        }
    }

    /// Polls the socket count until it is at most `target` or `limit` passes; a server
    /// without a gauge is not waited for.
    pub async fn wait_sockets(&self, target: f64, limit: Duration) -> f64 {
        if matches!(self, Target::Ours { hosts, .. } if !hosts.gauge) {
            return f64::NAN;
        }
        let deadline = Instant::now() + limit;
        loop {
            let n = self.sockets().await.unwrap_or(f64::NAN);
            if n <= target || Instant::now() >= deadline {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The summed `VmRSS` of processes; an error if any cannot be read.
pub fn rss_of(pids: &[u32]) -> Result<u64> {
    pids.iter().map(|&p| crate::proc::status_bytes(p, "VmRSS")).sum()
}

/// Samples the summed RSS of processes every 100 ms until told to stop; returns the largest
/// value seen.
pub fn rss_sampler(pids: Vec<u32>) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<u64>) {
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut peak = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            peak = peak.max(rss_of(&pids).unwrap_or(0));
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut rx => break,
            }
        }
        peak.max(rss_of(&pids).unwrap_or(0))
    });
    (tx, task)
}
