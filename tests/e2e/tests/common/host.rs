//! The real `wasm-host` as a child process, its managed PostgreSQL, and the HTTP helpers
//! the scenarios call on it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ocomms_core::event::ChannelEvent;
use ocomms_testsupport::ExitHook;
use serde_json::{Value, json};

use super::*;
#[derive(Debug, Default, Clone)]
pub struct HostOptions {
    /// Manifest text written to `<tempdir>/spin.toml`; the repository's spin.toml otherwise.
    pub manifest_toml: Option<String>,
    /// `--request-timeout` in seconds.
    pub request_timeout_secs: Option<f64>,
    /// `--database-url`; the host manages its own PostgreSQL when `None`.
    pub database_url: Option<String>,
    /// More command-line arguments, e.g. `["--away-after", "1"]`.
    pub extra_args: Vec<String>,
}

/// A running `wasm-host`. Dropping it stops the process (SIGTERM, then waits).
pub struct Host {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub(super) dir: PathBuf,
    pub(super) pid: u32,
    pub(super) child: Option<tokio::process::Child>,
    pub(super) watchdog: Option<ExitHook>,
    pub(super) log: PathBuf,
    pub(super) http: reqwest::Client,
    /// How the host was started, for [`Host::restart`].
    pub(super) opts: HostOptions,
    pub(super) manifest: PathBuf,
}

impl Host {
    /// The host with the repository's spin.toml and its managed PostgreSQL.
    pub async fn start() -> Host {
        Host::start_with(HostOptions::default()).await
    }

    pub async fn start_with(opts: HostOptions) -> Host {
        let dir = unique_temp_dir();
        let data_dir = dir.join("data");
        let manifest = match &opts.manifest_toml {
            Some(text) => {
                let path = dir.join("spin.toml");
                std::fs::write(&path, text).expect("write the test manifest");
                path
            }
            None => {
                api_component();
                workspace_root().join("spin.toml")
            }
        };
        let log = dir.join("host.log");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("build the HTTP client");
        // From here on the guard owns the directory (and, once spawned, the process): a panic
        // below still cleans up.
        let mut host = Host {
            base: String::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            dir,
            pid: 0,
            child: None,
            watchdog: None,
            log,
            http,
            opts,
            manifest,
        };
        host.launch("127.0.0.1:0").await;
        host
    }

