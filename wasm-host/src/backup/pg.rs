//! pg_dump and pg_restore, from the same PostgreSQL installation the managed cluster runs
//! on (a dump is read back by a pg_restore at least as new as the pg_dump that wrote it).
//! The password goes in `PGPASSWORD`, never on a command line other users can read.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum PgToolError {
    #[error(transparent)]
    NotInstalled(#[from] ocomms_pglocal::PgError),
    #[error("{0} was not found beside PostgreSQL's server binaries in {1}")]
    Missing(&'static str, PathBuf),
    #[error("{tool} failed ({status}): {stderr}")]
    Failed { tool: &'static str, status: String, stderr: String },
    #[error("run {tool}: {source}")]
    Spawn { tool: &'static str, source: std::io::Error },
}

/// The client tools of one PostgreSQL installation.
#[derive(Debug, Clone)]
pub struct PgTools {
    bin: PathBuf,
}

impl PgTools {
    /// The tools beside the server binaries the managed cluster uses
    /// ([`ocomms_pglocal::find_bin_dir`]).
    pub fn find() -> Result<Self, PgToolError> {
        let found = ocomms_pglocal::find_bin_dir()?;
        // A directory on PATH may hold links to the server binaries alone: the client tools
        // are beside the real `postgres`, in its installation.
        let bin = std::fs::canonicalize(found.join("postgres"))
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .filter(|dir| dir.join("pg_dump").exists())
            .unwrap_or(found);
        for tool in ["pg_dump", "pg_restore"] {
            if !bin.join(tool).exists() {
                return Err(PgToolError::Missing(tool, bin));
            }
        }
        Ok(Self { bin })
    }

    /// Dumps the database at `url` as of `snapshot` (exported by a transaction the caller
    /// keeps open until this returns) to `out`, in the custom format, uncompressed: the
    /// archive compresses everything once.
    pub async fn dump(&self, url: &str, snapshot: &str, out: &Path) -> Result<(), PgToolError> {
        let mut cmd = self.command("pg_dump", url);
        cmd.arg("--format=custom")
            .arg("--compress=0")
            .arg(format!("--snapshot={snapshot}"))
            .arg("--no-sync")
            .arg("--file")
            .arg(out);
        run("pg_dump", cmd).await
    }

    /// Restores `dump` into the empty database at `url` in one transaction (a failure
    /// leaves it empty). Owners and grants are the target's: its user owns what it creates.
    pub async fn restore(&self, url: &str, dump: &Path) -> Result<(), PgToolError> {
        let mut cmd = self.command("pg_restore", url);
        cmd.arg("--no-owner").arg("--no-privileges").arg("--exit-on-error").arg("--single-transaction").arg(dump);
        run("pg_restore", cmd).await
    }

    fn command(&self, tool: &str, url: &str) -> Command {
        let (url, password) = split_password(url);
        let mut cmd = Command::new(self.bin.join(tool));
        cmd.arg(format!("--dbname={url}")).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        if let Some(p) = password {
            cmd.env("PGPASSWORD", p);
        }
        cmd
    }
}

async fn run(tool: &'static str, mut cmd: Command) -> Result<(), PgToolError> {
    let out = cmd.output().await.map_err(|source| PgToolError::Spawn { tool, source })?;
    if out.status.success() {
        return Ok(());
    }
    Err(PgToolError::Failed {
        tool,
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
    })
}

/// A `postgres://` URL without its password, and the password (percent-decoded). Other
/// connection strings are passed as they are.
pub fn split_password(url: &str) -> (String, Option<String>) {
    let Ok(mut parsed) = url::Url::parse(url) else { return (url.to_owned(), None) };
    let Some(password) = parsed.password().map(percent_decode) else { return (url.to_owned(), None) };
    if parsed.set_password(None).is_err() {
        return (url.to_owned(), None);
    }
    (parsed.to_string(), Some(password))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        assert_eq!(
            split_password("postgresql://postgres:s%40cret@127.0.0.1:5432/ocomms?sslmode=disable"),
            ("postgresql://postgres@127.0.0.1:5432/ocomms?sslmode=disable".to_owned(), Some("s@cret".to_owned()))
        );
        assert_eq!(
            split_password("postgres://u@h/db"),
            ("postgres://u@h/db".to_owned(), None),
            "no password: as it is"
        );
        assert_eq!(split_password("host=h user=u"), ("host=h user=u".to_owned(), None));
    }
}
