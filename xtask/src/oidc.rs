//! A real OpenID Provider for the single sign-on suites: panva's `oidc-provider`, unmodified,
//! pinned in `tests/oidc/package-lock.json` (`npm ci`) and started by the tests through
//! `tests/oidc/provider.mjs`. The tests find that directory through `OCOMMS_OIDC_NODE`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;

use crate::{build, run, system};

/// Installs the provider's packages when the lockfile is newer than them; the npm project's
/// directory (it holds `provider.mjs` and its `node_modules`).
pub fn install(root: &Path) -> Result<PathBuf> {
    system::ensure_node()?;
    let node = root.join("tests/oidc");
    let installed = node.join("node_modules/.package-lock.json");
    if build::newest(&[node.join("package-lock.json"), node.join("package.json")]) > build::modified(&installed) {
        run(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&node))?;
    } else {
        println!("    tests/oidc/node_modules is up to date");
    }
    Ok(node)
}
