//! moto (PyPI `moto[server]`), an independent S3 implementation the file suite also runs
//! against: pinned and installed with pip into `target/moto/venv` the first time, its
//! `moto_server` handed to the tests as `OCOMMS_MOTO_SERVER`.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::system;

const MOTO: &str = "5.2.6";

/// `target/moto/venv/bin/moto_server`, installing moto there first if needed.
pub fn server(root: &Path) -> Result<PathBuf> {
    let dir = root.join("target/moto/venv");
    system::pip_venv(&dir, "moto", MOTO, &format!("moto[server]=={MOTO}"))?;
    let bin = dir.join("bin/moto_server");
    if !bin.is_file() {
        bail!("moto {MOTO} is installed in {} but has no moto_server", dir.display());
    }
    Ok(bin)
}
