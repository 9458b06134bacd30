//! The `wasm-host` command line.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use wasm_host::host::{HostConfig, serve};
use wasm_host::search_index::MeiliConfig;

const USAGE: &str = "usage: wasm-host [options]
       wasm-host migrate --database-url URL   apply the migrations to URL and exit (for
                                            deployments that do not run this host, e.g. edge)
       wasm-host reindex --database-url URL --meilisearch-url URL [--meilisearch-key KEY]
                                            rebuild the Meilisearch index from PostgreSQL
                                            (safe while hosts serve)
       wasm-host mailer --database-url URL [--smtp-url URL] [--mail-from ADDRESS] [--smtp-ca FILE]
                                            send the account mail queued in the database
                                            (for deployments whose requests this host does
                                            not serve, e.g. edge)
       wasm-host files --dir PATH [--listen ADDR]
                                            the embedded S3-compatible file store alone (for a
                                            Worker in development); its key is
                                            OCOMMS_FILES_ACCESS_KEY / OCOMMS_FILES_SECRET_KEY

  --listen ADDR          address to serve on (default 127.0.0.1:8080; env OCOMMS_LISTEN)
  --manifest PATH        the Spin manifest (default spin.toml)
  --data-dir PATH        secrets, cache and the managed PostgreSQL (default .ocomms)
  --cache-dir PATH       compiled components (default DATA_DIR/cache; may be shared by hosts
                         running the same build)
  --database-url URL     use this PostgreSQL instead of a managed one (env OCOMMS_DATABASE_URL)
  --database-pool-mode MODE
                         session (default: PostgreSQL itself, or a session pooler) or
                         transaction (PgBouncer with pool_mode = transaction: statements go
                         unnamed; env OCOMMS_DATABASE_POOL_MODE)
  --database-direct-url URL
                         PostgreSQL itself when --database-url is a transaction pooler, for
                         LISTEN/NOTIFY (env OCOMMS_DATABASE_DIRECT_URL); without it the mail,
                         app-delivery and search queues are polled every 2 s
  --web-dir PATH         serve the web client from PATH (default: the copy embedded at build time)
  --request-timeout SECS deadline for one component request (default 10)
  --away-after SECS      idle time before a connected user shows as away (default 300)
  --meilisearch-url URL  index messages into this Meilisearch (env OCOMMS_MEILISEARCH_URL)
  --meilisearch-key KEY  its API key (env OCOMMS_MEILISEARCH_KEY)
  --smtp-url URL         send account mail through this server (env OCOMMS_SMTP_URL):
                         smtp://user:pass@host:587?tls=required (STARTTLS), smtps://host:465
                         (TLS), smtp://host:25 (plain); without one, mail is logged and kept
                         on the install admins' outbox page
  --mail-from ADDRESS    the sender, e.g. \"OComms <chat@example.com>\" (env OCOMMS_MAIL_FROM)
  --smtp-ca FILE         also trust this PEM certificate authority for the mail server's TLS
                         (env OCOMMS_SMTP_CA)
  --header-timeout SECS  time to send a request head, also how long an idle keep-alive
                         connection stays open (default 20)
  --max-connections-per-address N
                         TCP connections at once per client address, WebSockets included
                         (default 1024; 0: no cap; not applied behind a trusted proxy)
  --max-sockets-per-address N
                         WebSockets at once per client address (default 600; 0: no cap)
  --max-sockets-per-user N
                         WebSockets at once per user (default 20; 0: no cap)
  --metrics-token TOKEN  /metrics wants `Authorization: Bearer TOKEN` (env OCOMMS_METRICS_TOKEN)
  --metrics-listen ADDR  serve /metrics on ADDR instead of --listen (env OCOMMS_METRICS_LISTEN)
                         With neither, /metrics answers loopback clients only.

