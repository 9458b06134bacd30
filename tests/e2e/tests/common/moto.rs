//! moto (`moto_server`, PyPI `moto[server]`): an S3 implementation independent of ours, so
//! the file suite shows the presigned flow works against more than the embedded store.
//! `cargo xtask test` installs it and names it in `OCOMMS_MOTO_SERVER`.

use std::time::{Duration, Instant};

use super::edge::free_port;
use super::{ExternalS3, workspace_root};

pub struct Moto {
    _child: tokio::process::Child,
    pub url: String,
}

impl Moto {
    /// `moto_server` on a free loopback port, with the bucket made.
    pub async fn start() -> Moto {
        let bin = std::env::var_os("OCOMMS_MOTO_SERVER")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target/moto/venv/bin/moto_server"));
        assert!(
            bin.is_file(),
            "no moto_server at {}: run the tests with `cargo xtask test`, which installs it",
            bin.display()
        );
        let port = free_port();
        let child = tokio::process::Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start moto_server");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let started = Instant::now();
        // moto answers without signatures: the bucket is made with a plain PUT.
        loop {
            if let Ok(r) = http.put(format!("{url}/ocomms-files")).send().await {
                assert!(r.status().is_success(), "create the bucket in moto: {}", r.status());
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not start on {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Moto { _child: child, url }
    }

    pub fn s3(&self) -> ExternalS3 {
        ExternalS3 {
            endpoint: self.url.clone(),
            bucket: "ocomms-files".into(),
            access_key: "moto-access".into(),
            secret_key: "moto-secret".into(),
            checks_signatures: false,
        }
    }
}
