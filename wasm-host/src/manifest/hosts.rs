//! `allowed_outbound_hosts`: the one grammar and matcher of wasm-host, following Spin's
//! (`AllowedHostConfig` in `spin-outbound-networking-config`, `src/allowed_hosts.rs`).
//!
//! The manifest parses every literal entry when it is loaded and keeps `{{ variable }}`
//! entries as templates ([`AllowedHostEntry`]); the host renders those from application
//! variables with [`Manifest::resolve_allowed_hosts`](super::Manifest::resolve_allowed_hosts),
//! and the runtime receives the parsed [`AllowedHosts`] and only matches.
//!
//! # Grammar
//!
//! `<scheme>://<host>[:<port>][/]`, surrounding whitespace ignored. As in Spin the port is
//! what follows the *last* `:`.
//!
//! * scheme: `*` (any) or ASCII letters, e.g. `http`, `https`, `postgres`, `mysql`, `redis`,
//!   `mqtt` (these have well-known ports) or `tcp` (which then needs an explicit port);
//! * host:
//!   - `*`: any host;
//!   - `*.example.com`: any strict subdomain of `example.com` (not `example.com` itself);
//!   - `self` or `self.alt`: the application itself (Spin's relative self-requests); it
//!     matches no absolute URL;
//!   - a DNS name: lower-case letters, digits, `-` and `_` in dot-separated labels;
//!   - an IPv4 address, or an IPv6 address in brackets (`[::1]:8080`; Spin requires the port);
//!   - a CIDR block: `10.0.0.0/8`, or `ff00::/8:443` for IPv6 (unbracketed, with a port);
//! * port: a number, a range `start..end` (end excluded, `8000..8010` is ten ports), `*`, or
//!   nothing for the scheme's well-known port (see [`well_known_port`]).
//!
//! Refused, each with its own [`HostError`]: a missing scheme (and Spin's old
//! `insecure:allow-all`); scheme, host and port lists `{a,b}` (Spin does not implement them
//! yet); unrendered templates; a path, query or credentials; `*` except as a whole part or a
//! leading `*.`; upper-case letters in the scheme or host (Spin compares them as written
//! with the lower-cased request URL, so such an entry never matches there); an IPv6 address
//! without brackets or, in brackets, without a port; a CIDR prefix longer than the address;
//! a single port `0`, ranges written `1-100` and empty ranges; no port for a scheme without a
//! well-known one, `*` included.
//!
//! # Matching
//!
//! A request `scheme://host[:port]` is allowed when one entry matches all three parts. The
//! request's scheme and host are compared in lower case, a missing port is the request
//! scheme's well-known port, IP addresses compare as addresses (a CIDR block contains
//! addresses of its own family only), and a port pattern `*` matches any port, known or not.

use std::fmt;
use std::net::{AddrParseError, IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::ParseIntError;

use super::template::Template;

/// The schemes with a well-known port, as in Spin.
const WELL_KNOWN_PORTS: &[(&str, u16)] =
    &[("http", 80), ("https", 443), ("postgres", 5432), ("mysql", 3306), ("redis", 6379), ("mqtt", 1883)];

/// The well-known port of `scheme` (lower case): http 80, https 443, postgres 5432, mysql 3306,
/// redis 6379, mqtt 1883.
pub fn well_known_port(scheme: &str) -> Option<u16> {
    WELL_KNOWN_PORTS.iter().find(|(name, _)| *name == scheme).map(|(_, port)| *port)
}

/// A component's parsed `allowed_outbound_hosts`: what the runtime checks every outgoing
/// connection against. Empty (the default) allows nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    entries: Vec<AllowedHost>,
}

impl AllowedHosts {
    /// Parses literal entries (no templates), e.g. `["http://rooms.internal", "*://10.0.0.0/8:*"]`.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, InvalidEntry> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref();
                AllowedHost::parse(entry).map_err(|reason| InvalidEntry { entry: entry.to_owned(), reason })
            })
            .collect()
    }

    /// Whether a connection to `scheme://host[:port]` is allowed. `port` `None` means the
    /// scheme's well-known port; `host` may be a bracketed IPv6 literal.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let target = Target::new(scheme, host, port);
        self.entries.iter().any(|entry| entry.matches(&target))
    }

    pub fn entries(&self) -> &[AllowedHost] {
        &self.entries
    }

    /// Whether the list is empty (no outbound connections at all).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl FromIterator<AllowedHost> for AllowedHosts {
    fn from_iter<I: IntoIterator<Item = AllowedHost>>(iter: I) -> Self {
        AllowedHosts { entries: iter.into_iter().collect() }
    }
}

