//! The migration runner against a real PostgreSQL.

use ocomms_migrate::{MIGRATIONS, MigrateError, Migration, plan_set, run, run_set};

#[tokio::test]
async fn applies_once_and_records_checksums() {
    let db = ocomms_testsupport::empty_db().await.unwrap();
    let mut c = db.connect().await.unwrap();
    let first = run(&mut c).await.unwrap();
    assert_eq!(first, MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>());
    assert!(run(&mut c).await.unwrap().is_empty(), "second run applies nothing");
    let n: i64 = c.query_one("SELECT count(*) FROM schema_migrations", &[]).await.unwrap().get(0);
    assert_eq!(n as usize, MIGRATIONS.len());
    c.execute("SELECT 1 FROM channels LIMIT 1", &[]).await.unwrap();
}

/// Three hosts starting at the same moment: every file is applied once, by one of them.
#[tokio::test]
async fn concurrent_runs_apply_each_file_once() {
    let db = ocomms_testsupport::empty_db().await.unwrap();
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(db.connect().await.unwrap());
    }
    let runs = futures::future::join_all(clients.iter_mut().map(run)).await;
    let mut applied: Vec<i32> = runs.into_iter().flat_map(|r| r.unwrap()).collect();
    applied.sort();
    assert_eq!(applied, MIGRATIONS.iter().map(|m| m.version).collect::<Vec<_>>(), "each once, in all");
}

#[tokio::test]
async fn refuses_a_changed_migration() {
    let db = ocomms_testsupport::empty_db().await.unwrap();
    let mut c = db.connect().await.unwrap();
    let v1 = [Migration { version: 1, name: "one", sql: "CREATE TABLE a (x int);" }];
    run_set(&mut c, &v1).await.unwrap();
    let changed = [Migration { version: 1, name: "one", sql: "CREATE TABLE a (x bigint);" }];
    let err = run_set(&mut c, &changed).await.unwrap_err();
    assert!(matches!(err, MigrateError::ChecksumMismatch { version: 1, .. }), "{err}");
    assert!(err.to_string().contains("checksum"));
}

#[tokio::test]
async fn a_failing_migration_changes_nothing() {
    let db = ocomms_testsupport::empty_db().await.unwrap();
    let mut c = db.connect().await.unwrap();
    let set = [
        Migration { version: 1, name: "ok", sql: "CREATE TABLE a (x int);" },
        Migration { version: 2, name: "bad", sql: "CREATE TABLE b (x int); SELECT nope FROM nowhere;" },
    ];
    let err = run_set(&mut c, &set).await.unwrap_err();
    assert!(matches!(err, MigrateError::Failed { version: 2, .. }), "{err}");
    let b: i64 = c.query_one("SELECT count(*) FROM pg_tables WHERE tablename = 'b'", &[]).await.unwrap().get(0);
    assert_eq!(b, 0, "the failed file's transaction rolled back");
    let recorded: i64 = c.query_one("SELECT count(*) FROM schema_migrations", &[]).await.unwrap().get(0);
    assert_eq!(recorded, 1);
}

#[tokio::test]
async fn refuses_a_database_newer_than_the_binary() {
    let db = ocomms_testsupport::empty_db().await.unwrap();
    let mut c = db.connect().await.unwrap();
    let two = [
        Migration { version: 1, name: "one", sql: "SELECT 1;" },
        Migration { version: 2, name: "two", sql: "SELECT 2;" },
    ];
    run_set(&mut c, &two).await.unwrap();
    let err = run_set(&mut c, &two[..1]).await.unwrap_err();
    assert!(matches!(err, MigrateError::Unknown { version: 2, .. }), "{err}");
}

/// A dry run names what an upgrade applies, changes nothing, and refuses what it refuses.
#[tokio::test]
async fn plan_shows_pending_files_without_applying_them() {
    let db = ocomms_testsupport::empty_db().await.unwrap();
    let mut c = db.connect().await.unwrap();
    let old = [Migration { version: 1, name: "one", sql: "CREATE TABLE a (x int);" }];
    let new = [old[0], Migration { version: 2, name: "two", sql: "CREATE TABLE b (x int);" }];
    let fresh = plan_set(&c, &new).await.unwrap();
    assert!(fresh.applied.is_empty());
    assert_eq!(fresh.pending.iter().map(|m| m.version).collect::<Vec<_>>(), [1, 2]);
    let tables: i64 =
        c.query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &[]).await.unwrap().get(0);
    assert_eq!(tables, 0, "planning creates nothing, not even the bookkeeping table");

    run_set(&mut c, &old).await.unwrap();
    let upgrade = plan_set(&c, &new).await.unwrap();
    assert_eq!(upgrade.applied, [1]);
    assert_eq!(upgrade.pending.iter().map(|m| m.name).collect::<Vec<_>>(), ["two"]);
    let b: i64 = c.query_one("SELECT count(*) FROM pg_tables WHERE tablename = 'b'", &[]).await.unwrap().get(0);
    assert_eq!(b, 0);

    run_set(&mut c, &new).await.unwrap();
    let err = plan_set(&c, &old).await.unwrap_err();
    assert!(matches!(err, MigrateError::Unknown { version: 2, .. }), "{err}");
}
