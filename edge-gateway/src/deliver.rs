//! Requests to apps at the edge, and when the delivery queue runs there.
//!
//! [`FetchOutbound`] is the `Outbound` port over the Worker's `fetch`, cut off at the
//! deadline and read up to the size limit. Cloudflare's `fetch` reaches only the public
//! internet, so the component's own checks (address literals, `localhost`) are the only
//! address checks needed here; in local development they and `OUTBOUND_ALLOW` apply alone.
//!
//! A Worker has no background task, so the queue runs (see [`rounds`]) after every request
//! that may have queued something, once the answer is sent (`waitUntil`), for as long as
//! retries fall due within a few seconds; and every minute from the Cron Trigger
//! (`[triggers] crons` in wrangler.toml), for the retries after longer waits.

use futures::StreamExt as _;
use ocomms_api::ports::{OutError, OutMethod, OutReply, OutRequest, Outbound};
use ocomms_api::{Api, Method};
use ocomms_core::outbound::{MAX_RESPONSE_BYTES, TIMEOUT_MS};
use worker::{AbortController, Delay, Fetch, Headers, Request, RequestInit};

pub struct FetchOutbound;

impl Outbound for FetchOutbound {
    async fn send(&self, req: &OutRequest<'_>) -> Result<OutReply, OutError> {
        let controller = AbortController::default();
        let signal = controller.signal();
        let send = send_one(req, &signal);
        let timer = Delay::from(std::time::Duration::from_millis(TIMEOUT_MS));
        futures::pin_mut!(send);
        match futures::future::select(send, timer).await {
            futures::future::Either::Left((result, _)) => result,
            futures::future::Either::Right(((), _)) => {
                controller.abort();
                Err(OutError::Timeout)
            }
        }
    }
}

async fn send_one(req: &OutRequest<'_>, signal: &worker::AbortSignal) -> Result<OutReply, OutError> {
    let failed = |e: worker::Error| OutError::Failed(e.to_string());
    let headers = Headers::new();
    for (k, v) in &req.headers {
        headers.set(k, v).map_err(failed)?;
    }
    let mut init = RequestInit::new();
    match req.method {
        OutMethod::Get => init.with_method(worker::Method::Get).with_headers(headers),
        OutMethod::Post => init
            .with_method(worker::Method::Post)
            .with_headers(headers)
            .with_body(Some(worker::js_sys::Uint8Array::from(req.body).into())),
    };
    let request = Request::new_with_init(req.url, &init).map_err(failed)?;
    let mut resp = Fetch::Request(request).send_with_signal(signal).await.map_err(failed)?;
    let headers = resp.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    let status = resp.status_code();
    let mut body = Vec::new();
    if let Ok(mut stream) = resp.stream() {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(failed)?;
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(OutError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
    }
    Ok(OutReply { status, headers, body })
}

/// Whether a request may have queued deliveries (a change that succeeded).
pub fn may_have_queued(method: Method, status: u16) -> bool {
    method != Method::Get && (200..300).contains(&status)
}

/// How long rounds follow one another after a request: retries due sooner are sent from
/// here, later ones by the Cron Trigger. Within what `waitUntil` allows after an answer.
const FOLLOW_FOR_MS: i64 = 20_000;

/// Runs rounds while deliveries are due, and while a retry falls due within the follow-up
/// time.
pub async fn rounds<P: ocomms_api::ports::Ports>(api: &Api<P>) {
    let started = js_sys_now();
    loop {
        let round = match ocomms_api::deliver::run_round(api).await {
            Ok(r) => r,
            Err(e) => {
                worker::console_error!("delivery round: {}", ocomms_api::error::chain(&e));
                return;
            }
        };
        let wait = match round.next_in_ms {
            _ if round.sent > 0 => 0,
            Some(ms) => ms,
            None => return,
        };
        if js_sys_now() + wait - started > FOLLOW_FOR_MS {
            return;
        }
        if wait > 0 {
            Delay::from(std::time::Duration::from_millis(wait as u64)).await;
        }
    }
}

fn js_sys_now() -> i64 {
    worker::js_sys::Date::now() as i64
}
