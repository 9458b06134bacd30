//! `ocomms backup` and `ocomms restore`: one archive holding a live install's database, the
//! embedded store's files its rows reference, and (only when asked) its secrets.
//!
//! # Consistency of a live backup
//! The database is dumped from one exported snapshot (`pg_export_snapshot`, then
//! `pg_dump --snapshot`), and the file objects to copy are listed in that same snapshot, so
//! the archive holds the database as of one instant and the files its rows name. Objects
//! are never rewritten (keys are new ids), so an object copied later has the bytes it had
//! at the snapshot. The one race is a purge: a file deleted after the snapshot may have its
//! object removed before it is copied. Such an object is recorded in the manifest
//! ([`manifest::MissingReason::DeletedAfterSnapshot`]) and reported; the restored rows show
//! the file as they were at the snapshot, without its bytes, as the source by then has
//! none either. Objects of files already deleted at the snapshot, and abandoned uploads,
//! are garbage and are not copied.
//!
//! # Layout
//! - [`manifest`]: the archive's manifest, checksum verification, which paths may be
//!   restored (pure);
//! - [`archive`]: tar + zstd with per-entry SHA-256, over any `Read`/`Write`;
//! - [`store`]: where the embedded file store keeps an object (pure);
//! - [`pg`]: the pg_dump / pg_restore adapter;
//! - this module: the two commands' orchestration.

pub mod archive;
pub mod manifest;
pub mod pg;
pub mod store;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::db::CommandDb;
use anyhow::{Context as _, Result, bail};
use tokio_postgres::{Client, NoTls};

use self::archive::ArchiveWriter;
use self::manifest::{
    DATABASE, FILES_DIR, FORMAT, FilesPart, Manifest, MissingObject, MissingReason, SECRET_FILES, SECRETS_DIR,
};
use self::pg::PgTools;

/// What `ocomms backup` is asked.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    pub output: PathBuf,
    pub data_dir: PathBuf,
    /// The install's database when it is not the managed one.
    pub database_url: Option<String>,
    pub include_secrets: bool,
    /// The S3 service files go to when the install uses one (`SPIN_VARIABLE_S3_ENDPOINT`, as
    /// the host decides): its objects are not archived.
    pub s3_endpoint: Option<String>,
}

impl BackupOptions {
    /// The options with the S3 endpoint the host would use, from the environment.
    pub fn new(output: PathBuf, data_dir: PathBuf, database_url: Option<String>, include_secrets: bool) -> Self {
        let s3_endpoint = crate::manifest::env_variable("s3_endpoint").filter(|e| !e.is_empty());
        Self { output, data_dir, database_url, include_secrets, s3_endpoint }
    }
}

/// What `ocomms restore` is asked.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub input: PathBuf,
    /// Must be empty or absent: the restored install lives here.
    pub data_dir: PathBuf,
    /// An empty database to restore into instead of a new managed cluster in `data_dir`.
    pub database_url: Option<String>,
}

/// The install's database for the length of a command: connected, and stopped afterwards
/// if the command started it.
struct Db {
    client: Client,
    url: String,
    opened: CommandDb,
}

impl Db {
    async fn close(self) {
        drop(self.client);
        if let Err(e) = self.opened.close().await {
            eprintln!("warning: {e:#}");
        }
    }
}

async fn connect(url: &str) -> Result<Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "backup connection closed");
        }
    });
    Ok(client)
}

/// The install's database: `--database-url`, or the managed cluster, which is started for
/// the command when it is not running (the host is stopped) and stopped again after.
async fn open_source(data_dir: &Path, database_url: Option<&str>) -> Result<Db> {
    let opened = CommandDb::open(database_url, data_dir).await?;
    let client = connect(&opened.url).await.context("connect to the install's PostgreSQL")?;
    Ok(Db { client, url: opened.url.clone(), opened })
}

/// `"name"` for SQL.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// One object the snapshot's rows reference; `required` when the rows say it was stored
/// (a pending upload's may not be there yet).
struct ObjectRef {
    key: String,
    required: bool,
}

