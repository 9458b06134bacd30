//! Shared end-to-end helpers: the real `wasm-host` binary as a child process (with its
//! managed PostgreSQL unless told otherwise), an HTTP client for the API, and a WebSocket
//! client that speaks both JSON and MessagePack.
//!
//! Every [`Host`] is stopped with SIGTERM when it is dropped, including when the test panics
//! (the host then stops its managed PostgreSQL). A watchdog shell process also sends SIGTERM
//! if the test process dies without unwinding (an abort or a kill), so no host outlives the
//! test run. The host writes its output to `<tempdir>/host.log`, not to a pipe: a pipe
//! would break when the test process dies, and a host that cannot log cannot stop its
//! PostgreSQL cleanly. Set `OCOMMS_E2E_KEEP=1` to keep the temporary directories.

#![allow(dead_code, reason = "each test binary uses a different part of the helpers")]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{SinkExt as _, StreamExt as _};
use ocomms_core::event::{ChannelEvent, ClientFrame, MSGPACK_SUBPROTOCOL, ServerFrame, Subscription};
use ocomms_core::ids::UserId;
use ocomms_testsupport::ExitHook;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long the host may take to start (initdb, PostgreSQL, compiling the component) on a
/// busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a graceful stop may take before the host is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Generous bound for anything that should happen "at once" (a frame, a reply).
pub const WAIT: Duration = Duration::from_secs(10);
/// Log lines of a host printed when a test fails.
const LOG_LINES: usize = 400;

pub const PASSWORD: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------

/// The Cargo workspace root (this crate lives in `<root>/tests/e2e`).
pub fn workspace_root() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = dir.parent().and_then(Path::parent).expect("tests/e2e has a workspace root two levels up");
    root.canonicalize().unwrap_or_else(|_| root.to_path_buf())
}

/// `<root>/target/debug/wasm-host` (honouring `CARGO_TARGET_DIR`), or a panic saying how to
/// build it.
pub fn host_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let bin = target.join("debug").join("wasm-host");
    assert!(
        bin.is_file(),
        "the host binary {} is missing: run `cargo build -p wasm-host` before the end-to-end tests",
        bin.display()
    );
    bin
}

/// A built component in `<root>/target/components/`, or a panic saying how to build it.
pub fn component(file: &str, build_hint: &str) -> PathBuf {
    let path = workspace_root().join("target").join("components").join(file);
    assert!(path.is_file(), "the component {} is missing: {build_hint}", path.display());
    path
}

pub fn api_component() -> PathBuf {
    component("ocomms_component.wasm", "run `cargo xtask build component`")
}

/// The repository's spin.toml with every relative `source = "..."` made absolute, so the
/// text can be written anywhere (and extended with test components).
pub fn repo_manifest_with_absolute_sources() -> String {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join("spin.toml")).expect("read the repository's spin.toml");
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.lines() {
        let trimmed = line.trim_start();
        let value = trimmed
            .strip_prefix("source")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('='))
            .map(str::trim)
            .and_then(|v| v.strip_prefix('"'))
            .and_then(|v| v.strip_suffix('"'));
        match value {
            Some(rel) if !Path::new(rel).is_absolute() => {
                let abs = root.join(rel);
                out.push_str(&format!("source = {}\n", toml_string(&abs.to_string_lossy())));
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// A TOML basic string.
pub fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn unique_temp_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "ocomms-e2e-{}-{}-{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

// ---------------------------------------------------------------------------------------
// The host process
// ---------------------------------------------------------------------------------------

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
    dir: PathBuf,
    pid: u32,
    child: Option<tokio::process::Child>,
    watchdog: Option<ExitHook>,
    log: PathBuf,
    http: reqwest::Client,
    /// How the host was started, for [`Host::restart`].
    opts: HostOptions,
    manifest: PathBuf,
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
fn spawn_watchdog(pid: u32, dir: &Path) -> Option<ExitHook> {
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

// ---------------------------------------------------------------------------------------
// Replies and sessions
// ---------------------------------------------------------------------------------------

/// A buffered HTTP reply; `body` is `Null` when the body is empty or not JSON.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    pub async fn read(resp: reqwest::Response) -> Reply {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_string);
        let text = resp.text().await.unwrap_or_else(|e| panic!("read the reply body ({status}): {e:#}"));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, content_type, headers, text, body }
    }

    pub fn expect_status(&self, status: u16, what: &str) -> &Self {
        assert_eq!(self.status, status, "{what}: expected HTTP {status}, got {}: {}", self.status, self.text);
        self
    }

    /// A string at a JSON pointer, or a panic naming the reply.
    pub fn str_at(&self, pointer: &str) -> String {
        self.body
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("reply has no string at {pointer}: {self:?}"))
            .to_string()
    }

    pub fn error_code(&self) -> Option<&str> {
        self.body.pointer("/error/code").and_then(Value::as_str)
    }

    /// Asserts a clear API error: the status, `Content-Type: application/json`, and exactly
    /// `{"error": {"code": <code>, "message": <non-empty text>}}`.
    pub fn expect_error(&self, status: u16, code: &str, what: &str) -> &Self {
        assert_eq!(self.status, status, "{what}: expected HTTP {status} {code}, got {}: {}", self.status, self.text);
        let ct = self.content_type.as_deref().unwrap_or("");
        assert!(ct.starts_with("application/json"), "{what}: error content-type is {ct:?}, not JSON: {}", self.text);
        let obj =
            self.body.as_object().unwrap_or_else(|| panic!("{what}: error body is not a JSON object: {}", self.text));
        assert_eq!(obj.len(), 1, "{what}: error body has fields besides `error`: {}", self.text);
        let err = self.body["error"].as_object().unwrap_or_else(|| panic!("{what}: no `error` object: {}", self.text));
        assert_eq!(err.get("code").and_then(Value::as_str), Some(code), "{what}: wrong error code: {}", self.text);
        let message = err.get("message").and_then(Value::as_str).unwrap_or("");
        assert!(!message.trim().is_empty(), "{what}: the error has no message: {}", self.text);
        self
    }
}

