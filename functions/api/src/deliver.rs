//! Sending to apps: one signed POST ([`signed_post`]) and a round of the delivery queue
//! ([`run_round`]), which the runtime calls when PostgreSQL says there is work (LISTEN), when
//! a retry falls due, and after requests at the edge. Deliveries leave in order per app, at
//! least once: a row is leased, sent, and only then marked delivered.

use ocomms_core::ids::{ChannelId, MessageId};
use ocomms_core::outbound;
use ocomms_core::slack::{events, signing};
use serde_json::Value;

use crate::Api;
use crate::error::Result;
use crate::ports::{Env as _, OutError, OutMethod, OutReply, OutRequest, Outbound as _, Ports};
use crate::repo::app_delivery::{self as repo, Claimed, Outcome};
use crate::repo::messages::Posted;
use crate::routes::hooks::{self, Poster};

/// How long a sender holds a delivery: longer than a request may take, so a live sender is
/// never overtaken, short enough that one that died is replaced soon.
pub const LEASE_MS: i64 = 10_000;
/// Deliveries sent at once per round (each to a different app).
const ROUND: i64 = 16;
/// Idle rounds that also sweep old rows, out of 256.
const HOUSEKEEPING_ONE_IN_256: u8 = 16;
/// What we tell apps we are, besides Slack's headers.
const USER_AGENT: &str = "OComms (Slack-compatible)";

/// A retry's Slack headers: the how-manyth retry it is and why.
#[derive(Debug, Clone, Copy)]
pub struct Retry<'a> {
    pub num: u32,
    pub reason: &'a str,
}

/// Signs `body` with `secret` as Slack does and POSTs it to an app's `url`, unless the URL
/// points where apps may not.
pub async fn signed_post<P: Ports>(
    api: &Api<P>,
    out: &P::Outbound,
    url: &str,
    secret: &str,
    content_type: &str,
    body: &[u8],
    retry: Option<Retry<'_>>,
) -> std::result::Result<OutReply, OutError> {
    let target = outbound::parse_url(url).map_err(|e| OutError::Refused(e.to_string()))?;
    outbound::precheck(&target, &api.config.outbound_allow).map_err(|e| OutError::Refused(e.to_string()))?;
    let ts = api.env.now_ms().div_euclid(1000);
    let mut headers = vec![
        ("content-type".to_string(), content_type.to_string()),
        ("user-agent".to_string(), USER_AGENT.to_string()),
        (signing::TIMESTAMP_HEADER.to_string(), ts.to_string()),
        (signing::SIGNATURE_HEADER.to_string(), signing::signature(secret, ts, body)),
    ];
    if let Some(r) = retry {
        headers.push(("x-slack-retry-num".into(), r.num.to_string()));
        headers.push(("x-slack-retry-reason".into(), r.reason.to_string()));
    }
    out.send(&OutRequest { method: OutMethod::Post, url, headers, body, to_app: true }).await
}

/// What one round did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Round {
    pub sent: usize,
    /// Milliseconds until the next delivery falls due; `None` when none is pending.
    pub next_in_ms: Option<i64>,
}

/// Sends what is due (the head of each app's queue) and says when to come back.
pub async fn run_round<P: Ports>(api: &Api<P>) -> Result<Round> {
    let Some(out) = &api.outbound else {
        return Ok(Round::default());
    };
    let claimed = repo::claim(&api.sql, LEASE_MS, ROUND).await?;
    let sent = claimed.len();
    let results = futures::future::join_all(claimed.iter().map(|c| deliver(api, out, c))).await;
    for r in results {
        if let Err(e) = r {
            api.env.log_error(&format!("delivery: {}", crate::error::chain(&e)));
        }
    }
    // Housekeeping now and then when idle (rounds follow every change at the edge, so not
    // every time): the week-old delivery log, spent response URLs, refilled rate buckets.
    if sent == 0 && api.env.random_array::<1>()[0] < HOUSEKEEPING_ONE_IN_256 {
        repo::prune(&api.sql).await?;
        crate::repo::limits::sweep(&api.sql).await?;
    }
    Ok(Round { sent, next_in_ms: repo::next_due_in_ms(&api.sql).await? })
}

async fn deliver<P: Ports>(api: &Api<P>, out: &P::Outbound, c: &Claimed) -> Result<()> {
    let built = match c.kind.as_str() {
        "event" => {
            let to = events::Recipient { app_id: &c.app.to_string(), bot_user_id: &c.bot.to_string() };
            events::envelope(to, c.id, &c.payload).map(|v| ("application/json", v.to_string()))
        }
        _ => events::outgoing_webhook_form(&c.payload).map(|f| ("application/x-www-form-urlencoded", f)),
    };
    let (content_type, body) = match built {
        Ok(b) => b,
        Err(e) => {
            let outcome = Outcome::Failed { status: None, error: format!("bad_payload: {e}"), retry_in_ms: None };
            return Ok(repo::finish(&api.sql, c.id, &outcome).await?);
        }
    };
    let reason = c.last_error.as_deref().map(|e| e.split([':', ' ']).next().unwrap_or("unknown_error"));
    let retry = (c.attempts > 1).then(|| Retry { num: c.attempts - 1, reason: reason.unwrap_or("unknown_error") });
    let reply = signed_post(api, out, &c.url, &c.signing_secret, content_type, body.as_bytes(), retry).await;
    let retry_in_ms = api.config.retry.delay_after(c.attempts).map(|s| i64::from(s) * 1000);
    let outcome = match &reply {
        Ok(r) if (200..300).contains(&r.status) => Outcome::Delivered { status: r.status },
        Ok(r) => Outcome::Failed {
            status: Some(r.status),
            error: format!("http_error: the app answered {}", r.status),
            // An app that says so is not asked again (Slack's `X-Slack-No-Retry`).
            retry_in_ms: retry_in_ms.filter(|_| r.header("x-slack-no-retry") != Some("1")),
        },
        Err(e @ OutError::Refused(_)) => Outcome::Failed { status: None, error: e.to_string(), retry_in_ms: None },
        Err(e) => Outcome::Failed { status: None, error: e.to_string(), retry_in_ms },
    };
    repo::finish(&api.sql, c.id, &outcome).await?;
    if let (Ok(r), Outcome::Delivered { .. }, "outgoing_webhook") = (&reply, &outcome, c.kind.as_str()) {
        answer_outgoing_webhook(api, c, r).await?;
    }
    Ok(())
}

/// An outgoing webhook's app may answer with a message (`{"text": ...}`), which its bot
/// posts in the channel, as in Slack.
async fn answer_outgoing_webhook<P: Ports>(api: &Api<P>, c: &Claimed, reply: &OutReply) -> Result<()> {
    let Ok(Value::Object(payload)) = serde_json::from_slice::<Value>(&reply.body) else {
        return Ok(());
    };
    let Ok(post) = hooks::parse(&payload) else {
        return Ok(());
    };
    let Some(channel) = c.payload["channel"].as_str().and_then(|s| s.parse::<ChannelId>().ok()) else {
        return Ok(());
    };
    let poster = Poster { app: c.app, app_name: &c.app_name, bot: c.bot };
    let root: Option<MessageId> = None;
    if let Posted::New(event) = hooks::publish(api, &poster, channel, &post, root).await? {
        api.publish(&event).await;
    }
    Ok(())
}
