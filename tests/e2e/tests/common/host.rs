//! The handle on a running target: which target it is, the one place a handle is built, the
//! process it owns, and how it stops. Starting each target is in `wasm_host.rs` and
//! `edge.rs`; the API calls on a handle are in `api.rs`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use ocomms_testsupport::ExitHook;

use super::{LOG_LINES, STOP_TIMEOUT};

/// Which server a [`Host`] handle runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `wasm-host` with its managed PostgreSQL (or [`HostOptions::database_url`]).
    Host,
    /// The edge Worker and its Durable Objects under `wrangler dev` (local workerd), on a
    /// fresh database of the shared test cluster.
    Edge,
    /// The API under `spin up` from the repository's spin.toml, with a `wasm-host` beside
    /// it as the rooms and WebSocket service, on a fresh database of the shared test cluster.
    Spin,
}

impl Target {
    /// This target with the default options.
    pub async fn start(self) -> Host {
        self.start_with(HostOptions::default()).await
    }

    /// This target on a free port with a fresh database (unless `opts.database_url` names
    /// one), started with `opts`.
    pub async fn start_with(self, opts: HostOptions) -> Host {
        match self {
            Target::Host => Host::start_wasm_host(opts).await,
            Target::Edge => Host::start_edge(opts).await,
            Target::Spin => Host::start_spin(opts).await,
        }
    }

    /// The process a handle on this target owns, as messages name it.
    fn process(self) -> &'static str {
        match self {
            Target::Host => "wasm-host",
            Target::Edge => "wrangler dev",
            Target::Spin => "spin up",
        }
    }
}

/// How a target is started. `away_after_secs` applies to both targets; the other options
/// are `wasm-host`'s, and the edge refuses them.
#[derive(Debug, Default, Clone)]
pub struct HostOptions {
    /// Connected users go away after this many idle seconds (the host's `--away-after`, the
    /// Worker's `AWAY_AFTER_SECS`).
    pub away_after_secs: Option<u32>,
    /// Host only: manifest text written to `<tempdir>/spin.toml`; the repository's spin.toml
    /// otherwise.
    pub manifest_toml: Option<String>,
    /// Host only: `--request-timeout` in seconds.
    pub request_timeout_secs: Option<f64>,
    /// Host only: `--database-url`; the host manages its own PostgreSQL when `None`.
    pub database_url: Option<String>,
    /// Host only: `--meilisearch-url` and `--meilisearch-key`.
    pub meilisearch: Option<(String, String)>,
    /// Files in this S3 service rather than the target's own store (every target).
    pub s3: Option<ExternalS3>,
    /// Application variables (`SPIN_VARIABLE_<NAME>`; the Worker's settings of the same
    /// names at the edge), e.g. `OUTBOUND_ALLOW`.
    pub variables: Vec<(&'static str, String)>,
    /// Host only: `--smtp-url`, the mail server account mail goes to.
    pub smtp_url: Option<String>,
    /// Host only: more `wasm-host` arguments, e.g. `["--header-timeout", "1"]`.
    pub host_args: Vec<String>,
}

/// An S3 service a target's files go to.
#[derive(Debug, Clone)]
pub struct ExternalS3 {
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// moto accepts any signature (and none), so what only a signature enforces cannot be
    /// checked there.
    pub checks_signatures: bool,
}

impl HostOptions {
    /// The application variables to start with: the options', and unless they set their own,
    /// rate limits that never bite, since every test client comes from 127.0.0.1 (the limits'
    /// own tests set theirs), and sign-up without email verification.
    pub(super) fn app_variables(&self) -> Vec<(&'static str, String)> {
        let mut vars = self.variables.clone();
        if !vars.iter().any(|(k, _)| *k == "RATE_LIMITS") {
            vars.push(("RATE_LIMITS", ocomms_core::limits::Limits::unlimited_setting()));
        }
        // Accounts at once, so that tests of everything else sign up in one call; the
        // verification flow has its own suite (accounts.rs).
        if !vars.iter().any(|(k, _)| *k == "EMAIL_VERIFICATION") {
            vars.push(("EMAIL_VERIFICATION", "off".to_owned()));
        }
        vars
    }

