//! Outgoing `wasi:http` requests: the component's `allowed_outbound_hosts` (parsed by the
//! manifest, see [`AllowedHosts`]), the in-process [`OutboundInterceptor`], and otherwise
//! wasmtime-wasi-http's default client.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

use crate::manifest::AllowedHosts;
use ocomms_core::outbound::{self, AllowList, MARK_HEADER, MARK_VALUE};

/// How long a request to an app may take to connect, and then to start answering.
const APP_TIMEOUT: Duration = Duration::from_millis(outbound::TIMEOUT_MS);

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
    /// Internal addresses requests to apps may reach anyway.
    pub(crate) app_allow: AllowList,
}

impl fmt::Debug for OutboundPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboundPolicy")
            .field("allowed", &self.allowed)
            .field("interceptor", &self.interceptor.is_some())
            .field("app_allow", &self.app_allow)
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
            // A request to an app (marked by the component): only to addresses apps may use,
            // checked for every address the name resolves to, never answered in process.
            if request.headers_mut().remove(MARK_HEADER).is_some_and(|v| v == MARK_VALUE) {
                app_address_check(&policy.app_allow, &scheme, &authority).await?;
                let options = RequestOptions {
                    connect_timeout: Some(APP_TIMEOUT),
                    first_byte_timeout: Some(APP_TIMEOUT),
                    between_bytes_timeout: Some(APP_TIMEOUT),
                };
                let (resp, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
                let io: Box<dyn Future<Output = Result<(), HttpError>> + Send> = Box::new(io);
                return Ok((resp.map(BodyExt::boxed_unsync), io));
            }
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

/// Refuses a request to an app whose host resolves to an address apps may not use
/// (loopback, private, link-local...) unless the operator allowed it. What was checked is
/// what the connection resolves again a moment later; a name whose answers change in that
/// moment (DNS rebinding) is the residual risk, noted in docs/integrations.md.
async fn app_address_check(allow: &AllowList, scheme: &str, authority: &http::uri::Authority) -> Result<(), HttpError> {
    let https = scheme == "https";
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let target = outbound::Target { https, host: host.clone(), port };
    let addrs: Vec<std::net::IpAddr> = match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(found) => found.map(|a| a.ip()).collect(),
        Err(_) => return Err(HttpError::DnsError { rcode: Some("address not found".into()), info_code: None }),
    };
    outbound::check_resolved(&target, &addrs, allow).map_err(|refused| {
        tracing::warn!(%refused, "request to an app refused");
        HttpError::DestinationIpProhibited
    })
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
        OutboundHooks {
            policy: Arc::new(OutboundPolicy {
                allowed,
                interceptor: Some(Arc::new(Echo)),
                app_allow: AllowList::default(),
            }),
        }
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

    /// Requests to apps are checked by what their names resolve to (`localhost` through the
    /// system's resolver), and the operator's list lets chosen addresses through.
    #[tokio::test]
    async fn app_requests_are_checked_by_resolved_address() {
        let authority: http::uri::Authority = "localhost:9".parse().expect("an authority");
        let none = AllowList::default();
        assert!(matches!(app_address_check(&none, "http", &authority).await, Err(HttpError::DestinationIpProhibited)));
        let allowed = AllowList::parse("127.0.0.1, ::1").expect("a list");
        assert!(app_address_check(&allowed, "http", &authority).await.is_ok());
        let unknown: http::uri::Authority = "no-such-host.invalid".parse().expect("an authority");
        assert!(matches!(app_address_check(&none, "https", &unknown).await, Err(HttpError::DnsError { .. })));
    }

    #[tokio::test]
    async fn an_empty_list_denies_everything() {
        let mut h = hooks(&[]);
        assert!(matches!(send(&mut h, "https://example.com/").await, Err(HttpError::HttpRequestDenied)));
    }
}
