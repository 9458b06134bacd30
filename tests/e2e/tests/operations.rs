//! The operator's command line against real installs: `ocomms admin` on a running host's
//! managed PostgreSQL, and upgrades (`ocomms migrate --dry-run`, migrating on start, and
//! refusing a database newer than the binary).

use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;

use crate::common::{Host, HostOptions, PASSWORD, Target, host_binary, unique_temp_dir, workspace_root};

/// What one run of the binary printed.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Run {
    fn expect_ok(self, what: &str) -> Self {
        assert!(self.ok, "{what} failed:\n{}\n{}", self.stdout, self.stderr);
        self
    }
    fn expect_refused(self, what: &str, says: &str) -> Self {
        assert!(!self.ok, "{what} should fail:\n{}", self.stdout);
        assert!(self.stderr.contains(says), "{what}: expected {says:?} in\n{}", self.stderr);
        self
    }
    fn json_lines(&self) -> Vec<Value> {
        self.stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
    }
}

/// `ocomms ARGS` with `stdin`, in a clean environment (no OCOMMS_* from the test runner).
async fn ocomms(args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = tokio::process::Command::new(host_binary());
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("OCOMMS_") {
            cmd.env_remove(name);
        }
    }
    let mut child = cmd.spawn().expect("run ocomms");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.expect("write stdin");
    }
    drop(input);
    let out = child.wait_with_output().await.expect("wait for ocomms");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn admin(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut all = vec!["admin", args[0], "--data-dir", dir.to_str().unwrap()];
    all.extend_from_slice(&args[1..]);
    ocomms(&all, stdin).await
}

async fn login(host: &Host, email: &str, password: &str) -> crate::common::Reply {
    host.post("/api/v1/auth/login", None, json!({ "email": email, "password": password })).await
}

