//! The embedded file store: an S3-compatible endpoint (s3s over files in the data
//! directory), so a host without an S3 service speaks the same presigned-URL protocol as
//! one with. Browsers reach it at `/{BUCKET}/...` on the host's own listener; the component
//! reaches it in-process at `http://files.internal`, as it reaches its rooms. Every request
//! must carry a valid SigV4 signature made with the host's generated key: presigned URLs
//! expire, and a presigned PUT's signed length and type are enforced.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use s3s::dto::{
    DeleteObjectInput, DeleteObjectOutput, GetObjectInput, GetObjectOutput, HeadObjectInput, HeadObjectOutput,
    PutObjectInput, PutObjectOutput,
};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3, S3Request, S3Response, S3Result};

use crate::runtime::OutboundInterceptor;
use crate::state::AppState;

/// The one bucket, which is also the path prefix browsers use.
pub const BUCKET: &str = "ocomms-files";
/// Where the component reaches the store, answered in-process.
pub const AUTHORITY: &str = "files.internal";
const REGION: &str = "us-east-1";

/// What the component is told to reach the embedded store with.
pub struct StoreAccess {
    pub access_key: String,
    pub secret_key: String,
}

impl StoreAccess {
    /// The component's variables for this store; `public_url`-relative for browsers.
    pub fn variable(&self, name: &str) -> Option<String> {
        Some(match name {
            "s3_endpoint" => format!("http://{AUTHORITY}"),
            "s3_public_endpoint" => "origin".into(),
            "s3_region" => REGION.into(),
            "s3_bucket" => BUCKET.into(),
            "s3_access_key" => self.access_key.clone(),
            "s3_secret_key" => self.secret_key.clone(),
            "s3_path_style" => "true".into(),
            _ => return None,
        })
    }
}

/// s3s-fs with what the API relies on: a GET answers with the type and disposition the
/// presigned URL asks for (`response-content-*`), and never lets a browser sniff. Every
/// other operation (listing, copying, multipart) is refused.
struct Store {
    fs: s3s_fs::FileSystem,
}

#[async_trait::async_trait]
impl S3 for Store {
    async fn put_object(&self, req: S3Request<PutObjectInput>) -> S3Result<S3Response<PutObjectOutput>> {
        self.fs.put_object(req).await
    }

    async fn head_object(&self, req: S3Request<HeadObjectInput>) -> S3Result<S3Response<HeadObjectOutput>> {
        self.fs.head_object(req).await
    }

    async fn get_object(&self, req: S3Request<GetObjectInput>) -> S3Result<S3Response<GetObjectOutput>> {
        let content_type = req.input.response_content_type.clone();
        let disposition = req.input.response_content_disposition.clone();
        let mut resp = self.fs.get_object(req).await?;
        if content_type.is_some() {
            resp.output.content_type = content_type;
        }
        if disposition.is_some() {
            resp.output.content_disposition = disposition;
        }
        resp.headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        // An uploaded HTML or SVG opened directly runs no script, in an opaque origin.
        resp.headers
            .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(ocomms_api::security::UPLOADED_FILE_CSP));
        Ok(resp)
    }

    async fn delete_object(&self, req: S3Request<DeleteObjectInput>) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.fs.delete_object(req).await
    }
}

/// The store over `<dir>/<BUCKET>/`, accepting only requests signed with `access`.
pub fn service(dir: &Path, access: &StoreAccess) -> anyhow::Result<S3Service> {
    std::fs::create_dir_all(dir.join(BUCKET)).with_context(|| format!("create {}", dir.display()))?;
    let fs = s3s_fs::FileSystem::new(dir).map_err(|e| anyhow::anyhow!("file store at {}: {e:?}", dir.display()))?;
    let mut b = S3ServiceBuilder::new(Store { fs });
    b.set_auth(s3s::auth::SimpleAuth::from_single(access.access_key.clone(), access.secret_key.clone()));
    Ok(b.build())
}

/// `/{BUCKET}/...` on the host's listener: browsers' presigned uploads and downloads.
pub async fn over_http(State(state): State<Arc<AppState>>, req: Request) -> Response {
    match &state.blobs {
        Some(store) => call(store, req).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The store alone on `listen` (`ocomms files`), until `shutdown`.
pub async fn serve_alone(
    dir: &Path,
    listen: std::net::SocketAddr,
    access: &StoreAccess,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = service(dir, access)?;
    let app = axum::Router::new()
        .route(
            &format!("/{BUCKET}/{{*key}}"),
            axum::routing::any(|State(store): State<S3Service>, req: Request| async move { call(&store, req).await }),
        )
        .with_state(store);
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("bind {listen}"))?;
    println!("ocomms files listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await?;
    Ok(())
}

async fn call(store: &S3Service, req: Request) -> Response {
    let req = req.map(s3s::Body::http_body_unsync);
    match store.call(req).await {
        Ok(resp) => resp.map(axum::body::Body::new).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "file store");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The component's own requests (HEAD, ranged GET, a thumbnail's PUT, DELETE) to
/// `http://files.internal`.
pub struct InProcessStore {
    pub store: S3Service,
}

impl OutboundInterceptor for InProcessStore {
    fn handles(&self, authority: &str, scheme: &str) -> bool {
        authority == AUTHORITY && scheme == "http"
    }

    fn intercept(
        &self,
        req: http::Request<Bytes>,
    ) -> Option<Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>> {
        let store = self.store.clone();
        Some(Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            // The signature covers the host the component wrote.
            if !parts.headers.contains_key(header::HOST) {
                parts.headers.insert(header::HOST, HeaderValue::from_static(AUTHORITY));
            }
            let req = http::Request::from_parts(parts, s3s::Body::from(body));
            match store.call(req).await {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    let bytes = body.collect().await.map(|c| c.to_bytes()).unwrap_or_default();
                    http::Response::from_parts(parts, bytes)
                }
                Err(e) => {
                    tracing::error!(error = ?e, "file store (in process)");
                    http::Response::builder()
                        .status(StatusCode::INTERNAL_SERVER_ERROR)
                        .body(Bytes::new())
                        .unwrap_or_default()
                }
            }
        }))
    }
}