/// An `allowed_outbound_hosts` entry as the manifest holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedHostEntry {
    /// A literal entry, parsed when the manifest was loaded.
    Parsed(AllowedHost),
    /// An entry with `{{ variable }}` references to application variables; parsed once
    /// rendered, by [`Manifest::resolve_allowed_hosts`](super::Manifest::resolve_allowed_hosts).
    Template(Template),
}

impl AllowedHostEntry {
    /// Whether `raw` is a template (holds a `{{`) rather than a literal entry.
    pub fn is_template(raw: &str) -> bool {
        raw.contains("{{")
    }
}

impl fmt::Display for AllowedHostEntry {
    /// The entry as written in the manifest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedHostEntry::Parsed(host) => host.fmt(f),
            AllowedHostEntry::Template(template) => template.fmt(f),
        }
    }
}

/// One parsed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    /// `None` for `*`.
    pub scheme: Option<String>,
    pub host: HostPattern,
    pub port: PortSpec,
    raw: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// `*`
    Any,
    /// `*.example.com` → `example.com`: matches strict subdomains.
    Subdomains(String),
    /// `self` or `self.alt`: the application itself; matches no absolute URL.
    ToSelf,
    /// A DNS name.
    Name(String),
    /// An IP address (`[v6]` in brackets in the entry).
    Ip(IpAddr),
    /// A CIDR block: the address and the prefix length (host bits are ignored).
    Cidr(IpAddr, u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortSpec {
    /// `*`
    Any,
    /// A number, or the scheme's well-known port when the entry has none.
    Exact(u16),
    /// `start..end`, end excluded.
    Range(u16, u16),
}

/// A list entry that does not parse: which one, and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid allowed_outbound_hosts entry {entry:?}")]
pub struct InvalidEntry {
    pub entry: String,
    #[source]
    pub reason: HostError,
}

/// Why an entry does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error(
        "no scheme; write `<scheme>://<host>[:<port>]`, e.g. `https://example.com` (`*://*:*` \
         allows every host, which obviates all network sandboxing)"
    )]
    MissingScheme,
    #[error("`insecure:allow-all` is not accepted; write `*://*:*` to allow all outbound traffic")]
    InsecureAllowAll,
    #[error("invalid scheme `{0}`: write `*` or ASCII letters, e.g. `https`")]
    InvalidScheme(String),
    #[error("the {part} list `{text}` is not supported (Spin does not implement lists yet); write one entry per value")]
    List { part: &'static str, text: String },
    #[error(
        "`{0}` is an unrendered template; templates are rendered from application variables \
         before parsing"
    )]
    Template(String),
    #[error(
        "upper-case letters in `{0}`; Spin compares it as written with the lower-cased request, \
         so write it in lower case"
    )]
    UpperCase(String),
    #[error("missing host")]
    MissingHost,
    #[error("`{0}` has a path; only a trailing `/` is allowed")]
    Path(String),
    #[error("invalid host `{0}`: use a DNS name, an IP address, a CIDR block, `*`, `*.domain` or `self`")]
    InvalidHost(String),
    #[error("invalid host `{0}`: `*` is allowed only as the whole host or as a leading `*.`")]
    Wildcard(String),
    #[error("invalid IP address `{text}`")]
    InvalidIp {
        text: String,
        #[source]
        source: AddrParseError,
    },
    #[error("IPv6 address `{0}` must be in brackets, e.g. `[::1]:8080` (CIDR blocks go without: `ff00::/8:443`)")]
    UnbracketedIpv6(String),
    #[error("IPv6 CIDR block `{0}` needs an explicit port, e.g. `{0}:443` or `{0}:*`, as in Spin")]
    CidrWithoutPort(String),
    #[error("IPv6 address `[{0}]` needs an explicit port, e.g. `[{0}]:443` or `[{0}]:*`, as in Spin")]
    Ipv6WithoutPort(String),
    #[error("invalid CIDR prefix length in `{text}`")]
    CidrPrefix {
        text: String,
        #[source]
        source: ParseIntError,
    },
    #[error("CIDR prefix length in `{text}` exceeds {max}")]
    CidrPrefixTooLong { text: String, max: u8 },
    #[error("invalid port `{text}`: expected a number from 1 to 65535, a range `start..end` or `*`")]
    InvalidPort {
        text: String,
        #[source]
        source: ParseIntError,
    },
    #[error("port 0 is not a destination port")]
    PortZero,
    #[error("port range `{text}`: write ranges as `start..end` with the end excluded, here `{suggestion}`")]
    DashRange { text: String, suggestion: String },
    #[error("port range `{0}` is empty (the end is excluded)")]
    EmptyRange(String),
    #[error("no port given, and scheme `{0}` has no well-known port; add `:<port>`, `:<start>..<end>` or `:*`")]
    NoDefaultPort(String),
}

