//! `ocomms`: the server and every operator command, in one binary. Each flag also reads an
//! `OCOMMS_*` environment variable, so a service's environment file and a command line say
//! the same things (docs/operations.md).

use std::io::{IsTerminal as _, Read as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Parser, Subcommand};
use wasm_host::db::{CommandDb, PoolMode};
use wasm_host::host::{HostConfig, serve};
use wasm_host::search_index::MeiliConfig;

#[derive(Parser)]
#[command(
    name = "ocomms",
    version,
    about = "OComms team chat: the server and its operator commands",
    after_help = "With no command, `serve` runs. Application variables come from SPIN_VARIABLE_<NAME> \
                  (e.g. SPIN_VARIABLE_PUBLIC_URL). Logging: OCOMMS_LOG (a filter: info, warn, \
                  wasm_host=debug; default info for the server, warn for commands) and \
                  OCOMMS_LOG_FORMAT=json. See docs/operations.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve OComms: the API, the web client and live sockets (the default command)
    Serve(Box<ServeArgs>),
    /// Apply the database migrations and exit (the server also does this at start)
    Migrate(MigrateArgs),
    /// Rebuild the Meilisearch index from PostgreSQL (safe while servers run)
    Reindex(ReindexArgs),
    /// Send the account mail queued in the database (for deployments whose requests this
    /// binary does not serve, e.g. the edge)
    Mailer(MailerArgs),
    /// Run the embedded S3-compatible file store alone (for a Worker in development); its
    /// keys are OCOMMS_FILES_ACCESS_KEY and OCOMMS_FILES_SECRET_KEY
    Files(FilesArgs),
    /// Accounts and workspaces, without mail or a browser
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Write one archive of the install (database, files, optionally secrets), while it serves
    Backup(BackupArgs),
    /// Make a new install in an empty data directory from a backup archive
    Restore(RestoreArgs),
}

#[derive(Args)]
struct BackupArgs {
    #[command(flatten)]
    install: InstallArgs,
    /// The archive to write (written beside it first, then renamed into place)
    #[arg(long, env = "OCOMMS_BACKUP_OUTPUT", value_name = "FILE")]
    output: PathBuf,
    /// Also archive the generated secrets: whoever holds the archive can then sign in as
    /// any user
    #[arg(long, env = "OCOMMS_BACKUP_INCLUDE_SECRETS")]
    include_secrets: bool,
}

#[derive(Args)]
struct RestoreArgs {
    /// The data directory to make (absent or empty) and, without --database-url, its
    /// managed PostgreSQL
    #[command(flatten)]
    install: InstallArgs,
    /// The archive to restore (every entry is verified before anything is written)
    #[arg(long, env = "OCOMMS_RESTORE_INPUT", value_name = "FILE")]
    input: PathBuf,
}

/// Where an install keeps its data: the same two flags for every command.
#[derive(Args, Clone)]
struct InstallArgs {
    /// Secrets, the compiled-component cache, the embedded file store and the managed
    /// PostgreSQL
    #[arg(long, env = "OCOMMS_DATA_DIR", default_value = ".ocomms", value_name = "PATH")]
    data_dir: PathBuf,
    /// Use this PostgreSQL instead of the managed one in the data directory
    #[arg(long, env = "OCOMMS_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database_url: Option<String>,
}

