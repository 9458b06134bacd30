//! The release bundle's checksums, checked at start.
//!
//! A bundle (`cargo xtask dist`) carries `SHA256SUMS` beside its spin.toml. When the
//! manifest's directory has one, the host checks the files it is about to run (its
//! components, and its own executable when that lies in the bundle) and refuses to start
//! on a mismatch: a half-copied upgrade, a damaged disk or an altered component fails
//! loudly at start instead of misbehaving later. The manifest itself is configuration and
//! is not checked; files outside the bundle's directory are the operator's own and are not
//! checked either. Without `SHA256SUMS` (a development tree) nothing is checked.

use std::collections::HashMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The checksum file's name, in `sha256sum` format.
pub const SUMS_FILE: &str = "SHA256SUMS";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("{sums}: line {line} is not `<sha256 hex>  <path>`")]
    BadLine { sums: String, line: usize },
    #[error(
        "refusing to start: {file} does not match {sums} (expected sha256 {expected}, found {found}); the installed \
         bundle was altered or damaged: install the bundle again (check it first with `sha256sum -c SHA256SUMS`)"
    )]
    Mismatch { file: String, sums: String, expected: String, found: String },
    #[error(
        "refusing to start: {file} is in the bundle's directory but not listed in {sums}; install the bundle \
         again, or move files of your own out of the bundle's directory"
    )]
    Unlisted { file: String, sums: String },
}

/// Parses `sha256sum` output: `<64 hex digits> <space or *><path>` per line (binary-mode
/// `*` and text mode are the same on Unix). Returns path → lower-case hex digest.
pub fn parse_sums(text: &str, sums_name: &str) -> Result<HashMap<String, String>, BundleError> {
    let mut out = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || BundleError::BadLine { sums: sums_name.to_string(), line: i + 1 };
        let (digest, rest) = line.split_at_checked(64).ok_or_else(bad)?;
        if !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let path = rest.strip_prefix("  ").or_else(|| rest.strip_prefix(" *")).ok_or_else(bad)?;
        if path.is_empty() {
            return Err(bad());
        }
        out.insert(path.trim_start_matches("./").to_string(), digest.to_ascii_lowercase());
    }
    Ok(out)
}

/// Checks one file's digest against the list: `rel` is its path relative to the bundle's
/// directory, `found` its sha256 in hex.
pub fn check(sums: &HashMap<String, String>, sums_name: &str, rel: &str, found: &str) -> Result<(), BundleError> {
    match sums.get(rel) {
        Some(expected) if expected.eq_ignore_ascii_case(found) => Ok(()),
        Some(expected) => Err(BundleError::Mismatch {
            file: rel.to_string(),
            sums: sums_name.to_string(),
            expected: expected.clone(),
            found: found.to_string(),
        }),
        None => Err(BundleError::Unlisted { file: rel.to_string(), sums: sums_name.to_string() }),
    }
}

/// The sha256 of a file, in lower-case hex, read in chunks (the binary is large).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Verifies `files` against `<dir>/SHA256SUMS` when it exists. Returns the files checked
/// (none without a checksum file). Paths are compared after resolving symbolic links, so
/// a relative manifest path and `/proc/self/exe` agree.
pub fn verify(dir: &Path, files: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let sums_path = dir.join(SUMS_FILE);
    let text = match std::fs::read_to_string(&sums_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(anyhow::anyhow!("read {}: {e}", sums_path.display())),
    };
    let name = sums_path.display().to_string();
    let sums = parse_sums(&text, &name)?;
    let dir = dir.canonicalize().map_err(|e| anyhow::anyhow!("resolve {}: {e}", dir.display()))?;
    let mut checked = Vec::new();
    for file in files {
        let real = file.canonicalize().map_err(|e| anyhow::anyhow!("resolve {}: {e}", file.display()))?;
        let Ok(rel) = real.strip_prefix(&dir) else { continue };
        let found = sha256_file(&real).map_err(|e| anyhow::anyhow!("read {}: {e}", real.display()))?;
        check(&sums, &name, &rel.to_string_lossy(), &found)?;
        checked.push(real);
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    const A: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"; // "hello"

    #[test]
    fn parses_both_sha256sum_modes() {
        let sums = parse_sums(&format!("{A}  bin/ocomms\n{A} *components/x.wasm\n\n"), "S").unwrap();
        assert_eq!(sums.get("bin/ocomms").map(String::as_str), Some(A));
        assert_eq!(sums.get("components/x.wasm").map(String::as_str), Some(A));
    }

    #[test]
    fn refuses_malformed_lines() {
        assert_eq!(parse_sums("abc  x\n", "S"), Err(BundleError::BadLine { sums: "S".into(), line: 1 }));
        assert!(parse_sums(&format!("{A}\n"), "S").is_err());
        assert!(parse_sums(&format!("{A} x\n"), "S").is_err(), "one space without `*` is not sha256sum's format");
        assert!(parse_sums(&format!("{}  x\n", "g".repeat(64)), "S").is_err());
    }

    #[test]
    fn a_match_passes_and_a_mismatch_names_the_file_and_both_digests() {
        let sums = parse_sums(&format!("{A}  components/x.wasm\n"), "S").unwrap();
        assert_eq!(check(&sums, "S", "components/x.wasm", &A.to_uppercase()), Ok(()));
        let other = "0".repeat(64);
        let err = check(&sums, "S", "components/x.wasm", &other).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("refusing to start") && msg.contains("components/x.wasm"), "{msg}");
        assert!(msg.contains(A) && msg.contains(&other), "{msg}");
    }

    #[test]
    fn an_unlisted_file_inside_the_bundle_is_refused() {
        let sums = parse_sums(&format!("{A}  a\n"), "S").unwrap();
        assert!(matches!(check(&sums, "S", "b", A), Err(BundleError::Unlisted { .. })));
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ocomms-bundle-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("components")).unwrap();
        dir
    }

    #[test]
    fn verifies_files_on_disk_and_skips_files_outside_the_bundle() {
        let dir = temp_dir("disk");
        let wasm = dir.join("components/x.wasm");
        std::fs::write(&wasm, "hello").unwrap();
        // Without a checksum file nothing is checked.
        assert!(verify(&dir, std::slice::from_ref(&wasm)).unwrap().is_empty());
        std::fs::write(dir.join(SUMS_FILE), format!("{A}  components/x.wasm\n")).unwrap();
        let outside = std::env::current_exe().unwrap();
        let checked = verify(&dir, &[wasm.clone(), outside]).unwrap();
        assert_eq!(checked.len(), 1);
        // One byte changed: refused.
        std::fs::write(&wasm, "hellO").unwrap();
        let err = verify(&dir, &[wasm]).unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_relative_manifest_directory_resolves() {
        let dir = temp_dir("relative");
        let wasm = dir.join("components/x.wasm");
        std::fs::write(&wasm, "hello").unwrap();
        std::fs::write(dir.join(SUMS_FILE), format!("{A}  components/x.wasm\n")).unwrap();
        let via_dotdot = dir.join("components/../components/x.wasm");
        assert_eq!(verify(&dir.join("components/.."), &[via_dotdot]).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
