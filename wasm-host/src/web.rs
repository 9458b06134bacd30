//! The web client. By default the copy embedded at build time (`build.rs` embeds
//! `web/dist`); `--web-dir` serves a directory instead, for working on the client.
//!
//! Paths are resolved the same way for both: `/` is `index.html`; a file that exists is
//! served; any other path that does not look like a file gets `index.html`, so client-side
//! routes (`/invite/<code>`) load the app. Vite names the files under `assets/` by their
//! content hash, so those may be cached for a year; `index.html` must be revalidated so a
//! new release is picked up at once.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ocomms_core::ApiError;

use crate::reply::json_error;

/// One embedded file.
pub struct Asset {
    pub path: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

const INDEX: &str = "index.html";
/// Extensions of files the client is made of: a missing one is a 404, never `index.html`.
const FILE_EXTENSIONS: &[&str] =
    &["js", "mjs", "css", "map", "json", "png", "svg", "ico", "woff2", "wasm", "txt", "webmanifest"];

fn content_type(path: &str) -> &'static str {
    match Path::new(path).extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("wasm") => "application/wasm",
        Some("txt") => "text/plain; charset=utf-8",
        Some("webmanifest") => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn cache_control(path: &str) -> &'static str {
    if path == INDEX {
        "no-cache"
    } else if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    }
}

/// Whether the host has a client compiled in.
pub fn embedded() -> bool {
    ASSETS.iter().any(|a| a.path == INDEX)
}

/// Without an embedded client, a `web/dist` built next to the working directory (a host
/// compiled before the client was).
pub fn fallback_dir() -> Option<PathBuf> {
    if embedded() {
        return None;
    }
    Some(PathBuf::from("web/dist")).filter(|p| p.join(INDEX).is_file())
}

enum Target {
    File(String),
    NotFound,
}

/// Which file answers `url_path`, given a way to tell whether a file exists.
fn resolve(url_path: &str, exists: impl Fn(&str) -> bool) -> Target {
    if url_path == "/api" || url_path.starts_with("/api/") || url_path.starts_with("/internal/") {
        return Target::NotFound;
    }
    let rel = url_path.trim_start_matches('/');
    // Only plain names: no `..`, no absolute parts, no backslashes.
    if rel.contains('\\') || Path::new(rel).components().any(|c| !matches!(c, Component::Normal(_))) {
        return Target::NotFound;
    }
    if rel.is_empty() {
        return Target::File(INDEX.into());
    }
    if exists(rel) {
        return Target::File(rel.into());
    }
    let looks_like_file = rel.starts_with("assets/")
        || Path::new(rel).extension().and_then(|e| e.to_str()).is_some_and(|e| FILE_EXTENSIONS.contains(&e));
    if looks_like_file { Target::NotFound } else { Target::File(INDEX.into()) }
}

fn file_response(path: &str, body: Body) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type(path)), (header::CACHE_CONTROL, cache_control(path))], body)
        .into_response()
}

pub async fn serve(dir: Option<&Path>, url_path: &str) -> Response {
    let not_found = || json_error(&ApiError::not_found("route"));
    match dir {
        Some(dir) => match resolve(url_path, |rel| dir.join(rel).is_file()) {
            Target::File(rel) => match tokio::fs::read(dir.join(&rel)).await {
                Ok(bytes) => file_response(&rel, Body::from(bytes)),
                Err(_) if rel == INDEX => not_built(),
                Err(_) => not_found(),
            },
            Target::NotFound => not_found(),
        },
        None => {
            let find = |rel: &str| ASSETS.iter().find(|a| a.path == rel);
            match resolve(url_path, |rel| find(rel).is_some()) {
                Target::File(rel) => match find(&rel) {
                    Some(a) => file_response(&rel, Body::from(a.bytes)),
                    None => not_built(),
                },
                Target::NotFound => not_found(),
            }
        }
    }
}

/// What `/` shows when the host was built without the client. Unstyled: the policy every
/// page gets allows no inline style.
fn not_built() -> Response {
    const PAGE: &str = "<!doctype html>
<html lang=\"en\"><head><meta charset=\"utf-8\"><title>OComms: web client not built</title>
</head>
<body><h1>The web client is not built</h1>
<p>This OComms host was compiled without its browser client, so there is nothing to show here.
The API at <code>/api/v1/</code> works.</p>
<p>Build the client (needs Node.js and npm) and then the host, which embeds it:</p>
<pre><code>cargo xtask build web
cargo build -p wasm-host</code></pre>
<p>or simply <code>cargo xtask run</code>, which does both. To serve a client from a directory
instead, start the host with <code>--web-dir web/dist</code>.</p>
</body></html>
";
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")],
        PAGE,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::{Target, cache_control, resolve};

    fn file(url: &str, existing: &[&str]) -> Option<String> {
        match resolve(url, |rel| existing.contains(&rel)) {
            Target::File(f) => Some(f),
            Target::NotFound => None,
        }
    }

    #[test]
    fn resolves_files_spa_routes_and_refusals() {
        let have = ["index.html", "assets/index-abc.js", "favicon.ico"];
        assert_eq!(file("/", &have).as_deref(), Some("index.html"));
        assert_eq!(file("/assets/index-abc.js", &have).as_deref(), Some("assets/index-abc.js"));
        assert_eq!(file("/favicon.ico", &have).as_deref(), Some("favicon.ico"));
        // Client-side routes load the app.
        assert_eq!(file("/invite/AbC-123", &have).as_deref(), Some("index.html"));
        assert_eq!(file("/some/deep/route", &have).as_deref(), Some("index.html"));
        // Missing files are 404, never the page.
        assert_eq!(file("/assets/gone-123.js", &have), None);
        assert_eq!(file("/missing.css", &have), None);
        // The API and internal routes never fall back to the page.
        assert_eq!(file("/api", &have), None);
        assert_eq!(file("/api/v1/nope", &have), None);
        assert_eq!(file("/internal/rooms", &have), None);
        // No way out of the directory.
        assert_eq!(file("/../secret", &have), None);
        // Paths arrive percent-encoded and are never decoded: this is a name, not a way up.
        assert_eq!(file("/assets/..%2f../x", &have), None);
        assert_eq!(file("/x/..%2f..%2fetc", &have).as_deref(), Some("index.html"));
        assert_eq!(file("/a\\b", &have), None);
    }

    #[test]
    fn hashed_assets_are_immutable_and_the_page_is_revalidated() {
        assert_eq!(cache_control("index.html"), "no-cache");
        assert_eq!(cache_control("assets/index-abc.js"), "public, max-age=31536000, immutable");
        assert_eq!(cache_control("favicon.ico"), "public, max-age=300");
    }
}