    /// Spawns the host process listening on `listen` and waits until it prints its address.
    async fn launch(&mut self, listen: &str) {
        let bin = host_binary();
        let mut cmd = tokio::process::Command::new(&bin);
        cmd.arg("--listen").arg(listen).arg("--manifest").arg(&self.manifest).arg("--data-dir").arg(&self.data_dir);
        if let Some(secs) = self.opts.request_timeout_secs {
            cmd.arg("--request-timeout").arg(secs.to_string());
        }
        if let Some(url) = &self.opts.database_url {
            cmd.arg("--database-url").arg(url);
        }
        cmd.args(&self.opts.extra_args);
        // No stray configuration from the environment; no web client (cwd has no web/).
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("SPIN_VARIABLE_") || n.starts_with("OCOMMS_")) {
                cmd.env_remove(&name);
            }
        }
        let log = &self.log;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        // A restart appends to the same log: only lines after this offset announce the address.
        let log_start = out.metadata().map_or(0, |m| m.len()) as usize;
        let err = out.try_clone().expect("clone the log file handle");
        cmd.env("OCOMMS_LOG", "info")
            .env("NO_COLOR", "1")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        self.pid = child.id().expect("a just-spawned child has a pid");
        self.watchdog = spawn_watchdog(self.pid, &self.dir);
        self.child = Some(child);

        let started = Instant::now();
        let addr = loop {
            let text = std::fs::read(&self.log).unwrap_or_default();
            let fresh = String::from_utf8_lossy(text.get(log_start..).unwrap_or_default());
            if let Some(addr) = fresh.lines().find_map(|l| {
                l.trim().strip_prefix("ocomms listening on http://").and_then(|a| a.trim().parse::<SocketAddr>().ok())
            }) {
                break addr;
            }
            let exited = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                panic!("wasm-host exited ({status}) before listening; its output:\n{}", self.log_text());
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "wasm-host did not print its address within {START_TIMEOUT:?}; its output:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        self.addr = addr;
        self.base = format!("http://{addr}");
    }

    /// The host's recent output (stdout and stderr interleaved), at most [`LOG_LINES`] lines.
    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_LINES)..].join("\n")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/api/v1/ws", self.addr)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The access-token signing key the host generated in its data directory.
    pub fn jwt_secret(&self) -> String {
        let path = self.data_dir.join("jwt-secret");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())).trim().to_string()
    }

    // ----- raw HTTP --------------------------------------------------------------------

    /// Sends a request and reads the whole reply.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("HTTP request failed: {e:#}\nhost output:\n{}", self.log_text()));
        Reply::read(resp).await
    }

    pub fn request(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(reqwest::Method::GET, path, token)).await
    }

    /// POST with a JSON body (and `Content-Type: application/json`).
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(self.request(reqwest::Method::POST, path, token).json(&body)).await
    }

    /// POST without a body.
    pub async fn post_empty(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(self.request(reqwest::Method::POST, path, token)).await
    }

    // ----- the API ---------------------------------------------------------------------

    pub async fn signup(&self, email: &str) -> Session {
        let name = email.split('@').next().unwrap_or(email);
        let r = self
            .post("/api/v1/auth/signup", None, json!({ "email": email, "password": PASSWORD, "display_name": name }))
            .await;
        r.expect_status(201, "signup");
        Session::from_reply(&r)
    }

    pub async fn login(&self, email: &str) -> Session {
        let r = self.post("/api/v1/auth/login", None, json!({ "email": email, "password": PASSWORD })).await;
        r.expect_status(200, "login");
        Session::from_reply(&r)
    }

    /// Creates a workspace; returns its id and its #general channel's id.
    pub async fn create_workspace(&self, token: &str, name: &str) -> (String, String) {
        let r = self.post("/api/v1/workspaces", Some(token), json!({ "name": name })).await;
        r.expect_status(201, "create workspace");
        (r.str_at("/workspace/id"), r.str_at("/default_channel_id"))
    }

    pub async fn create_invite(&self, token: &str, workspace: &str) -> String {
        let r = self.post_empty(&format!("/api/v1/workspaces/{workspace}/invites"), Some(token)).await;
        r.expect_status(201, "create invite");
        r.str_at("/invite/code")
    }

    pub async fn accept_invite(&self, token: &str, code: &str) -> Reply {
        self.post_empty(&format!("/api/v1/invites/{code}/accept"), Some(token)).await
    }

    /// `owner` invites `member`, who accepts (and so joins the default channels).
    pub async fn add_to_workspace(&self, owner: &Session, member: &Session, workspace: &str) {
        let code = self.create_invite(&owner.access, workspace).await;
        let r = self.accept_invite(&member.access, &code).await;
        r.expect_status(200, "accept invite");
        assert_eq!(r.str_at("/workspace/id"), workspace, "accepted the invite into another workspace: {r:?}");
    }

    pub async fn create_channel(&self, token: &str, workspace: &str, name: &str, kind: &str) -> String {
        let r = self
            .post(
                &format!("/api/v1/workspaces/{workspace}/channels"),
                Some(token),
                json!({ "name": name, "kind": kind }),
            )
            .await;
        r.expect_status(201, "create channel");
        r.str_at("/channel/id")
    }

    pub async fn join_channel(&self, token: &str, channel: &str) -> Reply {
        let r = self.post_empty(&format!("/api/v1/channels/{channel}/join"), Some(token)).await;
        r.expect_status(200, "join channel");
        r
    }

    /// Posts a message; returns its seq.
    pub async fn post_message(&self, token: &str, channel: &str, text: &str) -> i64 {
        let r = self.post(&format!("/api/v1/channels/{channel}/messages"), Some(token), json!({ "text": text })).await;
        r.expect_status(201, "post message");
        assert_eq!(r.body["message"]["text"], text, "the stored text differs: {r:?}");
        r.body["message"]["seq"].as_i64().unwrap_or_else(|| panic!("post reply without message.seq: {r:?}"))
    }

    /// The newest page of history (oldest first).
    pub async fn history(&self, token: &str, channel: &str) -> Vec<Value> {
        let r = self.get(&format!("/api/v1/channels/{channel}/messages?limit=200"), Some(token)).await;
        r.expect_status(200, "history");
        r.body["messages"].as_array().cloned().unwrap_or_else(|| panic!("history without messages: {r:?}"))
    }

    /// One page of `/events?after=`.
    pub async fn events_page(&self, token: &str, channel: &str, after: i64, limit: Option<u32>) -> EventsPage {
        let mut path = format!("/api/v1/channels/{channel}/events?after={after}");
        if let Some(l) = limit {
            path.push_str(&format!("&limit={l}"));
        }
        let r = self.get(&path, Some(token)).await;
        r.expect_status(200, "events");
        let events: Vec<ChannelEvent> = serde_json::from_value(r.body["events"].clone())
            .unwrap_or_else(|e| panic!("events do not decode as ChannelEvent ({e}): {r:?}"));
        EventsPage {
            events,
            has_more: r.body["has_more"].as_bool().unwrap_or_else(|| panic!("events without has_more: {r:?}")),
            last_seq: r.body["last_seq"].as_i64().unwrap_or_else(|| panic!("events without last_seq: {r:?}")),
        }
    }

    /// Every event after `after`, following `has_more` with pages of `page` events.
    pub async fn all_events_after(&self, token: &str, channel: &str, after: i64, page: u32) -> Vec<ChannelEvent> {
        let mut out: Vec<ChannelEvent> = Vec::new();
        let mut cursor = after;
        for _ in 0..10_000 {
            let p = self.events_page(token, channel, cursor, Some(page)).await;
            assert!(p.events.len() <= page as usize, "a page holds more than the limit");
            if let Some(last) = p.events.last() {
                cursor = last.seq;
            }
            let done = !p.has_more;
            out.extend(p.events);
            if done {
                return out;
            }
        }
        panic!("events paging never ended");
    }

    /// The number of stored events of a channel (its full event log).
    pub async fn event_count(&self, token: &str, channel: &str) -> usize {
        self.all_events_after(token, channel, 0, 200).await.len()
    }

    pub async fn workspaces(&self, token: &str) -> Vec<Value> {
        let r = self.get("/api/v1/workspaces", Some(token)).await;
        r.expect_status(200, "list workspaces");
        r.body["workspaces"].as_array().cloned().unwrap_or_default()
    }

    pub async fn channels(&self, token: &str, workspace: &str) -> Vec<Value> {
        let r = self.get(&format!("/api/v1/workspaces/{workspace}/channels"), Some(token)).await;
        r.expect_status(200, "list channels");
        r.body["channels"].as_array().cloned().unwrap_or_default()
    }

    // ----- faults ----------------------------------------------------------------------

    /// SIGKILL, as in a crash: no draining, and the managed PostgreSQL keeps running (the
    /// next start must stop it). Returns once the process is gone.
    pub async fn kill(&mut self) {
        if let Some(w) = self.watchdog.take() {
            w.cancel();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(STOP_TIMEOUT, child.wait()).await;
        }
    }

    /// Starts the host again after [`Host::kill`]: same address, data directory and options.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "restart() needs a killed host");
        let listen = self.addr.to_string();
        self.launch(&listen).await;
    }

    /// The managed PostgreSQL's data directory.
    pub fn managed_pg_dir(&self) -> PathBuf {
        self.data_dir.join("pg")
    }

    /// Stops the managed PostgreSQL under the running host (fast: open sessions are cut).
    pub async fn stop_managed_pg(&self) {
        pg_ctl(&self.managed_pg_dir(), &["stop", "-m", "fast", "-w"]).await;
    }

    /// Starts the managed PostgreSQL again with the options it last ran with (same port).
    pub async fn start_managed_pg(&self) {
        let dir = self.managed_pg_dir();
        let opts_file = dir.join("postmaster.opts");
        let line = std::fs::read_to_string(&opts_file).unwrap_or_else(|e| panic!("read {}: {e}", opts_file.display()));
        // `<binary> "-D" "<dir>" "-c" "port=..." ...`: everything after the binary, quoted
        // for the shell pg_ctl starts the server with.
        let args = line.trim().split_once(' ').map_or("", |(_, rest)| rest).to_string();
        let log = dir.join("restarted.log");
        pg_ctl(&dir, &["start", "-w", "-t", "60", "-l", &log.to_string_lossy(), "-o", &args]).await;
    }
}