/// The objects live rows reference, for the tables this database has (an older schema may
/// lack avatars).
async fn referenced_objects(client: &Client) -> Result<Vec<ObjectRef>> {
    let has = |table: &'static str| async move {
        let row = client.query_one("SELECT to_regclass($1) IS NOT NULL", &[&format!("public.{table}")]).await?;
        Ok::<bool, tokio_postgres::Error>(row.get(0))
    };
    let mut parts = Vec::new();
    if has("files").await? {
        parts.push("SELECT storage_key, state <> 'pending' FROM files WHERE state <> 'deleted'");
        parts.push("SELECT thumb_key, true FROM files WHERE state <> 'deleted' AND thumb_key IS NOT NULL");
    }
    if has("avatars").await? {
        parts.push("SELECT thumb_key, true FROM avatars WHERE state = 'ready' AND thumb_key IS NOT NULL");
        parts.push("SELECT upload_key, false FROM avatars WHERE state = 'pending'");
    }
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT k, bool_or(r) FROM ({}) AS o(k, r) GROUP BY k ORDER BY k", parts.join(" UNION ALL "));
    let rows = client.query(&sql, &[]).await.context("list the files the database references")?;
    Ok(rows.iter().map(|r| ObjectRef { key: r.get(0), required: r.get(1) }).collect())
}

/// Of `keys` missing from the store, those no live row references any more: deleted (and
/// purged) after the snapshot. Asked outside the snapshot, after the copy.
async fn deleted_since(client: &Client, keys: &[String]) -> Result<Vec<String>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let has_avatars: bool = client.query_one("SELECT to_regclass('public.avatars') IS NOT NULL", &[]).await?.get(0);
    let avatars = if has_avatars {
        "OR EXISTS (SELECT 1 FROM avatars a WHERE a.state = 'ready' AND a.thumb_key = k)
         OR EXISTS (SELECT 1 FROM avatars a WHERE a.state = 'pending' AND a.upload_key = k)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT k FROM unnest($1::text[]) AS k WHERE NOT (
             EXISTS (SELECT 1 FROM files f WHERE f.state <> 'deleted' AND (f.storage_key = k OR f.thumb_key = k))
             {avatars})"
    );
    let rows = client.query(&sql, &[&keys]).await.context("check the missing files")?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// What a backup wrote.
#[derive(Debug)]
pub struct BackupSummary {
    pub manifest: Manifest,
    pub archive_bytes: u64,
    pub dump_bytes: u64,
    pub took: Duration,
}

/// Where a command writes a file before renaming it into place.
fn partial_path(target: &Path, what: &str) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "backup".into());
    target.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Removes the temporary files of a backup that did not finish.
