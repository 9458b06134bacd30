//! The API under a real Spin runtime (`spin up` on the repository's own spin.toml, set up by
//! variables alone), with a `wasm-host` beside it as the rooms and WebSocket service, both on
//! one fresh database of the shared test cluster: the deployment docs/spin.md describes.
//!
//! The Spin CLI is `OCOMMS_SPIN_BIN`, else `../shared/bin/spin` beside the repository, else
//! `spin` on PATH. Without one, the Spin scenarios say so loudly and end early; CI sets
//! `OCOMMS_REQUIRE_SPIN=1`, which makes a missing Spin a failure instead.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::edge::free_port;
use super::{Host, HostOptions, START_TIMEOUT, Target, api_component, unique_temp_dir, workspace_root};

/// Where the Spin CLI is, if anywhere.
pub fn spin_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("OCOMMS_SPIN_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let shared = workspace_root().parent()?.join("shared").join("bin").join("spin");
    if shared.is_file() {
        return Some(shared);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join("spin")).find(|p| p.is_file())
}

/// Whether the Spin scenarios can run; prints why not when they cannot, and panics instead
/// when `OCOMMS_REQUIRE_SPIN` is set.
pub fn spin_available(test: &str) -> bool {
    if spin_binary().is_some() {
        return true;
    }
    let msg = "no Spin CLI found (set OCOMMS_SPIN_BIN, or put `spin` on PATH)";
    assert!(std::env::var_os("OCOMMS_REQUIRE_SPIN").is_none(), "{test}: {msg}, and OCOMMS_REQUIRE_SPIN is set");
    eprintln!("\n!!! SKIPPED {test} on Spin: {msg} !!!\n");
    false
}