/// Runs `pg_ctl -D dir <args>` as the server's user; panics with its output on failure.
async fn pg_ctl(dir: &Path, args: &[&str]) {
    let out = pg_ctl_command(dir, args).output().await.unwrap_or_else(|e| panic!("run pg_ctl {args:?}: {e}"));
    assert!(
        out.status.success(),
        "pg_ctl {args:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pg_ctl_command(dir: &Path, args: &[&str]) -> tokio::process::Command {
    let bin = ocomms_pglocal::find_bin_dir().expect("PostgreSQL's binaries").join("pg_ctl");
    let mut cmd = if ocomms_pglocal::running_as_root() {
        let mut c = tokio::process::Command::new("runuser");
        c.arg("-u").arg("postgres").arg("--").arg(bin);
        c
    } else {
        tokio::process::Command::new(bin)
    };
    cmd.arg("-D").arg(dir).args(args).stdin(Stdio::null());
    cmd
}

/// Runs only if this process dies without dropping the [`Host`]: stops the host and
/// removes its directory.
pub(super) fn spawn_watchdog(pid: u32, dir: &Path) -> Option<ExitHook> {
    let script = format!(
        "kill -TERM {pid} 2>/dev/null; i=0; \
         while kill -0 {pid} 2>/dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done; rm -rf '{}'",
        dir.display()
    );
    ExitHook::spawn(&script).ok()
}

impl Drop for Host {
    fn drop(&mut self) {
        // The watchdog first, so that it cannot signal a recycled pid later.
        if let Some(w) = self.watchdog.take() {
            w.cancel();
        }
        if let Some(mut child) = self.child.take() {
            let running = matches!(child.try_wait(), Ok(None));
            if running {
                // SIGTERM: the host drains, closes sockets and stops its PostgreSQL.
                let _ = std::process::Command::new("kill")
                    .arg("-TERM")
                    .arg(self.pid.to_string())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
                let deadline = Instant::now() + STOP_TIMEOUT;
                loop {
                    match child.try_wait() {
                        Ok(Some(_)) | Err(_) => break,
                        Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                        Ok(None) => {
                            eprintln!("wasm-host {} ignored SIGTERM for {STOP_TIMEOUT:?}; killing it", self.pid);
                            let _ = child.start_kill();
                            std::thread::sleep(Duration::from_millis(200));
                            let _ = child.try_wait();
                            break;
                        }
                    }
                }
            }
        }
        // A killed host (see `kill`) leaves its managed PostgreSQL running: stop it before
        // its directory goes.
        if self.opts.database_url.is_none() && self.managed_pg_dir().join("postmaster.pid").exists() {
            let dir = self.managed_pg_dir();
            let _ = pg_ctl_command(&dir, &["stop", "-m", "immediate", "-w"]).as_std_mut().output();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- wasm-host {} ({}) output ----\n{}\n---- end of output ----",
                self.pid,
                self.base,
                self.log_text()
            );
        }
        if std::env::var_os("OCOMMS_E2E_KEEP").is_some() {
            eprintln!("keeping {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