/// Every `admin` subcommand against a live install, each checked through the API it
/// changes, and each refusal leaving the database as it was.
#[tokio::test(flavor = "multi_thread")]
async fn admin_commands_manage_accounts_without_mail() {
    let host = Target::Host.start().await;
    let dir = host.data_dir.clone();

    // The first owner of a fresh install, password from standard input.
    let pw = "first owner's passphrase";
    let made = admin(
        &dir,
        &["create-user", "--email", "Owner@Example.com", "--name", "Olga", "--workspace", "Acme", "--password-stdin"],
        Some(&format!("{pw}\n")),
    )
    .await
    .expect_ok("create-user");
    assert!(made.stdout.contains("created workspace \"Acme\""), "{}", made.stdout);
    assert!(!made.stdout.contains(pw), "a given password is not echoed");
    let owner = login(&host, "owner@example.com", pw).await;
    owner.expect_status(200, "the new owner signs in (address normalised)");
    let owner_token = owner.str_at("/tokens/access_token");
    let spaces = host.workspaces(&owner_token).await;
    assert_eq!(spaces.len(), 1);
    assert_eq!(spaces[0]["name"], "Acme");
    let ws = spaces[0]["id"].as_str().unwrap().to_owned();
    let channels = host.channels(&owner_token, &ws).await;
    assert!(channels.iter().any(|c| c["name"] == "general"), "the workspace has #general: {channels:?}");

    // A generated password is printed once and works.
    let made = admin(&dir, &["create-user", "--email", "bob@example.com", "--name", "Bob"], None)
        .await
        .expect_ok("create-user without a password");
    let generated = made.stdout.lines().find_map(|l| l.strip_prefix("password: ")).expect("the password").to_owned();
    login(&host, "bob@example.com", &generated).await.expect_status(200, "bob with the generated password");

    // Refusals change nothing.
    let users_before = admin(&dir, &["list-users", "--json"], None).await.expect_ok("list-users").json_lines();
    admin(&dir, &["create-user", "--email", "bob@example.com", "--name", "Bob 2"], None)
        .await
        .expect_refused("a taken address", "exists already");
    admin(&dir, &["create-user", "--email", "not-an-address", "--name", "X"], None)
        .await
        .expect_refused("a bad address", "email");
    admin(&dir, &["create-user", "--email", "c@example.com", "--name", "C", "--password-stdin"], Some("short\n"))
        .await
        .expect_refused("a weak password", "password");
    admin(&dir, &["create-user", "--email", "d@example.com", "--name", "D", "--password-stdin"], Some(""))
        .await
        .expect_refused("no password on stdin", "no password");
    let users_after = admin(&dir, &["list-users", "--json"], None).await.expect_ok("list-users").json_lines();
    assert_eq!(users_before, users_after, "refused commands changed nothing");
    assert_eq!(users_after.len(), 2);
    let bob = users_after.iter().find(|u| u["email"] == "bob@example.com").unwrap();
    assert_eq!(
        (bob["verified"].as_bool(), bob["active"].as_bool(), bob["workspaces"].as_i64()),
        (Some(true), Some(true), Some(0))
    );

    // Promote: only members, only upwards.
    admin(&dir, &["promote", "--email", "bob@example.com", "--workspace", "Acme"], None)
        .await
        .expect_refused("not a member", "not a member");
    let bob_session = login(&host, "bob@example.com", &generated).await;
    let bob_token = bob_session.str_at("/tokens/access_token");
    let code = host.create_invite(&owner_token, &ws).await;
    host.accept_invite(&bob_token, &code).await.expect_status(200, "bob joins");
    admin(&dir, &["promote", "--email", "bob@example.com", "--workspace", &ws, "--role", "admin"], None)
        .await
        .expect_ok("promote by workspace id");
    let me = host.get(&format!("/api/v1/workspaces/{ws}"), Some(&bob_token)).await;
    me.expect_status(200, "workspace");
    assert_eq!(me.body["workspace"]["role"], "admin", "{:?}", me.body);
    admin(&dir, &["promote", "--email", "bob@example.com", "--workspace", "Acme", "--role", "admin"], None)
        .await
        .expect_refused("promote to the same role", "already admin");
    admin(&dir, &["promote", "--email", "bob@example.com", "--workspace", "Nope"], None)
        .await
        .expect_refused("an unknown workspace", "no workspace");
    admin(&dir, &["promote", "--email", "nobody@example.com", "--workspace", "Acme"], None)
        .await
        .expect_refused("an unknown account", "no account");

    let listed = admin(&dir, &["list-workspaces", "--json"], None).await.expect_ok("list-workspaces").json_lines();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "Acme");
    assert_eq!(listed[0]["owners"], json!(["owner@example.com"]));
    assert_eq!(listed[0]["members"], 2);
    let table = admin(&dir, &["list-workspaces"], None).await.expect_ok("list-workspaces as a table");
    assert!(table.stdout.contains("Acme") && table.stdout.contains("1 workspace(s)"), "{}", table.stdout);

    // A reset ends every session and the old password.
    let new_pw = "a new passphrase for bob";
    admin(&dir, &["reset-password", "--email", "bob@example.com", "--password-stdin"], Some(new_pw))
        .await
        .expect_ok("reset-password");
    host.get("/api/v1/me", Some(&bob_token)).await.expect_error(401, "unauthenticated", "the old session ended");
    let refreshed = host
        .post("/api/v1/auth/refresh", None, json!({ "refresh_token": bob_session.str_at("/tokens/refresh_token") }))
        .await;
    assert_eq!(refreshed.status, 401, "the old refresh token is dead: {refreshed:?}");
    login(&host, "bob@example.com", &generated).await.expect_status(401, "the old password");
    let bob_session = login(&host, "bob@example.com", new_pw).await;
    bob_session.expect_status(200, "the new password");
    let bob_token = bob_session.str_at("/tokens/access_token");

    // Deactivation ends access at once; reactivation lets the account sign in again.
    admin(&dir, &["deactivate", "--email", "bob@example.com"], None).await.expect_ok("deactivate");
    host.get("/api/v1/me", Some(&bob_token)).await.expect_error(401, "unauthenticated", "deactivated");
    login(&host, "bob@example.com", new_pw).await.expect_status(401, "a deactivated account cannot sign in");
    let again = admin(&dir, &["deactivate", "--email", "bob@example.com"], None).await.expect_ok("deactivate twice");
    assert!(again.stdout.contains("already"), "{}", again.stdout);
    let users = admin(&dir, &["list-users", "--json"], None).await.expect_ok("list-users").json_lines();
    assert_eq!(users.iter().find(|u| u["email"] == "bob@example.com").unwrap()["active"], false);
    admin(&dir, &["reactivate", "--email", "bob@example.com"], None).await.expect_ok("reactivate");
    login(&host, "bob@example.com", new_pw).await.expect_status(200, "reactivated");

    // Every subcommand says what it takes.
    for sub in ["create-user", "reset-password", "promote", "deactivate", "reactivate", "list-workspaces", "list-users"]
    {
        let help = ocomms(&["admin", sub, "--help"], None).await.expect_ok("help");
        assert!(
            help.stdout.contains("--data-dir") && help.stdout.contains("OCOMMS_DATA_DIR"),
            "{sub}: {}",
            help.stdout
        );
    }
    admin(Path::new("/nonexistent-ocomms-dir"), &["list-users"], None)
        .await
        .expect_refused("a data directory without an install", "no managed PostgreSQL");
}