impl Host {
    /// `spin up` with the repository's spin.toml on a free port, and a `wasm-host` as its
    /// rooms service; both on a fresh database, or on `opts.database_url`. With
    /// `opts.meilisearch`, the rooms service indexes into that Meilisearch and the component
    /// searches it (`search_backend = "meilisearch"`).
    pub(super) async fn start_spin(opts: HostOptions) -> Host {
        let host_only: Vec<_> = opts
            .host_only()
            .into_iter()
            .filter(|o| !matches!(*o, "database_url" | "meilisearch" | "variables" | "smtp_url"))
            .collect();
        assert!(host_only.is_empty(), "the Spin target takes no such wasm-host options, got {host_only:?}");
        assert!(spin_binary().is_some(), "a Spin CLI (check spin_available first)");
        api_component();
        let db_url = match &opts.database_url {
            Some(url) => url.clone(),
            None => ocomms_testsupport::fresh_db().await.expect("a fresh test database").url,
        };
        // The rooms service: it generates the secrets Spin is then given.
        let rooms = Host::start_wasm_host(HostOptions {
            database_url: Some(db_url.clone()),
            away_after_secs: opts.away_after_secs,
            meilisearch: opts.meilisearch.clone(),
            variables: opts.variables.clone(),
            smtp_url: opts.smtp_url.clone(),
            ..HostOptions::default()
        })
        .await;
        let secret = |name: &str| {
            let path = rooms.data_dir.join(name);
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())).trim().to_owned()
        };
        let (jwt_secret, rooms_secret) = (secret("jwt-secret"), secret("rooms-secret"));
        // Files go to the rooms service's embedded store, over HTTP (its key is "ocomms-host").
        let files_secret = secret("files-secret");

        let spin_db_url = if db_url.contains('?') {
            format!("{db_url}&sslmode=disable")
        } else {
            format!("{db_url}?sslmode=disable")
        };
        let mut vars = vec![
            ("JWT_SECRET", jwt_secret),
            ("ROOMS_SECRET", rooms_secret),
            ("ROOMS_URL", rooms.base.clone()),
            ("DB_URL", spin_db_url),
            ("DB_HOST", db_host_of(&db_url)),
        ];
        match &opts.s3 {
            Some(s3) => vars.extend(super::wasm_host::s3_variables(s3)),
            None => vars.extend([
                ("S3_ENDPOINT", rooms.base.clone()),
                ("S3_ACCESS_KEY", "ocomms-host".to_owned()),
                ("S3_SECRET_KEY", files_secret),
            ]),
        }
        vars.extend(opts.app_variables());
        if let Some((url, key)) = &opts.meilisearch {
            vars.extend([
                ("SEARCH_BACKEND", "meilisearch".to_owned()),
                ("MEILISEARCH_URL", url.clone()),
                ("MEILISEARCH_KEY", key.clone()),
            ]);
        }
        let mut host = Host::unlaunched(Target::Spin, unique_temp_dir(), workspace_root().join("spin.toml"), opts);
        host.data_dir = rooms.data_dir.clone();
        host.launch_spin(&vars).await;
        host.rooms = Some(Box::new(rooms));
        host
    }

    /// `spin up` on `manifest_toml` (written to the handle's directory; sources must be
    /// absolute) with the given `SPIN_VARIABLE_<NAME>` values, on a free port.
    pub async fn spin_app(manifest_toml: &str, vars: &[(&str, String)]) -> Host {
        let dir = unique_temp_dir();
        let config = dir.join("spin.toml");
        std::fs::write(&config, manifest_toml).expect("write the Spin manifest");
        let mut host = Host::unlaunched(Target::Spin, dir, config, HostOptions::default());
        host.launch_spin(vars).await;
        host
    }

    async fn launch_spin(&mut self, vars: &[(&str, String)]) {
        let spin = spin_binary().expect("a Spin CLI (check spin_available first)");
        let port = free_port();
        let mut cmd = tokio::process::Command::new(&spin);
        cmd.arg("up")
            .arg("--from")
            .arg(&self.config)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--state-dir")
            .arg(self.dir.join("spin-state"))
            .arg("--log-dir")
            .arg(self.dir.join("spin-logs"));
        for (name, _) in std::env::vars_os() {
            if name.to_str().is_some_and(|n| n.starts_with("SPIN_")) {
                cmd.env_remove(&name);
            }
        }
        for (name, value) in vars {
            cmd.env(format!("SPIN_VARIABLE_{name}"), value);
        }
        cmd.env("SPIN_VARIABLE_PUBLIC_URL", format!("http://127.0.0.1:{port}")).env("HOME", self.dir.join("home"));
        // Spin keeps compiled components in wasmtime's cache under the user's cache directory.
        // Every Spin of the run compiles the same component: share that cache (keyed by the
        // wasm's hash and the compiler's settings, written atomically) instead of compiling
        // it again for each test's own HOME.
        cmd.env("XDG_CACHE_HOME", super::wasm_host::target_dir().join("e2e-spin-cache"));
        self.spawn(cmd);
        self.addr = SocketAddr::from(([127, 0, 0, 1], port));
        self.base = format!("http://127.0.0.1:{port}");

        // Spin listens once its components are ready: any HTTP answer means it serves. The
        // probe keeps no connection: a test's first request must not reuse one that Spin
        // may be closing (that failed as "error sending request" on a busy machine).
        let probe_client = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("an HTTP client");
        let started = Instant::now();
        loop {
            let probe = probe_client.get(self.url("/")).timeout(Duration::from_secs(5)).send().await;
            if probe.is_ok() {
                return;
            }
            if let Some(status) = self.exited() {
                panic!("spin up exited ({status}) before serving; its output:\n{}", self.log_text());
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "spin up did not serve within {START_TIMEOUT:?}; its output:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `host:port` of a database URL, as `allowed_outbound_hosts` takes it (`db_host`).
pub fn db_host_of(url: &str) -> String {
    let url = reqwest::Url::parse(url).expect("the database URL parses");
    format!("{}:{}", url.host_str().expect("a database host"), url.port().unwrap_or(5432))
}
