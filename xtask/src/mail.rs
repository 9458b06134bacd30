//! A real SMTP server for the account-mail suite: `aiosmtpd` (pinned, installed with pip into
//! `target/mail/venv`), run by the tests through `tests/mail/smtp_sink.py`. The tests find
//! its python through `OCOMMS_SMTP_PYTHON`.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::system;

const AIOSMTPD: &str = "1.4.6";

/// The venv's python, which imports `aiosmtpd`.
pub fn install(root: &Path) -> Result<PathBuf> {
    system::pip_venv(&root.join("target/mail/venv"), "aiosmtpd", AIOSMTPD, &format!("aiosmtpd=={AIOSMTPD}"))
}
