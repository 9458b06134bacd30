//! The few API calls the scenarios need, and `/metrics`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub addr: SocketAddr,
    /// The host's pid, for CPU accounting.
    pub host_pid: u32,
}

#[derive(Debug, Clone)]
pub struct User {
    pub token: String,
}

/// What the scenarios share: one workspace, its default channel, an owner who posts, and
/// members who own the WebSockets; plus, for the many-channel fan-out, channels that each
/// have one member of their own (a socket hears every channel its user belongs to).
#[derive(Debug, Clone)]
pub struct Fixture {
    pub owner: User,
    pub channel: String,
    pub members: Vec<User>,
    /// (user, channel id): the user is in that channel and the default one only.
    pub spread: Vec<(User, String)>,
    pub setup: Duration,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p).with_context(|| format!("response has no {}: {v}", path.join(".")))?;
    }
    cur.as_str().with_context(|| format!("{} is not a string: {v}", path.join(".")))
}

impl Api {
    pub fn new(addr: SocketAddr, host_pid: u32, pool: usize) -> Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(pool)
            .timeout(Duration::from_secs(20))
            .connect_timeout(Duration::from_secs(5))
            .build()?;
        Ok(Self { http, base: format!("http://{addr}"), addr, host_pid })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Value) -> Result<Value> {
        let mut req = self.http.request(method.clone(), self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.with_context(|| format!("{method} {path}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON: {text}"))
    }

    pub async fn signup(&self, email: &str, name: &str) -> Result<User> {
        let body = json!({ "email": email, "password": "bench-password-0123", "display_name": name });
        let v = self.call(reqwest::Method::POST, "/api/v1/auth/signup", None, body).await?;
        str_at(&v, &["user", "id"])?;
        Ok(User { token: str_at(&v, &["tokens", "access_token"])?.to_string() })
    }

    /// Signs up an owner and `members` users, makes a workspace and has everyone join it
    /// (joining puts them in the default channel); then makes `channels` more channels, each
    /// with a user of its own. Signups run two at a time: each is an argon2id hash inside
    /// wasm, and the machine may have only two cores.
    pub async fn fixture(&self, members: usize, channels: usize) -> Result<Fixture> {
        let started = std::time::Instant::now();
        let tag =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        let owner = self.signup(&format!("bench-owner-{tag}@example.com"), "Bench owner").await?;
        let v = self
            .call(reqwest::Method::POST, "/api/v1/workspaces", Some(&owner.token), json!({ "name": "bench" }))
            .await?;
        let ws = str_at(&v, &["workspace", "id"])?.to_string();
        let channel = str_at(&v, &["default_channel_id"])?.to_string();
        let v = self
            .call(reqwest::Method::POST, &format!("/api/v1/workspaces/{ws}/invites"), Some(&owner.token), json!({}))
            .await?;
        let code = str_at(&v, &["invite", "code"])?.to_string();
        let mut out = Vec::with_capacity(members);
        let indices: Vec<usize> = (0..members).collect();
        for pair in indices.chunks(2) {
            let joins = pair.iter().map(|i| {
                let code = code.clone();
                async move {
                    let u = self.signup(&format!("bench-{tag}-{i}@example.com"), &format!("Bench {i}")).await?;
                    self.call(
                        reqwest::Method::POST,
                        &format!("/api/v1/invites/{code}/accept"),
                        Some(&u.token),
                        json!({}),
                    )
                    .await?;
                    anyhow::Ok(u)
                }
            });
            for r in futures::future::join_all(joins).await {
                out.push(r?);
            }
        }
        let mut spread = Vec::with_capacity(channels);
        for i in 0..channels {
            let body = json!({ "name": format!("bench-{i}") });
            let v = self
                .call(reqwest::Method::POST, &format!("/api/v1/workspaces/{ws}/channels"), Some(&owner.token), body)
                .await?;
            spread.push(str_at(&v, &["channel", "id"])?.to_string());
        }
        let mut users = Vec::with_capacity(channels);
        for pair in spread.chunks(2).enumerate() {
            let (p, chans) = pair;
            let joins = chans.iter().enumerate().map(|(j, ch)| {
                let (code, i) = (code.clone(), 2 * p + j);
                async move {
                    let u = self.signup(&format!("bench-{tag}-c{i}@example.com"), &format!("Bench c{i}")).await?;
                    let accept = format!("/api/v1/invites/{code}/accept");
                    self.call(reqwest::Method::POST, &accept, Some(&u.token), json!({})).await?;
                    let join = format!("/api/v1/channels/{ch}/join");
                    self.call(reqwest::Method::POST, &join, Some(&u.token), json!({})).await?;
                    anyhow::Ok((u, ch.clone()))
                }
            });
            for r in futures::future::join_all(joins).await {
                users.push(r?);
            }
        }
        Ok(Fixture { owner, channel, members: out, spread: users, setup: started.elapsed() })
    }

    /// The Prometheus counters as name -> value.
    pub async fn metrics(&self) -> Result<HashMap<String, f64>> {
        let text = self.http.get(self.url("/metrics")).send().await?.error_for_status()?.text().await?;
        let mut m = HashMap::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            if let Some((name, value)) = line.split_once(' ')
                && let Ok(v) = value.trim().parse::<f64>()
            {
                m.insert(name.to_string(), v);
            }
        }
        Ok(m)
    }
}

/// `after[name] - before[name]`, 0 when missing.
pub fn delta(before: &HashMap<String, f64>, after: &HashMap<String, f64>, name: &str) -> f64 {
    after.get(name).copied().unwrap_or(0.0) - before.get(name).copied().unwrap_or(0.0)
}