/// The schema as the previous release left it (every migration but the newest), with the
/// rows such an install holds; the seeded user's password is [`PASSWORD`].
async fn previous_release_install(url: &str) -> (uuid::Uuid, uuid::Uuid) {
    let mut client = ocomms_testsupport::connect(url).await.unwrap();
    let all = ocomms_migrate::MIGRATIONS;
    ocomms_migrate::run_set(&mut client, &all[..all.len() - 1]).await.expect("the previous release's migrations");
    // Fixed ids: the database is new and empty.
    let (user, ws, channel) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2), uuid::Uuid::from_u128(3));
    let hash = ocomms_api::auth::password::hash(PASSWORD, [7; 16]).unwrap();
    client
        .execute(
            "INSERT INTO users (id, email, display_name, password_hash, email_verified_at)
             VALUES ($1, 'old@example.com', 'Old Timer', $2, now())",
            &[&user, &hash],
        )
        .await
        .unwrap();
    client
        .batch_execute(&format!(
            "INSERT INTO workspaces (id, name, created_by) VALUES ('{ws}', 'Legacy', '{user}');
             INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ('{ws}', '{user}', 'owner');
             INSERT INTO channels (id, workspace_id, name, kind, is_default, created_by, last_seq, last_ts_us)
               VALUES ('{channel}', '{ws}', 'general', 'public', true, '{user}', 2, 1700000000000002);
             INSERT INTO channel_members (channel_id, user_id) VALUES ('{channel}', '{user}');
             INSERT INTO messages (id, channel_id, seq, ts_us, author_id, text)
               VALUES (gen_random_uuid(), '{channel}', 1, 1700000000000001, '{user}', 'written before the upgrade'),
                      (gen_random_uuid(), '{channel}', 2, 1700000000000002, '{user}', 'and a second one');"
        ))
        .await
        .unwrap();
    (ws, channel)
}

/// A newer binary over an older install: the dry run names what would change and changes
/// nothing; the server migrates on start and serves the old rows; a database newer than the
/// binary is refused by both.
#[tokio::test(flavor = "multi_thread")]
async fn upgrade_from_the_previous_release_migrates_on_start() {
    let db = ocomms_testsupport::empty_db().await.unwrap();
    let (ws, channel) = previous_release_install(&db.url).await;
    let newest = ocomms_migrate::MIGRATIONS.last().unwrap();
    let count = |client: tokio_postgres::Client| async move {
        client.query_one("SELECT count(*) FROM schema_migrations", &[]).await.unwrap().get::<_, i64>(0)
    };
    let before = count(db.connect().await.unwrap()).await;

    let dry = ocomms(&["migrate", "--dry-run", "--database-url", &db.url], None).await.expect_ok("migrate --dry-run");
    assert!(dry.stdout.contains(&format!("{:04} {}", newest.version, newest.name)), "{}", dry.stdout);
    assert!(dry.stdout.contains("1 to apply") && dry.stdout.contains("nothing applied"), "{}", dry.stdout);
    assert_eq!(count(db.connect().await.unwrap()).await, before, "a dry run applies nothing");

    let host =
        Target::Host.start_with(HostOptions { database_url: Some(db.url.clone()), ..HostOptions::default() }).await;
    assert_eq!(count(db.connect().await.unwrap()).await, before + 1, "the server migrated on start");
    let old = host.login("old@example.com").await;
    let spaces = host.workspaces(&old.access).await;
    assert_eq!(spaces.iter().map(|w| w["id"].as_str().unwrap()).collect::<Vec<_>>(), [ws.to_string()]);
    let texts: Vec<_> =
        host.history(&old.access, &channel.to_string()).await.iter().map(|m| m["text"].clone()).collect();
    assert!(texts.contains(&json!("written before the upgrade")) && texts.contains(&json!("and a second one")));
    host.post_message(&old.access, &channel.to_string(), "after the upgrade").await;
    drop(host);

    let current = ocomms(&["migrate", "--database-url", &db.url], None).await.expect_ok("migrate when current");
    assert!(current.stdout.contains("the database is current"), "{}", current.stdout);

    // A database a newer release migrated: nothing starts on it.
    db.connect()
        .await
        .unwrap()
        .execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, 'from_a_newer_release', 'x')",
            &[&(newest.version + 1)],
        )
        .await
        .unwrap();
    ocomms(&["migrate", "--dry-run", "--database-url", &db.url], None)
        .await
        .expect_refused("a dry run on a newer database", "newer than this binary");
    let manifest = workspace_root().join("spin.toml");
    let data_dir = unique_temp_dir();
    let serve = ocomms(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &db.url,
            "--manifest",
            manifest.to_str().unwrap(),
            "--data-dir",
            data_dir.to_str().unwrap(),
        ],
        None,
    )
    .await
    .expect_refused("serving a newer database", "newer than this binary");
    assert!(!serve.stderr.contains("panicked"), "{}", serve.stderr);
}
