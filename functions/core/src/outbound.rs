//! Requests to apps' URLs (slash commands, events, outgoing webhooks): which addresses they
//! may reach, how long they may take, how much they may answer, and when a failed delivery
//! is tried again.
//!
//! An app's URL is written by a workspace admin, not by whoever runs the server, so by
//! default it must not reach the server's own network: loopback, private, link-local and
//! other non-public addresses are refused (server-side request forgery). The operator lists
//! internal apps that may be reached anyway ([`AllowList`]). The component checks what it
//! can without resolving names ([`precheck`]); a runtime that resolves them checks every
//! address a name resolves to ([`check_resolved`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A request to an app gets this long for its whole answer (Slack's three seconds).
pub const TIMEOUT_MS: u64 = 3000;
/// Largest answer read from an app; a longer one is a failure.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Longest URL an admin may give.
pub const MAX_URL_CHARS: usize = 2000;
/// The header by which the component marks a request to an app, for the runtime to apply
/// this module's checks; the runtime removes it before sending.
pub const MARK_HEADER: &str = "x-ocomms-outbound";
pub const MARK_VALUE: &str = "app";

/// Where a URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// Lower case; an IPv6 literal without its brackets.
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the URL must be an absolute http:// or https:// URL of at most {MAX_URL_CHARS} characters")]
    NotHttp,
    #[error("the URL must not hold a user name or password")]
    Credentials,
    #[error("the URL's port is not a number from 1 to 65535")]
    BadPort,
}

/// Checks an app URL's form and says where it points.
pub fn parse_url(url: &str) -> Result<Target, UrlError> {
    if url.chars().count() > MAX_URL_CHARS || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::NotHttp);
    }
    let (scheme, rest) = url.split_once("://").ok_or(UrlError::NotHttp)?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err(UrlError::NotHttp),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(UrlError::Credentials);
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(UrlError::NotHttp)?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() || host.contains(['[', ']']) {
        return Err(UrlError::NotHttp);
    }
    let port = match port {
        None => {
            if https {
                443
            } else {
                80
            }
        }
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or(UrlError::BadPort)?,
    };
    Ok(Target { https, host: host.trim_end_matches('.').to_ascii_lowercase(), port })
}

/// What kind of network an address is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Public,
    Loopback,
    /// RFC 1918, carrier-grade NAT, IPv6 unique-local.
    Private,
    LinkLocal,
    /// Unspecified, multicast, broadcast, documentation, benchmarking, reserved.
    Special,
}

impl Reach {
    fn describe(self) -> &'static str {
        match self {
            Reach::Public => "public",
            Reach::Loopback => "loopback",
            Reach::Private => "private",
            Reach::LinkLocal => "link-local",
            Reach::Special => "reserved",
        }
    }
}

/// The network `ip` is on; IPv4 inside IPv6 (mapped or NAT64-less compatible) counts as IPv4.
pub fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => reach_v4(v4),
            None => reach_v6(v6),
        },
    }
}

fn reach_v4(ip: Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    if ip.is_loopback() {
        Reach::Loopback
    } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
        Reach::Private
    } else if ip.is_link_local() {
        Reach::LinkLocal
    } else if a == 0
        || a >= 224
        || ip.is_documentation()
        || (a == 198 && (18..20).contains(&b))
        || (a == 192 && b == 0 && c == 0)
    {
        Reach::Special
    } else {
        Reach::Public
    }
}

fn reach_v6(ip: Ipv6Addr) -> Reach {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Reach::Loopback
    } else if first & 0xfe00 == 0xfc00 {
        Reach::Private
    } else if first & 0xffc0 == 0xfe80 {
        Reach::LinkLocal
    } else if ip.is_unspecified() || ip.is_multicast() || first == 0x2001 && ip.segments()[1] == 0x0db8 {
        Reach::Special
    } else if first == 0 {
        // IPv4-compatible and other deprecated forms: refuse rather than guess.
        Reach::Special
    } else {
        Reach::Public
    }
}