Cluster (several hosts behind a load balancer, one PostgreSQL; see docs/scale.md):
  --relay-url URL        the Valkey/Redis relay between hosts, redis://[:password@]host:port
                         (env OCOMMS_RELAY_URL); every host of the cluster names the same one
                         and the same --database-url
  --relay-channel NAME   its pub/sub channel (default ocomms:relay; env OCOMMS_RELAY_CHANNEL)
  --presence-ttl SECS    how long the users of a host that stopped answering still show
                         present elsewhere (default 15; heartbeats every third of it; env
                         OCOMMS_PRESENCE_TTL; the same on every host)

Application variables come from SPIN_VARIABLE_<NAME> (e.g. SPIN_VARIABLE_PUBLIC_URL).";

fn parse_args() -> Result<HostConfig> {
    let mut cfg = HostConfig::defaults();
    if let Ok(v) = std::env::var("OCOMMS_LISTEN") {
        cfg.listen = v.parse().context("OCOMMS_LISTEN")?;
    }
    cfg.database_url = std::env::var("OCOMMS_DATABASE_URL").ok().filter(|s| !s.is_empty());
    let env = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
    if let Some(mode) = env("OCOMMS_DATABASE_POOL_MODE") {
        cfg.pool_mode = mode.parse().context("OCOMMS_DATABASE_POOL_MODE")?;
    }
    cfg.database_direct_url = env("OCOMMS_DATABASE_DIRECT_URL");
    let mut meili_url = env("OCOMMS_MEILISEARCH_URL");
    let mut meili_key = env("OCOMMS_MEILISEARCH_KEY");
    cfg.mail.smtp_url = env("OCOMMS_SMTP_URL");
    cfg.mail.from = env("OCOMMS_MAIL_FROM");
    if let Some(path) = env("OCOMMS_SMTP_CA") {
        cfg.mail.ca_pem = Some(std::fs::read(&path).with_context(|| format!("read {path}"))?);
    }
    cfg.metrics_token = env("OCOMMS_METRICS_TOKEN");
    if let Some(v) = env("OCOMMS_METRICS_LISTEN") {
        cfg.metrics_listen = Some(v.parse().context("OCOMMS_METRICS_LISTEN")?);
    }
    let mut relay_url = env("OCOMMS_RELAY_URL");
    let mut relay_channel = env("OCOMMS_RELAY_CHANNEL");
    let mut presence_ttl =
        env("OCOMMS_PRESENCE_TTL").map(|v| v.parse::<f64>()).transpose().context("OCOMMS_PRESENCE_TTL")?;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--relay-url" => relay_url = Some(value("--relay-url")?),
            "--relay-channel" => relay_channel = Some(value("--relay-channel")?),
            "--presence-ttl" => presence_ttl = Some(value("--presence-ttl")?.parse().context("--presence-ttl")?),
            "--listen" => cfg.listen = value("--listen")?.parse().context("--listen")?,
            "--manifest" => cfg.manifest = value("--manifest")?.into(),
            "--data-dir" => cfg.data_dir = value("--data-dir")?.into(),
            "--cache-dir" => cfg.cache_dir = Some(value("--cache-dir")?.into()),
            "--database-url" => cfg.database_url = Some(value("--database-url")?),
            "--database-pool-mode" => {
                cfg.pool_mode = value("--database-pool-mode")?.parse().context("--database-pool-mode")?;
            }
            "--database-direct-url" => cfg.database_direct_url = Some(value("--database-direct-url")?),
            "--web-dir" => cfg.web_dir = Some(value("--web-dir")?.into()),
            "--request-timeout" => {
                let secs: f64 = value("--request-timeout")?.parse().context("--request-timeout")?;
                cfg.request_timeout = Duration::from_secs_f64(secs);
            }
            "--away-after" => {
                let secs: f64 = value("--away-after")?.parse().context("--away-after")?;
                cfg.away_after = Duration::from_secs_f64(secs);
            }
            "--header-timeout" => {
                let secs: f64 = value("--header-timeout")?.parse().context("--header-timeout")?;
                cfg.header_timeout = Duration::try_from_secs_f64(secs).context("--header-timeout")?;
            }
            "--max-connections-per-address" => {
                cfg.max_connections_per_address = cap(&value("--max-connections-per-address")?)?;
            }
            "--max-sockets-per-address" => cfg.max_sockets_per_address = cap(&value("--max-sockets-per-address")?)?,
            "--max-sockets-per-user" => cfg.max_sockets_per_user = cap(&value("--max-sockets-per-user")?)?,
            "--metrics-token" => cfg.metrics_token = Some(value("--metrics-token")?),
            "--metrics-listen" => {
                cfg.metrics_listen = Some(value("--metrics-listen")?.parse().context("--metrics-listen")?)
            }
            "--meilisearch-url" => meili_url = Some(value("--meilisearch-url")?),
            "--meilisearch-key" => meili_key = Some(value("--meilisearch-key")?),
            "--smtp-url" => cfg.mail.smtp_url = Some(value("--smtp-url")?),
            "--mail-from" => cfg.mail.from = Some(value("--mail-from")?),
            "--smtp-ca" => {
                let path = value("--smtp-ca")?;
                cfg.mail.ca_pem = Some(std::fs::read(&path).with_context(|| format!("read {path}"))?);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    if cfg.pool_mode == wasm_host::db::PoolMode::Transaction && cfg.database_url.is_none() {
        bail!("--database-pool-mode transaction needs --database-url (the managed PostgreSQL has no pooler)");
    }
    cfg.relay = match relay_url {
        Some(url) => {
            let mut relay = wasm_host::relay::RelayConfig::new(url);
            if let Some(channel) = relay_channel {
                relay.channel = channel;
            }
            if let Some(secs) = presence_ttl {
                let ttl = Duration::try_from_secs_f64(secs).context("--presence-ttl")?;
                if ttl < Duration::from_secs(1) {
                    bail!("--presence-ttl must be at least 1 second");
                }
                relay.presence_ttl = ttl;
                relay.heartbeat = ttl / 3;
            }
            Some(relay)
        }
        None if relay_channel.is_some() || presence_ttl.is_some() => {
            bail!("--relay-channel and --presence-ttl need --relay-url")
        }
        None => None,
    };
    cfg.meilisearch = match (meili_url, meili_key) {
        (Some(url), key) => Some(MeiliConfig { url, key }),
        (None, Some(_)) => bail!("--meilisearch-key needs --meilisearch-url"),
        (None, None) => None,
    };
    Ok(cfg)
}

/// `wasm-host mailer`: the mail sender on its own, for a database other runtimes serve.
async fn mailer() -> Result<()> {
    let env = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
    let mut db = env("OCOMMS_DATABASE_URL");
    let mut mail = wasm_host::mailer::MailConfig {
        smtp_url: env("OCOMMS_SMTP_URL"),
        from: env("OCOMMS_MAIL_FROM"),
        ca_pem: env("OCOMMS_SMTP_CA").map(std::fs::read).transpose().context("read OCOMMS_SMTP_CA")?,
    };
    let mut args = std::env::args().skip(2);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--database-url" => db = Some(value("--database-url")?),
            "--smtp-url" => mail.smtp_url = Some(value("--smtp-url")?),
            "--mail-from" => mail.from = Some(value("--mail-from")?),
            "--smtp-ca" => {
                let path = value("--smtp-ca")?;
                mail.ca_pem = Some(std::fs::read(&path).with_context(|| format!("read {path}"))?);
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let db = db.with_context(|| format!("mailer needs --database-url URL\n\n{USAGE}"))?;
    let database = wasm_host::db::Database::open(Some(&db), std::path::Path::new("."), 2, Default::default()).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let task = wasm_host::mailer::spawn(database.sql(), Some(database.url.clone()), &mail, stop_rx)?;
    println!("ocomms mailer running");
    shutdown_signal().await;
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    Ok(())
}

/// A cap from the command line: a count, or 0 for none.
fn cap(v: &str) -> Result<usize> {
    let n: usize = v.parse().with_context(|| format!("{v:?} is not a count"))?;
    Ok(if n == 0 { usize::MAX } else { n })
}

/// `wasm-host files`: the embedded file store on its own.
async fn files() -> Result<()> {
    let mut dir = None;
    let mut listen: std::net::SocketAddr = "127.0.0.1:9000".parse()?;
    let mut args = std::env::args().skip(2);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--dir" => dir = Some(std::path::PathBuf::from(value("--dir")?)),
            "--listen" => listen = value("--listen")?.parse().context("--listen")?,
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let env =
        |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()).with_context(|| format!("{name} is not set"));
    let access = wasm_host::blobstore::StoreAccess {
        access_key: env("OCOMMS_FILES_ACCESS_KEY")?,
        secret_key: env("OCOMMS_FILES_SECRET_KEY")?,
    };
    let dir = dir.context("--dir is required")?;
    wasm_host::blobstore::serve_alone(&dir, listen, &access, shutdown_signal()).await
}

/// `wasm-host reindex`: the whole Meilisearch index rebuilt from PostgreSQL beside the live
/// one, then swapped in, with a progress bar and a summary.
async fn reindex() -> Result<()> {
    let env = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
    let (mut db, mut url, mut key) =
        (env("OCOMMS_DATABASE_URL"), env("OCOMMS_MEILISEARCH_URL"), env("OCOMMS_MEILISEARCH_KEY"));
    let mut args = std::env::args().skip(2);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--database-url" => db = Some(value("--database-url")?),
            "--meilisearch-url" => url = Some(value("--meilisearch-url")?),
            "--meilisearch-key" => key = Some(value("--meilisearch-key")?),
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    let db = db.with_context(|| format!("reindex needs --database-url URL\n\n{USAGE}"))?;
    let url = url.with_context(|| format!("reindex needs --meilisearch-url URL\n\n{USAGE}"))?;
    let started = std::time::Instant::now();
    let database = wasm_host::db::Database::open(Some(&db), std::path::Path::new("."), 2, Default::default()).await?;
    let indexer = wasm_host::search_index::Indexer::new(database.pool.clone(), &MeiliConfig { url, key })?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} messages ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let sent = indexer
        .reindex(|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
    bar.finish_and_clear();
    database.close().await;
    let sent = sent?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "reindexed {sent} messages in {secs:.1} s ({:.0} messages/s); changes made meanwhile follow from the queue",
        sent as f64 / secs.max(0.001)
    );
    Ok(())
}

