//! Who a client is, for the per-address caps: the address the API's rate limits use (the
//! trusted proxy's header when `client_address_header` is set, else the peer), counted by
//! [`limit_key`], and [`AddressSlots`], the counter behind each cap.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;

/// The client's address as the API sees it ([`ocomms_core::limits::address_from_header`]).
#[derive(Debug, Clone, Default)]
pub struct ClientAddress {
    /// The trusted proxy's header, lower case; `None` when no proxy is configured.
    header: Option<String>,
}

impl ClientAddress {
    /// `header`: the `client_address_header` setting; empty means none.
    pub fn new(header: Option<&str>) -> Self {
        Self { header: header.map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()) }
    }

    /// Whether a proxy sits in front: then every TCP peer is the proxy.
    pub fn behind_proxy(&self) -> bool {
        self.header.is_some()
    }

    /// The header's address when a proxy is configured and sent one, else the peer's. The
    /// last line counts: a proxy that adds its own line (HAProxy's `option forwardfor`)
    /// leaves the client's forged one before it.
    pub fn of(&self, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
        self.header
            .as_deref()
            .and_then(|h| headers.get_all(h).iter().next_back())
            .and_then(|v| v.to_str().ok())
            .and_then(ocomms_core::limits::address_from_header)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| peer.ip())
    }

    /// Whether the scheme a trusted proxy forwarded is `https`.
    pub fn forwarded_proto<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        self.header.as_ref()?;
        headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok())
    }
}

/// What a per-address cap counts: an IPv4 address, or an IPv6 address's /64 (one
/// subscriber usually holds a whole /64 and could otherwise rotate through it).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// At most `limit` of something at once per address ([`limit_key`]).
#[derive(Debug)]
pub struct AddressSlots {
    limit: usize,
    held: Mutex<HashMap<IpAddr, usize>>,
}

/// One held place; dropping it gives the place back.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<AddressSlots>,
    key: IpAddr,
}

impl AddressSlots {
    /// `limit`: `usize::MAX` for no cap.
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { limit, held: Mutex::new(HashMap::new()) })
    }

    /// A place for `ip`, or `None` when it holds `limit` already.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let key = limit_key(ip);
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        let n = held.entry(key).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(Slot { slots: Arc::clone(self), key })
    }

    /// Places `ip` holds now.
    pub fn held(&self, ip: IpAddr) -> usize {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).get(&limit_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = held.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_cap_each_address_and_come_back() {
        let slots = AddressSlots::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let b: IpAddr = "192.0.2.2".parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let one = slots.take(a);
        let two = slots.take(a);
        assert!(one.is_some() && two.is_some());
        assert!(slots.take(a).is_none());
        assert!(slots.take(b).is_some(), "another address has its own places");
        drop(one);
        assert_eq!(slots.held(a), 1);
        assert!(slots.take(a).is_some());
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let k = |s: &str| limit_key(s.parse().unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)));
        assert_eq!(k("2001:db8:1:2:aaaa::1"), k("2001:db8:1:2:bbbb::2"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:192.0.2.7"), k("192.0.2.7"));
    }

    #[test]
    fn the_proxy_header_counts_only_when_configured() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap_or_else(|_| SocketAddr::from(([0; 4], 0)));
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", axum::http::HeaderValue::from_static("203.0.113.9, 198.51.100.4"));
        assert_eq!(ClientAddress::new(None).of(&headers, peer), peer.ip());
        assert_eq!(ClientAddress::new(Some("")).of(&headers, peer), peer.ip());
        let proxied = ClientAddress::new(Some("X-Forwarded-For"));
        assert_eq!(proxied.of(&headers, peer).to_string(), "198.51.100.4");
        assert_eq!(proxied.of(&HeaderMap::new(), peer), peer.ip(), "not through the proxy");
        // A forged line, then the proxy's own (HAProxy adds a line rather than appending).
        let mut two = HeaderMap::new();
        two.append("x-forwarded-for", axum::http::HeaderValue::from_static("10.9.9.9"));
        two.append("x-forwarded-for", axum::http::HeaderValue::from_static("198.51.100.4"));
        assert_eq!(proxied.of(&two, peer).to_string(), "198.51.100.4");
    }
}
