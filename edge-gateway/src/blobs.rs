//! File storage at the edge: [`ocomms_s3::S3Store`] (presigned with aws-sdk-s3, compiled
//! for the Worker) sending its own requests with the Worker's `fetch`. Production points it
//! at R2's S3 API; any S3-compatible service works.

use ocomms_rooms_edge::setting;
use ocomms_s3::{HttpReply, HttpSend, PublicEndpoint, S3Settings, S3Store};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

/// Worker settings (vars or secrets) naming the store.
pub mod bindings {
    /// Where the Worker reaches the S3 API, e.g. `https://<account>.r2.cloudflarestorage.com`.
    pub const S3_ENDPOINT: &str = "S3_ENDPOINT";
    /// Where browsers reach it, if not there (`origin` for the Worker's own address).
    pub const S3_PUBLIC_ENDPOINT: &str = "S3_PUBLIC_ENDPOINT";
    pub const S3_REGION: &str = "S3_REGION";
    pub const S3_BUCKET: &str = "S3_BUCKET";
    pub const S3_ACCESS_KEY: &str = "S3_ACCESS_KEY";
    pub const S3_SECRET_KEY: &str = "S3_SECRET_KEY";
    /// `false` for virtual-hosted-style addressing; path style otherwise.
    pub const S3_PATH_STYLE: &str = "S3_PATH_STYLE";
    pub const FILE_MAX_BYTES: &str = "FILE_MAX_BYTES";
    pub const WORKSPACE_QUOTA_BYTES: &str = "WORKSPACE_QUOTA_BYTES";
}

pub struct FetchHttp;

impl HttpSend for FetchHttp {
    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<HttpReply, String> {
        let method = match method {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            other => return Err(format!("unexpected method {other}")),
        };
        let h = Headers::new();
        for (k, v) in headers {
            // fetch sets the length of the body it sends itself.
            if !k.eq_ignore_ascii_case("content-length") {
                h.set(k, v).map_err(|e| e.to_string())?;
            }
        }
        let mut init = RequestInit::new();
        init.with_method(method).with_headers(h);
        if !body.is_empty() {
            init.with_body(Some(worker::js_sys::Uint8Array::from(body.as_slice()).into()));
        }
        let req = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
        let mut resp = Fetch::Request(req).send().await.map_err(|e| e.to_string())?;
        let headers = resp.headers().entries().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        let body = resp.bytes().await.unwrap_or_default();
        Ok(HttpReply { status: resp.status_code(), headers, body })
    }
}

/// The store the settings describe; `None` without an endpoint and keys (file routes then
/// answer 503).
pub fn from_env(env: &Env) -> Option<S3Store<FetchHttp>> {
    let get = |name: &str| setting(env, name).filter(|v| !v.is_empty());
    let settings = S3Settings {
        endpoint: get(bindings::S3_ENDPOINT)?.trim_end_matches('/').to_string(),
        public_endpoint: PublicEndpoint::parse(&get(bindings::S3_PUBLIC_ENDPOINT).unwrap_or_default()),
        region: get(bindings::S3_REGION).unwrap_or_else(|| "auto".into()),
        bucket: get(bindings::S3_BUCKET)?,
        access_key: get(bindings::S3_ACCESS_KEY)?,
        secret_key: get(bindings::S3_SECRET_KEY)?,
        path_style: get(bindings::S3_PATH_STYLE).is_none_or(|v| v != "false"),
    };
    Some(S3Store::new(settings, FetchHttp))
}

/// A byte limit from a setting; absent means the default, malformed is a configuration error
/// reported by name.
pub fn limit(env: &Env, name: &'static str) -> Result<Option<i64>, &'static str> {
    match setting(env, name).as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| name),
    }
}