/// `wasm-host migrate --database-url URL`: the edge Worker never migrates (Hyperdrive pools
/// transactions; a migration wants one session and its advisory lock), so deployments run
/// this once per release, from a machine that reaches the database.
async fn migrate() -> Result<()> {
    let mut args = std::env::args().skip(2);
    let url = match (args.next().as_deref(), args.next()) {
        (Some("--database-url"), Some(url)) => url,
        _ => std::env::var("OCOMMS_DATABASE_URL")
            .ok()
            .filter(|s| !s.is_empty())
            .with_context(|| format!("migrate needs --database-url URL (or OCOMMS_DATABASE_URL)\n\n{USAGE}"))?,
    };
    let db = wasm_host::db::Database::open(Some(&url), std::path::Path::new("."), 1, Default::default()).await?;
    db.close().await;
    println!("migrations applied");
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

#[tokio::main]
async fn main() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OCOMMS_LOG").unwrap_or_else(|_| "info".into());
    if std::env::var("OCOMMS_LOG_FORMAT").is_ok_and(|v| v == "json") {
        tracing_subscriber::fmt().with_env_filter(filter).json().init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let result = if std::env::args().nth(1).as_deref() == Some("migrate") {
        migrate().await
    } else if std::env::args().nth(1).as_deref() == Some("reindex") {
        reindex().await
    } else if std::env::args().nth(1).as_deref() == Some("mailer") {
        mailer().await
    } else if std::env::args().nth(1).as_deref() == Some("files") {
        files().await
    } else {
        match parse_args() {
            Ok(cfg) => serve(cfg, shutdown_signal()).await,
            Err(e) => Err(e),
        }
    };
    if let Err(e) = result {
        eprintln!("wasm-host: {e:#}");
        std::process::exit(1);
    }
}
