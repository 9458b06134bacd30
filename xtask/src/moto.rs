//! moto (PyPI `moto[server]`), an independent S3 implementation the file suite also runs
//! against: pinned and installed with pip into `target/moto/venv` the first time, its
//! `moto_server` handed to the tests as `OCOMMS_MOTO_SERVER`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::{system, toolchain::which};

const MOTO: &str = "5.2.6";

/// `target/moto/venv/bin/moto_server`, installing moto there first if needed.
pub fn server(root: &Path) -> Result<PathBuf> {
    let dir = root.join("target/moto/venv");
    let python = dir.join("bin/python");
    let bin = dir.join("bin/moto_server");
    let has = |python: &Path| {
        Command::new(python)
            .args(["-c", "import importlib.metadata as m; print(m.version('moto'))"])
            .output()
            .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == MOTO)
    };
    if has(&python) && bin.is_file() {
        return Ok(bin);
    }
    if which("python3").is_none() {
        system::apt_install(&["python3", "python3-venv"], "Python 3 (for moto)")?;
    }
    println!("    installing moto[server]=={MOTO} into {}", dir.display());
    let venv = || crate::run(Command::new("python3").args(["-m", "venv", "--clear"]).arg(&dir));
    if venv().is_err() {
        system::apt_install(&["python3-venv"], "Python's venv module (for moto)")?;
        venv()?;
    }
    crate::run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .arg(format!("moto[server]=={MOTO}")),
    )?;
    if !has(&python) || !bin.is_file() {
        bail!("moto {MOTO} is not installed in {} after installing it", dir.display());
    }
    Ok(bin)
}