/// A logged-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub access: String,
    pub refresh: String,
}

impl Session {
    pub fn from_reply(r: &Reply) -> Session {
        assert_eq!(r.body["tokens"]["token_type"], "Bearer", "unexpected token type: {r:?}");
        Session {
            user_id: r.str_at("/user/id"),
            access: r.str_at("/tokens/access_token"),
            refresh: r.str_at("/tokens/refresh_token"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EventsPage {
    pub events: Vec<ChannelEvent>,
    pub has_more: bool,
    pub last_seq: i64,
}

/// Asserts `seqs` is exactly `from..=to`, naming the first gap or duplicate.
pub fn assert_contiguous(seqs: &[i64], from: i64, to: i64, what: &str) {
    let expected: Vec<i64> = (from..=to).collect();
    if seqs != expected.as_slice() {
        let mut sorted = seqs.to_vec();
        sorted.sort_unstable();
        let dups: Vec<i64> = sorted.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
        let missing: Vec<i64> = expected.iter().copied().filter(|s| !seqs.contains(s)).collect();
        panic!("{what}: seqs {seqs:?} are not exactly {from}..={to} (duplicates {dups:?}, missing {missing:?})");
    }
}

// ---------------------------------------------------------------------------------------
// WebSockets
// ---------------------------------------------------------------------------------------

/// How a socket authenticates.
#[derive(Debug, Clone, Copy)]
pub enum WsAuth<'a> {
    /// `{"type":"auth","token":...}` as the first frame (in the socket's encoding).
    Frame(&'a str),
    /// `Authorization: Bearer` on the upgrade request.
    Header(&'a str),
    /// Nothing: the test sends its own first frame.
    None,
}

/// What came off a socket.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Frame(ServerFrame),
    /// A close frame (code and reason), or `None` when the connection just ended.
    Closed(Option<(u16, String)>),
}

pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub msgpack: bool,
    /// The subprotocol the server accepted.
    pub protocol: Option<String>,
}

impl Ws {
    /// Opens `/api/v1/ws` (asking for MessagePack when `msgpack`) and authenticates as told;
    /// reads nothing.
    pub async fn open(host: &Host, msgpack: bool, auth: WsAuth<'_>) -> Ws {
        let mut req = host.ws_url().into_client_request().expect("a valid WebSocket URL");
        if msgpack {
            req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static(MSGPACK_SUBPROTOCOL));
        }
        if let WsAuth::Header(token) = auth {
            let value = HeaderValue::from_str(&format!("Bearer {token}")).expect("a token is a valid header value");
            req.headers_mut().insert("authorization", value);
        }
        let (stream, resp) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(req))
            .await
            .expect("the WebSocket handshake timed out")
            .unwrap_or_else(|e| panic!("WebSocket handshake failed: {e}"));
        let protocol = resp.headers().get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).map(str::to_string);
        let mut ws = Ws { stream, msgpack, protocol };
        if let WsAuth::Frame(token) = auth {
            ws.send_frame(&ClientFrame::Auth { token: token.to_string() }).await;
        }
        ws
    }

    /// Opens an authenticated socket (auth frame) and reads its hello.
    pub async fn connect(host: &Host, token: &str, msgpack: bool) -> (Ws, Vec<Subscription>) {
        let mut ws = Ws::open(host, msgpack, WsAuth::Frame(token)).await;
        let (_, subs) = ws.hello().await;
        (ws, subs)
    }

    /// Sends a client frame in this socket's encoding (JSON text or MessagePack binary).
    pub async fn send_frame(&mut self, frame: &ClientFrame) {
        let msg = if self.msgpack {
            Message::binary(rmp_serde::to_vec_named(frame).expect("encode a client frame as MessagePack"))
        } else {
            Message::text(serde_json::to_string(frame).expect("encode a client frame as JSON"))
        };
        self.send_raw(msg).await;
    }

    pub async fn send_raw(&mut self, msg: Message) {
        tokio::time::timeout(WAIT, self.stream.send(msg))
            .await
            .expect("sending a frame timed out")
            .unwrap_or_else(|e| panic!("sending a frame failed: {e}"));
    }

