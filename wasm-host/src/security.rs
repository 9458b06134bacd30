//! Adds the shared security headers ([`ocomms_api::security`]) to every response of the
//! host: the web client, the host's own errors, health and metrics. Component answers
//! carry them already; a header a response sets itself (an uploaded file's stricter
//! policy) is kept.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

pub async fn add_headers(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let forwarded = state.client_address.forwarded_proto(req.headers()).map(str::to_owned);
    let tls = state.public_tls || ocomms_api::security::over_tls(None, forwarded.as_deref());
    let mut resp = next.run(req).await;
    if resp.status() == StatusCode::SWITCHING_PROTOCOLS {
        return resp;
    }
    let headers = resp.headers_mut();
    for (name, value) in state.security.headers(tls) {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name)
            && let Ok(value) = HeaderValue::from_str(value)
        {
            headers.insert(name, value);
        }
    }
    resp
}
