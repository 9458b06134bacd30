//! File storage through the S3 API, the same on every runtime: the Spin component, the edge
//! Worker and native code. aws-sdk-s3 only *presigns* (no request is ever sent by the SDK,
//! so it needs no HTTP client, no async runtime and no clock of its own); the few requests
//! the server makes itself (HEAD, a ranged GET, DELETE) are presigned too and sent by the
//! runtime's HTTP client through [`HttpSend`]. Works with any S3-compatible service (AWS S3,
//! R2, MinIO, Garage) and with the host's embedded store.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, IdentityCache, Region, StalledStreamProtectionConfig, retry::RetryConfig,
    timeout::TimeoutConfig,
};
use aws_sdk_s3::presigning::{PresignedRequest, PresigningConfig};
use aws_smithy_async::time::StaticTimeSource;
use ocomms_api::ports::{BlobError, BlobGet, BlobMeta, BlobPut, Blobs, Presigned};

/// Where browsers reach the store, which may differ from where the API reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicEndpoint {
    /// The same address as the API uses (a public S3 service).
    Same,
    /// The address the API request came in on (a store served by the same host as the API).
    Origin,
    Url(String),
}

impl PublicEndpoint {
    /// `""` is [`Self::Same`], `"origin"` [`Self::Origin`], anything else a URL.
    pub fn parse(raw: &str) -> Self {
        match raw.trim() {
            "" => Self::Same,
            "origin" => Self::Origin,
            url => Self::Url(url.trim_end_matches('/').to_string()),
        }
    }
}

/// A bucket and how to reach and sign for it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// Where the API reaches the store: scheme, host and port.
    pub endpoint: String,
    pub public_endpoint: PublicEndpoint,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    /// `https://host/bucket/key` rather than `https://bucket.host/key` (MinIO, Garage, the
    /// embedded store; R2 and AWS take either).
    pub path_style: bool,
}

/// An HTTP client of the runtime (wasi:http outgoing requests, a Worker's fetch, reqwest).
#[allow(async_fn_in_trait, reason = "single-threaded runtimes; no Send bound wanted")]
pub trait HttpSend {
    async fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<HttpReply, String>;
}

#[derive(Debug, Clone, Default)]
pub struct HttpReply {
    pub status: u16,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// How long the server's own presigned requests (HEAD, GET, DELETE) are valid.
const OWN_REQUEST_TTL: Duration = Duration::from_secs(60);

pub struct S3Store<H> {
    settings: S3Settings,
    http: H,
}

impl<H: HttpSend> S3Store<H> {
    pub fn new(settings: S3Settings, http: H) -> Self {
        Self { settings, http }
    }

