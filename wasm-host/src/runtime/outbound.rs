//! Outgoing `wasi:http` requests: Spin's `allowed_outbound_hosts` check, the in-process
//! [`OutboundInterceptor`], and otherwise wasmtime-wasi-http's default client.

use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

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

/// A parsed `allowed_outbound_hosts` list (Spin syntax).
///
/// Each entry is `scheme://host[:port]`:
/// - scheme: a name (`http`, `https`, `postgres`, ...) or `*`;
/// - host: a name, `*` (any host), `*.suffix` (any subdomain of `suffix`, not `suffix`
///   itself), an IP address (`[v6]` in brackets) or a CIDR block (`10.0.0.0/8`);
/// - port: a number, a range `a..b` (end exclusive), `*`, or omitted for the scheme's
///   well-known port (an error for schemes without one, e.g. `*`).
///
/// A trailing `/` is accepted; any other path is an error. Matching is case-insensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowedHost {
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    /// `.example.com` for `*.example.com`.
    Subdomain(String),
    Name(String),
    Ip(IpAddr),
    Cidr(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Port(u16),
    /// `start..end`, end exclusive.
    Range(u16, u16),
}

/// An `allowed_outbound_hosts` entry that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid allowed_outbound_hosts entry {entry:?}: {reason}")]
pub struct AllowedHostsError {
    pub entry: String,
    pub reason: String,
}

impl AllowedHosts {
    /// Parses a component's `allowed_outbound_hosts` values (templates already resolved).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, AllowedHostsError> {
        let entries = entries
            .iter()
            .map(|e| {
                AllowedHost::parse(e.as_ref())
                    .map_err(|reason| AllowedHostsError { entry: e.as_ref().to_owned(), reason })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    /// Whether a request to `scheme://host[:port]` is allowed. `port` `None` means the
    /// scheme's default port. `host` may be a bracketed IPv6 literal.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        let host = normalize_host(host);
        let Some(port) = port.or_else(|| well_known_port(&scheme)) else {
            return false;
        };
        let ip = host.parse::<IpAddr>().ok();
        self.entries.iter().any(|e| {
            e.scheme.as_deref().is_none_or(|s| s == scheme) && e.host.matches(&host, ip) && e.port.matches(port)
        })
    }

    /// Whether the list is empty (no outbound requests at all).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl AllowedHost {
    fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim();
        let (scheme, rest) = entry.split_once("://").ok_or_else(|| {
            "missing scheme, expected <scheme>://<host>[:<port>] (use '*://*:*' to allow everything)".to_owned()
        })?;
        let scheme = match scheme {
            "*" => None,
            s if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphabetic()) => Some(s.to_ascii_lowercase()),
            s => return Err(format!("invalid scheme {s:?}")),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);

        // CIDR blocks contain a '/', everything else must not.
        let (host_part, port_part) = split_host_port(rest)?;
        let host = HostPattern::parse(host_part)?;
        let port = match port_part {
            None => match scheme.as_deref().and_then(well_known_port) {
                Some(p) => PortPattern::Port(p),
                None => {
                    return Err(format!(
                        "no port given and scheme {} has no default port",
                        scheme.as_deref().unwrap_or("*")
                    ));
                }
            },
            Some("*") => PortPattern::Any,
            Some(p) => match p.split_once("..") {
                Some((a, b)) => {
                    let a = parse_port(a)?;
                    let b = parse_port(b)?;
                    if a >= b {
                        return Err(format!("empty port range {p:?}"));
                    }
                    PortPattern::Range(a, b)
                }
                None => PortPattern::Port(parse_port(p)?),
            },
        };
        Ok(Self { scheme, host, port })
    }
}

fn parse_port(p: &str) -> Result<u16, String> {
    p.parse().map_err(|_| format!("invalid port {p:?}"))
}

/// Splits `host[:port]`, handling `[v6]:port` and CIDR blocks (`10.0.0.0/8:80`).
fn split_host_port(s: &str) -> Result<(&str, Option<&str>), String> {
    if s.is_empty() {
        return Err("missing host".to_owned());
    }
    if let Some(after) = s.strip_prefix('[') {
        let end = after.find(']').ok_or_else(|| "unterminated '[' in host".to_owned())?;
        let host = &s[..end + 2];
        let rest = &after[end + 1..];
        return match rest {
            "" => Ok((host, None)),
            r => match r.strip_prefix(':') {
                Some(p) => Ok((host, Some(p))),
                None => Err(format!("unexpected {r:?} after host")),
            },
        };
    }
    // An unbracketed IPv6 address or CIDR has several ':'; treat it as host-only.
    if s.matches(':').count() > 1 {
        return Ok((s, None));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((h, Some(p))),
        None => Ok((s, None)),
    }
}

impl HostPattern {
    fn parse(host: &str) -> Result<Self, String> {
        let host = host.trim();
        if host == "*" {
            return Ok(Self::Any);
        }
        if host.is_empty() {
            return Err("missing host".to_owned());
        }
        if let Some((addr, bits)) = host.split_once('/') {
            let addr: IpAddr =
                normalize_host(addr).parse().map_err(|_| format!("host {host:?} must not contain a path"))?;
            let bits: u8 = bits.parse().map_err(|_| format!("invalid CIDR prefix length in {host:?}"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if bits > max {
                return Err(format!("CIDR prefix length {bits} exceeds {max}"));
            }
            return Ok(Self::Cidr(addr, bits));
        }
        let host = normalize_host(host);
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(Self::Ip(ip));
        }
        if let Some(domain) = host.strip_prefix("*.") {
            if domain.is_empty() || domain.contains('*') {
                return Err("wildcards are only allowed as a leading '*.'".to_owned());
            }
            return Ok(Self::Subdomain(format!(".{domain}")));
        }
        if host.contains('*') {
            return Err("wildcards are only allowed as a leading '*.'".to_owned());
        }
        if !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')) {
            return Err(format!("invalid host {host:?}"));
        }
        Ok(Self::Name(host))
    }

