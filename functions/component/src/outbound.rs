//! The `Outbound` port: requests to apps over the component's outgoing `wasi:http`, marked
//! so that a runtime which resolves names (wasm-host) applies its address checks, cut off at
//! the deadline by a `wasi:clocks` timer, and read up to the size limit.

use ocomms_api::ports::{OutError, OutMethod, OutReply, OutRequest, Outbound};
use ocomms_core::outbound::{MARK_HEADER, MARK_VALUE, MAX_RESPONSE_BYTES, TIMEOUT_MS};

pub struct WasiOutbound;

impl Outbound for WasiOutbound {
    async fn send(&self, req: &OutRequest<'_>) -> Result<OutReply, OutError> {
        let send = send_one(req);
        let timer = timer::Sleep::new(TIMEOUT_MS);
        futures_util::pin_mut!(send);
        futures_util::pin_mut!(timer);
        match futures_util::future::select(send, timer).await {
            futures_util::future::Either::Left((result, _)) => result,
            futures_util::future::Either::Right(((), _)) => Err(OutError::Timeout),
        }
    }
}

async fn send_one(req: &OutRequest<'_>) -> Result<OutReply, OutError> {
    use futures_util::StreamExt as _;
    use spin_sdk::http::{IncomingResponse, Method, Request};

    let mut b = Request::builder();
    let method = match req.method {
        OutMethod::Get => Method::Get,
        OutMethod::Post => Method::Post,
    };
    b.method(method).uri(req.url);
    for (k, v) in &req.headers {
        b.header(k.as_str(), v.as_str());
    }
    if req.to_app {
        b.header(MARK_HEADER, MARK_VALUE);
    }
    if req.method == OutMethod::Post {
        // As Slack sends it: a known length, not a chunked body, which some app servers refuse.
        b.header("content-length", req.body.len().to_string());
        b.body(req.body.to_vec());
    }
    let resp: IncomingResponse = spin_sdk::http::send(b.build()).await.map_err(classify)?;
    let status = resp.status();
    let headers = resp
        .headers()
        .entries()
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), String::from_utf8(v).ok()?)))
        .collect();
    let mut body = Vec::new();
    let mut stream = resp.take_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| OutError::Failed(format!("reading the answer: {e}")))?;
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(OutError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(OutReply { status, headers, body })
}

/// Tells a refusal by the runtime (an address apps may not use, or one outside
/// `allowed_outbound_hosts`) from a failure to connect.
fn classify(e: spin_sdk::http::SendError) -> OutError {
    use spin_sdk::http::ErrorCode;
    use spin_sdk::http::SendError;
    match e {
        SendError::Http(ErrorCode::DestinationIpProhibited) => OutError::Refused(
            "the address is loopback, private or link-local, which apps may not use unless the operator allows it \
             (outbound_allow)"
                .into(),
        ),
        SendError::Http(ErrorCode::HttpRequestDenied) => {
            OutError::Refused("the runtime's allowed_outbound_hosts do not include the address".into())
        }
        SendError::Http(ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout) => OutError::Timeout,
        other => OutError::Failed(other.to_string()),
    }
}

/// A timer on `wasi:clocks`, woken by Spin's executor, which polls what futures register.
mod timer {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use spin_executor::CancelOnDropToken;
    use wasi::clocks::monotonic_clock;

    pub struct Sleep {
        deadline: u64,
        registered: Option<CancelOnDropToken>,
    }

    impl Sleep {
        pub fn new(ms: u64) -> Self {
            Self { deadline: monotonic_clock::now().saturating_add(ms.saturating_mul(1_000_000)), registered: None }
        }
    }

    impl Future for Sleep {
        type Output = ();

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if monotonic_clock::now() >= self.deadline {
                return Poll::Ready(());
            }
            let pollable = monotonic_clock::subscribe_instant(self.deadline);
            // Replacing the token cancels the previous registration.
            self.registered = Some(spin_executor::push_waker_and_get_token(pollable, cx.waker().clone()).into());
            Poll::Pending
        }
    }
}
