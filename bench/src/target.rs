//! The two servers the socket scenarios run against: OComms (the host) and the Socket.IO
//! reference. Same load, same client code, only the wire protocol differs.

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

#[derive(Clone, Copy)]
pub enum Target<'a> {
    Ours { api: &'a Api, fx: &'a Fixture, pid: u32 },
    SocketIo { http: &'a reqwest::Client, addr: SocketAddr, pid: u32 },
}

impl Target<'_> {
    pub fn kind(&self) -> Kind {
        match self {
            Target::Ours { .. } => Kind::Ours,
            Target::SocketIo { .. } => Kind::SocketIo,
        }
    }

    pub fn label(&self) -> &'static str {
        match self.kind() {
            Kind::Ours => "ours",
            Kind::SocketIo => "socket.io",
        }
    }

    pub fn pid(&self) -> u32 {
        match self {
            Target::Ours { pid, .. } | Target::SocketIo { pid, .. } => *pid,
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

    /// Open sockets as the server counts them (the host's gauge, Socket.IO's client count).
    pub async fn sockets(&self) -> Result<f64> {
        match self {
            Target::Ours { api, .. } => Ok(api.metrics().await?.get("ocomms_websockets").copied().unwrap_or(f64::NAN)),
            Target::SocketIo { http, addr, .. } => {
                let v: Value = http.get(format!("http://{addr}/stats")).send().await?.json().await?;
                Ok(v.get("sockets").and_then(Value::as_f64).unwrap_or(f64::NAN))
            }
        }
    }

    /// Polls the socket count until it is at most `target` or `limit` passes.
    pub async fn wait_sockets(&self, target: f64, limit: Duration) -> f64 {
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

/// Samples a process's RSS every 100 ms until told to stop; returns the largest value seen.
pub fn rss_sampler(pid: u32) -> (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<u64>) {
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut peak = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            peak = peak.max(crate::proc::status_bytes(pid, "VmRSS").unwrap_or(0));
            tokio::select! {
                _ = tick.tick() => {}
                _ = &mut rx => break,
            }
        }
        peak.max(crate::proc::status_bytes(pid, "VmRSS").unwrap_or(0))
    });
    (tx, task)
}