/// Internal apps the operator lets integrations reach: host names (`apps.internal`,
/// `*.apps.internal`), with a port or not, addresses and networks (`10.1.0.0/16`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    Host { name: String, port: Option<u16> },
    Net { ip: IpAddr, prefix: u8 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid outbound allow-list entry {0:?}: give a host[:port], an address or a network/prefix")]
pub struct AllowListError(pub String);

impl AllowList {
    /// Parses a comma- or whitespace-separated list; empty allows nothing extra.
    pub fn parse(list: &str) -> Result<Self, AllowListError> {
        let mut entries = Vec::new();
        for raw in list.split([',', ' ', '\n', '\t']).map(str::trim).filter(|s| !s.is_empty()) {
            let bad = || AllowListError(raw.to_string());
            if let Some((ip, prefix)) = raw.split_once('/') {
                let ip: IpAddr = ip.parse().map_err(|_| bad())?;
                let prefix: u8 = prefix.parse().map_err(|_| bad())?;
                if prefix > if ip.is_ipv4() { 32 } else { 128 } {
                    return Err(bad());
                }
                entries.push(Entry::Net { ip, prefix });
            } else if let Ok(ip) = raw.trim_matches(['[', ']']).parse::<IpAddr>() {
                entries.push(Entry::Net { ip, prefix: if ip.is_ipv4() { 32 } else { 128 } });
            } else {
                let target = parse_url(&format!("http://{raw}")).map_err(|_| bad())?;
                let port = raw.rsplit_once(':').map(|_| target.port);
                let name = target.host;
                let label_ok =
                    |l: &str| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                let plain = name.strip_prefix("*.").unwrap_or(&name);
                if !plain.split('.').all(label_ok) {
                    return Err(bad());
                }
                entries.push(Entry::Host { name, port });
            }
        }
        Ok(Self { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether the URL's host (as written) is listed.
    pub fn allows_host(&self, t: &Target) -> bool {
        self.entries.iter().any(|e| match e {
            Entry::Host { name, port } => {
                let name_ok = match name.strip_prefix("*.") {
                    Some(suffix) => t.host.ends_with(&format!(".{suffix}")),
                    None => *name == t.host,
                };
                name_ok && port.is_none_or(|p| p == t.port)
            }
            Entry::Net { .. } => false,
        })
    }

    /// Whether `ip` is in a listed network.
    pub fn allows_ip(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.entries.iter().any(|e| match (e, ip) {
            (Entry::Net { ip: IpAddr::V4(net), prefix }, IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
                u32::from(*net) & mask == u32::from(ip) & mask
            }
            (Entry::Net { ip: IpAddr::V6(net), prefix }, IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
                u128::from(*net) & mask == u128::from(ip) & mask
            }
            _ => false,
        })
    }
}

/// Why a request to an app was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} is a {kind} address, which apps may not use unless the operator allows it (outbound_allow)")]
pub struct Refused {
    pub host: String,
    pub kind: &'static str,
}

/// What can be checked without resolving the name: an address literal (in any of the forms
/// resolvers accept: `127.1`, `0x7f000001`, `2130706433`, `0177.0.0.1`), or a name that is
/// always this machine (`localhost`, `*.localhost`).
pub fn precheck(t: &Target, allow: &AllowList) -> Result<(), Refused> {
    if allow.allows_host(t) {
        return Ok(());
    }
    if let Some(ip) = t.host.parse::<IpAddr>().ok().or_else(|| loose_ipv4(&t.host).map(IpAddr::V4)) {
        return check_ip(t, ip, allow);
    }
    if t.host == "localhost" || t.host.ends_with(".localhost") {
        return Err(Refused { host: t.host.clone(), kind: Reach::Loopback.describe() });
    }
    Ok(())
}

/// An IPv4 address as `inet_aton` reads it (and so `getaddrinfo`): one to four parts, each
/// decimal, `0x` hexadecimal or `0` octal, the last filling the remaining bytes.
fn loose_ipv4(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut nums = Vec::with_capacity(parts.len());
    for p in &parts {
        let n = if let Some(hex) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            u32::from_str_radix(hex, 16).ok()?
        } else if p.len() > 1 && p.starts_with('0') {
            u32::from_str_radix(&p[1..], 8).ok()?
        } else if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
            p.parse().ok()?
        } else {
            return None;
        };
        nums.push(n);
    }
    let (last, head) = nums.split_last()?;
    if head.iter().any(|n| *n > 255) {
        return None;
    }
    let room = 8 * (4 - head.len() as u32);
    if room < 32 && *last >= 1 << room {
        return None;
    }
    let mut value = *last;
    for (i, n) in head.iter().enumerate() {
        value |= n << (24 - 8 * i as u32);
    }
    Some(Ipv4Addr::from(value))
}

/// Every address the name resolved to must be public, or allowed.
pub fn check_resolved(t: &Target, addrs: &[IpAddr], allow: &AllowList) -> Result<(), Refused> {
    if allow.allows_host(t) {
        return Ok(());
    }
    addrs.iter().try_for_each(|ip| check_ip(t, *ip, allow))
}

fn check_ip(t: &Target, ip: IpAddr, allow: &AllowList) -> Result<(), Refused> {
    match reach(ip) {
        Reach::Public => Ok(()),
        _ if allow.allows_ip(ip) => Ok(()),
        other => Err(Refused { host: t.host.clone(), kind: other.describe() }),
    }
}

/// When a failed delivery is tried again: after each listed delay, then it fails for good.
/// Slack's own is three retries: at once, after a minute, after five.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<u32>);

impl Default for RetrySchedule {
    fn default() -> Self {
        Self(vec![1, 60, 300])
    }
}

impl RetrySchedule {
    /// Seconds, comma-separated (`"1,60,300"`); empty means no retries.
    pub fn parse(s: &str) -> Option<Self> {
        s.split(',').map(str::trim).filter(|p| !p.is_empty()).map(|p| p.parse().ok()).collect::<Option<_>>().map(Self)
    }

    /// The wait before the retry that follows `attempts` failed attempts, or `None` when that
    /// was the last.
    pub fn delay_after(&self, attempts: u32) -> Option<u32> {
        self.0.get(usize::try_from(attempts).ok()?.checked_sub(1)?).copied()
    }

    pub fn retries(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(url: &str) -> Target {
        parse_url(url).expect(url)
    }

    #[test]
    fn urls() {
        assert_eq!(
            t("https://Apps.Example.com/x?y"),
            Target { https: true, host: "apps.example.com".into(), port: 443 }
        );
        assert_eq!(t("http://[::1]:8080/"), Target { https: false, host: "::1".into(), port: 8080 });
        assert_eq!(t("http://h:81"), Target { https: false, host: "h".into(), port: 81 });
        assert_eq!(parse_url("ftp://h/"), Err(UrlError::NotHttp));
        assert_eq!(parse_url("http://u:p@h/"), Err(UrlError::Credentials));
        assert_eq!(parse_url("http://h:0/"), Err(UrlError::BadPort));
        assert_eq!(parse_url("http://h:99999/"), Err(UrlError::BadPort));
        assert_eq!(parse_url("http:///x"), Err(UrlError::NotHttp));
        assert_eq!(parse_url("http://a b/"), Err(UrlError::NotHttp));
    }

    #[test]
    fn address_classes() {
        let r = |s: &str| reach(s.parse().expect(s));
        for (ip, want) in [
            ("8.8.8.8", Reach::Public),
            ("2606:4700::1111", Reach::Public),
            ("127.0.0.1", Reach::Loopback),
            ("127.8.9.10", Reach::Loopback),
            ("::1", Reach::Loopback),
            ("::ffff:127.0.0.1", Reach::Loopback),
            ("10.0.0.1", Reach::Private),
            ("172.16.5.4", Reach::Private),
            ("192.168.1.1", Reach::Private),
            ("100.64.0.1", Reach::Private),
            ("fd00::1", Reach::Private),
            ("169.254.169.254", Reach::LinkLocal),
            ("fe80::1", Reach::LinkLocal),
            ("0.0.0.0", Reach::Special),
            ("::", Reach::Special),
            ("224.0.0.1", Reach::Special),
            ("255.255.255.255", Reach::Special),
            ("::ffff:10.0.0.1", Reach::Private),
        ] {
            assert_eq!(r(ip), want, "{ip}");
        }
    }

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        let none = AllowList::default();
        assert!(precheck(&t("http://127.0.0.1:9/"), &none).is_err());
        assert!(precheck(&t("http://LOCALHOST/"), &none).is_err());
        assert!(precheck(&t("http://app.localhost/"), &none).is_err());
        assert!(precheck(&t("http://[fe80::1]/"), &none).is_err());
        // The forms resolvers read as addresses, classic ways around a literal check.
        for sneaky in
            ["http://127.1/", "http://0x7f000001/", "http://2130706433/", "http://0177.0.0.1/", "http://10.1/"]
        {
            assert!(precheck(&t(sneaky), &none).is_err(), "{sneaky}");
        }
        assert!(precheck(&t("http://1.2.3.4.example/"), &none).is_ok());
        assert!(precheck(&t("https://apps.example.com/"), &none).is_ok());
        let resolved: Vec<IpAddr> = vec!["93.184.216.34".parse().unwrap(), "10.0.0.7".parse().unwrap()];
        let err = check_resolved(&t("https://sneaky.example/"), &resolved, &none).expect_err("one private address");
        assert_eq!(err.kind, "private");

        let allow = AllowList::parse("127.0.0.1, bots.internal:8443 10.0.0.0/8,*.corp").expect("valid");
        assert!(precheck(&t("http://127.0.0.1:9/"), &allow).is_ok());
        assert!(check_resolved(&t("https://sneaky.example/"), &resolved, &allow).is_ok());
        assert!(check_resolved(&t("https://bots.internal:8443/"), &["192.168.0.2".parse().unwrap()], &allow).is_ok());
        assert!(check_resolved(&t("https://bots.internal/"), &["192.168.0.2".parse().unwrap()], &allow).is_err());
        assert!(check_resolved(&t("https://a.b.corp/"), &["192.168.0.2".parse().unwrap()], &allow).is_ok());
        assert!(precheck(&t("http://[::1]/"), &allow).is_err());
    }

    #[test]
    fn allow_list_entries_are_checked() {
        for bad in ["10.0.0.0/33", "a b/c", "http://x", "h:port", "::1/129"] {
            assert!(AllowList::parse(bad).is_err(), "{bad}");
        }
        assert!(AllowList::parse(" ").expect("empty").is_empty());
        assert!(AllowList::parse("::1").expect("v6").allows_ip("::1".parse().unwrap()));
        assert!(AllowList::parse("0.0.0.0/0").expect("all v4").allows_ip("::ffff:10.1.1.1".parse().unwrap()));
    }

    #[test]
    fn loose_addresses() {
        let l = |s: &str| loose_ipv4(s);
        assert_eq!(l("127.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(l("0x7f.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(l("2130706433"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(l("10.1.65535"), Some(Ipv4Addr::new(10, 1, 255, 255)));
        assert_eq!(l("0300.0250.1.1"), Some(Ipv4Addr::new(192, 168, 1, 1)));
        for not in ["example.com", "1.2.3.4.5", "256.1.1.1", "1.2.65536", "", "08", "0xg", "1..2"] {
            assert_eq!(l(not), None, "{not}");
        }
    }

    #[test]
    fn retries() {
        let s = RetrySchedule::default();
        assert_eq!((s.delay_after(1), s.delay_after(3), s.delay_after(4)), (Some(1), Some(300), None));
        assert_eq!(s.delay_after(0), None);
        assert_eq!(RetrySchedule::parse("2, 5"), Some(RetrySchedule(vec![2, 5])));
        assert_eq!(RetrySchedule::parse(""), Some(RetrySchedule(vec![])));
        assert_eq!(RetrySchedule::parse("1,x"), None);
    }
}
