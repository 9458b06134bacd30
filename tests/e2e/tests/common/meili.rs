//! A real Meilisearch server for the search suites: `OCOMMS_MEILISEARCH_BIN`, else
//! `../shared/bin/meilisearch` beside the repository, else `meilisearch` on PATH, on a free
//! loopback port with a master key and its own temporary database. Without a binary the
//! suites say so loudly and end early; `OCOMMS_REQUIRE_MEILISEARCH=1` (set by CI) makes that
//! a failure.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::workspace_root;

pub const KEY: &str = "ocomms-e2e-master-key-0123456789";

fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("OCOMMS_MEILISEARCH_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let shared = workspace_root().parent()?.join("shared").join("bin").join("meilisearch");
    if shared.is_file() {
        return Some(shared);
    }
    std::env::split_paths(&std::env::var_os("PATH")?).map(|d| d.join("meilisearch")).find(|p| p.is_file())
}

pub fn meilisearch_available(test: &str) -> bool {
    if binary().is_some() {
        return true;
    }
    let msg = "no Meilisearch binary found (set OCOMMS_MEILISEARCH_BIN, or put `meilisearch` on PATH)";
    assert!(
        std::env::var_os("OCOMMS_REQUIRE_MEILISEARCH").is_none(),
        "{test}: {msg}, and OCOMMS_REQUIRE_MEILISEARCH is set"
    );
    eprintln!("\n!!! SKIPPED {test}: {msg} !!!\n");
    false
}

/// A Meilisearch server on a loopback port with its own database directory.
pub struct Meili {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    http: reqwest::Client,
}

impl Meili {
    pub async fn start() -> Meili {
        let port =
            TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port");
        let dir = std::env::temp_dir().join(format!("ocomms-meili-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the Meilisearch directory");
        let mut m = Meili { child: None, port, dir, http: reqwest::Client::new() };
        m.launch().await;
        m
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn launch(&mut self) {
        let bin = binary().expect("a Meilisearch binary (check available first)");
        let log = std::fs::File::create(self.dir.join("meili.log")).expect("create the log");
        let child = Command::new(bin)
            .args([
                "--http-addr",
                &format!("127.0.0.1:{}", self.port),
                "--master-key",
                KEY,
                "--no-analytics",
                "--env",
                "development",
            ])
            .arg("--db-path")
            .arg(self.dir.join("db"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log"))
            .stderr(log)
            .spawn()
            .expect("start Meilisearch");
        self.child = Some(child);
        let started = Instant::now();
        loop {
            let ok =
                self.http.get(format!("{}/health", self.url())).send().await.is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "Meilisearch did not start: {}", self.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("meili.log")).unwrap_or_default()
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every document of the messages index, by id (empty when there is no index yet).
    pub async fn documents(&self) -> BTreeMap<String, Value> {
        let r = self
            .http
            .get(format!("{}/indexes/messages/documents?limit=10000", self.url()))
            .bearer_auth(KEY)
            .send()
            .await;
        let Ok(r) = r else { return BTreeMap::new() };
        if !r.status().is_success() {
            return BTreeMap::new();
        }
        let body: Value = r.json().await.unwrap_or_default();
        body["results"]
            .as_array()
            .map(|docs| docs.iter().filter_map(|d| Some((d["id"].as_str()?.to_owned(), d.clone()))).collect())
            .unwrap_or_default()
    }
}

impl Drop for Meili {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
