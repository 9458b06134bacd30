//! The archive container: a tar stream compressed with zstd (with its frame checksum), each
//! entry hashed (SHA-256) as it is written and as it is read, the manifest last. Generic
//! over `Read`/`Write`, so it is tested in memory.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

use super::manifest::{self, Entry, MANIFEST, Manifest, ManifestError};

/// zstd's default level: fast enough not to slow a backup down, most of the gain.
const LEVEL: i32 = 3;
/// A manifest larger than this is not one we wrote (it lists about 150 bytes per file).
const MANIFEST_MAX_BYTES: u64 = 512 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("the archive is damaged or truncated at {at}: {detail}; nothing was restored")]
    Unreadable { at: String, detail: String },
    #[error(
        "the archive ends after {last} without its manifest: it is truncated or not an ocomms backup; nothing was restored"
    )]
    NoManifest { last: String },
    #[error("entry {path:?} is not a regular file; nothing was restored")]
    NotAFile { path: String },
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
}

/// Writes entries, remembering each one's size and checksum for the manifest.
pub struct ArchiveWriter<W: Write> {
    tar: tar::Builder<zstd::stream::write::Encoder<'static, W>>,
    entries: Vec<Entry>,
}

impl<W: Write> ArchiveWriter<W> {
    pub fn new(out: W) -> io::Result<Self> {
        let mut zstd = zstd::stream::write::Encoder::new(out, LEVEL)?;
        zstd.include_checksum(true)?;
        let mut tar = tar::Builder::new(zstd);
        tar.mode(tar::HeaderMode::Deterministic);
        Ok(Self { tar, entries: Vec::new() })
    }

    /// Adds `size` bytes read from `data` as `path`. A reader that ends early (a file cut
    /// short while read) is an error rather than an entry padded with garbage.
    pub fn add(&mut self, path: &str, size: u64, data: impl Read) -> io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(0o600);
        let mut reader = Hashing::new(data.take(size));
        self.tar.append_data(&mut header, path, &mut reader)?;
        let (count, sha256) = reader.finish();
        if count != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{path}: read {count} bytes of {size}: it changed while being archived"),
            ));
        }
        self.entries.push(Entry { path: path.to_owned(), size, sha256 });
        Ok(())
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Appends the manifest (which must list [`Self::entries`]) and ends the stream.
    pub fn finish(mut self, manifest: &Manifest) -> io::Result<W> {
        let json = manifest.to_json();
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        self.tar.append_data(&mut header, MANIFEST, json.as_slice())?;
        self.tar.into_inner()?.finish()
    }
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
    count: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Self { inner, sha: Sha256::new(), count: 0 }
    }
    fn finish(self) -> (u64, String) {
        (self.count, hex::encode(self.sha.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// What a pass over an archive found.
#[derive(Debug)]
pub struct Scan {
    /// Every entry before the manifest, in order, as read.
    pub entries: Vec<Entry>,
    pub manifest: Option<Vec<u8>>,
}

/// Reads the whole archive, handing each entry but the manifest to `sink` (which returns
/// where its bytes go) and hashing it on the way. Stops at the first error, naming the
/// entry it was reading or the one before it.
pub fn scan<R: Read>(
    input: R,
    mut sink: impl FnMut(&str) -> io::Result<Box<dyn Write>>,
) -> Result<Scan, (Scan, ArchiveError)> {
    let mut scan = Scan { entries: Vec::new(), manifest: None };
    let res = scan_into(input, &mut sink, &mut scan);
    match res {
        Ok(()) => Ok(scan),
        Err(e) => Err((scan, e)),
    }
}

fn scan_into<R: Read>(
    input: R,
    sink: &mut impl FnMut(&str) -> io::Result<Box<dyn Write>>,
    scan: &mut Scan,
) -> Result<(), ArchiveError> {
    let position = |scan: &Scan, current: Option<&str>| match (current, scan.entries.last(), &scan.manifest) {
        (Some(p), _, _) => format!("entry {p:?}"),
        (None, _, Some(_)) => format!("its end, after {MANIFEST:?}"),
        (None, Some(last), None) => format!("the entry after {:?}", last.path),
        (None, None, None) => "its start".to_owned(),
    };
    let unreadable = |at: String, e: io::Error| ArchiveError::Unreadable { at, detail: e.to_string() };
    let zstd = zstd::stream::read::Decoder::new(input).map_err(|e| unreadable(position(scan, None), e))?;
    let mut tar = tar::Archive::new(zstd);
    for entry in tar.entries().map_err(|e| unreadable(position(scan, None), e))? {
        let mut entry = entry.map_err(|e| unreadable(position(scan, None), e))?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        manifest::check_path(&path)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(ArchiveError::NotAFile { path });
        }
        if scan.manifest.is_some() {
            // Nothing follows the manifest in an archive we wrote.
            return Err(ManifestError::UnlistedEntry { path }.into());
        }
        let size = entry.size();
        if path == MANIFEST {
            if size > MANIFEST_MAX_BYTES {
                return Err(ManifestError::Unreadable(format!("{size} bytes is too large for a manifest")).into());
            }
            let mut json = Vec::new();
            entry.read_to_end(&mut json).map_err(|e| unreadable(position(scan, Some(&path)), e))?;
            scan.manifest = Some(json);
            continue;
        }
        let mut out = sink(&path).map_err(|source| ArchiveError::Io { what: format!("write {path}"), source })?;
        let mut reader = Hashing::new(&mut entry);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = reader.read(&mut buf).map_err(|e| unreadable(position(scan, Some(&path)), e))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n]).map_err(|source| ArchiveError::Io { what: format!("write {path}"), source })?;
        }
        out.flush().map_err(|source| ArchiveError::Io { what: format!("write {path}"), source })?;
        let (count, sha256) = reader.finish();
        if count != size {
            return Err(ArchiveError::Unreadable {
                at: position(scan, Some(&path)),
                detail: format!("{count} bytes of {size}"),
            });
        }
        scan.entries.push(Entry { path, size, sha256 });
    }
    // What follows the tar's end (its zero blocks, the frame's checksum) is read too, so
    // that damage there is found as well.
    io::copy(&mut tar.into_inner(), &mut io::sink()).map_err(|e| unreadable(position(scan, None), e))?;
    Ok(())
}