struct Cleanup(Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A spinner for work of unknown length (on a terminal only: indicatif draws nothing
/// elsewhere); `{bytes}` in `template` shows its position.
fn spinner(msg: &str, template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template(template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(msg.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn bar(len: u64, template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Writes the archive of the install `opts` names, live: see the module's documentation
/// for what it holds and why it is consistent. Prints what it does and a summary.
pub async fn backup(opts: &BackupOptions) -> Result<BackupSummary> {
    let started = Instant::now();
    let tools = PgTools::find()?;
    if let Some(dir) = opts.output.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        bail!("the directory {} for --output does not exist", dir.display());
    }
    let db = open_source(&opts.data_dir, opts.database_url.as_deref()).await?;
    let res = backup_from(&db, &tools, opts, started).await;
    db.close().await;
    let summary = res?;
    print_backup_summary(opts, &summary);
    Ok(summary)
}

async fn backup_from(db: &Db, tools: &PgTools, opts: &BackupOptions, started: Instant) -> Result<BackupSummary> {
    let dump_path = partial_path(&opts.output, "dump");
    let archive_path = partial_path(&opts.output, "partial");
    let mut cleanup = Cleanup(vec![dump_path.clone(), archive_path.clone()]);
    let client = &db.client;

    // One snapshot for the dump and for the list of objects; held until both are done.
    client.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY").await?;
    let snapshot: String = client.query_one("SELECT pg_export_snapshot()", &[]).await?.get(0);
    let created_at: String = client
        .query_one(r#"SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#, &[])
        .await?
        .get(0);
    let migrations: Vec<i32> = client
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .await
        .context("read the applied migrations (is this an OComms database?)")?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let table_names: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut tables = BTreeMap::new();
    for t in table_names {
        let n: i64 = client.query_one(&format!("SELECT count(*) FROM public.{}", quote_ident(&t)), &[]).await?.get(0);
        tables.insert(t, n.unsigned_abs());
    }
    let objects = match &opts.s3_endpoint {
        Some(_) => Vec::new(),
        None => referenced_objects(client).await?,
    };

    let spin = spinner("dumping the database", "{spinner} {msg}: {bytes} ({elapsed})");
    let dumping = tools.dump(&db.url, &snapshot, &dump_path);
    let dump_res = {
        let mut dumping = std::pin::pin!(dumping);
        loop {
            tokio::select! {
                res = &mut dumping => break res,
                () = tokio::time::sleep(Duration::from_millis(200)) => {
                    spin.set_position(std::fs::metadata(&dump_path).map(|m| m.len()).unwrap_or(0));
                }
            }
        }
    };
    spin.finish_and_clear();
    // The snapshot has served: the dump has its data, and the object list is taken.
    client.batch_execute("COMMIT").await?;
    dump_res.context("dump the database")?;

    let out = File::create(&archive_path).with_context(|| format!("create {}", archive_path.display()))?;
    let mut writer = ArchiveWriter::new(BufWriter::new(out))?;
    let dump_file = File::open(&dump_path)?;
    let dump_bytes = dump_file.metadata()?.len();
    let spin = spinner("archiving the dump", "{spinner} {msg}: {bytes} ({elapsed})");
    writer.add(DATABASE, dump_bytes, spin.wrap_read(dump_file)).with_context(|| format!("archive {DATABASE}"))?;
    spin.finish_and_clear();
    let _ = std::fs::remove_file(&dump_path);

    // The objects, with their sidecars, as the store lays them out.
    let files_root = opts.data_dir.join("files");
    let mut missing = Vec::new();
    let (mut copied, mut bytes) = (0u64, 0u64);
    let progress = bar(objects.len() as u64, "{bar:40} {pos}/{len} files ({bytes_per_sec}, {eta} left)");
    for obj in &objects {
        progress.inc(1);
        if !store::key_is_plain(&obj.key) {
            eprintln!("warning: skipping the object key {:?}: not a plain path", obj.key);
            continue;
        }
        let [object, sidecars @ ..] = store::object_paths(&obj.key);
        // Opened before anything else: a purge that unlinks it now does not cut the copy.
        let file = match File::open(files_root.join(&object)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if obj.required {
                    missing.push(obj.key.clone());
                }
                continue;
            }
            Err(e) => return Err(e).with_context(|| format!("read {}", files_root.join(&object).display())),
        };
        let size = file.metadata()?.len();
        writer.add(&format!("{FILES_DIR}{object}"), size, file).with_context(|| format!("archive {object}"))?;
        copied += 1;
        bytes += size;
        for sidecar in sidecars {
            match File::open(files_root.join(&sidecar)) {
                Ok(f) => {
                    let size = f.metadata()?.len();
                    writer.add(&format!("{FILES_DIR}{sidecar}"), size, f)?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("read {}", files_root.join(&sidecar).display())),
            }
        }
    }
    progress.finish_and_clear();
    let gone = deleted_since(client, &missing).await?;
    let missing_objects = missing
        .into_iter()
        .map(|key| {
            let reason =
                if gone.contains(&key) { MissingReason::DeletedAfterSnapshot } else { MissingReason::NotInStore };
            MissingObject { key, reason }
        })
        .collect();

    if opts.include_secrets {
        for name in SECRET_FILES {
            match File::open(opts.data_dir.join(name)) {
                Ok(f) => {
                    let size = f.metadata()?.len();
                    writer.add(&format!("{SECRETS_DIR}{name}"), size, f)?;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("read {}", opts.data_dir.join(name).display())),
            }
        }
    }

    let files = match &opts.s3_endpoint {
        Some(endpoint) => FilesPart::External { endpoint: endpoint.clone() },
        None => FilesPart::Embedded { objects: copied, bytes },
    };
    let manifest = Manifest {
        format: FORMAT,
        product_version: env!("CARGO_PKG_VERSION").to_owned(),
        created_at,
        migrations,
        tables,
        files,
        secrets_included: writer.entries().iter().any(|e| e.path.starts_with(SECRETS_DIR)),
        missing_objects,
        entries: writer.entries().to_vec(),
    };
    let out = writer.finish(&manifest)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    let archive_bytes = file.metadata()?.len();
    drop(file);
    std::fs::rename(&archive_path, &opts.output)
        .with_context(|| format!("move the archive to {}", opts.output.display()))?;
    cleanup.0.clear();
    Ok(BackupSummary { manifest, archive_bytes, dump_bytes, took: started.elapsed() })
}

fn print_backup_summary(opts: &BackupOptions, s: &BackupSummary) {
    let m = &s.manifest;
    let rows: u64 = m.tables.values().sum();
    println!(
        "database: {rows} rows in {} tables as of {} ({} migrations, dump {} bytes)",
        m.tables.len(),
        m.created_at,
        m.migrations.len(),
        s.dump_bytes
    );
    match &m.files {
        FilesPart::Embedded { objects, bytes } => println!("files: {objects} files, {bytes} bytes"),
        FilesPart::External { endpoint } => println!(
            "files: NOT IN THIS ARCHIVE: they are in the S3 service at {endpoint}; back that bucket up on its own"
        ),
    }
    for miss in &m.missing_objects {
        match miss.reason {
            MissingReason::DeletedAfterSnapshot => {
                println!("note: {} was deleted after the snapshot; its bytes are not in the archive", miss.key)
            }
            MissingReason::NotInStore => eprintln!(
                "warning: {} is referenced by the database but missing from the file store (it was lost before this backup)",
                miss.key
            ),
        }
    }
    if m.secrets_included {
        println!(
            "SECRETS INCLUDED: this archive holds the install's signing keys; whoever holds it can sign in as any user. \
             Store it encrypted and access-controlled."
        );
    } else if opts.include_secrets {
        println!("secrets: none found in the data directory (they come from the environment); none archived");
    } else {
        println!(
            "secrets: not included: a host restored from this archive generates new ones, so access tokens and \
             signed links issued before stop working (sessions continue through their refresh tokens); \
             --include-secrets keeps them"
        );
    }
    println!("wrote {} ({} bytes) in {:.1} s", opts.output.display(), s.archive_bytes, s.took.as_secs_f64());
}

/// What a restore did.
#[derive(Debug)]
pub struct RestoreSummary {
    pub manifest: Manifest,
    pub took: Duration,
}

/// Whether `dir` is absent or an empty directory.
fn is_empty_dir(dir: &Path) -> Result<bool> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Ok(false),
        Err(e) => Err(e).with_context(|| format!("read {}", dir.display())),
    }
}

/// Reads the archive once, checking every entry against the manifest, without writing
/// anything.
async fn verify_archive(input: &Path) -> Result<Manifest> {
    let input = input.to_owned();
    tokio::task::spawn_blocking(move || {
        let file = File::open(&input).with_context(|| format!("open {}", input.display()))?;
        let len = file.metadata()?.len();
        let progress = bar(len, "{bar:40} verifying {bytes}/{total_bytes} ({eta} left)");
        let res =
            archive::verify(archive::scan(io::BufReader::new(progress.wrap_read(file)), |_| Ok(Box::new(io::sink()))));
        progress.finish_and_clear();
        Ok(res?)
    })
    .await?
}

/// Restores the archive into the empty data directory `opts` names; see the module's
/// documentation. Everything is checked before anything is written; a failure later
/// removes what the restore wrote.
pub async fn restore(opts: &RestoreOptions) -> Result<RestoreSummary> {
    let started = Instant::now();
    if !is_empty_dir(&opts.data_dir)? {
        bail!(
            "{} is not empty: restore into a new, empty data directory (nothing was changed)",
            opts.data_dir.display()
        );
    }
    let tools = PgTools::find()?;
    let manifest = verify_archive(&opts.input).await?;
    let known: Vec<i32> = ocomms_migrate::MIGRATIONS.iter().map(|m| m.version).collect();
    manifest.check_migrations(&known)?;
    println!(
        "verified {} entries of {} (written by ocomms {} at {})",
        manifest.entries.len() + 1,
        opts.input.display(),
        manifest.product_version,
        manifest.created_at
    );
    if let Some(url) = &opts.database_url {
        let client = connect(url).await.context("connect to --database-url")?;
        let objects: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
                   AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'",
                &[],
            )
            .await?
            .get(0);
        if objects > 0 {
            bail!(
                "the database at --database-url is not empty ({objects} tables, indexes or sequences): \
                 restore into a new, empty database (nothing was changed)"
            );
        }
    }

    let created_dir = !opts.data_dir.exists();
    let res = restore_into(opts, &tools, &manifest).await;
    if let Err(e) = res {
        // Leave the directory as it was found: absent, or empty.
        if created_dir {
            let _ = std::fs::remove_dir_all(&opts.data_dir);
        } else if let Ok(entries) = std::fs::read_dir(&opts.data_dir) {
            for entry in entries.flatten() {
                let p = entry.path();
                let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            }
        }
        return Err(e.context("the restore failed; what it wrote was removed"));
    }
    let summary = RestoreSummary { manifest, took: started.elapsed() };
    print_restore_summary(opts, &summary);
    Ok(summary)
}

async fn restore_into(opts: &RestoreOptions, tools: &PgTools, manifest: &Manifest) -> Result<()> {
    let dir = &opts.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let dump_path = dir.join(".restore-database.dump");
    let _cleanup = Cleanup(vec![dump_path.clone()]);
    extract(&opts.input, dir, &dump_path, manifest).await?;

    let (url, cluster) = match &opts.database_url {
        Some(url) => (url.clone(), None),
        None => {
            // The cluster the host would make: in <dir>/pg, with pg-password and pg-port.
            let cluster = crate::db::start_managed(dir).await?;
            (cluster.url("ocomms"), Some(cluster))
        }
    };
    let res = async {
        let spin = spinner("restoring the database", "{spinner} {msg} ({elapsed})");
        let res = tools.restore(&url, &dump_path).await;
        spin.finish_and_clear();
        res.context("restore the database")?;
        check_counts(&url, manifest).await
    }
    .await;
    if let Some(cluster) = cluster {
        cluster.stop().await.context("stop the managed PostgreSQL")?;
    }
    res
}

/// Second pass: writes each entry where it belongs, checking it again against the
/// manifest (the file could have changed since the first pass).
async fn extract(input: &Path, dir: &Path, dump_path: &Path, manifest: &Manifest) -> Result<()> {
    let (input, dir, dump_path, manifest) = (input.to_owned(), dir.to_owned(), dump_path.to_owned(), manifest.clone());
    tokio::task::spawn_blocking(move || {
        let file = File::open(&input).with_context(|| format!("open {}", input.display()))?;
        let progress = bar(file.metadata()?.len(), "{bar:40} restoring {bytes}/{total_bytes} ({eta} left)");
        let res = archive::scan(io::BufReader::new(progress.wrap_read(file)), |path| {
            let target = if path == DATABASE {
                dump_path.clone()
            } else if let Some(name) = path.strip_prefix(SECRETS_DIR) {
                dir.join(name)
            } else if let Some(rel) = path.strip_prefix(FILES_DIR) {
                dir.join("files").join(rel)
            } else {
                return Err(io::Error::other(format!("no place for {path}")));
            };
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            if path.starts_with(SECRETS_DIR) {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            Ok(Box::new(BufWriter::new(options.open(&target)?)) as Box<dyn io::Write>)
        });
        progress.finish_and_clear();
        let scan = res.map_err(|(_, e)| e)?;
        manifest.verify(&scan.entries)?;
        // The store creates its bucket directory at start; an archive without files has none.
        std::fs::create_dir_all(dir.join("files").join(crate::blobstore::BUCKET))?;
        Ok(())
    })
    .await?
}

/// The restored database has the rows the manifest counted, table by table.
async fn check_counts(url: &str, manifest: &Manifest) -> Result<()> {
    let client = connect(url).await.context("connect to the restored database")?;
    for (table, want) in &manifest.tables {
        let n: i64 =
            client.query_one(&format!("SELECT count(*) FROM public.{}", quote_ident(table)), &[]).await?.get(0);
        if n.unsigned_abs() != *want {
            bail!("the restored table {table} has {n} rows where the archive counted {want}");
        }
    }
    Ok(())
}

fn print_restore_summary(opts: &RestoreOptions, s: &RestoreSummary) {
    let m = &s.manifest;
    let rows: u64 = m.tables.values().sum();
    match &opts.database_url {
        Some(_) => println!("database: {rows} rows in {} tables restored into --database-url", m.tables.len()),
        None => println!(
            "database: {rows} rows in {} tables restored into a new managed PostgreSQL in {}",
            m.tables.len(),
            opts.data_dir.join("pg").display()
        ),
    }
    match &m.files {
        FilesPart::Embedded { objects, bytes } => println!("files: {objects} files, {bytes} bytes"),
        FilesPart::External { endpoint } => println!(
            "files: NOT IN THIS ARCHIVE: the install kept them in the S3 service at {endpoint}; \
             restore that bucket from its own backup and start the host with the same S3 settings"
        ),
    }
    for miss in &m.missing_objects {
        eprintln!("warning: the file object {} was not in the archive ({:?})", miss.key, miss.reason);
    }
    if m.secrets_included {
        println!("secrets: restored: existing sign-ins and tokens stay valid");
    } else {
        println!(
            "secrets: the archive has none: the host generates new ones at its first start, so access tokens and \
             signed links issued before stop working; sessions continue once clients refresh them"
        );
    }
    println!(
        "restored {} into {} in {:.1} s; start the host with --data-dir {}",
        opts.input.display(),
        opts.data_dir.display(),
        s.took.as_secs_f64(),
        opts.data_dir.display()
    );
}