    /// The names of the host-only options that are set.
    pub(super) fn host_only(&self) -> Vec<&'static str> {
        let HostOptions {
            away_after_secs: _,
            manifest_toml,
            request_timeout_secs,
            database_url,
            meilisearch,
            s3: _,
            variables,
            smtp_url,
            host_args,
        } = self;
        [
            ("variables", !variables.is_empty()),
            ("manifest_toml", manifest_toml.is_some()),
            ("request_timeout_secs", request_timeout_secs.is_some()),
            ("database_url", database_url.is_some()),
            ("meilisearch", meilisearch.is_some()),
            ("smtp_url", smtp_url.is_some()),
            ("host_args", !host_args.is_empty()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// A running target. Dropping it stops the process (SIGTERM, then waits) and removes its
/// temporary directory.
pub struct Host {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub addr: SocketAddr,
    /// Holds `jwt-secret` on both targets (and the managed PostgreSQL on the host).
    pub data_dir: PathBuf,
    target: Target,
    /// The temporary directory everything of this handle lives in.
    pub(super) dir: PathBuf,
    /// The target's configuration file: a spin.toml for the host, a wrangler.toml for the edge.
    pub(super) config: PathBuf,
    /// How the target was started, for [`Host::restart`].
    pub(super) opts: HostOptions,
    pub(super) pid: u32,
    pub(super) child: Option<tokio::process::Child>,
    pub(super) watchdog: Option<ExitHook>,
    pub(super) log: PathBuf,
    pub(super) http: reqwest::Client,
    /// Spin only: the `wasm-host` serving WebSockets and the rooms service (dropped after
    /// Spin, which publishes to it).
    pub(super) rooms: Option<Box<Host>>,
    /// Edge only: the file store the Worker signs for (`ocomms files`), killed on drop.
    pub(super) files: Option<tokio::process::Child>,
    /// Edge only: the mail sender beside the Worker (`ocomms mailer`), killed on drop.
    pub(super) mailer: Option<tokio::process::Child>,
}

impl Host {
    /// The one constructor: a handle on `target` with no process yet, living in `dir` (its
    /// data in `<dir>/data`, its output in `<dir>/host.log`). From here on the handle owns
    /// the directory, and once spawned the process: a panic while starting still cleans up.
    pub(super) fn unlaunched(target: Target, dir: PathBuf, config: PathBuf, opts: HostOptions) -> Host {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("build the HTTP client");
        Host {
            base: String::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.join("data"),
            target,
            log: dir.join("host.log"),
            dir,
            config,
            opts,
            pid: 0,
            child: None,
            watchdog: None,
            http,
            rooms: None,
            files: None,
            mailer: None,
        }
    }

    /// Spawns the target's process in the handle's directory, its stdout and stderr appended
    /// to the log, and hands it to a watchdog. Returns the log's length before: only what
    /// follows is this process's output (a restart appends to the same log).
    pub(super) fn spawn(&mut self, mut cmd: tokio::process::Command) -> usize {
        let log = &self.log;
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let log_start = out.metadata().map_or(0, |m| m.len()) as usize;
        let err = out.try_clone().expect("clone the log file handle");
        cmd.env("NO_COLOR", "1").current_dir(&self.dir).stdin(Stdio::null()).stdout(out).stderr(err).kill_on_drop(true);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.as_std().get_program()));
        self.pid = child.id().expect("a just-spawned child has a pid");
        self.watchdog = spawn_watchdog(self.pid, &self.dir);
        self.child = Some(child);
        log_start
    }

    /// The exit status of the target's process if it has ended.
    pub(super) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }

    /// Which server this handle runs (for the few documented differences).
    /// Whether the file store refuses requests with a wrong, missing or expired signature
    /// (the embedded store does; moto does not).
    pub fn store_checks_signatures(&self) -> bool {
        self.opts.s3.as_ref().is_none_or(|s| s.checks_signatures)
    }

    pub fn target(&self) -> Target {
        self.target
    }

    /// The target's recent output (stdout and stderr interleaved), at most [`LOG_LINES`]
    /// lines.
    /// The application variables the target was started with (the test's own).
    pub fn opts_variables(&self) -> &[(&'static str, String)] {
        &self.opts.variables
    }

    pub fn log_text(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_LINES)..].join("\n")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The WebSocket endpoint: on Spin, the rooms service's (Spin serves no WebSockets).
    pub fn ws_url(&self) -> String {
        match &self.rooms {
            Some(rooms) => rooms.ws_url(),
            None => format!("ws://{}/api/v1/ws", self.addr),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The access-token signing key: the one the host generated in its data directory, or
    /// the one the edge was configured with (written there too).
    pub fn jwt_secret(&self) -> String {
        let path = self.data_dir.join("jwt-secret");
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())).trim().to_string()
    }
}

/// Runs only if this process dies without dropping the [`Host`]: stops the target and
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
        // Nothing here may panic: a panic while a failing test unwinds would abort the
        // process, and with it every other test of the binary.
        let process = self.target.process();
        // The watchdog first, so that it cannot signal a recycled pid later.
        if let Some(w) = self.watchdog.take() {
            w.cancel();
        }
        if let Some(mut child) = self.child.take() {
            let running = matches!(child.try_wait(), Ok(None));
            if running {
                // SIGTERM: the host drains, closes sockets and stops its PostgreSQL; wrangler
                // stops its workerd processes.
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
                            eprintln!("{process} {} ignored SIGTERM for {STOP_TIMEOUT:?}; killing it", self.pid);
                            let _ = child.start_kill();
                            std::thread::sleep(Duration::from_millis(200));
                            let _ = child.try_wait();
                            break;
                        }
                    }
                }
            }
        }
        if self.target == Target::Host {
            self.stop_left_over_managed_pg();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- {process} {} ({}) output ----\n{}\n---- end of output ----",
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