impl AllowedHost {
    /// Parses one literal entry (see the [module documentation](self) for the grammar).
    pub fn parse(raw: &str) -> Result<Self, HostError> {
        let entry = raw.trim();
        if entry == "insecure:allow-all" {
            return Err(HostError::InsecureAllowAll);
        }
        if AllowedHostEntry::is_template(entry) {
            return Err(HostError::Template(entry.to_owned()));
        }
        let (scheme, rest) = entry.split_once("://").ok_or(HostError::MissingScheme)?;
        let scheme = parse_scheme(scheme)?;
        let (host, port) = split_host_port(rest)?;
        let host = parse_host(host)?;
        let port = parse_port(port, scheme.as_deref())?;
        Ok(AllowedHost { scheme, host, port, raw: raw.to_owned() })
    }

    /// The entry as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether this entry allows a connection to `scheme://host[:port]`; see
    /// [`AllowedHosts::allows`].
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        self.matches(&Target::new(scheme, host, port))
    }

    fn matches(&self, target: &Target) -> bool {
        self.scheme.as_deref().is_none_or(|scheme| scheme == target.scheme)
            && self.host.matches(&target.host, target.ip)
            && self.port.matches(target.port)
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

fn parse_scheme(scheme: &str) -> Result<Option<String>, HostError> {
    if scheme == "*" {
        return Ok(None);
    }
    if scheme.starts_with('{') {
        return Err(HostError::List { part: "scheme", text: scheme.to_owned() });
    }
    if scheme.is_empty() || !scheme.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(HostError::InvalidScheme(scheme.to_owned()));
    }
    if scheme.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(HostError::UpperCase(scheme.to_owned()));
    }
    Ok(Some(scheme.to_owned()))
}

/// Splits what follows `://` into the host and the port text (empty when absent), dropping a
/// trailing `/`. The port follows the last `:`, as in Spin, so an unbracketed IPv6 CIDR block
/// keeps its colons (and needs a port).
fn split_host_port(rest: &str) -> Result<(&str, &str), HostError> {
    if let Some(inner) = rest.strip_prefix('[') {
        let Some((addr, after)) = inner.split_once(']') else {
            return Err(HostError::InvalidHost(rest.to_owned()));
        };
        return match after.strip_prefix(':') {
            Some(port) => Ok((&rest[..addr.len() + 2], strip_path(port, rest)?)),
            None if after.is_empty() || after == "/" => Err(HostError::Ipv6WithoutPort(addr.to_owned())),
            None => Err(HostError::InvalidHost(rest.to_owned())),
        };
    }
    let Some((host, port)) = rest.rsplit_once(':') else {
        return Ok((rest, ""));
    };
    if host.contains(':') && !host.contains('/') {
        // `::1`, `::1:80`, or `ff00::/8`, whose last `:` comes before the prefix.
        return Err(if port.contains('/') {
            HostError::CidrWithoutPort(rest.to_owned())
        } else {
            HostError::UnbracketedIpv6(rest.to_owned())
        });
    }
    Ok((host, strip_path(port, rest)?))
}

/// `80/` → `80`; `80/x` is a path.
fn strip_path<'a>(port: &'a str, rest: &str) -> Result<&'a str, HostError> {
    match port.split_once('/') {
        Some((port, "")) => Ok(port),
        Some(_) => Err(HostError::Path(rest.to_owned())),
        None => Ok(port),
    }
}

fn parse_host(host: &str) -> Result<HostPattern, HostError> {
    let host = host.trim();
    match host {
        "" => return Err(HostError::MissingHost),
        "*" => return Ok(HostPattern::Any),
        "self" | "self.alt" => return Ok(HostPattern::ToSelf),
        _ => {}
    }
    if host.starts_with('{') {
        return Err(HostError::List { part: "host", text: host.to_owned() });
    }
    if let Some(v6) = host.strip_prefix('[') {
        let addr = v6.strip_suffix(']').ok_or_else(|| HostError::InvalidHost(host.to_owned()))?;
        let ip = addr.parse::<Ipv6Addr>().map_err(|source| HostError::InvalidIp { text: addr.to_owned(), source })?;
        return Ok(HostPattern::Ip(IpAddr::V6(ip)));
    }
    if let Some((addr, rest)) = host.split_once('/') {
        return match rest {
            "" => parse_host(addr),
            prefix => parse_cidr(host, addr, prefix),
        };
    }
    if let Some(domain) = host.strip_prefix("*.") {
        if domain.contains('*') {
            return Err(HostError::Wildcard(host.to_owned()));
        }
        check_dns_name(domain)?;
        return Ok(HostPattern::Subdomains(domain.to_owned()));
    }
    if host.contains('*') {
        return Err(HostError::Wildcard(host.to_owned()));
    }
    if host.contains(':') {
        return Err(HostError::UnbracketedIpv6(host.to_owned()));
    }
    if host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        let ip = host.parse::<Ipv4Addr>().map_err(|source| HostError::InvalidIp { text: host.to_owned(), source })?;
        return Ok(HostPattern::Ip(IpAddr::V4(ip)));
    }
    check_dns_name(host)?;
    Ok(HostPattern::Name(host.to_owned()))
}