    /// A client that signs for `endpoint` as of `now_ms`. Retries, timeouts, stalled-stream
    /// protection and identity caching are off and the clock is fixed: presigning needs none
    /// of them, and they would want a sleep implementation or a system clock that
    /// `wasm32-unknown-unknown` lacks.
    fn client(&self, endpoint: &str, now: SystemTime) -> aws_sdk_s3::Client {
        let s = &self.settings;
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(Credentials::new(&s.access_key, &s.secret_key, None, None, "ocomms"))
            .region(Region::new(s.region.clone()))
            .endpoint_url(endpoint)
            .force_path_style(s.path_style)
            .retry_config(RetryConfig::disabled())
            .timeout_config(TimeoutConfig::disabled())
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .identity_cache(IdentityCache::no_cache())
            .time_source(StaticTimeSource::new(now))
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    fn public_endpoint<'a>(&'a self, origin: &'a str) -> &'a str {
        match &self.settings.public_endpoint {
            PublicEndpoint::Same => &self.settings.endpoint,
            PublicEndpoint::Origin => origin,
            PublicEndpoint::Url(u) => u,
        }
    }

    /// Sends one of the server's own presigned requests.
    async fn send(&self, req: &PresignedRequest, body: Vec<u8>) -> Result<HttpReply, BlobError> {
        let headers: Vec<(String, String)> = req.headers().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.http.send(req.method(), req.uri(), &headers, body).await.map_err(BlobError)
    }
}

fn at(now_ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(now_ms).unwrap_or(0))
}

fn presigning(now: SystemTime, ttl: Duration) -> Result<PresigningConfig, BlobError> {
    PresigningConfig::builder().start_time(now).expires_in(ttl).build().map_err(|e| BlobError(e.to_string()))
}

fn sdk_error(e: impl std::error::Error) -> BlobError {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    BlobError(msg)
}

fn unexpected(what: &str, reply: &HttpReply) -> BlobError {
    let body = String::from_utf8_lossy(&reply.body[..reply.body.len().min(300)]).into_owned();
    BlobError(format!("{what}: HTTP {} {body}", reply.status))
}

impl<H: HttpSend> Blobs for S3Store<H> {
    async fn presign_put(&self, put: &BlobPut<'_>) -> Result<Presigned, BlobError> {
        let now = at(put.now_ms);
        let req = self
            .client(self.public_endpoint(put.origin), now)
            .put_object()
            .bucket(&self.settings.bucket)
            .key(put.key)
            // Both are signed: the store refuses a body of another length or type.
            .content_length(put.size)
            .content_type(put.content_type)
            .presigned(presigning(now, Duration::from_secs(put.ttl_secs.into()))?)
            .await
            .map_err(sdk_error)?;
        let headers: BTreeMap<String, String> =
            req.headers().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())).collect();
        Ok(Presigned { method: req.method().to_string(), url: req.uri().to_string(), headers })
    }

    async fn presign_get(&self, get: &BlobGet<'_>) -> Result<String, BlobError> {
        let now = at(get.now_ms);
        let req = self
            .client(self.public_endpoint(get.origin), now)
            .get_object()
            .bucket(&self.settings.bucket)
            .key(get.key)
            .response_content_type(get.content_type)
            .response_content_disposition(get.disposition)
            .presigned(presigning(now, Duration::from_secs(get.ttl_secs.into()))?)
            .await
            .map_err(sdk_error)?;
        Ok(req.uri().to_string())
    }

    async fn head(&self, key: &str, now_ms: i64) -> Result<Option<BlobMeta>, BlobError> {
        let now = at(now_ms);
        let req = self
            .client(&self.settings.endpoint, now)
            .head_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .presigned(presigning(now, OWN_REQUEST_TTL)?)
            .await
            .map_err(sdk_error)?;
        let reply = self.send(&req, Vec::new()).await?;
        match reply.status {
            200 => {
                let size = reply
                    .header("content-length")
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| BlobError("HEAD without a content-length".into()))?;
                Ok(Some(BlobMeta { size, content_type: reply.header("content-type").map(str::to_string) }))
            }
            404 => Ok(None),
            _ => Err(unexpected("HEAD", &reply)),
        }
    }

    async fn read_start(&self, key: &str, len: u64, now_ms: i64) -> Result<Vec<u8>, BlobError> {
        let now = at(now_ms);
        let req = self
            .client(&self.settings.endpoint, now)
            .get_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .range(format!("bytes=0-{}", len.saturating_sub(1)))
            .presigned(presigning(now, OWN_REQUEST_TTL)?)
            .await
            .map_err(sdk_error)?;
        let mut reply = self.send(&req, Vec::new()).await?;
        match reply.status {
            // A store that ignores the range sends everything: keep what was asked for.
            200 | 206 => {
                reply.body.truncate(usize::try_from(len).unwrap_or(usize::MAX));
                Ok(reply.body)
            }
            _ => Err(unexpected("GET", &reply)),
        }
    }

    async fn put(&self, key: &str, content_type: &str, body: Vec<u8>, now_ms: i64) -> Result<(), BlobError> {
        let now = at(now_ms);
        let req = self
            .client(&self.settings.endpoint, now)
            .put_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .content_length(i64::try_from(body.len()).unwrap_or(i64::MAX))
            .content_type(content_type)
            .presigned(presigning(now, OWN_REQUEST_TTL)?)
            .await
            .map_err(sdk_error)?;
        let reply = self.send(&req, body).await?;
        match reply.status {
            200 | 201 | 204 => Ok(()),
            _ => Err(unexpected("PUT", &reply)),
        }
    }

    async fn delete(&self, key: &str, now_ms: i64) -> Result<(), BlobError> {
        let now = at(now_ms);
        let req = self
            .client(&self.settings.endpoint, now)
            .delete_object()
            .bucket(&self.settings.bucket)
            .key(key)
            .presigned(presigning(now, OWN_REQUEST_TTL)?)
            .await
            .map_err(sdk_error)?;
        let reply = self.send(&req, Vec::new()).await?;
        match reply.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(unexpected("DELETE", &reply)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    struct Offline;
    impl HttpSend for Offline {
        async fn send(&self, _: &str, _: &str, _: &[(String, String)], _: Vec<u8>) -> Result<HttpReply, String> {
            Err("offline".into())
        }
    }

    fn store(public: PublicEndpoint) -> S3Store<Offline> {
        S3Store::new(
            S3Settings {
                endpoint: "http://127.0.0.1:9000".into(),
                public_endpoint: public,
                region: "us-east-1".into(),
                bucket: "files".into(),
                access_key: "AKEXAMPLE".into(),
                secret_key: "secret".into(),
                path_style: true,
            },
            Offline,
        )
    }

    const NOW: i64 = 1_790_000_000_000;

    #[test]
    fn a_put_signs_its_length_and_type() {
        let put = BlobPut {
            key: "ws/1/f",
            content_type: "image/png",
            size: 1234,
            now_ms: NOW,
            ttl_secs: 900,
            origin: "http://chat.example:8080",
        };
        let p = block_on(store(PublicEndpoint::Same).presign_put(&put)).unwrap();
        assert_eq!(p.method, "PUT");
        assert!(p.url.starts_with("http://127.0.0.1:9000/files/ws/1/f?"), "{}", p.url);
        assert!(p.url.contains("X-Amz-Expires=900"), "{}", p.url);
        assert!(p.url.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"), "{}", p.url);
        assert_eq!(p.headers.get("content-length").map(String::as_str), Some("1234"));
        assert_eq!(p.headers.get("content-type").map(String::as_str), Some("image/png"));
        // Signing is deterministic for a fixed time.
        assert_eq!(block_on(store(PublicEndpoint::Same).presign_put(&put)).unwrap(), p);
        let o = block_on(store(PublicEndpoint::Origin).presign_put(&put)).unwrap();
        assert!(o.url.starts_with("http://chat.example:8080/files/ws/1/f?"), "{}", o.url);
    }

    #[test]
    fn a_get_overrides_type_and_disposition() {
        let get = BlobGet {
            key: "ws/1/f",
            content_type: "application/pdf",
            disposition: "attachment; filename=\"a b.pdf\"",
            now_ms: NOW,
            ttl_secs: 300,
            origin: "http://o",
        };
        let url = block_on(store(PublicEndpoint::Url("https://cdn.example/".into())).presign_get(&get)).unwrap();
        assert!(url.starts_with("https://cdn.example/files/ws/1/f?"), "{url}");
        assert!(url.contains("response-content-type=application%2Fpdf"), "{url}");
        assert!(url.contains("response-content-disposition=attachment%3B%20filename%3D%22a%20b.pdf%22"), "{url}");
    }

    #[test]
    fn own_requests_fail_cleanly_without_a_network() {
        let e = block_on(store(PublicEndpoint::Same).head("k", NOW)).unwrap_err();
        assert_eq!(e.0, "offline");
    }

    #[test]
    fn public_endpoints_parse() {
        assert_eq!(PublicEndpoint::parse(""), PublicEndpoint::Same);
        assert_eq!(PublicEndpoint::parse("origin"), PublicEndpoint::Origin);
        assert_eq!(PublicEndpoint::parse("https://x/"), PublicEndpoint::Url("https://x".into()));
    }
}
