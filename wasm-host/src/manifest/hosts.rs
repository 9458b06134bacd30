//! `allowed_outbound_hosts` entries: `scheme://host[:port]`.
//!
//! * scheme: `http`, `https`, `postgres`, `mysql`, `redis`, or `*` (any of them);
//! * host: a DNS name, an IPv4 address, a bracketed IPv6 address, `*` (any host) or
//!   `*.example.com` (any subdomain of `example.com`, not `example.com` itself);
//! * port: a number, a range `8000..8010` (end exclusive, like a Rust range), or `*`; when omitted the
//!   scheme's well-known port is meant, and it is then required for the `*` scheme.
//!
//! A trailing `/` is tolerated; paths, queries, credentials and `{{ variable }}` templates are
//! not accepted.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Schemes wasm-host can open connections for, with their well-known ports.
pub const SCHEMES: &[(&str, u16)] =
    &[("http", 80), ("https", 443), ("postgres", 5432), ("mysql", 3306), ("redis", 6379)];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    /// `*`
    Any,
    /// `*.example.com` → `example.com`: matches strict subdomains.
    Subdomains(String),
    /// An exact (lower-cased) host name or IP address; IPv6 without brackets.
    Exact(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortSpec {
    Any,
    Exact(u16),
    /// `start..end`, end exclusive.
    Range(u16, u16),
}

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowedHost {
    /// `None` for `*`.
    pub scheme: Option<String>,
    pub host: HostPattern,
    pub port: PortSpec,
    raw: String,
}

impl AllowedHost {
    pub fn parse(raw: &str) -> Result<Self, String> {
        const SHAPE: &str = "expected `scheme://host[:port]`, e.g. `https://example.com`, \
                             `postgres://localhost:5432` or `*://*.internal:*`";
        if raw.contains("{{") {
            return Err("variable templates in allowed_outbound_hosts are not supported by wasm-host".to_string());
        }
        let (scheme, rest) = raw.split_once("://").ok_or_else(|| format!("{raw:?} has no scheme; {SHAPE}"))?;
        let scheme = match scheme {
            "*" => None,
            s if SCHEMES.iter().any(|(name, _)| *name == s) => Some(s.to_string()),
            s => {
                return Err(format!(
                    "unsupported scheme `{s}` in {raw:?}; wasm-host allows http, https, \
                     postgres, mysql, redis or `*`"
                ));
            }
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(format!("{raw:?} must not contain a path, query or credentials; {SHAPE}"));
        }

        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(|| format!("unterminated `[` in {raw:?}"))?;
            addr.parse::<Ipv6Addr>().map_err(|_| format!("invalid IPv6 address `{addr}` in {raw:?}"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| format!("unexpected `{p}` after `]` in {raw:?}"))?),
            };
            (HostPattern::Exact(addr.to_ascii_lowercase()), port)
        } else {
            let (host, port) = match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            };
            (parse_host(host).map_err(|why| format!("{why} in {raw:?}"))?, port)
        };

        let port = match port {
            None => match &scheme {
                Some(s) => PortSpec::Exact(well_known_port(s).unwrap_or(0)),
                None => {
                    return Err(format!("{raw:?} needs a port (a number, a range or `*`) because its scheme is `*`"));
                }
            },
            Some("*") => PortSpec::Any,
            Some(p) => parse_port(p).map_err(|why| format!("{why} in {raw:?}"))?,
        };

        Ok(AllowedHost { scheme, host, port, raw: raw.to_string() })
    }

    /// The entry as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether a connection to `scheme://host:port` is allowed by this entry. `host` is compared
    /// case-insensitively; pass IPv6 addresses without brackets.
    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme.as_deref().is_none_or(|s| s.eq_ignore_ascii_case(scheme));
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Subdomains(domain) => {
                host.strip_suffix(domain.as_str()).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
            }
            HostPattern::Exact(exact) => *exact == host,
        };
        let port_ok = match self.port {
            PortSpec::Any => true,
            PortSpec::Exact(p) => p == port,
            PortSpec::Range(start, end) => (start..end).contains(&port),
        };
        scheme_ok && host_ok && port_ok
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// The well-known port of a supported scheme.
pub fn well_known_port(scheme: &str) -> Option<u16> {
    SCHEMES.iter().find(|(name, _)| *name == scheme).map(|(_, port)| *port)
}

