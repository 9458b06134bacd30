//! Outgoing `wasi:http` requests: the component's `allowed_outbound_hosts` (parsed by the
//! manifest, see [`AllowedHosts`]), the in-process [`OutboundInterceptor`], and otherwise
//! wasmtime-wasi-http's default client.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::manifest::AllowedHosts;

/// Answers some outgoing requests in-process instead of over a socket (e.g. calls to other
/// components or to native services of this host).
pub trait OutboundInterceptor: Send + Sync + 'static {
    /// Whether requests to `authority` (`host[:port]` as written by the guest) with `scheme`
    /// (`http`/`https`) are answered in-process. Decided before the request body is read.
    /// Only consulted for requests that passed the component's allow-list.
    fn handles(&self, authority: &str, scheme: &str) -> bool;

    /// Answers a request for which [`handles`](Self::handles) returned true; the body is fully
    /// buffered. `None` sends the request over the network after all.
    fn intercept(
        &self,
        req: http::Request<Bytes>,
    ) -> Option<Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>>;
}

/// Several interceptors: the first that handles an authority answers for it.
pub struct Interceptors(pub Vec<Arc<dyn OutboundInterceptor>>);

impl OutboundInterceptor for Interceptors {
    fn handles(&self, authority: &str, scheme: &str) -> bool {
        self.0.iter().any(|i| i.handles(authority, scheme))
    }

    fn intercept(
        &self,
        req: http::Request<Bytes>,
    ) -> Option<Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>> {
        let authority = req.uri().authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        let scheme = req.uri().scheme_str().unwrap_or("http").to_string();
        self.0.iter().find(|i| i.handles(&authority, &scheme))?.intercept(req)
    }
}

/// What a component may do with outgoing requests; shared by all its instances.
pub(crate) struct OutboundPolicy {
    pub(crate) allowed: AllowedHosts,
    pub(crate) interceptor: Option<Arc<dyn OutboundInterceptor>>,
}

impl fmt::Debug for OutboundPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundPolicy")
            .field("allowed", &self.allowed)
            .field("interceptor", &self.interceptor.is_some())
            .finish()
    }
}

/// The [`WasiHttpHooks`] of one store.
pub(crate) struct OutboundHooks {
    pub(crate) policy: Arc<OutboundPolicy>,
}

type SendFuture = Box<
    dyn Future<
            Output = Result<
                (http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>),
                HttpError,
            >,
        > + Send,
>;

fn full_body(bytes: Bytes) -> WasiBody {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        drop(fut);
        let policy = Arc::clone(&self.policy);
        Box::new(async move {
            let uri = request.uri();
            let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
            // wasmtime-wasi-http refuses a request without an authority before calling this
            // hook, so Spin's relative self-requests (`http://self`) do not reach here.
            let Some(authority) = uri.authority().cloned() else {
                return Err(HttpError::HttpRequestUriInvalid);
            };
            if !policy.allowed.allows(&scheme, authority.host(), authority.port_u16()) {
                tracing::warn!(
                    %scheme, %authority,
                    "outgoing request denied by allowed_outbound_hosts"
                );
                return Err(HttpError::HttpRequestDenied);
            }

            let mut request = request;
            if let Some(interceptor) = &policy.interceptor
                && interceptor.handles(authority.as_str(), &scheme)
            {
                let (parts, body) = request.into_parts();
                let body = body.collect().await?.to_bytes();
                let req = http::Request::from_parts(parts, body);
                // Keep a copy in case the interceptor declines after all.
                let fallback = req.clone();
                if let Some(answer) = interceptor.intercept(req) {
                    let resp = answer.await.map(full_body);
                    let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(async { Ok(()) });
                    return Ok((resp, io));
                }
                request = fallback.map(full_body);
            }

            let (resp, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(io);
            Ok((resp.map(BodyExt::boxed_unsync), io))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every request in-process with its own body, so no test touches the network.
    struct Echo;

    impl OutboundInterceptor for Echo {
        fn handles(&self, _authority: &str, _scheme: &str) -> bool {
            true
        }

        fn intercept(
            &self,
            req: http::Request<Bytes>,
        ) -> Option<Pin<Box<dyn Future<Output = http::Response<Bytes>> + Send>>> {
            let body = req.into_body();
            Some(Box::pin(async move { http::Response::new(body) }))
        }
    }

    fn hooks(entries: &[&str]) -> OutboundHooks {
        let allowed = AllowedHosts::parse(entries).expect("valid entries");
        OutboundHooks { policy: Arc::new(OutboundPolicy { allowed, interceptor: Some(Arc::new(Echo)) }) }
    }

    async fn send(hooks: &mut OutboundHooks, uri: &str) -> Result<Bytes, HttpError> {
        let req = http::Request::builder().uri(uri).body(full_body(Bytes::from_static(b"ping"))).expect("request");
        let (resp, _io) = Pin::from(hooks.send_request(req, None, Box::new(async { Ok(()) }))).await?;
        Ok(resp.into_body().collect().await?.to_bytes())
    }

    #[tokio::test]
    async fn the_parsed_allow_list_decides() {
        let mut h = hooks(&[
            "http://rooms.internal",
            "https://*.example.com:8000..8010",
            "*://10.0.0.0/8:*",
            "http://[::1]:8080",
            "mqtt://broker.internal",
        ]);
        for allowed in [
            "http://rooms.internal/x",
            "http://ROOMS.internal:80/",
            "https://api.example.com:8009/",
            "http://10.1.2.3:1234/",
            "https://10.255.0.1/",
            "http://[::1]:8080/",
        ] {
            assert_eq!(send(&mut h, allowed).await.expect(allowed), "ping");
        }
        for denied in [
            "http://other.internal/",
            "http://rooms.internal:8080/",
            "https://rooms.internal/",
            "https://example.com:8000/",
            "https://api.example.com:8010/",
            "http://11.0.0.1/",
            "http://[::1]/",
            "http://broker.internal:1883/",
        ] {
            assert!(matches!(send(&mut h, denied).await, Err(HttpError::HttpRequestDenied)), "{denied} was not denied");
        }
    }

    #[tokio::test]
    async fn an_empty_list_denies_everything() {
        let mut h = hooks(&[]);
        assert!(matches!(send(&mut h, "https://example.com/").await, Err(HttpError::HttpRequestDenied)));
    }
}
