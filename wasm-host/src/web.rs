//! The web client's static files. Unknown paths without a file extension get `index.html`,
//! so client-side routes (e.g. `/invite/<code>`) load the app.

use std::path::{Component, Path};

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ocomms_core::ApiError;

use crate::server::json_error;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    }
}

pub async fn serve(dir: Option<&Path>, url_path: &str) -> Response {
    let not_found = || json_error(&ApiError::not_found("route"));
    let Some(dir) = dir else { return not_found() };
    if url_path.starts_with("/api/") || url_path.starts_with("/internal/") {
        return not_found();
    }
    let rel = Path::new(url_path.trim_start_matches('/'));
    // Only plain names: no `..`, no absolute parts.
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return not_found();
    }
    let mut file = if url_path == "/" { dir.join("index.html") } else { dir.join(rel) };
    if !file.is_file() {
        if rel.extension().is_some() {
            return not_found();
        }
        file = dir.join("index.html");
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let cache = if file.ends_with("index.html") { "no-cache" } else { "public, max-age=300" };
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, content_type(&file)), (header::CACHE_CONTROL, cache)],
                Body::from(bytes),
            )
                .into_response()
        }
        Err(_) => not_found(),
    }
}