    fn matches(&self, host: &str, ip: Option<IpAddr>) -> bool {
        match (self, ip) {
            (Self::Any, _) => true,
            (Self::Subdomain(suffix), None) => host.len() > suffix.len() && host.ends_with(suffix),
            (Self::Name(name), None) => name == host,
            (Self::Ip(a), Some(b)) => *a == b,
            (Self::Cidr(net, bits), Some(ip)) => cidr_contains(*net, *bits, ip),
            _ => false,
        }
    }
}

impl PortPattern {
    fn matches(&self, port: u16) -> bool {
        match self {
            Self::Any => true,
            Self::Port(p) => *p == port,
            Self::Range(a, b) => (*a..*b).contains(&port),
        }
    }
}

fn normalize_host(host: &str) -> String {
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
        let full = usize::from(bits / 8);
        let rem = bits % 8;
        if a[..full] != b[..full] {
            return false;
        }
        if rem == 0 {
            return true;
        }
        let mask = 0xffu8 << (8 - rem);
        (a[full] & mask) == (b[full] & mask)
    }
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => prefix_eq(&n.octets(), &i.octets(), bits),
        (IpAddr::V6(n), IpAddr::V6(i)) => prefix_eq(&n.octets(), &i.octets(), bits),
        (IpAddr::V4(n), IpAddr::V6(i)) => i.to_ipv4_mapped().is_some_and(|i| prefix_eq(&n.octets(), &i.octets(), bits)),
        (IpAddr::V6(_), IpAddr::V4(_)) => false,
    }
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        _ => None,
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

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(entries).expect("valid entries")
    }

    #[test]
    fn exact_host_default_port() {
        let a = hosts(&["http://rooms.internal"]);
        assert!(a.allows("http", "rooms.internal", None));
        assert!(a.allows("http", "rooms.internal", Some(80)));
        assert!(a.allows("HTTP", "Rooms.Internal", None));
        assert!(!a.allows("http", "rooms.internal", Some(8080)));
        assert!(!a.allows("https", "rooms.internal", None));
        assert!(!a.allows("http", "other.internal", None));
        assert!(!a.allows("http", "x.rooms.internal", None));
    }

    #[test]
    fn explicit_port_and_trailing_slash() {
        let a = hosts(&["https://api.example.com:8443/"]);
        assert!(a.allows("https", "api.example.com", Some(8443)));
        assert!(!a.allows("https", "api.example.com", None));
    }

    #[test]
    fn subdomain_wildcard() {
        let a = hosts(&["https://*.example.com:443"]);
        assert!(a.allows("https", "a.example.com", None));
        assert!(a.allows("https", "a.b.example.com", Some(443)));
        assert!(!a.allows("https", "example.com", None));
        assert!(!a.allows("https", "badexample.com", None));
        assert!(!a.allows("http", "a.example.com", Some(443)));
    }

    #[test]
    fn wildcards_everywhere() {
        let a = hosts(&["*://*:*"]);
        assert!(a.allows("http", "anything", Some(1)));
        assert!(a.allows("https", "10.0.0.1", None));
        assert!(a.allows("redis", "[::1]", Some(6379)));
        // A scheme without a known default port and no explicit port is never matched.
        assert!(!a.allows("gopher", "x", None));
    }

    #[test]
    fn any_host_specific_scheme_and_port() {
        let a = hosts(&["http://*:8080", "https://*"]);
        assert!(a.allows("http", "x.y", Some(8080)));
        assert!(!a.allows("http", "x.y", None));
        assert!(a.allows("https", "x.y", None));
        assert!(!a.allows("https", "x.y", Some(8443)));
    }

    #[test]
    fn port_ranges() {
        let a = hosts(&["http://localhost:8000..8010"]);
        assert!(a.allows("http", "localhost", Some(8000)));
        assert!(a.allows("http", "localhost", Some(8009)));
        assert!(!a.allows("http", "localhost", Some(8010)));
    }

    #[test]
    fn ips_and_cidr() {
        let a = hosts(&["http://127.0.0.1:*", "http://[::1]:8080", "https://10.0.0.0/8"]);
        assert!(a.allows("http", "127.0.0.1", Some(3000)));
        assert!(!a.allows("http", "127.0.0.2", Some(3000)));
        assert!(a.allows("http", "[::1]", Some(8080)));
        assert!(a.allows("http", "::1", Some(8080)));
        assert!(a.allows("https", "10.20.30.40", None));
        assert!(!a.allows("https", "11.0.0.1", None));
        assert!(!a.allows("https", "ten.example", None));
        let b = hosts(&["*://192.168.1.0/24:*"]);
        assert!(b.allows("http", "192.168.1.200", Some(1)));
        assert!(!b.allows("http", "192.168.2.1", Some(1)));
    }

    #[test]
    fn empty_list_denies_everything() {
        let a = hosts(&[]);
        assert!(a.is_empty());
        assert!(!a.allows("https", "example.com", None));
    }

    #[test]
    fn invalid_entries() {
        for bad in [
            "example.com",
            "*",
            "http://",
            "http://exa*mple.com",
            "http://*.ex*.com",
            "*://example.com",
            "gopher://example.com",
            "http://example.com:http",
            "http://example.com/path",
            "http://example.com:90..80",
            "ht-tp://example.com",
            "http://10.0.0.0/33",
        ] {
            assert!(AllowedHosts::parse(&[bad]).is_err(), "{bad} should be rejected");
        }
    }
}
