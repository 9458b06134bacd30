//! The host's own error replies: `{"error": {"code", "message"}}` with the error's status,
//! never cached, the same shape the API crate sends.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ocomms_core::ApiError;

pub fn json_error(e: &ApiError) -> Response {
    let mut r =
        (StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(e.to_json()))
            .into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    r
}