/// Seconds, fractions allowed.
fn seconds(v: &str) -> Result<Duration, String> {
    let secs: f64 = v.parse().map_err(|_| format!("{v:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

/// A count, or 0 for no cap.
fn cap(v: &str) -> Result<usize, String> {
    let n: usize = v.parse().map_err(|_| format!("{v:?} is not a count"))?;
    Ok(if n == 0 { usize::MAX } else { n })
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    install: InstallArgs,
    /// Address to serve on
    #[arg(long, env = "OCOMMS_LISTEN", default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,
    /// The Spin manifest
    #[arg(long, env = "OCOMMS_MANIFEST", default_value = "spin.toml", value_name = "PATH")]
    manifest: PathBuf,
    /// Compiled components (default DATA_DIR/cache; hosts running the same build may share it)
    #[arg(long, env = "OCOMMS_CACHE_DIR", value_name = "PATH")]
    cache_dir: Option<PathBuf>,
    /// session (PostgreSQL itself, or a session pooler) or transaction (PgBouncer with
    /// pool_mode = transaction: statements go unnamed)
    #[arg(long, env = "OCOMMS_DATABASE_POOL_MODE", default_value = "session", value_name = "MODE")]
    database_pool_mode: PoolMode,
    /// PostgreSQL itself when --database-url is a transaction pooler, for LISTEN/NOTIFY;
    /// without it the mail, app-delivery and search queues are polled every 2 s
    #[arg(long, env = "OCOMMS_DATABASE_DIRECT_URL", value_name = "URL", hide_env_values = true)]
    database_direct_url: Option<String>,
    /// Serve the web client from PATH instead of the copy embedded at build time
    #[arg(long, env = "OCOMMS_WEB_DIR", value_name = "PATH")]
    web_dir: Option<PathBuf>,
    /// Deadline for one component request, in seconds
    #[arg(long, env = "OCOMMS_REQUEST_TIMEOUT", default_value = "10", value_parser = seconds, value_name = "SECS")]
    request_timeout: Duration,
    /// Idle time before a connected user shows as away, in seconds
    #[arg(long, env = "OCOMMS_AWAY_AFTER", default_value = "300", value_parser = seconds, value_name = "SECS")]
    away_after: Duration,
    /// Time to send a request head, also how long an idle keep-alive connection stays open
    #[arg(long, env = "OCOMMS_HEADER_TIMEOUT", default_value = "20", value_parser = seconds, value_name = "SECS")]
    header_timeout: Duration,
    /// TCP connections at once per client address, WebSockets included (0: no cap; not
    /// applied behind a trusted proxy)
    #[arg(long, env = "OCOMMS_MAX_CONNECTIONS_PER_ADDRESS", default_value = "1024", value_parser = cap, value_name = "N")]
    max_connections_per_address: usize,
    /// WebSockets at once per client address (0: no cap)
    #[arg(long, env = "OCOMMS_MAX_SOCKETS_PER_ADDRESS", default_value = "600", value_parser = cap, value_name = "N")]
    max_sockets_per_address: usize,
    /// WebSockets at once per user (0: no cap)
    #[arg(long, env = "OCOMMS_MAX_SOCKETS_PER_USER", default_value = "20", value_parser = cap, value_name = "N")]
    max_sockets_per_user: usize,
    /// /metrics wants `Authorization: Bearer TOKEN`; with neither this nor
    /// --metrics-listen, /metrics answers loopback clients only
    #[arg(long, env = "OCOMMS_METRICS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    metrics_token: Option<String>,
    /// Serve /metrics on ADDR instead of --listen
    #[arg(long, env = "OCOMMS_METRICS_LISTEN", value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    meili: MeiliArgs,
    #[command(flatten)]
    mail: MailArgs,
    #[command(flatten)]
    relay: RelayArgs,
}

#[derive(Args)]
struct MeiliArgs {
    /// Index messages into this Meilisearch and answer searches from it
    #[arg(long, env = "OCOMMS_MEILISEARCH_URL", value_name = "URL")]
    meilisearch_url: Option<String>,
    /// Its API key
    #[arg(
        long,
        env = "OCOMMS_MEILISEARCH_KEY",
        value_name = "KEY",
        requires = "meilisearch_url",
        hide_env_values = true
    )]
    meilisearch_key: Option<String>,
}

impl MeiliArgs {
    fn config(self) -> Option<MeiliConfig> {
        self.meilisearch_url.map(|url| MeiliConfig { url, key: self.meilisearch_key })
    }
}

#[derive(Args)]
struct MailArgs {
    /// Send account mail through this server: smtp://user:pass@host:587?tls=required
    /// (STARTTLS), smtps://host:465 (TLS), smtp://host:25 (plain); without one, mail is
    /// logged and kept on the install admins' outbox page
    #[arg(long, env = "OCOMMS_SMTP_URL", value_name = "URL", hide_env_values = true)]
    smtp_url: Option<String>,
    /// The sender, e.g. "OComms <chat@example.com>"
    #[arg(long, env = "OCOMMS_MAIL_FROM", value_name = "ADDRESS")]
    mail_from: Option<String>,
    /// Also trust this PEM certificate authority for the mail server's TLS
    #[arg(long, env = "OCOMMS_SMTP_CA", value_name = "FILE")]
    smtp_ca: Option<PathBuf>,
}

impl MailArgs {
    fn config(self) -> Result<wasm_host::mailer::MailConfig> {
        let ca_pem = match &self.smtp_ca {
            Some(path) => Some(std::fs::read(path).with_context(|| format!("read {}", path.display()))?),
            None => None,
        };
        Ok(wasm_host::mailer::MailConfig { smtp_url: self.smtp_url, from: self.mail_from, ca_pem })
    }
}

/// Several hosts behind a load balancer, one PostgreSQL (docs/scale.md).
#[derive(Args)]
#[command(next_help_heading = "Cluster")]
struct RelayArgs {
    /// The Valkey/Redis relay between hosts, redis://[:password@]host:port; every host of the
    /// cluster names the same one and the same --database-url
    #[arg(long, env = "OCOMMS_RELAY_URL", value_name = "URL", hide_env_values = true)]
    relay_url: Option<String>,
    /// Its pub/sub channel
    #[arg(long, env = "OCOMMS_RELAY_CHANNEL", value_name = "NAME", requires = "relay_url")]
    relay_channel: Option<String>,
    /// How long the users of a host that stopped answering still show present elsewhere, in
    /// seconds (default 15; heartbeats every third of it; the same on every host)
    #[arg(long, env = "OCOMMS_PRESENCE_TTL", value_parser = seconds, value_name = "SECS", requires = "relay_url")]
    presence_ttl: Option<Duration>,
}

impl RelayArgs {
    fn config(self) -> Result<Option<wasm_host::relay::RelayConfig>> {
        let Some(url) = self.relay_url else { return Ok(None) };
        let mut relay = wasm_host::relay::RelayConfig::new(url);
        if let Some(channel) = self.relay_channel {
            relay.channel = channel;
        }
        if let Some(ttl) = self.presence_ttl {
            if ttl < Duration::from_secs(1) {
                bail!("--presence-ttl must be at least 1 second");
            }
            relay.presence_ttl = ttl;
            relay.heartbeat = ttl / 3;
        }
        Ok(Some(relay))
    }
}

impl ServeArgs {
    fn config(self) -> Result<HostConfig> {
        let mut cfg = HostConfig::defaults();
        if self.database_pool_mode == PoolMode::Transaction && self.install.database_url.is_none() {
            bail!("--database-pool-mode transaction needs --database-url (the managed PostgreSQL has no pooler)");
        }
        cfg.listen = self.listen;
        cfg.manifest = self.manifest;
        cfg.data_dir = self.install.data_dir;
        cfg.cache_dir = self.cache_dir;
        cfg.database_url = self.install.database_url;
        cfg.pool_mode = self.database_pool_mode;
        cfg.database_direct_url = self.database_direct_url;
        cfg.web_dir = self.web_dir;
        cfg.request_timeout = self.request_timeout;
        cfg.away_after = self.away_after;
        cfg.header_timeout = self.header_timeout;
        cfg.max_connections_per_address = self.max_connections_per_address;
        cfg.max_sockets_per_address = self.max_sockets_per_address;
        cfg.max_sockets_per_user = self.max_sockets_per_user;
        cfg.metrics_token = self.metrics_token;
        cfg.metrics_listen = self.metrics_listen;
        cfg.meilisearch = self.meili.config();
        cfg.mail = self.mail.config()?;
        cfg.relay = self.relay.config()?;
        Ok(cfg)
    }
}

#[derive(Args)]
struct MigrateArgs {
    #[command(flatten)]
    install: InstallArgs,
    /// Show what would be applied, and refuse as an upgrade would, changing nothing
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
struct ReindexArgs {
    #[command(flatten)]
    install: InstallArgs,
    #[command(flatten)]
    meili: RequiredMeili,
}

#[derive(Args)]
struct RequiredMeili {
    /// The Meilisearch to fill
    #[arg(long, env = "OCOMMS_MEILISEARCH_URL", value_name = "URL")]
    meilisearch_url: String,
    /// Its API key
    #[arg(long, env = "OCOMMS_MEILISEARCH_KEY", value_name = "KEY", hide_env_values = true)]
    meilisearch_key: Option<String>,
}

#[derive(Args)]
struct MailerArgs {
    #[arg(long, env = "OCOMMS_DATABASE_URL", value_name = "URL", hide_env_values = true)]
    database_url: String,
    #[command(flatten)]
    mail: MailArgs,
}

#[derive(Args)]
struct FilesArgs {
    /// Where the objects are kept
    #[arg(long, value_name = "PATH")]
    dir: PathBuf,
    /// Address to serve on
    #[arg(long, default_value = "127.0.0.1:9000", value_name = "ADDR")]
    listen: SocketAddr,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a verified account; with --workspace, also a workspace it owns (the first
    /// owner of a new install)
    CreateUser {
        #[command(flatten)]
        install: InstallArgs,
        /// The account's address
        #[arg(long)]
        email: String,
        /// The display name
        #[arg(long)]
        name: String,
        /// Create this workspace with the new account as its owner
        #[arg(long, value_name = "NAME")]
        workspace: Option<String>,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Set a new password and end every session of the account
    ResetPassword {
        #[command(flatten)]
        install: InstallArgs,
        #[arg(long)]
        email: String,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Make a member an admin or an owner of a workspace
    Promote {
        #[command(flatten)]
        install: InstallArgs,
        #[arg(long)]
        email: String,
        /// The workspace's id or exact name
        #[arg(long)]
        workspace: String,
        #[arg(long, default_value = "admin", value_parser = ["admin", "owner"])]
        role: String,
    },
    /// Turn an account off in every workspace and end its sessions (its messages stay)
    Deactivate {
        #[command(flatten)]
        install: InstallArgs,
        #[arg(long)]
        email: String,
    },
    /// Turn a deactivated account back on
    Reactivate {
        #[command(flatten)]
        install: InstallArgs,
        #[arg(long)]
        email: String,
    },
    /// List the workspaces with their owners and sizes
    ListWorkspaces {
        #[command(flatten)]
        install: InstallArgs,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// List the accounts (people; bots are listed in their workspaces)
    ListUsers {
        #[command(flatten)]
        install: InstallArgs,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
}

/// A password never goes on a command line, where other users of the machine see it.
#[derive(Args)]
struct PasswordArgs {
    /// Read the password from the first line of standard input; without it, one is
    /// generated and printed once
    #[arg(long)]
    password_stdin: bool,
}

impl PasswordArgs {
    /// The password, and whether we made it up (then it is printed).
    fn get(&self) -> Result<(String, bool)> {
        if self.password_stdin {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).context("read the password from standard input")?;
            let line = text.lines().next().unwrap_or("").to_owned();
            if line.is_empty() {
                bail!("--password-stdin: standard input held no password");
            }
            Ok((line, false))
        } else {
            Ok((wasm_host::admin::generate_password()?, true))
        }
    }
}

async fn admin(cmd: AdminCommand) -> Result<()> {
    let install = match &cmd {
        AdminCommand::CreateUser { install, .. }
        | AdminCommand::ResetPassword { install, .. }
        | AdminCommand::Promote { install, .. }
        | AdminCommand::Deactivate { install, .. }
        | AdminCommand::Reactivate { install, .. }
        | AdminCommand::ListWorkspaces { install, .. }
        | AdminCommand::ListUsers { install, .. } => install.clone(),
    };
    let db = CommandDb::open(install.database_url.as_deref(), &install.data_dir).await?;
    let result = admin_on(&db, cmd).await;
    db.close().await?;
    result
}

async fn admin_on(db: &CommandDb, cmd: AdminCommand) -> Result<()> {
    use wasm_host::admin;
    drop(db.client_at_current_schema().await?);
    let sql = db.sql()?;
    match cmd {
        AdminCommand::CreateUser { email, name, workspace, password, .. } => {
            let (pw, generated) = password.get()?;
            let created = admin::create_user(&sql, &email, &name, &pw, workspace.as_deref()).await?;
            println!("created {email} (user {})", created.user);
            if let Some((id, name)) = created.workspace {
                println!("created workspace {name:?} ({id}), owned by {email}");
            }
            if generated {
                println!("password: {pw}\n(shown once: pass it on privately; they can change it in the web client)");
            }
        }
        AdminCommand::ResetPassword { email, password, .. } => {
            let (pw, generated) = password.get()?;
            admin::reset_password(&sql, &email, &pw).await?;
            println!("password of {email} reset; their sessions have ended");
            if generated {
                println!("password: {pw}\n(shown once)");
            }
        }
        AdminCommand::Promote { email, workspace, role, .. } => {
            let ws = admin::promote(&sql, &email, &workspace, &role).await?;
            println!("{email} is now {role} of {ws}");
        }
        AdminCommand::Deactivate { email, .. } => {
            if admin::set_deactivated(&sql, &email, true).await? {
                println!("{email} deactivated; their sessions have ended");
            } else {
                println!("{email} was already deactivated");
            }
        }
        AdminCommand::Reactivate { email, .. } => {
            if admin::set_deactivated(&sql, &email, false).await? {
                println!("{email} reactivated: they can sign in again");
            } else {
                println!("{email} was active already");
            }
        }
        AdminCommand::ListWorkspaces { json, .. } => {
            let list = admin::list_workspaces(&sql).await?;
            if json {
                for w in &list {
                    println!("{}", serde_json::to_string(w)?);
                }
            } else {
                println!(
                    "{:<36}  {:<24}  {:>7}  {:>8}  {:>8}  {:<16}  owners",
                    "id", "name", "members", "channels", "messages", "created (UTC)"
                );
                for w in &list {
                    println!(
                        "{:<36}  {:<24}  {:>7}  {:>8}  {:>8}  {:<16}  {}",
                        w.id,
                        w.name,
                        w.members,
                        w.channels,
                        w.messages,
                        w.created_at,
                        w.owners.join(", ")
                    );
                }
                println!("{} workspace(s)", list.len());
            }
        }
        AdminCommand::ListUsers { json, .. } => {
            let list = admin::list_users(&sql).await?;
            if json {
                for u in &list {
                    println!("{}", serde_json::to_string(u)?);
                }
            } else {
                println!(
                    "{:<36}  {:<32}  {:<24}  {:<8}  {:<11}  workspaces",
                    "id", "email", "name", "verified", "state"
                );
                for u in &list {
                    let state = if u.active { "active" } else { "deactivated" };
                    println!(
                        "{:<36}  {:<32}  {:<24}  {:<8}  {:<11}  {}",
                        u.id, u.email, u.name, u.verified, state, u.workspaces
                    );
                }
                println!("{} account(s)", list.len());
            }
        }
    }
    sql.pool.close();
    Ok(())
}

/// `ocomms migrate`: the edge Worker never migrates (Hyperdrive pools transactions; a
/// migration wants one session and its lock), so those deployments run this once per
/// release; on one machine it previews or applies an upgrade before the service restarts.
async fn migrate(args: MigrateArgs) -> Result<()> {
    let db = CommandDb::open(args.install.database_url.as_deref(), &args.install.data_dir).await?;
    let result = async {
        let mut client = db.client().await?;
        let plan = ocomms_migrate::plan(&client).await?;
        let last = plan.applied.last().map_or_else(|| "none".to_owned(), i32::to_string);
        if plan.pending.is_empty() {
            println!("the database is current: {} migrations applied (last {last})", plan.applied.len());
            return Ok(());
        }
        println!("the database has {} migrations (last {last}); {} to apply:", plan.applied.len(), plan.pending.len());
        for m in &plan.pending {
            println!("  {:04} {}", m.version, m.name);
        }
        if args.dry_run {
            println!("dry run: nothing applied");
            return Ok(());
        }
        let applied = ocomms_migrate::run(&mut client).await?;
        println!("applied {} migrations", applied.len());
        Ok(())
    }
    .await;
    db.close().await?;
    result
}

/// `ocomms mailer`: the mail sender on its own, for a database other runtimes serve.
async fn mailer(args: MailerArgs) -> Result<()> {
    let mail = args.mail.config()?;
    let database =
        wasm_host::db::Database::open(Some(&args.database_url), std::path::Path::new("."), 2, Default::default())
            .await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task =
        wasm_host::mailer::spawn(database.sql(), Some(database.url.clone()), &mail, Default::default(), stop_rx)?;
    println!("ocomms mailer running");
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    Ok(())
}

/// `ocomms files`: the embedded file store on its own.
async fn files(args: FilesArgs) -> Result<()> {
    let env =
        |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()).with_context(|| format!("{name} is not set"));
    let access = wasm_host::blobstore::StoreAccess {
        access_key: env("OCOMMS_FILES_ACCESS_KEY")?,
        secret_key: env("OCOMMS_FILES_SECRET_KEY")?,
    };
    wasm_host::blobstore::serve_alone(&args.dir, args.listen, &access, shutdown_signal()).await
}

/// A bar on a terminal; nothing when the output is a log.
fn progress_bar(template: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(template).unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// `ocomms reindex`: the whole Meilisearch index rebuilt from PostgreSQL beside the live
/// one, then swapped in, with a progress bar and a summary.
async fn reindex(args: ReindexArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let db = CommandDb::open(args.install.database_url.as_deref(), &args.install.data_dir).await?;
    let result = reindex_on(&db, args.meili, started).await;
    db.close().await?;
    result
}

async fn reindex_on(db: &CommandDb, meili: RequiredMeili, started: std::time::Instant) -> Result<()> {
    drop(db.client_at_current_schema().await?);
    let sql = db.sql()?;
    let meili = MeiliConfig { url: meili.meilisearch_url, key: meili.meilisearch_key };
    let indexer = wasm_host::search_index::Indexer::new(sql.pool.clone(), &meili)?;
    let bar = progress_bar("{bar:40} {pos}/{len} messages ({per_sec}, {eta} left)");
    let sent = indexer
        .reindex(|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
    bar.finish_and_clear();
    sql.pool.close();
    let sent = sent?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "reindexed {sent} messages in {secs:.1} s ({:.0} messages/s); changes made meanwhile follow from the queue",
        sent as f64 / secs.max(0.001)
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return;
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
}

/// The command line with `serve` put in when no command is named (`ocomms --listen …`).
fn with_default_command(mut args: Vec<String>) -> Vec<String> {
    let names_command =
        args.get(1).is_some_and(|a| !a.starts_with('-') || matches!(a.as_str(), "-h" | "--help" | "-V" | "--version"));
    if !names_command {
        args.insert(1, "serve".to_owned());
    }
    args
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args.config()?, shutdown_signal()).await,
        Command::Migrate(args) => migrate(args).await,
        Command::Reindex(args) => reindex(args).await,
        Command::Mailer(args) => mailer(args).await,
        Command::Files(args) => files(args).await,
        Command::Admin(cmd) => admin(cmd).await,
        Command::Backup(args) => wasm_host::backup::backup(&wasm_host::backup::BackupOptions::new(
            args.output,
            args.install.data_dir,
            args.install.database_url,
            args.include_secrets,
        ))
        .await
        .map(drop),
        Command::Restore(args) => wasm_host::backup::restore(&wasm_host::backup::RestoreOptions {
            input: args.input,
            data_dir: args.install.data_dir,
            database_url: args.install.database_url,
        })
        .await
        .map(drop),
    }
}

fn main() {
    library_backtraces_off_unless_asked();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("ocomms: start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    runtime.block_on(async_main());
}

/// `RUST_BACKTRACE=1` turns on backtraces in panics and also in every library error that
/// captures one: wasmtime builds such an error whenever a request's store is dropped, so
/// with it set every request walked its stack (profiled: 15 % of the throughput of a
/// request that does no work). Panics keep their backtraces; `RUST_LIB_BACKTRACE=1` still
/// asks for the others.
#[allow(unsafe_code, reason = "set_var before any other thread exists")]
fn library_backtraces_off_unless_asked() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: called first thing in `main`, before the runtime or anything else starts a
        // thread, so nothing reads the environment concurrently.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
}

async fn async_main() {
    let cli = Cli::parse_from(with_default_command(std::env::args().collect()));
    let filter = tracing_subscriber::EnvFilter::try_from_env("OCOMMS_LOG").unwrap_or_else(|_| {
        // Operator commands print what they did; the server logs.
        if matches!(cli.command, Command::Serve(_) | Command::Mailer(_) | Command::Files(_)) { "info" } else { "warn" }
            .into()
    });
    if std::env::var("OCOMMS_LOG_FORMAT").is_ok_and(|v| v == "json") {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    if let Err(e) = run(cli).await {
        eprintln!("ocomms: {e:#}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_is_the_default_command() {
        assert_eq!(with_default_command(args("ocomms")), args("ocomms serve"));
        assert_eq!(with_default_command(args("ocomms --listen 0.0.0.0:1")), args("ocomms serve --listen 0.0.0.0:1"));
        assert_eq!(with_default_command(args("ocomms admin list-users")), args("ocomms admin list-users"));
        assert_eq!(with_default_command(args("ocomms --help")), args("ocomms --help"));
    }

    #[test]
    fn caps_and_seconds_parse() {
        assert_eq!(cap("0"), Ok(usize::MAX));
        assert_eq!(cap("12"), Ok(12));
        assert!(cap("-1").is_err());
        assert_eq!(seconds("1.5"), Ok(Duration::from_millis(1500)));
        assert!(seconds("soon").is_err());
        assert!(seconds("-3").is_err());
    }

    #[test]
    fn flags_reach_the_host_config() {
        let cli = Cli::try_parse_from(args(
            "ocomms serve --listen 127.0.0.1:9 --data-dir /d --max-sockets-per-user 0 --away-after 2.5 \
             --relay-url redis://r:6379 --presence-ttl 3 --database-url postgres://x --database-pool-mode transaction",
        ))
        .unwrap();
        let Command::Serve(serve) = cli.command else { panic!("not serve") };
        let cfg = serve.config().unwrap();
        assert_eq!(cfg.listen.port(), 9);
        assert_eq!(cfg.data_dir, PathBuf::from("/d"));
        assert_eq!(cfg.max_sockets_per_user, usize::MAX);
        assert_eq!(cfg.away_after, Duration::from_millis(2500));
        let relay = cfg.relay.unwrap();
        assert_eq!(relay.heartbeat, Duration::from_secs(1));
        assert_eq!(cfg.pool_mode, PoolMode::Transaction);
    }

    #[test]
    fn bad_combinations_are_refused() {
        assert!(Cli::try_parse_from(args("ocomms serve --presence-ttl 3")).is_err(), "needs --relay-url");
        assert!(Cli::try_parse_from(args("ocomms serve --meilisearch-key k")).is_err(), "needs the URL");
        let cli = Cli::try_parse_from(args("ocomms serve --database-pool-mode transaction")).unwrap();
        let Command::Serve(serve) = cli.command else { panic!("not serve") };
        assert!(serve.config().is_err(), "the managed PostgreSQL has no pooler");
        assert!(Cli::try_parse_from(args("ocomms admin promote --email a@b.c --workspace w --role guest")).is_err());
    }
}
