//! Sends the account mail the component queues in `email_outbox` (sign-up links, resets,
//! magic links). The component cannot speak SMTP (it has outgoing HTTP only), so the host
//! does: with a mail server configured, over SMTP (STARTTLS or TLS, with authentication, as
//! the URL says); without one (an air-gapped install), it writes each mail to its log and
//! leaves it on the install admins' outbox page.
//!
//! The outbox's leases let several hosts send at once without sending a mail twice; a host
//! that dies mid-send leaves its lease to expire and the mail is sent again (at least once).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};
use ocomms_api::repo::email::{self as outbox, Claimed, Outcome};
use tokio::sync::{Notify, watch};

use crate::db::PgSql;
use crate::metrics::Metrics;

/// How the host sends mail.
#[derive(Debug, Clone, Default)]
pub struct MailConfig {
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), `smtps://…:465` (TLS), or
    /// `smtp://host:25` (plain, for a relay on the same machine); `None` logs mail instead.
    pub smtp_url: Option<String>,
    /// The sender, e.g. `OComms <chat@example.com>`.
    pub from: Option<String>,
    /// A PEM certificate authority to trust besides the public ones: a relay inside a company
    /// network often has a certificate from the company's own.
    pub ca_pem: Option<Vec<u8>>,
}

/// The sender when none is configured.
const DEFAULT_FROM: &str = "OComms <ocomms@localhost>";
/// Longest wait between rounds when nothing is known to be due.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// Mails taken per round.
const BATCH: i64 = 20;
/// Longest an SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

enum Sender {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Log,
}

/// Checks the configuration (a bad URL or sender stops the start) and starts the sender.
pub fn spawn(
    sql: PgSql,
    listen_url: Option<String>,
    cfg: &MailConfig,
    metrics: Arc<Metrics>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let from: Mailbox = cfg.from.as_deref().unwrap_or(DEFAULT_FROM).parse().map_err(|e| {
        anyhow::anyhow!("the mail sender {:?} is not an address: {e}", cfg.from.as_deref().unwrap_or(DEFAULT_FROM))
    })?;
    let sender = match &cfg.smtp_url {
        Some(url) => Sender::Smtp(transport(url, cfg.ca_pem.as_deref())?),
        None => {
            tracing::info!("no mail server configured: account mail is logged and shown on the outbox page");
            Sender::Log
        }
    };
    let wake = Arc::new(Notify::new());
    tokio::spawn(crate::deliveries::listen(listen_url, outbox::NOTIFY_CHANNEL, wake.clone(), stop.clone()));
    Ok(tokio::spawn(run(sql, sender, from, wake, metrics, stop)))
}

/// The SMTP transport the URL describes, trusting `ca_pem` too when TLS is used.
fn transport(url: &str, ca_pem: Option<&[u8]>) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("the SMTP URL is not usable: {e}");
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| bad(&e))?;
    if let Some(pem) = ca_pem {
        let parsed = url::Url::parse(url).map_err(|e| bad(&e))?;
        let host = parsed.host_str().ok_or_else(|| bad(&"no host"))?.trim_matches(['[', ']']).to_string();
        let cert = Certificate::from_pem(pem).map_err(|e| anyhow::anyhow!("the mail CA certificate: {e}"))?;
        let params = TlsParameters::builder(host)
            .add_root_certificate(cert)
            .build_rustls()
            .map_err(|e| anyhow::anyhow!("TLS settings for the mail server: {e}"))?;
        let tls = parsed.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        builder = match (parsed.scheme(), tls.as_deref()) {
            ("smtps", _) => builder.tls(Tls::Wrapper(params)),
            ("smtp", Some("required")) => builder.tls(Tls::Required(params)),
            ("smtp", Some("opportunistic")) => builder.tls(Tls::Opportunistic(params)),
            _ => anyhow::bail!(
                "a mail CA certificate is given but the SMTP URL uses no TLS (smtps://, or ?tls=required)"
            ),
        };
    }
    Ok(builder.timeout(Some(SMTP_TIMEOUT)).build())
}

async fn run(
    sql: PgSql,
    sender: Sender,
    from: Mailbox,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut rounds = 0u64;
    loop {
        rounds += 1;
        metrics.mail_rounds.fetch_add(1, Ordering::Relaxed);
        if rounds % 100 == 1
            && let Err(e) = outbox::prune(&sql).await
        {
            tracing::warn!(error = %e, "pruning old mail failed");
        }
        let wait = match round(&sql, &sender, &from).await {
            Ok(n) if n as i64 == BATCH => Duration::ZERO,
            Ok(_) => match outbox::next_due_ms(&sql).await {
                Ok(Some(ms)) => Duration::from_millis(ms.max(0) as u64).min(IDLE_POLL),
                Ok(None) => IDLE_POLL,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the outbox failed");
                    IDLE_POLL
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "taking mail from the outbox failed; trying again shortly");
                Duration::from_secs(2)
            }
        };
        if *stop.borrow() {
            return;
        }
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Sends what is due; returns how many mails were taken.
async fn round(sql: &PgSql, sender: &Sender, from: &Mailbox) -> anyhow::Result<usize> {
    let claimed = outbox::claim(sql, BATCH).await?;
    for mail in &claimed {
        let outcome = send(sender, from, mail).await;
        let result = match &outcome {
            Ok(o) => outbox::finish(sql, mail, *o).await,
            Err(e) => {
                tracing::warn!(id = mail.id, to = %mail.mail.to, attempt = mail.attempts, error = %e, "mail not sent");
                outbox::finish(sql, mail, Outcome::Failed(e)).await
            }
        };
        if let Err(e) = result {
            tracing::warn!(id = mail.id, error = %e, "recording a mail's outcome failed; it will be tried again");
        }
    }
    Ok(claimed.len())
}

async fn send(sender: &Sender, from: &Mailbox, claimed: &Claimed) -> Result<Outcome<'static>, String> {
    let mail = &claimed.mail;
    match sender {
        Sender::Log => {
            tracing::info!(to = %mail.to, subject = %mail.subject, "mail (no mail server configured):\n{}", mail.text);
            Ok(Outcome::Logged)
        }
        Sender::Smtp(transport) => {
            let to: Mailbox = mail.to.parse().map_err(|e| format!("recipient {:?}: {e}", mail.to))?;
            let message = Message::builder()
                .from(from.clone())
                .to(to)
                .subject(&mail.subject)
                .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
                .map_err(|e| format!("build the message: {e}"))?;
            transport.send(message).await.map_err(|e| e.to_string())?;
            tracing::info!(to = %mail.to, subject = %mail.subject, "mail sent");
            Ok(Outcome::Sent)
        }
    }
}
