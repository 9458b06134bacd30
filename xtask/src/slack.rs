//! Slack's own SDKs, unmodified, for the integration suite: Python `slack-sdk` (pinned,
//! installed with pip into `target/slack/venv`) and Node `@slack/webhook` and
//! `@slack/web-api` (pinned in `tests/slack/package-lock.json`, `npm ci`). The tests find
//! them through `OCOMMS_SLACK_PYTHON` and `OCOMMS_SLACK_NODE`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::{build, run, system};

const SLACK_SDK: &str = "3.48.0";

pub struct Sdks {
    /// The venv's python, which imports `slack_sdk`.
    pub python: PathBuf,
    /// The npm project whose node_modules holds the Node SDKs.
    pub node: PathBuf,
}

pub fn install(root: &Path) -> Result<Sdks> {
    let python =
        system::pip_venv(&root.join("target/slack/venv"), "slack-sdk", SLACK_SDK, &format!("slack-sdk=={SLACK_SDK}"))?;
    system::ensure_node()?;
    let node = root.join("tests/slack");
    let installed = node.join("node_modules/.package-lock.json");
    if build::newest(&[node.join("package-lock.json"), node.join("package.json")]) > build::modified(&installed) {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&node))?;
    } else {
        println!("    tests/slack/node_modules is up to date");
    }
    Ok(Sdks { python, node })
}
