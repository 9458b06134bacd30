//! What a backup archive says about itself, and the checks a restore makes against it before
//! it changes anything. Pure: no I/O, so every rule here is unit-tested.
//!
//! The manifest is the archive's last entry (`manifest.json`): the checksums of the entries
//! before it are only known once they are written, and a backup of a live install streams
//! its parts instead of staging them twice.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The archive layout this build writes and reads. A later layout gets a new number, and
/// readers refuse numbers they do not know.
pub const FORMAT: u32 = 1;
/// The manifest's name in the archive.
pub const MANIFEST: &str = "manifest.json";
/// The database dump (`pg_dump --format=custom`).
pub const DATABASE: &str = "database.dump";
/// The embedded file store's files, as laid out under the data directory's `files/`.
pub const FILES_DIR: &str = "files/";
/// Generated secrets, as named in the data directory.
pub const SECRETS_DIR: &str = "secrets/";
/// The secrets a data directory may hold that an archive may carry. The managed
/// PostgreSQL's password is not one: a restore makes a new cluster with a new password.
pub const SECRET_FILES: [&str; 3] = ["jwt-secret", "rooms-secret", "files-secret"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`] when written.
    pub format: u32,
    /// The `ocomms` version that wrote the archive.
    pub product_version: String,
    /// The database snapshot's time (UTC, RFC 3339): everything in the archive is as of then.
    pub created_at: String,
    /// The migration versions applied to the dumped database.
    pub migrations: Vec<i32>,
    /// Rows per table of the public schema, counted in the dump's snapshot.
    pub tables: BTreeMap<String, u64>,
    pub files: FilesPart,
    /// Whether `secrets/` is in the archive: whoever holds such an archive can sign in as
    /// any user of the install (it holds the key access tokens are signed with).
    pub secrets_included: bool,
    /// Objects the dumped rows reference that could not be copied, with why.
    #[serde(default)]
    pub missing_objects: Vec<MissingObject>,
    /// Every other entry of the archive, with its size and SHA-256 (hex).
    pub entries: Vec<Entry>,
}

/// Where the install's uploaded files were, and so whether the archive has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "store", rename_all = "snake_case")]
pub enum FilesPart {
    /// The embedded store: its objects the dumped rows reference are under `files/`.
    Embedded { objects: u64, bytes: u64 },
    /// An S3 service: its objects are not in the archive; that service is backed up on its own.
    External { endpoint: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingObject {
    pub key: String,
    pub reason: MissingReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingReason {
    /// The file was deleted and its object purged after the snapshot: the restored rows
    /// still show it, but its bytes are gone (as they are on the source by now).
    DeletedAfterSnapshot,
    /// The store had lost the object already: the source cannot serve it either.
    NotInStore,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("the manifest (manifest.json) cannot be read: {0}")]
    Unreadable(String),
    #[error(
        "the archive has format {found}; this ocomms reads format {FORMAT}: restore it with the ocomms that wrote it ({product})"
    )]
    UnsupportedFormat { found: u32, product: String },
    #[error(
        "the archive's database has migrations {unknown:?} that this ocomms does not know (it knows up to {known_max}): \
         restore it with ocomms {product} or newer"
    )]
    NewerMigrations { unknown: Vec<i32>, known_max: i32, product: String },
    #[error("entry {path:?} has an unsafe or unknown path; nothing was restored")]
    UnsafePath { path: String },
    #[error("entry {path:?} is damaged: {detail}; nothing was restored")]
    Damaged { path: String, detail: String },
    #[error("entry {path:?} is listed in the manifest but missing from the archive; nothing was restored")]
    MissingEntry { path: String },
    #[error("entry {path:?} is in the archive but not in its manifest; nothing was restored")]
    UnlistedEntry { path: String },
    #[error("entry {path:?} appears twice in the archive; nothing was restored")]
    DuplicateEntry { path: String },
}

impl Manifest {
    pub fn to_json(&self) -> Vec<u8> {
        // A derived Serialize over strings, numbers and maps cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Parses a manifest, refusing a format this build does not read.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ManifestError> {
        #[derive(Deserialize)]
        struct Head {
            format: u32,
            #[serde(default)]
            product_version: String,
        }
        let head: Head = serde_json::from_slice(bytes).map_err(|e| ManifestError::Unreadable(e.to_string()))?;
        if head.format != FORMAT {
            return Err(ManifestError::UnsupportedFormat { found: head.format, product: head.product_version });
        }
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Unreadable(e.to_string()))
    }

    /// Refuses an archive whose database has migrations this build does not know: a host
    /// started on it would refuse it too. Older databases are fine (the host migrates).
    pub fn check_migrations(&self, known: &[i32]) -> Result<(), ManifestError> {
        let unknown: Vec<i32> = self.migrations.iter().copied().filter(|v| !known.contains(v)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(ManifestError::NewerMigrations {
            unknown,
            known_max: known.iter().copied().max().unwrap_or(0),
            product: self.product_version.clone(),
        })
    }

    /// Checks what was read from the archive (every entry but the manifest, in order)
    /// against the manifest: each listed entry present once with its size and checksum,
    /// nothing else.
    pub fn verify(&self, seen: &[Entry]) -> Result<(), ManifestError> {
        let listed: BTreeMap<&str, &Entry> = self.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        let mut found = BTreeSet::new();
        for entry in seen {
            if !found.insert(entry.path.as_str()) {
                return Err(ManifestError::DuplicateEntry { path: entry.path.clone() });
            }
            self.check_entry(entry, &listed)?;
        }
        match self.entries.iter().find(|e| !found.contains(e.path.as_str())) {
            Some(e) => Err(ManifestError::MissingEntry { path: e.path.clone() }),
            None => Ok(()),
        }
    }

    /// One entry as read, against its listing.
    pub fn check_one(&self, entry: &Entry) -> Result<(), ManifestError> {
        let listed: BTreeMap<&str, &Entry> = self.entries.iter().map(|e| (e.path.as_str(), e)).collect();
        self.check_entry(entry, &listed)
    }

    fn check_entry(&self, entry: &Entry, listed: &BTreeMap<&str, &Entry>) -> Result<(), ManifestError> {
        check_path(&entry.path)?;
        let Some(want) = listed.get(entry.path.as_str()) else {
            return Err(ManifestError::UnlistedEntry { path: entry.path.clone() });
        };
        if want.size != entry.size {
            return Err(ManifestError::Damaged {
                path: entry.path.clone(),
                detail: format!("{} bytes where the manifest says {}", entry.size, want.size),
            });
        }
        if !want.sha256.eq_ignore_ascii_case(&entry.sha256) {
            return Err(ManifestError::Damaged {
                path: entry.path.clone(),
                detail: format!("its SHA-256 is {} where the manifest says {}", entry.sha256, want.sha256),
            });
        }
        Ok(())
    }
}

/// An entry path a restore may write: the dump, a secret it knows, or a file under
/// `files/` with plain relative components (no `..`, no absolute path, no empty or hidden
/// traversal), so that nothing lands outside the data directory.
pub fn check_path(path: &str) -> Result<(), ManifestError> {
    let unsafe_path = || ManifestError::UnsafePath { path: path.to_owned() };
    if path == DATABASE || path == MANIFEST {
        return Ok(());
    }
    if let Some(name) = path.strip_prefix(SECRETS_DIR) {
        return if SECRET_FILES.contains(&name) { Ok(()) } else { Err(unsafe_path()) };
    }
    let Some(rel) = path.strip_prefix(FILES_DIR) else { return Err(unsafe_path()) };
    if rel.is_empty() || rel.contains('\\') || rel.contains('\0') {
        return Err(unsafe_path());
    }
    if rel.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(unsafe_path());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, size: u64, sha: &str) -> Entry {
        Entry { path: path.into(), size, sha256: sha.into() }
    }

    fn manifest(entries: Vec<Entry>) -> Manifest {
        Manifest {
            format: FORMAT,
            product_version: "0.1.0".into(),
            created_at: "2025-01-01T00:00:00.000Z".into(),
            migrations: vec![1, 2, 3],
            tables: BTreeMap::from([("messages".into(), 3)]),
            files: FilesPart::Embedded { objects: 1, bytes: 5 },
            secrets_included: false,
            missing_objects: vec![],
            entries,
        }
    }

    #[test]
    fn a_manifest_reads_back_as_written() {
        let m = manifest(vec![entry(DATABASE, 10, "ab"), entry("files/ocomms-files/w/f", 5, "cd")]);
        assert_eq!(Manifest::from_json(&m.to_json()), Ok(m));
    }

    #[test]
    fn an_unknown_format_is_refused_before_its_fields_are_read() {
        let json = br#"{"format": 99, "product_version": "9.0.0", "something": "new"}"#;
        assert_eq!(
            Manifest::from_json(json),
            Err(ManifestError::UnsupportedFormat { found: 99, product: "9.0.0".into() })
        );
        assert!(matches!(Manifest::from_json(b"not json"), Err(ManifestError::Unreadable(_))));
    }

    #[test]
    fn newer_migrations_are_refused_and_older_accepted() {
        let m = manifest(vec![]);
        assert_eq!(m.check_migrations(&[1, 2, 3, 4]), Ok(()));
        assert_eq!(m.check_migrations(&[1, 2, 3]), Ok(()));
        let err = m.check_migrations(&[1, 2]).unwrap_err();
        assert_eq!(err, ManifestError::NewerMigrations { unknown: vec![3], known_max: 2, product: "0.1.0".into() });
        assert!(err.to_string().contains("[3]"), "{err}");
    }

    #[test]
    fn verification_names_the_entry_that_differs() {
        let m = manifest(vec![entry(DATABASE, 10, "aa"), entry("files/ocomms-files/k", 5, "bb")]);
        assert_eq!(m.verify(&[entry(DATABASE, 10, "AA"), entry("files/ocomms-files/k", 5, "bb")]), Ok(()));
        let tampered = m.verify(&[entry(DATABASE, 10, "aa"), entry("files/ocomms-files/k", 5, "cc")]).unwrap_err();
        assert!(matches!(&tampered, ManifestError::Damaged { path, .. } if path == "files/ocomms-files/k"));
        assert!(tampered.to_string().contains("files/ocomms-files/k"), "{tampered}");
        let short = m.verify(&[entry(DATABASE, 9, "aa"), entry("files/ocomms-files/k", 5, "bb")]).unwrap_err();
        assert!(matches!(&short, ManifestError::Damaged { path, .. } if path == DATABASE));
        assert_eq!(
            m.verify(&[entry(DATABASE, 10, "aa")]),
            Err(ManifestError::MissingEntry { path: "files/ocomms-files/k".into() })
        );
        assert_eq!(
            m.verify(&[entry(DATABASE, 10, "aa"), entry("files/ocomms-files/k", 5, "bb"), entry("files/x", 1, "00")]),
            Err(ManifestError::UnlistedEntry { path: "files/x".into() })
        );
        assert_eq!(
            m.verify(&[entry(DATABASE, 10, "aa"), entry(DATABASE, 10, "aa")]),
            Err(ManifestError::DuplicateEntry { path: DATABASE.into() })
        );
    }

    #[test]
    fn only_paths_inside_the_data_directory_are_accepted() {
        for ok in [
            DATABASE,
            "secrets/jwt-secret",
            "files/ocomms-files/ws/file",
            "files/.bucket-b2NvbW1zLWZpbGVz.object-aw.metadata.json",
        ] {
            assert_eq!(check_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "/etc/passwd",
            "../x",
            "files/../../x",
            "files/a/../../x",
            "files//x",
            "files/",
            "files/./x",
            "secrets/pg-password",
            "secrets/../jwt-secret",
            "other/file",
            "files/a\\..\\b",
        ] {
            assert!(matches!(check_path(bad), Err(ManifestError::UnsafePath { .. })), "{bad}");
        }
    }
}