fn parse_host(host: &str) -> Result<HostPattern, String> {
    match host {
        "" => Err("missing host".to_string()),
        "*" => Ok(HostPattern::Any),
        _ => {
            if let Some(domain) = host.strip_prefix("*.") {
                check_dns_name(domain)?;
                Ok(HostPattern::Subdomains(domain.to_ascii_lowercase()))
            } else if host.parse::<Ipv4Addr>().is_ok() {
                Ok(HostPattern::Exact(host.to_string()))
            } else {
                check_dns_name(host)?;
                Ok(HostPattern::Exact(host.to_ascii_lowercase()))
            }
        }
    }
}

fn check_dns_name(name: &str) -> Result<(), String> {
    if name.len() > 253 {
        return Err(format!("host name `{name}` is too long"));
    }
    for label in name.split('.') {
        let valid = !label.is_empty()
            && label.len() <= 63
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return Err(format!("invalid host `{name}` (use a DNS name, an IP address, `*` or `*.domain`)"));
        }
    }
    Ok(())
}

fn parse_port(port: &str) -> Result<PortSpec, String> {
    let number = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|n| *n != 0)
            .ok_or_else(|| format!("invalid port `{p}` (expected 1-65535, `start..end` or `*`)"))
    };
    match port.split_once("..") {
        Some((start, end)) => {
            let (start, end) = (number(start)?, number(end)?);
            if start >= end {
                return Err(format!("empty port range `{port}`"));
            }
            Ok(PortSpec::Range(start, end))
        }
        None => Ok(PortSpec::Exact(number(port)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries() {
        let h = AllowedHost::parse("http://rooms.internal").expect("valid");
        assert_eq!(h.scheme.as_deref(), Some("http"));
        assert_eq!(h.host, HostPattern::Exact("rooms.internal".into()));
        assert_eq!(h.port, PortSpec::Exact(80));

        let h = AllowedHost::parse("postgres://localhost").expect("valid");
        assert_eq!(h.port, PortSpec::Exact(5432));

        let h = AllowedHost::parse("*://*.Example.com:8000..8010/").expect("valid");
        assert_eq!(h.scheme, None);
        assert_eq!(h.host, HostPattern::Subdomains("example.com".into()));
        assert_eq!(h.port, PortSpec::Range(8000, 8010));

        let h = AllowedHost::parse("https://[::1]:8443").expect("valid");
        assert_eq!(h.host, HostPattern::Exact("::1".into()));
        assert_eq!(h.port, PortSpec::Exact(8443));

        assert!(AllowedHost::parse("redis://10.0.0.1:*").is_ok());
        assert!(AllowedHost::parse("mysql://*").is_ok());
    }

    #[test]
    fn rejects_bad_entries() {
        for bad in [
            "rooms.internal",
            "ftp://files.internal",
            "http://",
            "http://rooms.internal/api",
            "http://user@rooms.internal",
            "http://rooms..internal",
            "http://-rooms.internal",
            "http://rooms.internal:0",
            "http://rooms.internal:70000",
            "http://rooms.internal:90..80",
            "*://rooms.internal",
            "http://{{ rooms_host }}",
            "https://[::1",
            "https://[nope]:1",
        ] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn allows() {
        let h = AllowedHost::parse("https://*.example.com").expect("valid");
        assert!(h.allows("https", "api.example.com", 443));
        assert!(h.allows("HTTPS", "a.b.Example.com", 443));
        assert!(!h.allows("https", "example.com", 443));
        assert!(!h.allows("https", "badexample.com", 443));
        assert!(!h.allows("http", "api.example.com", 443));
        assert!(!h.allows("https", "api.example.com", 8443));

        let h = AllowedHost::parse("*://localhost:*").expect("valid");
        assert!(h.allows("postgres", "localhost", 5432));
        assert!(h.allows("http", "LOCALHOST", 3000));
        assert!(!h.allows("http", "127.0.0.1", 3000));
    }
}