    /// The next frame or close, skipping WebSocket pings and pongs; panics after `within`.
    /// Checks that the server used this socket's encoding.
    pub async fn recv_within(&mut self, within: Duration) -> Incoming {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {within:?}"));
            let msg = match next {
                None => return Incoming::Closed(None),
                Some(Err(e)) => {
                    use tokio_tungstenite::tungstenite::Error;
                    match e {
                        Error::ConnectionClosed | Error::AlreadyClosed | Error::Protocol(_) | Error::Io(_) => {
                            return Incoming::Closed(None);
                        }
                        other => panic!("WebSocket error: {other}"),
                    }
                }
                Some(Ok(m)) => m,
            };
            match msg {
                Message::Text(t) => {
                    assert!(!self.msgpack, "a MessagePack socket got a text frame: {t}");
                    let frame =
                        serde_json::from_str(&t).unwrap_or_else(|e| panic!("undecodable JSON frame ({e}): {t}"));
                    return Incoming::Frame(frame);
                }
                Message::Binary(b) => {
                    assert!(self.msgpack, "a JSON socket got a binary frame: {b:?}");
                    let frame = rmp_serde::from_slice(&b)
                        .unwrap_or_else(|e| panic!("undecodable MessagePack frame ({e}): {b:?}"));
                    return Incoming::Frame(frame);
                }
                Message::Close(c) => return Incoming::Closed(c.map(|c| (u16::from(c.code), c.reason.to_string()))),
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
            }
        }
    }

    /// The next server frame; panics on close or timeout.
    pub async fn next_frame(&mut self) -> ServerFrame {
        match self.recv_within(WAIT).await {
            Incoming::Frame(f) => f,
            Incoming::Closed(c) => panic!("the socket closed while a frame was expected: {c:?}"),
        }
    }

    /// The hello frame, which must come first.
    pub async fn hello(&mut self) -> (UserId, Vec<Subscription>) {
        match self.next_frame().await {
            ServerFrame::Hello { user_id, subscriptions } => (user_id, subscriptions),
            other => panic!("the first frame is not hello: {other:?}"),
        }
    }

    /// The next non-ephemeral frame (skips presence and typing).
    pub async fn next_significant(&mut self) -> ServerFrame {
        loop {
            match self.next_frame().await {
                ServerFrame::Presence { .. } | ServerFrame::Typing { .. } => {}
                other => return other,
            }
        }
    }

    /// The next channel event; skips presence, typing and subscription notices, fails on
    /// anything else (a resync or an error means the test's premise broke).
    pub async fn next_event(&mut self) -> ChannelEvent {
        loop {
            match self.next_frame().await {
                ServerFrame::Event { event } => return event,
                ServerFrame::Presence { .. }
                | ServerFrame::Typing { .. }
                | ServerFrame::Subscribed { .. }
                | ServerFrame::Unsubscribed { .. } => {}
                other => panic!("expected an event frame, got {other:?}"),
            }
        }
    }

    /// Asserts no event frame arrives within `quiet` (ephemeral frames are ignored).
    pub async fn expect_no_event(&mut self, quiet: Duration) {
        let deadline = tokio::time::Instant::now() + quiet;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await;
            let Ok(next) = next else { return };
            match next {
                Some(Ok(Message::Text(t))) => {
                    let f: ServerFrame = serde_json::from_str(&t).unwrap_or_else(|e| panic!("bad frame {e}: {t}"));
                    assert!(!matches!(f, ServerFrame::Event { .. }), "unexpected event: {f:?}");
                }
                Some(Ok(Message::Binary(b))) => {
                    let f: ServerFrame = rmp_serde::from_slice(&b).unwrap_or_else(|e| panic!("bad frame {e}: {b:?}"));
                    assert!(!matches!(f, ServerFrame::Event { .. }), "unexpected event: {f:?}");
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("the socket failed while it should idle: {e}"),
                None => panic!("the socket closed while it should idle"),
            }
        }
    }

    /// Waits for the server to close the socket; returns the close code and reason.
    pub async fn expect_close(&mut self) -> Option<(u16, String)> {
        match self.recv_within(WAIT).await {
            Incoming::Closed(c) => c,
            Incoming::Frame(f) => panic!("expected the socket to close, got {f:?}"),
        }
    }

    /// Ping with a nonce; asserts the matching pong (events in between are returned).
    pub async fn ping(&mut self, nonce: u64) -> Vec<ServerFrame> {
        self.send_frame(&ClientFrame::Ping { nonce: Some(nonce) }).await;
        let mut other = Vec::new();
        loop {
            match self.next_frame().await {
                ServerFrame::Pong { nonce: n } => {
                    assert_eq!(n, Some(nonce), "pong for another ping");
                    return other;
                }
                f => other.push(f),
            }
        }
    }

    /// Closes the socket politely.
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(WAIT, self.stream.close(None)).await;
    }
}

// ---------------------------------------------------------------------------------------
// The edge Worker as a second target of the shared scenarios
// ---------------------------------------------------------------------------------------

pub mod edge;
