//! `/api/v1/*`: the functions API crate, unchanged, over the edge adapters.

use futures::StreamExt as _;
use ocomms_api::ports::{NoSearchEngine, Sql as _};
use ocomms_api::{Api, Config, Method, http};
use ocomms_core::limits::Limits;
use ocomms_core::outbound::{AllowList, RetrySchedule};
use ocomms_core::{ApiError, ErrorCode};
use ocomms_rooms_edge::env::JsEnv;
use ocomms_rooms_edge::pg::EdgePg;
use ocomms_rooms_edge::publisher::EdgeRooms;
use ocomms_rooms_edge::{ConfigError, bindings, setting};
use ocomms_s3::S3Store;
use worker::{Env, Headers, Request, Response, ResponseBuilder, Result};

use crate::blobs::{FetchHttp, bindings as blobs};
use crate::deliver::FetchOutbound;

/// The access-token key: the `JWT_SECRET` secret, at least 32 bytes.
pub fn jwt_secret(env: &Env) -> std::result::Result<Vec<u8>, ConfigError> {
    let secret = setting(env, bindings::JWT_SECRET).ok_or(ConfigError::NoJwtSecret)?;
    if secret.len() < 32 {
        return Err(ConfigError::ShortJwtSecret);
    }
    Ok(secret.into_bytes())
}

/// The edge's ports: PostgreSQL full-text search, files in an S3-compatible store (R2).
type EdgePorts = (EdgePg, EdgeRooms, JsEnv, NoSearchEngine, S3Store<FetchHttp>, FetchOutbound);

pub fn build(env: &Env) -> std::result::Result<Api<EdgePorts>, ConfigError> {
    // PostgreSQL full-text search at the edge: a Meilisearch index is fed by a host's indexer
    // (docs/decisions.md).
    let limit = |name| crate::blobs::limit(env, name).map_err(ConfigError::BadLimit);
    let allow = AllowList::parse(&setting(env, bindings::OUTBOUND_ALLOW).unwrap_or_default())
        .map_err(|e| ConfigError::BadSetting(bindings::OUTBOUND_ALLOW, e.to_string()))?;
    let retry = match setting(env, bindings::DELIVERY_RETRY_SECS).unwrap_or_default().trim() {
        "" => RetrySchedule::default(),
        v => RetrySchedule::parse(v)
            .ok_or_else(|| ConfigError::BadSetting(bindings::DELIVERY_RETRY_SECS, "seconds, comma-separated".into()))?,
    };
    let config = Config::new(jwt_secret(env)?, setting(env, bindings::PUBLIC_URL).unwrap_or_default())
        .with_file_limits(limit(blobs::FILE_MAX_BYTES)?, limit(blobs::WORKSPACE_QUOTA_BYTES)?)
        .with_outbound(allow, retry)
        .with_limits(
            Limits::parse(&setting(env, bindings::RATE_LIMITS).unwrap_or_default())
                .map_err(|e| ConfigError::BadSetting(bindings::RATE_LIMITS, e.to_string()))?,
            setting(env, bindings::CLIENT_ADDRESS_HEADER),
        )
        .with_accounts(
            &setting(env, bindings::EMAIL_VERIFICATION).unwrap_or_default(),
            &setting(env, bindings::INSTALL_ADMINS).unwrap_or_default(),
        )
        .map_err(|e| ConfigError::BadSetting(e.0, e.1))?
        .with_oidc(
            &setting(env, bindings::OIDC_ISSUER).unwrap_or_default(),
            &setting(env, bindings::OIDC_CLIENT_ID).unwrap_or_default(),
            &setting(env, bindings::OIDC_CLIENT_SECRET).unwrap_or_default(),
            &setting(env, bindings::OIDC_NAME).unwrap_or_default(),
        )
        .map_err(|e| ConfigError::BadSetting(e.0, e.1))?;
    Ok(Api::new(EdgePg::from_env(env)?, EdgeRooms { env: env.clone() }, JsEnv, config)
        .with_blobs(crate::blobs::from_env(env))
        .with_outbound(Some(FetchOutbound)))
}

pub async fn handle(mut req: Request, env: &Env, ctx: &worker::Context) -> Result<Response> {
    let api = match build(env) {
        Ok(api) => api,
        Err(e) => {
            worker::console_error!("ocomms worker misconfigured: {}", ocomms_api::error::chain(&e));
            return error(&ApiError::new(ErrorCode::Unavailable, "service misconfigured"));
        }
    };
    let headers: Vec<(String, String)> = req.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    if http::header_bytes(headers.iter().map(|(k, v)| (k.as_str(), v.as_bytes()))) > http::MAX_HEADER_BYTES {
        return error(&http::headers_too_large());
    }
    let Some(body) = read_body(&mut req).await? else {
        return error(&http::request_too_large());
    };
    let url = req.url()?;
    let path_and_query = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let mut api_req = ocomms_api::Request::new(Method::parse(req.method().as_ref()), &path_and_query);
    // Cloudflare sets it, replacing any the client sent.
    api_req.client_addr = api_req_client(&headers);
    api_req.headers = headers;
    api_req.body = body;
    let method = api_req.method;
    let resp = api.handle(api_req).await;
    if crate::deliver::may_have_queued(method, resp.status) {
        // The answer goes now; the deliveries it queued follow (waitUntil).
        ctx.wait_until(async move { crate::deliver::rounds(&api).await });
    }
    let out = Headers::new();
    for (k, v) in &resp.headers {
        out.append(k, v)?;
    }
    let builder = ResponseBuilder::new().with_status(resp.status).with_headers(out);
    // These statuses must not carry a body, not even an empty one.
    Ok(if matches!(resp.status, 101 | 204 | 205 | 304) { builder.empty() } else { builder.fixed(resp.body) })
}

/// The body, or `None` when it is over [`http::MAX_REQUEST_BYTES`]. An oversized body is still
/// read to its end, chunk by chunk without keeping it: a request whose body is left unread
/// breaks the connection it came on, and the client would see that instead of the 413.
async fn read_body(req: &mut Request) -> Result<Option<Vec<u8>>> {
    let Ok(mut stream) = req.stream() else { return Ok(Some(Vec::new())) };
    let mut body = Vec::new();
    let mut over = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if over || body.len() + chunk.len() > http::MAX_REQUEST_BYTES {
            over = true;
            body = Vec::new();
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    Ok((!over).then_some(body))
}

/// `{"error": {"code", "message"}}` with the error's status, never cached.
pub fn error(e: &ApiError) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    headers.set("cache-control", "no-store")?;
    Ok(ResponseBuilder::new().with_status(e.status()).with_headers(headers).fixed(e.to_json().to_string().into_bytes()))
}

/// Ready when the database answers.
pub async fn readyz(env: &Env) -> Result<Response> {
    let ok = match EdgePg::from_env(env) {
        Ok(db) => db.query("SELECT 1", &[]).await.is_ok(),
        Err(_) => false,
    };
    if ok { Response::ok("ready") } else { error(&ApiError::new(ErrorCode::Unavailable, "database unavailable")) }
}

/// The client's address as Cloudflare saw it.
fn api_req_client(headers: &[(String, String)]) -> Option<String> {
    headers.iter().find(|(k, _)| k == "cf-connecting-ip").map(|(_, v)| v.clone())
}