/// `addr/prefix`, IPv4 or (unbracketed) IPv6. Anything else with a `/` is a path.
fn parse_cidr(host: &str, addr: &str, prefix: &str) -> Result<HostPattern, HostError> {
    let is_ip = addr.contains(':') || (!addr.is_empty() && addr.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if !is_ip || prefix.contains('/') {
        return Err(HostError::Path(host.to_owned()));
    }
    let ip = addr.parse::<IpAddr>().map_err(|source| HostError::InvalidIp { text: addr.to_owned(), source })?;
    let bits = prefix.parse::<u8>().map_err(|source| HostError::CidrPrefix { text: host.to_owned(), source })?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(HostError::CidrPrefixTooLong { text: host.to_owned(), max });
    }
    Ok(HostPattern::Cidr(ip, bits))
}

fn check_dns_name(name: &str) -> Result<(), HostError> {
    if name.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(HostError::UpperCase(name.to_owned()));
    }
    let valid_label = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() > 253 || !name.split('.').all(valid_label) {
        return Err(HostError::InvalidHost(name.to_owned()));
    }
    Ok(())
}

fn parse_port(port: &str, scheme: Option<&str>) -> Result<PortSpec, HostError> {
    let number =
        |text: &str| text.parse::<u16>().map_err(|source| HostError::InvalidPort { text: text.to_owned(), source });
    match port {
        "" => {
            let scheme = scheme.unwrap_or("*");
            well_known_port(scheme).map(PortSpec::Exact).ok_or_else(|| HostError::NoDefaultPort(scheme.to_owned()))
        }
        "*" => Ok(PortSpec::Any),
        p if p.starts_with('{') => Err(HostError::List { part: "port", text: p.to_owned() }),
        p => match p.split_once("..") {
            Some((start, end)) => {
                let (start, end) = (number(start)?, number(end)?);
                if start >= end {
                    return Err(HostError::EmptyRange(p.to_owned()));
                }
                Ok(PortSpec::Range(start, end))
            }
            None => {
                if let Some((start, last)) = p.split_once('-')
                    && let (Ok(start), Ok(last)) = (start.parse::<u16>(), last.parse::<u16>())
                {
                    let suggestion = format!("{start}..{}", u32::from(last) + 1);
                    return Err(HostError::DashRange { text: p.to_owned(), suggestion });
                }
                match number(p)? {
                    0 => Err(HostError::PortZero),
                    n => Ok(PortSpec::Exact(n)),
                }
            }
        },
    }
}

/// A request's destination, normalised for matching.
struct Target {
    scheme: String,
    /// Lower case, IPv6 without brackets.
    host: String,
    ip: Option<IpAddr>,
    /// The explicit port, else the scheme's well-known one.
    port: Option<u16>,
}

impl Target {
    fn new(scheme: &str, host: &str, port: Option<u16>) -> Self {
        let scheme = scheme.to_ascii_lowercase();
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).to_ascii_lowercase();
        let ip = host.parse().ok();
        let port = port.or_else(|| well_known_port(&scheme));
        Target { scheme, host, ip, port }
    }
}

impl HostPattern {
    fn matches(&self, host: &str, ip: Option<IpAddr>) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::ToSelf => false,
            HostPattern::Subdomains(domain) => {
                ip.is_none()
                    && host.strip_suffix(domain.as_str()).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
            }
            HostPattern::Name(name) => ip.is_none() && name == host,
            HostPattern::Ip(addr) => ip == Some(*addr),
            HostPattern::Cidr(net, bits) => ip.is_some_and(|ip| cidr_contains(*net, *bits, ip)),
        }
    }
}

impl PortSpec {
    fn matches(self, port: Option<u16>) -> bool {
        match (self, port) {
            (PortSpec::Any, _) => true,
            (PortSpec::Exact(p), Some(port)) => p == port,
            (PortSpec::Range(start, end), Some(port)) => (start..end).contains(&port),
            (_, None) => false,
        }
    }
}

/// Whether `ip` is in `net/bits`; addresses of the other family never are.
fn cidr_contains(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
        let full = usize::from(bits / 8);
        let rest = bits % 8;
        a[..full] == b[..full] && (rest == 0 || (a[full] ^ b[full]) & (0xffu8 << (8 - rest)) == 0)
    }
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => prefix_eq(&n.octets(), &i.octets(), bits),
        (IpAddr::V6(n), IpAddr::V6(i)) => prefix_eq(&n.octets(), &i.octets(), bits),
        _ => false,
    }
}