/// Checks a first pass over an archive: the manifest is there, readable, of a format we
/// read, and lists exactly the entries found with their checksums. When the pass stopped
/// on an error, a checksum mismatch found before it is the better report (it names the
/// damaged entry); otherwise the error, which names where the stream broke.
pub fn verify(result: Result<Scan, (Scan, ArchiveError)>) -> Result<Manifest, ArchiveError> {
    let (scan, error) = match result {
        Ok(scan) => (scan, None),
        Err((scan, e)) => (scan, Some(e)),
    };
    let manifest = scan.manifest.as_deref().map(Manifest::from_json);
    if let Some(Ok(m)) = &manifest {
        for entry in &scan.entries {
            m.check_one(entry)?;
        }
    }
    if let Some(e) = error {
        return Err(e);
    }
    match manifest {
        None => Err(ArchiveError::NoManifest {
            last: scan.entries.last().map_or_else(|| "nothing".to_owned(), |e| format!("{:?}", e.path)),
        }),
        Some(m) => {
            let m = m?;
            m.verify(&scan.entries)?;
            Ok(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::backup::manifest::{DATABASE, FORMAT, FilesPart};

    fn write(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut w = ArchiveWriter::new(Vec::new()).unwrap();
        for (path, data) in entries {
            w.add(path, data.len() as u64, data.as_slice()).unwrap();
        }
        let manifest = Manifest {
            format: FORMAT,
            product_version: "0.1.0".into(),
            created_at: "2025-01-01T00:00:00.000Z".into(),
            migrations: vec![1],
            tables: BTreeMap::new(),
            files: FilesPart::Embedded { objects: 1, bytes: 3 },
            secrets_included: false,
            missing_objects: vec![],
            entries: w.entries().to_vec(),
        };
        w.finish(&manifest).unwrap()
    }

    /// Pseudo-random bytes that do not compress, so damage lands inside an entry's data.
    fn noise(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect()
    }

    fn check(archive: &[u8]) -> Result<Manifest, ArchiveError> {
        verify(scan(archive, |_| Ok(Box::new(io::sink()))))
    }

    #[test]
    fn an_archive_reads_back_with_its_entries() {
        let dump = noise(100_000, 7);
        let archive = write(&[(DATABASE, dump.clone()), ("files/ocomms-files/a/b", b"abc".to_vec())]);
        let m = check(&archive).unwrap();
        assert_eq!(m.entries.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(), [DATABASE, "files/ocomms-files/a/b"]);
        // The sink gets each entry's bytes.
        let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        struct Into(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
        impl Write for Into {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.borrow_mut().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let sink_into = got.clone();
        scan(archive.as_slice(), move |p| {
            Ok(if p == DATABASE { Box::new(Into(sink_into.clone())) as Box<dyn Write> } else { Box::new(io::sink()) })
        })
        .unwrap();
        assert_eq!(*got.borrow(), dump);
    }

    #[test]
    fn a_flipped_byte_anywhere_is_refused() {
        let archive = write(&[(DATABASE, noise(200_000, 3)), ("files/ocomms-files/k", noise(50_000, 5))]);
        for at in (0..archive.len()).step_by(archive.len() / 40) {
            let mut bad = archive.clone();
            bad[at] ^= 0x40;
            let err = check(&bad).expect_err("a damaged archive is refused");
            let text = err.to_string();
            assert!(
                text.contains(DATABASE)
                    || text.contains("files/ocomms-files/k")
                    || text.contains("its start")
                    || text.contains(MANIFEST),
                "byte {at}: {text}"
            );
        }
    }

    #[test]
    fn a_truncated_archive_is_refused() {
        let archive = write(&[(DATABASE, noise(100_000, 11)), ("files/ocomms-files/k", noise(10_000, 13))]);
        for keep in [0, 10, archive.len() / 2, archive.len() - 20] {
            let err = check(&archive[..keep]).expect_err("a truncated archive is refused");
            assert!(matches!(err, ArchiveError::Unreadable { .. } | ArchiveError::NoManifest { .. }), "{keep}: {err}");
        }
    }

    #[test]
    fn a_changed_entry_is_named() {
        // Rewritten with the same manifest but another content: the checksum names it.
        let good = write(&[(DATABASE, b"one".to_vec())]);
        let manifest = check(&good).unwrap();
        let mut w = ArchiveWriter::new(Vec::new()).unwrap();
        w.add(DATABASE, 3, b"two".as_slice()).unwrap();
        let forged = w.finish(&manifest).unwrap();
        let err = check(&forged).unwrap_err();
        assert!(
            matches!(&err, ArchiveError::Manifest(ManifestError::Damaged { path, .. }) if path == DATABASE),
            "{err}"
        );
    }

    #[test]
    fn a_short_reader_is_an_error_not_padding() {
        let mut w = ArchiveWriter::new(Vec::new()).unwrap();
        let err = w.add(DATABASE, 10, b"short".as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
